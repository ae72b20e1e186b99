package model

import (
	"fmt"
	"strings"
)

// Block is one row of a network summary, like a line of Keras' model.summary(): a top-level block of the
// feature extractor (a stem convolution, a pooling layer, an Inception or residual block) or a head layer.
type Block struct {
	Name   string // the reference's key ("Mixed_6b", "repeat_1.3", "features.4"), or "" for unnamed layers
	Kind   string // what the block is: "conv 3×3/2", "mixed 4 branches", "residual ×0.17", "max pool 3×3/2"
	Out    Shape  // output shape for one image
	Params int64  // learned parameters: convolution and linear weights and biases, BN scale and shift
	MACs   int64  // multiply-adds for one image
}

// Summary lists the network block by block for an h×w input: the top-level blocks of the feature
// extractor (the children of nested sequences such as IRv2's "repeat_1" are listed one by one), then global
// average pooling and the head's linear layers. The Params and MACs columns add up to Model.MACs and to the
// published parameter counts (BN running statistics are buffers, not parameters).
func (m *Model) Summary(h, w int) ([]Block, error) {
	in := Shape{3, h, w}
	feat, err := m.FeatureShape(h, w)
	if err != nil {
		return nil, fmt.Errorf("summary of %s at %dx%d: %w", m.Variant.Name, h, w, err)
	}
	var rows []Block
	var walk func(n node, path string, in Shape) Shape
	walk = func(n node, path string, in Shape) Shape {
		if s, ok := n.(*Seq); ok {
			p := join(path, s.Key)
			for _, c := range s.Nodes {
				in = walk(c, p, in)
			}
			return in
		}
		out, _ := n.outShape(path, in)
		var params int64
		n.params(path, in, func(p *param) {
			if p.role != roleBNMean && p.role != roleBNVar {
				params += int64(prod(p.shape))
			}
		})
		name := nodeKey(n)
		if name != "" {
			name = join(path, name)
		}
		rows = append(rows, Block{Name: name, Kind: describe(n), Out: out, Params: params, MACs: nodeMACs(n, path, in)})
		return out
	}
	walk(m.net.Features, "", in)
	rows = append(rows, Block{Kind: "global avg pool", Out: Shape{feat.C, 1, 1}})
	c := feat.C
	for _, l := range m.net.Head {
		p := int64(c) * int64(l.Out)
		if l.Bias {
			p += int64(l.Out)
		}
		if l.BN != "" {
			p += 2 * int64(l.Out)
		}
		rows = append(rows, Block{Name: l.Key, Kind: "linear", Out: Shape{l.Out, 1, 1}, Params: p, MACs: int64(c) * int64(l.Out)})
		c = l.Out
	}
	return rows, nil
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// describe names a node's kind for the summary.
func describe(n node) string {
	switch t := n.(type) {
	case *ConvBN:
		k := fmt.Sprintf("conv %d×%d", t.KH, t.KW)
		if t.SH != 1 || t.SW != 1 {
			k += fmt.Sprintf("/%d", t.SH)
		}
		return k
	case *Mixed:
		return fmt.Sprintf("mixed %d branches", len(t.Branches))
	case *Residual:
		k := fmt.Sprintf("residual ×%.2f", t.Scale)
		if t.NoReLU {
			k += " no ReLU"
		}
		return k
	case *Pool:
		k := "max pool"
		if t.Avg {
			k = "avg pool"
		}
		return fmt.Sprintf("%s %d×%d/%d", k, t.K, t.K, t.S)
	case *LRN:
		return fmt.Sprintf("LRN %d", t.Size)
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", n), "*model.")
}
