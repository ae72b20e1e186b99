package preprocess

import "math"

// This file reproduces TF-slim's eval preprocessing (tensorflow/models,
// research/slim/preprocessing/inception_preprocessing.py preprocess_for_eval)
// for the ResizeCentralCrop mode:
//
//	image = tf.image.convert_image_dtype(image, dtype=tf.float32)
//	image = tf.image.central_crop(image, central_fraction=0.875)
//	image = tf.image.resize_bilinear([image], [height, width], align_corners=False)
//	image = (image - 0.5) * 2.0
//
// from a reading of TensorFlow's sources (tensorflow/python/ops/
// image_ops_impl.py convert_image_dtype and central_crop;
// tensorflow/core/kernels/resize_bilinear_op.cc and image_resizer_state.h).
// No TensorFlow is available to make fixtures, so the tests derive expected
// values by hand from those formulas.
//
// TF's resize_bilinear is not PIL's BILINEAR: it does not widen the filter
// when downscaling (no antialiasing), and its legacy coordinate mapping is
// in = out*scale with scale = in_size/out_size, not pixel centres, so it
// reads the top-left 2×2 neighbourhood of each scaled position. The
// arithmetic is float32 throughout.

// centralCropStart is tf.image.central_crop's offset for a side of n pixels:
// int((n - n*fraction) / 2) in float64, truncated. The crop keeps
// n - 2*start pixels. TensorFlow before 1.0, current when the slim
// checkpoints were trained, computed n // int(1/((1-fraction)/2)); for
// fraction 0.875 both give n // 16.
func centralCropStart(n int, fraction float64) int {
	d := float64(n)
	return int((d - float64(d*fraction)) / 2)
}

// tfInterp is resize_bilinear_op.cc's CachedInterpolation for one axis.
type tfInterp struct {
	lower, upper int
	lerp         float32
}

// tfInterpolation is compute_interpolation_weights with the LegacyScaler
// (align_corners=False, half_pixel_centers=False): scale =
// float(in)/float(out), in = float(i)*scale, lower = floor(in), upper =
// min(ceil(in), in-1), lerp = in - floor(in), all in float32.
func tfInterpolation(in, out int) []tfInterp {
	scale := float32(in) / float32(out)
	w := make([]tfInterp, out)
	for i := range w {
		x := float32(i) * scale
		f := float32(math.Floor(float64(x)))
		w[i] = tfInterp{
			lower: max(int(f), 0),
			upper: min(int(math.Ceil(float64(x))), in-1),
			lerp:  x - f,
		}
	}
	return w
}

// tfLerp is resize_bilinear_op.cc's compute_lerp in float32; the float32
// conversions stop Go from fusing a multiply and an add into an FMA, which
// TensorFlow's SSE code does not do.
func tfLerp(tl, tr, bl, br, xl, yl float32) float32 {
	top := tl + float32((tr-tl)*xl)
	bottom := bl + float32((br-bl)*xl)
	return top + float32((bottom-top)*yl)
}

// intoCentralCrop writes the ResizeCentralCrop (TF-slim) tensor of src into
// dst in CHW order: each byte becomes float32(v) * float32(1./255)
// (convert_image_dtype multiplies; Range255 keeps v), the central CropPct of
// each side is kept, resize_bilinear brings it to Size×Size, RangePM1 maps
// the result x to (x - 0.5) * 2, and Mean, Std and TransformInput apply as
// in Preset.normalize. With the tf-slim defaults (Range1, Mean = Std = 0.5)
// (x - 0.5) / 0.5 equals TF's (x - 0.5) * 2.0 bit for bit: both scale by a
// power of two.
func (p Preset) intoCentralCrop(src *RGB8, dst []float32) {
	s := p.Size
	top, left := centralCropStart(src.H, p.CropPct), centralCropStart(src.W, p.CropPct)
	ch, cw := src.H-2*top, src.W-2*left
	one := 1.0 // a variable: 1./255 is computed in float64, then rounded, as in Python
	scale := float32(one / 255)
	if p.Range == Range255 {
		scale = 1
	}
	var conv [256]float32
	for v := range conv {
		conv[v] = float32(v) * scale
	}
	ys, xs := tfInterpolation(ch, s), tfInterpolation(cw, s)
	for c := range 3 {
		sc := p.srcChannel(c)
		plane := dst[c*s*s : (c+1)*s*s]
		for y, yi := range ys {
			lo := src.Pix[3*((top+yi.lower)*src.W+left):]
			hi := src.Pix[3*((top+yi.upper)*src.W+left):]
			out := plane[y*s : (y+1)*s]
			for x, xi := range xs {
				l, u := 3*xi.lower+sc, 3*xi.upper+sc
				v := tfLerp(conv[lo[l]], conv[lo[u]], conv[hi[l]], conv[hi[u]], xi.lerp, yi.lerp)
				if p.Range == RangePM1 {
					v = (v - 0.5) * 2
				}
				out[x] = p.normalize(c, v)
			}
		}
	}
}
