package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestWinogradChosen pins which shapes run as Winograd F(2×2, 3×3).
func TestWinogradChosen(t *testing.T) {
	tests := []struct {
		s    ConvShape
		want bool
	}{
		{ConvShape{C: 64, H: 56, W: 56, O: 192, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, true},
		{ConvShape{C: 80, H: 73, W: 73, O: 192, KH: 3, KW: 3, SH: 1, SW: 1}, true},
		{ConvShape{C: 64, H: 147, W: 147, O: 96, KH: 3, KW: 3, SH: 2, SW: 2}, false}, // stride 2
		{ConvShape{C: 3, H: 299, W: 299, O: 32, KH: 3, KW: 3, SH: 1, SW: 1}, false},  // C < 16
		{ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}, false},
		{ConvShape{C: 32, H: 1, W: 9, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadL: 1, PadR: 1}, false}, // 1 output row
	}
	for _, tt := range tests {
		if got := tt.s.winograd(); got != tt.want {
			t.Errorf("%+v: winograd() = %t, want %t", tt.s, got, tt.want)
		}
	}
}

// TestWinogradError measures the error of Winograd convolutions on real layer shapes
// (channels cut where the float64 reference would be slow) against the float64 reference,
// next to that of the direct im2col GEMM on the same data, both relative to Σ|w·x| of each
// output, in units of u = 2^-24. Measured: Winograd 1.1–1.6 u, direct 0.5–2.2 u (the
// transforms add and subtract at most 4 terms per stage, and G's ½s are exact). The test
// allows 16 u, 10× that, i.e. 1e-6 of Σ|w·x| per layer: far inside the 1e-3 logit parity.
func TestWinogradError(t *testing.T) {
	shapes := []struct {
		name string
		s    ConvShape
	}{
		{"v1_conv2_3x3_narrow", ConvShape{C: 64, H: 28, W: 28, O: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_Conv2d_2b_3x3_crop", ConvShape{C: 32, H: 37, W: 37, O: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_Mixed_5b_3x3dbl", ConvShape{C: 96, H: 35, W: 35, O: 96, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_Mixed_7b_3x3", ConvShape{C: 448, H: 8, W: 8, O: 384, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	}
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		for i, sh := range shapes {
			t.Run(e.name+"/"+sh.name, func(t *testing.T) {
				s := sh.s
				if !s.winograd() {
					t.Fatalf("%+v does not run as Winograd", s)
				}
				r := newRand(uint64(300 + i))
				in := randSlice(r, s.C*s.H*s.W)
				w := randSlice(r, s.O*s.C*9)
				bias := randSlice(r, s.O)
				want, tol := refConv(s, in, w, bias, false)
				got := runConv(t, s, in, w, bias, false, 2, impl)
				direct := directConv(s, in, w, bias, impl)
				k := float64(s.C * 9)
				var worstW, worstD float64 // max |err| / Σ|terms|, in units of u
				for j := range want {
					sumAbs := tol[j] / ((k + 2) * u32)
					worstW = max(worstW, math.Abs(float64(got[j])-want[j])/sumAbs/u32)
					worstD = max(worstD, math.Abs(float64(direct[j])-want[j])/sumAbs/u32)
				}
				t.Logf("max |error| / Σ|w·x|: winograd %.1f u, direct %.1f u (the worst-case bound (k+2)u is %.0f u)", worstW, worstD, k+2)
				if !(worstW <= 16) {
					t.Errorf("winograd error %.1f u exceeds 16 u", worstW)
				}
			})
		}
	}
}

// directConv runs the convolution through the im2col GEMM path even when it would be
// Winograd, for comparison.
func directConv(s ConvShape, in, w, bias []float32, impl isa) []float32 {
	g := s.gemm()
	k := g.k
	pa := make([]float32, packedALen(s.O, k))
	packA(s.O, k, w, k, pa)
	t := make([]float32, s.inputLen())
	g.src = s.source(in, t)
	s.fillInput(in, t, 0, s.C, impl)
	out := make([]float32, g.m*g.n)
	g.a, g.c, g.ldc, g.bias, g.isa = pa, out, g.n, bias, impl
	g.run(0, g.m, 0, g.n, make([]float32, g.bufLen()))
	return out
}

// TestWino23Kernels runs every Winograd transform kernel against the reference loops of
// wino23InputF32Generic and wino23OutputF32Generic (same operations in the same order, so
// the results must be bit-identical), on NaN-guarded outputs.
func TestWino23Kernels(t *testing.T) {
	for _, e := range isaImpls("wino23") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for n := 1; n <= 25; n++ {
				steps := (n + 7) / 8 * 8
				wp := 2*steps + 2 + n%3
				src := randSlice(newRand(uint64(n)), 4*wp)
				ve := steps + 5
				want := make([]float32, 15*ve+steps)
				wino23InputF32Generic(src, wp, want, ve, n)
				got := guarded(15*ve + steps)
				impl.wino23Input(src, wp, got, ve, n)
				checkGuard(t, "input dst", got)
				for e := 0; e < 16; e++ {
					for j := 0; j < steps; j++ {
						if g, w := got[e*ve+j], want[e*ve+j]; math.Float32bits(g) != math.Float32bits(w) {
							t.Fatalf("input n=%d: V_%d[%d] = %v, want %v", n, e, j, g, w)
						}
					}
				}
			}
			for ncols := 1; ncols <= 37; ncols++ {
				for _, nrows := range []int{1, 2} {
					for _, relu := range []bool{false, true} {
						name := fmt.Sprintf("output ncols=%d nrows=%d relu=%t", ncols, nrows, relu)
						me := (ncols+15)/16*8 + 3
						m := randSlice(newRand(uint64(ncols)), 15*me+(ncols+15)/16*8)
						m[0] = nan32 // tile 0 is NaN in every output
						ldo := ncols + 4
						want := guarded((nrows-1)*ldo + ncols)
						wino23OutputF32Generic(m, me, want, ldo, ncols, nrows, 0.25, relu)
						got := guarded((nrows-1)*ldo + ncols)
						impl.wino23Output(m, me, got, ldo, ncols, nrows, 0.25, relu)
						checkGuard(t, name, got)
						for j := range got {
							if g, w := got[j], want[j]; math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
								t.Fatalf("%s: out[%d] = %v, want %v", name, j, g, w)
							}
						}
						if got[0] == got[0] {
							t.Fatalf("%s: out[0] = %v, want NaN", name, got[0])
						}
					}
				}
			}
		})
	}
}

// TestWinoPackWeights checks PackConvWeights of a Winograd shape against U_e = (G g Gᵀ)_e
// computed with the matrices, at the positions packA gives A[o][c] (see TestPackConvWeights).
func TestWinoPackWeights(t *testing.T) {
	s := ConvShape{C: 300, H: 6, W: 6, O: 17, KH: 3, KW: 3, SH: 1, SW: 1} // two K blocks of 150
	w := randSlice(newRand(5), s.O*s.C*9)
	got := PackConvWeights(s, w)
	if len(got) != s.winoPackedLen() {
		t.Fatalf("len = %d, want %d", len(got), s.winoPackedLen())
	}
	G := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	mp, plen, kcb := 18, s.winoPlaneLen(), gemmKCFor(s.C)
	for o := 0; o < mp; o++ {
		for c := 0; c < s.C; c++ {
			k0 := c / kcb * kcb
			at := k0*mp + o/gemmMR*gemmMR*min(kcb, s.C-k0) + (c-k0)*gemmMR + o%gemmMR
			for e := 0; e < 16; e++ {
				var want float64
				if o < s.O {
					for y := 0; y < 3; y++ {
						for x := 0; x < 3; x++ {
							want += G[e/4][y] * float64(w[(o*s.C+c)*9+y*3+x]) * G[e%4][x]
						}
					}
				}
				if g := got[e*plen+at]; math.Abs(float64(g)-want) > 1e-6 {
					t.Fatalf("U_%d[%d][%d] = %v, want %v", e, o, c, g, want)
				}
			}
		}
	}
}
