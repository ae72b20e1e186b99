package model

// Inception v4, Szegedy et al. 2016, "Inception-v4, Inception-ResNet…", figures 3–9; keys and semantics
// of timm's inception_v4 (features.N). Quirk kept from timm: the pool branches average with
// count_include_pad=False.

var v4 = &Variant{
	Name: "v4", Arch: "v4", Aliases: []string{"inception-v4", "inception4", "inceptionv4"},
	Description: "Inception v4",
	Reference:   "timm inception_v4",
	Size:        299, Classes: 1000,
	net: func() *Net {
		features := []node{
			ck("", 32, 3, 2, 0), // 32×149×149
			ck("", 32, 3, 1, 0), // 32×147×147
			ck("", 64, 3, 1, 1), // 64×147×147
			mixed("", maxpool(3, 2, 0, false), ck("conv", 96, 3, 2, 0)), // Mixed3a: 160×73×73
			mixed("", // Mixed4a: 192×71×71
				seq("branch0", c1("", 64), ck("", 96, 3, 1, 0)),
				seq("branch1", c1("", 64), c1xn("", 64, 7), cnx1("", 64, 7), ck("", 96, 3, 1, 0))),
			mixed("", ck("conv", 192, 3, 2, 0), maxpool(3, 2, 0, false)), // Mixed5a: 384×35×35
		}
		features = append(features, repeat(4, v4InceptionA)...) // 384×35×35
		features = append(features, mixed("",                   // ReductionA: 1024×17×17
			ck("branch0", 384, 3, 2, 0),
			seq("branch1", c1("", 192), ck("", 224, 3, 1, 1), ck("", 256, 3, 2, 0)),
			maxpool(3, 2, 0, false)))
		features = append(features, repeat(7, v4InceptionB)...) // 1024×17×17
		features = append(features, mixed("",                   // ReductionB: 1536×8×8
			seq("branch0", c1("", 192), ck("", 192, 3, 2, 0)),
			seq("branch1", c1("", 256), c1xn("", 256, 7), cnx1("", 320, 7), ck("", 320, 3, 2, 0)),
			maxpool(3, 2, 0, false)))
		features = append(features, repeat(3, v4InceptionC)...) // 1536×8×8
		return &Net{
			Features: seq("features", features...),
			Head:     []Linear{{Key: "last_linear", Out: 1000, Bias: true}},
		}
	},
}

func v4Pool() *Pool { return avgpool(3, 1, 1, false, false) }

func v4InceptionA() node {
	return mixed("",
		c1("branch0", 96),
		seq("branch1", c1("", 64), ck("", 96, 3, 1, 1)),
		seq("branch2", c1("", 64), ck("", 96, 3, 1, 1), ck("", 96, 3, 1, 1)),
		seq("branch3", v4Pool(), c1("", 96)))
}

func v4InceptionB() node {
	return mixed("",
		c1("branch0", 384),
		seq("branch1", c1("", 192), c1xn("", 224, 7), cnx1("", 256, 7)),
		seq("branch2", c1("", 192), cnx1("", 192, 7), c1xn("", 224, 7), cnx1("", 224, 7), c1xn("", 256, 7)),
		seq("branch3", v4Pool(), c1("", 128)))
}

func v4InceptionC() node {
	return mixed("",
		c1("branch0", 256),
		chain(c1("branch1_0", 384), mixed("", c1xn("branch1_1a", 256, 3), cnx1("branch1_1b", 256, 3))),
		chain(c1("branch2_0", 384), cnx1("branch2_1", 448, 3), c1xn("branch2_2", 512, 3),
			mixed("", c1xn("branch2_3a", 256, 3), cnx1("branch2_3b", 256, 3))),
		seq("branch3", v4Pool(), c1("", 256)))
}
