package model

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"sync"

	"gorgonia.org/tensor"

	"github.com/inception-cli/inception/internal/hugepage"
	"github.com/inception-cli/inception/internal/kernels"
)

// Net is a network declaration: a feature extractor, then global average pooling and the classifier layers.
type Net struct {
	Features node
	Head     []Linear
}

// Model is a network bound to its weights, ready to run. Forward plans its buffers once per input shape and
// batch size; the steady state allocates nothing but the returned tensor. A Model may be used from several
// goroutines; calls to Forward are serialised.
type Model struct {
	Variant *Variant
	// Threads is how many goroutines a convolution may use; 0 means GOMAXPROCS.
	Threads int
	// PackFor lists the square input sizes Load packs the convolution weights for; empty means the
	// variant's own size. Unless KeepWeights is set, Load drops each folded convolution's weights once
	// packed, so the model holds one copy of its weights; a forward pass at a size whose layers need
	// another packing then fails, saying so.
	PackFor []int
	// KeepWeights keeps the folded OIHW weights beside the packed ones: Layers (and so the ONNX export)
	// needs them, and every input size can be planned. It costs the weights' size again in memory.
	KeepWeights bool

	net    *Net
	params []*param
	store  *weightStore

	mu      sync.Mutex
	plans   map[[5]int]*compiled
	observe func(name string, out view)
}

// New returns the network of variant v without weights; Load binds them.
func New(v *Variant) *Model {
	m := &Model{Variant: v, net: v.net(), plans: map[[5]int]*compiled{}}
	in := Shape{3, v.Size, v.Size}
	m.net.Features.params("", in, func(p *param) { m.params = append(m.params, p) })
	feat, err := m.net.Features.outShape("", in)
	if err != nil {
		panic(fmt.Sprintf("model: variant %s is declared wrongly: %v", v.Name, err))
	}
	c := feat.C
	for _, l := range m.net.Head {
		ref := layerRef{id: l.Key, eps: l.Eps}
		m.params = append(m.params, &param{key: l.Key + ".weight", shape: []int{l.Out, c}, role: roleLinearWeight, layer: ref})
		if l.Bias {
			m.params = append(m.params, &param{key: l.Key + ".bias", shape: []int{l.Out}, role: roleLinearBias, layer: ref})
		}
		if l.BN != "" {
			declBN(l.BN, l.Out, ref, func(p *param) { m.params = append(m.params, p) })
		}
		c = l.Out
	}
	return m
}

// Params lists the tensors the model expects, in the reference's state-dict order.
func (m *Model) Params() []ParamSpec {
	out := make([]ParamSpec, len(m.params))
	for i, p := range m.params {
		out[i] = ParamSpec{Key: p.key, Shape: p.shape, Role: p.role}
	}
	return out
}

// Load binds the weights in src, folding batch norm. It checks that every key is used once with the right
// shape and reports every mismatch in one *BindError.
func (m *Model) Load(src Source) error {
	shapes, scales := map[string][]kernels.ConvShape{}, map[string]float32{}
	sizes := m.PackFor
	if len(sizes) == 0 {
		sizes = []int{m.Variant.Size}
	}
	for _, sz := range sizes {
		in := Shape{3, sz, sz}
		if _, err := m.net.Features.outShape("", in); err != nil {
			return fmt.Errorf("load %s for %dx%d inputs: %w", m.Variant.Name, sz, sz, err)
		}
		eachConv(m.net.Features, "", in, func(id string, s kernels.ConvShape, scale float32) {
			shapes[id], scales[id] = append(shapes[id], s), scale
		})
	}
	stacked := map[string]bool{}
	in := Shape{3, sizes[0], sizes[0]}
	eachStack(m.net.Features, "", in, func(_ kernels.ConvShape, ms []headMember) {
		for _, mb := range ms {
			stacked[mb.id()] = true
		}
	})
	// What the arena will hold, counted as it counts (each request rounded up to 16 floats): the
	// packed convolutions but the stacked heads, once per kernel layout; the linear layers; the stacks.
	round := func(n int) int { return (n + 15) &^ 15 }
	reserve := 0
	for _, p := range m.params {
		switch {
		case p.role == roleLinearWeight:
			reserve += round(prod(p.shape))
		case p.role == roleConvWeight && !stacked[p.layer.id]:
			layouts := map[int]bool{}
			for _, s := range shapes[p.layer.id] {
				if !layouts[s.PackLayout()] {
					layouts[s.PackLayout()] = true
					reserve += round(s.PackedLen())
				}
			}
		}
	}
	eachStack(m.net.Features, "", in, func(s kernels.ConvShape, ms []headMember) {
		_, outs := stackMembers(ms)
		reserve += round(kernels.StackedO(outs) * s.C * s.KH * s.KW)
	})
	store, err := bind(m.params, src, bindOptions{ignore: m.Variant.Ignore, keep: m.KeepWeights, shapes: shapes, scales: scales, stacked: stacked, reserve: reserve})
	if err != nil {
		return err
	}
	// The stacks now, so that their members' packed weights are garbage before the collection below,
	// not beside the first plan (IRv2: 1.5 MB). 1×1 heads pack the same for every input size.
	eachStack(m.net.Features, "", in, func(s kernels.ConvShape, ms []headMember) {
		if err == nil {
			ids, outs := stackMembers(ms)
			_, err = store.stack(s, ids, outs)
		}
	})
	if err != nil {
		return fmt.Errorf("load %s: %w", m.Variant.Name, err)
	}
	m.mu.Lock()
	m.store = store
	m.plans = map[[5]int]*compiled{}
	m.mu.Unlock()
	// The fold buffer and the checkpoint's decoded copies are garbage now, and the heap, grown by the
	// packed weights, would not collect them before the forward pass's buffers come on top: collect
	// now (a few ms; packed weights hold no pointers), and hand the freed pages back to the OS, since
	// the forward pass's buffers come from the weight store's arena, not from that space. Max RSS of
	// classifying one photo on one thread, with runtime.GC() instead: BVLC GoogLeNet 112 -> 97 MB,
	// v3 161 -> 157, IRv2 305-314 -> 296-298 (ordinary pages and runtime.GC(): 95, 159, 299.5).
	debug.FreeOSMemory()
	return nil
}

// Classes is the number of outputs of the last layer.
func (m *Model) Classes() int { return m.net.Head[len(m.net.Head)-1].Out }

// FeatureShape returns the shape of the feature map before global pooling for an h×w input.
func (m *Model) FeatureShape(h, w int) (Shape, error) {
	return m.net.Features.outShape("", Shape{3, h, w})
}

// MACs counts the multiply-adds of one forward pass of one h×w image (convolutions and linear layers).
func (m *Model) MACs(h, w int) (int64, error) {
	feat, err := m.FeatureShape(h, w)
	if err != nil {
		return 0, err
	}
	macs := nodeMACs(m.net.Features, "", Shape{3, h, w})
	c := feat.C
	for _, l := range m.net.Head {
		macs += int64(c) * int64(l.Out)
		c = l.Out
	}
	return macs, nil
}

// Forward runs the network on x, shaped [N,3,H,W] float32, and returns the logits, shaped [N,classes].
func (m *Model) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	sh := x.Shape()
	if len(sh) != 4 || sh[1] != 3 || x.Dtype() != tensor.Float32 {
		return nil, fmt.Errorf("forward %s: want a float32 [N,3,H,W] tensor, got %v %v", m.Variant.Name, x.Dtype(), sh)
	}
	data, ok := x.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("forward %s: input is not a dense float32 tensor", m.Variant.Name)
	}
	out := make([]float32, sh[0]*m.Classes())
	if err := m.ForwardRaw(data, sh[0], sh[2], sh[3], out); err != nil {
		return nil, err
	}
	return tensor.New(tensor.WithShape(sh[0], m.Classes()), tensor.WithBacking(out)), nil
}

// ForwardRaw runs the network on n images x (NCHW, 3×h×w each) and writes n×classes logits to out.
func (m *Model) ForwardRaw(x []float32, n, h, w int, out []float32) error {
	return m.Run(x, n, h, w, Outputs{Logits: out})
}

// Outputs says which results Run copies out for a batch of n images; nil fields are skipped.
type Outputs struct {
	Logits   []float32 // n×Classes()
	Pooled   []float32 // n×C: the globally pooled features the head reads (the image's embedding)
	Features []float32 // n×C×H×W: the last feature maps before pooling (FeatureShape), for class-activation maps
	// DropInput lets Run hand the pages of x back to the OS once it has copied x in, for a caller that
	// will not read x again: x then reads as zeros. One photo's input at 299 is 1.1 MB, resident beside
	// the plan through the whole pass otherwise.
	DropInput bool
}

// Run runs the network on n images x (NCHW, 3×h×w each) and copies the requested outputs.
func (m *Model) Run(x []float32, n, h, w int, o Outputs) error {
	if n < 1 || len(x) != n*3*h*w {
		return fmt.Errorf("forward %s: %d inputs do not fit a batch of %d 3×%d×%d images", m.Variant.Name, len(x), n, h, w)
	}
	feat, err := m.FeatureShape(h, w)
	if err != nil {
		return fmt.Errorf("forward %s at %dx%d: %w", m.Variant.Name, h, w, err)
	}
	for _, c := range []struct {
		name string
		buf  []float32
		want int
	}{{"logits", o.Logits, n * m.Classes()}, {"pooled features", o.Pooled, n * feat.C}, {"feature maps", o.Features, n * feat.Len()}} {
		if c.buf != nil && len(c.buf) != c.want {
			return fmt.Errorf("forward %s: %d %s do not fit a batch of %d (want %d)", m.Variant.Name, len(c.buf), c.name, n, c.want)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store == nil {
		return fmt.Errorf("forward %s: no weights loaded", m.Variant.Name)
	}
	threads := m.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	// A batch of at least one image per thread is split between the threads, each running the whole
	// network on its share with single-threaded kernels: no synchronisation per layer, and each core
	// keeps its own activations in its cache. The kernels give the same bits for any batch split and
	// thread count, so the results do not depend on the split.
	parts := 1
	if threads > 1 && n >= threads {
		parts = threads
	}
	plans := make([]*compiled, parts)
	for p := range plans {
		k := n / parts
		if p < n%parts {
			k++
		}
		t := threads
		if parts > 1 {
			t = 1
		}
		if plans[p], err = m.plan(k, h, w, t, p); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	i0 := 0
	for p, c := range plans {
		xs := x[i0*3*h*w : (i0+c.n)*3*h*w]
		if p == parts-1 {
			c.runOn(xs, o, i0, feat)
			break
		}
		wg.Add(1)
		go func(i0 int) { defer wg.Done(); c.runOn(xs, o, i0, feat) }(i0)
		i0 += c.n
	}
	wg.Wait()
	return nil
}

// plan returns the compiled network for a batch of n h×w images on threads threads; slot tells apart the
// plans of the shares of one batch that run at the same time.
func (m *Model) plan(n, h, w, threads, slot int) (*compiled, error) {
	key := [5]int{n, h, w, threads, slot}
	if c, ok := m.plans[key]; ok {
		return c, nil
	}
	c, err := m.compile(n, h, w, threads)
	if err != nil {
		return nil, err
	}
	// A plan's region is the largest allocation after the weights, and the garbage the caller made
	// before the first pass (decoding and resizing the first images) would stay resident beside it,
	// with that of the plans compile tried and dropped: the heap, grown by the weights, collects it
	// late. Collect it now, before the region's pages are first touched, and hand it back to the OS,
	// once per plan (a few ms). Max RSS of classifying one photo on one thread: v3 145.2 -> 142.2 MiB,
	// v4 226.3 -> 223.7, IRv2 278.0 -> 275.1; done after compile rather than before, v4 211.2 ->
	// 210.9 MiB, IRv1 131.6 -> 131.2.
	debug.FreeOSMemory()
	m.plans[key] = c
	return c, nil
}

// runOn runs the plan on its images x, the images i0… of a batch, and copies the requested outputs of
// that batch into o.
func (c *compiled) runOn(x []float32, o Outputs, i0 int, feat Shape) {
	if pre := c.prefix; pre != nil {
		k := pre.input.shape.Len()
		for i := 0; i < c.n; i++ {
			copy(pre.input.img(0), x[i*k:(i+1)*k])
			if o.DropInput {
				hugepage.Discard(x[i*k : (i+1)*k])
			}
			for _, s := range pre.steps {
				s(pre.exec)
			}
			copy(c.input.img(i), pre.prefixOut.img(0))
		}
	} else {
		copy(c.input.batch(), x)
		if o.DropInput {
			hugepage.Discard(x)
		}
	}
	for _, s := range c.steps {
		s(c.exec)
	}
	k := len(c.output) / c.n
	if o.Logits != nil {
		copy(o.Logits[i0*k:], c.output)
	}
	if o.Pooled != nil {
		copy(o.Pooled[i0*feat.C:], c.pooled)
	}
	if o.Features != nil {
		for i := 0; i < c.n; i++ {
			copy(o.Features[(i0+i)*feat.Len():(i0+i+1)*feat.Len()], c.features.img(i))
		}
	}
}

// ClassMap writes the class-activation map of class k for one image's feature maps f (C×H×W, from
// Outputs.Features) to dst (H×W): the head applied at each position instead of to the average. Every
// variant's head is affine (linear layers, BN folded, no activation), so the map's mean over positions is
// exactly the class's logit, and the map shows where the evidence for the class lies.
func (m *Model) ClassMap(f []float32, fs Shape, k int, dst []float32) error {
	if m.store == nil {
		return fmt.Errorf("class map %s: no weights loaded", m.Variant.Name)
	}
	if k < 0 || k >= m.Classes() {
		return fmt.Errorf("class map %s: class %d out of range [0,%d)", m.Variant.Name, k, m.Classes())
	}
	hw := fs.H * fs.W
	if len(f) != fs.Len() || len(dst) != hw {
		return fmt.Errorf("class map %s: %d features and %d outputs do not fit %s", m.Variant.Name, len(f), len(dst), fs)
	}
	// Pull class k's row back through the head: r·(W_L…W_1 x + …) = (r W_L…W_1)·x + bias terms.
	head := m.net.Head
	r := []float64{1}
	var bias float64
	idx := []int{k}
	for i := len(head) - 1; i >= 0; i-- {
		l := head[i]
		if l.ReLU {
			return fmt.Errorf("class map %s: layer %s has an activation; the map is defined for affine heads only", m.Variant.Name, l.Key)
		}
		lw := m.store.layer(l.Key)
		in := fs.C
		if i > 0 {
			in = head[i-1].Out
		}
		next := make([]float64, in)
		for j, o := range idx {
			if lw.b != nil {
				bias += r[j] * float64(lw.b[o])
			}
			row := lw.w[o*in : (o+1)*in]
			for c, v := range row {
				next[c] += r[j] * float64(v)
			}
		}
		r = next
		idx = make([]int, in)
		for c := range idx {
			idx[c] = c
		}
	}
	for p := 0; p < hw; p++ {
		s := bias
		for c, v := range r {
			s += v * float64(f[c*hw+p])
		}
		dst[p] = float32(s)
	}
	return nil
}

// compiled is a network planned for one batch size, input size and thread count: its buffers and steps.
type compiled = planner

// exec is what a step runs with: the batch size, how many threads its convolutions may use, and (on
// the main goroutine) one exec per worker for blocks whose branches run side by side.
type exec struct {
	n       int
	threads int
	workers []*exec
}

// buffer is memory a plan's steps use: an activation, or a convolution's scratch. Planning fixes its
// length and the span of planning events during which it is held; bufPool.place then gives every
// buffer of the plan its place in one region, buffers whose spans do not overlap sharing memory.
type buffer struct {
	n        int // float32s
	from, to int // the pool events at which it was taken (0: not yet, reserve) and given back (math.MaxInt: held to the end)
	// par and branch mark a buffer taken in branch branch of a block whose branches run side by
	// side (Mixed.planParallel): it must not share memory with its siblings' buffers.
	par     *int
	branch  int
	scratch bool   // a convolution's scratch, not an activation
	layer   string // a convolution's scratch that FewTiles and LowMem would shrink: its weight id (planMode.few)
	off     int    // place in the region, in float32s
	data    []float32
}

// conflicts reports whether a and b may be in use at the same time.
func (a *buffer) conflicts(b *buffer) bool {
	if a.par != nil && a.par == b.par && a.branch != b.branch {
		return true
	}
	return a.from < b.to && b.from < a.to
}

// bufPool holds the buffers of one plan.
type bufPool struct {
	bufs   []*buffer
	events int
	mode   planMode // how the plan was asked for
	bands  bool     // a step is a convPool
	offs   []int    // layout's placement, by buffer
	order  []int    // the order of the buffers that gives it (placeInOrder)
	end    int      // and the region's length in float32s
	// blocks maps a buffer's par to the block whose branches took it side by side
	// (Mixed.planParallel), for shrinkPeak (planMode.serial).
	blocks map[*int]*Mixed
}

// kinds tells which convolutions (by weight id) and blocks (*Mixed) of a network are alike, for
// shrinkPeak: a convolution's shape, a block's input and its branches' multiply-adds.
type kinds map[any]string

// kindsOf returns the kinds of m's network for h×w images.
func (m *Model) kindsOf(h, w int) kinds {
	k := kinds{}
	walk(m.net.Features, "", Shape{3, h, w}, func(n node, path string, in Shape) {
		switch t := n.(type) {
		case *ConvBN:
			k[t.id(path)] = fmt.Sprint("conv ", t.convShape(in))
		case *Mixed:
			kind := fmt.Sprint("block ", in)
			for _, b := range t.Branches {
				kind += fmt.Sprintf(" %d", nodeMACs(b, join(path, t.Key), in))
			}
			k[t] = kind
		}
	})
	return k
}

// settings counts the kinds of layers and blocks that mode sets FewTiles on or runs branch after
// branch: each kind is one choice, made for every layer or block of it alike. Inception's blocks come
// in stacks of the same block (v4's four Mixed_5, IRv2's ten block35), which hold the same peak: a
// plan lowers it only by setting them all.
func (k kinds) settings(mode planMode) int {
	set := map[any]bool{}
	add := func(key any) {
		if kind, ok := k[key]; ok {
			set[kind] = true
		} else {
			set[key] = true // a layer or block of its own kind
		}
	}
	for id := range mode.few {
		add(id)
	}
	for blk := range mode.serial {
		add(blk)
	}
	return len(set)
}

// place gives every buffer its memory once the plan is complete, in one region in huge pages
// (hugepage.Exact: a plan is used whole, so a region of its own makes no more resident than its
// size). Buffers are placed one after the other, each at the lowest offset clear of those placed
// before it whose use overlaps its own, in six orders: largest first (the greedy-by-size placement
// of TFLite's memory planner), first taken first, last taken first, longest held first, and largest
// size × time held and size² × time held first; the smallest region wins: no one order is best for
// every network (largest first fits IRv2 exactly, and left v4 40% above the most memory held at any
// one time before Mixed blocks held their outputs late; the last two orders fit the stems that
// batches of IRv2 and v1 run image by image, 7.13 -> 6.60 and 6.24 -> 6.10 MB, exactly, and IRv1 on
// two threads 13.98 -> 13.62 MB). The pool this replaced reused only a
// whole freed buffer large enough, and kept one scratch per thread beside the activations, sized for
// the largest convolution on 16 threads: the activations and scratch of one image on one thread
// took v3 22.4, v4 26.5, IRv2 25.7 MB, and take 9.8, 10.1, 10.7 MB placed (TestPlanPlacement).
// Before the region is made, improve tries to fit the buffers closer.
func (b *bufPool) place() {
	if b.offs == nil {
		b.layout()
	}
	b.improve()
	region := hugepage.Exact(b.end)
	for i, x := range b.bufs {
		x.off = b.offs[i]
		x.data = region[x.off : x.off+x.n : x.off+x.n]
	}
}

// layout finds place's placement (offs) and the region it takes (end) without allocating it.
func (b *bufPool) layout() {
	held := func(x *buffer) int { return min(x.to, b.events+1) - x.from }
	orders := []func(x, y *buffer) bool{
		func(x, y *buffer) bool { return x.n > y.n },
		func(x, y *buffer) bool { return x.from < y.from },
		func(x, y *buffer) bool { return held(x) > held(y) },
		func(x, y *buffer) bool { return x.n*held(x) > y.n*held(y) },
		func(x, y *buffer) bool { return x.from > y.from },
		func(x, y *buffer) bool { return float64(x.n)*float64(x.n*held(x)) > float64(y.n)*float64(y.n*held(y)) },
	}
	// compile lays out a dozen plans and more, and what they leave would be garbage on top of the heap
	// just before the region comes (IRv2 on two threads: 11 MB): the orders share their slices.
	var best, bestOrder []int
	end := 0
	order, offs, placed := make([]int, len(b.bufs)), make([]int, len(b.bufs)), make([]span, 0, len(b.bufs))
	for _, less := range orders {
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, j int) bool { return less(b.bufs[order[i]], b.bufs[order[j]]) })
		e := b.placeInOrder(order, offs, placed)
		if best == nil || e < end {
			best, offs, end = offs, best, e
			bestOrder, order = order, bestOrder
			if offs == nil {
				offs, order = make([]int, len(b.bufs)), make([]int, len(b.bufs))
			}
		}
	}
	b.offs, b.end, b.order = best, end, bestOrder
}

// improve moves one buffer at a time to another place in the order of b's layout, at random
// (seeded: a plan is the same every time), keeping each move whose region is no larger, for up to
// improveMoves moves or until the region is down to the most memory held at any one event, below
// which no layout goes. place's orders left batches of GoogLeNet and BN-Inception on one thread
// 5–14% above that once a block's input went back before its heads' branches (Mixed.planOwned):
// v2's three images 5.76 -> 5.14 MB for 5.12 held, v1's 5.79 -> 5.51, exactly.
func (b *bufPool) improve() {
	held := 0 // the most memory held at one event, as placeInOrder rounds it
	for e := 1; e <= b.events; e++ {
		h := 0
		for _, x := range b.bufs {
			if x.from <= e && e < x.to {
				h += (x.n + 15) &^ 15
			}
		}
		held = max(held, h)
	}
	n := len(b.bufs)
	if b.end <= held || n < 2 {
		return
	}
	r := rand.New(rand.NewPCG(1, uint64(n)))
	order, try, offs, placed := b.order, make([]int, n), make([]int, n), make([]span, 0, n)
	for range improveMoves {
		copy(try, order)
		i, j := r.IntN(n), r.IntN(n-1)
		x := try[i]
		try = slices.Insert(slices.Delete(try, i, i+1), j, x)
		if e := b.placeInOrder(try, offs, placed); e <= b.end {
			order, try = try, order
			b.end = e
			copy(b.offs, offs)
			if e <= held {
				break
			}
		}
	}
	b.order = order
}

// improveMoves bounds improve's moves: v2's three images reach what they hold at once in under 1 ms;
// where no move helps, 300 took 12 ms (IRv1's three images, 142 buffers), once per plan.
const improveMoves = 300

// span is a placed buffer: its index in bufPool.bufs and its offsets.
type span struct{ i, off, end int }

// placeInOrder places the buffers b.bufs[order[0]], b.bufs[order[1]], … one after the other, each at
// the lowest offset (64-byte aligned) clear of those placed before it that it conflicts with; it
// writes the offsets into offs by buffer index, keeps the placed buffers in placed (its room), and
// returns the end of the highest.
func (b *bufPool) placeInOrder(order, offs []int, placed []span) (end int) {
	placed = placed[:0] // by offset
	for _, i := range order {
		x := b.bufs[i]
		size := (x.n + 15) &^ 15
		off := 0
		for _, y := range placed {
			if !x.conflicts(b.bufs[y.i]) {
				continue
			}
			if y.off >= off+size {
				break
			}
			off = max(off, y.end)
		}
		offs[i] = off
		k := sort.Search(len(placed), func(k int) bool { return placed[k].off > off })
		placed = slices.Insert(placed, k, span{i, off, off + size})
		end = max(end, off+size)
	}
	return end
}

// planner turns a network into a list of steps over buffers allocated once. Buffers are taken and given
// back at plan time in execution order, and place lets a buffer given back share memory only with
// those taken later.
type planner struct {
	n       int
	steps   []func(*exec)
	weights *weightStore
	threads int // threads of the run being planned; 1 inside a branch planned to run on its own core
	// convThreads is the most threads the convolutions planned here run with, which their scratch is
	// sized for: threads, but inside a branch that may call in the other cores (planParallel's help)
	// the run's.
	convThreads int
	macs        int64
	pool        *bufPool
	par         *int // set inside a branch of a block whose branches run side by side: see buffer
	branch      int
	input       view
	output      []float32
	prefix      *planner  // set: the network's first nodes, planned for one image, run per image first
	prefixOut   view      // the prefix's output, copied into input image by image
	err         error     // the first planning error
	features    view      // the last feature maps, before global pooling
	pooled      []float32 // their global average, the head's input
	exec        *exec
	// observe, when set before planning, is called after every node of a Seq with its output (tests use
	// it to find where a mismatch with a reference starts).
	observe func(name string, out view)
}

func (p *planner) add(s func(*exec)) { p.steps = append(p.steps, s) }

// fail records the first error met while planning.
func (p *planner) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// take returns a new buffer of n float32s, held from now until given back.
func (p *planner) take(n int) *buffer {
	p.pool.events++
	b := &buffer{n: n, from: p.pool.events, to: math.MaxInt, par: p.par, branch: p.branch}
	p.pool.bufs = append(p.pool.bufs, b)
	return b
}

// give gives b back: steps planned from now on may use its memory. Giving it back again changes
// nothing.
func (p *planner) give(b *buffer) {
	if b.to != math.MaxInt {
		return
	}
	p.pool.events++
	b.to = p.pool.events
}

// alloc returns a fresh batch view of shape s.
func (p *planner) alloc(s Shape) view {
	return view{buf: p.take(p.n * s.Len()), stride: s.Len(), shape: s}
}

// reserve returns a batch view of shape s whose buffer is held only from when hold is called, by the
// node that writes it, just before the first step that does: a Seq's intermediate maps and the
// network's last feature maps need no memory while the steps before their writer run. A Mixed block
// holds its output after its stacked heads, so that the output can take the memory of an input only
// the heads read (v4's Mixed_4a: v4's plan 11.8 -> 10.1 MB); the features take none through the
// network (v3: 0.5 MB at its peak). Until held, a buffer conflicts with every other.
func (p *planner) reserve(s Shape) view {
	b := &buffer{n: p.n * s.Len(), to: math.MaxInt, par: p.par, branch: p.branch}
	p.pool.bufs = append(p.pool.bufs, b)
	return view{buf: b, stride: s.Len(), shape: s}
}

// hold starts holding a buffer returned by reserve, if not yet held.
func (p *planner) hold(b *buffer) {
	if b.from == 0 {
		p.pool.events++
		b.from = p.pool.events
	}
}

// free gives back a view's buffer taken by alloc.
func (p *planner) free(v view) { p.give(v.buf) }

// convScratch is the scratch of one convolution step, and the threads it is sized for.
type convScratch struct {
	buf     *buffer
	threads int
}

// scratch returns the scratch of a convolution of shape s over the planner's batch. It must be called
// once the buffers the step reads and writes are taken and before any of them is given back: it is
// taken and given back at once, so it shares memory with no buffer held at the time, and only with
// other steps' scratch and the activations of other stages of the network.
func (p *planner) scratch(s kernels.ConvShape) convScratch {
	b := p.take(s.BatchScratchLen(p.n, p.convThreads))
	b.scratch = true
	p.give(b)
	return convScratch{b, p.convThreads}
}

// threadsFor returns the threads a step running on e may give its convolution: e's, up to what the
// scratch is sized for.
func (c convScratch) threadsFor(e *exec) int { return min(e.threads, c.threads) }

// compile plans the network for n images of h×w on threads threads and lays out its memory. Of the
// plans with and without convPool steps, it keeps the one whose memory is smaller, with them when
// equal: banding trades a little time for memory on some layers (v3's Conv2d_4a_3x3 and its pool on
// one thread: 3.56 -> 3.72 ms; Conv2d_2b_3x3 and its pool 3.13 -> 2.94), and lowers a plan's memory
// only as far as its next peak without a pair (one thread: v3 9.76 -> 7.58 MB; IRv1 9.76 -> 9.62,
// whose 71×71 Conv2d_4a_3x3 has no pool after it). For one image on one thread it then tries the
// kept plan with its convolutions' LowMem set (kernels.ConvShape.LowMem: large strided inputs copied
// in bands, at up to 5% of those layers' time) and keeps that only when smaller: IRv1 9.62 -> 8.54
// MB and v4 9.80 -> 8.64, whose 3×3/2 convolutions of 192×71×71 maps held a 4.0 MB copy at their
// peaks (a whole pass, 40 alternated in one process: IRv1 61.67 -> 62.01 ms, v4 113.67 -> 112.45),
// where the kernels copy them: with AVX-512, those convolutions read their input in place and
// shrinkPeak alone gives the same plans.
// For one image, on any threads, it last plans the convolutions at the peak with less scratch
// (shrinkPeak). One thread: v1 6.07 -> 4.82 MB, v2 5.21 -> 4.49, IRv1 8.54 -> 7.43; two threads
// (convPool steps then in slabs, a band buffer and scratch per thread; the workers splitting a
// FewTiles layer's chunk, and v1's and v2's block at the peak run branch after branch): v1 8.94 ->
// 5.04, v2 6.88 -> 4.80, v3 and IRv2 11.51 -> 7.94, IRv1 11.51 -> 8.18, v4 14.65 -> 9.97 (AVX-512).
// Whole passes, 21 rounds of 3 alternated in one process, new/old time: 0.97–1.03, inside the
// machine's noise; the split chunks and blocks branch after branch, 8–12 alternated rounds of
// inception bench at two threads: v1 1.01, v2 0.98, IRv1 1.015. Since then: v4 on two threads 8.87 MB (kinds.settings), v2 on one 4.01 (its stem's input in
// LowMem's small windows), v1 4.52 and 4.80 (its LRNs in place, and inception_3b's input given back
// before its heads' branches: Mixed.planOwned); then, with both threads on each band of a convPool
// and conv1's GEMM banded into pool1, on two threads v1 4.24, v2 3.99, v3 6.85, v4 8.33, IRv2 7.61,
// and v2 on one 3.14; with Winograd rows in whole strips (winoLD), one / two threads: v1 4.05 /
// 4.05, v2 3.06 / 3.36, v3 6.37 / 6.55, v4 8.53 / 8.18, IRv1 7.21 / 7.73, IRv2 6.37 / 7.02.
func (m *Model) compile(n, h, w, threads int) (*compiled, error) {
	p, err := m.planOnce(n, h, w, threads, planMode{})
	if err != nil {
		return nil, err
	}
	if p.banded() {
		q, err := m.planOnce(n, h, w, threads, planMode{noBands: true})
		if err != nil {
			return nil, err
		}
		if q.regionLen() < p.regionLen() {
			p = q
		}
	}
	if threads == 1 && n == 1 { // a batch's plans are large anyway: there time comes first
		mode := p.pool.mode
		mode.lowMem = true
		q, err := m.planOnce(n, h, w, threads, mode)
		if err != nil {
			return nil, err
		}
		if q.regionLen() < p.regionLen() {
			p = q
		}
	}
	if n == 1 {
		if p, err = m.shrinkPeak(p, h, w, threads); err != nil {
			return nil, err
		}
	}
	if p.prefix != nil {
		p.prefix.pool.place()
	}
	p.pool.place()
	return p, nil
}

// shrinkPeak plans again, with FewTiles and LowMem (Winograd chunks of fewer tiles, a strided or
// padded input copied in bands), the convolutions whose scratch holds up the end of p's region, and
// with their branches one after the other the blocks whose branches' buffers side by side do
// (bufPool.peakLayers), then those holding up the new plan's, as long as the region shrinks. Of those
// plans it keeps the last whose saving, against p's, is minShrink of p's region for each kind of layer
// and block set (kinds.settings), and on one thread at least minShrinkAll in all (p if none), and then
// drops, one kind at a time, each setting whose plan without it is no larger (a block that held the
// peak beside a layer, when the layer alone would have done: v3's Mixed_5c and 5d on two threads).
// Only the layers and blocks at the peak pay (up to 5% of a layer's time; a block's branches side by
// side gained it 2–5% on 35×35 maps and 17–20% on 17×17); a pass with them all set would pay
// everywhere.
func (m *Model) shrinkPeak(p0 *compiled, h, w, threads int) (*compiled, error) {
	best, p := p0, p0
	end0 := float64(p0.regionLen())
	alike := m.kindsOf(h, w)
	var ids []string // the settings in the order they were made, for drop
	var blocks []*Mixed
	for range maxShrinks {
		end := p.regionLen()
		i, b := p.pool.peakLayers()
		if len(i)+len(b) == 0 {
			break
		}
		mode := p.pool.mode
		mode.few, mode.serial = with(mode.few, i), with(mode.serial, b)
		q, err := m.planOnce(1, h, w, threads, mode)
		if err != nil {
			return nil, err
		}
		if q.regionLen() >= end {
			break
		}
		p, ids, blocks = q, append(ids, i...), append(blocks, b...)
		if saved := end0 - float64(p.regionLen()); saved >= minShrink*end0*float64(alike.settings(mode)) && (saved >= minShrinkAll*end0 || threads > 1) {
			best = p
		}
	}
	drop := func(mode planMode, slack float64) error {
		q, err := m.planOnce(1, h, w, threads, mode)
		if err == nil && float64(q.regionLen()) <= float64(best.regionLen())*(1+slack) {
			best = q
		}
		return err
	}
	// A kind of layer or block is dropped whole, as it counts (settings): one plan for v4's eight
	// 35×35 3×3 layers, not eight.
	for _, b := range blocks {
		if mode := best.pool.mode; mode.serial[b] {
			mode.serial = without(alike, mode.serial, b)
			if err := drop(mode, minSerial); err != nil {
				return nil, err
			}
		}
	}
	for _, id := range ids {
		if mode := best.pool.mode; mode.few[id] {
			mode.few = without(alike, mode.few, id)
			if err := drop(mode, 0); err != nil {
				return nil, err
			}
		}
	}
	return best, nil
}

// with returns a copy of set with keys added.
func with[K comparable](set map[K]bool, keys []K) map[K]bool {
	set = maps.Clone(set)
	if set == nil {
		set = map[K]bool{}
	}
	for _, k := range keys {
		set[k] = true
	}
	return set
}

// without returns a copy of set without key and the keys of its kind (kinds.settings).
func without[K comparable](alike kinds, set map[K]bool, key K) map[K]bool {
	set = maps.Clone(set)
	kind, ok := alike[key]
	for k := range set {
		if k == key || ok && alike[k] == kind {
			delete(set, k)
		}
	}
	return set
}

// minSerial is the least share of the region a block run branch after branch must save to be kept
// (shrinkPeak): its branches side by side gained it 2–5% of its time on 35×35 maps. IRv1's mixed_6a
// saved 3.2% of the two-thread plan (8.44 -> 8.18 MB) for 1.5–2% of the pass, v4's Mixed_6a 2.2%.
const minSerial = 0.05

// maxShrinks bounds shrinkPeak's plans: each moves the peak to another step of the network.
const maxShrinks = 8

// minShrink is the least share of the region shrinkPeak's plan must save for each kind of layer it
// sets FewTiles on or block it runs branch after branch: v3 on one thread set two 35×35 layers more
// for 0.12 MB of 6.16. IRv1 on two threads saves 0.18 MB of 10.61 with its second layer and 0.75 MB
// with its third: the saving counts from the first plan, not step by step. Counted layer by layer,
// v4 on two threads kept 9.97 MB: its last plan, 8.87 MB, set FewTiles on eleven layers, eight of them
// the 3×3 layers of its four Mixed_5 blocks, alike, which it runs in 0.999 of the time (12
// alternated rounds of inception bench).
const minShrink = 0.025

// minShrinkAll is the least share of the region shrinkPeak must save in all for its plan to be kept,
// on one thread: there IRv2 saved 2.7% (6.60 -> 6.42 MB, its Conv2d_4a in chunks of 36 tiles) for a
// pass 0.5–1.2% slower (10 alternated rounds of inception bench), v3 6.7% (Conv2d_2a and 4a) for
// 1.5–2.5%, and with Mixed_5c's and 5d's 3×3 layers, one kind, 8.5% (6.04 MB) for 2.9%, v4 6.1% for
// 0.4–1.3%, all three well within the memory bound without. On two threads, where the
// process is over that bound, minShrink alone decides: v4 saves 18% (10.81 -> 8.87 MB).
const minShrinkAll = 0.10

// peakLayers returns what holds up the end of the pool's layout: a buffer that ends the region, the
// buffers it conflicts with that end where it starts (placeInOrder put it just above them), and so on
// down. Of those, ids are the weight ids of the convolutions not yet planned with FewTiles whose
// scratch FewTiles and LowMem would shrink (buffer.layer), blocks those whose branches took theirs
// side by side (bufPool.blocks): run one after the other, the branches share their memory.
func (b *bufPool) peakLayers() (ids []string, blocks []*Mixed) {
	size := func(x *buffer) int { return (x.n + 15) &^ 15 }
	var stack []int
	seen := make([]bool, len(b.bufs))
	for i, x := range b.bufs {
		if b.offs[i]+size(x) == b.end {
			stack, seen[i] = append(stack, i), true
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x := b.bufs[i]
		if x.layer != "" && !b.mode.few[x.layer] && !slices.Contains(ids, x.layer) {
			ids = append(ids, x.layer)
		}
		if blk, ok := b.blocks[x.par]; ok && !slices.Contains(blocks, blk) {
			blocks = append(blocks, blk)
		}
		for j, y := range b.bufs {
			if !seen[j] && b.offs[j]+size(y) == b.offs[i] && x.conflicts(y) {
				stack, seen[j] = append(stack, j), true
			}
		}
	}
	return ids, blocks
}

// banded reports whether p has convPool steps.
func (p *planner) banded() bool { return p.pool.bands || p.prefix != nil && p.prefix.pool.bands }

// regionLen returns the float32s of p's memory, its prefix's included.
func (p *planner) regionLen() int {
	n := 0
	for _, q := range []*planner{p, p.prefix} {
		if q != nil {
			if q.pool.offs == nil { // a plan's buffers are fixed once planned
				q.pool.layout()
			}
			n += q.pool.end
		}
	}
	return n
}

// planMode is how planOnce plans: without convPool steps (noBands); with the convolutions' LowMem set
// (kernels.ConvShape.LowMem: on one thread, large strided inputs copied in bands whatever the weights);
// with FewTiles and LowMem set on the convolutions few holds, by weight id, and the blocks serial holds
// run branch after branch (shrinkPeak).
type planMode struct {
	noBands, lowMem bool
	few             map[string]bool
	serial          map[*Mixed]bool // blocks whose branches run one after the other on several threads
}

// planOnce plans the network (compile) in mode, without laying out its memory.
func (m *Model) planOnce(n, h, w, threads int, mode planMode) (*compiled, error) {
	in := Shape{3, h, w}
	feat, err := m.net.Features.outShape("", in)
	if err != nil {
		return nil, fmt.Errorf("forward %s at %dx%d: %w", m.Variant.Name, h, w, err)
	}
	p := &planner{n: n, weights: m.store, threads: threads, convThreads: threads, pool: &bufPool{mode: mode}, observe: m.observe}
	features := m.net.Features
	if seq, ok := features.(*Seq); ok && n > 1 && threads == 1 {
		// A batch on one thread runs its large maps image by image (prefix), the rest batched.
		if k, mid := seq.batchFrom(in); k > 0 {
			pre := &planner{n: 1, weights: m.store, threads: 1, convThreads: 1, pool: &bufPool{mode: mode}, observe: m.observe}
			// The prefix's output is held from when its last node writes it (reserve), like the features
			// of a whole plan: taken first, it sat below the stem's large maps (IRv2, 3 images: 8.44 -> 7.13 MB).
			pre.input, pre.prefixOut = pre.alloc(in), pre.reserve(mid)
			planInput(pre, &Seq{Key: seq.Key, Nodes: seq.Nodes[:k]}, pre.input, pre.prefixOut)
			if pre.err != nil {
				return nil, fmt.Errorf("forward %s at %dx%d: %w", m.Variant.Name, h, w, pre.err)
			}
			pre.exec = &exec{n: 1, threads: 1}
			pre.exec.workers = []*exec{{n: 1, threads: 1}}
			p.prefix, p.macs = pre, pre.macs
			features, in = &Seq{Key: seq.Key, Nodes: seq.Nodes[k:]}, mid
		}
	}
	x := p.alloc(in)
	p.input = x
	f := p.reserve(feat)
	planInput(p, features, x, f)
	if p.err != nil {
		return nil, fmt.Errorf("forward %s at %dx%d: %w", m.Variant.Name, h, w, p.err)
	}
	hw, fc := feat.H*feat.W, feat.C
	pooled := make([]float32, n*fc)
	p.features, p.pooled = f, pooled
	p.add(func(e *exec) {
		for i := 0; i < e.n; i++ {
			kernels.GlobalAvgPool(fc, hw, f.img(i), pooled[i*fc:(i+1)*fc])
		}
	})
	cur, c := pooled, fc
	for _, l := range m.net.Head {
		lw := m.store.layer(l.Key)
		next := make([]float32, n*l.Out)
		in, out, relu := c, l.Out, l.ReLU
		src := cur
		p.add(func(e *exec) {
			kernels.Linear(e.n, in, out, src, lw.w, lw.b, next)
			if relu {
				kernels.ReLU(next)
			}
		})
		cur, c = next, l.Out
	}
	p.output = cur
	// One exec per thread: the first runs the steps; the others serve the blocks whose branches run
	// concurrently.
	p.exec = &exec{n: n, threads: threads}
	p.exec.workers = []*exec{{n: n, threads: 1}}
	for t := 1; t < threads; t++ {
		p.exec.workers = append(p.exec.workers, &exec{n: n, threads: 1})
	}
	return p, nil
}

// planInput plans features from the network's input x to f. A Seq may overwrite x, or give its memory
// to later steps, once its first node has read it: runOn copies the images in before every pass.
func planInput(p *planner, features node, x, f view) {
	if seq, ok := features.(*Seq); ok {
		seq.planOwned(p, "", x, f, true)
		return
	}
	p.hold(f.buf)
	features.plan(p, "", x, f)
}

// batchFrom returns the index of the first of s's nodes that a batch should run batched, and its input
// shape, when the nodes before it are better run image by image: 0 when none are. On one thread, a batch
// of 299×299 images ran 35×35 and larger maps slower per image than one image at a time (IRv1, batch 4
// against 1: 71×71 and 35×35 stages 6–18% slower, their activations four times over no longer in L2),
// and 17×17 and smaller maps faster (1–4%: the GEMMs' columns and weight reuse grow with the batch).
func (s *Seq) batchFrom(in Shape) (int, Shape) {
	p := join("", s.Key)
	for i, n := range s.Nodes {
		if i > 0 && in.H*in.W <= batchMaxHW {
			return i, in
		}
		var err error
		if in, err = n.outShape(p, in); err != nil {
			return 0, Shape{}
		}
	}
	return 0, Shape{}
}

// batchMaxHW is the largest map a batch runs batched on one thread (batchFrom).
const batchMaxHW = 17 * 17
