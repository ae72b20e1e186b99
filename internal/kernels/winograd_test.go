package kernels

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// TestWinogradChosen pins which shapes run as Winograd, and with which tile.
func TestWinogradChosen(t *testing.T) {
	tests := []struct {
		s    ConvShape
		want int // winoTile
	}{
		{ConvShape{C: 64, H: 56, W: 56, O: 192, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, 4},
		{ConvShape{C: 80, H: 73, W: 73, O: 192, KH: 3, KW: 3, SH: 1, SW: 1}, 4},
		{ConvShape{C: 32, H: 147, W: 147, O: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, 4},
		{ConvShape{C: 96, H: 35, W: 35, O: 96, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, 4},
		{ConvShape{C: 448, H: 8, W: 8, O: 384, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, 2}, // C·O > 32768
		{ConvShape{C: 32, H: 149, W: 149, O: 32, KH: 3, KW: 3, SH: 1, SW: 1}, 4},                                   // v3 Conv2d_2a
		{ConvShape{C: 16, H: 28, W: 28, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, 2}, // C·O < 1024
		{ConvShape{C: 64, H: 147, W: 147, O: 96, KH: 3, KW: 3, SH: 2, SW: 2}, 0},                                   // stride 2
		{ConvShape{C: 3, H: 299, W: 299, O: 32, KH: 3, KW: 3, SH: 1, SW: 1}, 0},                                    // C < 16
		{ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}, 2},                 // F(2, 7)
		{ConvShape{C: 32, H: 1, W: 9, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadL: 1, PadR: 1}, 0},                     // 1 output row
	}
	for _, tt := range tests {
		if got := tt.s.winoTile(); got != tt.want {
			t.Errorf("%+v: winoTile() = %d, want %d", tt.s, got, tt.want)
		}
		if got := tt.s.winograd(); got != (tt.want != 0) {
			t.Errorf("%+v: winograd() = %t, want %t", tt.s, got, tt.want != 0)
		}
	}
}

// TestPackLayout checks the tile choice's contract with callers that pack a layer once per
// PackLayout (the model's weight cache): PackConvWeights gives the length of that layout;
// for C·O up to wino43MaxCO the tile never depends on the map; above it, F(4×4) exactly from
// 17×17 outputs. The padding never matters.
func TestPackLayout(t *testing.T) {
	for _, c := range []int{16, 24, 32, 48, 64, 96, 128, 160, 192, 256, 448} {
		for _, o := range []int{16, 32, 48, 64, 96, 128, 192, 208, 256, 320, 384} {
			tile := 0
			for _, hw := range []int{2, 3, 4, 5, 7, 8, 9, 14, 17, 35, 73, 147} {
				for _, pad := range []int{0, 1} {
					s := ConvShape{C: c, H: hw, W: hw + 1, O: o, KH: 3, KW: 3, SH: 1, SW: 1, PadT: pad, PadL: pad, PadB: pad, PadR: pad}
					got := s.PackLayout()
					if got == 0 {
						continue
					}
					if n := len(PackConvWeights(s, make([]float32, o*c*9))); n != s.winoPackedLen(got) {
						t.Fatalf("C=%d O=%d: packed %d floats, want %d", c, o, n, s.winoPackedLen(got))
					}
					if c*o > wino43MaxCO {
						want := 2
						if c*o >= wino43MinCO && s.OutH()*s.OutW() >= wino43MinArea {
							want = 4
						}
						if got != want {
							t.Fatalf("C=%d O=%d at %d×%d out: tile %d, want %d", c, o, s.OutH(), s.OutW(), got, want)
						}
						continue
					}
					if tile != 0 && got != tile {
						t.Fatalf("C=%d O=%d: PackLayout() is %d at %d×%d pad %d, %d elsewhere", c, o, got, hw, hw+1, pad, tile)
					}
					tile = got
				}
			}
		}
	}
}

// TestWinogradError measures the error of both Winograd tiles on real layer shapes
// (channels cut where the float64 reference would be slow) against the float64 reference,
// next to that of the direct im2col GEMM on the same data, all relative to Σ|w·x| of each
// output, in units of u = 2^-24. Measured: F(2×2) 1.1–1.6 u, direct 0.5–2.2 u (the
// transforms add and subtract at most 4 terms per stage, and G's ½s are exact); F(4×4)
// 19–40 u, 11–29× F(2×2) (its transforms weigh terms by up to 8 (Aᵀ) and 25 (Bᵀ d B)). The test
// allows 16 u for F(2×2) and 64 u for F(4×4), 4× that, i.e. 4e-6 of Σ|w·x| per layer, still
// far inside the 1e-3 logit parity; the default path must give the chosen tile's result.
func TestWinogradError(t *testing.T) {
	shapes := []struct {
		name string
		s    ConvShape
	}{
		{"v1_conv2_3x3_narrow", ConvShape{C: 64, H: 28, W: 28, O: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_Conv2d_2a_3x3_crop", ConvShape{C: 32, H: 39, W: 39, O: 32, KH: 3, KW: 3, SH: 1, SW: 1}},
		{"irv2_block35_3x3", ConvShape{C: 32, H: 35, W: 35, O: 48, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_Conv2d_2b_3x3_crop", ConvShape{C: 32, H: 37, W: 37, O: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_Conv2d_4a_3x3_crop", ConvShape{C: 80, H: 23, W: 23, O: 192, KH: 3, KW: 3, SH: 1, SW: 1}},
		{"v3_Mixed_5b_3x3dbl", ConvShape{C: 96, H: 35, W: 35, O: 96, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v1_inception4c_3x3", ConvShape{C: 128, H: 14, W: 14, O: 256, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_Mixed_7b_3x3", ConvShape{C: 448, H: 8, W: 8, O: 384, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	}
	bounds := map[int]float64{2: 16, 4: 64}
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
				worst := func(got []float32) float64 { return errorU(want, tol, s.C*9, got) }
				def := runConv(t, s, in, w, bias, false, 2, impl)
				errs := map[int]float64{}
				for _, tile := range []int{2, 4} {
					pu := make([]float32, s.winoPackedLen(tile))
					s.winoPackWeights(tile, w, pu)
					got := make([]float32, len(want))
					winoConv(s, tile, 1, in, 0, pu, bias, got, 0, make([]float32, s.winoBatchScratchLen(tile, 1, 2)), false, 2, 2, impl)
					errs[tile] = worst(got)
					if tile == s.winoTile() && !slices.Equal(got, def) {
						t.Errorf("Conv2D differs from F(%d×%d)", tile, tile)
					}
				}
				t.Logf("max |error| / Σ|w·x|: F(2×2) %.1f u, F(4×4) %.1f u (%.0f×), direct %.1f u (the worst-case bound (k+2)u is %.0f u); runs F(%d×%d)",
					errs[2], errs[4], errs[4]/errs[2], worst(directConv(s, in, w, bias, impl)), float64(s.C*9+2), s.winoTile(), s.winoTile())
				for tile, b := range bounds {
					if !(errs[tile] <= b) {
						t.Errorf("F(%d×%d) error %.1f u exceeds %.0f u", tile, tile, errs[tile], b)
					}
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
			checkWinoTransforms(t, 2, impl.wino23Input, wino23InputF32Generic, impl.wino23Output, wino23OutputF32Generic, 40, []int{1, 2})
		})
	}
}

// checkWinoTransforms compares the input and output transforms of F(tile×tile, 3×3) with their
// reference loops, bit for bit: inputs of 1..25 tiles (every row of 1..20 tiles, so every mix
// of 8- and 4-tile steps), outputs of 1..maxCols columns and the given
// row counts, with and without ReLU, NaN guards around every output and a NaN tile that must stay NaN.
func checkWinoTransforms(t *testing.T, tile int,
	input, inputRef func(src []float32, wp int, dst []float32, ve, n int),
	output, outputRef func(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool),
	maxCols int, rows []int) {
	t.Helper()
	a := tile + 2     // input tile side
	elems := a * a    // transformed elements per tile
	group := 4 * tile // output columns per 4-tile step
	for n := 1; n <= 25; n++ {
		steps := (n + 3) / 4 * 4 // the tiles written: the guard catches any past them
		wp := tile*steps + tile + n%3
		src := randSlice(newRand(uint64(n)), a*wp)
		ve := steps + 5
		want := make([]float32, (elems-1)*ve+steps)
		inputRef(src, wp, want, ve, n)
		got := guarded((elems-1)*ve + steps)
		input(src, wp, got, ve, n)
		checkGuard(t, "input dst", got)
		for e := 0; e < elems; e++ {
			for j := 0; j < steps; j++ {
				if g, w := got[e*ve+j], want[e*ve+j]; math.Float32bits(g) != math.Float32bits(w) {
					t.Fatalf("input n=%d: V_%d[%d] = %v, want %v", n, e, j, g, w)
				}
			}
		}
	}
	for ncols := 1; ncols <= maxCols; ncols++ {
		for _, nrows := range rows {
			for _, relu := range []bool{false, true} {
				name := fmt.Sprintf("output ncols=%d nrows=%d relu=%t", ncols, nrows, relu)
				me := (ncols+group-1)/group*4 + 3
				m := randSlice(newRand(uint64(ncols)), (elems-1)*me+(ncols+group-1)/group*4)
				m[0] = nan32 // tile 0 is NaN in every output
				ldo := ncols + 4
				want := guarded((nrows-1)*ldo + ncols)
				outputRef(m, me, want, ldo, ncols, nrows, 0.25, relu)
				got := guarded((nrows-1)*ldo + ncols)
				output(m, me, got, ldo, ncols, nrows, 0.25, relu)
				checkGuard(t, name, got)
				sameBits(t, name, got, want)
			}
		}
	}
}

// TestWinoPackWeights checks the packed weights of both Winograd tiles against
// U_e = (G g Gᵀ)_e computed with the matrices, at the positions packA gives A[o][c] (see
// TestPackConvWeights), and that PackConvWeights packs for s.winoTile().
func TestWinoPackWeights(t *testing.T) {
	s := ConvShape{C: 300, H: 6, W: 6, O: 17, KH: 3, KW: 3, SH: 1, SW: 1} // two K blocks of 150
	w := randSlice(newRand(5), s.O*s.C*9)
	Gs := map[int][][3]float64{
		2: {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
		4: {{0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
			{1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}},
	}
	for _, tile := range []int{2, 4} {
		got := make([]float32, s.winoPackedLen(tile))
		s.winoPackWeights(tile, w, got)
		if tile == s.winoTile() {
			if p := PackConvWeights(s, w); !slices.Equal(p, got) {
				t.Fatalf("PackConvWeights differs from winoPackWeights(%d)", tile)
			}
		}
		G, a := Gs[tile], tile+2
		mp, plen, kcb := 18, s.winoPlaneLen(), gemmKCFor(s.C)
		for o := 0; o < mp; o++ {
			for c := 0; c < s.C; c++ {
				k0 := c / kcb * kcb
				at := k0*mp + o/gemmMR*gemmMR*min(kcb, s.C-k0) + (c-k0)*gemmMR + o%gemmMR
				for e := 0; e < a*a; e++ {
					var want float64
					if o < s.O {
						for y := 0; y < 3; y++ {
							for x := 0; x < 3; x++ {
								want += G[e/a][y] * float64(w[(o*s.C+c)*9+y*3+x]) * G[e%a][x]
							}
						}
					}
					if g := got[e*plen+at]; math.Abs(float64(g)-want) > 1e-6 {
						t.Fatalf("F(%d): U_%d[%d][%d] = %v, want %v", tile, e, o, c, g, want)
					}
				}
			}
		}
	}
}

// TestWino43Kernels runs every F(4×4, 3×3) transform kernel against the reference loops of
// wino43InputF32Generic and wino43OutputF32Generic (same operations in the same order, the
// multiplies exact, so the results must be bit-identical), on NaN-guarded outputs.
func TestWino43Kernels(t *testing.T) {
	for _, e := range isaImpls("wino43") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			checkWinoTransforms(t, 4, impl.wino43Input, wino43InputF32Generic, impl.wino43Output, wino43OutputF32Generic, 80, []int{1, 2, 3, 4})
		})
	}
}

// TestWino43Plans checks that the F(4×4) shapes of convTests exercise what they are named
// after: F(4×4), and for wino43_3_chunks several chunks and the chunked parallel plan.
func TestWino43Plans(t *testing.T) {
	for _, tt := range convTests {
		if !strings.HasPrefix(tt.name, "wino43_") {
			continue
		}
		if tile := tt.s.winoTile(); tile != 4 {
			t.Errorf("%s: winoTile() = %d, want 4", tt.name, tile)
		}
		if tt.name != "wino43_3_chunks" {
			continue
		}
		p := tt.s.winoPlan(4)
		if chunks := (p.th + p.rows - 1) / p.rows; chunks < 3 {
			t.Errorf("%s: %d chunks, want >= 3", tt.name, chunks)
		}
		if _, ok := tt.s.winoChunkedPlan(p, 2); !ok {
			t.Errorf("%s: no chunked plan for 2 workers", tt.name)
		}
	}
}

// errorU returns the largest error of got against refConv's want, relative to the output's
// Σ|w·x| (recovered from refConv's tolerance tol for k terms per output), in units of u.
func errorU(want, tol []float64, k int, got []float32) (m float64) {
	for j := range want {
		sumAbs := tol[j] / ((float64(k) + 2) * u32)
		m = max(m, math.Abs(float64(got[j])-want[j])/sumAbs/u32)
	}
	return m
}

// sameBits reports the first element where got and want differ in bits (NaNs of any
// payload agree), and a got[0] that is not NaN (the tests put a NaN there).
func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for j := range got {
		if g, w := got[j], want[j]; math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Fatalf("%s: out[%d] = %v, want %v", name, j, g, w)
		}
	}
	if got[0] == got[0] {
		t.Fatalf("%s: out[0] = %v, want NaN", name, got[0])
	}
}

// TestWinoOverlay checks the overlaid layout of V and M (overlay) on every Winograd shape of convTests
// and on real layers with more input than output channels and the reverse, for one image and batches:
// carve's on one worker, and that of each worker of winoConvChunked on two, within the scratch
// BatchScratchLen gives; M_e clear of V_e, V_e+1, … for every e, which the GEMMs' order on a worker
// (e = 0, 1, …) needs. The convolutions' results on such layouts are checked bit for bit by
// TestConv2D, TestConv2DPackedBatch and TestConv2DPackedBands.
func TestWinoOverlay(t *testing.T) {
	shapes := map[string]ConvShape{
		"v1_conv2_3x3":            {C: 64, H: 56, W: 56, O: 192, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		"v3_Conv2d_4a_3x3":        {C: 80, H: 73, W: 73, O: 192, KH: 3, KW: 3, SH: 1, SW: 1},
		"v3_Mixed_7b_3x3":         {C: 448, H: 8, W: 8, O: 384, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		"irv2_block8_3x1_wide_in": {C: 224, H: 8, W: 8, O: 20, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		"v4_Mixed_6b_7x1":         {C: 224, H: 17, W: 17, O: 128, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3},
	}
	for _, tt := range convTests {
		shapes[tt.name] = tt.s
	}
	check := func(t *testing.T, what string, p winoPlan, v, m []float32, base uintptr) {
		t.Helper()
		if len(v) < p.ne*p.ve || len(m) < p.ne*p.me {
			t.Fatalf("%s: V or M short of %d planes", what, p.ne)
		}
		for e := 0; e < p.ne; e++ {
			m0 := addr(m[e*p.me:]) - base
			m1 := m0 + 4*uintptr(p.me)
			for f := e; f < p.ne; f++ {
				v0 := addr(v[f*p.ve:]) - base
				if v1 := v0 + 4*uintptr(p.ve); m0 < v1 && v0 < m1 {
					t.Fatalf("%s: M_%d overlaps V_%d, read after it is written", what, e, f)
				}
			}
		}
	}
	var wider, narrower, chunked bool // V planes larger than M's, and the reverse; a chunked plan
	for name, s := range shapes {
		t.Run(name, func(t *testing.T) {
			tile := s.winoTile()
			if tile == 0 {
				return
			}
			for _, n := range []int{1, 3} {
				if n > 1 && !s.winoBatch(n) {
					continue
				}
				scratch := make([]float32, s.BatchScratchLen(n, 1))
				w := winoConvState{s: s, p: s.winoBatchPlan(tile, n)}
				w.carve(scratch, 1, false)
				wider, narrower = wider || w.ve > w.me, narrower || w.ve < w.me
				check(t, fmt.Sprintf("n=%d", n), w.p, w.v, w.m, addr(scratch))

				scratch = make([]float32, s.BatchScratchLen(n, 2))
				w = winoConvState{s: s, p: s.winoBatchPlan(tile, n)}
				area := w.carve(scratch, 2, false)
				q, ok := s.winoChunkedPlan(w.p, 2)
				if !ok {
					continue
				}
				chunked = true
				part := q.vmLen()
				for k := 0; k < 2; k++ {
					v, m := q.overlay(area[:2*part][k*part : (k+1)*part])
					check(t, fmt.Sprintf("n=%d, two workers: worker %d", n, k), q, v, m, addr(scratch))
				}
			}
		})
	}
	if !wider || !narrower || !chunked {
		t.Errorf("shapes cover V planes larger than M's: %t, smaller: %t, a chunked plan: %t; want all", wider, narrower, chunked)
	}
}

func addr(s []float32) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s))) }

// TestFewTiles: a 3×3 or 5×5 Winograd convolution with FewTiles set runs in chunks of at least
// winoFewTiles tiles (or the whole map), never more rows than the default, and gives the default's
// bits on one and two threads and band by band, within BatchScratchLen (guarded), which is never
// larger than the default's and on one thread at most 60% of it for v1's conv2 and inception_3b 3×3,
// whose two-thread scratch is then at most 1.25 times the one-thread's.
func TestFewTiles(t *testing.T) {
	shapes := []struct {
		name string
		s    ConvShape
		// One thread's scratch at most 60% of the default's, and two threads' at most 1.25 times one
		// thread's: one thread's chunk split among the workers (winoChunkedPlan).
		shrink bool
	}{
		{"v1_conv2_3x3", ConvShape{C: 64, H: 56, W: 56, O: 192, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, true},
		{"v1_inception3b_3x3", ConvShape{C: 128, H: 28, W: 28, O: 192, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, true},
		{"v1_bvlc_inception_3b_5x5", ConvShape{C: 32, H: 28, W: 28, O: 96, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}, false},
		{"v3_4a_3x3", ConvShape{C: 80, H: 73, W: 73, O: 192, KH: 3, KW: 3, SH: 1, SW: 1}, false},
		{"f23_3x3", ConvShape{C: 16, H: 60, W: 50, O: 20, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, false},
	}
	impl := gemmActive
	for i, tt := range shapes {
		t.Run(tt.name, func(t *testing.T) {
			s, few := tt.s, tt.s
			few.FewTiles = true
			tile := s.winoTile()
			p, q := s.winoPlan(tile), few.winoPlan(tile)
			if q.rows > p.rows || q.rows < q.trows() && q.rows*q.tw < winoFewTiles {
				t.Fatalf("chunks of %d tile rows of %d tiles (default %d rows), want >= %d tiles", q.rows, q.tw, p.rows, winoFewTiles)
			}
			if tt.shrink && 10*few.batchScratchLen(1, 1, impl) > 6*s.batchScratchLen(1, 1, impl) {
				t.Errorf("one thread's scratch %d floats, default %d: want at most 60%%", few.batchScratchLen(1, 1, impl), s.batchScratchLen(1, 1, impl))
			}
			if one, two := few.batchScratchLen(1, 1, impl), few.batchScratchLen(1, 2, impl); tt.shrink && 4*two > 5*one {
				t.Errorf("two threads' scratch %d floats, one thread's %d: want at most 1.25 times", two, one)
			}
			in, pw, bias, want := convCase(s, uint64(900+i), impl)
			for _, threads := range []int{1, 2} {
				if n, d := few.batchScratchLen(1, threads, impl), s.batchScratchLen(1, threads, impl); n > d {
					t.Errorf("%d threads: scratch of %d floats, default %d", threads, n, d)
				}
				checkPackedConv(t, fmt.Sprintf("%d threads, against the default chunks", threads), few, in, pw, bias, want, threads, impl)
			}
			rows := few.BandRows(1)
			if rows >= s.OutH() {
				return
			}
			plane := rows * s.OutW()
			c := newBandCheck(t, s, want, plane, 0, rows)
			scratch := guarded(few.batchScratchLen(1, 1, impl))
			conv2DBands(few, in, pw, bias, c.band, plane, 0, scratch, true, c, 1, 1, impl)
			checkGuard(t, "band scratch", scratch)
			if c.failed.Load() || c.next != s.OutH() {
				t.Fatalf("bands end at row %d of %d", c.next, s.OutH())
			}
		})
	}
}
