package model

import (
	"math"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/kernels"
)

// TestLayersMatchForward re-runs each network from its flat Layers list with a plain interpreter and
// checks the logits against Forward: the exported dataflow form (what the ONNX exporter writes) is the
// network that runs. It also checks the MACs total against MACs().
func TestLayersMatchForward(t *testing.T) {
	for _, tc := range []struct {
		v    *Variant
		size int
	}{{v1BVLC, 64}, {v1BN, 64}, {v2, 64}, {v3, 107}, {v4, 107}, {irv1, 107}, {irv2, 107}} {
		t.Run(tc.v.Name, func(t *testing.T) {
			m := fillModel(t, tc.v, "layers", func(m *Model) { m.KeepWeights = true })
			ls, err := m.Layers(tc.size, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			x := fill.Tensor("layers", "x", []int{1, 3, tc.size, tc.size}, "input")
			want := make([]float32, m.Classes())
			if err := m.ForwardRaw(x, 1, tc.size, tc.size, want); err != nil {
				t.Fatal(err)
			}
			got := interpret(ls, x)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
					t.Fatalf("logit %d: layers %v, forward %v", i, got[i], want[i])
				}
			}
			var macs int64
			for _, l := range ls {
				macs += l.MACs
			}
			if wantMACs, _ := m.MACs(tc.size, tc.size); macs != wantMACs {
				t.Errorf("layers count %d MACs, MACs() %d", macs, wantMACs)
			}
		})
	}
}

// interpret runs a Layers list on one image, each layer into a fresh buffer.
func interpret(ls []Layer, x []float32) []float32 {
	outs := make([][]float32, len(ls))
	get := func(i int) []float32 {
		if i < 0 {
			return x
		}
		return outs[i]
	}
	for i, l := range ls {
		out := make([]float32, l.Out.Len())
		in := get(l.Inputs[0])
		switch l.Op {
		case OpConv:
			kernels.Conv2D(l.Conv, in, l.W, l.B, out, make([]float32, l.Conv.ScratchLen()), l.ReLU, 1)
		case OpMaxPool:
			kernels.MaxPool2D(l.Pool, in, out)
		case OpAvgPool:
			kernels.AvgPool2D(l.Pool, in, out, l.CountIncludePad)
		case OpLRN:
			kernels.LRN(l.In.C, l.In.H*l.In.W, l.LRN.Size, l.LRN.Alpha, l.LRN.Beta, l.LRN.K, in, out)
		case OpConcat:
			out = out[:0]
			for _, j := range l.Inputs {
				out = append(out, get(j)...)
			}
		case OpAddScaled:
			kernels.AddScaled(out, in, get(l.Inputs[1]), l.Scale, l.ReLU)
		case OpGlobalAvgPool:
			kernels.GlobalAvgPool(l.In.C, l.In.H*l.In.W, in, out)
		case OpLinear:
			kernels.Linear(1, l.In.C, l.Out.C, in, l.W, l.B, out)
			if l.ReLU {
				kernels.ReLU(out)
			}
		}
		outs[i] = out
	}
	return outs[len(ls)-1]
}

// TestPoolConv checks which pool + convolution pairs the planner swaps (planPoolConv): only an
// average pool that keeps the map's size followed by an unpadded stride-1 1×1 convolution with fewer
// channels. The swapped pairs' results are checked against the references by TestGoldenLogits (v2, v3,
// v4 and IRv2 have them, with and without padding in the divisor).
func TestPoolConv(t *testing.T) {
	in := Shape{C: 256, H: 17, W: 17}
	avg := avgpool(3, 1, 1, false, true)
	for _, tt := range []struct {
		name  string
		nodes []node
		swap  bool
	}{
		{"avg 3x3/1 then 1x1", []node{avg, c1("p", 64)}, true},
		{"ceil mode keeps the size", []node{avgpool(3, 1, 1, true, false), c1("p", 64)}, true},
		{"as many outputs as inputs", []node{avg, c1("p", 256)}, false},
		{"max pool", []node{maxpool(3, 1, 1, false), c1("p", 64)}, false},
		{"stride-2 pool", []node{avgpool(3, 2, 1, false, true), c1("p", 64)}, false},
		{"unpadded pool shrinks the map", []node{avgpool(3, 1, 0, false, true), c1("p", 64)}, false},
		{"3x3 convolution", []node{avg, ck("p", 64, 3, 1, 1)}, false},
		{"stride-2 1x1", []node{avg, bconv("p", 64, 1, 1, 2, 0, 0)}, false},
		{"pool alone", []node{avg}, false},
		{"convolution first", []node{c1("p", 64), avg}, false},
	} {
		q, c := poolConv(tt.nodes, in)
		if got := q != nil && c != nil; got != tt.swap {
			t.Errorf("%s: swapped %t, want %t", tt.name, got, tt.swap)
		}
	}
}
