package kernels

// BandSink receives the bands of output rows of Conv2DPackedBands as they are computed. Once a
// band's rows are in the band buffer, the sink's phases run on it one after the other, each phase's
// units handed out to the workers; the next band is computed once the last phase is done.
type BandSink interface {
	// Units returns the units of each phase, the same for every band.
	Units() []int
	// Band runs units lo..hi-1 of phase ph on the band of output rows y0..y1-1, whose buffer it
	// may change; the buffer is overwritten after the band's last phase. Calls for one phase may
	// run at the same time on different goroutines, with disjoint units and worker indices
	// (below Conv2DPackedBands' workers) for memory of their own.
	Band(ph, y0, y1, lo, hi, worker int)
}

// BandRows returns the output rows of each band of Conv2DPackedBands for s on workers workers (the
// last band may have fewer), or 0 when s has no such path. A band is a chunk of rows for each worker:
// 3×3 and 5×5 Winograd shapes (not F(2, 7)) compute their output one chunk of tiles at a time (on
// several workers winoChunkedPlan's chunks, so maps with few tiles have none), and GEMM shapes whose
// padded or strided input is copied in bands (bandRows: large inputs, on several workers LowMem
// only) one band of that copy at a time.
func (s ConvShape) BandRows(workers int) int { return s.bandRowsFor(workers, gemmActive) }

func (s ConvShape) bandRowsFor(workers int, impl isa) int {
	workers = convWorkers(workers)
	if t := s.winoTile(); t != 0 {
		if s.wino27() {
			return 0
		}
		q, ok := s.bandPlan(workers)
		if !ok {
			return 0
		}
		return min(workers*q.rows, q.trows()) * t
	}
	if s.direct() || s.maskedPack(1, impl) || s.stride2Pack(impl) || s.bandRows(workers) >= s.OutH() {
		return 0
	}
	return min(workers*s.bandRows(workers), s.OutH())
}

// bandPlan returns the plan of one worker's chunk of a Winograd band on workers workers: the
// one-thread plan on one, winoChunkedPlan's on more (ok false when there is none).
func (s ConvShape) bandPlan(workers int) (q winoPlan, ok bool) {
	p := s.winoPlan(s.winoTile())
	if convWorkers(workers) == 1 {
		return p, true
	}
	return s.winoChunkedPlan(p, convWorkers(workers))
}

// Conv2DPackedBands computes Conv2DPacked(s, in, packedW, bias, ·, scratch, relu, ·) for a shape
// with BandRows(workers) > 0, band by band, without ever holding the whole output: for each band of
// output rows y0..y1-1, in order, it writes channel o's row y to out[o*plane+(y-y0+skip)*OW:] and
// then runs sink's phases on the band. The first skip rows of each plane are left alone, for rows
// the caller keeps from the band before (a pool's windows overlap). Each band's chunks of rows, one
// for each of workers, and each phase's units are handed out to threads goroutines (the caller
// and threads-1 helpers, threads <= workers), so that the workers share one band buffer and one
// scratch. The outputs are Conv2DPacked's, bit for bit, whatever the workers and threads: chunks
// group the output's rows, and no output's operations depend on the grouping. plane >=
// (skip+BandRows(workers))*OW; scratch: len >= s.BatchScratchLen(1, workers), contents ignored.
func Conv2DPackedBands(s ConvShape, in, packedW, bias, out []float32, plane, skip int, scratch []float32, relu bool, sink BandSink, workers, threads int) {
	conv2DBands(s, in, packedW, bias, out, plane, skip, scratch, relu, sink, workers, threads, gemmActive)
}

func conv2DBands(s ConvShape, in, pu, bias, out []float32, plane, skip int, scratch []float32, relu bool, sink BandSink, workers, threads int, impl isa) {
	workers = convWorkers(workers)
	rows := s.bandRowsFor(workers, impl)
	switch {
	case rows == 0:
		panic("kernels: Conv2DPackedBands of a shape without bands")
	case plane < (skip+rows)*s.OutW() || len(out) < (s.O-1)*plane+(skip+rows)*s.OutW():
		panic("kernels: Conv2DPackedBands: band buffer too short")
	case threads < 1 || threads > workers:
		panic("kernels: Conv2DPackedBands: threads not in 1..workers")
	}
	s.checkIn(in, bias)
	if len(pu) < s.packedLen() || len(scratch) < s.batchScratchLen(1, workers, impl) {
		panic("kernels: Conv2DPackedBands: packed weights or scratch too short")
	}
	r := bandRun{s: s, in: in, out: out, plane: plane, skip: skip, rows: rows, workers: workers, sink: sink,
		sinkUnits: sink.Units()}
	if t := s.winoTile(); t != 0 {
		q, _ := s.bandPlan(workers)
		r.w = winoConvState{s: s, p: s.winoPlan(t), in: in, pu: pu, bias: bias, out: out, relu: relu,
			impl: impl, band: true, plane: plane, skip: skip}
		r.wino, r.q, r.chunk = true, q, q.rows*t
		r.area = r.w.carve(scratch, workers, false)
		r.fill = s.C * btoi(!r.w.windowed)
	} else {
		g := s.gemm()
		g.src = s.source(in, nil)
		g.a, g.relu, g.isa = pu, relu, impl
		if bias != nil {
			g.bias = bias[:g.m]
		}
		r.g, r.chunk, r.bufLen = g, s.bandRows(workers), g.bufLen()
		r.area, r.window = scratch[workers*r.bufLen:], s.bandLen(workers)/workers
		r.bufs = scratch[:workers*r.bufLen]
	}
	bands := (s.OutH() + rows - 1) / rows
	phases := 1 + bands*(1+len(r.sinkUnits))
	if threads == 1 {
		for phase := range phases {
			if n := r.units(phase); n > 0 {
				r.do(phase, 0, n, 0)
			}
		}
		return
	}
	units := make([]int, phases)
	for phase := range units {
		units[phase] = r.units(phase)
	}
	team := new(bandRun) // only this path pays for the closure's state on the heap
	*team = r
	runTeam(threads-1, units, team.do)
}

// bandRun is one Conv2DPackedBands in progress. Its phases: a Winograd shape's padded input by
// channels (fill: unless windowed, when each chunk pads its own rows), then for each band its chunks
// of rows, one for each worker, and the sink's phases.
type bandRun struct {
	s         ConvShape
	in, out   []float32
	plane     int // of out, the band buffer
	skip      int // rows of out's planes before the band's
	rows      int // output rows per band
	chunk     int // output rows per chunk
	fill      int // channels of the padded input, filled before the first band
	sink      BandSink
	sinkUnits []int
	workers   int
	area      []float32 // each worker's V and M (Winograd: winoConvState.forWorker) or window (GEMM)
	window    int       // a worker's window (GEMM)

	// Winograd shapes: the whole convolution and a worker's chunk.
	wino bool
	w    winoConvState
	q    winoPlan

	// GEMM shapes: the convolution, over a source whose window each chunk sets, and each worker's B
	// strip buffer.
	g      gemmPacked
	bufs   []float32
	bufLen int
}

// band returns the output rows of band b and the index in a band's phases of phase.
func (r *bandRun) band(phase int) (y0, y1, ph int) {
	b := (phase - 1) / (1 + len(r.sinkUnits))
	y0 = b * r.rows
	return y0, min(y0+r.rows, r.s.OutH()), (phase - 1) % (1 + len(r.sinkUnits))
}

// units returns the units of phase.
func (r *bandRun) units(phase int) int {
	if phase == 0 {
		return r.fill
	}
	y0, y1, ph := r.band(phase)
	if ph > 0 {
		return r.sinkUnits[ph-1]
	}
	return (y1 - y0 + r.chunk - 1) / r.chunk
}

// do runs units lo..hi-1 of phase with worker's memory.
func (r *bandRun) do(phase, lo, hi, worker int) {
	if phase == 0 {
		r.w.fill(lo, hi)
		return
	}
	y0, y1, ph := r.band(phase)
	if ph > 0 {
		r.sink.Band(ph-1, y0, y1, lo, hi, worker)
		return
	}
	ow := r.s.OutW()
	if !r.wino { // GEMM: chunk k's rows of the copy in worker's window, its GEMM into the band
		buf, win := r.bufs[worker*r.bufLen:(worker+1)*r.bufLen], r.area[worker*r.window:(worker+1)*r.window]
		for k := lo; k < hi; k++ {
			c0 := y0 + k*r.chunk
			c1 := min(c0+r.chunk, y1)
			r.s.gemmBand(r.in, r.g, c0, c1, r.out[(r.skip+c0-y0)*ow:], r.plane, buf, win)
		}
		return
	}
	q := r.q
	wk := r.w.forWorker(q, r.area, r.workers, worker)
	for k := lo; k < hi; k++ {
		// Chunk k of the band: its rows go that many rows into the band buffer.
		c0 := y0 + k*r.chunk
		wk.from = c0 / q.t
		wk.to, wk.skip = min(wk.from+q.rows, (y1+q.t-1)/q.t), r.skip+c0-y0
		wk.chunk(0, worker)
	}
}

// PlanesScratchLen returns the scratch of Conv2DPackedPlanes for s, and of Conv2DPackedPlanesPart on
// workers workers: a B strip buffer for each, and the padded, phase-split input.
func (s ConvShape) PlanesScratchLen(workers int) int {
	return convWorkers(workers)*stripBufLen(s.C*s.KH*s.KW) + s.inputLen()
}

// PlanesUnits returns the units of the two phases of Conv2DPackedPlanesPart: the input's channels,
// copied into the scratch, then ranges of the output's columns (a micro-kernel tile wide).
func (s ConvShape) PlanesUnits() (fill, gemm int) { return s.planesUnits(gemmActive) }

func (s ConvShape) planesUnits(impl isa) (fill, gemm int) {
	return s.C, (s.OutH()*s.OutW() + impl.unitCols() - 1) / impl.unitCols()
}

// Conv2DPackedPlanes computes Conv2DPacked(s, in, packedW, bias, out, ·, relu, 1) on the calling
// goroutine for an input and an output whose channels are not contiguous: input channel c's row y at
// in[c*inPlane+y*W:], output channel o's row y at out[o*outPlane+y*OW:]. The model runs a stem's
// stride-2 convolution with it on the rows of a map that Conv2DPackedBands is still computing, and
// writes the result straight into its block's output (v4's Mixed_3a). s must read a padded or
// strided copy of its input (stride or padding, and not Winograd nor masked: Conv2DPacked's own
// path for such shapes then, bit for bit); scratch: len >= s.PlanesScratchLen(1), contents ignored.
func Conv2DPackedPlanes(s ConvShape, in []float32, inPlane int, packedW, bias, out []float32, outPlane int, scratch []float32, relu bool) {
	fill, gemm := s.PlanesUnits()
	conv2DPlanes(s, in, inPlane, packedW, bias, out, outPlane, scratch, relu, 1, 0, 0, fill, 0, gemmActive)
	conv2DPlanes(s, in, inPlane, packedW, bias, out, outPlane, scratch, relu, 1, 1, 0, gemm, 0, gemmActive)
}

// Conv2DPackedPlanesPart runs units lo..hi-1 of phase ph of Conv2DPackedPlanes(s, in, inPlane,
// packedW, bias, out, outPlane, ·, relu), with the B strip buffer of worker (< workers) in scratch
// (len >= s.PlanesScratchLen(workers)): phase 0 copies input channels lo..hi-1 into scratch, phase 1,
// once all of phase 0 is done, computes output columns lo..hi-1 of PlanesUnits' width. Calls for
// one phase may run at the same time on different goroutines, with disjoint units; together they
// give Conv2DPackedPlanes' bits.
func Conv2DPackedPlanesPart(s ConvShape, in []float32, inPlane int, packedW, bias, out []float32, outPlane int, scratch []float32, relu bool, workers, ph, lo, hi, worker int) {
	conv2DPlanes(s, in, inPlane, packedW, bias, out, outPlane, scratch, relu, workers, ph, lo, hi, worker, gemmActive)
}

func conv2DPlanes(s ConvShape, in []float32, inPlane int, pa, bias, out []float32, outPlane int, scratch []float32, relu bool, workers, ph, lo, hi, worker int, impl isa) {
	oh, ow := s.OutH(), s.OutW()
	workers = convWorkers(workers)
	switch {
	case s.winograd() || s.direct() || s.maskedPack(1, impl):
		panic("kernels: Conv2DPackedPlanes of a shape without a padded or strided copy")
	case oh < 1 || ow < 1 || inPlane < s.H*s.W || outPlane < oh*ow:
		panic("kernels: Conv2DPackedPlanes: bad shape or planes")
	case len(in) < (s.C-1)*inPlane+s.H*s.W || len(out) < (s.O-1)*outPlane+oh*ow:
		panic("kernels: Conv2DPackedPlanes: input or output too short")
	case len(pa) < s.packedLen() || len(scratch) < s.PlanesScratchLen(workers) || bias != nil && len(bias) < s.O:
		panic("kernels: Conv2DPackedPlanes: packed weights, bias or scratch too short")
	case worker < 0 || worker >= workers || ph < 0 || ph > 1:
		panic("kernels: Conv2DPackedPlanesPart: bad worker or phase")
	}
	g := s.gemm()
	bufLen := g.bufLen()
	g.src = s.source(nil, scratch[workers*bufLen:])
	if ph == 0 {
		hq, _ := s.phases()
		s.fillRows(in, inPlane, g.src.t, lo, min(hi, s.C), band{0, hq}, impl)
		return
	}
	g.a, g.c, g.ldc, g.relu, g.isa = pa, out[:(s.O-1)*outPlane+oh*ow], outPlane, relu, impl
	if bias != nil {
		g.bias = bias[:g.m]
	}
	if uc := impl.unitCols(); lo*uc < g.n {
		g.run(0, g.m, lo*uc, min(hi*uc, g.n), scratch[worker*bufLen:(worker+1)*bufLen])
	}
}
