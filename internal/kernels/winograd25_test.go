package kernels

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// wino25BT and wino25AT64 are Bᵀ and Aᵀ of F(2×2, 5×5) as matrices (the top of winograd25.go).
var (
	wino25BT = [6][6]float64{
		{4, 0, -5, 0, 1, 0},
		{0, -4, -4, 1, 1, 0},
		{0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 4, 0, -5, 0, 1},
	}
	wino25AT64 = [2][6]float64{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 1}}
)

// TestWino25Matrices checks the transforms against the convolution they stand for: in
// float64, Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A is the 2×2 correlation of a 6×6 patch d with a 5×5
// kernel g; on small integers (exact in float32) wino25InputF32Generic gives Bᵀ d B and
// wino25OutputF32Generic Aᵀ M A exactly; and wino25Weights gives G g Gᵀ rounded once.
func TestWino25Matrices(t *testing.T) {
	r := newRand(25)
	for trial := 0; trial < 20; trial++ {
		var g [25]float32
		var d [36]float64
		for i := range g {
			g[i] = float32(r.IntN(17) - 8)
		}
		for i := range d {
			d[i] = float64(r.IntN(17) - 8)
		}
		// V = Bᵀ d B, U = G g Gᵀ, M = U ⊙ V, Y = Aᵀ M A, all in float64.
		var v, u, m [6][6]float64
		for i := 0; i < 6; i++ {
			for j := 0; j < 6; j++ {
				for k := 0; k < 6; k++ {
					for l := 0; l < 6; l++ {
						v[i][j] += wino25BT[i][k] * d[6*k+l] * wino25BT[j][l]
					}
				}
				for k := 0; k < 5; k++ {
					for l := 0; l < 5; l++ {
						u[i][j] += wino25G[i][k] * float64(g[5*k+l]) * wino25G[j][l]
					}
				}
				m[i][j] = u[i][j] * v[i][j]
			}
		}
		for y := 0; y < 2; y++ {
			for x := 0; x < 2; x++ {
				var got, want float64
				for i := 0; i < 6; i++ {
					for j := 0; j < 6; j++ {
						got += wino25AT64[y][i] * m[i][j] * wino25AT64[x][j]
					}
				}
				for k := 0; k < 5; k++ {
					for l := 0; l < 5; l++ {
						want += float64(g[5*k+l]) * d[6*(y+k)+x+l]
					}
				}
				if math.Abs(got-want) > 1e-9*(1+math.Abs(want)) {
					t.Fatalf("trial %d: Y[%d][%d] = %v, want %v", trial, y, x, got, want)
				}
			}
		}
		// The portable kernels on one tile (4 written: tiles 1..3 read zeros).
		const wq = 6
		src := make([]float32, 12*wq)
		for k := 0; k < 6; k++ {
			for q := 0; q < 6; q++ {
				src[(2*k+q%2)*wq+q/2] = float32(d[6*k+q])
			}
		}
		const ve = 5
		dst := make([]float32, 36*ve)
		wino25InputF32Generic(src, wq, dst, ve, 1)
		for e := 0; e < 36; e++ {
			if got := float64(dst[e*ve]); got != v[e/6][e%6] {
				t.Fatalf("trial %d: input V[%d][%d] = %v, want %v", trial, e/6, e%6, got, v[e/6][e%6])
			}
		}
		mm := make([]float32, 36*ve)
		for e := range 36 {
			mm[e*ve] = float32(r.IntN(17) - 8)
		}
		out := make([]float32, 2*3)
		wino25OutputF32Generic(mm, ve, out, 3, 2, 2, 0, false)
		for y := 0; y < 2; y++ {
			for x := 0; x < 2; x++ {
				var want float64
				for i := 0; i < 6; i++ {
					for j := 0; j < 6; j++ {
						want += wino25AT64[y][i] * float64(mm[(6*i+j)*ve]) * wino25AT64[x][j]
					}
				}
				if got := float64(out[3*y+x]); got != want {
					t.Fatalf("trial %d: output Y[%d][%d] = %v, want %v", trial, y, x, got, want)
				}
			}
		}
		for e, got := range wino25Weights(&g) {
			// Rounded once: within half an ulp, up to the float64 sums' own error near 0.
			if want := u[e/6][e%6]; math.Abs(float64(got)-want) > 0x1p-24*math.Abs(want)+1e-12 {
				t.Fatalf("trial %d: U[%d][%d] = %v, want %v", trial, e/6, e%6, got, want)
			}
		}
	}
}

// TestWino25Chosen pins which shapes run as F(2×2, 5×5).
func TestWino25Chosen(t *testing.T) {
	pad2 := func(s ConvShape) ConvShape { s.PadT, s.PadL, s.PadB, s.PadR = 2, 2, 2, 2; return s }
	tests := []struct {
		s    ConvShape
		want bool
	}{
		{pad2(ConvShape{C: 48, H: 35, W: 35, O: 64, KH: 5, KW: 5, SH: 1, SW: 1}), true},  // v3 Mixed_5b, IRv2 mixed_5b
		{pad2(ConvShape{C: 16, H: 28, W: 28, O: 32, KH: 5, KW: 5, SH: 1, SW: 1}), true},  // v1 inception_3a
		{pad2(ConvShape{C: 32, H: 14, W: 14, O: 128, KH: 5, KW: 5, SH: 1, SW: 1}), true}, // v1 inception_4e
		{pad2(ConvShape{C: 48, H: 7, W: 7, O: 128, KH: 5, KW: 5, SH: 1, SW: 1}), true},   // v1 inception_5b
		{pad2(ConvShape{C: 48, H: 6, W: 6, O: 128, KH: 5, KW: 5, SH: 1, SW: 1}), true},   // 6×6 outputs
		{pad2(ConvShape{C: 48, H: 5, W: 5, O: 128, KH: 5, KW: 5, SH: 1, SW: 1}), false},  // 5×5 outputs
		{pad2(ConvShape{C: 48, H: 4, W: 9, O: 128, KH: 5, KW: 5, SH: 1, SW: 1}), true},   // 4×9
		{pad2(ConvShape{C: 48, H: 1, W: 40, O: 128, KH: 5, KW: 5, SH: 1, SW: 1}), false}, // 1 output row
		{ConvShape{C: 48, H: 35, W: 35, O: 64, KH: 5, KW: 5, SH: 1, SW: 1}, true},        // unpadded
		{pad2(ConvShape{C: 8, H: 28, W: 28, O: 32, KH: 5, KW: 5, SH: 1, SW: 1}), false},  // C < 16
		{pad2(ConvShape{C: 16, H: 28, W: 28, O: 8, KH: 5, KW: 5, SH: 1, SW: 1}), false},  // O < 16
		{pad2(ConvShape{C: 48, H: 35, W: 35, O: 64, KH: 5, KW: 5, SH: 2, SW: 2}), false}, // stride 2
		{pad2(ConvShape{C: 48, H: 35, W: 35, O: 64, KH: 5, KW: 3, SH: 1, SW: 1}), false}, // 5×3
	}
	for _, tt := range tests {
		if got := tt.s.wino25(); got != tt.want {
			t.Errorf("%+v: wino25() = %t, want %t", tt.s, got, tt.want)
		}
		wantTile := 0
		if tt.want {
			wantTile = 2
		}
		if got := tt.s.PackLayout(); got != wantTile {
			t.Errorf("%+v: PackLayout() = %d, want %d", tt.s, got, wantTile)
		}
	}
}

// TestWino25PackLayout checks the tile choice's contract with callers that pack a layer once
// per PackLayout (the model's weight cache): PackConvWeights gives the length of that layout,
// which depends on C, O and the output size only (wino25MinArea), not on the padding.
func TestWino25PackLayout(t *testing.T) {
	for _, c := range []int{8, 16, 24, 32, 48, 300} {
		for _, o := range []int{8, 16, 32, 48, 64, 96, 128} {
			for _, oh := range []int{1, 2, 3, 4, 5, 6, 7, 9, 14, 17, 28, 35} {
				for _, ow := range []int{oh, oh + 3} {
					want := 0
					if c >= 16 && o >= 16 && oh >= 2 && ow >= 2 && oh*ow >= 36 {
						want = 2
					}
					for _, pad := range []int{0, 1, 2} {
						s := ConvShape{C: c, H: oh + 4 - 2*pad, W: ow + 4 - 2*pad, O: o, KH: 5, KW: 5, SH: 1, SW: 1,
							PadT: pad, PadL: pad, PadB: pad, PadR: pad}
						if got := s.PackLayout(); got != want {
							t.Fatalf("%+v: PackLayout() = %d, want %d", s, got, want)
						}
						wantLen := packedALen(o, c*25)
						if want != 0 {
							wantLen = s.winoPackedLen(want)
						}
						if n := len(PackConvWeights(s, make([]float32, o*c*25))); n != wantLen {
							t.Fatalf("%+v: packed %d floats, want %d", s, n, wantLen)
						}
					}
				}
			}
		}
	}
}

// TestWino25PackWeights checks the packed weights against U_e = (G g Gᵀ)_e computed with the
// matrix, at the positions packA gives A[o][c] (see TestPackConvWeights).
func TestWino25PackWeights(t *testing.T) {
	s := ConvShape{C: 300, H: 10, W: 10, O: 17, KH: 5, KW: 5, SH: 1, SW: 1} // two K blocks of 150
	if !s.wino25() {
		t.Fatalf("%+v does not run as F(2×2, 5×5)", s)
	}
	w := randSlice(newRand(5), s.O*s.C*25)
	got := PackConvWeights(s, w)
	if len(got) != s.winoPackedLen(2) {
		t.Fatalf("packed %d floats, want %d", len(got), s.winoPackedLen(2))
	}
	mp, plen, kcb := 18, s.winoPlaneLen(), gemmKCFor(s.C)
	for o := 0; o < mp; o++ {
		for c := 0; c < s.C; c++ {
			k0 := c / kcb * kcb
			at := k0*mp + o/gemmMR*gemmMR*min(kcb, s.C-k0) + (c-k0)*gemmMR + o%gemmMR
			for e := 0; e < 36; e++ {
				var want float64
				if o < s.O {
					for y := 0; y < 5; y++ {
						for x := 0; x < 5; x++ {
							want += wino25G[e/6][y] * float64(w[(o*s.C+c)*25+y*5+x]) * wino25G[e%6][x]
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

// TestWino25Kernels runs every F(2×2, 5×5) transform kernel against the reference loops of
// wino25InputF32Generic and wino25OutputF32Generic (same operations in the same order, the
// multiplies exact, so the results must be bit-identical), on NaN-guarded outputs: rows of
// 1..25 tiles (every mix of 8- and 4-tile steps), outputs of 1..40 columns, 1 and 2 rows,
// with and without ReLU, and a NaN tile that must stay NaN.
func TestWino25Kernels(t *testing.T) {
	for _, e := range isaImpls("wino25") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for n := 1; n <= 25; n++ {
				steps := (n + 3) / 4 * 4
				wq := wino25Wq(n) + n%3
				src := randSlice(newRand(uint64(n)), 12*wq)
				ve := steps + 5
				want := make([]float32, 35*ve+steps)
				wino25InputF32Generic(src, wq, want, ve, n)
				got := guarded(len(want))
				impl.wino25Input(src, wq, got, ve, n)
				checkGuard(t, "input dst", got)
				for e := 0; e < 36; e++ {
					for j := 0; j < steps; j++ {
						if g, w := got[e*ve+j], want[e*ve+j]; math.Float32bits(g) != math.Float32bits(w) {
							t.Fatalf("input n=%d: V_%d[%d] = %v, want %v", n, e, j, g, w)
						}
					}
				}
			}
			for ncols := 1; ncols <= 40; ncols++ {
				for _, nrows := range []int{1, 2} {
					for _, relu := range []bool{false, true} {
						name := fmt.Sprintf("output ncols=%d nrows=%d relu=%t", ncols, nrows, relu)
						tiles := (ncols + 7) / 8 * 4
						me := tiles + 3
						m := randSlice(newRand(uint64(ncols)), 35*me+tiles)
						m[0] = nan32 // tile 0 is NaN in every output
						ldo := ncols + 4
						want := guarded((nrows-1)*ldo + ncols)
						wino25OutputF32Generic(m, me, want, ldo, ncols, nrows, 0.25, relu)
						got := guarded(len(want))
						impl.wino25Output(m, me, got, ldo, ncols, nrows, 0.25, relu)
						checkGuard(t, name, got)
						sameBits(t, name, got, want)
					}
				}
			}
		})
	}
}

// TestWino25Sizes runs F(2×2, 5×5) on every output size 2..17 (odd sizes, each position of
// the last tile and of the last 8-tile step, maps too small for Conv2D to choose it), square
// and not, padded, unpadded and asymmetrically padded, against the float64 reference with
// every gemm implementation, and checks that threads 1..4 give the same bits, and Conv2D
// too where it chooses F(2×2, 5×5).
func TestWino25Sizes(t *testing.T) {
	for _, pads := range [][4]int{{2, 2, 2, 2}, {0, 0, 0, 0}, {1, 3, 4, 0}} {
		for n := 2; n <= 17; n++ {
			s := ConvShape{C: 16, O: 17, KH: 5, KW: 5, SH: 1, SW: 1, PadT: pads[0], PadL: pads[1], PadB: pads[2], PadR: pads[3]}
			// n×n outputs, and n×(19-n) (tall and wide).
			for _, ow := range []int{n, 19 - n} {
				s.H, s.W = n+4-s.PadT-s.PadB, ow+4-s.PadL-s.PadR
				if s.H < 1 || s.W < 1 {
					continue
				}
				t.Run(fmt.Sprintf("pad%v_out%dx%d", pads, s.OutH(), s.OutW()), func(t *testing.T) {
					r := newRand(uint64(n))
					in := randSlice(r, s.C*s.H*s.W)
					w := randSlice(r, s.O*s.C*25)
					bias := randSlice(r, s.O)
					want, tol := refConv(s, in, w, bias, true)
					for i := range tol {
						tol[i] *= wino25ErrorBound / float64(s.C*25+2) // the bound, not the direct sum's
					}
					pu := make([]float32, s.winoPackedLen(2))
					s.winoPackWeights(2, w, pu)
					for _, e := range isaImpls("gemm") {
						impl := e.fn.(isa)
						run := func(threads int) []float32 {
							out := guarded(s.O * s.OutH() * s.OutW())
							scratch := guarded(s.winoBatchScratchLen(2, 1, threads))
							winoConv(s, 2, 1, in, 0, pu, bias, out, 0, scratch, true, threads, threads, impl)
							checkGuard(t, "out", out)
							checkGuard(t, "scratch", scratch)
							return out
						}
						got := run(1)
						closeTo(t, e.name, got, want, tol)
						for threads := 2; threads <= 4; threads++ {
							if g := run(threads); !slices.Equal(g, got) {
								t.Fatalf("%s: threads=%d differs from threads=1", e.name, threads)
							}
						}
						if s.wino25() && !slices.Equal(runConv(t, s, in, w, bias, true, 2, impl), got) {
							t.Fatalf("%s: Conv2D differs from winoConv", e.name)
						}
					}
				})
			}
		}
	}
}

// wino25ErrorBound is the largest error of F(2×2, 5×5) that the tests accept, in units of
// u = 2^-24 of Σ|w·x| (TestWino25Error).
const wino25ErrorBound = 48

// TestWino25Error measures the error of F(2×2, 5×5) on the real 5×5 layers against the
// float64 reference, next to that of the direct im2col GEMM on the same data, relative to
// Σ|w·x| of each output, in units of u = 2^-24. Measured: F(2×2, 5×5) 9.0–21.4 u, direct
// 1.0–2.5 u (6–18×, as F(4×4, 3×3), whose Bᵀ this shares). The test allows
// wino25ErrorBound = 48 u, 2.2× the worst; transforms that are wrong give errors of the order
// of Σ|w·x| itself, millions of u.
func TestWino25Error(t *testing.T) {
	pad2 := func(s ConvShape) ConvShape { s.PadT, s.PadL, s.PadB, s.PadR = 2, 2, 2, 2; return s }
	shapes := []struct {
		name string
		s    ConvShape
	}{
		{"v3_Mixed_5b_5x5", pad2(ConvShape{C: 48, H: 35, W: 35, O: 64, KH: 5, KW: 5, SH: 1, SW: 1})},
		{"v1_inception_3a_5x5", pad2(ConvShape{C: 16, H: 28, W: 28, O: 32, KH: 5, KW: 5, SH: 1, SW: 1})},
		{"v1_inception_3b_5x5", pad2(ConvShape{C: 32, H: 28, W: 28, O: 96, KH: 5, KW: 5, SH: 1, SW: 1})},
		{"v1_inception_4a_5x5", pad2(ConvShape{C: 16, H: 14, W: 14, O: 48, KH: 5, KW: 5, SH: 1, SW: 1})},
		{"v1_inception_4e_5x5", pad2(ConvShape{C: 32, H: 14, W: 14, O: 128, KH: 5, KW: 5, SH: 1, SW: 1})},
		{"v1_inception_5b_5x5", pad2(ConvShape{C: 48, H: 7, W: 7, O: 128, KH: 5, KW: 5, SH: 1, SW: 1})},
	}
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		for i, sh := range shapes {
			t.Run(e.name+"/"+sh.name, func(t *testing.T) {
				s := sh.s
				r := newRand(uint64(700 + i))
				in := randSlice(r, s.C*s.H*s.W)
				w := randSlice(r, s.O*s.C*25)
				bias := randSlice(r, s.O)
				want, tol := refConv(s, in, w, bias, false)
				worst := func(got []float32) float64 { return errorU(want, tol, s.C*25, got) }
				// Through winoConv, whether or not Conv2D chooses Winograd for s.
				pu := make([]float32, s.winoPackedLen(2))
				s.winoPackWeights(2, w, pu)
				got := make([]float32, len(want))
				winoConv(s, 2, 1, in, 0, pu, bias, got, 0, make([]float32, s.winoBatchScratchLen(2, 1, 2)), false, 2, 2, impl)
				ew, ed := worst(got), worst(directConv(s, in, w, bias, impl))
				t.Logf("max |error| / Σ|w·x|: F(2×2,5×5) %.1f u, direct %.1f u (%.1f×); runs as Winograd: %t", ew, ed, ew/ed, s.wino25())
				if !(ew <= wino25ErrorBound) {
					t.Errorf("F(2×2,5×5) error %.1f u exceeds %d u", ew, wino25ErrorBound)
				}
				if s.wino25() {
					if def := runConv(t, s, in, w, bias, false, 2, impl); !slices.Equal(got, def) {
						t.Error("Conv2D differs from winoConv")
					}
				}
			})
		}
	}
}

// TestWino25Plans checks that the F(2×2, 5×5) shapes of convTests exercise what they are
// named after: F(2×2, 5×5), and for wino25_chunks several chunks and the chunked parallel plan.
func TestWino25Plans(t *testing.T) {
	for _, tt := range convTests {
		if !strings.HasPrefix(tt.name, "wino25_") {
			continue
		}
		if !tt.s.wino25() {
			t.Errorf("%s: does not run as F(2×2, 5×5)", tt.name)
		}
		if tt.name != "wino25_chunks" {
			continue
		}
		p := tt.s.winoPlan(2)
		if chunks := (p.th + p.rows - 1) / p.rows; chunks < 3 {
			t.Errorf("%s: %d chunks, want >= 3", tt.name, chunks)
		}
		if _, ok := tt.s.winoChunkedPlan(p, 2); !ok {
			t.Errorf("%s: no chunked plan for 2 workers", tt.name)
		}
	}
	// Maps too small for two 64-tile chunks per worker run one chunk per worker from 16 tiles
	// (wino25MinChunkTiles): convTests' 28×28 and 14×14 layers, not the 7×7 one.
	for _, tt := range []struct {
		s      ConvShape
		chunks int // of 2 workers' plan, 0 for none
	}{
		{ConvShape{C: 16, H: 28, W: 28, O: 32, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}, 2},
		{ConvShape{C: 24, H: 14, W: 14, O: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}, 2},
		{ConvShape{C: 48, H: 7, W: 7, O: 128, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}, 0},
	} {
		p := tt.s.winoPlan(2)
		q, ok := tt.s.winoChunkedPlan(p, 2)
		chunks := 0
		if ok {
			chunks = (q.trows() + q.rows - 1) / q.rows
		}
		if chunks != tt.chunks {
			t.Errorf("%+v: %d chunks for 2 workers, want %d", tt.s, chunks, tt.chunks)
		}
	}
	if s := (ConvShape{C: 16, H: 24, W: 24, O: 32, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadB: 2, PadL: 2, PadR: 2}); !s.winoBatch(3) {
		t.Errorf("wino25_batch_split: winoBatch(3) = false, want true")
	}
}
