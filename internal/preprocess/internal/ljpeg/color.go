package ljpeg

// Image is a decoded JPEG in libjpeg's output colour space: Pix holds
// Width*Height pixels row by row, Components bytes each, no padding.
// Components is 1 (grayscale), 3 (RGB) or 4 (CMYK as stored in the file;
// Adobe CMYK files store inverted ink).
type Image struct {
	Width, Height int
	Components    int
	Pix           []byte
}

// plane is one component's samples, padded to whole blocks.
type plane struct {
	pix    []byte
	stride int
}

// output upsamples the chroma planes and converts to RGB (or CMYK) the way
// libjpeg-turbo does with its defaults (do_fancy_upsampling = TRUE, so the
// merged upsampler is never used).
func (d *decoder) output() *Image {
	w, h, n := d.width, d.height, d.nComp
	img := &Image{Width: w, Height: h, Components: n, Pix: make([]byte, w*h*n)}
	if n == 1 {
		p := d.planes[0]
		for y := 0; y < h; y++ {
			copy(img.Pix[y*w:(y+1)*w], p.pix[y*p.stride:])
		}
		return img
	}
	hmax, vmax := 1, 1
	for i := 0; i < n; i++ {
		hmax, vmax = max(hmax, d.comp[i].h), max(vmax, d.comp[i].v)
	}
	var full [maxComponents]plane
	for i := 0; i < n; i++ {
		full[i] = d.upsample(i, hmax, vmax)
	}
	out := img.Pix
	switch {
	case n == 3 && !d.isRGB():
		for y := 0; y < h; y++ {
			yr, cb, cr := full[0].row(y), full[1].row(y), full[2].row(y)
			for x := 0; x < w; x++ {
				out[0], out[1], out[2] = yccToRGB(yr[x], cb[x], cr[x])
				out = out[3:]
			}
		}
	case n == 4 && d.isYCCK():
		for y := 0; y < h; y++ {
			yr, cb, cr, k := full[0].row(y), full[1].row(y), full[2].row(y), full[3].row(y)
			for x := 0; x < w; x++ {
				r, g, b := yccToRGB(yr[x], cb[x], cr[x])
				out[0], out[1], out[2], out[3] = 255-r, 255-g, 255-b, k[x]
				out = out[4:]
			}
		}
	default: // RGB or CMYK stored as is.
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				for i := 0; i < n; i++ {
					out[i] = full[i].pix[y*full[i].stride+x]
				}
				out = out[n:]
			}
		}
	}
	return img
}

func (p plane) row(y int) []byte { return p.pix[y*p.stride:] }

// upsample returns component i at full resolution (at least width×height),
// following libjpeg-turbo's jdsample.c: h2v1 and h2v2 "fancy" (triangle)
// upsampling when the downsampled width is above 2, h1v2 fancy always, plain
// replication otherwise. Rows above the first and below the last real row
// repeat the edge row, as jdmainct.c's context pointers do.
func (d *decoder) upsample(i, hmax, vmax int) plane {
	c, src := d.comp[i], d.planes[i]
	if c.h == hmax && c.v == vmax {
		return src
	}
	hf, vf := hmax/c.h, vmax/c.v
	dw := (d.width*c.h + hmax - 1) / hmax // libjpeg's downsampled_width
	dh := (d.height*c.v + vmax - 1) / vmax
	dst := plane{pix: make([]byte, dw*hf*dh*vf), stride: dw * hf}
	rowAt := func(y int) []byte { return src.pix[min(max(y, 0), dh-1)*src.stride:][:dw] }
	switch {
	case hf == 2 && vf == 1 && dw > 2:
		for y := 0; y < dh; y++ {
			fancyH2V1(dst.row(y)[:2*dw], rowAt(y))
		}
	case hf == 1 && vf == 2:
		for y := 0; y < 2*dh; y++ {
			near, out := rowAt(y/2), dst.row(y)[:dw]
			far, bias := rowAt(y/2-1), 1
			if y%2 == 1 {
				far, bias = rowAt(y/2+1), 2
			}
			for x := range out {
				out[x] = uint8((3*int(near[x]) + int(far[x]) + bias) >> 2)
			}
		}
	case hf == 2 && vf == 2 && dw > 2:
		sums := make([]int, dw)
		for y := 0; y < 2*dh; y++ {
			near, far := rowAt(y/2), rowAt(y/2-1)
			if y%2 == 1 {
				far = rowAt(y/2 + 1)
			}
			for x := range sums {
				sums[x] = 3*int(near[x]) + int(far[x])
			}
			fancyH2V2(dst.row(y)[:2*dw], sums)
		}
	default: // int_upsample / h2v1_upsample / h2v2_upsample: replicate.
		for y := 0; y < dh*vf; y++ {
			in, out := rowAt(y/vf), dst.row(y)[:dw*hf]
			for x := range out {
				out[x] = in[x/hf]
			}
		}
	}
	return dst
}

// fancyH2V1 doubles a row: each output is 3/4 of the nearer input plus 1/4 of
// the further one, with libjpeg's alternating rounding (+1, +2). len(in) > 2.
func fancyH2V1(out, in []byte) {
	n := len(in)
	out[0] = in[0]
	out[1] = uint8((3*int(in[0]) + int(in[1]) + 2) >> 2)
	for j := 1; j < n-1; j++ {
		v := 3 * int(in[j])
		out[2*j] = uint8((v + int(in[j-1]) + 1) >> 2)
		out[2*j+1] = uint8((v + int(in[j+1]) + 2) >> 2)
	}
	out[2*n-2] = uint8((3*int(in[n-1]) + int(in[n-2]) + 1) >> 2)
	out[2*n-1] = in[n-1]
}

// fancyH2V2 doubles a row of vertical sums (3*nearer row + further row) the
// same way horizontally, with libjpeg's rounding (+8, +7). len(s) > 2.
func fancyH2V2(out []byte, s []int) {
	n := len(s)
	out[0] = uint8((4*s[0] + 8) >> 4)
	out[1] = uint8((3*s[0] + s[1] + 7) >> 4)
	for j := 1; j < n-1; j++ {
		out[2*j] = uint8((3*s[j] + s[j-1] + 8) >> 4)
		out[2*j+1] = uint8((3*s[j] + s[j+1] + 7) >> 4)
	}
	out[2*n-2] = uint8((3*s[n-1] + s[n-2] + 8) >> 4)
	out[2*n-1] = uint8((4*s[n-1] + 7) >> 4)
}

// libjpeg's YCbCr->RGB tables (jdcolor.c build_ycc_rgb_table), 16-bit
// fixed point with round-half-up.
var crR, cbB [256]int32
var crG, cbG [256]int64

func init() {
	const scaleBits = 16
	const oneHalf = 1 << (scaleBits - 1)
	fix := func(x float64) int64 { return int64(x*(1<<scaleBits) + 0.5) }
	for i := 0; i < 256; i++ {
		x := int64(i - 128)
		crR[i] = int32((fix(1.40200)*x + oneHalf) >> scaleBits)
		cbB[i] = int32((fix(1.77200)*x + oneHalf) >> scaleBits)
		crG[i] = -fix(0.71414) * x
		cbG[i] = -fix(0.34414)*x + oneHalf
	}
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// yccToRGB is jdcolor.c's ycc_rgb_convert for one pixel.
func yccToRGB(y, cb, cr uint8) (r, g, b uint8) {
	yy := int32(y)
	r = clamp8(yy + crR[cr])
	g = clamp8(yy + int32((cbG[cb]+crG[cr])>>16))
	b = clamp8(yy + cbB[cb])
	return
}
