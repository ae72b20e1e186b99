package model

// GoogLeNet (Inception v1), Szegedy et al. 2014, "Going deeper with convolutions", table 1.
// Two graphs share --arch v1:
//   - v1BVLC, the original as trained by BVLC in Caffe (bvlc_googlenet.caffemodel, deploy.prototxt names):
//     biased convolutions, no batch norm, LRN after the first pool and after conv2, Caffe's ceil-mode pools;
//   - v1BN, torchvision's googlenet: BasicConv2d (batch norm) everywhere, no LRN.

var v1BVLC = &Variant{
	Name: "v1", Arch: "v1", Aliases: []string{"googlenet", "inception-v1", "inception1", "bvlc-googlenet", "v1-bvlc", "googlenet-bvlc"},
	Description: "GoogLeNet, original BVLC Caffe graph (LRN, no batch norm)",
	Reference:   "BVLC deploy.prototxt (Caffe layer names)",
	Size:        224, Classes: 1000,
	Ignore: []string{"loss1/", "loss2/"}, // the official caffemodel carries the auxiliary classifiers
	net: func() *Net {
		return &Net{
			Features: chain(
				caffeConv("conv1/7x7_s2", 64, 7, 2, 3), // 64×112×112
				maxpool(3, 2, 0, true),                 // 64×56×56, Caffe rounds pooled sizes up
				caffeLRN(),
				caffeConv("conv2/3x3_reduce", 64, 1, 1, 0),
				caffeConv("conv2/3x3", 192, 3, 1, 1),
				caffeLRN(),
				maxpool(3, 2, 0, true), // 192×28×28
				bvlcInception("3a", 64, 96, 128, 16, 32, 32),
				bvlcInception("3b", 128, 128, 192, 32, 96, 64), // 480×28×28
				maxpool(3, 2, 0, true),                         // 480×14×14
				bvlcInception("4a", 192, 96, 208, 16, 48, 64),
				bvlcInception("4b", 160, 112, 224, 24, 64, 64),
				bvlcInception("4c", 128, 128, 256, 24, 64, 64),
				bvlcInception("4d", 112, 144, 288, 32, 64, 64),
				bvlcInception("4e", 256, 160, 320, 32, 128, 128), // 832×14×14
				maxpool(3, 2, 0, true),                           // 832×7×7
				bvlcInception("5a", 256, 160, 320, 32, 128, 128),
				bvlcInception("5b", 384, 192, 384, 48, 128, 128), // 1024×7×7
			),
			// pool5/7x7_s1 is a 7×7 average pool over the 7×7 map: the global average at 224×224.
			Head: []Linear{{Key: "loss3/classifier", Out: 1000, Bias: true}},
		}
	},
}

// caffeConv is a Caffe Convolution layer with its own bias, followed by ReLU.
func caffeConv(name string, out, k, s, p int) *ConvBN {
	return &ConvBN{Conv: name, Out: out, KH: k, KW: k, SH: s, SW: s, PadT: p, PadL: p, PadB: p, PadR: p, Bias: true, ReLU: true}
}

// caffeLRN is BVLC GoogLeNet's cross-channel LRN (local_size 5, alpha 1e-4, beta 0.75, k 1).
func caffeLRN() *LRN { return &LRN{Size: 5, Alpha: 1e-4, Beta: 0.75, K: 1} }

// bvlcInception is an inception module of deploy.prototxt: branches 1x1, 3x3, 5x5 (a true 5×5 here) and
// pool_proj after a 3×3 stride-1 max pool, concatenated in that order.
func bvlcInception(name string, c1x1, c3r, c3, c5r, c5, pool int) node {
	n := "inception_" + name + "/"
	return mixed("",
		caffeConv(n+"1x1", c1x1, 1, 1, 0),
		chain(caffeConv(n+"3x3_reduce", c3r, 1, 1, 0), caffeConv(n+"3x3", c3, 3, 1, 1)),
		chain(caffeConv(n+"5x5_reduce", c5r, 1, 1, 0), caffeConv(n+"5x5", c5, 5, 1, 2)),
		chain(maxpool(3, 1, 1, true), caffeConv(n+"pool_proj", pool, 1, 1, 0)),
	)
}

var v1BN = &Variant{
	Name: "v1-bn", Arch: "v1", Aliases: []string{"googlenet-bn", "googlenet-tv", "tv-googlenet"},
	Description: "GoogLeNet, torchvision graph (batch norm, no LRN)",
	Reference:   "torchvision.models.googlenet",
	Size:        224, Classes: 1000,
	Ignore: []string{"aux1.", "aux2."},
	net: func() *Net {
		return &Net{
			Features: chain(
				ck("conv1", 64, 7, 2, 3), // 64×112×112
				maxpool(3, 2, 0, true),   // 64×56×56
				ck("conv2", 64, 1, 1, 0),
				ck("conv3", 192, 3, 1, 1),
				maxpool(3, 2, 0, true), // 192×28×28
				tvInception("inception3a", 64, 96, 128, 16, 32, 32),
				tvInception("inception3b", 128, 128, 192, 32, 96, 64), // 480×28×28
				maxpool(3, 2, 0, true),                                // 480×14×14
				tvInception("inception4a", 192, 96, 208, 16, 48, 64),
				tvInception("inception4b", 160, 112, 224, 24, 64, 64),
				tvInception("inception4c", 128, 128, 256, 24, 64, 64),
				tvInception("inception4d", 112, 144, 288, 32, 64, 64),
				tvInception("inception4e", 256, 160, 320, 32, 128, 128), // 832×14×14
				maxpool(2, 2, 0, true),                                  // 832×7×7: torchvision's maxpool4 is 2×2, BVLC's 3×3
				tvInception("inception5a", 256, 160, 320, 32, 128, 128),
				tvInception("inception5b", 384, 192, 384, 48, 128, 128), // 1024×7×7
			),
			Head: []Linear{{Key: "fc", Out: 1000, Bias: true}},
		}
	},
}

// tvInception is torchvision's Inception(in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj).
// Quirk kept from torchvision: the "5x5" branch (branch3) is a 3×3 convolution.
func tvInception(key string, c1x1, c3r, c3, c5r, c5, pool int) node {
	return mixed(key,
		c1("branch1", c1x1),
		seq("branch2", c1("", c3r), ck("", c3, 3, 1, 1)),
		seq("branch3", c1("", c5r), ck("", c5, 3, 1, 1)),
		seq("branch4", maxpool(3, 1, 1, true), c1("", pool)),
	)
}
