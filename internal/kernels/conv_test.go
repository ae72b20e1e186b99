package kernels

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// convTests covers sizes 1–17 with awkward cases, then real Inception layers.
var convTests = []struct {
	name string
	s    ConvShape
}{
	{"1x1_image_1x1_kernel", ConvShape{C: 1, H: 1, W: 1, O: 1, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"1x1_image_3x3_pad1", ConvShape{C: 2, H: 1, W: 1, O: 3, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"C1_O1_3x3", ConvShape{C: 1, H: 5, W: 6, O: 1, KH: 3, KW: 3, SH: 1, SW: 1}},
	{"3x3_pad1", ConvShape{C: 3, H: 5, W: 5, O: 2, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"5x5_s2_pad2", ConvShape{C: 2, H: 7, W: 5, O: 3, KH: 5, KW: 5, SH: 2, SW: 2, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"3x3_s3_asym", ConvShape{C: 4, H: 11, W: 10, O: 5, KH: 3, KW: 3, SH: 3, SW: 3, PadT: 0, PadL: 1, PadB: 2, PadR: 0}},
	{"kernel_bigger_than_input", ConvShape{C: 3, H: 2, W: 2, O: 4, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"kernel_bigger_than_input_asym", ConvShape{C: 1, H: 1, W: 3, O: 2, KH: 4, KW: 6, SH: 1, SW: 2, PadT: 3, PadL: 1, PadB: 0, PadR: 2}},
	{"1x7_pad3", ConvShape{C: 5, H: 9, W: 11, O: 4, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"7x1_pad3", ConvShape{C: 5, H: 11, W: 9, O: 4, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"1x3_pad1", ConvShape{C: 6, H: 8, W: 8, O: 7, KH: 1, KW: 3, SH: 1, SW: 1, PadL: 1, PadR: 1}},
	{"3x1_pad1", ConvShape{C: 6, H: 8, W: 8, O: 7, KH: 3, KW: 1, SH: 1, SW: 1, PadT: 1, PadB: 1}},
	{"3x5_s2x3_asym", ConvShape{C: 3, H: 13, W: 16, O: 6, KH: 3, KW: 5, SH: 2, SW: 3, PadT: 1, PadL: 0, PadB: 0, PadR: 2}},
	{"7x7_s2_pad3", ConvShape{C: 3, H: 17, W: 17, O: 9, KH: 7, KW: 7, SH: 2, SW: 2, PadT: 3, PadL: 3, PadB: 3, PadR: 3}},
	{"3x3_s2_valid_odd", ConvShape{C: 2, H: 15, W: 17, O: 3, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"3x3_tails", ConvShape{C: 17, H: 13, W: 13, O: 17, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"1x1_s1_rowmajor", ConvShape{C: 13, H: 3, W: 3, O: 11, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"1x1_s1_1x1_image", ConvShape{C: 7, H: 1, W: 1, O: 9, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"1x1_s2", ConvShape{C: 4, H: 9, W: 7, O: 5, KH: 1, KW: 1, SH: 2, SW: 2}},
	{"1x1_pad1", ConvShape{C: 3, H: 4, W: 5, O: 2, KH: 1, KW: 1, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"K_over_one_block", ConvShape{C: 40, H: 6, W: 7, O: 5, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"1x1_K_over_two_blocks", ConvShape{C: 600, H: 3, W: 5, O: 3, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"1x1_7x7_last_strips_17", ConvShape{C: 300, H: 7, W: 7, O: 40, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"only_bottom_right_pad", ConvShape{C: 2, H: 6, W: 6, O: 2, KH: 2, KW: 2, SH: 2, SW: 2, PadB: 1, PadR: 1}},
	// Real layers.
	{"v3_Mixed_6b_1x7", ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"v3_Mixed_6b_7x1", ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"v1_conv1_7x7_s2", ConvShape{C: 3, H: 224, W: 224, O: 64, KH: 7, KW: 7, SH: 2, SW: 2, PadT: 3, PadL: 3, PadB: 3, PadR: 3}},
	{"v3_3x3_s2_valid_149", ConvShape{C: 32, H: 149, W: 149, O: 32, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"v3_Mixed_7b_1x3", ConvShape{C: 384, H: 8, W: 8, O: 384, KH: 1, KW: 3, SH: 1, SW: 1, PadL: 1, PadR: 1}},
	{"irv2_block8_1x1", ConvShape{C: 2080, H: 8, W: 8, O: 192, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"irv2_block17_up_1x1_narrow", ConvShape{C: 128, H: 17, W: 17, O: 1088, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"v1_inception5b_3x3_narrow", ConvShape{C: 192, H: 7, W: 7, O: 50, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Mixed_6a_3x3_s2_narrow", ConvShape{C: 32, H: 35, W: 35, O: 44, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"v4_stem_3x3_s2_narrow", ConvShape{C: 16, H: 147, W: 147, O: 20, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"3x3_s2_pad1_odd", ConvShape{C: 5, H: 19, W: 21, O: 8, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"3x3_s2_padL_only", ConvShape{C: 3, H: 10, W: 12, O: 7, KH: 3, KW: 3, SH: 2, SW: 2, PadL: 1}},
	// Winograd F(2×2, 3×3): odd and even outputs, asymmetric padding, K blocks, 1-row images.
	{"wino_odd_out", ConvShape{C: 16, H: 9, W: 9, O: 16, KH: 3, KW: 3, SH: 1, SW: 1}},
	{"wino_pad1", ConvShape{C: 20, H: 10, W: 12, O: 22, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"wino_asym_pad", ConvShape{C: 17, H: 11, W: 19, O: 19, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 0, PadL: 2, PadB: 1, PadR: 0}},
	{"wino_C_over_kc", ConvShape{C: 300, H: 6, W: 5, O: 18, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"wino_2x2_out", ConvShape{C: 16, H: 4, W: 4, O: 17, KH: 3, KW: 3, SH: 1, SW: 1}},
	{"wino_wide", ConvShape{C: 16, H: 3, W: 70, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadB: 1, PadL: 1, PadR: 1}},
	{"wino_tall", ConvShape{C: 16, H: 70, W: 3, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadB: 1}},
	{"wino_3_chunks", ConvShape{C: 16, H: 79, W: 120, O: 17, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v3_Mixed_7b_3x3_narrow", ConvShape{C: 64, H: 8, W: 8, O: 40, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	// Winograd F(4×4, 3×3) (1024 <= C·O <= 32768): outputs not a multiple of 4, asymmetric
	// padding, one partial tile, rows of more than 8 tiles, several chunks (and the chunked
	// parallel plan).
	{"wino43_odd_out", ConvShape{C: 48, H: 9, W: 9, O: 48, KH: 3, KW: 3, SH: 1, SW: 1}},
	{"wino43_asym_pad", ConvShape{C: 47, H: 11, W: 19, O: 50, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 0, PadL: 2, PadB: 1, PadR: 0}},
	{"wino43_2x2_out", ConvShape{C: 48, H: 4, W: 4, O: 49, KH: 3, KW: 3, SH: 1, SW: 1}},
	{"wino43_wide", ConvShape{C: 48, H: 3, W: 70, O: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadB: 1, PadL: 1, PadR: 1}},
	{"wino43_tall", ConvShape{C: 48, H: 70, W: 5, O: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadB: 1}},
	// Batches of 5 (TestConv2DPackedBatch) split into chunks that end inside an image.
	{"wino_batch_split", ConvShape{C: 16, H: 24, W: 24, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadB: 1, PadL: 1, PadR: 1}},
	{"wino43_batch_split", ConvShape{C: 32, H: 28, W: 28, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadB: 1, PadL: 1, PadR: 1}},
	{"wino43_3_chunks", ConvShape{C: 48, H: 79, W: 70, O: 49, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	// Winograd F(2, 7) (1×7 and 7×1, C, O >= 128): odd outputs, asymmetric and no padding, one
	// partial tile, K blocks, several chunks (and the chunked parallel plan). The v3_Mixed_6b
	// layers above run as F(2, 7) too.
	{"wino27_1x7_odd", ConvShape{C: 128, H: 3, W: 13, O: 131, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"wino27_7x1_odd", ConvShape{C: 128, H: 13, W: 3, O: 131, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"wino27_1x7_asym_pad", ConvShape{C: 128, H: 2, W: 9, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 1, PadR: 5}},
	{"wino27_7x1_asym_pad", ConvShape{C: 128, H: 9, W: 2, O: 128, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 5, PadB: 0}},
	{"wino27_1x7_valid", ConvShape{C: 128, H: 2, W: 10, O: 128, KH: 1, KW: 7, SH: 1, SW: 1}},
	{"wino27_7x1_valid", ConvShape{C: 128, H: 10, W: 2, O: 128, KH: 7, KW: 1, SH: 1, SW: 1}},
	{"wino27_1x7_one_column", ConvShape{C: 128, H: 4, W: 1, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"wino27_7x1_one_row", ConvShape{C: 128, H: 1, W: 4, O: 128, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	{"wino27_1x7_C_over_kc", ConvShape{C: 300, H: 4, W: 5, O: 130, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"wino27_1x7_chunks", ConvShape{C: 128, H: 40, W: 30, O: 129, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
	{"wino27_7x1_chunks", ConvShape{C: 128, H: 80, W: 15, O: 129, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	// Winograd F(2×2, 5×5) (5×5 stride 1, from 6×6 outputs): the real layers (v3 Mixed_5b–5d
	// and IRv2 mixed_5b share v3's shape; BVLC GoogLeNet's at 28, 14 and 7), odd outputs,
	// asymmetric and no padding, the smallest map, rows of more than 8 tiles, C over a K block,
	// several chunks (and the chunked parallel plan), and batches split into chunks that end
	// inside an image.
	{"v3_Mixed_5b_5x5", ConvShape{C: 48, H: 35, W: 35, O: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_3a_5x5", ConvShape{C: 16, H: 28, W: 28, O: 32, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_4b_5x5", ConvShape{C: 24, H: 14, W: 14, O: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"v1_bvlc_inception_5b_5x5", ConvShape{C: 48, H: 7, W: 7, O: 128, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"wino25_odd_out", ConvShape{C: 16, H: 13, W: 11, O: 19, KH: 5, KW: 5, SH: 1, SW: 1}},
	{"wino25_asym_pad", ConvShape{C: 17, H: 11, W: 19, O: 16, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 0, PadL: 3, PadB: 1, PadR: 0}},
	{"wino25_7x6_out", ConvShape{C: 16, H: 11, W: 10, O: 17, KH: 5, KW: 5, SH: 1, SW: 1}},
	{"wino25_wide", ConvShape{C: 16, H: 3, W: 70, O: 16, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadB: 2, PadL: 2, PadR: 2}},
	{"wino25_C_over_kc", ConvShape{C: 300, H: 8, W: 7, O: 18, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"wino25_chunks", ConvShape{C: 16, H: 79, W: 120, O: 17, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	{"wino25_batch_split", ConvShape{C: 16, H: 24, W: 24, O: 32, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadB: 2, PadL: 2, PadR: 2}},
}

func TestConvShape(t *testing.T) {
	tests := []struct {
		s              ConvShape
		wantH, wantW   int
		wantMACs       int64
		wantScratchMin int
	}{
		{ConvShape{C: 3, H: 224, W: 224, O: 64, KH: 7, KW: 7, SH: 2, SW: 2, PadT: 3, PadL: 3, PadB: 3, PadR: 3}, 112, 112, 64 * 112 * 112 * 3 * 49, 147 * 8},
		{ConvShape{C: 32, H: 149, W: 149, O: 32, KH: 3, KW: 3, SH: 2, SW: 2}, 74, 74, 32 * 74 * 74 * 32 * 9, 256 * 8},
		{ConvShape{C: 1, H: 5, W: 5, O: 1, KH: 3, KW: 3, SH: 3, SW: 3, PadT: 1, PadB: 0, PadL: 0, PadR: 2}, 2, 2, 4 * 9, 9 * 8},
		{ConvShape{C: 1, H: 2, W: 2, O: 1, KH: 5, KW: 5, SH: 1, SW: 1}, -2, -2, 0, 25 * 8}, // invalid: floor((2-5)/1)+1; MACs not checked
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.s), func(t *testing.T) {
			if got := tt.s.OutH(); got != tt.wantH {
				t.Errorf("OutH() = %d, want %d", got, tt.wantH)
			}
			if got := tt.s.OutW(); got != tt.wantW {
				t.Errorf("OutW() = %d, want %d", got, tt.wantW)
			}
			if tt.wantH > 0 {
				if got := tt.s.MACs(); got != tt.wantMACs {
					t.Errorf("MACs() = %d, want %d", got, tt.wantMACs)
				}
			}
			if got := tt.s.ScratchLen(); got < tt.wantScratchMin {
				t.Errorf("ScratchLen() = %d, want >= %d", got, tt.wantScratchMin)
			}
		})
	}
}

// isaImpls returns the available implementations of op in kernelTable: its name and isa.
func isaImpls(op string) []kernelEntry {
	var impls []kernelEntry
	for _, e := range kernelTable {
		if e.op == op && *e.available {
			impls = append(impls, e)
		}
	}
	return impls
}

// runConv runs the convolution with the kernels of impl (on weights packed by
// PackConvWeights) on NaN-guarded out and scratch, and checks the guards.
func runConv(t *testing.T, s ConvShape, in, w, bias []float32, relu bool, threads int, impl isa) []float32 {
	t.Helper()
	out := guarded(s.O * s.OutH() * s.OutW())
	scratch := guarded(s.PackedScratchLen())
	conv2D(s, in, PackConvWeights(s, w), bias, out, scratch, epilogue{relu: relu}, threads, impl)
	checkGuard(t, "out", out)
	checkGuard(t, "scratch", scratch)
	return out
}

// checkPackedConv runs conv2D(s) with ReLU on threads threads and the kernels of impl, over weights
// pw packed for it, into NaN-guarded out and scratch of batchScratchLen(1, threads), checks the guards,
// and that out is want bit for bit (what names the run in a failure).
func checkPackedConv(t *testing.T, what string, s ConvShape, in, pw, bias, want []float32, threads int, impl isa) {
	t.Helper()
	got := guarded(len(want))
	scratch := guarded(s.batchScratchLen(1, threads, impl))
	conv2D(s, in, pw, bias, got, scratch, epilogue{relu: true}, threads, impl)
	checkGuard(t, "out", got)
	checkGuard(t, "scratch", scratch)
	for j := range want {
		if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
			t.Fatalf("%s: out[%d] = %v, want %v", what, j, got[j], want[j])
		}
	}
}

// TestConv2D runs every gemm implementation against the float64 reference.
func TestConv2D(t *testing.T) {
	for _, e := range isaImpls("gemm") {
		t.Run(e.name, func(t *testing.T) {
			for i, tt := range convTests {
				t.Run(tt.name, func(t *testing.T) {
					s := tt.s
					r := newRand(uint64(i))
					in := randSlice(r, s.C*s.H*s.W)
					w := randSlice(r, s.O*s.C*s.KH*s.KW)
					bias := randSlice(r, s.O)
					for _, cfg := range []struct {
						bias []float32
						relu bool
					}{{bias, true}, {nil, false}} {
						want, tol := refConv(s, in, w, cfg.bias, cfg.relu)
						got := runConv(t, s, in, w, cfg.bias, cfg.relu, 1, e.fn.(isa))
						closeTo(t, fmt.Sprintf("out(bias=%t,relu=%t)", cfg.bias != nil, cfg.relu), got, want, tol)
					}
				})
			}
		})
	}
}

// TestConv2DPacked checks that Conv2D and Conv2DPacked give the same bits, with scratch of
// exactly ScratchLen and PackedScratchLen.
func TestConv2DPacked(t *testing.T) {
	for i, tt := range convTests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			r := newRand(uint64(200 + i))
			in := randSlice(r, s.C*s.H*s.W)
			w := randSlice(r, s.O*s.C*s.KH*s.KW)
			bias := randSlice(r, s.O)
			want := guarded(s.O * s.OutH() * s.OutW())
			scratch := guarded(s.ScratchLen())
			Conv2D(s, in, w, bias, want, scratch, true, 2)
			checkGuard(t, "Conv2D out", want)
			checkGuard(t, "Conv2D scratch", scratch)
			got := guarded(len(want))
			scratch = guarded(s.PackedScratchLen())
			Conv2DPacked(s, in, PackConvWeights(s, w), bias, got, scratch, true, 2)
			checkGuard(t, "Conv2DPacked out", got)
			checkGuard(t, "Conv2DPacked scratch", scratch)
			for j := range want {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("Conv2DPacked out[%d] = %v, Conv2D %v", j, got[j], want[j])
				}
			}
		})
	}
}

// TestConv2DBands checks that a GEMM convolution run on one thread in bands of output rows
// (bandRows), each over a window of the phase planes, gives the bits of the same convolution
// filled whole, for every gemm implementation, with bands of 1, 2 and 3 rows (the last one
// shorter), in scratch of exactly batchScratchLen(1, 1, impl).
func TestConv2DBands(t *testing.T) {
	defer func(f int) { bandFloats = f }(bandFloats)
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for i, tt := range convTests {
				s := tt.s
				if s.direct() || s.winograd() || s.maskedPack(1, impl) || s.OutH() < 3 || s.O*s.C*s.KH*s.KW > bandMaxA {
					continue
				}
				t.Run(tt.name, func(t *testing.T) {
					r := newRand(uint64(500 + i))
					in := randSlice(r, s.C*s.H*s.W)
					pw := PackConvWeights(s, randSlice(r, s.O*s.C*s.KH*s.KW))
					bias := randSlice(r, s.O)
					_, wq := s.phases()
					bandFloats = 1 << 40
					want := make([]float32, s.O*s.OutH()*s.OutW())
					conv2D(s, in, pw, bias, want, make([]float32, s.batchScratchLen(1, 1, impl)), epilogue{relu: true}, 1, impl)
					bands := 0
					for _, rows := range []int{1, 2, 3} {
						// bandRows gives rows when the window of rows+(KH-1)/SH phase rows is what fits.
						bandFloats = s.C * s.SH * s.SW * wq * (rows + (s.KH-1)/s.SH)
						if s.inputLen() <= 2*bandFloats || s.bandRows(1) != rows {
							continue
						}
						bands++
						checkPackedConv(t, fmt.Sprintf("bands of %d rows", rows), s, in, pw, bias, want, 1, impl)
					}
					if bands == 0 {
						t.Skip("no band size leaves the input larger than two windows")
					}
				})
			}
		})
	}
}

// TestConv2DLowMem checks ConvShape.LowMem: a one-thread convolution whose weights are too large for
// bands (bandMaxA) runs in bands with it, in less scratch, and gives the same bits, for every gemm
// implementation; on two threads it bands too (TestConv2DLowMemBands runs that), where a shape
// without it does not.
func TestConv2DLowMem(t *testing.T) {
	defer func(f int) { bandFloats = f }(bandFloats)
	// Padded, so that every implementation copies it (an unpadded one AVX-512 reads in place:
	// stride2Pack).
	s := ConvShape{C: 128, H: 13, W: 11, O: 130, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1}
	_, wq := s.phases()
	bandFloats = s.C * s.SH * s.SW * wq * 3 // windows of 2 output rows
	low := s
	low.LowMem = true
	if s.O*s.C*s.KH*s.KW <= bandMaxA || s.bandRows(1) != s.OutH() || s.bandRows(2) != s.OutH() || low.bandRows(1) != 2 || low.bandRows(2) != 2 {
		t.Fatalf("bandRows: %d without LowMem (%d on two threads), %d with (%d); want %d, %d, 2, 2", s.bandRows(1), s.bandRows(2), low.bandRows(1), low.bandRows(2), s.OutH(), s.OutH())
	}
	if low.BatchScratchLen(1, 1) >= s.BatchScratchLen(1, 1) {
		t.Errorf("LowMem scratch %d, not less than %d", low.BatchScratchLen(1, 1), s.BatchScratchLen(1, 1))
	}
	checkLowMemBits(t, low, 7, 1)
}

// checkLowMemBits checks that the LowMem shape low gives, for every gemm implementation on each of
// threads, the bits of the same convolution with its input copied whole on one thread.
func checkLowMemBits(t *testing.T, low ConvShape, seed uint64, threads ...int) {
	t.Helper()
	s := low
	s.LowMem = false
	r := newRand(seed)
	in := randSlice(r, s.C*s.H*s.W)
	pw := PackConvWeights(s, randSlice(r, s.O*s.C*s.KH*s.KW))
	bias := randSlice(r, s.O)
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		want := make([]float32, s.O*s.OutH()*s.OutW())
		conv2D(s, in, pw, bias, want, make([]float32, s.batchScratchLen(1, 1, impl)), epilogue{relu: true}, 1, impl)
		for _, th := range threads {
			checkPackedConv(t, fmt.Sprintf("%s in bands on %d threads", e.name, th), low, in, pw, bias, want, th, impl)
		}
	}
}

// TestConv2DLowMemWindow: a LowMem shape whose weights are small takes windows of as little as
// bandFloats/8 (bandWindow): the 7×7/2 stem of v1 and v2, whose padded input (0.64 MB) fits one
// window of bandFloats, then takes a quarter of its scratch on one thread and half on two, with the
// bits of the whole copy for every implementation; and a shape with more weights than bandFloats/8
// keeps windows of bandFloats.
func TestConv2DLowMemWindow(t *testing.T) {
	s := ConvShape{C: 3, H: 224, W: 224, O: 64, KH: 7, KW: 7, SH: 2, SW: 2, PadT: 3, PadL: 3, PadB: 3, PadR: 3}
	low := s
	low.LowMem = true
	if low.bandWindow() != bandFloats/8 || s.bandRows(1) != s.OutH() {
		t.Fatalf("window %d, %d rows without LowMem; want %d, %d", low.bandWindow(), s.bandRows(1), bandFloats/8, s.OutH())
	}
	for threads, most := range map[int]float64{1: 0.25, 2: 0.5} {
		if got, whole := low.BatchScratchLen(1, threads), s.BatchScratchLen(1, threads); float64(got) > most*float64(whole) {
			t.Errorf("%d threads: LowMem scratch %d floats, more than %.2f of %d", threads, got, most, whole)
		}
	}
	big := ConvShape{C: 192, H: 71, W: 71, O: 192, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, LowMem: true}
	if big.bandWindow() != bandFloats {
		t.Errorf("192→192 3×3/2: window %d, want %d", big.bandWindow(), bandFloats)
	}
	checkLowMemBits(t, low, 8, 1, 2)
}

// TestPackConvWeightsTo checks that packing into a caller's dirty buffer writes every value of
// the layout, for GEMM and Winograd shapes alike.
func TestPackConvWeightsTo(t *testing.T) {
	for _, s := range []ConvShape{
		{C: 7, H: 9, W: 9, O: 13, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 600, H: 3, W: 3, O: 13, KH: 1, KW: 1, SH: 1, SW: 1},
		{C: 32, H: 35, W: 35, O: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 128, H: 17, W: 17, O: 160, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3},
		{C: 32, H: 35, W: 35, O: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2},
	} {
		w := randSlice(newRand(1), s.O*s.C*s.KH*s.KW)
		want := PackConvWeights(s, w)
		if len(want) != s.PackedLen() {
			t.Fatalf("%+v: PackConvWeights gives %d values, PackedLen %d", s, len(want), s.PackedLen())
		}
		dst := make([]float32, s.PackedLen())
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
		PackConvWeightsTo(s, w, dst)
		if !slices.Equal(dst, want) {
			t.Errorf("%+v (Winograd tile %d): PackConvWeightsTo into a dirty buffer differs from PackConvWeights", s, s.winoTile())
		}
	}
}

// TestPackConvWeights checks the packed layout against its definition (see packA).
func TestPackConvWeights(t *testing.T) {
	for _, s := range []ConvShape{
		{C: 1, H: 3, W: 3, O: 1, KH: 1, KW: 1, SH: 1, SW: 1},
		{C: 3, H: 5, W: 5, O: 7, KH: 3, KW: 3, SH: 1, SW: 1},
		{C: 600, H: 3, W: 3, O: 13, KH: 1, KW: 1, SH: 1, SW: 1}, // K blocks of 200
		{C: 64, H: 9, W: 9, O: 12, KH: 3, KW: 3, SH: 1, SW: 1},  // K = 576: blocks of 192
	} {
		t.Run(fmt.Sprintf("O=%d_K=%d", s.O, s.C*s.KH*s.KW), func(t *testing.T) {
			k := s.C * s.KH * s.KW
			w := randSlice(newRand(1), s.O*k)
			got := PackConvWeights(s, w)
			mp := (s.O + gemmMR - 1) / gemmMR * gemmMR
			if len(got) != mp*k {
				t.Fatalf("len = %d, want %d", len(got), mp*k)
			}
			kcb := gemmKCFor(k)
			for o := 0; o < mp; o++ {
				for kk := 0; kk < k; kk++ {
					k0 := kk / kcb * kcb
					kc := min(kcb, k-k0)
					idx := k0*mp + o/gemmMR*gemmMR*kc + (kk-k0)*gemmMR + o%gemmMR
					var want float32
					if o < s.O {
						want = w[o*k+kk]
					}
					if got[idx] != want {
						t.Fatalf("packed[%d] (o=%d k=%d) = %v, want %v", idx, o, kk, got[idx], want)
					}
				}
			}
		})
	}
}

// TestConv2DThreads checks that any thread count gives bit-identical results, whether the
// columns or the rows are split, for every implementation.
func TestConv2DThreads(t *testing.T) {
	defer func(v int64) { parallelMinMACs = v }(parallelMinMACs)
	parallelMinMACs = 0
	for _, e := range isaImpls("gemm") {
		t.Run(e.name, func(t *testing.T) {
			for i, tt := range convTests {
				t.Run(tt.name, func(t *testing.T) {
					s := tt.s
					r := newRand(uint64(100 + i))
					in := randSlice(r, s.C*s.H*s.W)
					w := randSlice(r, s.O*s.C*s.KH*s.KW)
					bias := randSlice(r, s.O)
					want := runConv(t, s, in, w, bias, true, 1, e.fn.(isa))
					for _, threads := range []int{2, 3, 7, 64} {
						got := runConv(t, s, in, w, bias, true, threads, e.fn.(isa))
						for j := range want {
							if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
								t.Fatalf("threads=%d: out[%d] = %v, want %v (threads=1)", threads, j, got[j], want[j])
							}
						}
					}
				})
			}
		})
	}
}

func TestConv2DNoAllocs(t *testing.T) {
	for _, s := range []ConvShape{
		{C: 16, H: 9, W: 9, O: 8, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 16, H: 9, W: 9, O: 8, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 16, H: 9, W: 9, O: 8, KH: 1, KW: 1, SH: 1, SW: 1},
		{C: 16, H: 9, W: 9, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, // Winograd
		{C: 128, H: 9, W: 9, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3},                 // F(2, 7)
		{C: 128, H: 9, W: 9, O: 128, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3},                 // F(2, 7)
		{C: 16, H: 9, W: 9, O: 16, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}, // F(2×2, 5×5)
	} {
		in := make([]float32, s.C*s.H*s.W)
		w := make([]float32, s.O*s.C*s.KH*s.KW)
		pw := PackConvWeights(s, w)
		out := make([]float32, s.O*s.OutH()*s.OutW())
		scratch := make([]float32, s.ScratchLen())
		if n := testing.AllocsPerRun(10, func() { Conv2D(s, in, w, nil, out, scratch, true, 1) }); n != 0 {
			t.Errorf("%+v: Conv2D allocates %v times per call", s, n)
		}
		if n := testing.AllocsPerRun(10, func() { Conv2DPacked(s, in, pw, nil, out, scratch, true, 1) }); n != 0 {
			t.Errorf("%+v: Conv2DPacked allocates %v times per call", s, n)
		}
	}
}

func TestConv2DPanics(t *testing.T) {
	s := ConvShape{C: 2, H: 5, W: 5, O: 3, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}
	n := s.O * s.OutH() * s.OutW()
	in := make([]float32, s.C*s.H*s.W)
	w := make([]float32, s.O*s.C*9)
	bias := make([]float32, s.O)
	out := make([]float32, n)
	scratch := make([]float32, s.ScratchLen())
	bad := func(f func(*ConvShape)) ConvShape { b := s; f(&b); return b }
	tests := []struct {
		name string
		f    func()
	}{
		{"short_in", func() { Conv2D(s, in[:len(in)-1], w, bias, out, scratch, false, 1) }},
		{"short_w", func() { Conv2D(s, in, w[:len(w)-1], bias, out, scratch, false, 1) }},
		{"short_bias", func() { Conv2D(s, in, w, bias[:2], out, scratch, false, 1) }},
		{"short_out", func() { Conv2D(s, in, w, bias, out[:n-1], scratch, false, 1) }},
		{"short_scratch", func() { Conv2D(s, in, w, bias, out, scratch[:len(scratch)-1], false, 1) }},
		{"zero_C", func() { Conv2D(bad(func(b *ConvShape) { b.C = 0 }), in, w, bias, out, scratch, false, 1) }},
		{"zero_stride", func() { Conv2D(bad(func(b *ConvShape) { b.SW = 0 }), in, w, bias, out, scratch, false, 1) }},
		{"negative_pad", func() { Conv2D(bad(func(b *ConvShape) { b.PadL = -1 }), in, w, bias, out, scratch, false, 1) }},
		{"packed_short_w", func() {
			Conv2DPacked(s, in, PackConvWeights(s, w)[:3*s.C*9], bias, out, scratch, false, 1)
		}},
		{"packed_short_scratch", func() {
			Conv2DPacked(s, in, PackConvWeights(s, w), bias, out, scratch[:s.BatchScratchLen(1, 1)-1], false, 1)
		}},
		{"packed_scratch_for_fewer_threads", func() {
			Conv2DPacked(s, in, PackConvWeights(s, w), bias, out, scratch[:s.BatchScratchLen(1, 1)], false, 2)
		}},
		{"pack_short_w", func() { PackConvWeights(s, w[:len(w)-1]) }},
		{"kernel_too_big", func() {
			Conv2D(bad(func(b *ConvShape) { b.KH, b.PadT, b.PadB = 9, 1, 1 }), in, make([]float32, 1000), bias, out, make([]float32, 1<<16), false, 1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

// TestTailSplit checks that the units of tailSplit cover every element of C exactly once, with
// row parts starting on whole tiles, and that N = 289 on two workers splits its last strips.
func TestTailSplit(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 7} {
		for _, n := range []int{1, 31, 32, 33, 64, 96, 289, 290, 1225} {
			for _, m := range []int{1, 6, 12, 32, 192, 1088} {
				sp := tailSplit(n, m, 32, 12, workers)
				seen := make([]int, m*n)
				for u := 0; u < sp.units; u++ {
					i0, i1, j0, j1 := 0, m, u*32, min((u+1)*32, n)
					if u >= sp.head {
						i0, i1, j0, j1 = sp.unit(u)
					}
					if i0%12 != 0 {
						t.Fatalf("workers=%d n=%d m=%d: unit %d starts at row %d", workers, n, m, u, i0)
					}
					for i := i0; i < i1; i++ {
						for j := j0; j < j1; j++ {
							seen[i*n+j]++
						}
					}
				}
				for k, c := range seen {
					if c != 1 {
						t.Fatalf("workers=%d n=%d m=%d: C[%d][%d] computed %d times", workers, n, m, k/n, k%n, c)
					}
				}
			}
		}
	}
	if sp := tailSplit(289, 192, 32, 12, 2); sp.head != 8 || sp.units != 12 {
		t.Errorf("N=289 on 2 workers: head %d, units %d; want 8 whole strips then 2 strips in 2 parts", sp.head, sp.units)
	}
}

// TestStackPacked checks that a stack of packed convolutions computes each member's outputs bit for
// bit, at its offset, and zeros between them (bias zero there).
func TestStackPacked(t *testing.T) {
	for _, base := range []ConvShape{
		{C: 320, H: 35, W: 35, KH: 1, KW: 1, SH: 1, SW: 1},
		{C: 600, H: 5, W: 3, KH: 1, KW: 1, SH: 1, SW: 1}, // three K blocks
		{C: 5, H: 9, W: 8, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
	} {
		outs := []int{32, 7, 64, 13}
		r := newRand(7)
		in := randSlice(r, base.C*base.H*base.W)
		var packed [][]float32
		var ws, bs [][]float32
		for _, o := range outs {
			s := base
			s.O = o
			w := randSlice(r, o*base.C*base.KH*base.KW)
			ws, bs = append(ws, w), append(bs, randSlice(r, o))
			packed = append(packed, PackConvWeights(s, w))
		}
		stack, o, offs := StackPacked(base, outs, packed, nil)
		if o != StackedO(outs) {
			t.Fatalf("StackPacked O = %d, StackedO = %d", o, StackedO(outs))
		}
		// Into a caller's buffer, dirty: every value is written, the same as a new slice.
		dst := make([]float32, len(stack)+3)
		for i := range dst {
			dst[i] = float32(math.NaN())
		}
		if into, _, _ := StackPacked(base, outs, packed, dst); &into[0] != &dst[0] || !slices.Equal(into, stack) {
			t.Fatalf("StackPacked into a buffer of %d: not written there, or not the same stack", len(dst))
		}
		st := base
		st.O = o
		bias := make([]float32, st.O)
		for i, b := range bs {
			copy(bias[offs[i]:], b)
		}
		hw := st.OutH() * st.OutW()
		got := make([]float32, st.O*hw)
		Conv2DPacked(st, in, stack, bias, got, make([]float32, st.PackedScratchLen()), true, 2)
		covered := make([]bool, st.O)
		for i, o := range outs {
			s := base
			s.O = o
			want := make([]float32, o*hw)
			Conv2D(s, in, ws[i], bs[i], want, make([]float32, s.ScratchLen()), true, 1)
			for j, v := range want {
				if g := got[offs[i]*hw+j]; math.Float32bits(g) != math.Float32bits(v) {
					t.Fatalf("%v member %d: out[%d] = %v, want %v", base, i, j, g, v)
				}
			}
			for c := offs[i]; c < offs[i]+o; c++ {
				covered[c] = true
			}
		}
		for c, ok := range covered {
			for j := 0; j < hw && !ok; j++ {
				if got[c*hw+j] != 0 {
					t.Fatalf("%v: padding row %d holds %v", base, c, got[c*hw+j])
				}
			}
		}
	}
}

// TestStride2Pack: the B strips of a valid stride-2 convolution packed straight from its input
// (bSource.s2, by each implementation that has it) equal, bit for bit, those packed from the copy
// split into stride phases, for every strip of every K block: strips within one output row, across
// rows (2–4 runs when a row has fewer than 16 outputs) and, in a batch, across images.
func TestStride2Pack(t *testing.T) {
	shapes := []ConvShape{
		{C: 3, H: 15, W: 17, O: 4, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 5, H: 71, W: 71, O: 4, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 2, H: 40, W: 9, O: 4, KH: 2, KW: 3, SH: 2, SW: 2},
		{C: 130, H: 7, W: 8, O: 4, KH: 3, KW: 3, SH: 2, SW: 2},
	}
	for _, e := range isaImpls("packs2") {
		impl := e.fn.(isa)
		for i, s := range shapes {
			if !s.stride2Pack(impl) {
				t.Fatalf("%s: shape %d not packed in place", e.name, i)
			}
			for _, n := range []int{1, 3} {
				in := randSlice(newRand(uint64(40+i)), n*s.C*s.H*s.W)
				inStride, ohw := s.C*s.H*s.W, s.OutH()*s.OutW()
				copied := make([]float32, n*s.inputLen())
				ph := s.source(in, copied)
				s.fillBatch(in, inStride, copied, 0, n*s.C, impl)
				ph.t, ph.tStride = copied, s.inputLen()
				s2 := s.stride2Source(in)
				s2.t, s2.tStride = in, inStride
				if n > 1 {
					ph.imgN, s2.imgN = ohw, ohw
				}
				g := s.gemm()
				kcb := gemmKCFor(g.k)
				for k0 := 0; k0 < g.k; k0 += kcb {
					kc := min(kcb, g.k-k0)
					ko, k2 := make([]int, kc), make([]int, kc)
					ph.offsets(k0, ko)
					s2.offsets(k0, k2)
					want, got := make([]float32, kc*gemmNR), guarded(kc*gemmNR)
					for j0 := 0; j0 < n*ohw; j0 += gemmNR {
						nv := min(gemmNR, n*ohw-j0)
						ph.pack(impl, ko, j0, nv, want)
						s2.pack(impl, k2, j0, nv, got)
						checkGuard(t, "strip", got)
						for q := range want {
							if math.Float32bits(got[q]) != math.Float32bits(want[q]) {
								t.Fatalf("%s shape %d, %d images, K block %d, columns %d..: value %d = %v, want %v", e.name, i, n, k0, j0, q, got[q], want[q])
							}
						}
					}
				}
			}
		}
	}
}
