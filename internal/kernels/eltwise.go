package kernels

import "math"

// ReLU applies max(·, 0) in place:
//
//	for i, v := range x {
//		if v < 0 {
//			x[i] = 0
//		}
//	}
//
// NaN stays NaN.
func ReLU(x []float32) { reluF32(x) }

// reluF32Generic is the portable ReLU; see ReLU for the reference loop.
func reluF32Generic(x []float32) {
	for i, v := range x {
		if v < 0 {
			x[i] = 0
		}
	}
}

// BiasAct adds a bias per channel to a CHW tensor of c channels of hw values, in place, then
// applies max(·, 0) when relu:
//
//	for ch, i := range c, hw {
//		v := x[ch*hw+i] + bias[ch]
//		if relu {
//			v = max(v, 0)
//		}
//		x[ch*hw+i] = v
//	}
//
// The model uses it after an average pool it has moved behind a 1×1 convolution.
func BiasAct(c, hw int, x, bias []float32, relu bool) {
	if c < 0 || hw < 0 {
		panic("kernels: BiasAct negative dimension")
	}
	if len(x) < c*hw || len(bias) < c {
		panic("kernels: BiasAct slice too short")
	}
	for ch, b := range bias[:c] {
		row := x[ch*hw : ch*hw+hw]
		if relu {
			for i, v := range row {
				row[i] = max(v+b, 0)
			}
			continue
		}
		for i, v := range row {
			row[i] = v + b
		}
	}
}

// AddScaled computes the Inception-ResNet residual sum, x being the shortcut and y the
// branch's conv output:
//
//	for i := range out {
//		v := x[i] + scale*y[i]
//		if relu {
//			v = max(v, 0)
//		}
//		out[i] = v
//	}
//
// out, x and y have the same length; out may alias x or y.
func AddScaled(out, x, y []float32, scale float32, relu bool) {
	if len(x) != len(out) || len(y) != len(out) {
		panic("kernels: AddScaled length mismatch")
	}
	addScaledF32(out, x, y, scale, relu)
}

// addScaledF32Generic is the portable AddScaled; see AddScaled for the reference loop.
func addScaledF32Generic(out, x, y []float32, scale float32, relu bool) {
	x = x[:len(out)]
	y = y[:len(out)]
	// float32(…) rounds the product on its own: never an FMA (the Go spec lets a compiler
	// fuse x+scale*y, e.g. for GOAMD64=v3), so the AVX2 version (multiply, then add) matches bit for bit.
	if relu {
		for i := range out {
			out[i] = max(x[i]+float32(scale*y[i]), 0)
		}
		return
	}
	for i := range out {
		out[i] = x[i] + float32(scale*y[i])
	}
}

// dotF32Generic returns the dot product of a and b[:len(a)]:
//
//	var sum float32
//	for i := range a {
//		sum += a[i] * b[i]
//	}
//	return sum
//
// It keeps four partial sums (i mod 4), added pairwise at the end.
func dotF32Generic(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	// Two rounds of four per iteration: the first round's adds feed the second's, which lets
	// the scheduler interleave them (see gemmF32_1x8Generic).
	for ; i+7 < len(a); i += 8 {
		aa := a[i : i+8 : i+8]
		bb := b[i : i+8 : i+8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s0 += aa[4] * bb[4]
		s1 += aa[5] * bb[5]
		s2 += aa[6] * bb[6]
		s3 += aa[7] * bb[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Linear computes a fully connected layer with PyTorch's [out][in] weight layout:
//
//	for b := 0; b < n; b++ {
//		for o := 0; o < out; o++ {
//			sum := bias[o] // 0 when bias == nil
//			for i := 0; i < in; i++ {
//				sum += w[o*in+i] * x[b*in+i]
//			}
//			y[b*out+o] = sum
//		}
//	}
//
// x: n*in; w: out*in; bias: len out or nil; y: n*out.
func Linear(n, in, out int, x, w, bias, y []float32) {
	if n < 1 || in < 1 || out < 1 {
		panic("kernels: Linear non-positive dimension")
	}
	if len(x) < n*in {
		panic("kernels: Linear x too short")
	}
	if len(w) < out*in {
		panic("kernels: Linear w too short")
	}
	if bias != nil && len(bias) < out {
		panic("kernels: Linear bias too short")
	}
	if len(y) < n*out {
		panic("kernels: Linear y too short")
	}
	for o := 0; o < out; o++ {
		wo := w[o*in : o*in+in]
		var bo float32
		if bias != nil {
			bo = bias[o]
		}
		for b := 0; b < n; b++ {
			y[b*out+o] = bo + dotF32(wo, x[b*in:b*in+in])
		}
	}
}

// Softmax computes one row of softmax in float64 with max subtraction:
//
//	m := max(x...)
//	var sum float64
//	for _, v := range x {
//		sum += math.Exp(float64(v - m))
//	}
//	for i, v := range x {
//		out[i] = float32(math.Exp(float64(v-m)) / sum)
//	}
//
// (the subtraction is done in float64). out has the length of x and may alias it.
func Softmax(x, out []float32) {
	if len(out) != len(x) {
		panic("kernels: Softmax length mismatch")
	}
	if len(x) == 0 {
		return
	}
	m := float64(x[0])
	for _, v := range x[1:] {
		m = max(m, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - m)
	}
	for i, v := range x {
		out[i] = float32(math.Exp(float64(v)-m) / sum)
	}
}

// CopyChannels copies c channels of hw values into a channel slice of a larger CHW tensor
// (channel concat, when a branch cannot write its output in place):
//
//	copy(dst[:c*hw], src[:c*hw])
//
// dst is the sub-slice of the concat output starting at the target channel.
func CopyChannels(c, hw int, dst, src []float32) {
	if c < 0 || hw < 0 {
		panic("kernels: CopyChannels negative dimension")
	}
	if len(dst) < c*hw || len(src) < c*hw {
		panic("kernels: CopyChannels slice too short")
	}
	copy(dst[:c*hw], src[:c*hw])
}

// LRN computes local response normalisation across channels with Caffe's semantics
// (ACROSS_CHANNELS; bvlc_googlenet uses size 5, alpha 1e-4, beta 0.75, k 1):
//
//	pre := (size - 1) / 2
//	for ch, i := range c, hw {
//		var sq float32
//		for cc := ch - pre; cc < ch-pre+size; cc++ {
//			if 0 <= cc && cc < c {
//				sq += in[cc*hw+i] * in[cc*hw+i]
//			}
//		}
//		scale := k + alpha/size*sq
//		out[ch*hw+i] = in[ch*hw+i] * scale^-beta
//	}
//
// in, out: c*hw, not aliased. The power is taken in float64 (sqrt-based for beta 0.75 and 0.5). It is
// a copy of in into out, normalised there (LRNPlanes).
func LRN(c, hw, size int, alpha, beta, k float32, in, out []float32) {
	if c < 1 || hw < 1 || size < 1 {
		panic("kernels: LRN non-positive dimension")
	}
	if len(in) < c*hw || len(out) < c*hw {
		panic("kernels: LRN slice too short")
	}
	copy(out[:c*hw], in[:c*hw])
	lrnF32Generic(c, hw, hw, size, alpha, beta, k, out)
}

// LRNInPlace computes LRN(c, hw, size, alpha, beta, k, x, x): it writes the normalised channels over
// x, bit for bit as LRN would write them elsewhere, so that a network needs no second buffer of x's
// size (bvlc_googlenet's norm2 after conv2/3x3: 192×56×56, 2.4 MB, beside its input at the one-thread
// memory peak).
func LRNInPlace(c, hw, size int, alpha, beta, k float32, x []float32) {
	LRNPlanes(c, hw, hw, size, alpha, beta, k, x)
}

// LRNPlanes is LRNInPlace over the first n pixels of c planes stride apart (x[ch*stride:]), the
// others left alone: the rows of a band of a convolution's output (a band buffer's planes hold more
// rows than the band's). Channels go in order over blocks of pixels, and each block keeps the
// original values of the channels behind the current one that the window still reads in a ring of
// (size-1)/2 rows; the float32 sums run over the window's channels in order, as LRN's reference loop.
func LRNPlanes(c, n, stride, size int, alpha, beta, k float32, x []float32) {
	if c < 1 || n < 1 || size < 1 {
		panic("kernels: LRN non-positive dimension")
	}
	if stride < n || len(x) < (c-1)*stride+n {
		panic("kernels: LRN slice too short")
	}
	lrnF32Generic(c, n, stride, size, alpha, beta, k, x)
}

// lrnF32Generic is LRNPlanes after argument checks.
func lrnF32Generic(c, n, stride, size int, alpha, beta, k float32, x []float32) {
	pre := (size - 1) / 2
	coef := float64(alpha) / float64(size)
	var sq [lrnBlock]float32
	var stack [lrnRing * lrnBlock]float32
	ring := stack[:] // ring[(ch%pre)*lrnBlock:]: channel ch's original values
	if pre > lrnRing {
		ring = make([]float32, pre*lrnBlock)
	}
	for i0 := 0; i0 < n; i0 += lrnBlock {
		m := min(lrnBlock, n-i0)
		for ch := 0; ch < c; ch++ {
			lo, hi := max(ch-pre, 0), min(ch-pre+size, c)
			// The window's squares summed in channel order: channels behind ch from the ring, the
			// others (not yet overwritten) from x.
			s := sq[:m]
			clear(s)
			for cc := lo; cc < hi; cc++ {
				var src []float32
				if cc < ch {
					src = ring[cc%pre*lrnBlock:][:m]
				} else {
					src = x[cc*stride+i0 : cc*stride+i0+m]
				}
				for i, v := range src {
					s[i] += v * v
				}
			}
			dst := x[ch*stride+i0 : ch*stride+i0+m]
			if pre > 0 {
				copy(ring[ch%pre*lrnBlock:][:m], dst)
			}
			for i, v := range dst {
				scale := float64(k) + coef*float64(s[i])
				dst[i] = float32(float64(v) * powNeg(scale, float64(beta)))
			}
		}
	}
}

// lrnBlock is the pixels LRNInPlace normalises at a time, and lrnRing the most channels behind the
// current one whose values its ring keeps on the stack (5 KiB in all; wider windows take the heap).
const (
	lrnBlock = 256
	lrnRing  = 4
)

// powNeg returns s^-beta; 0.75 (Caffe GoogLeNet) and 0.5 avoid math.Pow (~5× slower).
func powNeg(s, beta float64) float64 {
	switch beta {
	case 0.75:
		r := math.Sqrt(s)
		return 1 / (r * math.Sqrt(r))
	case 0.5:
		return 1 / math.Sqrt(s)
	}
	return math.Pow(s, -beta)
}
