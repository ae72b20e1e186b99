package preprocess

import (
	"fmt"
	"image"
	"math"
	"sort"
	"strings"

	"gorgonia.org/tensor"
)

// ResizeMode says how a Preset maps the image onto Resize before cropping.
type ResizeMode int

const (
	// ResizeBoth resizes to Resize×Resize, ignoring the aspect ratio
	// (BVLC Caffe, keras).
	ResizeBoth ResizeMode = iota
	// ResizeShorter resizes the shorter side to Resize and the longer one to
	// int(Resize*long/short), torchvision's Resize(int) rule.
	ResizeShorter
)

// Preset is one reference preprocessing recipe: decode to RGB, resize with
// PIL's resampler, centre-crop Size×Size, then per channel
//
//	out = (float32(pixel) / Div - Mean[c]) / Std[c]
//
// evaluated in float32 in that order, which is what the references do
// (torchvision: ToTensor divides by 255, Normalize subtracts then divides;
// keras 'tf' mode: x /= 127.5; x -= 1; caffe: x - mean), so the tensor is
// bit-identical to theirs. Mean and Std are in output channel order.
type Preset struct {
	Name       string
	Size       int        // side of the square network input
	ResizeMode ResizeMode // how the image is resized before the crop
	Resize     int        // target of ResizeMode; Resize == Size means no crop
	Filter     Filter     // PIL resampling filter
	BGR        bool       // emit channels as B, G, R (Caffe) instead of R, G, B
	// Div divides the 0..255 pixel first: 1 (Caffe), 127.5 (keras), 255
	// (torchvision). A division, not a multiplication by 1/Div: in float32 the
	// two differ for about half of the 256 pixel values.
	Div       float32
	Mean, Std [3]float32
}

// presets maps a name to a constructor taking the requested crop size
// (already defaulted).
var presets = map[string]struct {
	defaultSize int
	make        func(size int) Preset
}{
	// BVLC GoogLeNet (models/bvlc_googlenet, Caffe's ImageNet recipe as
	// re-run in PIL for shared/golden/bvlc_googlenet.json): resize to 256×256
	// bilinear, centre crop 224, BGR, minus the per-channel means B=104,
	// G=117, R=123 on the 0..255 scale. For another size N the 256/224 ratio
	// is kept: Resize = round(N*256/224), so N=224 gives 256 and N=299 gives 342.
	"caffe": {224, func(n int) Preset {
		return Preset{
			Name: "caffe", Size: n, ResizeMode: ResizeBoth,
			Resize: int(math.Round(float64(n) * 256 / 224)), Filter: Bilinear, BGR: true,
			Div: 1, Mean: [3]float32{104, 117, 123}, Std: [3]float32{1, 1, 1},
		}
	}},
	// keras.applications Inception (v3, InceptionResNetV2): the whole image
	// resized to Size×Size, RGB, x/127.5 - 1. keras.utils.load_img defaults to
	// nearest interpolation, but the ImageNet evaluations of these models (and
	// tf.image.resize, and most ports) use bilinear, so this preset does.
	"keras": {299, func(n int) Preset {
		return Preset{
			Name: "keras", Size: n, ResizeMode: ResizeBoth, Resize: n, Filter: Bilinear,
			Div: 127.5, Mean: [3]float32{1, 1, 1}, Std: [3]float32{1, 1, 1},
		}
	}},
	// TODO(preprocess presets issue): torchvision (Resize(342 or 256) shorter
	// side bilinear, CenterCrop, /255, ImageNet mean/std), timm (crop_pct,
	// bicubic) and tf-slim (central_crop 0.875 before the resize, which needs
	// a crop-first mode) are to come.
}

// PresetNames lists the known presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupPreset returns the named preset for a size×size input; size 0 means
// the preset's default (caffe 224, keras 299).
func LookupPreset(name string, size int) (Preset, error) {
	p, ok := presets[strings.ToLower(name)]
	if !ok {
		return Preset{}, fmt.Errorf("unknown preprocessing preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
	}
	if size == 0 {
		size = p.defaultSize
	}
	if size < 1 || size > 4096 {
		return Preset{}, fmt.Errorf("preset %s: input size %d out of range 1..4096", name, size)
	}
	return p.make(size), nil
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
// 3*Size*Size). It allocates only the intermediate RGB images.
func (p Preset) Into(img image.Image, dst []float32) {
	s := p.Size
	if len(dst) != 3*s*s {
		panic(fmt.Sprintf("preprocess: Preset.Into: len(dst) = %d, want 3*%d*%d", len(dst), s, s))
	}
	rgb, ok := img.(*RGB8)
	if !ok {
		rgb = ToRGB8(img)
	}
	rw, rh := p.resizeTarget(rgb.W, rgb.H)
	r := rgb
	if rw != rgb.W || rh != rgb.H {
		r = ResizePIL(rgb, rw, rh, p.Filter)
	}
	// torchvision CenterCrop: offset int(round((size - crop) / 2)), Python's
	// round half to even.
	top := int(math.RoundToEven(float64(rh-s) / 2))
	left := int(math.RoundToEven(float64(rw-s) / 2))
	if top < 0 || left < 0 {
		panic(fmt.Sprintf("preprocess: preset %s resizes to %dx%d, smaller than its %d crop", p.Name, rw, rh, s))
	}
	// One 256-entry table per output channel holds the exact float32 result.
	var lut [3][256]float32
	for c := range 3 {
		for v := range 256 {
			lut[c][v] = (float32(v)/p.Div - p.Mean[c]) / p.Std[c]
		}
	}
	for c := range 3 {
		sc := c
		if p.BGR {
			sc = 2 - c
		}
		t := &lut[c]
		plane := dst[c*s*s : (c+1)*s*s]
		for y := range s {
			row := r.Pix[3*((top+y)*r.W+left):]
			out := plane[y*s : (y+1)*s]
			for x := range out {
				out[x] = t[row[3*x+sc]]
			}
		}
	}
}
