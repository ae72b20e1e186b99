package preprocess

import (
	"fmt"
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
// for the whole source range [0, inSize) mapped onto outSize pixels.
func precomputeCoeffs(inSize, outSize int, kern kernel) coeffs {
	// Pillow passes the box as float; for whole images in0 = 0, in1 = inSize.
	in0, in1 := float32(0), float32(inSize)
	scale := float64(in1-in0) / float64(outSize)
	filterscale := max(scale, 1.0) // widen the filter when downscaling (antialias)
	support := kern.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{
		start: make([]int, outSize),
		n:     make([]int, outSize),
		k:     make([]int32, outSize*ksize),
		ksize: ksize,
	}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for xx := range outSize {
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
		k := c.k[xx*ksize : xx*ksize+xmax]
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
		c.start[xx], c.n[xx] = xmin, xmax
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
	if w <= 0 || h <= 0 || src.W <= 0 || src.H <= 0 {
		panic("preprocess: ResizePIL needs non-empty source and target sizes")
	}
	if w == src.W && h == src.H {
		out := NewRGB8(w, h)
		copy(out.Pix, src.Pix)
		return out
	}
	if f == Nearest {
		return resizeNearest(src, w, h)
	}
	if f < 0 || int(f) >= len(kernels) || kernels[f].fn == nil {
		panic("preprocess: ResizePIL: unknown filter " + f.String())
	}
	kern := kernels[f]
	vert := precomputeCoeffs(src.H, h, kern)
	cur := src
	if w != src.W {
		// Only the source rows the vertical pass reads are resampled.
		first := vert.start[0]
		last := vert.start[h-1] + vert.n[h-1]
		tmp := NewRGB8(w, last-first)
		horizontalPass(tmp, src, first, precomputeCoeffs(src.W, w, kern))
		for i := range vert.start {
			vert.start[i] -= first
		}
		cur = tmp
	}
	if h == src.H {
		return cur
	}
	out := NewRGB8(cur.W, h)
	verticalPass(out, cur, vert)
	return out
}

// horizontalPass resamples rows [offset, offset+dst.H) of src into dst.
func horizontalPass(dst, src *RGB8, offset int, c coeffs) {
	const half = 1 << (precisionBits - 1)
	for y := range dst.H {
		in := src.Pix[3*(y+offset)*src.W : 3*(y+offset+1)*src.W]
		out := dst.Pix[3*y*dst.W : 3*(y+1)*dst.W]
		for x := range dst.W {
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
}

// verticalPass resamples src's columns into dst (same width).
func verticalPass(dst, src *RGB8, c coeffs) {
	const half = 1 << (precisionBits - 1)
	stride := 3 * src.W
	// Accumulate a whole output row tap by tap: integer sums are exact, so the
	// order does not change the result, and rows are read sequentially.
	acc := make([]int32, stride)
	for y := range dst.H {
		for i := range acc {
			acc[i] = half
		}
		k := c.k[y*c.ksize : y*c.ksize+c.n[y]]
		for j, kj := range k {
			row := src.Pix[(c.start[y]+j)*stride : (c.start[y]+j+1)*stride]
			for i, v := range row {
				acc[i] += int32(v) * kj
			}
		}
		out := dst.Pix[y*stride : (y+1)*stride]
		for i, s := range acc {
			out[i] = clip8(s)
		}
	}
}

// pilCoord is Geometry.c's COORD: -1 for negative positions, else truncation.
func pilCoord(v float64) int {
	if v < 0 {
		return -1
	}
	return int(v)
}

// resizeNearest is PIL's NEAREST resize, which is not the separable resampler
// but an affine scale (ImagingScaleAffine): source position starts at
// scale/2 and is advanced by repeated float64 addition of scale, then
// truncated. Positions that fall outside the source leave black pixels.
func resizeNearest(src *RGB8, w, h int) *RGB8 {
	out := NewRGB8(w, h)
	a0 := float64(float32(src.W)) / float64(w)
	a4 := float64(float32(src.H)) / float64(h)
	xin := make([]int, w)
	xmin, xmax := w, 0
	xo := float64(a0 * 0.5)
	for x := range w {
		xi := pilCoord(xo)
		if xi >= 0 && xi < src.W {
			xmax = x + 1
			xmin = min(xmin, x)
			xin[x] = xi
		}
		xo += a0
	}
	yo := float64(a4 * 0.5)
	for y := range h {
		yi := pilCoord(yo)
		yo += a4
		if yi < 0 || yi >= src.H {
			continue
		}
		in := src.Pix[3*yi*src.W:]
		row := out.Pix[3*y*w:]
		for x := xmin; x < xmax; x++ {
			copy(row[3*x:3*x+3], in[3*xin[x]:])
		}
	}
	return out
}
