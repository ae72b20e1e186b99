package kernels

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestWino27Chosen pins which shapes run as F(2, 7).
func TestWino27Chosen(t *testing.T) {
	tests := []struct {
		s    ConvShape
		want bool
	}{
		{ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}, true},
		{ConvShape{C: 224, H: 17, W: 17, O: 256, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}, true},
		{ConvShape{C: 64, H: 73, W: 73, O: 64, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}, false},   // v4 stem: C, O < 128
		{ConvShape{C: 128, H: 1, W: 1, O: 128, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}, true},    // any map size
		{ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1}, true},                    // unpadded
		{ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadT: 1, PadL: 3}, false}, // padded across
		{ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 7, KW: 1, SH: 1, SW: 1, PadL: 1, PadT: 3}, false},
		{ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 2, PadL: 3, PadR: 3}, false}, // stride 2
		{ConvShape{C: 96, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}, false},  // C < 128
		{ConvShape{C: 128, H: 17, W: 17, O: 96, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}, false},  // O < 128
		{ConvShape{C: 384, H: 8, W: 8, O: 384, KH: 1, KW: 3, SH: 1, SW: 1, PadL: 1, PadR: 1}, false},
		{ConvShape{C: 64, H: 35, W: 35, O: 64, KH: 7, KW: 7, SH: 1, SW: 1, PadT: 3, PadL: 3, PadB: 3, PadR: 3}, false},
	}
	for _, tt := range tests {
		if got := tt.s.wino27(); got != tt.want {
			t.Errorf("%+v: wino27() = %t, want %t", tt.s, got, tt.want)
		}
		if got := tt.s.Winograd(); got != tt.want {
			t.Errorf("%+v: Winograd() = %t, want %t", tt.s, got, tt.want)
		}
	}
}

// TestWino27IgnoresMapSize checks, as TestWinoTileIgnoresMapSize does for 3×3, that whether
// a 1×7 or 7×1 layer runs as F(2, 7), and its packing, depend on C, O and the padding only.
func TestWino27IgnoresMapSize(t *testing.T) {
	for _, kh := range []int{1, 7} {
		for _, c := range []int{16, 64, 96, 128, 192, 320} {
			for _, o := range []int{16, 64, 128, 160, 256} {
				for _, pad := range []int{0, 3} {
					var want, first = false, true
					for _, hw := range []int{1, 2, 3, 7, 8, 9, 17, 35, 73} {
						s := ConvShape{C: c, H: hw, W: hw + 1, O: o, KH: kh, KW: 8 - kh, SH: 1, SW: 1}
						if kh == 7 {
							s.PadT, s.PadB = pad, pad
						} else {
							s.PadL, s.PadR = pad, pad
						}
						if s.OutH() < 1 || s.OutW() < 1 {
							continue
						}
						got := s.Winograd()
						if !first && got != want {
							t.Fatalf("%+v: Winograd() = %t, %t at other sizes", s, got, want)
						}
						want, first = got, false
						wantLen := packedALen(o, c*7)
						if got {
							wantLen = s.wino27PackedLen()
						}
						if n := len(PackConvWeights(s, make([]float32, o*c*7))); n != wantLen {
							t.Fatalf("%+v: packed %d floats, want %d", s, n, wantLen)
						}
					}
				}
			}
		}
	}
}

// TestWino27Sizes runs F(2, 7) on every output length 1..17 along the kernel's axis (maps
// narrower than a tile, odd lengths, each position of the last tile and 8-tile step), 1 to
// 3 wide across it, padded, unpadded and asymmetrically padded, against the float64
// reference with every gemm implementation, and checks that threads 1..4 give the same bits.
func TestWino27Sizes(t *testing.T) {
	defer func(v int64) { parallelMinMACs = v }(parallelMinMACs)
	parallelMinMACs = 0
	for _, vertical := range []bool{false, true} {
		for _, pads := range [][2]int{{3, 3}, {0, 0}, {1, 5}} {
			for n := 1; n <= 17; n++ {
				for _, across := range []int{1, 3} {
					along := n + 6 - pads[0] - pads[1] // input length giving n outputs
					if along < 1 {
						continue
					}
					s := ConvShape{C: 128, H: across, W: along, O: 130, KH: 1, KW: 7, SH: 1, SW: 1, PadL: pads[0], PadR: pads[1]}
					if vertical {
						s = ConvShape{C: 128, H: along, W: across, O: 130, KH: 7, KW: 1, SH: 1, SW: 1, PadT: pads[0], PadB: pads[1]}
					}
					t.Run(fmt.Sprintf("%dx%d_pad%d,%d_out%dx%d", s.KH, s.KW, pads[0], pads[1], s.OutH(), s.OutW()), func(t *testing.T) {
						if !s.wino27() {
							t.Fatalf("%+v does not run as F(2, 7)", s)
						}
						r := newRand(uint64(n))
						in := randSlice(r, s.C*s.H*s.W)
						w := randSlice(r, s.O*s.C*7)
						bias := randSlice(r, s.O)
						want, tol := refConv(s, in, w, bias, true)
						for _, e := range isaImpls("gemm") {
							impl := e.fn.(isa)
							got := runConv(t, s, in, w, bias, true, 1, impl)
							closeTo(t, e.name, got, want, tol)
							for threads := 2; threads <= 4; threads++ {
								if g := runConv(t, s, in, w, bias, true, threads, impl); !slices.Equal(g, got) {
									t.Fatalf("%s: threads=%d differs from threads=1", e.name, threads)
								}
							}
						}
					})
				}
			}
		}
	}
}

// TestWino27Kernels runs every F(2, 7) transform kernel against the reference loops of
// wino27InputF32Generic, wino27OutputRowsF32Generic and wino27OutputZipF32Generic (same
// operations in the same order, so the results must be bit-identical), on NaN-guarded
// outputs: rows of 1..25 tiles, 1..3 rows, with the strides of both orientations.
func TestWino27Kernels(t *testing.T) {
	for _, e := range isaImpls("wino27") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for n := 1; n <= 25; n++ {
				steps := (n + 3) / 4 * 4
				for rows := 1; rows <= 3; rows++ {
					// 7×1 (one sweep: s2 is a row, s1 the odd plane), 1×7 (rows of two halves).
					for _, str := range [][3]int{{rows*n + 40, n + 2, 0}, {steps + 3, 1, 2*steps + 6}} {
						s1, s2, ss := str[0], str[1], str[2]
						src := randSlice(newRand(uint64(n)), (rows-1)*ss+s1+3*s2+steps)
						ve := rows*n + steps + 5
						want := make([]float32, 7*ve+(rows-1)*n+steps)
						wino27InputF32Generic(src, s1, s2, ss, want, ve, n, rows)
						got := guarded(len(want))
						impl.wino27Input(src, s1, s2, ss, got, ve, n, rows)
						checkGuard(t, "input dst", got)
						for j := range want {
							if j%ve < (rows-1)*n+steps && math.Float32bits(got[j]) != math.Float32bits(want[j]) {
								t.Fatalf("input n=%d rows=%d s2=%d: V_%d[%d] = %v, want %v", n, rows, s2, j/ve, j%ve, got[j], want[j])
							}
						}
					}
				}
			}
			for ncols := 1; ncols <= 40; ncols++ {
				for _, relu := range []bool{false, true} {
					for ntr := 1; ntr <= 3; ntr++ {
						me := ntr*ncols + 19
						m := randSlice(newRand(uint64(ncols)), 7*me+ntr*ncols+16)
						m[0] = nan32 // tile 0 is NaN in every output
						ldo := ncols + 4
						for _, nrows := range []int{1, 2} {
							name := fmt.Sprintf("rows ncols=%d nrows=%d ntr=%d relu=%t", ncols, nrows, ntr, relu)
							want := guarded((2*ntr-3+nrows)*ldo + ncols)
							wino27OutputRowsF32Generic(m, me, want, ldo, ncols, nrows, ntr, 0.25, relu)
							got := guarded(len(want))
							impl.wino27OutputRows(m, me, got, ldo, ncols, nrows, ntr, 0.25, relu)
							checkGuard(t, name, got)
							sameBits(t, name, got, want)
						}
						name := fmt.Sprintf("zip ncols=%d rows=%d relu=%t", ncols, ntr, relu)
						want := guarded((ntr-1)*ldo + ncols)
						wino27OutputZipF32Generic(m, me, want, ldo, ncols, ntr, -0.25, relu)
						got := guarded(len(want))
						impl.wino27OutputZip(m, me, got, ldo, ncols, ntr, -0.25, relu)
						checkGuard(t, name, got)
						sameBits(t, name, got, want)
					}
				}
			}
		})
	}
}

// TestWino27Error measures the error of F(2, 7) on the real 1×7 and 7×1 layers (channels cut
// where the float64 reference would be slow) against the float64 reference, next to that of
// the direct im2col GEMM, relative to Σ|w·x| of each output, in units of u = 2^-24.
// Measured: F(2, 7) 5.5–7.8 u, direct 0.8–2.0 u (Bᵀ weighs terms by up to 21/4, and G's
// rows span 1/90..64/90). The test allows 32 u, 4× that, half the 64 u of F(4×4, 3×3).
func TestWino27Error(t *testing.T) {
	shapes := []struct {
		name string
		s    ConvShape
	}{
		{"v3_Mixed_6b_1x7", ConvShape{C: 128, H: 17, W: 17, O: 128, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
		{"v3_Mixed_6b_7x1", ConvShape{C: 128, H: 17, W: 17, O: 192, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
		{"v4_Mixed_6b_1x7", ConvShape{C: 192, H: 17, W: 17, O: 224, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
		{"v4_Mixed_6b_7x1", ConvShape{C: 224, H: 17, W: 17, O: 256, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
		{"irv2_block17_1x7", ConvShape{C: 128, H: 17, W: 17, O: 160, KH: 1, KW: 7, SH: 1, SW: 1, PadL: 3, PadR: 3}},
		{"v4_Mixed_7a_7x1_narrow", ConvShape{C: 256, H: 17, W: 17, O: 128, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3}},
	}
	const bound = 32
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		for i, sh := range shapes {
			t.Run(e.name+"/"+sh.name, func(t *testing.T) {
				s := sh.s
				if !s.wino27() {
					t.Fatalf("%+v does not run as F(2, 7)", s)
				}
				r := newRand(uint64(500 + i))
				in := randSlice(r, s.C*s.H*s.W)
				w := randSlice(r, s.O*s.C*7)
				bias := randSlice(r, s.O)
				want, tol := refConv(s, in, w, bias, false)
				worst := func(got []float32) float64 { return errorU(want, tol, s.C*7, got) }
				got := runConv(t, s, in, w, bias, false, 2, impl)
				ew, ed := worst(got), worst(directConv(s, in, w, bias, impl))
				t.Logf("max |error| / Σ|w·x|: F(2,7) %.1f u, direct %.1f u (%.1f×)", ew, ed, ew/ed)
				if !(ew <= bound) {
					t.Errorf("F(2,7) error %.1f u exceeds %d u", ew, bound)
				}
			})
		}
	}
}

// TestWino27Split runs every row splitter against wino27SplitF32Generic: rows of 1..40
// elements, both parities of the halves' offsets, NaN guards around the rows.
func TestWino27Split(t *testing.T) {
	for _, e := range isaImpls("wino27") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for w := 1; w <= 40; w++ {
				for _, rows := range []int{1, 3} {
					for _, off := range [][2]int{{1, w/2 + 5}, {w/2 + 4, 2}} {
						ldd := w + 9
						src := randSlice(newRand(uint64(w)), rows*w)
						want := guarded((rows-1)*ldd + max(off[0]+(w+1)/2, off[1]+w/2))
						wino27SplitF32Generic(want, ldd, off[0], off[1], src, w, rows)
						got := guarded(len(want))
						impl.wino27Split(got, ldd, off[0], off[1], src, w, rows)
						checkGuard(t, "dst", got)
						for j := range got {
							if g, v := got[j], want[j]; math.Float32bits(g) != math.Float32bits(v) && !(g != g && v != v) {
								t.Fatalf("w=%d rows=%d off=%v: dst[%d] = %v, want %v", w, rows, off, j, g, v)
							}
						}
					}
				}
			}
		})
	}
}

// TestWino27Plans checks that the F(2, 7) shapes of convTests exercise what they are named
// after: F(2, 7), and for the _chunks ones several chunks and the chunked parallel plan.
func TestWino27Plans(t *testing.T) {
	for _, tt := range convTests {
		if !strings.HasPrefix(tt.name, "wino27_") {
			continue
		}
		if !tt.s.wino27() {
			t.Errorf("%s: does not run as F(2, 7)", tt.name)
		}
		if !strings.HasSuffix(tt.name, "_chunks") {
			continue
		}
		p := tt.s.winoPlan(2)
		if chunks := (p.th + p.rows - 1) / p.rows; chunks < 2 {
			t.Errorf("%s: %d chunks, want >= 2", tt.name, chunks)
		}
		for workers := 2; workers <= 3; workers++ {
			if _, ok := tt.s.winoChunkedPlan(p, workers); !ok {
				t.Errorf("%s: no chunked plan for %d workers", tt.name, workers)
			}
		}
	}
}
