// Package heatmap draws a class-activation map over the photo it explains,
// for inception explain: the map is upsampled to the part of the photo the
// network saw (preprocess.Preset.SourceRect), normalised, coloured with jet
// and alpha-blended over the photo; the rest of the photo is dimmed.
// Write the result with image/png.
package heatmap

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"
)

// Defaults of Options' zero fields.
const (
	DefaultAlpha = 0.5 // opacity of the colour inside the rectangle
	DefaultDim   = 0.5 // brightness kept outside the rectangle
)

// Options tunes Overlay. The zero value gives the defaults.
type Options struct {
	// Alpha is the opacity of the colour over the photo inside the
	// rectangle, in [0, 1]: out = (1-Alpha)*photo + Alpha*colour.
	// 0 means DefaultAlpha.
	Alpha float64
	// Dim is the factor applied to the photo outside the rectangle, in
	// [0, 1] (1 leaves it as it is). 0 means DefaultDim.
	Dim float64
}

// Overlay returns img with the w×h map cam (row-major, any range) drawn over
// the rectangle r of img's coordinates, as an opaque RGBA image with img's
// bounds (transparent pixels are composed over black first):
//
//   - cam is normalised over its finite values, min → 0 and max → 1; NaN
//     and ±Inf count as 0, and a constant map (or one with no finite value)
//     is 0 everywhere, so the output never depends on a NaN;
//   - the normalised map is upsampled bilinearly to r with half-pixel
//     centres (align_corners=False, as torch's interpolate and OpenCV's
//     INTER_LINEAR): output pixel x reads map position
//     (x - r.Min.X + 0.5) * w / r.Dx() - 0.5, clamped to [0, w-1], and
//     likewise vertically, so map cell (i, j) covers the r.Dx()/w ×
//     r.Dy()/h block of pixels it lands on and a peak stays over its cell.
//     Normalising first fixes the colour scale to the map's own range:
//     the peak cell is the top colour even where no pixel centre falls
//     exactly on it;
//   - the value v in [0, 1] picks jet[round(255 v)] (jetTable: dark blue,
//     blue, cyan, yellow, red, dark red), blended as
//     round((1-Alpha)*pixel + Alpha*colour) per channel;
//   - pixels of img outside r keep round(Dim*pixel), visible but dimmed.
//
// Parts of r outside img are not drawn. It fails if w or h is not
// positive, len(cam) != w*h, r is empty or Alpha or Dim is outside [0, 1].
func Overlay(img image.Image, r image.Rectangle, cam []float32, w, h int, o Options) (*image.RGBA, error) {
	if w <= 0 || h <= 0 || len(cam) != w*h {
		return nil, fmt.Errorf("heatmap: %d values for a %dx%d map", len(cam), w, h)
	}
	if r.Empty() {
		return nil, errors.New("heatmap: empty rectangle")
	}
	alpha, dim := o.Alpha, o.Dim
	if alpha == 0 {
		alpha = DefaultAlpha
	}
	if dim == 0 {
		dim = DefaultDim
	}
	if !(alpha >= 0 && alpha <= 1) || !(dim >= 0 && dim <= 1) {
		return nil, fmt.Errorf("heatmap: alpha %v and dim %v must be in [0, 1]", o.Alpha, o.Dim)
	}
	b := img.Bounds()
	out := image.NewRGBA(b)
	draw.Draw(out, b, img, b.Min, draw.Src)

	norm := normalize(cam)
	xs, ys := axis(r.Dx(), w), axis(r.Dy(), h)
	// Every result is a function of one or two bytes: tabulate them.
	var blend [256][256]uint8 // [pixel][colour]
	var dimmed [256]uint8
	for p := range 256 {
		dimmed[p] = uint8(math.Floor(dim*float64(p) + 0.5))
		for c := range 256 {
			blend[p][c] = uint8(math.Floor((1-alpha)*float64(p) + alpha*float64(c) + 0.5))
		}
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := out.Pix[out.PixOffset(b.Min.X, y):out.PixOffset(b.Min.X, y+1)]
		if y < r.Min.Y || y >= r.Max.Y {
			for i := range row {
				row[i] = dimmed[row[i]]
			}
			setOpaque(row)
			continue
		}
		ty := ys[y-r.Min.Y]
		top, bot := norm[ty.lo*w:(ty.lo+1)*w], norm[ty.hi*w:(ty.hi+1)*w]
		for x := b.Min.X; x < b.Max.X; x++ {
			px := row[4*(x-b.Min.X) : 4*(x-b.Min.X)+3]
			if x < r.Min.X || x >= r.Max.X {
				for i := range px {
					px[i] = dimmed[px[i]]
				}
				continue
			}
			tx := xs[x-r.Min.X]
			t := top[tx.lo] + tx.t*(top[tx.hi]-top[tx.lo])
			u := bot[tx.lo] + tx.t*(bot[tx.hi]-bot[tx.lo])
			level := int(math.Floor(255*(t+ty.t*(u-t)) + 0.5))
			col := jetTable[min(max(level, 0), 255)] // a convex combination: the clamp is for rounding only
			for i := range px {
				px[i] = blend[px[i]][col[i]]
			}
		}
		setOpaque(row)
	}
	return out, nil
}

// setOpaque sets the alpha of a row of RGBA pixels to 255, which composes
// the premultiplied colours over black.
func setOpaque(row []uint8) {
	for i := 3; i < len(row); i += 4 {
		row[i] = 255
	}
}

// normalize maps the finite values of cam linearly onto [0, 1], min to 0
// and max to 1, in float64. Non-finite values become 0, and so does every
// value of a constant map.
func normalize(cam []float32) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range cam {
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			lo, hi = min(lo, f), max(hi, f)
		}
	}
	out := make([]float64, len(cam))
	if !(hi > lo) {
		return out
	}
	for i, v := range cam {
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			out[i] = min(max((f-lo)/(hi-lo), 0), 1)
		}
	}
	return out
}

// tap is one output coordinate's bilinear interpolation along an axis:
// (1-t)*map[lo] + t*map[hi].
type tap struct {
	lo, hi int
	t      float64
}

// axis returns the taps of the n output pixels that upsample a map side of
// m cells, with half-pixel centres: pos = (i + 0.5) * m / n - 0.5, clamped
// to [0, m-1].
func axis(n, m int) []tap {
	out := make([]tap, n)
	for i := range out {
		pos := (float64(i)+0.5)*float64(m)/float64(n) - 0.5
		pos = min(max(pos, 0), float64(m-1))
		lo := int(pos)
		out[i] = tap{lo: lo, hi: min(lo+1, m-1), t: pos - float64(lo)}
	}
	return out
}

// jetTable is the jet colormap at 256 levels: level i, x = i/255, has
// channel k (R: 3, G: 2, B: 1) = clamp(1.5 - |4x - k|, 0, 1), the common
// closed form of MATLAB's jet, scaled to 0..255 and rounded half up in
// exact integer arithmetic (255 times the value is (765 - 2|4i - 255k|)/2).
// It runs dark blue (0, 0, 128), blue, cyan, yellow, red, dark red
// (128, 0, 0). Jet rather than turbo: it is defined by this formula, where
// turbo is a fitted table; both read the same way (blue cold, red hot).
var jetTable = func() (t [256][3]uint8) {
	for i := range t {
		for c, k := range [3]int{3, 2, 1} {
			d := 4*i - 255*k
			if d < 0 {
				d = -d
			}
			v := 765 - 2*d // twice 255*(1.5 - |4x - k|)
			t[i][c] = uint8(min(max((v+1)/2, 0), 255))
		}
	}
	return t
}()
