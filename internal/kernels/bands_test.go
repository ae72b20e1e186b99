package kernels

import (
	"fmt"
	"math"
	"sync/atomic"
	"testing"
)

// bandCheck is a BandSink that checks each band against the whole output: its first phase (one
// unit) checks the band's place and marks its rows done, its second (a unit per channel) compares
// the channel's rows and clears them, as a caller may change the buffer. Its phases may run on
// helper goroutines, so it reports with Errorf.
type bandCheck struct {
	t          *testing.T
	s          ConvShape
	want, band []float32
	plane      int
	skip       int
	units      []int
	next, max  int // the first row of the next band; the most rows in one
	seen       atomic.Int64
	failed     atomic.Bool
}

const bandSentinel = float32(-12345.5)

func newBandCheck(t *testing.T, s ConvShape, want []float32, plane, skip, max int) *bandCheck {
	c := &bandCheck{t: t, s: s, want: want, band: guarded(s.O * plane), plane: plane, skip: skip, max: max,
		units: []int{1, s.O}}
	for o := 0; o < s.O; o++ {
		clear(c.band[o*plane : (o+1)*plane])
		for j := 0; j < skip*s.OutW(); j++ {
			c.band[o*plane+j] = bandSentinel
		}
	}
	return c
}

func (c *bandCheck) Units() []int { return c.units }

func (c *bandCheck) fail(format string, args ...any) {
	if !c.failed.Swap(true) { // the first failure only
		c.t.Errorf(format, args...)
	}
}

func (c *bandCheck) Band(ph, y0, y1, lo, hi, _ int) {
	ow, oh := c.s.OutW(), c.s.OutH()
	if ph == 0 {
		if lo != 0 || hi != 1 || y0 != c.next || y1 <= y0 || y1 > oh || y1-y0 > c.max {
			c.fail("band %d..%d (units %d..%d) after %d (of %d rows, at most %d a band)", y0, y1, lo, hi, c.next, oh, c.max)
		}
		c.next = y1
		return
	}
	if c.next != y1 {
		c.fail("band %d..%d: its second phase before its first", y0, y1)
	}
	for o := lo; o < hi; o++ {
		c.seen.Add(1)
		for i := 0; i < c.skip*ow; i++ {
			if v := c.band[o*c.plane+i]; v != bandSentinel {
				c.fail("channel %d: kept row %d overwritten (%v)", o, i/ow, v)
				return
			}
		}
		for y := y0; y < y1; y++ {
			for x := 0; x < ow; x++ {
				got, want := c.band[o*c.plane+(y-y0+c.skip)*ow+x], c.want[(o*oh+y)*ow+x]
				if math.Float32bits(got) != math.Float32bits(want) {
					c.fail("channel %d row %d col %d: %v in band %d..%d, whole %v", o, y, x, got, y0, y1, want)
					return
				}
			}
		}
		clear(c.band[o*c.plane+c.skip*ow : (o+1)*c.plane])
	}
}

// TestConv2DPackedBands checks that the bands of Conv2DPackedBands are the rows of conv2D's whole
// output, bit for bit, for every gemm implementation, Winograd shapes and GEMM shapes whose input is
// copied in bands (LowMem), on one to three workers, each run on one
// goroutine and on as many as workers: in order, each at most BandRows(workers) rows, with the
// first skip rows of each plane left alone, each channel handed to the sink's second phase once,
// within BatchScratchLen(1, workers) (guarded).
func TestConv2DPackedBands(t *testing.T) {
	shapes := []struct {
		name string
		s    ConvShape
	}{
		{"v3_2b_3x3", ConvShape{C: 32, H: 147, W: 147, O: 64, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"v3_4a_3x3", ConvShape{C: 80, H: 73, W: 73, O: 192, KH: 3, KW: 3, SH: 1, SW: 1}},
		{"v1_conv2_few", ConvShape{C: 64, H: 56, W: 56, O: 192, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1, FewTiles: true}},
		{"f23_3x3", ConvShape{C: 16, H: 120, W: 100, O: 20, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"5x5", ConvShape{C: 48, H: 35, W: 35, O: 64, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
		{"asym_pad", ConvShape{C: 24, H: 200, W: 133, O: 40, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 2, PadL: 0, PadB: 0, PadR: 1}},
		{"v1_conv1_7x7s2", ConvShape{C: 3, H: 224, W: 224, O: 64, KH: 7, KW: 7, SH: 2, SW: 2, PadT: 3, PadL: 3, PadB: 3, PadR: 3, LowMem: true}},
		{"3x3s2_pad", ConvShape{C: 16, H: 121, W: 100, O: 24, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, LowMem: true}},
	}
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for i, tt := range shapes {
				s := tt.s
				t.Run(tt.name, func(t *testing.T) {
					if rows := s.bandRowsFor(1, impl); rows == 0 || rows >= s.OutH() {
						t.Fatalf("BandRows(1) = %d for %d output rows: want a band path of several bands", rows, s.OutH())
					}
					in, pw, bias, want := convCase(s, uint64(700+i), impl)
					for workers := 1; workers <= 3; workers++ {
						rows := s.bandRowsFor(workers, impl)
						if rows == 0 {
							if _, ok := s.bandPlan(workers); !s.winograd() || ok {
								t.Fatalf("BandRows(%d) = 0 for a shape with chunks for each worker", workers)
							}
							continue
						}
						for _, threads := range []int{1, workers} {
							for _, skip := range []int{0, 2} {
								name := fmt.Sprintf("%d workers on %d threads, skip %d", workers, threads, skip)
								plane := (skip+rows)*s.OutW() + 5
								c := newBandCheck(t, s, want, plane, skip, rows)
								scratch := guarded(s.batchScratchLen(1, workers, impl))
								conv2DBands(s, in, pw, bias, c.band, plane, skip, scratch, true, c, workers, threads, impl)
								checkGuard(t, name+": band", c.band)
								checkGuard(t, name+": scratch", scratch)
								if c.failed.Load() {
									t.Fatalf("%s: bands wrong", name)
								}
								if bands := (s.OutH() + rows - 1) / rows; c.next != s.OutH() || c.seen.Load() != int64(bands*s.O) {
									t.Fatalf("%s: bands end at row %d of %d, %d channels seen for %d bands", name, c.next, s.OutH(), c.seen.Load(), bands)
								}
							}
						}
					}
				})
			}
		})
	}
}

func TestConv2DPackedBandsPanics(t *testing.T) {
	s := ConvShape{C: 16, H: 10, W: 10, O: 16, KH: 1, KW: 1, SH: 1, SW: 1} // a GEMM shape: no bands
	if s.BandRows(1) != 0 {
		t.Fatalf("BandRows(1) of a 1×1 shape = %d, want 0", s.BandRows(1))
	}
	mustPanic(t, func() {
		Conv2DPackedBands(s, make([]float32, 1600), make([]float32, s.PackedLen()), nil, make([]float32, 1600), 100, 0, make([]float32, s.BatchScratchLen(1, 1)), false, nil, 1, 1)
	})
	w := ConvShape{C: 16, H: 40, W: 40, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}
	plane := w.BandRows(1) * w.OutW()
	sink := &bandCheck{units: []int{1}}
	mustPanic(t, func() {
		Conv2DPackedBands(w, make([]float32, 16*1600), make([]float32, w.PackedLen()), nil, make([]float32, 16*plane), plane-1, 0, make([]float32, w.BatchScratchLen(1, 1)), false, sink, 1, 1)
	})
	mustPanic(t, func() {
		Conv2DPackedBands(w, make([]float32, 16*1600), make([]float32, w.PackedLen()), nil, make([]float32, 16*plane), plane, 0, make([]float32, w.BatchScratchLen(1, 1)-1), false, sink, 1, 1)
	})
	for _, threads := range []int{0, 2} {
		mustPanic(t, func() {
			Conv2DPackedBands(w, make([]float32, 16*1600), make([]float32, w.PackedLen()), nil, make([]float32, 16*plane), plane, 0, make([]float32, w.BatchScratchLen(1, 1)), false, sink, 1, threads)
		})
	}
}

// TestConv2DPackedPlanes checks Conv2DPackedPlanes against conv2D on contiguous copies, bit for bit,
// for every gemm implementation: input channels inPlane apart with other values between them, output
// channels outPlane apart with the floats between them left alone; whole, and in parts on two workers
// (Conv2DPackedPlanesPart).
func TestConv2DPackedPlanes(t *testing.T) {
	shapes := []struct {
		name string
		s    ConvShape
	}{
		{"v4_Mixed_3a_band", ConvShape{C: 64, H: 9, W: 147, O: 96, KH: 3, KW: 3, SH: 2, SW: 2}},
		{"v4_Mixed_3a_one_row", ConvShape{C: 64, H: 3, W: 147, O: 96, KH: 3, KW: 3, SH: 2, SW: 2}},
		{"3x3_s2_pad1_odd", ConvShape{C: 5, H: 19, W: 21, O: 8, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
		{"3x5_s2x3_asym", ConvShape{C: 3, H: 13, W: 16, O: 6, KH: 3, KW: 5, SH: 2, SW: 3, PadT: 1, PadL: 0, PadB: 0, PadR: 2}},
		{"1x1_s2", ConvShape{C: 4, H: 9, W: 7, O: 5, KH: 1, KW: 1, SH: 2, SW: 2}},
	}
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for i, tt := range shapes {
				s := tt.s
				t.Run(tt.name, func(t *testing.T) {
					r := newRand(uint64(800 + i))
					hw, ohw := s.H*s.W, s.OutH()*s.OutW()
					in := randSlice(r, s.C*hw)
					pw := PackConvWeights(s, randSlice(r, s.O*s.C*s.KH*s.KW))
					bias := randSlice(r, s.O)
					want := make([]float32, s.O*ohw)
					conv2D(s, in, pw, bias, want, make([]float32, s.batchScratchLen(1, 1, impl)), epilogue{relu: true}, 1, impl)
					inPlane, outPlane := hw+3*s.W+1, ohw+7
					spread := randSlice(r, s.C*inPlane)
					for c := 0; c < s.C; c++ {
						copy(spread[c*inPlane:], in[c*hw:(c+1)*hw])
					}
					out := guarded(s.O * outPlane)
					for j := range out {
						out[j] = bandSentinel
					}
					check := func(out []float32) {
						t.Helper()
						for o := 0; o < s.O; o++ {
							for j := 0; j < outPlane; j++ {
								got := out[o*outPlane+j]
								if j >= ohw {
									if got != bandSentinel {
										t.Fatalf("channel %d: float %d past the plane written (%v)", o, j, got)
									}
									continue
								}
								if w := want[o*ohw+j]; math.Float32bits(got) != math.Float32bits(w) {
									t.Fatalf("channel %d, output %d: %v, want %v", o, j, got, w)
								}
							}
						}
					}
					scratch := guarded(s.PlanesScratchLen(1))
					fill, gemm := s.planesUnits(impl)
					conv2DPlanes(s, spread, inPlane, pw, bias, out, outPlane, scratch, true, 1, 0, 0, fill, 0, impl)
					conv2DPlanes(s, spread, inPlane, pw, bias, out, outPlane, scratch, true, 1, 1, 0, gemm, 0, impl)
					checkGuard(t, "out", out)
					checkGuard(t, "scratch", scratch)
					check(out)
					// In parts, as two threads take them: the channels and the columns one at a
					// time, last first, with the two workers' strip buffers in turn.
					for j := range out {
						out[j] = bandSentinel
					}
					parts := guarded(s.PlanesScratchLen(2))
					for ph, n := range []int{fill, gemm} {
						for u := n - 1; u >= 0; u-- {
							conv2DPlanes(s, spread, inPlane, pw, bias, out, outPlane, parts, true, 2, ph, u, u+1, u%2, impl)
						}
					}
					checkGuard(t, "out in parts", out)
					checkGuard(t, "scratch in parts", parts)
					check(out)
				})
			}
		})
	}
}

// TestConv2DLowMemBands: a LowMem strided or padded convolution on two threads runs in bands, each
// worker filling a window of its own (conv2DBandsParallel), within BatchScratchLen(1, 2) (guarded),
// less than the whole copy; and gives the bits of the whole copy on one worker, for every gemm
// implementation. bandFloats is lowered so that small maps have several bands.
func TestConv2DLowMemBands(t *testing.T) {
	defer func(v int) { bandFloats = v }(bandFloats)
	bandFloats = 1 << 12
	defer func(v int64) { parallelMinMACs = v }(parallelMinMACs)
	parallelMinMACs = 0
	shapes := []ConvShape{
		{C: 12, H: 41, W: 37, O: 20, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 8, H: 30, W: 33, O: 24, KH: 3, KW: 3, SH: 1, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 6, H: 45, W: 29, O: 30, KH: 7, KW: 1, SH: 1, SW: 1, PadT: 3, PadB: 3},
	}
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		for i, whole := range shapes {
			s := whole
			s.LowMem = true
			if s.winograd() || s.bandRows(2) >= s.OutH() || s.batchScratchLen(1, 2, impl) >= whole.batchScratchLen(1, 2, impl) && !s.maskedPack(1, impl) && !s.stride2Pack(impl) {
				t.Fatalf("%s shape %d: bands of %d rows of %d, scratch %d against %d whole", e.name, i, s.bandRows(2), s.OutH(), s.batchScratchLen(1, 2, impl), whole.batchScratchLen(1, 2, impl))
			}
			in, pw, bias, want := convCase(whole, uint64(1300+i), impl)
			checkPackedConv(t, fmt.Sprintf("%s shape %d", e.name, i), s, in, pw, bias, want, 2, impl)
		}
	}
}

// convCase returns a random input, packed weights and bias for s (seeded), and their convolution on
// one thread by impl with ReLU, with s's default scratch: the reference the band tests compare with.
func convCase(s ConvShape, seed uint64, impl isa) (in, pw, bias, want []float32) {
	r := newRand(seed)
	in = randSlice(r, s.C*s.H*s.W)
	pw = PackConvWeights(s, randSlice(r, s.O*s.C*s.KH*s.KW))
	bias = randSlice(r, s.O)
	want = make([]float32, s.O*s.OutH()*s.OutW())
	conv2D(s, in, pw, bias, want, make([]float32, s.batchScratchLen(1, 1, impl)), epilogue{relu: true}, 1, impl)
	return in, pw, bias, want
}
