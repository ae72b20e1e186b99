package model

import (
	"fmt"

	"github.com/inception-cli/inception/internal/kernels"
)

// OpKind is the operation of a Layer.
type OpKind int

const (
	OpConv          OpKind = iota // convolution (+ folded BN, bias) with optional ReLU
	OpMaxPool                     // max pooling
	OpAvgPool                     // average pooling
	OpLRN                         // Caffe cross-channel LRN
	OpConcat                      // channel concatenation of the inputs, in order
	OpAddScaled                   // out = act(in0 + Scale*in1): an Inception-ResNet shortcut
	OpGlobalAvgPool               // mean over H×W
	OpLinear                      // fully connected, on the pooled vector
)

var opNames = [...]string{"Conv", "MaxPool", "AvgPool", "LRN", "Concat", "AddScaled", "GlobalAvgPool", "Linear"}

func (k OpKind) String() string { return opNames[k] }

// Layer is one operation of a network in execution order, with its folded weights: the flat dataflow
// form that exporters (ONNX) and summaries read. Concatenations that the forward pass performs by writing
// branches into channel slices appear here as explicit Concat layers.
type Layer struct {
	Name   string // checkpoint key of the node ("Mixed_6b.branch7x7_2.conv"; the block key for Concat/AddScaled)
	Op     OpKind
	Inputs []int // indices of the layers read; -1 is the network input
	In     Shape // shape of the first input
	Out    Shape

	Conv            kernels.ConvShape // OpConv
	Pool            kernels.PoolShape // OpMaxPool, OpAvgPool
	CountIncludePad bool              // OpAvgPool
	LRN             LRN               // OpLRN
	ReLU            bool              // OpConv, OpAddScaled, OpLinear
	Scale           float32           // OpAddScaled
	// W and B are the folded weights (OIHW for Conv, [out][in] for Linear); nil before Load.
	W, B []float32
	MACs int64
}

// Layers lists the network's operations for an h×w input in execution order, ending with the global
// average pool and the classifier layers; the last layer's output is the logits.
func (m *Model) Layers(h, w int) ([]Layer, error) {
	var ls []Layer
	var dropped string // a convolution whose folded weights were not kept
	add := func(l Layer) int { ls = append(ls, l); return len(ls) - 1 }
	var walk func(n node, path string, in int, s Shape) (int, Shape)
	walk = func(n node, path string, in int, s Shape) (int, Shape) {
		out, _ := n.outShape(path, s)
		switch t := n.(type) {
		case *ConvBN:
			cs := t.convShape(s)
			l := Layer{Name: join(path, t.Key, t.Conv), Op: OpConv, Inputs: []int{in}, In: s, Out: out, Conv: cs, ReLU: t.ReLU, MACs: cs.MACs()}
			if m.store != nil {
				lw := m.store.layer(l.Name)
				if lw.w == nil {
					dropped = l.Name
				}
				l.W, l.B = lw.w, lw.b
			}
			return add(l), out
		case *Pool:
			op := OpMaxPool
			if t.Avg {
				op = OpAvgPool
			}
			return add(Layer{Name: path, Op: op, Inputs: []int{in}, In: s, Out: out, Pool: t.poolShape(s), CountIncludePad: t.CountIncludePad}), out
		case *LRN:
			return add(Layer{Name: path, Op: OpLRN, Inputs: []int{in}, In: s, Out: out, LRN: *t}), out
		case *Seq:
			p := join(path, t.Key)
			cur, cs := in, s
			for _, c := range t.Nodes {
				cur, cs = walk(c, p, cur, cs)
			}
			return cur, cs
		case *Mixed:
			p := join(path, t.Key)
			var ins []int
			for _, b := range t.Branches {
				i, _ := walk(b, p, in, s)
				ins = append(ins, i)
			}
			return add(Layer{Name: p, Op: OpConcat, Inputs: ins, In: s, Out: out}), out
		case *Residual:
			p := join(path, t.Key)
			cat, cs := walk(t.mixed(), p, in, s)
			proj, _ := walk(t.proj(s), p, cat, cs)
			return add(Layer{Name: p, Op: OpAddScaled, Inputs: []int{in, proj}, In: s, Out: out, Scale: t.Scale, ReLU: !t.NoReLU}), out
		}
		panic(fmt.Sprintf("model: Layers does not know %T", n))
	}
	if _, err := m.FeatureShape(h, w); err != nil {
		return nil, err
	}
	last, s := walk(m.net.Features, "", -1, Shape{3, h, w})
	if dropped != "" {
		return nil, fmt.Errorf("layers of %s: layer %s: %w", m.Variant.Name, dropped, errDropped)
	}
	last = add(Layer{Name: "global_pool", Op: OpGlobalAvgPool, Inputs: []int{last}, In: s, Out: Shape{s.C, 1, 1}})
	c := s.C
	for _, hl := range m.net.Head {
		l := Layer{Name: hl.Key, Op: OpLinear, Inputs: []int{last}, In: Shape{c, 1, 1}, Out: Shape{hl.Out, 1, 1},
			ReLU: hl.ReLU, MACs: int64(c) * int64(hl.Out)}
		if m.store != nil {
			lw := m.store.layer(hl.Key)
			l.W, l.B = lw.w, lw.b
		}
		last = add(l)
		c = hl.Out
	}
	return ls, nil
}
