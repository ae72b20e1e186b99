package kernels

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// batchInput returns n random CHW images of s, inStride apart, with NaN in the gaps
// between them (a read there would turn outputs into NaN).
func batchInput(s ConvShape, n, inStride int, seed uint64) []float32 {
	r := newRand(seed)
	chw := s.C * s.H * s.W
	in := guarded((n-1)*inStride + chw)
	for i := 0; i < n; i++ {
		copy(in[i*inStride:], randSlice(r, chw))
	}
	return in
}

// checkGaps reports values written between the images of out (outside the first ohw of
// each outStride).
func checkGaps(t *testing.T, out []float32, n, ohw, outStride int) {
	t.Helper()
	for i := 0; i < n-1; i++ {
		for j := i*outStride + ohw; j < (i+1)*outStride; j++ {
			if v := out[j]; v == v {
				t.Fatalf("out[%d], between images %d and %d, overwritten with %v", j, i, i+1, v)
			}
		}
	}
	checkGuard(t, "out", out)
}

// batchCases returns the batch sizes and thread counts to try on s: all of 1..5 on small
// shapes, fewer on big ones.
func batchSizes(s ConvShape) []int {
	if s.MACs() > 20<<20 {
		return []int{2}
	}
	return []int{1, 2, 3, 4, 5}
}

// TestConv2DPackedBatch checks that Conv2DPackedBatch gives the bits of n Conv2DPacked
// calls, for every gemm implementation, batch sizes 1–5, strides larger than an image,
// 1 and 3 threads (the parallel path forced).
func TestConv2DPackedBatch(t *testing.T) {
	defer func(v int64) { parallelMinMACs = v }(parallelMinMACs)
	parallelMinMACs = 0
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for i, tt := range convTests {
				t.Run(tt.name, func(t *testing.T) {
					s := tt.s
					chw, ohw := s.C*s.H*s.W, s.O*s.OutH()*s.OutW()
					r := newRand(uint64(300 + i))
					pw := PackConvWeights(s, randSlice(r, s.O*s.C*s.KH*s.KW))
					bias := randSlice(r, s.O)
					for _, n := range batchSizes(s) {
						for _, threads := range []int{1, 3} {
							inStride, outStride := chw+3*n, ohw+5
							in := batchInput(s, n, inStride, uint64(n))
							want := guarded((n-1)*outStride + ohw)
							scratch := guarded(s.PackedScratchLen())
							for j := 0; j < n; j++ {
								conv2D(s, in[j*inStride:], pw, bias, want[j*outStride:], scratch, epilogue{relu: true}, 1, impl)
							}
							got := guarded(len(want))
							scratch = guarded(s.batchScratchLen(n, threads, impl))
							conv2DBatch(s, n, in, inStride, pw, bias, got, outStride, scratch, epilogue{relu: true}, threads, impl)
							checkGaps(t, got, n, ohw, outStride)
							checkGuard(t, "scratch", scratch)
							for j := 0; j < n; j++ {
								for k := 0; k < ohw; k++ {
									g, w := got[j*outStride+k], want[j*outStride+k]
									if math.Float32bits(g) != math.Float32bits(w) {
										t.Fatalf("n=%d threads=%d: image %d out[%d] = %v, want %v", n, threads, j, k, g, w)
									}
								}
							}
						}
					}
				})
			}
		})
	}
}

// TestConv2DPackedBatchPanics checks the argument checks of Conv2DPackedBatch.
func TestConv2DPackedBatchPanics(t *testing.T) {
	s := ConvShape{C: 2, H: 3, W: 3, O: 2, KH: 1, KW: 1, SH: 1, SW: 1}
	pw := PackConvWeights(s, make([]float32, 4))
	scratch := make([]float32, s.BatchScratchLen(2, 1))
	for _, tt := range []struct {
		name                       string
		n, inLen, inStride, outLen int
		outStride                  int
	}{
		{"n=0", 0, 36, 18, 36, 18},
		{"in stride", 2, 36, 17, 36, 18},
		{"out stride", 2, 36, 18, 36, 17},
		{"in short", 2, 35, 18, 36, 18},
		{"out short", 2, 36, 18, 35, 18},
	} {
		t.Run(fmt.Sprint(tt.name), func(t *testing.T) {
			mustPanic(t, func() {
				Conv2DPackedBatch(s, tt.n, make([]float32, tt.inLen), tt.inStride, pw, nil, make([]float32, tt.outLen), tt.outStride, scratch, false, 1)
			})
		})
	}
}

// TestWinoBatchChosen checks that TestConv2DPackedBatch exercises the batched Winograd path
// (winoBatch) with both tiles, with chunks that end inside an image, and leaves F(2, 7) and
// maps that fill chunks alone image by image.
func TestWinoBatchChosen(t *testing.T) {
	tiles := map[int]bool{}
	split := false
	for _, tt := range convTests {
		s := tt.s
		for _, n := range batchSizes(s) {
			if !s.winoBatch(n) {
				continue
			}
			tiles[s.winoTile()] = true
			p := s.winoBatchPlan(s.winoTile(), n)
			split = split || p.rows < p.trows() && p.rows%p.th != 0
		}
		if name := tt.name; (strings.HasPrefix(name, "wino27_") || name == "wino_3_chunks") && s.winoBatch(2) {
			t.Errorf("%s: winoBatch(2) = true, want false", name)
		}
	}
	if !tiles[2] || !tiles[4] {
		t.Errorf("batched Winograd tiles in convTests: %v, want 2 and 4", tiles)
	}
	if !split {
		t.Error("no batched Winograd plan in convTests has a chunk ending inside an image")
	}
}

// TestConv2DBatchAdd checks Conv2DPackedBatchAdd against the convolution stored apart and then
// added: bit for bit when K fits one block (out + (bias + Σ) either way), and to float32
// rounding of the sums' magnitude when it does not (the partial sums then add to out one block
// at a time), for every implementation, batch sizes 1 and 3, and 1 and 3 threads.
func TestConv2DBatchAdd(t *testing.T) {
	defer func(v int64) { parallelMinMACs = v }(parallelMinMACs)
	parallelMinMACs = 0
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		for i, tt := range convTests {
			s := tt.s
			if s.winograd() {
				continue
			}
			oneBlock := s.C*s.KH*s.KW <= gemmKC
			r := newRand(uint64(300 + i))
			for _, n := range []int{1, 3} {
				imgIn, imgOut := s.C*s.H*s.W, s.O*s.OutH()*s.OutW()
				in := randSlice(r, n*imgIn)
				pw := PackConvWeights(s, randSlice(r, s.O*s.C*s.KH*s.KW))
				bias := randSlice(r, s.O)
				base := randSlice(r, n*imgOut)
				scratch := make([]float32, s.batchScratchLen(n, 3, impl))
				sum := make([]float32, n*imgOut)
				conv2DBatch(s, n, in, imgIn, pw, bias, sum, imgOut, scratch, epilogue{}, 1, impl)
				for _, relu := range []bool{false, true} {
					for _, threads := range []int{1, 3} {
						got := append([]float32(nil), base...)
						conv2DBatch(s, n, in, imgIn, pw, bias, got, imgOut, scratch, epilogue{relu: relu, add: true}, threads, impl)
						for k, g := range got {
							w := base[k] + sum[k]
							if relu {
								w = max(w, 0)
							}
							if oneBlock && math.Float32bits(g) != math.Float32bits(w) ||
								!oneBlock && math.Abs(float64(g-w)) > 1e-5*(1+math.Abs(float64(sum[k]))) {
								t.Fatalf("%s/%s n=%d relu=%t threads=%d: out[%d] = %v, want %v", e.name, tt.name, n, relu, threads, k, g, w)
							}
						}
					}
				}
			}
		}
	}
}
