package preprocess

import "image"

// webpToRGB converts a lossy WebP frame (4:2:0 YCbCr, as golang.org/x/image/
// webp returns it) to RGB the way libwebp does by default, which is what PIL
// gets: "fancy" chroma upsampling (dsp/upsampling.c UpsampleRgbLinePair) and
// the 14-bit fixed-point YUV->RGB of dsp/yuv.h. Go's own YCbCr->RGB differs
// by a few levels. Alpha, if any, is dropped as PIL's convert("RGB") does.
// Other images are returned unchanged.
func webpToRGB(img image.Image) image.Image {
	var m *image.YCbCr
	switch t := img.(type) {
	case *image.YCbCr:
		m = t
	case *image.NYCbCrA:
		m = &t.YCbCr
	default:
		return img
	}
	b := m.Rect
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || b.Min != (image.Point{}) {
		return img
	}
	w, h := b.Dx(), b.Dy()
	out := NewRGB8(w, h)
	cw, ch := (w+1)/2, (h+1)/2
	nu, nv := make([]int, w), make([]int, w)
	for y := range h {
		// Chroma rows nearer (3/4) and farther (1/4) from this output row,
		// clamped at the edges as libwebp's line-pair loop does.
		near, far := y/2, y/2-1
		if y%2 == 1 {
			near, far = (y-1)/2, (y+1)/2
		}
		far = min(max(far, 0), ch-1)
		row := func(p []uint8, r int) []uint8 { return p[r*m.CStride:][:cw] }
		webpUpsampleRow(nu, row(m.Cb, near), row(m.Cb, far))
		webpUpsampleRow(nv, row(m.Cr, near), row(m.Cr, far))
		yrow := m.Y[y*m.YStride:][:w]
		p := out.Pix[3*y*w : 3*(y+1)*w]
		for x, yy := range yrow {
			p[3*x], p[3*x+1], p[3*x+2] = webpYUVToRGB(int(yy), nu[x], nv[x])
		}
	}
	return out
}

// webpUpsampleRow fills out (one value per pixel) from the nearer chroma row
// n and the farther one f: a 9-3-3-1 filter computed with libwebp's exact
// intermediate truncations.
func webpUpsampleRow(out []int, n, f []uint8) {
	w := len(out)
	out[0] = (3*int(n[0]) + int(f[0]) + 2) >> 2
	last := (w - 1) >> 1
	for x := 1; x <= last; x++ {
		a, b, c, d := int(n[x-1]), int(n[x]), int(f[x-1]), int(f[x])
		avg := a + b + c + d + 8
		out[2*x-1] = (((avg + 2*(b+c)) >> 3) + a) >> 1
		out[2*x] = (((avg + 2*(a+d)) >> 3) + b) >> 1
	}
	if w%2 == 0 {
		out[w-1] = (3*int(n[last]) + int(f[last]) + 2) >> 2
	}
}

// webpYUVToRGB is libwebp's VP8YuvToRgb (BT.601, limited range).
func webpYUVToRGB(y, u, v int) (r, g, b uint8) {
	multHi := func(v, c int) int { return (v * c) >> 8 }
	clip := func(v int) uint8 {
		if v&^(256<<6-1) == 0 {
			return uint8(v >> 6)
		}
		if v < 0 {
			return 0
		}
		return 255
	}
	yy := multHi(y, 19077)
	return clip(yy + multHi(v, 26149) - 14234),
		clip(yy - multHi(u, 6419) - multHi(v, 13320) + 8708),
		clip(yy + multHi(u, 33050) - 17685)
}
