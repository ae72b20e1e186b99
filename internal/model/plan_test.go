package model

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"unsafe"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/hugepage"
	"github.com/inception-cli/inception/internal/kernels"
)

func addr(s []float32) uintptr { return uintptr(unsafe.Pointer(&s[0])) }

// TestPlanPlacement checks bufPool.place on the plans of every variant (one image on one and two
// threads, a batch of three on one thread, whose large maps run image by image in a prefix plan): no
// two buffers that may be in use at once share memory; and for one image on one thread, the region
// (all activations and scratch) is within the memory budget beyond the weights, 1.5 times the
// two largest activations of the network, and no more than 5% above the most memory held at any one time (at most
// 1.5% for all of them, in the best of place's four orders). On two threads, the
// buffers of branches running side by side may not share memory even when their spans of events do
// not overlap, so that sum is no bound.
func TestPlanPlacement(t *testing.T) {
	for _, v := range variants {
		m := fillModel(t, v, "plan")
		for _, c := range []struct{ n, threads int }{{1, 1}, {1, 2}, {3, 1}} {
			t.Run(fmt.Sprintf("%s/n%d/threads%d", v.Name, c.n, c.threads), func(t *testing.T) {
				p, err := m.compile(c.n, v.Size, v.Size, c.threads)
				if err != nil {
					t.Fatal(err)
				}
				pools := []*bufPool{p.pool}
				if p.prefix != nil {
					pools = append(pools, p.prefix.pool)
				}
				for _, pool := range pools {
					checkPlacement(t, pool, c.threads == 1)
				}
				if c.n == 1 && c.threads == 1 {
					// The network's activations, not the plan's buffers: a convPool step holds no
					// buffer for its convolution's output.
					var acts []int
					walk(m.net.Features, "", Shape{3, v.Size, v.Size}, func(n node, path string, in Shape) {
						out, _ := n.outShape(path, in)
						acts = append(acts, out.Len())
					})
					slices.Sort(acts)
					budget := 1.5 * float64(acts[len(acts)-1]+acts[len(acts)-2])
					if end := regionEnd(p.pool); float64(end) > budget {
						t.Errorf("region of %.1f MB, over 1.5 × the two largest activations (%.1f MB)", float64(end)*4/1e6, budget*4/1e6)
					}
				}
			})
		}
	}
}

func checkPlacement(t *testing.T, pool *bufPool, tight bool) {
	t.Helper()
	end, peak := 0, 0
	for i, a := range pool.bufs {
		b0 := pool.bufs[0]
		if len(a.data) != a.n || addr(a.data)-addr(b0.data) != 4*uintptr(a.off-b0.off) {
			t.Fatalf("buffer %d (%d floats at %d) is not at its place in the region", i, a.n, a.off)
		}
		end = max(end, a.off+a.n)
		for _, b := range pool.bufs[:i] {
			// In use at once: held over overlapping spans of events, or taken by sibling branches that
			// run side by side (spelled out here rather than through buffer.conflicts, which this checks).
			siblings := a.par != nil && a.par == b.par && a.branch != b.branch
			if (siblings || a.from < b.to && b.from < a.to) && a.off < b.off+b.n && b.off < a.off+a.n {
				t.Fatalf("buffers of %d floats at %d (events %d–%d) and %d at %d (%d–%d) overlap", a.n, a.off, a.from, a.to, b.n, b.off, b.from, b.to)
			}
		}
	}
	for e := 1; e <= pool.events; e++ {
		held := 0
		for _, b := range pool.bufs {
			if b.from <= e && e < b.to {
				held += b.n
			}
		}
		peak = max(peak, held)
	}
	if tight && float64(end) > 1.05*float64(peak) {
		t.Errorf("region of %.1f MB for at most %.1f MB held at once", float64(end)*4/1e6, float64(peak)*4/1e6)
	}
	t.Logf("region %.1f MB, at most %.1f MB held at once", float64(end)*4/1e6, float64(peak)*4/1e6)
}

// regionEnd returns the end of the highest buffer of a placed pool, in float32s.
func regionEnd(pool *bufPool) int {
	end := 0
	for _, b := range pool.bufs {
		end = max(end, b.off+b.n)
	}
	return end
}

// stridedCopies reports whether the kernels in use copy a stride-2 convolution's input into stride
// phases, which LowMem does in bands, rather than read it in place (AVX-512 and the portable
// kernels: kernels.ConvShape.BatchScratchLen counts no copy): IRv1's Conv2d_4b and v4's Mixed_5a
// then copy 192×71×71 maps.
func stridedCopies() bool {
	s := kernels.ConvShape{C: 192, H: 71, W: 71, O: 192, KH: 3, KW: 3, SH: 2, SW: 2}
	low := s
	low.LowMem = true
	return low.BatchScratchLen(1, 1) < s.BatchScratchLen(1, 1)
}

// TestCompileKeepsBandsThatSaveMemory checks compile's choice between the plans with and without
// convPool steps, and on one thread with and without LowMem convolutions, for every variant on one
// and two threads: it takes no more memory than any of them; v3, v4 and IRv2 on one thread run their
// stems' convolution and pool (v4: and Mixed_3a) band by band, and v4 and IRv1 copy their 71×71
// stride-2 inputs in bands where the kernels copy them (stridedCopies).
func TestCompileKeepsBandsThatSaveMemory(t *testing.T) {
	for _, v := range variants {
		m := fillModel(t, v, "plan")
		for _, threads := range []int{1, 2} {
			p, err := m.compile(1, v.Size, v.Size, threads)
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range []planMode{{}, {noBands: true}, {lowMem: true}, {noBands: true, lowMem: true}} {
				if mode.lowMem && threads > 1 {
					continue
				}
				q, err := m.planOnce(1, v.Size, v.Size, threads, mode)
				if err != nil {
					t.Fatal(err)
				}
				if p.regionLen() > q.regionLen() {
					t.Errorf("%s on %d threads: compiled plan of %d floats, %d with %+v", v.Name, threads, p.regionLen(), q.regionLen(), mode)
				}
			}
			if want := threads == 1 && (v.Name == "v3" || v.Name == "v4" || v.Name == "irv2"); want && !p.banded() {
				t.Errorf("%s on %d threads: no convolution and pool run band by band", v.Name, threads)
			}
			if want := threads == 1 && (v.Name == "v4" || v.Name == "irv1") && stridedCopies(); want != p.pool.mode.lowMem {
				t.Errorf("%s on %d threads: LowMem %t, want %t", v.Name, threads, p.pool.mode.lowMem, want)
			}
		}
	}
}

// TestConvPoolSink feeds convPoolSink the rows of a map in bands of every size from 1 to 9, as
// kernels.Conv2DPackedBands writes them, and checks its output against the whole map's max pool, in
// floor and in ceil mode (a partial last window). Each phase's units run in ranges, last first, as
// the threads may take them.
func TestConvPoolSink(t *testing.T) {
	const c, h, w = 3, 23, 11
	r := rand.New(rand.NewPCG(3, 4))
	full := make([]float32, c*h*w)
	for i := range full {
		full[i] = r.Float32()*2 - 1
	}
	for _, k := range [][3]int{{3, 2, 0}, {2, 2, 0}, {3, 1, 0}, {5, 3, 0}, {2, 2, 1}, {4, 3, 1}} { // window, stride, ceil
		ps := kernels.PoolShape{C: c, H: h, W: w, KH: k[0], KW: k[0], SH: k[1], SW: k[1], Ceil: k[2] == 1}
		if f := (kernels.PoolShape{H: h, W: w, KH: k[0], KW: k[0], SH: k[1], SW: k[1]}); ps.Ceil && ps.OutH() == f.OutH() {
			t.Fatalf("pool %d/%d: ceil mode adds no row to %d rows", k[0], k[1], h)
		}
		want := make([]float32, c*ps.OutH()*ps.OutW())
		kernels.MaxPool2D(ps, full, want)
		for rows := 1; rows <= 9; rows++ {
			skip := k[0] - 1
			plane := (skip + rows) * w
			sink := &convPoolSink{s: ps, branches: []bandBranch{{}}, skip: skip, plane: plane, band: make([]float32, c*plane), out: make([]float32, len(want))}
			sink.setUnits(rows)
			for y0 := 0; y0 < h; y0 += rows {
				y1 := min(y0+rows, h)
				for ch := 0; ch < c; ch++ {
					copy(sink.band[ch*plane+skip*w:], full[(ch*h+y0)*w:(ch*h+y1)*w])
				}
				sinkBand(sink, y0, y1)
			}
			if !slices.Equal(sink.out, want) {
				t.Errorf("pool %d/%d (ceil %d) in bands of %d rows: output differs from the whole map's", k[0], k[1], k[2], rows)
			}
		}
	}

	// A block of a convolution and a max pool of one window (v4's Mixed_3a): the convolution's
	// channels first, then the pool's, each as on the whole map.
	ps := kernels.PoolShape{C: c, H: h, W: w, KH: 3, KW: 3, SH: 2, SW: 2}
	cs := kernels.ConvShape{C: c, H: h, W: w, O: 4, KH: 3, KW: 3, SH: 2, SW: 2}
	oh, ow := cs.OutH(), cs.OutW()
	pw := kernels.PackConvWeights(cs, fill.Tensor("sink", "w", []int{cs.O, c, 3, 3}, "conv_weight"))
	bias := fill.Tensor("sink", "b", []int{cs.O}, "conv_bias")
	want := make([]float32, (cs.O+c)*oh*ow)
	kernels.Conv2DPacked(cs, full, pw, bias, want, make([]float32, cs.BatchScratchLen(1, 1)), true, 1)
	kernels.MaxPool2D(ps, full, want[cs.O*oh*ow:])
	for rows := 1; rows <= 9; rows++ {
		plane := (2 + rows) * w
		band := cs
		band.H = 2 + rows
		sink := &convPoolSink{s: ps, skip: 2, plane: plane, band: make([]float32, c*plane), out: make([]float32, len(want)),
			scratch: make([]float32, band.PlanesScratchLen(2)), workers: 2,
			branches: []bandBranch{{conv: cs, w: pw, b: bias, relu: true}, {c0: cs.O}}}
		sink.setUnits(rows)
		for y0 := 0; y0 < h; y0 += rows {
			y1 := min(y0+rows, h)
			for ch := 0; ch < c; ch++ {
				copy(sink.band[ch*plane+2*w:], full[(ch*h+y0)*w:(ch*h+y1)*w])
			}
			sinkBand(sink, y0, y1)
		}
		if !slices.Equal(sink.out, want) {
			t.Errorf("convolution and pool in bands of %d rows: output differs from the whole map's", rows)
		}
	}
}

// sinkBand runs the phases of sink on the band of rows y0..y1-1, each phase's units in ranges of two,
// the last first, as two workers in turn.
func sinkBand(sink kernels.BandSink, y0, y1 int) {
	for ph, n := range sink.Units() {
		for hi := n; hi > 0; hi -= 2 {
			sink.Band(ph, y0, y1, max(hi-2, 0), hi, hi/2%2)
		}
	}
}

// TestMixedGivesInputBackEarly checks the order in which a one-thread plan runs a block's branches:
// a max pool reading the block's input runs before the branch of three convolutions (IRv2's
// Mixed_6a), so that the input is given back after that branch's first node and is never held with
// the branch's second activation; and the branches that read the block's input run before those
// that read its stacked heads' output.
func TestMixedGivesInputBackEarly(t *testing.T) {
	v := &Variant{Name: "order", Size: 20, Classes: 4, net: func() *Net {
		return &Net{
			Features: chain(ck("stem", 16, 3, 1, 1), mixed("m",
				ck("b0", 8, 3, 2, 0),
				seq("b1", c1("", 5), ck("", 7, 3, 1, 1), ck("", 8, 3, 2, 0)),
				maxpool(3, 2, 0, false))),
			Head: []Linear{{Key: "fc", Out: 4, Bias: true}},
		}
	}}
	m := fillModel(t, v, "order")
	p, err := m.compile(1, v.Size, v.Size, 1)
	if err != nil {
		t.Fatal(err)
	}
	var in, mid *buffer // the block's input (16×20×20) and the 3×3's output (7×20×20)
	for _, b := range p.pool.bufs {
		switch {
		case b.n == 16*400 && !b.scratch:
			in = b
		case b.n == 7*400 && !b.scratch:
			mid = b
		}
	}
	if in == nil || mid == nil {
		t.Fatal("the block's input or its long branch's second activation is not in the plan")
	}
	if in.from < mid.to && mid.from < in.to {
		t.Errorf("the block's input (events %d–%d) is held with its long branch's second activation (%d–%d)", in.from, in.to, mid.from, mid.to)
	}

	// A block whose narrow 1×1 heads run stacked (GoogLeNet's inception_3b) runs its pool branch, which
	// reads the block's input, before the heads: the pool's output is never held with the heads'
	// output, and the input is given back before it, not held through the heads' 3×3.
	v = &Variant{Name: "heads", Size: 20, Classes: 4, net: func() *Net {
		return &Net{
			Features: chain(ck("stem", 16, 3, 1, 1), mixed("m",
				c1("b0", 8),
				seq("b1", c1("", 4), ck("", 8, 3, 1, 1)),
				seq("b2", maxpool(3, 1, 1, false), c1("", 6)))),
			Head: []Linear{{Key: "fc", Out: 4, Bias: true}},
		}
	}}
	m = fillModel(t, v, "order")
	if p, err = m.compile(1, v.Size, v.Size, 1); err != nil {
		t.Fatal(err)
	}
	var heads, pooled *buffer // the stacked heads' output: 8 + 4 channels, each rounded up to GEMM rows
	in = nil
	for _, b := range p.pool.bufs {
		switch {
		case b.scratch || b.n == 3*400 || b.n == 22*400: // the image, the block's output
		case b.n == 16*400: // the block's input, then its pool's output
			if in == nil {
				in = b
			} else {
				pooled = b
			}
		default:
			heads = b
		}
	}
	if in == nil || heads == nil || pooled == nil {
		t.Fatal("the block's input, its pool's output or its heads' output is not in the plan")
	}
	if in.to >= heads.to {
		t.Errorf("the block's input is given back at event %d, the heads' output at %d: want the input first", in.to, heads.to)
	}
	if pooled.from < heads.to && heads.from < pooled.to {
		t.Errorf("the pool's output (events %d–%d) is held with the heads' output (%d–%d)", pooled.from, pooled.to, heads.from, heads.to)
	}
}

// TestLRNInPlace: BVLC GoogLeNet's LRNs run over their input (inPlaceNode), so its plan without
// bands holds one 192×56×56 map where norm2 held two at the one-thread peak; compiled, norm2 runs on
// each band of conv2/3x3 on its way into pool2 (convPool), and the map is never held whole. Both
// give the logits of LRN into a buffer of its own, bit for bit.
func TestLRNInPlace(t *testing.T) {
	v, _ := Lookup("v1")
	m := fillModel(t, v, "lrn")
	x := fill.Tensor("lrn", "x", []int{1, 3, v.Size, v.Size}, "input")
	maps := func(p *compiled) int {
		n := 0
		for _, b := range p.pool.bufs {
			if b.n == 192*56*56 && !b.scratch {
				n++
			}
		}
		return n
	}
	whole, err := m.planOnce(1, v.Size, v.Size, 1, planMode{noBands: true})
	if err != nil {
		t.Fatal(err)
	}
	whole.pool.place()
	banded, err := m.compile(1, v.Size, v.Size, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := maps(whole); n != 1 {
		t.Errorf("without bands: %d buffers of 192×56×56, want 1", n)
	}
	if n := maps(banded); n != 0 || banded.pool.bufs == nil {
		t.Errorf("compiled: %d buffers of 192×56×56, want none", n)
	}
	// The same network with each LRN into a buffer of its own.
	net := m.net
	m.net = &Net{Features: outOfPlaceLRN(net.Features), Head: net.Head}
	r, err := m.planOnce(1, v.Size, v.Size, 1, planMode{noBands: true})
	m.net = net
	if err != nil {
		t.Fatal(err)
	}
	r.pool.place()
	if n := maps(r); n != 2 {
		t.Errorf("LRN out of place: %d buffers of 192×56×56, want 2", n)
	}
	want := planLogits(t, m, x, 1, r)
	if !slices.Equal(planLogits(t, m, x, 1, whole), want) {
		t.Error("logits differ with LRN in place")
	}
	if !slices.Equal(planLogits(t, m, x, 1, banded), want) {
		t.Error("logits differ with LRN on conv2/3x3's bands")
	}
}

// outOfPlaceLRN returns n with every LRN wrapped in a Seq of its own, which inPlaceNode does not let
// write over its input.
func outOfPlaceLRN(n node) node {
	switch t := n.(type) {
	case *LRN:
		return &Seq{Nodes: []node{t}}
	case *Seq:
		c := *t
		c.Nodes = make([]node, len(t.Nodes))
		for i, x := range t.Nodes {
			c.Nodes[i] = outOfPlaceLRN(x)
		}
		return &c
	}
	return n
}

// TestShrinkPeak: for one image, compile plans the convolutions at the memory peak with FewTiles
// and LowMem (shrinkPeak): for v1 and v2 on one thread and on two, and v4 on two, only layers whose
// scratch that makes smaller, fewer than the Winograd layers, and a region at least 0.5 MB smaller
// than the same plan's without (v1 on one thread: by conv2 and inception_3b; v2 on one thread: by
// its stem's input copied in small windows); each kind of layer or block kept makes the plan
// smaller (v4: its four Mixed_5 blocks, alike, or their eight 3×3 layers); and the logits are that
// plan's, bit for bit.
func TestShrinkPeak(t *testing.T) {
	for _, c := range []struct {
		name    string
		threads []int
	}{{"v1", []int{1, 2}}, {"v2", []int{1, 2}}, {"v4", []int{2}}} {
		v, _ := Lookup(c.name)
		m := fillModel(t, v, "shrink")
		x := fill.Tensor("shrink", "x", []int{1, 3, v.Size, v.Size}, "input")
		for _, threads := range c.threads {
			p, err := m.compile(1, v.Size, v.Size, threads)
			if err != nil {
				t.Fatal(err)
			}
			mode, alike := p.pool.mode, m.kindsOf(v.Size, v.Size)
			mode.few, mode.serial = nil, nil
			q, err := m.planOnce(1, v.Size, v.Size, threads, mode)
			if err != nil {
				t.Fatal(err)
			}
			q.pool.place()
			if saved := float64(q.regionLen()-p.regionLen()) * 4 / 1e6; saved < 0.5 {
				t.Errorf("%s on %d threads: FewTiles on %v saves %.2f MB, want >= 0.5", v.Name, threads, p.pool.mode.few, saved)
			}
			// Every kind of setting kept pays: the plan without any one of them is larger, by minSerial
			// for blocks run branch after branch.
			larger := func(what string, mode planMode, slack float64) {
				t.Helper()
				r, err := m.planOnce(1, v.Size, v.Size, threads, mode)
				if err != nil {
					t.Fatal(err)
				}
				if float64(r.regionLen()) <= float64(p.regionLen())*(1+slack) {
					t.Errorf("%s on %d threads: the plan without %s is %d floats, with %d", v.Name, threads, what, r.regionLen(), p.regionLen())
				}
			}
			for id := range p.pool.mode.few {
				mode := p.pool.mode
				mode.few = without(alike, mode.few, id)
				larger("FewTiles on "+id, mode, 0)
			}
			for b := range p.pool.mode.serial {
				if threads == 1 {
					t.Errorf("%s on %d threads: block %q run branch after branch", v.Name, threads, b.Key)
				}
				mode := p.pool.mode
				mode.serial = without(alike, mode.serial, b)
				larger("block "+b.Key+" run branch after branch", mode, minSerial)
			}
			// On two threads v1 runs the block at its peak, inception_3b, one branch after the other: its
			// branches side by side each took scratch and activations of their own.
			if n := len(p.pool.mode.serial); v.Name == "v1" && threads == 2 && n != 1 {
				t.Errorf("v1 on two threads: %d blocks run branch after branch, want 1", n)
			}
			wino := 0
			eachConv(m.net.Features, "", Shape{3, v.Size, v.Size}, func(id string, s kernels.ConvShape, _ float32) {
				lean := s
				lean.FewTiles, lean.LowMem = true, true
				if s.Winograd() {
					wino++
				}
				// Inside a block whose branches run side by side, a convolution's scratch is one thread's.
				if p.pool.mode.few[id] && lean.BatchScratchLen(1, threads) >= s.BatchScratchLen(1, threads) && lean.BatchScratchLen(1, 1) >= s.BatchScratchLen(1, 1) {
					t.Errorf("%s: FewTiles on %s, whose scratch it does not shrink", v.Name, id)
				}
			})
			if n := len(p.pool.mode.few); n == 0 || n >= wino {
				t.Errorf("%s on %d threads: FewTiles on %d of %d Winograd layers", v.Name, threads, n, wino)
			}
			// v4's stack of four Mixed_5 blocks (features.6 to 9) holds its two-thread peak in each block
			// alike: a setting on one block alone would save nothing, so FewTiles on their eight 3×3
			// layers, or the four blocks run branch after branch, count as one setting. (Where the
			// kernels copy stride-2 inputs, the peak stays at those copies.)
			if v.Name == "v4" && !stridedCopies() {
				few, serial := 0, 0
				for b := 6; b <= 9; b++ {
					for br := 1; br <= 2; br++ {
						if p.pool.mode.few[fmt.Sprintf("features.%d.branch%d.1.conv", b, br)] {
							few++
						}
					}
				}
				for blk := range p.pool.mode.serial {
					if k, err := strconv.Atoi(blk.Key); err == nil && k >= 6 && k <= 9 {
						serial++
					}
				}
				if few != 8 && serial != 4 {
					t.Errorf("v4 on two threads: FewTiles on %d of the Mixed_5 blocks' eight 3×3 layers and %d of the four blocks branch after branch, want all of one", few, serial)
				}
			}
			// v2's one-thread peak was its 7×7/2 stem's copy of the padded input, now in small windows.
			if v.Name == "v2" && threads == 1 && !p.pool.mode.few["conv1_7x7_s2"] {
				t.Errorf("v2 on one thread: no LowMem on conv1_7x7_s2, with %v", p.pool.mode.few)
			}
			if v.Name == "v1" && threads == 1 && (!p.pool.mode.few["conv2/3x3"] || !p.pool.mode.few["inception_3b/3x3"]) {
				t.Errorf("v1 on one thread: FewTiles on %v, want conv2/3x3 and inception_3b/3x3", p.pool.mode.few)
			}
			if !slices.Equal(planLogits(t, m, x, threads, q), planLogits(t, m, x, threads, p)) {
				t.Errorf("%s on %d threads: logits differ with FewTiles", v.Name, threads)
			}
		}
	}
}

// TestConvPoolThreads: on two threads the stems of BVLC GoogLeNet (v1, with norm2 between conv2 and
// pool2), v1-bn, v2, v3, v4 and IRv1 run their convolution and pool (v4: and Mixed_3a's 3×3/2) band by band,
// both threads on each band, with the logits of the plan without, bit for bit; compile keeps them,
// with a smaller plan than without bands.
func TestConvPoolThreads(t *testing.T) {
	for _, name := range []string{"v1", "v1-bn", "v2", "v3", "v4", "irv1"} {
		v, _ := Lookup(name)
		m := fillModel(t, v, "threads")
		x := fill.Tensor("threads", "x", []int{1, 3, v.Size, v.Size}, "input")
		c, err := m.compile(1, v.Size, v.Size, 2)
		if err != nil {
			t.Fatal(err)
		}
		mode := c.pool.mode
		mode.noBands = true
		q, err := m.planOnce(1, v.Size, v.Size, 2, mode)
		if err != nil {
			t.Fatal(err)
		}
		q.pool.place()
		if !c.banded() || c.regionLen() >= q.regionLen() {
			t.Errorf("%s on two threads: banded %t, region %d floats, %d without bands", name, c.banded(), c.regionLen(), q.regionLen())
		}
		if !slices.Equal(planLogits(t, m, x, 2, q), planLogits(t, m, x, 2, c)) {
			t.Errorf("%s on two threads: logits differ with bands", name)
		}
	}
}

// planLogits returns the logits of one image x of m's native size by plan c, compiled for threads
// (set in m's plan cache in place of compile's).
func planLogits(t *testing.T, m *Model, x []float32, threads int, c *compiled) []float32 {
	t.Helper()
	size := m.Variant.Size
	m.plans[[5]int{1, size, size, threads, 0}] = c
	m.Threads = threads
	out := make([]float32, m.Classes())
	if err := m.ForwardRaw(x, 1, size, size, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCompileGarbage: compile plans a dozen times and more (shrinkPeak, and the settings it tries
// dropping), and what it leaves on the heap sits there when the region comes, just before the
// collection plan runs after it: for IRv2 on two threads 11 MB of garbage over a 7.94 MB region set
// the process's peak (max RSS 266.5 -> 270.4 MiB) until layout's orders shared their slices and
// regionLen laid a plan out once. Everything but the region must stay under half of it.
func TestCompileGarbage(t *testing.T) {
	v, _ := Lookup("irv2")
	m := fillModel(t, v, "garbage")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p, err := m.compile(1, v.Size, v.Size, 2)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	region := 4 * uint64(p.regionLen()+hugepage.Size/4+16) // hugepage.Exact's allocation
	garbage := after.TotalAlloc - before.TotalAlloc - region
	if 2*garbage > region-hugepage.Size {
		t.Errorf("compile allocated %.1f MB beside its %.1f MB region", float64(garbage)/1e6, float64(p.regionLen())*4/1e6)
	}
}
