package preprocess

import (
	"image"
	"image/color"
)

// RGB8 is an 8-bit RGB image: Pix holds W*H pixels row by row, 3 bytes each
// (R, G, B), with no padding. It is the layout PIL uses for mode "RGB" (minus
// PIL's unused fourth byte) and the input and output of ResizePIL.
type RGB8 struct {
	Pix  []uint8
	W, H int
}

// NewRGB8 allocates a zeroed w×h image.
func NewRGB8(w, h int) *RGB8 {
	return &RGB8{Pix: make([]uint8, 3*w*h), W: w, H: h}
}

// ColorModel implements image.Image.
func (m *RGB8) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements image.Image; the origin is always (0, 0).
func (m *RGB8) Bounds() image.Rectangle { return image.Rect(0, 0, m.W, m.H) }

// At implements image.Image.
func (m *RGB8) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return color.RGBA{}
	}
	i := 3 * (y*m.W + x)
	return color.RGBA{m.Pix[i], m.Pix[i+1], m.Pix[i+2], 0xff}
}
