package kernels

// BandSink receives the bands of output rows of Conv2DPackedBands as they are computed.
type BandSink interface {
	// Band is called once output rows y0..y1-1 are in the band buffer; the buffer may be changed
	// before Band returns, and is overwritten after.
	Band(y0, y1 int)
}

// BandRows returns the output rows of each band of Conv2DPackedBands for s (the last band may
// have fewer), or 0 when s has no such path: only 3×3 and 5×5 Winograd shapes (not F(2, 7))
// compute their output in bands of rows, one chunk of tiles at a time.
func (s ConvShape) BandRows() int {
	t := s.winoTile()
	if t == 0 || s.wino27() {
		return 0
	}
	p := s.winoPlan(t)
	return p.t * p.rows
}

// Conv2DPackedBands computes Conv2DPacked(s, in, packedW, bias, ·, scratch, relu, 1) for a shape
// with BandRows() > 0, band by band on the calling goroutine, without ever holding the whole output:
// for each band of output rows y0..y1-1, in order, it writes channel o's row y to
// out[o*plane+(y-y0+skip)*OW:] and then calls sink.Band(y0, y1). The first skip rows of each
// plane are left alone, for rows the caller keeps from the band before (a pool's windows overlap).
// The outputs are Conv2DPacked's, bit for bit: the bands are the chunks of tiles it computes one
// after the other on one thread. plane >= (skip+BandRows())*OW; scratch: len >=
// s.BatchScratchLen(1, 1), contents ignored.
func Conv2DPackedBands(s ConvShape, in, packedW, bias, out []float32, plane, skip int, scratch []float32, relu bool, sink BandSink) {
	conv2DBands(s, in, packedW, bias, out, plane, skip, scratch, relu, sink, 0, s.OutH(), gemmActive)
}

// BandStep returns the output rows the ranges of Conv2DPackedBandsRows are multiples of: the rows of
// a Winograd tile (0 when s has no bands).
func (s ConvShape) BandStep() int {
	if s.BandRows() == 0 {
		return 0
	}
	return s.winoTile()
}

// Conv2DPackedBandsRows is Conv2DPackedBands for output rows y0..y1-1 only, y0 and y1 multiples of
// BandStep() (y1 may be OutH): the bands of those rows, in order, the first from y0, each at most
// BandRows() rows. Each output row is computed in the same tile whatever the range, from nothing
// computed before it, so calls on ranges that together cover the map give the bits of one call over
// the whole map: two goroutines may each take a range, each with its own band buffer and scratch.
func Conv2DPackedBandsRows(s ConvShape, in, packedW, bias, out []float32, plane, skip int, scratch []float32, relu bool, sink BandSink, y0, y1 int) {
	conv2DBands(s, in, packedW, bias, out, plane, skip, scratch, relu, sink, y0, y1, gemmActive)
}

func conv2DBands(s ConvShape, in, pu, bias, out []float32, plane, skip int, scratch []float32, relu bool, sink BandSink, y0, y1 int, impl isa) {
	rows := s.BandRows()
	switch {
	case rows == 0:
		panic("kernels: Conv2DPackedBands of a shape without bands")
	case plane < (skip+rows)*s.OutW() || len(out) < (s.O-1)*plane+(skip+rows)*s.OutW():
		panic("kernels: Conv2DPackedBands: band buffer too short")
	case y0 < 0 || y0 >= y1 || y1 > s.OutH() || y0%s.BandStep() != 0 || y1%s.BandStep() != 0 && y1 != s.OutH():
		panic("kernels: Conv2DPackedBandsRows: rows not a range of whole tiles")
	}
	s.checkIn(in, bias)
	if len(pu) < s.packedLen() || len(scratch) < s.BatchScratchLen(1, 1) {
		panic("kernels: Conv2DPackedBands: packed weights or scratch too short")
	}
	w := winoConvState{s: s, p: s.winoPlan(s.winoTile()), in: in, pu: pu, bias: bias, out: out, relu: relu,
		impl: impl, band: true, plane: plane, skip: skip}
	t := s.BandStep()
	w.from, w.to = y0/t, (y1+t-1)/t
	w.carve(scratch, 1, false)
	w.serial(sink)
}

// PlanesScratchLen returns the scratch of Conv2DPackedPlanes for s: a B strip buffer and the
// padded, phase-split input.
func (s ConvShape) PlanesScratchLen() int { return stripBufLen(s.C*s.KH*s.KW) + s.inputLen() }

// Conv2DPackedPlanes computes Conv2DPacked(s, in, packedW, bias, out, ·, relu, 1) on the calling
// goroutine for an input and an output whose channels are not contiguous: input channel c's row y at
// in[c*inPlane+y*W:], output channel o's row y at out[o*outPlane+y*OW:]. The model runs a stem's
// stride-2 convolution with it on the rows of a map that Conv2DPackedBands is still computing, and
// writes the result straight into its block's output (v4's Mixed_3a). s must read a padded or
// strided copy of its input (stride or padding, and not Winograd nor masked: Conv2DPacked's own
// path for such shapes then, bit for bit); scratch: len >= s.PlanesScratchLen(), contents ignored.
func Conv2DPackedPlanes(s ConvShape, in []float32, inPlane int, packedW, bias, out []float32, outPlane int, scratch []float32, relu bool) {
	conv2DPlanes(s, in, inPlane, packedW, bias, out, outPlane, scratch, relu, gemmActive)
}

func conv2DPlanes(s ConvShape, in []float32, inPlane int, pa, bias, out []float32, outPlane int, scratch []float32, relu bool, impl isa) {
	oh, ow := s.OutH(), s.OutW()
	switch {
	case s.winograd() || s.direct() || s.maskedPack(1, impl):
		panic("kernels: Conv2DPackedPlanes of a shape without a padded or strided copy")
	case oh < 1 || ow < 1 || inPlane < s.H*s.W || outPlane < oh*ow:
		panic("kernels: Conv2DPackedPlanes: bad shape or planes")
	case len(in) < (s.C-1)*inPlane+s.H*s.W || len(out) < (s.O-1)*outPlane+oh*ow:
		panic("kernels: Conv2DPackedPlanes: input or output too short")
	case len(pa) < s.packedLen() || len(scratch) < s.PlanesScratchLen() || bias != nil && len(bias) < s.O:
		panic("kernels: Conv2DPackedPlanes: packed weights, bias or scratch too short")
	}
	g := s.gemm()
	bufLen := g.bufLen()
	g.src = s.source(nil, scratch[bufLen:])
	hq, _ := s.phases()
	s.fillRows(in, inPlane, g.src.t, 0, s.C, band{0, hq}, impl)
	g.a, g.c, g.ldc, g.relu, g.isa = pa, out[:(s.O-1)*outPlane+oh*ow], outPlane, relu, impl
	if bias != nil {
		g.bias = bias[:g.m]
	}
	g.run(0, g.m, 0, g.n, scratch[:bufLen])
}
