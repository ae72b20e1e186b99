package model

// Inception v3, Szegedy et al. 2015, "Rethinking the Inception Architecture", figures 5–7; keys and
// semantics of torchvision's inception_v3 (timm's inception_v3 uses the same keys). The pool branches of
// InceptionA/C/E are F.avg_pool2d(3, 1, 1), which counts padding.

var v3 = &Variant{
	Name: "v3", Arch: "v3", Aliases: []string{"inception-v3", "inception3", "inceptionv3"},
	Description: "Inception v3",
	Reference:   "torchvision / timm inception_v3",
	Size:        299, Classes: 1000,
	Ignore: []string{"AuxLogits."},
	net: func() *Net {
		return &Net{
			Features: chain(
				ck("Conv2d_1a_3x3", 32, 3, 2, 0), // 32×149×149
				ck("Conv2d_2a_3x3", 32, 3, 1, 0), // 32×147×147
				ck("Conv2d_2b_3x3", 64, 3, 1, 1), // 64×147×147
				maxpool(3, 2, 0, false),          // 64×73×73
				c1("Conv2d_3b_1x1", 80),
				ck("Conv2d_4a_3x3", 192, 3, 1, 0), // 192×71×71
				maxpool(3, 2, 0, false),           // 192×35×35
				inceptionA("Mixed_5b", 32),
				inceptionA("Mixed_5c", 64),
				inceptionA("Mixed_5d", 64), // 288×35×35
				inceptionB("Mixed_6a"),     // 768×17×17
				inceptionC("Mixed_6b", 128),
				inceptionC("Mixed_6c", 160),
				inceptionC("Mixed_6d", 160),
				inceptionC("Mixed_6e", 192), // 768×17×17
				inceptionD("Mixed_7a"),      // 1280×8×8
				inceptionE("Mixed_7b"),
				inceptionE("Mixed_7c"), // 2048×8×8
			),
			Head: []Linear{{Key: "fc", Out: 1000, Bias: true}},
		}
	},
}

// inceptionA is torchvision's InceptionA(in, pool_features): 1x1, 5x5, double 3x3, pool.
func inceptionA(key string, poolFeatures int) node {
	return mixed(key,
		c1("branch1x1", 64),
		chain(c1("branch5x5_1", 48), ck("branch5x5_2", 64, 5, 1, 2)),
		chain(c1("branch3x3dbl_1", 64), ck("branch3x3dbl_2", 96, 3, 1, 1), ck("branch3x3dbl_3", 96, 3, 1, 1)),
		chain(avgpool(3, 1, 1, false, true), c1("branch_pool", poolFeatures)),
	)
}

// inceptionB is the 35→17 grid reduction.
func inceptionB(key string) node {
	return mixed(key,
		ck("branch3x3", 384, 3, 2, 0),
		chain(c1("branch3x3dbl_1", 64), ck("branch3x3dbl_2", 96, 3, 1, 1), ck("branch3x3dbl_3", 96, 3, 2, 0)),
		maxpool(3, 2, 0, false),
	)
}

// inceptionC is InceptionC(768, channels_7x7): the 7×7 factorised into 1×7 and 7×1.
func inceptionC(key string, c7 int) node {
	return mixed(key,
		c1("branch1x1", 192),
		chain(c1("branch7x7_1", c7), c1xn("branch7x7_2", c7, 7), cnx1("branch7x7_3", 192, 7)),
		chain(c1("branch7x7dbl_1", c7), cnx1("branch7x7dbl_2", c7, 7), c1xn("branch7x7dbl_3", c7, 7),
			cnx1("branch7x7dbl_4", c7, 7), c1xn("branch7x7dbl_5", 192, 7)),
		chain(avgpool(3, 1, 1, false, true), c1("branch_pool", 192)),
	)
}

// inceptionD is the 17→8 grid reduction.
func inceptionD(key string) node {
	return mixed(key,
		chain(c1("branch3x3_1", 192), ck("branch3x3_2", 320, 3, 2, 0)),
		chain(c1("branch7x7x3_1", 192), c1xn("branch7x7x3_2", 192, 7), cnx1("branch7x7x3_3", 192, 7),
			ck("branch7x7x3_4", 192, 3, 2, 0)),
		maxpool(3, 2, 0, false),
	)
}

// inceptionE is the 8×8 module whose 3×3 branches end in parallel 1×3 and 3×1 convolutions.
func inceptionE(key string) node {
	return mixed(key,
		c1("branch1x1", 320),
		chain(c1("branch3x3_1", 384), mixed("", c1xn("branch3x3_2a", 384, 3), cnx1("branch3x3_2b", 384, 3))),
		chain(c1("branch3x3dbl_1", 448), ck("branch3x3dbl_2", 384, 3, 1, 1),
			mixed("", c1xn("branch3x3dbl_3a", 384, 3), cnx1("branch3x3dbl_3b", 384, 3))),
		chain(avgpool(3, 1, 1, false, true), c1("branch_pool", 192)),
	)
}
