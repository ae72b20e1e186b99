package preprocess

import (
	"fmt"
	"image"
	"math"
	"strings"
)

// This file reimplements Pillow's Image.resize for 8-bit RGB images so that
// the output is bit-identical to what torchvision, timm and the BVLC/keras
// recipes fed their networks. The reference is Pillow 9.4 (Debian bookworm):
// src/libImaging/Resample.c for the separable filters and the NEAREST branch of
// _resize in src/_imaging.c (ImagingScaleAffine in src/libImaging/Geometry.c).
// The code is written from a reading of those files, not copied.
//
// Why not github.com/disintegration/imaging: imaging.Resize is also a
// separable resampler whose support widens with the scale when downscaling,
// and its Linear, CatmullRom (a=-0.5) and Lanczos (a=3) kernels are PIL's
// BILINEAR, BICUBIC and LANCZOS. But it accumulates in float64 and rounds
// once, where PIL quantises the normalised weights to 22-bit fixed point and
// clamps to uint8 after each pass; its Box uses different box edges. The
// result is within 1 level of PIL but not equal (e.g. 70 of 196608 bytes
// differ for chelsea.png -> 256x256 bilinear), which would change the Caffe
// golden sums; TestImagingResizeDiffers measures it. NEAREST downscales agree.

// Filter names a PIL resampling filter (PIL.Image.Resampling).
type Filter int

// The filters, as PIL defines them (support in source pixels at scale 1).
const (
	Nearest  Filter = iota // PIL NEAREST: no interpolation, PIL's own coordinate mapping
	Box                    // PIL BOX: support 0.5
	Bilinear               // PIL BILINEAR: triangle, support 1
	Hamming                // PIL HAMMING: Hamming-windowed sinc, support 1
	Bicubic                // PIL BICUBIC: cubic convolution a=-0.5, support 2
	Lanczos                // PIL LANCZOS: Lanczos a=3, support 3
)

var filterNames = [...]string{"nearest", "box", "bilinear", "hamming", "bicubic", "lanczos"}

// String returns PIL's name for f in lower case ("bilinear").
func (f Filter) String() string {
	if f < 0 || int(f) >= len(filterNames) {
		return fmt.Sprintf("Filter(%d)", int(f))
	}
	return filterNames[f]
}

// ParseFilter returns the filter with the given PIL name, case-insensitively
// ("bilinear", "BICUBIC", "lanczos", ...).
func ParseFilter(name string) (Filter, error) {
	for i, n := range filterNames {
		if strings.EqualFold(name, n) {
			return Filter(i), nil
		}
	}
	return 0, fmt.Errorf("unknown resampling filter %q (want one of %s)", name, strings.Join(filterNames[:], ", "))
}

// kernel is a continuous filter with its support at scale 1.
type kernel struct {
	fn      func(x float64) float64
	support float64
}

// The float64(...) conversions around products below stop the compiler from
// fusing a multiply and an add into one FMA (allowed by the spec, done on
// arm64), which would round differently from Pillow's C.
var kernels = [...]kernel{
	Box: {func(x float64) float64 {
		if x > -0.5 && x <= 0.5 {
			return 1
		}
		return 0
	}, 0.5},
	Bilinear: {func(x float64) float64 {
		x = math.Abs(x)
		if x < 1 {
			return 1 - x
		}
		return 0
	}, 1},
	Hamming: {func(x float64) float64 {
		x = math.Abs(x)
		if x == 0 {
			return 1
		}
		if x >= 1 {
			return 0
		}
		x = float64(x * math.Pi)
		// Pillow writes 0.54f and 0.46f: float constants promoted to double.
		return math.Sin(x) / x * (float64(float32(0.54)) + float64(float64(float32(0.46))*math.Cos(x)))
	}, 1},
	Bicubic: {func(x float64) float64 {
		const a = -0.5
		x = math.Abs(x)
		if x < 1 { // ((a+2)x - (a+3)) x x + 1
			t := float64((a+2)*x) - (a + 3)
			return float64(float64(t*x)*x) + 1
		}
		if x < 2 { // (((x-5) x + 8) x - 4) a
			t := float64((x-5)*x) + 8
			return (float64(t*x) - 4) * a
		}
		return 0
	}, 2},
	Lanczos: {func(x float64) float64 {
		if -3 <= x && x < 3 {
			return sinc(x) * sinc(x/3)
		}
		return 0
	}, 3},
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x = float64(x * math.Pi)
	return math.Sin(x) / x
}

// precisionBits is Pillow's PRECISION_BITS: 32 bits minus 8 for the result
// minus 2 for the overshoot of negative-lobed filters.
const precisionBits = 32 - 8 - 2

// coeffs is one resampling pass in fixed point: output pixel i is
// sum_j in[start[i]+j] * k[i*ksize+j] for j < n[i], plus 1<<(precisionBits-1),
// shifted right by precisionBits and clamped to 0..255.
type coeffs struct {
	start, n []int
	k        []int32
	ksize    int
}

// precomputeCoeffs mirrors Pillow's precompute_coeffs + normalize_coeffs_8bpc
// for output pixels [first, first+n) of the whole source range [0, inSize)
// mapped onto outSize pixels. Each output pixel's taps depend on its own index
// only, so row i of the result is row first+i of Pillow's full table.
func precomputeCoeffs(inSize, outSize, first, n int, kern kernel) coeffs {
	// Pillow passes the box as float; for whole images in0 = 0, in1 = inSize.
	in0, in1 := float32(0), float32(inSize)
	scale := float64(in1-in0) / float64(outSize)
	filterscale := max(scale, 1.0) // widen the filter when downscaling (antialias)
	support := kern.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{
		start: make([]int, n),
		n:     make([]int, n),
		k:     make([]int32, n*ksize),
		ksize: ksize,
	}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for i := range n {
		xx := first + i
		center := float64(in0) + float64((float64(xx)+0.5)*scale)
		xmin := int(center - support + 0.5) // C (int) cast: truncates toward zero
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := range xmax {
			w[x] = kern.fn((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		k := c.k[i*ksize : i*ksize+xmax]
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		c.start[i], c.n[i] = xmin, xmax
	}
	return c
}

// clip8 turns a fixed-point accumulator into a byte the way Pillow's clip8
// lookup table does.
func clip8(ss int32) uint8 {
	v := ss >> precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ResizePIL returns src resized to w×h exactly as Pillow 9.4's
// Image.resize((w, h), filter) does for an "RGB" image: same coefficients,
// same fixed-point rounding, same pass order (horizontal, then vertical, each
// only when that side changes) and the same clamping after each pass.
// A same-size resize returns a copy. w and h must be positive and src non-empty.
func ResizePIL(src *RGB8, w, h int, f Filter) *RGB8 {
	return resizePILWindow(src, w, h, f, image.Rect(0, 0, w, h))
}

// resizePILWindow returns the pixels in win of ResizePIL(src, w, h, f),
// computing only those: every output pixel of Pillow's resampler depends on
// its own coefficients alone, so the window is bit-identical to a crop of the
// full resize. This is what lets a preset resize a 1×5000 strip to
// 256×1280000 and centre-crop it without allocating the whole image.
func resizePILWindow(src *RGB8, w, h int, f Filter, win image.Rectangle) *RGB8 {
	if w <= 0 || h <= 0 || src.W <= 0 || src.H <= 0 {
		panic("preprocess: ResizePIL needs non-empty source and target sizes")
	}
	if win.Empty() || !win.In(image.Rect(0, 0, w, h)) {
		panic(fmt.Sprintf("preprocess: resize window %v outside the %dx%d output", win, w, h))
	}
	if w == src.W && h == src.H {
		return cropRGB8(src, win)
	}
	if f == Nearest {
		return resizeNearest(src, w, h, win)
	}
	if f < 0 || int(f) >= len(kernels) || kernels[f].fn == nil {
		panic("preprocess: ResizePIL: unknown filter " + f.String())
	}
	kern := kernels[f]
	ww, wh := win.Dx(), win.Dy()
	out := NewRGB8(ww, wh)
	if h == src.H { // horizontal pass only
		horizontalPass(out, src, win.Min.Y, precomputeCoeffs(src.W, w, win.Min.X, ww, kern))
		return out
	}
	vert := precomputeCoeffs(src.H, h, win.Min.Y, wh, kern)
	var row func(r int) []uint8 // row r of what the vertical pass reads
	if w != src.W {
		horiz := precomputeCoeffs(src.W, w, win.Min.X, ww, kern)
		buf := make([]uint8, 3*ww)
		row = func(r int) []uint8 {
			horizontalRow(buf, src.Pix[3*r*src.W:3*(r+1)*src.W], horiz)
			return buf
		}
	} else {
		row = func(r int) []uint8 { return src.Pix[3*(r*src.W+win.Min.X) : 3*(r*src.W+win.Max.X)] }
	}
	verticalPass(out, row, vert)
	return out
}

// cropRGB8 returns a copy of the pixels of m inside r.
func cropRGB8(m *RGB8, r image.Rectangle) *RGB8 {
	out := NewRGB8(r.Dx(), r.Dy())
	for y := range out.H {
		copy(out.Pix[3*y*out.W:3*(y+1)*out.W], m.Pix[3*((r.Min.Y+y)*m.W+r.Min.X):])
	}
	return out
}

// horizontalPass resamples rows [offset, offset+dst.H) of src into dst.
func horizontalPass(dst, src *RGB8, offset int, c coeffs) {
	for y := range dst.H {
		horizontalRow(dst.Pix[3*y*dst.W:3*(y+1)*dst.W], src.Pix[3*(y+offset)*src.W:3*(y+offset+1)*src.W], c)
	}
}

// horizontalRow resamples one row of pixels, in, into out.
func horizontalRow(out, in []uint8, c coeffs) {
	const half = 1 << (precisionBits - 1)
	for x := range len(out) / 3 {
		k := c.k[x*c.ksize : x*c.ksize+c.n[x]]
		p := in[3*c.start[x] : 3*(c.start[x]+len(k))]
		s0, s1, s2 := int32(half), int32(half), int32(half)
		for j, kj := range k {
			s0 += int32(p[3*j]) * kj
			s1 += int32(p[3*j+1]) * kj
			s2 += int32(p[3*j+2]) * kj
		}
		out[3*x], out[3*x+1], out[3*x+2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

// verticalPass resamples columns into dst. row(r) returns row r of the
// image being resampled (the horizontal pass's output, or the source),
// dst.W pixels wide; it is called once per needed row, in increasing order,
// and its result is not kept, so the intermediate image is never
// materialised. Each row is added, times its coefficient, into the
// accumulators of every output row whose taps cover it. The sums are exact
// in int32 (wrapping, in the worst case, only to wrap back: the final sums
// fit, as in Pillow), so the order of the additions does not change the
// result. Memory is the window plus one row, whatever the scale: a 1×10⁷
// strip needs no 10⁷-row intermediate.
func verticalPass(dst *RGB8, row func(r int) []uint8, c coeffs) {
	const half = 1 << (precisionBits - 1)
	stride := 3 * dst.W
	acc := make([]int32, dst.H*stride)
	for i := range acc {
		acc[i] = half
	}
	first, last := c.start[0], c.start[dst.H-1]+c.n[dst.H-1]
	y0 := 0 // first output row that may still read row r
	for r := first; r < last; r++ {
		for y0 < dst.H && c.start[y0]+c.n[y0] <= r {
			y0++
		}
		if y0 == dst.H {
			break
		}
		if c.start[y0] > r { // starts never decrease: no output row reads r
			continue
		}
		in := row(r)
		// Ends never decrease either, so rows y0.. whose taps start by r
		// all still read it.
		for y := y0; y < dst.H && c.start[y] <= r; y++ {
			kj := c.k[y*c.ksize+r-c.start[y]]
			a := acc[y*stride : (y+1)*stride]
			for i, v := range in {
				a[i] += int32(v) * kj
			}
		}
	}
	for i, s := range acc {
		dst.Pix[i] = clip8(s)
	}
}

// pilCoord is Geometry.c's COORD: -1 for negative positions, else truncation.
func pilCoord(v float64) int {
	if v < 0 {
		return -1
	}
	return int(v)
}

// maxNearestReplay bounds how many additions resizeNearest replays to reach a
// window: about 10 ms. Only a resize target of over 16 million pixels on one
// side, from an image with an extreme aspect ratio, gets past it.
const maxNearestReplay = 1 << 24

// resizeNearest returns the pixels in win of PIL's NEAREST resize to w×h,
// which is not the separable resampler but an affine scale
// (ImagingScaleAffine): the source position starts at scale/2 and is
// advanced by repeated float64 addition of scale, then truncated. The sums
// are replayed from the first pixel so that a window sees the same rounding.
// Positions that fall outside the source leave black pixels.
func resizeNearest(src *RGB8, w, h int, win image.Rectangle) *RGB8 {
	out := NewRGB8(win.Dx(), win.Dy())
	a0 := float64(float32(src.W)) / float64(w)
	a4 := float64(float32(src.H)) / float64(h)
	// positions returns the source index of output pixels [lo, hi), -1 where
	// the source has none.
	positions := func(lo, hi int, a float64, n int) []int {
		idx := make([]int, hi-lo)
		p := float64(a * 0.5)
		x := 0
		if lo > maxNearestReplay {
			// Beyond PIL's reach (the full image would not fit in memory):
			// start from the closed form instead of replaying the sum.
			p, x = float64(a*0.5)+float64(float64(lo)*a), lo
		}
		for ; x < hi; x++ {
			if x >= lo {
				i := pilCoord(p)
				if i >= n {
					i = -1
				}
				idx[x-lo] = i
			}
			p += a
		}
		return idx
	}
	xin := positions(win.Min.X, win.Max.X, a0, src.W)
	yin := positions(win.Min.Y, win.Max.Y, a4, src.H)
	for y, yi := range yin {
		if yi < 0 {
			continue
		}
		in := src.Pix[3*yi*src.W:]
		row := out.Pix[3*y*out.W:]
		for x, xi := range xin {
			if xi >= 0 {
				copy(row[3*x:3*x+3], in[3*xi:])
			}
		}
	}
	return out
}
