package model

// Inception-ResNet v1 and v2, Szegedy et al. 2016, figures 7–19 (v1) and 3, 16–18 (v2). Residual blocks
// scale their branch before adding it: 0.17 (35×35), 0.10 (17×17), 0.20 (8×8). Quirk kept from both
// references: the final block8 has scale 1.0 and no ReLU.

// block35 is the 35×35 residual block: 1×1, 1×1→3×3, and 1×1→3×3 (b2a)→3×3 (b2b), all 32 wide but
// b2a/b2b, scale 0.17.
func block35(b2a, b2b int) node {
	return residual(0.17,
		c1("branch0", 32),
		seq("branch1", c1("", 32), ck("", 32, 3, 1, 1)),
		seq("branch2", c1("", 32), ck("", b2a, 3, 1, 1), ck("", b2b, 3, 1, 1)))
}

// block17 is the 17×17 residual block: 1×1 and 1×1→1×7→7×1, scale 0.10.
func block17(b0, r, b1a, b1b int) node {
	return residual(0.10,
		c1("branch0", b0),
		seq("branch1", c1("", r), c1xn("", b1a, 7), cnx1("", b1b, 7)))
}

// block8 is the 8×8 residual block: 1×1 and 1×1→1×3→3×1, scale 0.20.
func block8(b1a, b1b int) node {
	return residual(0.20,
		c1("branch0", 192),
		seq("branch1", c1("", 192), c1xn("", b1a, 3), cnx1("", b1b, 3)))
}

// lastBlock8 is the final block8 of both references: scale 1.0 and no ReLU.
func lastBlock8(b1a, b1b int) node {
	last := block8(b1a, b1b).(*Residual)
	last.Key, last.Scale, last.NoReLU = "block8", 1.0, true
	return last
}

// irStem is the shared stem up to conv2d_4a (192×71×71 at 299).
func irStem() []node {
	return []node{
		ck("conv2d_1a", 32, 3, 2, 0), // 32×149×149
		ck("conv2d_2a", 32, 3, 1, 0),
		ck("conv2d_2b", 64, 3, 1, 1),
		maxpool(3, 2, 0, false), // 64×73×73
		c1("conv2d_3b", 80),
		ck("conv2d_4a", 192, 3, 1, 0), // 192×71×71
	}
}

// irReductionA is mixed_6a, the 35→17 reduction: 3×3/2 (n), 1×1→3×3→3×3/2 (k, l, m), max pool.
func irReductionA(k, l, m, n int) node {
	return mixed("mixed_6a",
		ck("branch0", n, 3, 2, 0),
		seq("branch1", c1("", k), ck("", l, 3, 1, 1), ck("", m, 3, 2, 0)),
		maxpool(3, 2, 0, false))
}

// irReductionB is mixed_7a, the 17→8 reduction: three 1×1(256)→3×3/2 branches (the last with an extra
// 3×3) and a max pool.
func irReductionB(b0, b1, b2a, b2b int) node {
	return mixed("mixed_7a",
		seq("branch0", c1("", 256), ck("", b0, 3, 2, 0)),
		seq("branch1", c1("", 256), ck("", b1, 3, 2, 0)),
		seq("branch2", c1("", 256), ck("", b2a, 3, 1, 1), ck("", b2b, 3, 2, 0)),
		maxpool(3, 2, 0, false))
}

var irv1 = &Variant{
	Name: "irv1", Arch: "irv1", Aliases: []string{"inception-resnet-v1", "inceptionresnetv1", "inception-resnet1"},
	Description: "Inception-ResNet v1",
	Reference:   "facenet-pytorch InceptionResnetV1(classify=True)",
	Size:        299, Classes: 1000,
	net: func() *Net {
		features := append(irStem(), ck("conv2d_4b", 256, 3, 2, 0)) // 256×35×35
		features = append(features,
			seq("repeat_1", repeat(5, func() node { return block35(32, 32) })...),
			irReductionA(192, 192, 256, 384), // 896×17×17
			seq("repeat_2", repeat(10, func() node { return block17(128, 128, 128, 128) })...),
			irReductionB(384, 256, 256, 256), // 1792×8×8
			seq("repeat_3", repeat(5, func() node { return block8(192, 192) })...),
			lastBlock8(192, 192),
		)
		return &Net{
			Features: chain(features...),
			// avgpool_1a → dropout → last_linear (no bias) → last_bn (BatchNorm1d, folded) → logits.
			Head: []Linear{
				{Key: "last_linear", Out: 512, BN: "last_bn", Eps: bnEps},
				{Key: "logits", Out: 1000, Bias: true},
			},
		}
	},
}

var irv2 = &Variant{
	Name: "irv2", Arch: "irv2", Aliases: []string{"inception-resnet-v2", "inceptionresnetv2", "inception-resnet2", "ens-adv-inception-resnet-v2"},
	Description: "Inception-ResNet v2",
	Reference:   "timm inception_resnet_v2",
	Size:        299, Classes: 1000,
	net: func() *Net {
		features := append(irStem(),
			maxpool(3, 2, 0, false), // 192×35×35
			mixed("mixed_5b", // 320×35×35
				c1("branch0", 96),
				seq("branch1", c1("", 48), ck("", 64, 5, 1, 2)),
				seq("branch2", c1("", 64), ck("", 96, 3, 1, 1), ck("", 96, 3, 1, 1)),
				seq("branch3", avgpool(3, 1, 1, false, false), c1("", 64))),
			seq("repeat", repeat(10, func() node { return block35(48, 64) })...),
			irReductionA(256, 256, 384, 384), // 1088×17×17
			seq("repeat_1", repeat(20, func() node { return block17(192, 128, 160, 192) })...),
			irReductionB(384, 288, 288, 320), // 2080×8×8
			seq("repeat_2", repeat(9, func() node { return block8(224, 256) })...),
			lastBlock8(224, 256),
			c1("conv2d_7b", 1536), // 1536×8×8
		)
		return &Net{
			Features: chain(features...),
			Head:     []Linear{{Key: "classif", Out: 1000, Bias: true}},
		}
	},
}
