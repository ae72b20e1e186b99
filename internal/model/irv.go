package model

// Inception-ResNet v1 and v2, Szegedy et al. 2016, figures 7–19 (v1) and 3, 16–18 (v2). Residual blocks
// scale their branch before adding it: 0.17 (35×35), 0.10 (17×17), 0.20 (8×8). Quirk kept from both
// references: the final block8 has scale 1.0 and no ReLU.

var irv1 = &Variant{
	Name: "irv1", Arch: "irv1", Aliases: []string{"inception-resnet-v1", "inceptionresnetv1", "inception-resnet1"},
	Description: "Inception-ResNet v1",
	Reference:   "facenet-pytorch InceptionResnetV1(classify=True)",
	Size:        299, Classes: 1000,
	net: func() *Net {
		block35 := func() node {
			return residual(0.17,
				c1("branch0", 32),
				seq("branch1", c1("", 32), ck("", 32, 3, 1, 1)),
				seq("branch2", c1("", 32), ck("", 32, 3, 1, 1), ck("", 32, 3, 1, 1)))
		}
		block17 := func() node {
			return residual(0.10,
				c1("branch0", 128),
				seq("branch1", c1("", 128), c1xn("", 128, 7), cnx1("", 128, 7)))
		}
		block8 := func() node {
			return residual(0.20,
				c1("branch0", 192),
				seq("branch1", c1("", 192), c1xn("", 192, 3), cnx1("", 192, 3)))
		}
		last := block8().(*Residual)
		last.Key, last.Scale, last.NoReLU = "block8", 1.0, true
		return &Net{
			Features: chain(
				ck("conv2d_1a", 32, 3, 2, 0), // 32×149×149
				ck("conv2d_2a", 32, 3, 1, 0),
				ck("conv2d_2b", 64, 3, 1, 1),
				maxpool(3, 2, 0, false), // 64×73×73
				c1("conv2d_3b", 80),
				ck("conv2d_4a", 192, 3, 1, 0),
				ck("conv2d_4b", 256, 3, 2, 0), // 256×35×35
				seq("repeat_1", repeat(5, block35)...),
				mixed("mixed_6a", // 896×17×17
					ck("branch0", 384, 3, 2, 0),
					seq("branch1", c1("", 192), ck("", 192, 3, 1, 1), ck("", 256, 3, 2, 0)),
					maxpool(3, 2, 0, false)),
				seq("repeat_2", repeat(10, block17)...),
				mixed("mixed_7a", // 1792×8×8
					seq("branch0", c1("", 256), ck("", 384, 3, 2, 0)),
					seq("branch1", c1("", 256), ck("", 256, 3, 2, 0)),
					seq("branch2", c1("", 256), ck("", 256, 3, 1, 1), ck("", 256, 3, 2, 0)),
					maxpool(3, 2, 0, false)),
				seq("repeat_3", repeat(5, block8)...),
				last,
			),
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
		block35 := func() node {
			return residual(0.17,
				c1("branch0", 32),
				seq("branch1", c1("", 32), ck("", 32, 3, 1, 1)),
				seq("branch2", c1("", 32), ck("", 48, 3, 1, 1), ck("", 64, 3, 1, 1)))
		}
		block17 := func() node {
			return residual(0.10,
				c1("branch0", 192),
				seq("branch1", c1("", 128), c1xn("", 160, 7), cnx1("", 192, 7)))
		}
		block8 := func() node {
			return residual(0.20,
				c1("branch0", 192),
				seq("branch1", c1("", 192), c1xn("", 224, 3), cnx1("", 256, 3)))
		}
		last := block8().(*Residual)
		last.Key, last.Scale, last.NoReLU = "block8", 1.0, true
		return &Net{
			Features: chain(
				ck("conv2d_1a", 32, 3, 2, 0), // 32×149×149
				ck("conv2d_2a", 32, 3, 1, 0),
				ck("conv2d_2b", 64, 3, 1, 1),
				maxpool(3, 2, 0, false), // 64×73×73
				c1("conv2d_3b", 80),
				ck("conv2d_4a", 192, 3, 1, 0),
				maxpool(3, 2, 0, false), // 192×35×35
				mixed("mixed_5b", // 320×35×35
					c1("branch0", 96),
					seq("branch1", c1("", 48), ck("", 64, 5, 1, 2)),
					seq("branch2", c1("", 64), ck("", 96, 3, 1, 1), ck("", 96, 3, 1, 1)),
					seq("branch3", avgpool(3, 1, 1, false, false), c1("", 64))),
				seq("repeat", repeat(10, block35)...),
				mixed("mixed_6a", // 1088×17×17
					ck("branch0", 384, 3, 2, 0),
					seq("branch1", c1("", 256), ck("", 256, 3, 1, 1), ck("", 384, 3, 2, 0)),
					maxpool(3, 2, 0, false)),
				seq("repeat_1", repeat(20, block17)...),
				mixed("mixed_7a", // 2080×8×8
					seq("branch0", c1("", 256), ck("", 384, 3, 2, 0)),
					seq("branch1", c1("", 256), ck("", 288, 3, 2, 0)),
					seq("branch2", c1("", 256), ck("", 288, 3, 1, 1), ck("", 320, 3, 2, 0)),
					maxpool(3, 2, 0, false)),
				seq("repeat_2", repeat(9, block8)...),
				last,
				c1("conv2d_7b", 1536), // 1536×8×8
			),
			Head: []Linear{{Key: "classif", Out: 1000, Bias: true}},
		}
	},
}
