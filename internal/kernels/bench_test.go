package kernels

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// convBenchmarks are real layers of the supported networks (GoogLeNet = torchvision v1).
var convBenchmarks = []struct {
	name string
	s    ConvShape
}{
	{"v1_conv1_7x7_s2", ConvShape{C: 3, H: 224, W: 224, O: 64, KH: 7, KW: 7, SH: 2, SW: 2, PadT: 3, PadL: 3, PadB: 3, PadR: 3}},
	{"v1_conv2_3x3", ConvShape{C: 64, H: 56, W: 56, O: 192, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v1_inception3a_1x1", ConvShape{C: 192, H: 28, W: 28, O: 64, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"v1_inception5b_3x3", ConvShape{C: 192, H: 7, W: 7, O: 384, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Conv2d_1a_3x3_s2", ConvShape{C: 3, H: 299, W: 299, O: 32, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"v3_Conv2d_2a_3x3", ConvShape{C: 32, H: 149, W: 149, O: 32, KH: 3, KW: 3, SH: 1, SW: 1}},
	{"irv2_block35_3x3", ConvShape{C: 32, H: 35, W: 35, O: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Conv2d_2b_3x3", ConvShape{C: 32, H: 147, W: 147, O: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Conv2d_4a_3x3", ConvShape{C: 80, H: 73, W: 73, O: 192, KH: 3, KW: 3, SH: 1, SW: 1}},
	{"v1_inception3b_3x3", ConvShape{C: 128, H: 28, W: 28, O: 192, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v1_inception4a_3x3", ConvShape{C: 96, H: 14, W: 14, O: 208, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Mixed_5b_3x3dbl_2", ConvShape{C: 64, H: 35, W: 35, O: 96, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Mixed_5b_3x3dbl_3", ConvShape{C: 96, H: 35, W: 35, O: 96, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Mixed_5b_5x5", ConvShape{C: 48, H: 35, W: 35, O: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	// BVLC GoogLeNet's true 5×5 branches (IRv2's mixed_5b 5×5 is v3's shape); 4b and 4c share a shape.
	{"v1_bvlc_inception_3a_5x5", ConvShape{C: 16, H: 28, W: 28, O: 32, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_3b_5x5", ConvShape{C: 32, H: 28, W: 28, O: 96, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_4a_5x5", ConvShape{C: 16, H: 14, W: 14, O: 48, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_4b_5x5", ConvShape{C: 24, H: 14, W: 14, O: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_4d_5x5", ConvShape{C: 32, H: 14, W: 14, O: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_4e_5x5", ConvShape{C: 32, H: 14, W: 14, O: 128, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_5a_5x5", ConvShape{C: 32, H: 7, W: 7, O: 128, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_5b_5x5", ConvShape{C: 48, H: 7, W: 7, O: 128, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v3_Mixed_6b_1x7", ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	// The 1×7 and 7×1 layers, F(2, 7) Winograd (winograd1d.go).
	{"v3_Mixed_6b_7x1", ConvShape{C: 128, H: 17, W: 17, O: 192, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"v3_Mixed_6c_1x7", ConvShape{C: 160, H: 17, W: 17, O: 160, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"v3_Mixed_6e_7x1", ConvShape{C: 192, H: 17, W: 17, O: 192, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"v4_Mixed_6b_1x7", ConvShape{C: 192, H: 17, W: 17, O: 224, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"v4_Mixed_6b_7x1", ConvShape{C: 224, H: 17, W: 17, O: 256, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"v4_Mixed_6b_dbl_7x1", ConvShape{C: 192, H: 17, W: 17, O: 192, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"v4_Mixed_6b_dbl_7x1_224", ConvShape{C: 224, H: 17, W: 17, O: 224, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"v4_Mixed_7a_7x1", ConvShape{C: 256, H: 17, W: 17, O: 320, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"irv2_block17_1x7", ConvShape{C: 128, H: 17, W: 17, O: 160, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"irv2_block17_7x1", ConvShape{C: 160, H: 17, W: 17, O: 192, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"v3_Mixed_7a_1x7", ConvShape{C: 192, H: 17, W: 17, O: 192, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"v4_stem_1x7_73", ConvShape{C: 64, H: 73, W: 73, O: 64, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"v4_stem_7x1_73", ConvShape{C: 64, H: 73, W: 73, O: 64, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	// 3×3 layers whose tile rows end in a partial 8-tile step (tw = 4, 9, 18).
	{"v2_inception_4a_double_3x3_1", ConvShape{C: 96, H: 14, W: 14, O: 128, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v2_inception_5a_3x3", ConvShape{C: 192, H: 7, W: 7, O: 320, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"irv2_mixed_6a_b1_1", ConvShape{C: 256, H: 35, W: 35, O: 256, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Mixed_7b_3x3", ConvShape{C: 448, H: 8, W: 8, O: 384, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v4_stem_3x3_s2", ConvShape{C: 64, H: 147, W: 147, O: 96, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"irv1_conv2d_4b_3x3_s2", ConvShape{C: 192, H: 71, W: 71, O: 256, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"irv2_mixed_6a_3x3_s2", ConvShape{C: 320, H: 35, W: 35, O: 384, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"irv2_block17_1x1", ConvShape{C: 1088, H: 17, W: 17, O: 192, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"irv2_block17_up_1x1", ConvShape{C: 384, H: 17, W: 17, O: 1088, KH: 1, KW: 1, SH: 1, SW: 1}},
	// IRv2's stacked branch heads (kernels.StackPacked): block17's 192 + 128, block35's three 32.
	{"irv2_block17_heads_1x1", ConvShape{C: 1088, H: 17, W: 17, O: 320, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"irv2_block35_heads_1x1", ConvShape{C: 320, H: 35, W: 35, O: 96, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"irv2_block35_up_1x1", ConvShape{C: 128, H: 35, W: 35, O: 320, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"irv2_conv2d_3b_1x1", ConvShape{C: 64, H: 73, W: 73, O: 80, KH: 1, KW: 1, SH: 1, SW: 1}},
	// IRv1's block17 heads and projection, block35 projection.
	{"irv1_block17_1x1", ConvShape{C: 896, H: 17, W: 17, O: 128, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"irv1_block17_up_1x1", ConvShape{C: 256, H: 17, W: 17, O: 896, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"irv1_block35_up_1x1", ConvShape{C: 96, H: 35, W: 35, O: 256, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"irv2_block8_1x1", ConvShape{C: 2080, H: 8, W: 8, O: 192, KH: 1, KW: 1, SH: 1, SW: 1}},
	// v2's stacked 1×1 heads at 14×14 (N = 196: three 64-column groups and 4 columns).
	{"v2_inception_4a_heads_1x1", ConvShape{C: 576, H: 14, W: 14, O: 384, KH: 1, KW: 1, SH: 1, SW: 1}},
	// 7×7 maps: N = 49, a strip pair and a last one of 17 columns.
	{"v2_inception_5b_1x1", ConvShape{C: 1024, H: 7, W: 7, O: 352, KH: 1, KW: 1, SH: 1, SW: 1}},
}

// implShortName returns the ISA of a kernel name in lower case: "avx2" for gemmF32_6x16AVX2.
func implShortName(name string) string {
	for _, isa := range []string{"AVX512", "AVX2", "Generic"} {
		if strings.HasSuffix(name, isa) {
			return strings.ToLower(isa)
		}
	}
	return name
}

// benchConv runs the layer table with every available gemm implementation, on weights
// packed once (Conv2DPacked, the inference path).
func benchConv(b *testing.B, threads int) {
	for _, bm := range convBenchmarks {
		b.Run(bm.name, func(b *testing.B) {
			for _, e := range isaImpls("gemm") {
				b.Run(implShortName(e.name), func(b *testing.B) {
					s := bm.s
					r := newRand(1)
					in := randSlice(r, s.C*s.H*s.W)
					pw := PackConvWeights(s, randSlice(r, s.O*s.C*s.KH*s.KW))
					bias := randSlice(r, s.O)
					out := make([]float32, s.O*s.OutH()*s.OutW())
					scratch := make([]float32, s.PackedScratchLen())
					for b.Loop() {
						conv2D(s, in, pw, bias, out, scratch, epilogue{relu: true}, threads, e.fn.(isa))
					}
					b.ReportMetric(2*float64(s.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		})
	}
}

// BenchmarkConv2D runs the layer table serially (threads=1).
func BenchmarkConv2D(b *testing.B) { benchConv(b, 1) }

// BenchmarkConv2DThreads2 runs the layer table with threads=2.
func BenchmarkConv2DThreads2(b *testing.B) { benchConv(b, 2) }

// BenchmarkConv2DUnpacked runs the layer table through Conv2D, which packs the weights on
// every call, with the active implementation (threads=1).
func BenchmarkConv2DUnpacked(b *testing.B) {
	for _, bm := range convBenchmarks {
		b.Run(bm.name, func(b *testing.B) {
			s := bm.s
			r := newRand(1)
			in := randSlice(r, s.C*s.H*s.W)
			w := randSlice(r, s.O*s.C*s.KH*s.KW)
			bias := randSlice(r, s.O)
			out := make([]float32, s.O*s.OutH()*s.OutW())
			scratch := make([]float32, s.ScratchLen())
			for b.Loop() {
				Conv2D(s, in, w, bias, out, scratch, true, 1)
			}
			b.ReportMetric(2*float64(s.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkPeak reports MeasurePeakGFLOPS for 1 and 2 threads (the metric, not ns/op, is
// the result).
func BenchmarkPeak(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			var g float64
			for b.Loop() {
				g = MeasurePeakGFLOPS(200*time.Millisecond, threads)
			}
			b.ReportMetric(g, "GFLOP/s")
		})
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, sz := range []struct{ m, n, k int }{{64, 64, 64}, {256, 256, 256}, {192, 289, 1088}} {
		b.Run(fmt.Sprintf("%dx%dx%d", sz.m, sz.n, sz.k), func(b *testing.B) {
			r := newRand(1)
			a, bm, c := randSlice(r, sz.m*sz.k), randSlice(r, sz.k*sz.n), make([]float32, sz.m*sz.n)
			for b.Loop() {
				Sgemm(sz.m, sz.n, sz.k, a, sz.k, bm, sz.n, c, sz.n, false)
			}
			b.ReportMetric(2*float64(sz.m*sz.n*sz.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkPool(b *testing.B) {
	s := PoolShape{C: 192, H: 35, W: 35, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}
	in, out := randSlice(newRand(1), s.C*s.H*s.W), make([]float32, s.C*s.OutH()*s.OutW())
	b.Run("v3_Mixed_5b_avg_3x3", func(b *testing.B) {
		for b.Loop() {
			AvgPool2D(s, in, out, true)
		}
	})
	b.Run("v3_Mixed_5b_max_3x3", func(b *testing.B) {
		for b.Loop() {
			MaxPool2D(s, in, out)
		}
	})
}

// BenchmarkPoolImpls runs the real Inception pooling layers with every available "maxpool"
// and "avgpool" implementation.
func BenchmarkPoolImpls(b *testing.B) {
	for _, bm := range []struct {
		name string
		s    PoolShape
	}{
		{"v3_Mixed_5b_3x3_s1_pad1", PoolShape{C: 192, H: 35, W: 35, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_Mixed_6b_3x3_s1_pad1", PoolShape{C: 768, H: 17, W: 17, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		// Every stride-2 max pool of the six networks (all 3×3, no padding; v1 and v2 in ceil mode).
		{"v3_MaxPool_3a_3x3_s2", PoolShape{C: 64, H: 147, W: 147, KH: 3, KW: 3, SH: 2, SW: 2}},
		{"v3_MaxPool_5a_3x3_s2", PoolShape{C: 192, H: 71, W: 71, KH: 3, KW: 3, SH: 2, SW: 2}},
		{"v3_Mixed_6a_3x3_s2", PoolShape{C: 288, H: 35, W: 35, KH: 3, KW: 3, SH: 2, SW: 2}},
		{"v4_Mixed_6a_3x3_s2", PoolShape{C: 384, H: 35, W: 35, KH: 3, KW: 3, SH: 2, SW: 2}},
		{"v3_Mixed_7a_3x3_s2", PoolShape{C: 768, H: 17, W: 17, KH: 3, KW: 3, SH: 2, SW: 2}},
		{"irv2_mixed_7a_3x3_s2", PoolShape{C: 1088, H: 17, W: 17, KH: 3, KW: 3, SH: 2, SW: 2}},
		{"v1_maxpool1_3x3_s2_ceil", PoolShape{C: 64, H: 112, W: 112, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true}},
		{"v1_maxpool2_3x3_s2_ceil", PoolShape{C: 192, H: 56, W: 56, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true}},
		{"v1_maxpool3_3x3_s2_ceil", PoolShape{C: 480, H: 28, W: 28, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true}},
		{"v1_maxpool4_3x3_s2_ceil", PoolShape{C: 832, H: 14, W: 14, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true}},
	} {
		s := bm.s
		oh, ow := s.OutH(), s.OutW()
		in, out := randSlice(newRand(1), s.C*s.H*s.W), make([]float32, s.C*oh*ow)
		for _, e := range isaImpls("maxpool") {
			b.Run(bm.name+"/max/"+implShortName(e.name), func(b *testing.B) {
				for b.Loop() {
					e.fn.(poolFunc)(s, oh, ow, in, out)
				}
			})
		}
		for _, e := range isaImpls("avgpool") {
			b.Run(bm.name+"/avg/"+implShortName(e.name), func(b *testing.B) {
				for b.Loop() {
					e.fn.(avgPoolFunc)(s, oh, ow, in, out, false)
				}
			})
		}
	}
}

// BenchmarkConv2DBatch runs the 1×1 layers of the table on batches of 1 and 8 images, and
// the 3×3 Winograd layers that run batched (winoBatch) on batches of 4, with the active
// implementation: "loop" is n calls of Conv2DPacked (the per-image path), "batch"
// one Conv2DPackedBatch. GFLOP/s counts the whole batch.
func BenchmarkConv2DBatch(b *testing.B) {
	for _, bm := range convBenchmarks {
		s := bm.s
		sizes := []int{1, 8}
		switch {
		case s.winoBatch(4):
			sizes = []int{4}
		case s.KH != 1 || s.KW != 1:
			continue
		}
		for _, n := range sizes {
			for _, threads := range []int{1, 2} {
				for _, mode := range []string{"loop", "batch"} {
					b.Run(fmt.Sprintf("%s/n=%d/threads=%d/%s", bm.name, n, threads, mode), func(b *testing.B) {
						r := newRand(1)
						chw, ohw := s.C*s.H*s.W, s.O*s.OutH()*s.OutW()
						in := randSlice(r, n*chw)
						pw := PackConvWeights(s, randSlice(r, s.O*s.C*s.KH*s.KW))
						bias := randSlice(r, s.O)
						out := make([]float32, n*ohw)
						scratch := make([]float32, s.BatchScratchLen(n, threads))
						for b.Loop() {
							if mode == "batch" {
								Conv2DPackedBatch(s, n, in, chw, pw, bias, out, ohw, scratch, true, threads)
								continue
							}
							for i := 0; i < n; i++ {
								Conv2DPacked(s, in[i*chw:], pw, bias, out[i*ohw:], scratch, true, threads)
							}
						}
						b.ReportMetric(2*float64(n)*float64(s.MACs())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	}
}

// BenchmarkLinear runs v3's classifier (2048 -> 1000) on 1 and 8 images.
func BenchmarkLinear(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("v3_fc/n=%d", n), func(b *testing.B) {
			r := newRand(1)
			const in, out = 2048, 1000
			x, w, bias, y := randSlice(r, n*in), randSlice(r, out*in), randSlice(r, out), make([]float32, n*out)
			for b.Loop() {
				Linear(n, in, out, x, w, bias, y)
			}
			b.ReportMetric(2*float64(n*in*out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
