package model

// BN-Inception (Inception v2), Ioffe & Szegedy 2015, figure 5 / table; keys and semantics of Cadene's
// pretrained-models.pytorch bninception.py (a port of the Caffe model): biased convolutions each followed by
// batch norm with eps 1e-5 and ReLU, flat names ("inception_3a_1x1", "inception_3a_1x1_bn"), ceil-mode pools,
// average pools counting padding, except 5b whose pool branch is a max pool.

var v2 = &Variant{
	Name: "v2", Arch: "v2", Aliases: []string{"bn-inception", "bninception", "inception-v2", "inception2"},
	Description: "BN-Inception (Inception v2)",
	Reference:   "Cadene pretrained-models.pytorch bninception",
	Size:        224, Classes: 1000,
	net: func() *Net {
		return &Net{
			Features: chain(
				cadConv("conv1_7x7_s2", 64, 7, 2, 3), // 64×112×112
				maxpool(3, 2, 0, true),               // 64×56×56
				cadConv("conv2_3x3_reduce", 64, 1, 1, 0),
				cadConv("conv2_3x3", 192, 3, 1, 1),
				maxpool(3, 2, 0, true), // 192×28×28
				bnInceptionA("3a", 64, 64, 64, 64, 96, 32, false),
				bnInceptionA("3b", 64, 64, 96, 64, 96, 64, false), // 320×28×28
				bnInceptionB("3c", 128, 160, 64, 96),              // 576×14×14
				bnInceptionA("4a", 224, 64, 96, 96, 128, 128, false),
				bnInceptionA("4b", 192, 96, 128, 96, 128, 128, false),
				bnInceptionA("4c", 160, 128, 160, 128, 160, 128, false),
				bnInceptionA("4d", 96, 128, 192, 160, 192, 128, false), // 608×14×14
				bnInceptionB("4e", 128, 192, 192, 256),                 // 1056×7×7
				bnInceptionA("5a", 352, 192, 320, 160, 224, 128, false),
				bnInceptionA("5b", 352, 192, 320, 192, 224, 128, true), // 1024×7×7
			),
			// global_pool is a 7×7 average pool: the global average at 224×224.
			Head: []Linear{{Key: "last_linear", Out: 1000, Bias: true}},
		}
	},
}

// cadConv is a biased convolution, batch norm (eps 1e-5) and ReLU with Cadene's flat names.
func cadConv(name string, out, k, s, p int) *ConvBN {
	return &ConvBN{Conv: name, BN: name + "_bn", Out: out, KH: k, KW: k, SH: s, SW: s,
		PadT: p, PadL: p, PadB: p, PadR: p, Bias: true, ReLU: true, Eps: 1e-5}
}

// bnInceptionA is a stride-1 module: 1x1, 3x3 (after a reduce), double 3x3 (after a reduce) and pool_proj
// after a 3×3 pool (average counting padding; max in 5b).
func bnInceptionA(name string, c1x1, c3r, c3, d3r, d3, pool int, maxPool bool) node {
	n := "inception_" + name
	p := node(avgpool(3, 1, 1, true, true))
	if maxPool {
		p = maxpool(3, 1, 1, true)
	}
	return mixed("",
		cadConv(n+"_1x1", c1x1, 1, 1, 0),
		chain(cadConv(n+"_3x3_reduce", c3r, 1, 1, 0), cadConv(n+"_3x3", c3, 3, 1, 1)),
		chain(cadConv(n+"_double_3x3_reduce", d3r, 1, 1, 0), cadConv(n+"_double_3x3_1", d3, 3, 1, 1),
			cadConv(n+"_double_3x3_2", d3, 3, 1, 1)),
		chain(p, cadConv(n+"_pool_proj", pool, 1, 1, 0)),
	)
}

// bnInceptionB is a stride-2 module: 3x3 and double 3x3 with stride 2 in their last convolution, and a
// 3×3 stride-2 max pool passing the input channels through.
func bnInceptionB(name string, c3r, c3, d3r, d3 int) node {
	n := "inception_" + name
	return mixed("",
		chain(cadConv(n+"_3x3_reduce", c3r, 1, 1, 0), cadConv(n+"_3x3", c3, 3, 2, 1)),
		chain(cadConv(n+"_double_3x3_reduce", d3r, 1, 1, 0), cadConv(n+"_double_3x3_1", d3, 3, 1, 1),
			cadConv(n+"_double_3x3_2", d3, 3, 2, 1)),
		maxpool(3, 2, 0, true),
	)
}
