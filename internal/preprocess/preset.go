package preprocess

import (
	"fmt"
	"image"
	"math"
	"sort"
	"strings"

	"gorgonia.org/tensor"
)

// ResizeMode says how a Preset maps the image onto its Size×Size input.
type ResizeMode int

const (
	// ResizeBoth resizes to Resize×Resize, ignoring the aspect ratio, then
	// centre-crops Size×Size (BVLC Caffe, keras). Named "both".
	ResizeBoth ResizeMode = iota
	// ResizeShorter resizes the shorter side to Resize and the longer one to
	// int(Resize*long/short), torchvision's Resize(int) rule, then
	// centre-crops Size×Size (torchvision, timm, Cadene). Named "shorter".
	ResizeShorter
	// ResizeCentralCrop first crops the central CropPct of each side
	// (tf.image.central_crop), then resizes that crop to Size×Size, ignoring
	// the aspect ratio, with TensorFlow 1.x's resize_bilinear
	// (align_corners=False) in float32, not with PIL (TF-slim). Named
	// "central-crop".
	ResizeCentralCrop
)

var resizeModeNames = [...]string{"both", "shorter", "central-crop"}

// String returns the name ParseResizeMode accepts ("both", "shorter", "central-crop").
func (m ResizeMode) String() string {
	if m < 0 || int(m) >= len(resizeModeNames) {
		return fmt.Sprintf("ResizeMode(%d)", int(m))
	}
	return resizeModeNames[m]
}

// ParseResizeMode returns the mode named "both", "shorter" or "central-crop",
// the names of the model manifests' resize_mode.
func ParseResizeMode(name string) (ResizeMode, error) {
	for i, n := range resizeModeNames {
		if strings.EqualFold(name, n) {
			return ResizeMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown resize mode %q (want one of %s)", name, strings.Join(resizeModeNames[:], ", "))
}

// Pixel ranges, the manifests' names for what the 0..255 pixel v becomes
// before Mean and Std are applied. Each is a float32 division, not a
// multiplication by the inverse (in float32 the two differ for about half of
// the 256 values), except where TF-slim's reference multiplies.
const (
	Range255 = "0-255" // x = v (Caffe, Cadene)
	Range1   = "0-1"   // x = v / 255 (torchvision ToTensor; TF-slim: v * float32(1/255))
	// RangePM1 is x = v / 127.5 - 1 (keras 'tf' mode: x /= 127.5; x -= 1).
	// For TF-slim it is its own (v * float32(1/255) - 0.5) * 2 after the
	// resize.
	RangePM1 = "-1-1"
)

// Limits on what a preset may ask for: the network input side, and the
// resize target before the crop.
const (
	maxInputSize  = 4096
	maxResizeSize = 16384
)

// Preset is one reference preprocessing recipe. For ResizeBoth and
// ResizeShorter: decode to RGB, resize with PIL's resampler (ResizePIL),
// centre-crop Size×Size at torchvision's offsets, then per channel
//
//	x = float32(pixel)                   Range255
//	x = float32(pixel) / 255             Range1
//	x = float32(pixel) / 127.5 - 1       RangePM1
//	x = (x - float32(Mean[c])) / float32(Std[c])
//	x = x*a[c] + b[c]                    TransformInput only (see normalize)
//
// evaluated in float32 in that order, which is what the references do
// (torchvision: ToTensor divides by 255, Normalize subtracts then divides;
// keras 'tf' mode: x /= 127.5; x -= 1; caffe: x - mean), so the tensor is
// bit-identical to theirs. ResizeCentralCrop (TF-slim) computes in float32
// before resizing instead; see intoCentralCrop.
//
// Build presets with NewPreset or LookupPreset; the fields describe the
// recipe and may be read, but With only knows the parameters NewPreset saw.
type Preset struct {
	Name       string
	Size       int        // side of the square network input
	ResizeMode ResizeMode // how the image is brought to Size×Size
	// Resize is the target of ResizeBoth and ResizeShorter; Resize == Size
	// means no crop. Unused by ResizeCentralCrop.
	Resize int
	// CropPct is the central_fraction of ResizeCentralCrop. For the other
	// modes it is the crop_pct Resize was derived from (Resize =
	// floor(Size/CropPct)), or 0 when Resize was given or came from the
	// 256/224 rule.
	CropPct float64
	Filter  Filter // PIL resampling filter; ResizeCentralCrop always uses TF's bilinear
	BGR     bool   // emit channels as B, G, R (Caffe) instead of R, G, B
	// Range is Range255, Range1 or RangePM1: the scale of the pixel before
	// Mean and Std.
	Range string
	// Mean and Std are per output channel (so B, G, R when BGR) in Range
	// units, as the reference states them; the arithmetic rounds them to
	// float32 as torch.as_tensor(mean, dtype=torch.float32) does.
	Mean, Std [3]float64
	// TransformInput applies, after normalisation, the transform_input step
	// of torchvision's pretrained googlenet and inception_v3:
	// x*(std/0.5) + (mean-0.5)/0.5 with torchvision's hard-coded ImageNet
	// mean and std of output channel c, which maps ImageNet-normalised input
	// to the [-1, 1] scale the ported TF weights expect. Presets apply it so
	// the network does not have to.
	TransformInput bool

	params Params // what NewPreset was given, for With
}

// Params describes a weight set's preprocessing as the model registry states
// it. Preset names the base recipe; every other zero field keeps the base
// recipe's value.
type Params struct {
	// Preset is the base recipe: one of PresetNames(), the manifests'
	// preset families.
	Preset string
	// Size is the side of the square network input (224, 299).
	Size int
	// ResizeSize is the resize target before the centre crop: the shorter
	// side (torchvision Resize(256)) or both sides, per the recipe's mode.
	// At most one of ResizeSize and CropPct may be set.
	ResizeSize int
	// CropPct is timm's crop_pct, in (0, 1]: the image is resized to
	// floor(Size/CropPct), then centre-cropped to Size. For tf-slim it is
	// tf.image.central_crop's central_fraction.
	CropPct float64
	// Interpolation is the PIL resampling filter: nearest, bilinear,
	// bicubic or lanczos (also box, hamming). tf-slim allows only bilinear.
	Interpolation string
	// ResizeMode is "shorter", "both" or "central-crop"; central-crop
	// only with tf-slim, which has no other mode.
	ResizeMode string
	// Mean and Std hold 3 values each in ChannelOrder, in Range units.
	Mean, Std []float64
	// ChannelOrder is "RGB" or "BGR". Changing it without giving Mean and
	// Std reverses the recipe's defaults to follow the channels.
	ChannelOrder string
	// Range is "0-255", "0-1" or "-1-1" (Range255, Range1, RangePM1).
	Range string
	// TransformInput: see Preset.TransformInput. It is false unless set.
	TransformInput bool
}

// Overrides changes single parameters of a preset, as the command-line flags
// --size, --crop-pct and --interpolation do. Zero fields change nothing.
type Overrides struct {
	Size          int
	CropPct       float64
	Interpolation string
}

// recipe is a base preset: its defaults before Params apply.
type recipe struct {
	size int
	mode ResizeMode
	// cropPct gives Resize = floor(size/cropPct) (the central fraction for
	// ResizeCentralCrop); 0 means the 256/224 rule, Resize =
	// round(size*256/224): 256 for 224, 342 for 299.
	cropPct   float64
	filter    Filter
	bgr       bool
	rng       string
	mean, std [3]float64
}

var (
	imagenetMean  = [3]float64{0.485, 0.456, 0.406}
	imagenetStd   = [3]float64{0.229, 0.224, 0.225}
	inceptionMean = [3]float64{0.5, 0.5, 0.5} // timm IMAGENET_INCEPTION_MEAN
	inceptionStd  = [3]float64{0.5, 0.5, 0.5}
	unitStd       = [3]float64{1, 1, 1}
)

// recipes are the base presets. Each reproduces its reference pipeline
// (named in the comment) bit for bit, checked by the tests named there.
var recipes = map[string]recipe{
	// BVLC GoogLeNet (models/bvlc_googlenet, Caffe's ImageNet recipe as
	// re-run in PIL for shared/golden/bvlc_googlenet.json): resize to 256×256
	// bilinear, centre crop 224, BGR, minus the per-channel means B=104,
	// G=117, R=123 on the 0..255 scale. TestCaffeGolden.
	"caffe": {size: 224, mode: ResizeBoth, filter: Bilinear, bgr: true, rng: Range255,
		mean: [3]float64{104, 117, 123}, std: unitStd},
	// Cadene's BN-Inception (pretrainedmodels bninception: input_space BGR,
	// input_range [0, 255], mean [104, 117, 128], std [1, 1, 1]) through its
	// own pretrainedmodels/utils.py TransformImage: Resize(floor(224/0.875) =
	// 256) on the shorter side (PIL bilinear), CenterCrop(224), ToTensor,
	// ToSpaceBGR, ToRange255 (x*255), Normalize. float32((v/255)*255) == v for
	// every byte, so this is v - mean exactly. For the 256×256 warp of the
	// Caffe original instead, set Params.ResizeMode "both".
	// TestPresetsMatchTorchvision.
	"cadene": {size: 224, mode: ResizeShorter, cropPct: 0.875, filter: Bilinear, bgr: true, rng: Range255,
		mean: [3]float64{104, 117, 128}, std: unitStd},
	// keras.applications Inception (v3, InceptionResNetV2): the whole image
	// resized to Size×Size, RGB, x/127.5 - 1. keras.utils.load_img defaults to
	// nearest interpolation, but the ImageNet evaluations of these models (and
	// tf.image.resize, and most ports) use bilinear, so this preset does.
	// TestKerasMatchesNumpy.
	"keras": {size: 299, mode: ResizeBoth, cropPct: 1, filter: Bilinear, rng: RangePM1, std: unitStd},
	// TF-slim inception_preprocessing.preprocess_for_eval (tensorflow/models
	// research/slim/preprocessing/inception_preprocessing.py), used by the
	// slim checkpoints inception_v1..v4 and inception_resnet_v2:
	// convert_image_dtype (x * float32(1/255)), central_crop(0.875),
	// resize_bilinear(align_corners=False) to Size×Size, then (x - 0.5) * 2.
	// Those checkpoints have 1001 classes with 0 = background; dropping it is
	// the model registry's business. TestCentralCrop*, TestTFResizeBilinear*.
	"tf-slim": {size: 299, mode: ResizeCentralCrop, cropPct: 0.875, filter: Bilinear, rng: Range1,
		mean: inceptionMean, std: inceptionStd},
	// timm's eval transform (timm/data/transforms_factory.py
	// transforms_imagenet_eval, crop_mode 'center'): Resize(floor(Size /
	// crop_pct)) on the shorter side with the pretrained config's
	// interpolation, CenterCrop(Size), ToTensor, Normalize(mean, std). The
	// defaults are timm's inception_v3.tf_in1k / inception_v4.tf_in1k /
	// inception_v3.tv_in1k config: 299, crop_pct 0.875 (resize 341), bicubic,
	// mean = std = 0.5. inception_resnet_v2.* needs CropPct 0.8975 (resize
	// 333), inception_v3.gluon_in1k the ImageNet mean and std.
	// TestPresetsMatchTorchvision.
	"timm": {size: 299, mode: ResizeShorter, cropPct: 0.875, filter: Bicubic, rng: Range1,
		mean: inceptionMean, std: inceptionStd},
	// torchvision's ImageNet eval transform for its own weights
	// (torchvision/transforms/_presets.py ImageClassification): Resize(256,
	// or 342 for inception_v3's 299) on the shorter side, PIL bilinear,
	// CenterCrop, ToTensor, Normalize(ImageNet mean, std). googlenet and
	// inception_v3 weights also need TransformInput. TestPresetsMatchTorchvision.
	"torchvision": {size: 224, mode: ResizeShorter, filter: Bilinear, rng: Range1,
		mean: imagenetMean, std: imagenetStd},
}

// PresetNames lists the known presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(recipes))
	for n := range recipes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupPreset returns the named preset for a size×size input; size 0 means
// the preset's default (224 for caffe, cadene and torchvision,
// 299 for keras, tf-slim and timm).
func LookupPreset(name string, size int) (Preset, error) {
	return NewPreset(Params{Preset: name, Size: size})
}

// NewPreset builds the preset p describes: p.Preset's recipe with p's
// non-zero fields in place of its defaults. It checks that the result is
// consistent (e.g. the resize is not smaller than the crop).
func NewPreset(p Params) (Preset, error) {
	name := strings.ToLower(p.Preset)
	r, ok := recipes[name]
	if !ok {
		return Preset{}, fmt.Errorf("unknown preprocessing preset %q (have %s)", p.Preset, strings.Join(PresetNames(), ", "))
	}
	fail := func(format string, args ...any) (Preset, error) {
		return Preset{}, fmt.Errorf("preset %s: "+format, append([]any{name}, args...)...)
	}
	out := Preset{
		Name: name, Size: r.size, ResizeMode: r.mode, Filter: r.filter, BGR: r.bgr,
		Range: r.rng, Mean: r.mean, Std: r.std, TransformInput: p.TransformInput, params: p,
	}
	if p.Size != 0 {
		out.Size = p.Size
	}
	if out.Size < 1 || out.Size > maxInputSize {
		return fail("input size %d out of range 1..%d", out.Size, maxInputSize)
	}
	if p.ResizeMode != "" {
		m, err := ParseResizeMode(p.ResizeMode)
		if err != nil {
			return fail("%v", err)
		}
		if (m == ResizeCentralCrop) != (r.mode == ResizeCentralCrop) {
			return fail("resize mode %s is not available (central-crop goes with tf-slim only)", m)
		}
		out.ResizeMode = m
	}
	if p.Interpolation != "" {
		f, err := ParseFilter(p.Interpolation)
		if err != nil {
			return fail("%v", err)
		}
		if out.ResizeMode == ResizeCentralCrop && f != Bilinear {
			return fail("interpolation %s is not available: TF-slim resizes with TensorFlow's bilinear", f)
		}
		out.Filter = f
	}
	if p.ChannelOrder != "" {
		switch strings.ToUpper(p.ChannelOrder) {
		case "RGB":
			out.BGR = false
		case "BGR":
			out.BGR = true
		default:
			return fail("channel order %q is not RGB or BGR", p.ChannelOrder)
		}
		if out.BGR != r.bgr { // the defaults follow their channels
			out.Mean[0], out.Mean[2] = out.Mean[2], out.Mean[0]
			out.Std[0], out.Std[2] = out.Std[2], out.Std[0]
		}
	}
	for _, v := range []struct {
		name   string
		vals   []float64
		dst    *[3]float64
		nonzer bool
	}{{"mean", p.Mean, &out.Mean, false}, {"std", p.Std, &out.Std, true}} {
		if v.vals == nil {
			continue
		}
		if len(v.vals) != 3 {
			return fail("%s has %d values, want 3", v.name, len(v.vals))
		}
		for i, x := range v.vals {
			if math.IsNaN(x) || math.IsInf(x, 0) || (v.nonzer && float32(x) == 0) {
				return fail("%s %v is not usable", v.name, v.vals)
			}
			v.dst[i] = x
		}
	}
	if p.Range != "" {
		if p.Range != Range255 && p.Range != Range1 && p.Range != RangePM1 {
			return fail("range %q is not %s, %s or %s", p.Range, Range255, Range1, RangePM1)
		}
		out.Range = p.Range
	}

	// Geometry: ResizeSize, else CropPct, else the recipe's rule.
	if p.ResizeSize != 0 && p.CropPct != 0 {
		return fail("give resize size %d or crop_pct %v, not both", p.ResizeSize, p.CropPct)
	}
	cropPct := r.cropPct
	if p.CropPct != 0 {
		if !(p.CropPct > 0 && p.CropPct <= 1) {
			return fail("crop_pct %v is not in (0, 1]", p.CropPct)
		}
		cropPct = p.CropPct
	}
	switch {
	case out.ResizeMode == ResizeCentralCrop:
		if p.ResizeSize != 0 {
			return fail("TF-slim crops a fraction of the image before resizing: give crop_pct, not a resize size")
		}
		out.CropPct = cropPct
	case p.ResizeSize != 0:
		out.Resize = p.ResizeSize
	case cropPct != 0:
		// timm: scale_size = math.floor(img_size / crop_pct), in float64.
		out.Resize = int(math.Floor(float64(out.Size) / cropPct))
		out.CropPct = cropPct
	default:
		out.Resize = int(math.Round(float64(out.Size) * 256 / 224))
	}
	if out.ResizeMode != ResizeCentralCrop && (out.Resize < out.Size || out.Resize > maxResizeSize) {
		return fail("resize size %d is outside %d..%d (at least the %d crop)", out.Resize, out.Size, maxResizeSize, out.Size)
	}
	return out, nil
}

// With returns the preset rebuilt with o's non-zero fields in place of the
// parameters it was made from. A new Size keeps the resize rule: a crop_pct
// or the 256/224 rule is re-applied, an explicit resize size is scaled with
// it (round(size*Resize/Size)). A new CropPct replaces any resize size.
func (p Preset) With(o Overrides) (Preset, error) {
	q := p.params
	if q.Preset == "" {
		return Preset{}, fmt.Errorf("preset %s was not made by NewPreset and cannot be overridden", p.Name)
	}
	if o.Size != 0 {
		if q.ResizeSize != 0 {
			q.ResizeSize = int(math.Round(float64(o.Size) * float64(p.Resize) / float64(p.Size)))
		}
		q.Size = o.Size
	}
	if o.CropPct != 0 {
		q.CropPct, q.ResizeSize = o.CropPct, 0
	}
	if o.Interpolation != "" {
		q.Interpolation = o.Interpolation
	}
	return NewPreset(q)
}

// resizeTarget is the size the image is resized to before the crop.
func (p Preset) resizeTarget(w, h int) (int, int) {
	if p.ResizeMode == ResizeShorter {
		if w <= h {
			return p.Resize, p.Resize * h / w // int(size*long/short); exact in integers
		}
		return p.Resize * w / h, p.Resize
	}
	return p.Resize, p.Resize
}

// Tensor returns img preprocessed as a float32 tensor of shape [1, 3, Size, Size].
func (p Preset) Tensor(img image.Image) *tensor.Dense {
	buf := make([]float32, 3*p.Size*p.Size)
	p.Into(img, buf)
	return tensor.New(tensor.WithShape(1, 3, p.Size, p.Size), tensor.WithBacking(buf))
}

// Into writes img preprocessed into dst in CHW order (len(dst) must be
// 3*Size*Size). Besides converting img to *RGB8 when it is not one, it
// allocates memory in proportion to the crop, not to the resize target:
// only the cropped window of the resize is computed (resizePILWindow).
func (p Preset) Into(img image.Image, dst []float32) {
	s := p.Size
	if len(dst) != 3*s*s {
		panic(fmt.Sprintf("preprocess: Preset.Into: len(dst) = %d, want 3*%d*%d", len(dst), s, s))
	}
	rgb, ok := img.(*RGB8)
	if !ok {
		rgb = ToRGB8(img)
	}
	if p.ResizeMode == ResizeCentralCrop {
		p.intoCentralCrop(rgb, dst)
		return
	}
	rw, rh := p.resizeTarget(rgb.W, rgb.H)
	r := resizePILWindow(rgb, rw, rh, p.Filter, p.centerCrop(rw, rh))
	lut := p.lut()
	p.writeCHW(dst, r, false, &lut)
}

// centerCrop is torchvision CenterCrop's Size×Size window of a w×h image:
// offsets int(round((w - Size) / 2)) and int(round((h - Size) / 2)), with
// Python's round half to even.
func (p Preset) centerCrop(w, h int) image.Rectangle {
	s := p.Size
	left, top := centerOffset(w, s), centerOffset(h, s)
	if top < 0 || left < 0 {
		panic(fmt.Sprintf("preprocess: preset %s resizes to %dx%d, smaller than its %d crop", p.Name, w, h, s))
	}
	return image.Rect(left, top, left+s, top+s)
}

// centerOffset is torchvision's int(round((n - crop) / 2.0)).
func centerOffset(n, crop int) int {
	return int(math.RoundToEven(float64(n-crop) / 2))
}

// writeCHW writes the Size×Size image r into dst (3*Size*Size values, CHW)
// through lut, p.lut()'s exact float32 value of each byte per output
// channel; mirror reverses each row (a horizontal flip).
func (p Preset) writeCHW(dst []float32, r *RGB8, mirror bool, lut *[3][256]float32) {
	s := p.Size
	for c := range 3 {
		t := &lut[c]
		plane := dst[c*s*s : (c+1)*s*s]
		sc := p.srcChannel(c)
		if !mirror {
			for i := range plane {
				plane[i] = t[r.Pix[3*i+sc]]
			}
			continue
		}
		for y := range s {
			row := r.Pix[3*y*s : 3*(y+1)*s]
			out := plane[y*s : (y+1)*s]
			for x := range out {
				out[x] = t[row[3*(s-1-x)+sc]]
			}
		}
	}
}

// srcChannel is the RGB channel that output channel c comes from.
func (p Preset) srcChannel(c int) int {
	if p.BGR {
		return 2 - c
	}
	return c
}

// lut returns the float32 value of each pixel byte per output channel.
func (p Preset) lut() (t [3][256]float32) {
	for c := range 3 {
		for v := range 256 {
			x := float32(v)
			switch p.Range {
			case Range1:
				x /= 255
			case RangePM1:
				x = x/127.5 - 1
			}
			t[c][v] = p.normalize(c, x)
		}
	}
	return t
}

// Constants of torchvision's transform_input (models/googlenet.py,
// models/inception.py _transform_input), by model input channel. Variables,
// not constants, so that std/0.5 and (mean-0.5)/0.5 are computed in float64
// as Python does before torch rounds them to float32, rather than exactly
// as Go constant arithmetic would. (For these six values both give the same
// float32; TestTransformInputConstants pins them.)
var tiMean, tiStd = imagenetMean, imagenetStd

// normalize applies Mean, Std and TransformInput to x, the pixel on the Range
// scale, for output channel c, in float32 as torch does: sub, div, then
// torch.unsqueeze(x[:, c], 1) * (std/0.5) + (mean-0.5)/0.5 as a multiply and
// an add, each rounded (the float32 conversion forbids an FMA).
func (p Preset) normalize(c int, x float32) float32 {
	x = (x - float32(p.Mean[c])) / float32(p.Std[c])
	if p.TransformInput {
		x = float32(x*float32(tiStd[c]/0.5)) + float32((tiMean[c]-0.5)/0.5)
	}
	return x
}
