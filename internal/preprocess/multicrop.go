package preprocess

import (
	"fmt"
	"image"
	"math"
)

// This file holds the multi-crop evaluations of the papers and SourceRect,
// which maps the single crop back onto the photo.

// CheckCrops returns an error unless MultiCrop can make n crops with p: n
// must be 1, 10 or 144, and 10 and 144 need a preset that resizes with PIL
// (ResizeBoth or ResizeShorter), because they crop the PIL resize;
// ResizeCentralCrop (tf-slim) has no resize before a crop to take them from.
func (p Preset) CheckCrops(n int) error {
	switch n {
	case 1:
		return nil
	case 10, 144:
		if p.ResizeMode == ResizeCentralCrop {
			return fmt.Errorf("preset %s: %d crops need a PIL resize before the crop; resize mode %s has none (use 1 crop)", p.Name, n, p.ResizeMode)
		}
		return nil
	}
	return fmt.Errorf("%d crops: want 1, 10 or 144", n)
}

// MultiCrop writes n preprocessed crops of img into dst, one after another,
// each 3×Size×Size in CHW order as Into writes it (so dst is NCHW with N = n,
// len(dst) = n*3*Size*Size). Every crop goes through p's filter, channel
// order and normalisation. n is checked by CheckCrops (an error), the length
// of dst is not (a panic, as in Into).
//
// n = 1 is Into.
//
// n = 10 is torchvision's TenCrop(Size) after p's own resize (the one Into
// centre-crops): the resized image's top-left, top-right, bottom-left,
// bottom-right and centre Size×Size crops, then the same five crops of the
// resized image flipped left to right (transforms.functional.ten_crop,
// torchvision 0.14). Corners sit flush with the edges; the centre is
// CenterCrop's (offsets round((w-Size)/2), half to even). In the flipped
// image's coordinates, so the flipped top-left crop is the mirror of the
// top-right one, and when w-Size is odd the flipped centre is the mirror of
// the crop one pixel right of the centre crop, not of the centre crop
// itself. With Resize == Size (keras) the ten crops are five copies of the
// whole resize and five of its mirror.
//
// n = 144 is GoogLeNet's evaluation (Szegedy et al., "Going deeper with
// convolutions", 2014, §7), whatever p's resize mode: the image is resized
// with p's filter so that its shorter side is each of the scales
// round(Size*k/224) for k = 256, 288, 320, 352 (256, 288, 320, 352 for
// Size 224; 342, 384, 427, 470 for 299), the longer side following
// torchvision's Resize(int) rule; from each resize three squares of the
// shorter side are taken, left, centre and right (top, centre, bottom for a
// portrait image; centre at CenterCrop's offset); from each square the four
// corner and the centre Size×Size crops (in TenCrop's order) and the whole
// square resized to Size×Size with p's filter (PIL's resize of the square
// crop of the resize). The order is
//
//	crop index = 72*flip + 18*scale + 6*square + kind
//
// with scale 0..3 ascending, square 0..2 (left/top, centre, right/bottom),
// kind 0..5 (top-left, top-right, bottom-left, bottom-right, centre, whole
// square), and flip 1 for the same 72 crops of each resize flipped left to
// right (flipped before the squares are taken, as TenCrop flips before it
// crops, so crop 72+i is crop i of the mirrored image).
func (p Preset) MultiCrop(img image.Image, n int, dst []float32) error {
	if err := p.CheckCrops(n); err != nil {
		return err
	}
	s := p.Size
	if len(dst) != n*3*s*s {
		panic(fmt.Sprintf("preprocess: Preset.MultiCrop: len(dst) = %d, want %d*3*%d*%d", len(dst), n, s, s))
	}
	if n == 1 {
		p.Into(img, dst)
		return nil
	}
	rgb, ok := img.(*RGB8)
	if !ok {
		rgb = ToRGB8(img)
	}
	lut := p.lut()
	if n == 10 {
		p.tenCrop(rgb, dst, &lut)
	} else {
		p.crops144(rgb, dst, &lut)
	}
	return nil
}

// fiveCrop returns torchvision five_crop's Size×Size windows of a w×h
// image: top-left, top-right, bottom-left, bottom-right, centre.
func (p Preset) fiveCrop(w, h int) [5]image.Rectangle {
	s := p.Size
	at := func(x, y int) image.Rectangle { return image.Rect(x, y, x+s, y+s) }
	return [5]image.Rectangle{at(0, 0), at(w-s, 0), at(0, h-s), at(w-s, h-s), p.centerCrop(w, h)}
}

// mirrorRect returns the window of a w-wide image that r is in the image
// flipped left to right.
func mirrorRect(r image.Rectangle, w int) image.Rectangle {
	return image.Rect(w-r.Max.X, r.Min.Y, w-r.Min.X, r.Max.Y)
}

// tenCrop writes the ten crops of MultiCrop(img, 10) into dst. Each window
// is resized on its own by resizePILWindow, which is bit-identical to
// cropping the whole resize and, like Into, allocates in proportion to the
// crops, not to the resize.
func (p Preset) tenCrop(rgb *RGB8, dst []float32, lut *[3][256]float32) {
	plane := 3 * p.Size * p.Size
	rw, rh := p.resizeTarget(rgb.W, rgb.H)
	if rw < p.Size || rh < p.Size {
		panic(fmt.Sprintf("preprocess: preset %s resizes to %dx%d, smaller than its %d crop", p.Name, rw, rh, p.Size))
	}
	done := map[image.Rectangle]*RGB8{} // the corners' mirrors are the other corners
	window := func(r image.Rectangle) *RGB8 {
		if m, ok := done[r]; ok {
			return m
		}
		m := resizePILWindow(rgb, rw, rh, p.Filter, r)
		done[r] = m
		return m
	}
	for i, r := range p.fiveCrop(rw, rh) {
		p.writeCHW(dst[i*plane:(i+1)*plane], window(r), false, lut)
	}
	for i, r := range p.fiveCrop(rw, rh) { // in the flipped image
		p.writeCHW(dst[(5+i)*plane:(6+i)*plane], window(mirrorRect(r, rw)), true, lut)
	}
}

// scales144 returns the shorter sides of GoogLeNet's four scales for a
// Size input: round(Size*k/224) for k = 256, 288, 320, 352.
func (p Preset) scales144() [4]int {
	var out [4]int
	for i, k := range [4]int{256, 288, 320, 352} {
		out[i] = int(math.Round(float64(p.Size) * float64(k) / 224))
	}
	return out
}

// crops144 writes the 144 crops of MultiCrop(img, 144) into dst.
func (p Preset) crops144(rgb *RGB8, dst []float32, lut *[3][256]float32) {
	s := p.Size
	plane := 3 * s * s
	i := 0
	emit := func(m *RGB8) {
		p.writeCHW(dst[i*plane:(i+1)*plane], m, false, lut)
		i++
	}
	for flip := range 2 {
		for _, short := range p.scales144() {
			q := Preset{Size: short, Resize: short, ResizeMode: ResizeShorter, Name: p.Name}
			rw, rh := q.resizeTarget(rgb.W, rgb.H)
			// The three squares, along the longer side.
			var squares [3]image.Rectangle
			if rw >= rh {
				squares = [3]image.Rectangle{image.Rect(0, 0, rh, rh), q.centerCrop(rw, rh), image.Rect(rw-rh, 0, rw, rh)}
			} else {
				squares = [3]image.Rectangle{image.Rect(0, 0, rw, rw), q.centerCrop(rw, rh), image.Rect(0, rh-rw, rw, rh)}
			}
			for _, sq := range squares {
				var m *RGB8
				if flip == 1 {
					m = mirrorRGB8(resizePILWindow(rgb, rw, rh, p.Filter, mirrorRect(sq, rw)))
				} else {
					m = resizePILWindow(rgb, rw, rh, p.Filter, sq)
				}
				for _, r := range p.fiveCrop(short, short) {
					emit(cropRGB8(m, r))
				}
				emit(ResizePIL(m, s, s, p.Filter))
			}
		}
	}
}

// mirrorRGB8 returns m flipped left to right.
func mirrorRGB8(m *RGB8) *RGB8 {
	out := NewRGB8(m.W, m.H)
	for y := range m.H {
		in := m.Pix[3*y*m.W : 3*(y+1)*m.W]
		row := out.Pix[3*y*m.W : 3*(y+1)*m.W]
		for x := range m.W {
			copy(row[3*x:3*x+3], in[3*(m.W-1-x):])
		}
	}
	return out
}

// SourceRect returns the rectangle of a w×h source image (oriented, as
// Decode returns it) that the single crop of Into covers, in source pixel
// coordinates, so that a map over the network input can be drawn back onto
// the photo. For ResizeBoth and ResizeShorter the crop [left, left+Size) of
// the resized width rw maps to [left*w/rw, (left+Size)*w/rw), PIL's own
// mapping (output pixel i is centred on source position (i+0.5)*w/rw), and
// likewise vertically; each edge is rounded to the nearest pixel, halves
// up, and the rectangle is kept at least one pixel wide and high. For
// ResizeCentralCrop it is tf.image.central_crop's rectangle exactly (TF's
// resize then samples it at i*scale, from its top-left corner, not at pixel
// centres). w and h must be positive.
func (p Preset) SourceRect(w, h int) image.Rectangle {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("preprocess: SourceRect of a %dx%d image", w, h))
	}
	if p.ResizeMode == ResizeCentralCrop {
		top, left := centralCropStart(h, p.CropPct), centralCropStart(w, p.CropPct)
		return image.Rect(left, top, w-left, h-top)
	}
	rw, rh := p.resizeTarget(w, h)
	c := p.centerCrop(rw, rh)
	back := func(lo, hi, n, rn int) (int, int) {
		// round(v*n/rn) in integers, halves up: floor((2*v*n + rn) / (2*rn)).
		// int64: v*n can pass 2³¹ for a long strip.
		round := func(v int) int { return int((2*int64(v)*int64(n) + int64(rn)) / (2 * int64(rn))) }
		a, b := round(lo), round(hi)
		if b <= a {
			if a >= n {
				a = n - 1
			}
			b = a + 1
		}
		return a, b
	}
	x0, x1 := back(c.Min.X, c.Max.X, w, rw)
	y0, y1 := back(c.Min.Y, c.Max.Y, h, rh)
	return image.Rect(x0, y0, x1, y1)
}
