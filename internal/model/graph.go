package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/inception-cli/inception/internal/kernels"
)

// Shape is the per-image shape of an activation: channels × height × width.
type Shape struct{ C, H, W int }

func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W) }

// Len is the number of float32 values of one image of this shape.
func (s Shape) Len() int { return s.C * s.H * s.W }

// node is one block of a network declaration. A network is a tree of nodes; each node carries the key
// segment its reference checkpoint uses, and the loader joins the segments into dotted parameter names.
type node interface {
	// outShape returns the output shape for input shape in, checking the channel arithmetic.
	outShape(path string, in Shape) (Shape, error)
	// params declares the node's parameters under path, in the reference's state-dict order.
	params(path string, in Shape, decl func(*param))
	// plan allocates the node's intermediate buffers and appends the steps that compute out from in.
	plan(p *planner, path string, in, out view)
}

// join builds a dotted checkpoint key from segments, skipping empty ones.
func join(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// view is a window onto a batch of activations in a plan's buffer: image n occupies
// buf.data[n*stride+off : n*stride+off+shape.Len()]. Views let a Mixed block's branches write
// straight into their channel slice of the block output, so concatenation costs nothing. A view
// reads its buffer's memory when a step runs (img, batch), not when it is planned: planning fixes
// where every buffer lies only once the whole plan is known (bufPool.place).
type view struct {
	buf    *buffer
	stride int
	off    int
	shape  Shape
}

// img returns image n of the view, CHW.
func (v view) img(n int) []float32 {
	s := n*v.stride + v.off
	return v.buf.data[s : s+v.shape.Len()]
}

// batch returns the data from image 0 on: image i starts at i*stride.
func (v view) batch() []float32 { return v.buf.data[v.off:] }

// channels returns the view of channels [c0, c0+c) of v.
func (v view) channels(c0, c int) view {
	return view{buf: v.buf, stride: v.stride, off: v.off + c0*v.shape.H*v.shape.W, shape: Shape{c, v.shape.H, v.shape.W}}
}

// ---- ConvBN -------------------------------------------------------------------------------------------

// ConvBN is a convolution, optionally with its own bias, optionally followed by batch norm (folded into the
// convolution at load time) and ReLU. Conv and BN are the key segments of the two modules relative to the
// node's own key (torchvision/timm "conv" and "bn"; Cadene's flat "inception_3a_1x1" and "inception_3a_1x1_bn").
type ConvBN struct {
	Key, Conv, BN          string
	Out                    int
	KH, KW, SH, SW         int
	PadT, PadL, PadB, PadR int
	Bias                   bool // the convolution carries its own bias
	ReLU                   bool
	Eps                    float64 // batch-norm epsilon; unused without BN
}

func (c *ConvBN) convShape(in Shape) kernels.ConvShape {
	return kernels.ConvShape{C: in.C, H: in.H, W: in.W, O: c.Out, KH: c.KH, KW: c.KW, SH: c.SH, SW: c.SW,
		PadT: c.PadT, PadL: c.PadL, PadB: c.PadB, PadR: c.PadR}
}

// pointwise reports whether c is a 1×1 stride-1 unpadded convolution: a plain matrix product of
// the input's channels at each position.
func (c *ConvBN) pointwise() bool {
	return c.KH == 1 && c.KW == 1 && c.SH == 1 && c.SW == 1 && c.PadT+c.PadL+c.PadB+c.PadR == 0
}

func (c *ConvBN) outShape(path string, in Shape) (Shape, error) {
	s := c.convShape(in)
	oh, ow := s.OutH(), s.OutW()
	if oh < 1 || ow < 1 {
		return Shape{}, fmt.Errorf("%s: %dx%d kernel does not fit a %s input", join(path, c.Key), c.KH, c.KW, in)
	}
	return Shape{c.Out, oh, ow}, nil
}

func (c *ConvBN) params(path string, in Shape, decl func(*param)) {
	p := join(path, c.Key)
	conv := join(p, c.Conv)
	l := layerRef{id: conv, eps: c.Eps}
	decl(&param{key: conv + ".weight", shape: []int{c.Out, in.C, c.KH, c.KW}, role: roleConvWeight, layer: l})
	if c.Bias {
		decl(&param{key: conv + ".bias", shape: []int{c.Out}, role: roleConvBias, layer: l})
	}
	if c.BN != "" {
		declBN(join(p, c.BN), c.Out, l, decl)
	}
}

// prepare accounts for c's convolution over an input of shape in (scratch, multiply-adds) and returns
// its shape, its weights packed for it and its bias (never nil after folding), both times scale, or ok
// false once the error is recorded.
func (c *ConvBN) prepare(p *planner, path string, in Shape, scale float32) (s kernels.ConvShape, w, b []float32, ok bool) {
	s = p.convShape(c, path, in)
	id := c.id(path)
	p.macs += s.MACs()
	w, b, err := p.weights.layer(id).packScaled(s, scale) // once per layer and kernel layout, not per call
	if err != nil {
		p.fail(fmt.Errorf("layer %s at %dx%d: %w", id, in.H, in.W, err))
		return s, nil, nil, false
	}
	return s, w, b, true
}

// convShape returns the shape of c's convolution over an input of shape in, in the block at path, as
// p's mode plans it (LowMem, FewTiles).
func (p *planner) convShape(c *ConvBN, path string, in Shape) kernels.ConvShape {
	s, id := c.convShape(in), c.id(path)
	s.LowMem, s.FewTiles = p.pool.mode.lowMem || p.pool.mode.few[id], p.pool.mode.few[id]
	return s
}

// id returns the weight id of c's convolution in the block at path.
func (c *ConvBN) id(path string) string { return join(path, c.Key, c.Conv) }

func (c *ConvBN) plan(p *planner, path string, in, out view) {
	s, w, b, ok := c.prepare(p, path, in.shape, 1)
	if !ok {
		return
	}
	p.hold(out.buf)
	relu, sc := c.ReLU, p.scratch(s)
	if lean := s; !s.FewTiles {
		// A step whose scratch would shrink with FewTiles and LowMem (shrinkPeak).
		lean.FewTiles, lean.LowMem = true, true
		if lean.BatchScratchLen(p.n, p.convThreads) < sc.buf.n {
			sc.buf.layer = c.id(path)
		}
	}
	// The whole batch in one call: on small maps the images' columns together fill the GEMM tiles.
	p.add(func(e *exec) {
		kernels.Conv2DPackedBatch(s, e.n, in.batch(), in.stride, w, b, out.batch(), out.stride, sc.buf.data, relu, sc.threadsFor(e))
	})
}

// ---- Seq ----------------------------------------------------------------------------------------------

// Seq applies its nodes one after the other.
type Seq struct {
	Key   string
	Nodes []node
}

func (s *Seq) outShape(path string, in Shape) (Shape, error) {
	p := join(path, s.Key)
	var err error
	for _, n := range s.Nodes {
		if in, err = n.outShape(p, in); err != nil {
			return Shape{}, err
		}
	}
	return in, nil
}

func (s *Seq) params(path string, in Shape, decl func(*param)) {
	p := join(path, s.Key)
	for _, n := range s.Nodes {
		n.params(p, in, decl)
		in, _ = n.outShape(p, in)
	}
}

func (s *Seq) plan(pl *planner, path string, in, out view) { s.planOwned(pl, path, in, out, false) }

// planOwned plans the nodes one after the other; owned says whether the Seq may overwrite its input
// and give its buffer back once read (the network's input, planInput).
func (s *Seq) planOwned(pl *planner, path string, in, out view, owned bool) {
	p := join(path, s.Key)
	cur := in // owned: only this Seq reads cur, which it gives back once read
	// A caller that passes its input as the output (a chain of residual blocks, inPlace) lets the
	// chain's blocks overwrite it.
	mine := func(v view) bool { return owned || sameView(v, out) }
	for i := 0; i < len(s.Nodes); i++ {
		n := s.Nodes[i]
		q, conv := poolConv(s.Nodes[i:], cur.shape)
		nin := cur.shape // n's input
		var bands *convPool
		switch {
		case q != nil:
			i++ // the pair is planned as one step, and observed as the convolution
			n = conv
		case pl.observe == nil && !pl.pool.mode.noBands: // an observer expects the convolution's output
			if bands = newConvPool(pl, p, s.Nodes[i:], cur.shape); bands != nil {
				i++ // the pair is planned as one step, whose output is the pool's
				if bands.lrn != nil {
					i++ // and the LRN between them
				}
				n, nin = s.Nodes[i], bands.mid
			}
		}
		next := out
		inPlace := false
		if i == len(s.Nodes)-1 {
			pl.hold(out.buf) // reserved by the caller until written (planner.reserve)
		} else {
			sh, _ := n.outShape(p, nin)
			if inPlaceNode(n) && mine(cur) && q == nil && sh == cur.shape {
				next, inPlace = cur, true // only this Seq reads cur: the block may overwrite it
			} else {
				next = pl.reserve(sh) // held from the step that first writes it (planner.hold)
			}
		}
		mx, mixed := n.(*Mixed)
		switch {
		case bands != nil:
			bands.plan(pl, p, cur, next)
		case q != nil:
			planPoolConv(pl, p, q, conv, cur, next)
		case mixed && owned && !inPlace:
			mx.planOwned(pl, p, cur, next, true) // may give cur back before its last branch
		default:
			n.plan(pl, p, cur, next)
		}
		if key := nodeKey(n); pl.observe != nil && key != "" { // unnamed nodes have no reference twin
			out, name := next, join(p, key)
			pl.add(func(*exec) { pl.observe(name, out) })
		}
		if owned && !inPlace {
			pl.free(cur)
		}
		cur, owned = next, owned || !sameView(next, out)
	}
}

// convPool is a convolution followed by a max pool, or by a block whose branches are each a max pool
// or a strided convolution of the same window, that run as one step, band by band
// (kernels.Conv2DPackedBands): each band of the convolution's output rows is reduced as it is computed,
// so the convolution's whole output is never held. The stems' Conv2d_2b_3x3 output is the largest
// activation of v3, v4, IRv1 and IRv2 (64×147×147: 5.5 MB), held with its input at their one-thread
// plans' peak, and v3's and IRv2's Conv2d_4a_3x3 output (192×71×71: 3.9 MB) at the next. v4's
// Conv2d_2b_3x3 feeds Mixed_3a, which pools and convolves (3×3/2, 64 -> 96) the same map: both
// branches run on each band (the convolution by kernels.Conv2DPackedPlanes, straight into the block's
// output). The rows a band's last windows share with the next band's are kept for it. On several
// threads the threads share each band: a chunk of its tiles each, then its pool's channels, in one
// band buffer. compile keeps such steps only where they make the plan's memory smaller.
type convPool struct {
	conv     *ConvBN
	lrn      *LRN   // an LRN between the convolution and the branches, run on each band, or nil
	branches []node // *Pool or *ConvBN, of one window (k×k, stride s, unpadded)
	mixed    *Mixed // the block the branches are of; nil: a lone pool
	mid      Shape  // the convolution's output, the branches' input
	k, s     int    // the branches' window and stride
	ceil     bool   // a lone pool's ceil mode
}

// newConvPool returns the convolution and the max pool or block at the start of nodes, for an input of
// shape in, when they can run as a convPool: a convolution with several bands on the planner's threads
// (kernels.ConvShape.BandRows), then a max pool or a block of max pools and convolutions, all unpadded
// with one window and stride (a convolution's at least 2: Conv2DPackedPlanes' shapes), the ceil mode of
// a pool in a block, if set, adding no row. An LRN may come between the convolution and the pool
// (BVLC GoogLeNet's conv2/3x3, norm2 and pool2): each band is normalised as it comes, so the 192×56×56
// map is never held whole. Otherwise nil.
func newConvPool(pl *planner, path string, nodes []node, in Shape) *convPool {
	if len(nodes) < 2 {
		return nil
	}
	c, ok := nodes[0].(*ConvBN)
	if !ok {
		return nil
	}
	mid, err := c.outShape(path, in)
	if err != nil {
		return nil
	}
	b := &convPool{conv: c, mid: mid}
	if l, ok := nodes[1].(*LRN); ok && len(nodes) > 2 {
		b.lrn, nodes = l, nodes[1:]
	}
	switch n := nodes[1].(type) {
	case *Pool:
		b.branches = []node{n}
	case *Mixed:
		b.mixed, b.branches = n, n.Branches
	default:
		return nil
	}
	for i, n := range b.branches {
		var k, st int
		switch t := n.(type) {
		case *Pool:
			// A ceil-mode pool whose ceil adds a row (v2's pool2 after conv2) only alone: the last
			// band's partial window is pooled in ceil mode, where a convolution would end a row short.
			if t.Avg || t.Pad != 0 || b.mixed != nil && t.poolShape(mid).OutH() != (mid.H-t.K)/t.S+1 {
				return nil
			}
			k, st, b.ceil = t.K, t.S, t.CeilMode
		case *ConvBN:
			if t.KH != t.KW || t.SH != t.SW || t.SH < 2 || t.PadT+t.PadL+t.PadB+t.PadR != 0 {
				return nil
			}
			k, st = t.KH, t.SH
		default:
			return nil
		}
		if i > 0 && (k != b.k || st != b.s) {
			return nil
		}
		b.k, b.s = k, st
	}
	cs := pl.convShape(c, path, in)
	if rows := cs.BandRows(pl.convThreads); rows == 0 || rows >= mid.H || mid.H < b.k {
		return nil
	}
	return b
}

func (b *convPool) plan(pl *planner, path string, in, out view) {
	s, w, bias, ok := b.conv.prepare(pl, path, in.shape, 1)
	if !ok {
		return
	}
	skip := b.k - 1 // the most rows a band keeps for the next
	ow := b.mid.W
	plane := (skip + s.BandRows(pl.convThreads)) * ow
	win := kernels.PoolShape{C: b.mid.C, H: b.mid.H, W: ow, KH: b.k, KW: b.k, SH: b.s, SW: b.s, Ceil: b.ceil}
	sink := &convPoolSink{s: win, skip: skip, plane: plane, lrn: b.lrn, workers: pl.convThreads}
	bp := path
	if b.mixed != nil {
		bp = join(path, b.mixed.Key)
	}
	planes := 0 // the scratch of the branches' convolutions, on a band's rows
	c0 := 0
	for _, n := range b.branches {
		br := bandBranch{c0: c0}
		if c, ok := n.(*ConvBN); ok {
			cs, cw, cb, ok := c.prepare(pl, bp, b.mid, 1)
			if !ok {
				return
			}
			br.conv, br.w, br.b, br.relu = cs, cw, cb, c.ReLU
			cs.H = plane / ow
			planes = max(planes, cs.PlanesScratchLen(pl.convThreads))
			c0 += c.Out
		} else {
			c0 += b.mid.C
		}
		sink.branches = append(sink.branches, br)
	}
	pl.hold(out.buf)
	pl.pool.bands = true
	workers := pl.convThreads
	wn := s.BatchScratchLen(1, workers) // the band convolution's, then the branches' convolutions'
	band, sc := pl.take(b.mid.C*plane), pl.take(wn+planes)
	sc.scratch, sc.layer = true, b.conv.id(path)
	pl.give(band)
	pl.give(sc)
	sink.setUnits(s.BandRows(workers))
	relu := b.conv.ReLU
	pl.add(func(e *exec) {
		sink.band, sink.scratch = band.data, sc.data[wn:]
		for i := 0; i < e.n; i++ {
			sink.out = out.img(i)
			kernels.Conv2DPackedBands(s, in.img(i), w, bias, band.data, plane, skip, sc.data[:wn], relu, sink, workers, min(e.threads, workers))
		}
	})
}

// bandBranch is a branch a convPoolSink runs on each band: a max pool (conv.C == 0) or a strided
// convolution, writing its channels from c0 on.
type bandBranch struct {
	c0   int
	conv kernels.ConvShape // over the whole map; H is set per band
	w, b []float32
	relu bool
}

// convPoolSink runs the branches of a convPool on the bands of its convolution, in up to four phases
// (a kernels.BandSink): the LRN, if any, over the band's new rows (a unit a row); the pools, a unit a
// channel, which also copies the channel into the convolutions' input (Conv2DPackedPlanesPart), or
// without convolutions keeps the channel's rows that the next band's first windows read, in the rows
// before the band's (Conv2DPackedBands leaves those alone); the convolutions, by ranges of their
// output columns; then, with convolutions, which read every channel, the kept rows (a unit a
// channel).
type convPoolSink struct {
	s           kernels.PoolShape // the branches' window over the whole map (C: the map's channels)
	lrn         *LRN              // run first over each band's new rows, or nil
	branches    []bandBranch
	skip, plane int
	band, out   []float32 // out: the image's output, all branches' channels
	scratch     []float32 // the convolutions' (Conv2DPackedPlanesPart: their input, one copy for all)
	workers     int       // the workers of scratch
	units       []int     // of each phase
	pools       []bandBranch
	convs       []bandBranch
}

// setUnits sets k's phases for bands of up to rows rows.
func (k *convPoolSink) setUnits(rows int) {
	k.units = make([]int, 4)
	for _, br := range k.branches {
		if br.conv.C == 0 {
			k.pools = append(k.pools, br)
			continue
		}
		k.convs = append(k.convs, br)
		cs := br.conv
		cs.H = k.plane / k.s.W
		_, n := cs.PlanesUnits()
		k.units[2] += n
	}
	k.units[1] = k.s.C
	if k.lrn != nil {
		k.units[0] = rows
	}
	if len(k.convs) > 0 {
		k.units[3] = k.s.C
	}
}

func (k *convPoolSink) Units() []int { return k.units }

// done returns the branches' output rows that the convolution's rows before y complete: their windows
// end by y.
func (k *convPoolSink) done(y int) int {
	s := k.s
	switch {
	case y < s.KH:
		return 0
	case y < s.H:
		return min(s.OutH(), (y-s.KH)/s.SH+1)
	}
	return s.OutH()
}

// Band runs units lo..hi-1 of phase ph on the band of the convolution's rows y0..y1-1: the rows
// before it that the first windows read are in the band's first skip rows.
func (k *convPoolSink) Band(ph, y0, y1, lo, hi, worker int) {
	s, w := k.s, k.s.W
	oh, ow := s.OutH(), s.OutW()
	next, py1 := k.done(y0), k.done(y1) // the output rows this band completes: next..py1-1
	r0 := k.skip + next*s.SH - y0       // the band's row of the first window
	rows := y1 - next*s.SH              // from there on, exactly rows py1-next's windows
	conv := func(br bandBranch, ph, lo, hi int) {
		cs := br.conv
		cs.H = rows
		kernels.Conv2DPackedPlanesPart(cs, k.band[r0*w:], k.plane, br.w, br.b, k.out[(br.c0*oh+next)*ow:], oh*ow, k.scratch, br.relu, k.workers, ph, lo, hi, worker)
	}
	switch ph {
	case 0:
		if hi = min(hi, y1-y0); lo < hi {
			l := k.lrn
			kernels.LRNPlanes(s.C, (hi-lo)*w, k.plane, l.Size, l.Alpha, l.Beta, l.K, k.band[(k.skip+lo)*w:])
		}
	case 1:
		if py1 > next {
			bp := s
			// The whole pool's columns (its ceil mode); its rows: the windows' exactly, but for the last
			// band's, whose ceil mode may add a partial one.
			bp.C, bp.H = 1, rows
			if y1 < s.H {
				bp.H = (py1-next-1)*s.SH + s.KH
			}
			for c := lo; c < hi; c++ {
				for _, br := range k.pools {
					out := k.out[((br.c0+c)*oh+next)*ow:]
					kernels.MaxPool2D(bp, k.band[c*k.plane+r0*w:c*k.plane+(r0+bp.H)*w], out[:(py1-next)*ow])
				}
			}
			if len(k.convs) > 0 { // the convolutions' input: one copy, as they share its geometry
				conv(k.convs[0], 0, lo, hi)
			}
		}
		if len(k.convs) == 0 {
			k.keep(lo, hi, y0, y1, py1)
		}
	case 2:
		if py1 <= next {
			return
		}
		for _, br := range k.convs {
			cs := br.conv
			cs.H = rows
			_, n := cs.PlanesUnits()
			if lo < n {
				conv(br, 1, lo, min(hi, n))
			}
			lo, hi = max(lo-n, 0), hi-n
			if hi <= 0 {
				return
			}
		}
	case 3:
		k.keep(lo, hi, y0, y1, py1)
	}
}

// keep copies channels c0..c1-1's rows of the band of rows y0..y1-1 that the windows from py1 on read
// to the rows before the band's.
func (k *convPoolSink) keep(c0, c1, y0, y1, py1 int) {
	w := k.s.W
	if keep := y1 - py1*k.s.SH; y1 < k.s.H && keep > 0 {
		from := k.skip + y1 - y0 - keep
		for c := c0; c < c1; c++ {
			p := k.band[c*k.plane:]
			copy(p[(k.skip-keep)*w:k.skip*w], p[from*w:(from+keep)*w])
		}
	}
}

// sameView reports whether a and b start at the same place of the same buffer.
func sameView(a, b view) bool { return a.buf == b.buf && a.off == b.off }

// inPlaceNode reports whether n may write its output over its input: an Inception-ResNet block, whose
// projection adds onto the shortcut, or a Seq of them (IRv1 and IRv2's repeat_*), which Seq.plan then
// runs in place on its caller's buffer: the shortcut is no longer copied at the chain's first block
// (IRv2: 1.6, 1.3 and 0.5 MB a pass); or an LRN (kernels.LRNInPlace: BVLC GoogLeNet's norm2 held a
// second 2.4 MB map at its peak).
func inPlaceNode(n node) bool {
	switch t := n.(type) {
	case *Residual, *LRN:
		return true
	case *Seq:
		for _, c := range t.Nodes {
			if _, ok := c.(*Residual); !ok {
				return false
			}
		}
		return len(t.Nodes) > 0
	}
	return false
}

// poolConv returns the average pool and the 1×1 convolution at the start of nodes when they can
// run swapped (planPoolConv): a stride-1 pool, which keeps the map's size, then a stride-1 unpadded
// 1×1 convolution with fewer output channels than the pool has. Otherwise nil, nil.
func poolConv(nodes []node, in Shape) (*Pool, *ConvBN) {
	if len(nodes) < 2 {
		return nil, nil
	}
	q, ok := nodes[0].(*Pool)
	c, ok2 := nodes[1].(*ConvBN)
	if !ok || !ok2 || !q.Avg || q.S != 1 || !c.pointwise() || c.Out >= in.C {
		return nil, nil
	}
	if s, err := q.outShape("", in); err != nil || s != in {
		return nil, nil
	}
	return q, c
}

// planPoolConv plans an average pool followed by a 1×1 convolution (v2, v3, v4 and IRv2's pool
// branches) as the convolution without its bias, then the pool over its fewer channels, then the bias
// and the ReLU: the two commute, as the pool mixes the positions of each channel with weights that do
// not depend on the channel and the convolution mixes the channels of each position. The bias cannot go
// before the pool, whose divisors may count padding. v4's Inception-B blocks pool 128 channels
// instead of 1024. The sums are rounded in another order; the results agree to float32 rounding.
func planPoolConv(pl *planner, path string, q *Pool, c *ConvBN, in, out view) {
	s, w, b, ok := c.prepare(pl, path, in.shape, 1)
	if !ok {
		return
	}
	tmp := pl.alloc(out.shape)
	pl.hold(out.buf)
	ps := q.poolShape(out.shape)
	relu, cip, hw, sc := c.ReLU, q.CountIncludePad, out.shape.H*out.shape.W, pl.scratch(s)
	pl.add(func(e *exec) {
		kernels.Conv2DPackedBatch(s, e.n, in.batch(), in.stride, w, nil, tmp.batch(), tmp.stride, sc.buf.data, false, sc.threadsFor(e))
		for i := 0; i < e.n; i++ {
			o := out.img(i)
			pool(ps, true, cip, tmp.img(i), o, e.threads)
			kernels.BiasAct(c.Out, hw, o, b, relu)
		}
	})
	pl.free(tmp)
}

func nodeKey(n node) string {
	switch t := n.(type) {
	case *ConvBN:
		if t.Key != "" {
			return t.Key // the reference's module (conv, BN, ReLU together)
		}
		return t.Conv
	case *Seq:
		return t.Key
	case *Mixed:
		return t.Key
	case *Residual:
		return t.Key
	}
	return ""
}

// ---- Mixed --------------------------------------------------------------------------------------------

// Mixed runs its branches on the same input and concatenates their outputs along channels, in order.
// Each branch writes straight into its channel slice of the output.
type Mixed struct {
	Key      string
	Branches []node
}

func (m *Mixed) outShape(path string, in Shape) (Shape, error) {
	p := join(path, m.Key)
	var out Shape
	for i, b := range m.Branches {
		s, err := b.outShape(p, in)
		if err != nil {
			return Shape{}, err
		}
		if i > 0 && (s.H != out.H || s.W != out.W) {
			name := p
			if name == "" { // flat checkpoints (Cadene, BVLC): name the block by its first layer
				m.params(path, in, func(q *param) {
					if name == "" {
						name = "block of " + q.layer.id
					}
				})
			}
			return Shape{}, fmt.Errorf("%s: branch %d gives %s, branch 0 gives %dx%d spatially", name, i, s, out.H, out.W)
		}
		out.C += s.C
		out.H, out.W = s.H, s.W
	}
	return out, nil
}

func (m *Mixed) params(path string, in Shape, decl func(*param)) {
	p := join(path, m.Key)
	for _, b := range m.Branches {
		b.params(p, in, decl)
	}
}

func (m *Mixed) plan(pl *planner, path string, in, out view) { m.planOwned(pl, path, in, out, false) }

// planOwned plans the block; owned says whether it may give its input's buffer back once read
// (Seq.planOwned). Run one after the other, the branches give back what they read as soon as its
// last reader is done with it: the block's input after the stacked heads (or the last branch that
// reads it), the heads' output once the last branch reading it has run its first node (v4's
// Mixed_4a: 2.8 MB no longer held through its 1×7, 7×1 and 3×3).
func (m *Mixed) planOwned(pl *planner, path string, in, out view, owned bool) {
	p := join(path, m.Key)
	if pl.threads > 1 && m.parallel(p, in.shape) && !pl.pool.mode.serial[m] {
		work, done := m.planHeads(pl, p, in)
		pl.hold(out.buf)
		m.planParallel(pl, p, work, out)
		done()
		return
	}
	order, c0 := make([]int, len(m.Branches)), make([]int, len(m.Branches))
	for i, b := range m.Branches {
		s, _ := b.outShape(p, in.shape)
		order[i] = i
		if i+1 < len(m.Branches) {
			c0[i+1] = c0[i] + s.C
		}
	}
	// The branches that read the block's input, not through the stacked heads, run before the heads
	// (in order of length, stably): their buffers are never held with the heads' output (GoogLeNet's
	// inception_3b: its pool branch's 256×28×28 max pool, 0.8 MB, at the peak of v1 on one and two
	// threads, 4.05 -> 3.71 / 3.79 MB). The heads then read the input last.
	headed := map[int]bool{}
	for _, mb := range m.stackedHeads(p) {
		headed[mb.i] = true
	}
	early := slices.DeleteFunc(slices.Clone(order), func(i int) bool { return headed[i] })
	if len(headed) > 0 && len(early) > 0 {
		slices.SortStableFunc(early, func(a, b int) int { return nodeLen(m.Branches[a]) - nodeLen(m.Branches[b]) })
		pl.hold(out.buf)
		for _, i := range early {
			s, _ := m.Branches[i].outShape(p, in.shape)
			m.Branches[i].plan(pl, p, in, out.channels(c0[i], s.C))
		}
		order = slices.DeleteFunc(order, func(i int) bool { return !headed[i] })
	}
	work, done := m.planHeads(pl, p, in)
	// The branches left that read the block's input run first, then those that read its stacked
	// heads' outputs, each in order of length, those of one node first (stably; each writes its own
	// channels, so the outputs do not change): the last branch to read a buffer gives it back after
	// its first node, and the block's input is then not held through a long branch while a pool or a
	// convolution alone after it still reads it (IRv2's Mixed_6a: 1.6 MB through its 1×1 → 3×3 →
	// 3×3/2 branch, at the one-thread plan's peak), nor through the heads' branches while its pool
	// branch waits (GoogLeNet's inception_3b: 0.8 MB through the 3×3, at the peak of v1-bn on one
	// thread, 4.74 -> 4.05 MB, and of v1 on two).
	slices.SortStableFunc(order, func(a, b int) int {
		if ra, rb := work[a].in.buf == in.buf, work[b].in.buf == in.buf; ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return nodeLen(work[a].n) - nodeLen(work[b].n)
	})
	// last[b]: the last branch reading buffer b, for the buffers the block may give back.
	last := map[*buffer]int{}
	for _, i := range order {
		if w := work[i]; w.in.buf != in.buf || owned {
			last[w.in.buf] = i
		}
	}
	if _, read := last[in.buf]; owned && !read {
		pl.free(in) // only the stacked heads read it
	}
	pl.hold(out.buf) // after the heads: out may take the memory of an input they alone read
	for _, i := range order {
		s, _ := m.Branches[i].outShape(p, in.shape)
		w, o := work[i], out.channels(c0[i], s.C)
		if j, ok := last[w.in.buf]; !ok || j != i {
			w.n.plan(pl, p, w.in, o)
			continue
		}
		if seq, ok := w.n.(*Seq); ok {
			seq.planOwned(pl, p, w.in, o, true) // gives it back after its first node
		} else {
			w.n.plan(pl, p, w.in, o)
		}
		pl.give(w.in.buf)
	}
	done()
}

// nodeLen returns the nodes of n run one after the other: a Seq's, else 1.
func nodeLen(n node) int {
	if s, ok := n.(*Seq); ok {
		return len(s.Nodes)
	}
	return 1
}

// stackNarrow is the width under which a branch's 1×1 head is worth stacking with its siblings'. Stacked,
// IRv2's three 320→32 heads at 35×35 take 438 µs against 595 alone (one thread); wide heads gain little
// (1088→192 and →128 at 17×17: 1119 against 1128 µs), and on two threads the stack, which runs before the
// branches can start side by side, made such blocks slower.
const stackNarrow = 128

// branchWork is what is left to plan of a branch once its head may have run with its siblings': a
// node and the view it reads.
type branchWork struct {
	n  node
	in view
}

// planHeads runs the 1×1 convolutions that begin several branches (a whole branch, or the first node of
// a Seq), when one of them is narrow (stackNarrow), as one GEMM over the block's input, their packed weights stacked (kernels.StackPacked): the
// input is packed once instead of once per branch, and narrow heads (IRv2's three 32-channel ones) fill
// the micro-kernel's 12-row tiles together. It returns each branch's remaining work, the branches without
// such a head unchanged, and a function that frees the heads' outputs once the branches are planned.
func (m *Mixed) planHeads(pl *planner, p string, in view) ([]branchWork, func()) {
	work := make([]branchWork, len(m.Branches))
	for i, b := range m.Branches {
		work[i] = branchWork{b, in}
	}
	ms := m.stackedHeads(p)
	if ms == nil {
		return work, func() {}
	}
	for _, mb := range ms {
		pl.macs += mb.conv.convShape(in.shape).MACs()
	}
	s := ms[0].conv.convShape(in.shape)
	ids, outs := stackMembers(ms)
	st, err := pl.weights.stack(s, ids, outs) // built by Load
	if err != nil {
		pl.fail(fmt.Errorf("layers %s at %dx%d: %w", strings.Join(ids, ", "), in.shape.H, in.shape.W, err))
		return work, func() {}
	}
	s.O = st.o
	heads := pl.alloc(Shape{st.o, in.shape.H, in.shape.W})
	relu, sc := ms[0].conv.ReLU, pl.scratch(s)
	pl.add(func(e *exec) {
		kernels.Conv2DPackedBatch(s, e.n, in.batch(), in.stride, st.w, st.b, heads.batch(), heads.stride, sc.buf.data, relu, sc.threadsFor(e))
	})
	for k, mb := range ms {
		h := heads.channels(st.offs[k], outs[k])
		if mb.seq == nil || len(mb.seq.Nodes) == 1 {
			work[mb.i] = branchWork{copyNode{}, h}
			continue
		}
		if key := nodeKey(mb.conv); pl.observe != nil && key != "" {
			name := join(mb.path, key)
			pl.add(func(*exec) { pl.observe(name, h) })
		}
		work[mb.i] = branchWork{&Seq{Key: mb.seq.Key, Nodes: mb.seq.Nodes[1:]}, h}
	}
	return work, func() { pl.free(heads) }
}

// stackMembers returns the weight ids and output channels of the members of a stack of heads.
func stackMembers(ms []headMember) (ids []string, outs []int) {
	for _, mb := range ms {
		ids, outs = append(ids, mb.id()), append(outs, mb.conv.Out)
	}
	return ids, outs
}

// headMember is a branch of a Mixed block that begins with a 1×1 convolution planHeads stacks: branch i,
// the convolution, the Seq it begins (nil: the branch is the convolution) and the path of its node.
type headMember struct {
	i    int
	conv *ConvBN
	seq  *Seq
	path string
}

// id returns the weight id of the member's convolution.
func (h headMember) id() string { return join(h.path, h.conv.Key, h.conv.Conv) }

// stackedHeads returns the branches of m (at path p) whose 1×1 heads planHeads runs stacked: two or more,
// with the same activation, one of them narrow (stackNarrow); nil when there are none. It depends on the
// network alone, not on the input's size.
func (m *Mixed) stackedHeads(p string) []headMember {
	var ms []headMember
	for i, b := range m.Branches {
		c, seq, cp := (*ConvBN)(nil), (*Seq)(nil), p
		switch t := b.(type) {
		case *ConvBN:
			c = t
		case *Seq:
			if len(t.Nodes) > 0 {
				if c0, ok := t.Nodes[0].(*ConvBN); ok {
					c, seq, cp = c0, t, join(p, t.Key)
				}
			}
		}
		if c != nil && c.pointwise() && (len(ms) == 0 || c.ReLU == ms[0].conv.ReLU) {
			ms = append(ms, headMember{i, c, seq, cp})
		}
	}
	narrow := false
	for _, mb := range ms {
		narrow = narrow || mb.conv.Out < stackNarrow
	}
	if len(ms) < 2 || !narrow {
		return nil
	}
	return ms
}

// eachStack calls f with every stack of heads in n (stackedHeads) and the shape of the convolution
// they make over n's input of shape in (that of its first member, for the stack's outputs): Load
// packs the members out of the huge-page arena, since their own packed weights only build the stack,
// and builds the stacks once bound.
func eachStack(n node, path string, in Shape, f func(s kernels.ConvShape, ms []headMember)) {
	walk(n, path, in, func(n node, path string, in Shape) {
		if m, ok := n.(*Mixed); ok {
			if ms := m.stackedHeads(join(path, m.Key)); ms != nil {
				f(ms[0].conv.convShape(in), ms)
			}
		}
	})
}

// walk calls visit with every node in n, the path of the block that holds it and its input shape,
// for one image of shape in: a block after the nodes it holds, so that the convolutions come in
// execution order (an Inception-ResNet block's projection after its branches).
func walk(n node, path string, in Shape, visit func(n node, path string, in Shape)) {
	switch t := n.(type) {
	case *Seq:
		p, x := join(path, t.Key), in
		for _, c := range t.Nodes {
			walk(c, p, x, visit)
			x, _ = c.outShape(p, x)
		}
	case *Mixed:
		for _, b := range t.Branches {
			walk(b, join(path, t.Key), in, visit)
		}
	case *Residual:
		walk(t.mixed(), join(path, t.Key), in, visit)
	}
	visit(n, path, in)
}

// copyNode copies its input to its output: a branch whose convolution ran in a stack of heads.
type copyNode struct{}

func (copyNode) outShape(_ string, in Shape) (Shape, error) { return in, nil }

func (copyNode) params(string, Shape, func(*param)) {}

func (copyNode) plan(pl *planner, _ string, in, out view) {
	pl.hold(out.buf)
	pl.add(func(e *exec) {
		for i := 0; i < e.n; i++ {
			parallelCopy(out.img(i), in.img(i), e.threads)
		}
	})
}

// parallelMaxHW is the largest feature map whose blocks run their branches side by side, one core each,
// rather than splitting each convolution across the cores: on these maps a convolution has too few output
// columns to keep several cores busy (a woken helper costs 20-130 µs here). Measured with inception bench
// at 2 threads, batch 1: 17×17 gains 17-20% on v1, v3, v4; 35×35 (every Inception block at the native
// sizes) 2-5% more.
var parallelMaxHW = 35 * 35

// parallel reports whether the branches should run concurrently, one core each: on small maps, when no
// branch holds most of the work.
func (m *Mixed) parallel(path string, in Shape) bool {
	if len(m.Branches) < 2 || in.H*in.W > parallelMaxHW {
		return false
	}
	var total, biggest int64
	for _, b := range m.Branches {
		macs := nodeMACs(b, path, in)
		total += macs
		biggest = max(biggest, macs)
	}
	return total > 0 && biggest*4 <= total*3
}

// nodeMACs counts the multiply-adds of the convolutions in n for one image of shape in.
func nodeMACs(n node, path string, in Shape) int64 {
	var macs int64
	eachConv(n, path, in, func(_ string, s kernels.ConvShape, _ float32) { macs += s.MACs() })
	return macs
}

// eachConv calls f with the weight id and shape of every convolution in n, for one image of shape in, in
// execution order.
func eachConv(n node, path string, in Shape, f func(id string, s kernels.ConvShape, scale float32)) {
	walk(n, path, in, func(n node, path string, in Shape) {
		switch t := n.(type) {
		case *ConvBN:
			f(join(path, t.Key, t.Conv), t.convShape(in), 1)
		case *Residual:
			p := join(path, t.Key)
			s, _ := t.mixed().outShape(p, in)
			proj := t.proj(in)
			f(join(p, proj.Key, proj.Conv), proj.convShape(s), t.Scale) // packed times Scale (Residual.plan)
		}
	})
}

// planParallel plans each branch as its own step list and runs the lists on up to threads goroutines,
// biggest first, each convolution single-threaded. A branch's buffers share no memory with its
// siblings', which run at the same time (buffer.par).
func (m *Mixed) planParallel(pl *planner, p string, work []branchWork, out view) {
	type branch struct {
		steps []func(*exec)
		macs  int64
	}
	bs := make([]branch, len(work))
	var total int64
	for i, w := range work {
		bs[i].macs = nodeMACs(w.n, p, w.in.shape)
		total += bs[i].macs
	}
	// When one branch holds most of the work (Inception-ResNet's long chains: 63–70% of a block's
	// multiply-adds; at most 58% in v3's and v4's Inception blocks), its convolutions run with all the
	// threads: the helpers, busy with the other branches at first, join each one as soon as they are free
	// (a convolution's work units are taken as they come); the kernels give the same bits for any thread
	// count. inception bench --threads 2, two alternating rounds: irv2 121/120 -> 112/118 ms, irv1 54/57 ->
	// 53/52 ms, v3 and v4 unchanged. Helping in every block measured 2-4% slower on v3 and v4. Choosing a
	// convolution's thread count when it started (1 while a sibling ran) left IRv1's block17 1×7, which
	// starts as its sibling branch0 (same shape as the chain's first 1×1) ends, mostly on one core: per-node
	// times at threads=2, block17 1.28 -> 1.20 ms and mixed_6a 4.24 -> 3.88 ms with joining. The chain
	// must run on the caller's goroutine for that (a helper running it would hand its convolutions to
	// itself); the caller takes the first branch before a helper wakes, nearly always.
	big := 0
	for i := range bs {
		if bs[i].macs > bs[big].macs {
			big = i
		}
	}
	help := bs[big].macs*5 > total*3
	par := new(int)
	if pl.pool.blocks == nil {
		pl.pool.blocks = map[*int]*Mixed{}
	}
	pl.pool.blocks[par] = m
	c0 := 0
	for i, w := range work {
		s, _ := w.n.outShape(p, w.in.shape)
		sub := &planner{n: pl.n, weights: pl.weights, threads: 1, convThreads: 1, pool: pl.pool, par: par, branch: i, observe: pl.observe}
		if help && i == big {
			sub.convThreads = pl.convThreads
		}
		w.n.plan(sub, p, w.in, out.channels(c0, s.C))
		c0 += s.C
		pl.macs += sub.macs
		if sub.err != nil {
			pl.fail(sub.err)
		}
		bs[i].steps = sub.steps
	}
	sort.SliceStable(bs, func(i, j int) bool { return bs[i].macs > bs[j].macs }) // big first
	pl.add(func(e *exec) {
		var next atomic.Int32
		work := func(w *exec) {
			for i := int(next.Add(1)) - 1; i < len(bs); i = int(next.Add(1)) - 1 {
				if help && i == 0 {
					w.threads = e.threads
				}
				for _, s := range bs[i].steps {
					s(w)
				}
				w.threads = 1
			}
		}
		// The workers are the convolutions' helper goroutines, still polling after the last
		// convolution, rather than goroutines started here, which an idle core may take a
		// millisecond to run. A worker loop runs on one goroutine at a time: the caller runs
		// the loops no helper took.
		nw := min(len(e.workers), len(bs))
		kernels.ParallelFor(nw, nw, func(lo, hi int) {
			for _, w := range e.workers[lo:hi] {
				work(w)
			}
		})
	})
}

// ---- Residual -----------------------------------------------------------------------------------------

// Residual is an Inception-ResNet block: branches concatenated, a biased 1×1 projection back to the input
// width (key segment Proj), then out = act(x + Scale*proj). NoReLU keeps the final activation off
// (IRv2's last block8).
type Residual struct {
	Key      string
	Branches []node
	Proj     string
	Scale    float32
	NoReLU   bool
}

func (r *Residual) mixed() *Mixed { return &Mixed{Branches: r.Branches} }

func (r *Residual) proj(in Shape) *ConvBN {
	return &ConvBN{Conv: r.Proj, Out: in.C, KH: 1, KW: 1, SH: 1, SW: 1, Bias: true}
}

func (r *Residual) outShape(path string, in Shape) (Shape, error) {
	p := join(path, r.Key)
	s, err := r.mixed().outShape(p, in)
	if err != nil {
		return Shape{}, err
	}
	if s.H != in.H || s.W != in.W {
		return Shape{}, fmt.Errorf("%s: branches give %s for a %s input; a residual block must keep the spatial size", p, s, in)
	}
	return in, nil
}

func (r *Residual) params(path string, in Shape, decl func(*param)) {
	p := join(path, r.Key)
	r.mixed().params(p, in, decl)
	s, _ := r.mixed().outShape(p, in)
	r.proj(in).params(p, s, decl)
}

// plan computes act(x + Scale·(bias + W·branches)) in the projection's GEMM: its weights and bias are
// packed times Scale, and it adds onto the shortcut x in out (in place when Seq.plan passes the input
// as the output, else onto a copy), so that the sum takes no pass over the three maps of its own
// (BenchmarkForward at one thread: IRv2 145.3 -> 142.9 ms, IRv1 70.5 -> 69.1 ms). Scaling the weights
// first rounds differently from scaling the sums, by about a unit in the last place of each product.
func (r *Residual) plan(pl *planner, path string, in, out view) {
	p := join(path, r.Key)
	s, _ := r.mixed().outShape(p, in.shape)
	tmp := pl.alloc(s)
	r.mixed().plan(pl, p, in, tmp)
	cs, w, b, ok := r.proj(in.shape).prepare(pl, p, s, r.Scale)
	if !ok {
		return
	}
	pl.hold(out.buf)
	relu, sc := !r.NoReLU, pl.scratch(cs)
	inPlace := sameView(in, out) // Seq.plan passes the input as the output when it can
	pl.add(func(e *exec) {
		for i := 0; i < e.n && !inPlace; i++ {
			parallelCopy(out.img(i), in.img(i), e.threads)
		}
		kernels.Conv2DPackedBatchAdd(cs, e.n, tmp.batch(), tmp.stride, w, b, out.batch(), out.stride, sc.buf.data, relu, sc.threadsFor(e))
	})
	pl.free(tmp)
}

// ---- Pooling ------------------------------------------------------------------------------------------

// Pool is max or average pooling. CeilMode rounds the output size up (Caffe always; PyTorch ceil_mode=True);
// CountIncludePad counts zero padding in the average's divisor (PyTorch's default, and Caffe's).
type Pool struct {
	Avg             bool
	K, S, Pad       int
	CeilMode        bool
	CountIncludePad bool
}

func (q *Pool) poolShape(in Shape) kernels.PoolShape {
	return kernels.PoolShape{C: in.C, H: in.H, W: in.W, KH: q.K, KW: q.K, SH: q.S, SW: q.S,
		PadT: q.Pad, PadL: q.Pad, PadB: q.Pad, PadR: q.Pad, Ceil: q.CeilMode}
}

func (q *Pool) outShape(path string, in Shape) (Shape, error) {
	s := q.poolShape(in)
	oh, ow := s.OutH(), s.OutW()
	if oh < 1 || ow < 1 {
		return Shape{}, fmt.Errorf("%s: %dx%d pooling does not fit a %s input", path, q.K, q.K, in)
	}
	return Shape{in.C, oh, ow}, nil
}

func (q *Pool) params(string, Shape, func(*param)) {}

func (q *Pool) plan(pl *planner, path string, in, out view) {
	pl.hold(out.buf)
	s := q.poolShape(in.shape)
	avg, cip := q.Avg, q.CountIncludePad
	pl.add(func(e *exec) {
		for i := 0; i < e.n; i++ {
			pool(s, avg, cip, in.img(i), out.img(i), e.threads)
		}
	})
}

// parallelMinFloats is the input size from which pool and parallelCopy split their work between the
// threads: below, about 10 µs of work, the helpers' start costs more than it saves.
const parallelMinFloats = 1 << 15

// pool runs the pooling s over one image, split by channels between up to threads cores.
func pool(s kernels.PoolShape, avg, cip bool, in, out []float32, threads int) {
	if s.C*s.H*s.W < parallelMinFloats {
		threads = 1
	}
	hw, ohw := s.H*s.W, s.OutH()*s.OutW()
	kernels.ParallelFor(threads, s.C, func(c0, c1 int) {
		p := s
		p.C = c1 - c0
		if avg {
			kernels.AvgPool2D(p, in[c0*hw:c1*hw], out[c0*ohw:c1*ohw], cip)
		} else {
			kernels.MaxPool2D(p, in[c0*hw:c1*hw], out[c0*ohw:c1*ohw])
		}
	})
}

// parallelCopy copies src into dst, split between up to threads cores.
func parallelCopy(dst, src []float32, threads int) {
	const chunk = 4096
	n := len(dst)
	if n < parallelMinFloats {
		threads = 1
	}
	kernels.ParallelFor(threads, (n+chunk-1)/chunk, func(lo, hi int) {
		i0, i1 := lo*chunk, min(hi*chunk, n)
		copy(dst[i0:i1], src[i0:i1])
	})
}

// ---- LRN ----------------------------------------------------------------------------------------------

// LRN is Caffe's local response normalisation across channels (BVLC GoogLeNet: size 5, alpha 1e-4, beta 0.75).
type LRN struct {
	Size           int
	Alpha, Beta, K float32
}

func (l *LRN) outShape(_ string, in Shape) (Shape, error) { return in, nil }
func (l *LRN) params(string, Shape, func(*param))         {}
func (l *LRN) plan(pl *planner, path string, in, out view) {
	pl.hold(out.buf)
	c, hw := in.shape.C, in.shape.H*in.shape.W
	if sameView(in, out) { // Seq.planOwned: only the LRN reads its input (inPlaceNode)
		pl.add(func(e *exec) {
			for i := 0; i < e.n; i++ {
				kernels.LRNInPlace(c, hw, l.Size, l.Alpha, l.Beta, l.K, out.img(i))
			}
		})
		return
	}
	pl.add(func(e *exec) {
		for i := 0; i < e.n; i++ {
			kernels.LRN(c, hw, l.Size, l.Alpha, l.Beta, l.K, in.img(i), out.img(i))
		}
	})
}

// ---- Head ---------------------------------------------------------------------------------------------

// Linear is one fully connected layer of a Head, with an optional batch norm after it (folded at load time;
// facenet's last_bn) and an optional ReLU.
type Linear struct {
	Key  string
	Out  int
	Bias bool
	BN   string
	ReLU bool
	Eps  float64
}

// Head is global average pooling followed by linear layers; its output is the logits.
type Head struct {
	Layers []Linear
}
