package model

import "strconv"

// This file holds the constructors the variant declarations are written in. They mirror the reference
// modules: bconv is torchvision's and timm's BasicConv2d / ConvNormAct (convolution without bias, batch
// norm, ReLU; keys "<key>.conv" and "<key>.bn"), seq is nn.Sequential (children numbered 0, 1, …),
// chain applies children that carry their own names (torchvision's flat attributes), mixed concatenates.

// bnEps is the batch-norm epsilon of the TensorFlow-trained references (torchvision, timm, facenet).
const bnEps = 1e-3

// bconv is a BasicConv2d: a kh×kw convolution with stride s and padding (ph, pw), batch norm and ReLU.
func bconv(key string, out, kh, kw, s, ph, pw int) *ConvBN {
	return &ConvBN{Key: key, Conv: "conv", BN: "bn", Out: out, KH: kh, KW: kw, SH: s, SW: s,
		PadT: ph, PadB: ph, PadL: pw, PadR: pw, ReLU: true, Eps: bnEps}
}

// c1 is a 1×1 BasicConv2d.
func c1(key string, out int) *ConvBN { return bconv(key, out, 1, 1, 1, 0, 0) }

// ck is a square k×k BasicConv2d with stride s and padding p.
func ck(key string, out, k, s, p int) *ConvBN { return bconv(key, out, k, k, s, p, p) }

// c1xn is a factorised 1×n BasicConv2d, padded to keep the size; cnx1 its n×1 twin.
func c1xn(key string, out, n int) *ConvBN { return bconv(key, out, 1, n, 1, 0, n/2) }
func cnx1(key string, out, n int) *ConvBN { return bconv(key, out, n, 1, 1, n/2, 0) }

// maxpool and avgpool are nn.MaxPool2d / nn.AvgPool2d with square kernel k, stride s, padding p.
func maxpool(k, s, p int, ceil bool) *Pool { return &Pool{K: k, S: s, Pad: p, CeilMode: ceil} }
func avgpool(k, s, p int, ceil, countIncludePad bool) *Pool {
	return &Pool{Avg: true, K: k, S: s, Pad: p, CeilMode: ceil, CountIncludePad: countIncludePad}
}

// seq is an nn.Sequential: its children are keyed by their index.
func seq(key string, nodes ...node) *Seq {
	for i, n := range nodes {
		setKey(n, strconv.Itoa(i))
	}
	return &Seq{Key: key, Nodes: nodes}
}

// chain applies nodes in order without a key of its own; each node keeps its own key.
func chain(nodes ...node) *Seq { return &Seq{Nodes: nodes} }

// mixed concatenates its branches' outputs along channels.
func mixed(key string, branches ...node) *Mixed { return &Mixed{Key: key, Branches: branches} }

// residual is an Inception-ResNet block whose 1×1 projection is keyed "conv2d" (timm and facenet).
func residual(scale float32, branches ...node) *Residual {
	return &Residual{Branches: branches, Proj: "conv2d", Scale: scale}
}

// repeat returns n blocks made by mk, for an nn.Sequential of identical blocks.
func repeat(n int, mk func() node) []node {
	out := make([]node, n)
	for i := range out {
		out[i] = mk()
	}
	return out
}

func setKey(n node, key string) {
	switch t := n.(type) {
	case *ConvBN:
		t.Key = key
	case *Seq:
		t.Key = key
	case *Mixed:
		t.Key = key
	case *Residual:
		t.Key = key
	}
}
