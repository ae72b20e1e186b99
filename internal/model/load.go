package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/inception-cli/inception/internal/hugepage"
	"github.com/inception-cli/inception/internal/kernels"
)

// Role says what a parameter is, which decides how it is folded (and, for the deterministic fill, how it
// is generated).
type Role int

const (
	roleConvWeight Role = iota
	roleConvBias
	roleBNWeight
	roleBNBias
	roleBNMean
	roleBNVar
	roleLinearWeight
	roleLinearBias
)

var roleNames = [...]string{"conv_weight", "conv_bias", "bn_weight", "bn_bias", "bn_running_mean", "bn_running_var",
	"linear_weight", "linear_bias"}

func (r Role) String() string { return roleNames[r] }

// layerRef names the layer (a convolution or linear layer, with the batch norm that follows it) a
// parameter belongs to: id is the key prefix of the layer's weight.
type layerRef struct {
	id  string
	eps float64
}

// param is one tensor a network expects from its checkpoint.
type param struct {
	key   string
	shape []int
	role  Role
	layer layerRef
}

// declBN declares the four tensors of a batch norm with n channels under key prefix bn.
func declBN(bn string, n int, l layerRef, decl func(*param)) {
	decl(&param{key: bn + ".weight", shape: []int{n}, role: roleBNWeight, layer: l})
	decl(&param{key: bn + ".bias", shape: []int{n}, role: roleBNBias, layer: l})
	decl(&param{key: bn + ".running_mean", shape: []int{n}, role: roleBNMean, layer: l})
	decl(&param{key: bn + ".running_var", shape: []int{n}, role: roleBNVar, layer: l})
}

// ParamSpec describes one tensor a variant expects: its checkpoint key, shape and role.
type ParamSpec struct {
	Key   string
	Shape []int
	Role  Role
}

// Source is a set of named tensors, such as a weight file. Shapes are the checkpoint's own (OIHW, [out][in]).
type Source interface {
	Names() []string
	Tensor(name string) (shape []int, data []float32, ok bool)
}

// Tensor is one named array of a MapSource.
type Tensor struct {
	Shape []int
	Data  []float32
}

// MapSource is a Source held in memory.
type MapSource map[string]Tensor

// Names returns the keys, sorted.
func (m MapSource) Names() []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Tensor returns the named tensor.
func (m MapSource) Tensor(name string) ([]int, []float32, bool) {
	t, ok := m[name]
	return t.Shape, t.Data, ok
}

// layerWeights is a convolution or linear layer after batch-norm folding: w in OIHW ([out][in] for linear),
// b of length out (never nil), and w packed for the convolution kernels, once per kernel layout.
type layerWeights struct {
	w, b   []float32         // folded; w is nil once packed unless the model keeps its weights
	packed map[int][]float32 // by ConvShape.PackLayout(), times scale
	scale  float32           // of the packed weights and sb; 0 until first packed
	sb     []float32         // b times scale
	mem    *hugepage.Arena   // where packed weights go; nil: the heap (a stacked head's, dropped once stacked)
}

// packScaled returns scale·w packed for kernels.Conv2DPacked on shape s, packing it on first use
// for that layout, and scale·b. An Inception-ResNet block's projection is packed times the block's scale, so that its
// GEMM adds the scaled branch straight onto the shortcut (Residual.plan). A layer has one scale:
// asking for another is a programming error.
func (l *layerWeights) packScaled(s kernels.ConvShape, scale float32) (w, b []float32, err error) {
	if l.scale == 0 {
		l.scale, l.sb = scale, l.b
		if scale != 1 {
			l.sb = make([]float32, len(l.b))
			for i, v := range l.b {
				l.sb[i] = scale * v
			}
		}
	}
	if scale != l.scale {
		panic(fmt.Sprintf("model: a layer packed with scale %v is asked for scale %v", l.scale, scale))
	}
	layout := s.PackLayout()
	if p, ok := l.packed[layout]; ok {
		return p, l.sb, nil
	}
	if l.w == nil {
		return nil, nil, errDropped
	}
	if l.packed == nil {
		l.packed = map[int][]float32{}
	}
	// Packing only moves the weights and pads with zeros: scaling the packed array scales w.
	var p []float32
	if l.mem != nil {
		p = l.mem.Alloc(s.PackedLen())
	} else {
		p = make([]float32, s.PackedLen())
	}
	kernels.PackConvWeightsTo(s, l.w, p)
	if scale != 1 {
		for i := range p {
			p[i] *= scale
		}
	}
	l.packed[layout] = p
	return p, l.sb, nil
}

var errDropped = errors.New("its folded weights were dropped once packed for the sizes in PackFor (set PackFor or KeepWeights before Load)")

// weightStore holds the folded weights of a model, by layer id. The weights a forward pass reads (the
// packed convolutions, stacks and linear layers) come from mem, in huge pages (see package hugepage): one
// arena, so that no buffer rounds up to a page of its own. Each plan's activations and scratch take one
// region of their own (bufPool.place).
type weightStore struct {
	layers map[string]*layerWeights
	stacks map[string]*stackWeights // by the members' layer ids, joined with "+"
	mem    hugepage.Arena
}

// stackWeights are sibling convolutions packed as one (kernels.StackPacked): o outputs, member i's
// first at offs[i], with its bias at the same offset in b (zeros between members).
type stackWeights struct {
	w, b []float32
	offs []int
	o    int
}

// stack returns the layers ids (of shape s but for their outs[i] outputs, unscaled) packed as one
// convolution, stacking them on first use. The members' own packed weights are dropped then: the
// plans always run them stacked (Mixed.planHeads decides from the network alone), and 1×1
// convolutions pack the same for every input size.
func (s *weightStore) stack(cs kernels.ConvShape, ids []string, outs []int) (*stackWeights, error) {
	key := strings.Join(ids, "+")
	if st, ok := s.stacks[key]; ok {
		return st, nil
	}
	packed := make([][]float32, len(ids))
	bias := make([][]float32, len(ids))
	for i, id := range ids {
		m := cs
		m.O = outs[i]
		var err error
		if packed[i], bias[i], err = s.layer(id).packScaled(m, 1); err != nil {
			return nil, err
		}
	}
	st := &stackWeights{}
	st.w, st.o, st.offs = kernels.StackPacked(cs, outs, packed, s.mem.Alloc(kernels.StackedO(outs)*cs.C*cs.KH*cs.KW))
	st.b = make([]float32, st.o)
	for i, b := range bias {
		copy(st.b[st.offs[i]:], b)
	}
	// The members' own packed weights are garbage now, in the heap (their layers have no arena), and
	// would stay resident until Load's collection, beside the stacks it builds: give their pages back
	// (v1, one photo on one thread: Load's peak 70.0 -> 64.1 MB, above the forward pass's before).
	for i, id := range ids {
		delete(s.layer(id).packed, cs.PackLayout())
		hugepage.Discard(packed[i])
	}
	if s.stacks == nil {
		s.stacks = map[string]*stackWeights{}
	}
	s.stacks[key] = st
	return st, nil
}

func (s *weightStore) layer(id string) *layerWeights {
	l, ok := s.layers[id]
	if !ok {
		panic("model: no weights bound for layer " + id)
	}
	return l
}

// BindError lists every problem found while binding a checkpoint to a network.
type BindError struct {
	Missing   []string // keys the network needs that the checkpoint lacks
	Unused    []string // checkpoint keys nothing uses
	BadShape  []string // "key: checkpoint [a b] want [c d]"
	NonFinite []string // keys holding NaN or Inf
}

func (e *BindError) Error() string {
	var parts []string
	add := func(what string, list []string) {
		if len(list) == 0 {
			return
		}
		const show = 5
		s := fmt.Sprintf("%d %s (%s", len(list), what, strings.Join(list[:min(show, len(list))], ", "))
		if len(list) > show {
			s += ", …"
		}
		parts = append(parts, s+")")
	}
	add("missing", e.Missing)
	add("with the wrong shape", e.BadShape)
	add("unused", e.Unused)
	add("not finite", e.NonFinite)
	return "weights do not fit the network: " + strings.Join(parts, "; ")
}

// bind fetches every declared parameter from src, checks shapes and that every key of src is used exactly
// once (keys starting with one of ignore are allowed to be left over), and folds batch norm into the layer
// before it. All problems are reported together in one *BindError.
// Releaser is a Source that can drop a tensor's pages from the resident set once it has been read (a
// memory-mapped file); the tensor stays readable. Binding releases each tensor as soon as it is folded, so
// a mapped checkpoint never sits in memory beside its packed copy.
type Releaser interface {
	Release(name string)
}

// bindOptions say what binding keeps of the folded weights.
type bindOptions struct {
	ignore  []string                       // checkpoint key prefixes the network does not use
	keep    bool                           // keep the folded OIHW convolution weights beside the packed ones
	shapes  map[string][]kernels.ConvShape // convolution layer id -> the shapes to pack its weights for now
	scales  map[string]float32             // convolution layer id -> the scale to pack them times (1 when absent)
	stacked map[string]bool                // convolution layer ids that run in a stack of heads (eachStack)
	reserve int                            // float32s the weight store's arena will hold (Arena.Reserve)
}

func bind(params []*param, src Source, o bindOptions) (*weightStore, error) {
	rel, _ := src.(Releaser)
	release := func(key string) {
		if rel != nil {
			rel.Release(key)
		}
	}
	berr := &BindError{}
	wanted := make(map[string]bool, len(params))
	for _, p := range params {
		wanted[p.key] = true
		shape, data, ok := src.Tensor(p.key)
		if !ok {
			berr.Missing = append(berr.Missing, p.key)
			continue
		}
		if !sameShape(shape, p.shape) {
			berr.BadShape = append(berr.BadShape, fmt.Sprintf("%s: file %v, network %v", p.key, shape, p.shape))
			continue
		}
		for _, v := range data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				berr.NonFinite = append(berr.NonFinite, p.key)
				break
			}
		}
		release(p.key) // read again when its layer is folded: a .caffemodel decodes one layer at a time
	}
	for _, name := range src.Names() {
		if wanted[name] || ignored(name, o.ignore) {
			continue
		}
		berr.Unused = append(berr.Unused, name)
	}
	if len(berr.Missing)+len(berr.Unused)+len(berr.BadShape)+len(berr.NonFinite) > 0 {
		return nil, berr
	}

	// Group by layer, then fold and pack one layer at a time, so that besides the packed weights only
	// one layer's folded copy is in memory.
	type parts struct {
		ref    layerRef
		byRole map[Role][]float32
		keys   []string
		roles  []Role
		out    int
		size   int // the weight's float32s
	}
	var order []string
	groups := map[string]*parts{}
	for _, p := range params {
		g, ok := groups[p.layer.id]
		if !ok {
			g = &parts{ref: p.layer, byRole: map[Role][]float32{}}
			groups[p.layer.id] = g
			order = append(order, p.layer.id)
		}
		if p.role == roleConvWeight || p.role == roleLinearWeight {
			g.out, g.size = p.shape[0], prod(p.shape)
		}
		g.keys = append(g.keys, p.key)
		g.roles = append(g.roles, p.role)
	}
	store := &weightStore{layers: make(map[string]*layerWeights, len(groups))}
	store.mem.Reserve(o.reserve)
	// One buffer folds every layer that is dropped once packed, made as large as the largest up front:
	// grown layer by layer, it left each smaller one as garbage (v3: 10 MB the heap held at its peak).
	need := 0
	for _, p := range params {
		if p.role == roleConvWeight && !o.keep && len(o.shapes[p.layer.id]) > 0 {
			need = max(need, prod(p.shape))
		}
	}
	scratch := make([]float32, need)
	// Fold the largest layers first (IRv2's file ends with conv2d_7b, 12.8 MB, its largest) and discard
	// the scratch's pages past the next layer's size after each: a large layer's folded copy is then
	// resident beside an arena still mostly empty, not beside a full one. The arena's layout follows the
	// order; no output bit depends on it.
	slices.SortStableFunc(order, func(a, b string) int { return groups[b].size - groups[a].size })
	lastDrop := -1 // the last layer folded into scratch, after which it is discarded
	for i, id := range order {
		if slices.Contains(groups[id].roles, roleConvWeight) && !o.keep && len(o.shapes[id]) > 0 {
			lastDrop = i
		}
	}
	for i, id := range order {
		g := groups[id]
		for i, k := range g.keys {
			_, g.byRole[g.roles[i]], _ = src.Tensor(k) // checked above
		}
		w := g.byRole[roleConvWeight]
		shapes := o.shapes[id]
		drop := w != nil && !o.keep && len(shapes) > 0
		if w == nil {
			w = g.byRole[roleLinearWeight]
		}
		b := g.byRole[roleConvBias]
		if b == nil {
			b = g.byRole[roleLinearBias]
		}
		var dst []float32 // the folded weights: kept, or only until packed
		switch {
		case drop:
			dst = scratch[:len(w)]
		case g.byRole[roleConvWeight] == nil: // a linear layer's, which the forward pass reads
			dst = store.mem.Alloc(len(w))
		default:
			dst = make([]float32, len(w))
		}
		lw := fold(dst, g.out, w, b, g.byRole[roleBNWeight], g.byRole[roleBNBias],
			g.byRole[roleBNMean], g.byRole[roleBNVar], g.ref.eps)
		for _, k := range g.keys {
			release(k) // folded: the file's pages need not stay resident beside the packed copy
		}
		if !o.stacked[id] {
			lw.mem = &store.mem
		}
		scale := float32(1)
		if v, ok := o.scales[id]; ok {
			scale = v
		}
		for _, s := range shapes {
			if _, _, err := lw.packScaled(s, scale); err != nil {
				return nil, err
			}
		}
		if drop {
			lw.w = nil
			next := 0 // the size of the next layer folded, no larger; none after the last
			if i < lastDrop {
				next = groups[order[i+1]].size
			}
			hugepage.Discard(scratch[next:])
		}
		store.layers[id] = lw
		delete(groups, id)
	}
	return store, nil
}

// fold returns the weights of a layer with out outputs after folding an optional batch norm into it:
// with s = gamma/sqrt(var+eps), w' = w*s per output row and b' = (b-mean)*s + beta. Computed in float64,
// rounded once. Without batch norm the weights are copied and a nil bias becomes zeros. The folded weights
// go to dst, of len(w).
func fold(dst []float32, out int, w, b, gamma, beta, mean, variance []float32, eps float64) *layerWeights {
	lw := &layerWeights{w: dst, b: make([]float32, out)}
	per := len(w) / out
	for o := 0; o < out; o++ {
		s, shift := 1.0, 0.0
		bias := 0.0
		if b != nil {
			bias = float64(b[o])
		}
		if gamma != nil {
			s = float64(gamma[o]) / math.Sqrt(float64(variance[o])+eps)
			shift = float64(beta[o]) - float64(mean[o])*s
		}
		lw.b[o] = float32(bias*s + shift)
		row := w[o*per : (o+1)*per]
		dst := lw.w[o*per : (o+1)*per]
		for i, v := range row {
			dst[i] = float32(float64(v) * s)
		}
	}
	return lw
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ignored(name string, prefixes []string) bool {
	if strings.HasSuffix(name, "num_batches_tracked") {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
