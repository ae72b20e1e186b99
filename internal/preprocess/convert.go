package preprocess

import (
	"image"
	"image/color"
)

// ToRGB8 converts img to 8-bit RGB the way PIL's Image.convert("RGB") does
// for the image PIL would have opened from the same file:
//
//   - alpha is dropped, not composited: non-premultiplied colour channels are
//     taken as stored, even where alpha is 0 (PIL "RGBA"/"LA" -> "RGB");
//   - grayscale is replicated into R, G and B;
//   - 16-bit RGB(A) keeps the high byte (PIL unpacks "RGB;16B" that way);
//   - 16-bit grayscale is clamped to 0..255, not shifted (PIL opens it as mode
//     "I" or "I;16" and its I -> RGB conversion clamps);
//   - palette images take the palette's RGB, whatever the entry's alpha;
//   - CMYK uses PIL's cmyk2rgb: out = (255-K) - (C*(255-K))/255 with PIL's
//     rounding, for ink values where 0 means no ink.
//
// The pinned behaviours are checked against Pillow 9.4 in TestDecodeMatchesPIL.
// A premultiplied image.RGBA with partial alpha (e.g. from TIFF with
// associated alpha) is un-premultiplied first, which PIL may round differently.
func ToRGB8(img image.Image) *RGB8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if m, ok := img.(*RGB8); ok {
		out := NewRGB8(m.W, m.H)
		copy(out.Pix, m.Pix)
		return out
	}
	out := NewRGB8(w, h)
	p := out.Pix
	switch m := img.(type) {
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[(y)*m.Stride : (y)*m.Stride+4*w]
			for x := range w {
				p[0], p[1], p[2] = row[4*x], row[4*x+1], row[4*x+2]
				p = p[3:]
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				r, g, bl, a := row[4*x], row[4*x+1], row[4*x+2], row[4*x+3]
				if a != 0xff {
					c := color.NRGBAModel.Convert(color.RGBA{r, g, bl, a}).(color.NRGBA)
					r, g, bl = c.R, c.G, c.B
				}
				p[0], p[1], p[2] = r, g, bl
				p = p[3:]
			}
		}
	case *image.NRGBA64:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+8*w]
			for x := range w {
				p[0], p[1], p[2] = row[8*x], row[8*x+2], row[8*x+4]
				p = p[3:]
			}
		}
	case *image.Gray:
		for y := range h {
			for _, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
				p[0], p[1], p[2] = v, v, v
				p = p[3:]
			}
		}
	case *image.Gray16:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := range w {
				v := uint8(0xff)
				if row[2*x] == 0 {
					v = row[2*x+1]
				}
				p[0], p[1], p[2] = v, v, v
				p = p[3:]
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range m.Palette {
			if i < 256 {
				lut[i] = paletteRGB(c)
			}
		}
		for y := range h {
			for _, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
				c := lut[v]
				p[0], p[1], p[2] = c[0], c[1], c[2]
				p = p[3:]
			}
		}
	case *image.CMYK:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				p[0], p[1], p[2] = cmykToRGB(row[4*x], row[4*x+1], row[4*x+2], row[4*x+3])
				p = p[3:]
			}
		}
	default:
		// Everything else goes through the non-premultiplied colour model,
		// which for opaque pixels is exact: *image.YCbCr (Go's rounding, see
		// ycbcr.go for libjpeg's), 16-bit gray+alpha, RGBA64, ...
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := nrgba(img.At(x, y))
				p[0], p[1], p[2] = c[0], c[1], c[2]
				p = p[3:]
			}
		}
	}
	return out
}

// nrgba returns the non-premultiplied 8-bit colour channels of c, taking the
// high byte of 16-bit channels.
func nrgba(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.NRGBA64:
		return [3]uint8{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)}
	case color.Gray16:
		v := uint8(0xff)
		if c.Y < 0x100 {
			v = uint8(c.Y)
		}
		return [3]uint8{v, v, v}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]uint8{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)}
}

// paletteRGB is the RGB a palette entry stores, ignoring its alpha.
func paletteRGB(c color.Color) [3]uint8 {
	if c, ok := c.(color.RGBA); ok && c.A == 0xff {
		return [3]uint8{c.R, c.G, c.B}
	}
	return nrgba(c)
}

// cmykToRGB is Pillow's cmyk2rgb (Convert.c): MULDIV255 rounding.
func cmykToRGB(c, m, y, k uint8) (r, g, b uint8) {
	nk := int(255 - k)
	f := func(v uint8) uint8 {
		t := int(v)*nk + 128
		return uint8(nk - ((t>>8)+t)>>8)
	}
	return f(c), f(m), f(y)
}
