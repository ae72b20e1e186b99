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
