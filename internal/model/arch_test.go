package model

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/kernels"
)

func TestLookupAliases(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1", "v1"}, {"googlenet", "v1"}, {"GoogLeNet", "v1"}, {"googlenet-bn", "v1-bn"},
		{"bn-inception", "v2"}, {"BNInception", "v2"}, {"inception-v3", "v3"}, {"inception_v3", "v3"},
		{"inception-v4", "v4"}, {"inception-resnet-v1", "irv1"}, {"inception-resnet-v2", "irv2"},
		{"InceptionResNetV2", "irv2"},
	} {
		v, err := Lookup(tc.in)
		if err != nil || v.Name != tc.want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", tc.in, v, err, tc.want)
		}
	}
	if _, err := Lookup("resnet50"); err == nil || !strings.Contains(err.Error(), "known: ") {
		t.Errorf("Lookup(resnet50) error = %v", err)
	}
}

// TestCounts checks the multiply-adds and parameter counts against the published figures (issue 6's table
// and the papers' model summaries; BVLC's parameter count from its README).
func TestCounts(t *testing.T) {
	for _, tc := range []struct {
		v      *Variant
		gmacs  float64
		params float64 // millions, counting conv/linear weights and biases and BN gamma/beta
	}{
		{v1BVLC, 1.58, 7.00},
		{v1BN, 1.50, 6.62},
		{v3, 5.71, 23.83},
		{v4, 12.25, 42.68},
		{irv2, 13.16, 55.84},
	} {
		m := New(tc.v)
		macs, err := m.MACs(tc.v.Size, tc.v.Size)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for _, p := range m.Params() {
			if p.Role != roleBNMean && p.Role != roleBNVar {
				n += prod(p.Shape)
			}
		}
		gotG, gotM := float64(macs)/1e9, float64(n)/1e6
		t.Logf("%s: %.3f GMACs, %.3f M parameters", tc.v.Name, gotG, gotM)
		if gotG < tc.gmacs-0.005 || gotG > tc.gmacs+0.005 {
			t.Errorf("%s: %.3f GMACs, published %.2f", tc.v.Name, gotG, tc.gmacs)
		}
		if gotM < tc.params-0.005 || gotM > tc.params+0.005 {
			t.Errorf("%s: %.3f M parameters, published %.2f", tc.v.Name, gotM, tc.params)
		}
	}
}

// TestShapeErrors checks that impossible inputs and channel arithmetic are refused with the node's key.
func TestShapeErrors(t *testing.T) {
	m := New(v3)
	if _, err := m.FeatureShape(32, 32); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("32×32 into v3: %v", err)
	}
	r := &Residual{Key: "block", Branches: []node{ck("branch0", 8, 3, 2, 0)}, Proj: "conv2d", Scale: 1}
	if _, err := r.outShape("", Shape{8, 9, 9}); err == nil || !strings.Contains(err.Error(), "block") {
		t.Errorf("residual with a strided branch: %v", err)
	}
	mx := mixed("m", ck("a", 4, 3, 1, 1), ck("b", 4, 3, 1, 0))
	if _, err := mx.outShape("x", Shape{3, 9, 9}); err == nil || !strings.Contains(err.Error(), "x.m") {
		t.Errorf("mixed with mismatched branches: %v", err)
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	m := New(v1BN)
	if err := m.ForwardRaw(make([]float32, 10), 1, 224, 224, make([]float32, 1000)); err == nil {
		t.Error("no error for a short input")
	}
	if err := m.ForwardRaw(make([]float32, 3*224*224), 1, 224, 224, make([]float32, 1000)); err == nil ||
		!strings.Contains(err.Error(), "no weights") {
		t.Errorf("forward without weights: %v", err)
	}
}

// TestForwardTensor checks the gorgonia tensor entry point against ForwardRaw, at a non-native size, and
// that a batch gives each image the same logits as running it alone.
func TestForwardTensor(t *testing.T) {
	m := fillModel(t, v1BN, "tensor")
	x := fill.Tensor("tensor", "x", []int{2, 3, 96, 96}, "input")
	got, err := m.Forward(tensor.New(tensor.WithShape(2, 3, 96, 96), tensor.WithBacking(append([]float32(nil), x...))))
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Shape(); len(s) != 2 || s[0] != 2 || s[1] != 1000 {
		t.Fatalf("shape %v", s)
	}
	logits := got.Data().([]float32)
	for i := 0; i < 2; i++ {
		single := make([]float32, 1000)
		if err := m.ForwardRaw(x[i*3*96*96:(i+1)*3*96*96], 1, 96, 96, single); err != nil {
			t.Fatal(err)
		}
		for j := range single {
			if single[j] != logits[i*1000+j] {
				t.Fatalf("image %d logit %d: batch %v, alone %v", i, j, logits[i*1000+j], single[j])
			}
		}
	}
	if _, err := m.Forward(tensor.New(tensor.WithShape(1, 1, 8, 8), tensor.WithBacking(make([]float32, 64)))); err == nil {
		t.Error("no error for a 1-channel input")
	}
}

// TestFlatBlockErrorsNameALayer: Cadene's blocks have no key of their own, so a size that breaks one is
// reported by its first layer's name.
func TestFlatBlockErrorsNameALayer(t *testing.T) {
	_, err := New(v2).FeatureShape(231, 231)
	if err == nil || !strings.HasPrefix(err.Error(), "block of inception_") {
		t.Errorf("v2 at 231: %v", err)
	}
}

// TestThreadsBitIdentical: the logits do not depend on the thread count, whether a batch is split between
// the threads (3 images on 2 threads: 2 and 1), blocks run their branches side by side (4 threads) or
// nothing runs in parallel; the kernels give the same bits for any split.
func TestThreadsBitIdentical(t *testing.T) {
	for _, v := range []*Variant{v3, irv2} {
		m := fillModel(t, v, "threads", func(m *Model) { m.PackFor = []int{107} })
		x := fill.Tensor("threads", "x", []int{3, 3, 107, 107}, "input")
		sameLogitsOnThreads(t, m, x, 3, 107, 1, 2, 3, 4)
	}
}

// sameLogitsOnThreads runs m on the n images x of size×size with each thread count in turn and fails
// unless every run's logits are the first run's, bit for bit.
func sameLogitsOnThreads(t *testing.T, m *Model, x []float32, n, size int, threads ...int) {
	t.Helper()
	var want []float32
	for _, th := range threads {
		m.Threads = th
		got := make([]float32, n*m.Classes())
		if err := m.ForwardRaw(x, n, size, size, got); err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = got
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: logit %d with %d threads = %v, with %d %v", m.Variant.Name, i, th, got[i], threads[0], want[i])
			}
		}
	}
}

// TestOneThreadPlansBitIdentical: one image on one thread, whose plan runs convolutions band by band
// into the pools and blocks that read them (v2's ceil-mode pool, v4's Mixed_3a) and copies large
// strided inputs in bands (LowMem: v4, IRv1, where the kernels copy them: stridedCopies), gives the
// bits of the same image on two threads, whose plan does neither, at each variant's own size
// (TestGoldenLogits reaches one-thread plans only on machines with fewer cores than its batch has
// images).
func TestOneThreadPlansBitIdentical(t *testing.T) {
	if testing.Short() {
		t.Skip("runs v2, v4 and IRv1 at their full size; skipped under -short")
	}
	for _, name := range []string{"v2", "v4", "irv1"} {
		v, _ := Lookup(name)
		m := fillModel(t, v, "onethread")
		x := fill.Tensor("onethread", "x", []int{1, 3, v.Size, v.Size}, "input")
		p, err := m.compile(1, v.Size, v.Size, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !p.banded() || p.pool.mode.lowMem != (name != "v2" && stridedCopies()) {
			t.Fatalf("%s: one-thread plan banded %t, LowMem %t", name, p.banded(), p.pool.mode.lowMem)
		}
		sameLogitsOnThreads(t, m, x, 1, v.Size, 2, 1)
	}
}

// TestPackFor: by default Load keeps only the weights packed for the variant's size; a size whose layers
// need another packing (at 75×75 v3's last 3×3 convolutions see 1×1 maps, too small for Winograd) is
// refused with an error naming the layer, and runs when packed for (PackFor) or with KeepWeights, giving
// the same logits.
func TestPackFor(t *testing.T) {
	x := fill.Tensor("packfor", "x", []int{1, 3, 75, 75}, "input")
	out := make([]float32, 1000)
	err := fillModel(t, v3, "packfor").ForwardRaw(x, 1, 75, 75, out)
	if err == nil || !strings.Contains(err.Error(), "Mixed_7") || !strings.Contains(err.Error(), "PackFor") {
		t.Fatalf("v3 at 75×75 packed for 299: %v", err)
	}
	var want []float32
	for _, setup := range []func(*Model){
		func(m *Model) { m.KeepWeights = true },
		func(m *Model) { m.PackFor = []int{299, 75} },
	} {
		m := fillModel(t, v3, "packfor", setup)
		if err := m.ForwardRaw(x, 1, 75, 75, out); err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = append([]float32(nil), out...)
		} else if !slices.Equal(want, out) {
			t.Error("PackFor and KeepWeights give different logits")
		}
	}
	if _, err := fillModel(t, v3, "packfor").Layers(299, 299); err == nil {
		t.Error("Layers without KeepWeights: no error")
	}

	// A layer whose Winograd tile depends on the map (IRv1's mixed_6a 3×3, 192→192: F(4×4) at
	// 35×35, F(2×2) on the smaller map of a 139×139 input) is packed once per layout.
	small := fill.Tensor("packfor", "x", []int{1, 3, 139, 139}, "input")
	classes := New(irv1).Classes()
	err = fillModel(t, irv1, "packfor").ForwardRaw(small, 1, 139, 139, make([]float32, classes))
	if err == nil || !strings.Contains(err.Error(), "mixed_6a") {
		t.Fatalf("irv1 at 139×139 packed for 299: %v", err)
	}
	keep := fillModel(t, irv1, "packfor", func(m *Model) { m.KeepWeights = true })
	both := fillModel(t, irv1, "packfor", func(m *Model) { m.PackFor = []int{299, 139} })
	for _, size := range []int{299, 139, 299} {
		xs := fill.Tensor("packfor", "x", []int{1, 3, size, size}, "input")
		a, b := make([]float32, classes), make([]float32, classes)
		if err := keep.ForwardRaw(xs, 1, size, size, a); err != nil {
			t.Fatal(err)
		}
		if err := both.ForwardRaw(xs, 1, size, size, b); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a, b) {
			t.Errorf("irv1 at %d: PackFor and KeepWeights give different logits", size)
		}
	}
}

// TestStackedHeads: the 1×1 convolutions that begin several branches of a block, one of them narrower
// than stackNarrow, run stacked, at the offsets StackPacked gives (each member rounded up to whole 6-row
// panels), and the members' own packed weights are dropped; wide heads, and branches that begin otherwise
// (a pool, a padded or strided convolution), are left alone. The golden logits check that the stacked
// heads compute what the branches did.
func TestStackedHeads(t *testing.T) {
	m := fillModel(t, irv2, "stack")
	if err := m.ForwardRaw(fill.Tensor("stack", "x", []int{1, 3, 299, 299}, "input"), 1, 299, 299, make([]float32, m.Classes())); err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{
		"repeat.3.branch0.conv+repeat.3.branch1.0.conv+repeat.3.branch2.0.conv": {0, 36, 72}, // 32 rounds up to 36
		"mixed_5b.branch0.conv+mixed_5b.branch1.0.conv+mixed_5b.branch2.0.conv": {0, 96, 144},
	}
	for key, offs := range want {
		st, ok := m.store.stacks[key]
		if !ok {
			t.Errorf("no stack %s", key)
			continue
		}
		if !slices.Equal(st.offs, offs) {
			t.Errorf("stack %s: offsets %v, want %v", key, st.offs, offs)
		}
		for _, id := range strings.Split(key, "+") {
			if len(m.store.layer(id).packed) != 0 {
				t.Errorf("%s: still packed on its own", id)
			}
		}
	}
	for key := range m.store.stacks {
		if !strings.HasPrefix(key, "repeat.") && !strings.HasPrefix(key, "mixed_5b.") || strings.Contains(key, "branch3") {
			t.Errorf("stack %s: only block35 and mixed_5b have narrow heads, and branch3 begins with a pool", key)
		}
	}
	if n := len(m.store.stacks); n != 11 { // 10 block35 and mixed_5b
		t.Errorf("%d stacks, want 11", n)
	}
}

// TestStackedHeadsKnownAtLoad: Load builds the stacks of heads it finds by walking the network
// (eachStack), and packs their members out of the huge-page arena because their own packed weights
// are dropped once stacked; a forward pass of every variant builds no other stack (a stack the walk
// missed would be built then) and needs no member's own weights (one it found wrongly would fail
// with its weights dropped). Every other convolution packs into the arena.
func TestStackedHeadsKnownAtLoad(t *testing.T) {
	for _, arch := range []string{"v1", "v2", "v3", "v4", "irv1", "irv2"} {
		v, _ := Lookup(arch)
		m := fillModel(t, v, "stack")
		loaded := slices.Sorted(maps.Keys(m.store.stacks))
		if err := m.ForwardRaw(fill.Tensor("stack", "x", []int{1, 3, v.Size, v.Size}, "input"), 1, v.Size, v.Size, make([]float32, m.Classes())); err != nil {
			t.Fatal(err)
		}
		if planned := slices.Sorted(maps.Keys(m.store.stacks)); !slices.Equal(planned, loaded) {
			t.Errorf("%s: the plans stack %d groups of heads, Load built %d", arch, len(planned), len(loaded))
		}
		walked := map[string]bool{}
		eachStack(m.net.Features, "", Shape{3, v.Size, v.Size}, func(_ kernels.ConvShape, ms []headMember) {
			for _, mb := range ms {
				walked[mb.id()] = true
			}
		})
		for id, l := range m.store.layers {
			if len(l.packed) > 0 && l.mem == nil || walked[id] && l.mem != nil {
				t.Errorf("%s: layer %s packs into the arena: %v, but is a stacked head: %v", arch, id, l.mem != nil, walked[id])
			}
		}
	}
}

// TestLoadReservesArena: Load reserves exactly what its arena holds once the stacks are built (the
// packed convolutions, linear layers and stacks), so that no huge page is left partly unused, for
// every variant and for two input sizes at once.
func TestLoadReservesArena(t *testing.T) {
	for _, arch := range []string{"v1", "v2", "v3", "v4", "irv1", "irv2"} {
		v, _ := Lookup(arch)
		for _, sizes := range [][]int{nil, {v.Size, v.Size + 32}} {
			m := fillModel(t, v, "arena", func(m *Model) { m.PackFor = sizes })
			if spare := m.store.mem.Spare(); spare != 0 {
				t.Errorf("%s, sizes %v: %d floats of the arena left after Load, want 0", arch, sizes, spare)
			}
		}
	}
}

// foldOrder is a Source that records the weights bind reads a second time, to fold them.
type foldOrder struct {
	MapSource
	weights map[string]bool // the convolution and linear weights
	seen    map[string]bool
	folded  []string
}

func (f *foldOrder) Tensor(name string) ([]int, []float32, bool) {
	if f.seen[name] && f.weights[name] {
		f.folded = append(f.folded, name)
	}
	f.seen[name] = true
	return f.MapSource.Tensor(name)
}

// TestLoadFoldsLargestFirst checks that Load folds the layers largest first, which keeps the fold buffer's
// large layers off a full arena (bind).
func TestLoadFoldsLargestFirst(t *testing.T) {
	for _, arch := range []string{"v3", "irv2"} {
		v, _ := Lookup(arch)
		m := New(v)
		src := &foldOrder{MapSource: MapSource{}, weights: map[string]bool{}, seen: map[string]bool{}}
		size := map[string]int{}
		for _, p := range m.Params() {
			src.MapSource[p.Key] = Tensor{Shape: p.Shape, Data: fill.Tensor("order", p.Key, p.Shape, p.Role.String())}
			if p.Role == roleConvWeight || p.Role == roleLinearWeight {
				src.weights[p.Key], size[p.Key] = true, prod(p.Shape)
			}
		}
		if err := m.Load(src); err != nil {
			t.Fatal(err)
		}
		if len(src.folded) != len(src.weights) {
			t.Fatalf("%s: %d weights folded, want %d", arch, len(src.folded), len(src.weights))
		}
		for i := 1; i < len(src.folded); i++ {
			if a, b := src.folded[i-1], src.folded[i]; size[b] > size[a] {
				t.Fatalf("%s: %s (%d floats) folded after %s (%d)", arch, b, size[b], a, size[a])
			}
		}
	}
}

// TestRunDropInput checks Outputs.DropInput: the same logits, and the input's whole pages handed back
// (reading as zeros), for one image and for a batch that runs its large maps image by image.
func TestRunDropInput(t *testing.T) {
	v, _ := Lookup("v3")
	m := fillModel(t, v, "drop")
	m.Threads = 1
	for _, n := range []int{1, 2} {
		x := fill.Tensor("drop", "x", []int{n, 3, v.Size, v.Size}, "input")
		want := make([]float32, n*m.Classes())
		if err := m.Run(slices.Clone(x), n, v.Size, v.Size, Outputs{Logits: want}); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(want))
		if err := m.Run(x, n, v.Size, v.Size, Outputs{Logits: got, DropInput: true}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d images: logits differ with DropInput", n)
		}
		for i := 0; i < n; i++ {
			mid := (2*i + 1) * len(x) / (2 * n) // inside a whole page of image i
			if x[mid] != 0 || x[mid+1000] != 0 {
				t.Errorf("%d images: image %d still holds %v, %v after DropInput", n, i, x[mid], x[mid+1000])
			}
		}
	}
}
