package preprocess

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/inception-cli/inception/internal/preprocess/internal/ljpeg"
)

// DefaultMaxPixels is the largest image (width*height) decoded unless
// DecodeOptions.MaxPixels says otherwise. It is PIL's Image.MAX_IMAGE_PIXELS
// (1024*1024*1024/4/3), above which PIL warns of a decompression bomb.
const DefaultMaxPixels = 89478485

// recoverPanics turns a decoder panic into an error. FuzzDecode clears it so
// that such panics surface as bugs.
var recoverPanics = true

// maxFileBytes caps how much of a file is read: far above any image under
// DefaultMaxPixels, far below what would exhaust memory.
const maxFileBytes = 1 << 30

// DecodeOptions controls Decode and DecodeReader.
type DecodeOptions struct {
	// NoOrient skips applying the EXIF orientation tag. PIL's Image.open does
	// not apply it either, so reference pipelines see the stored pixels; we
	// apply it by default because a phone photo should be classified upright.
	NoOrient bool
	// MaxPixels refuses images with more pixels than this before decoding
	// them; 0 means DefaultMaxPixels.
	MaxPixels int64
}

// UnsupportedError reports a file that is not an image format we decode
// (Format is "" when unrecognised) or that uses a feature the decoder lacks.
type UnsupportedError struct {
	File   string
	Format string // "JPEG", "PNG", ..., or "" when the format is unknown
	Reason string
}

func (e *UnsupportedError) Error() string {
	if e.Format == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("%s: unsupported %s: %s", e.File, e.Format, e.Reason)
}

// format is one decodable file format.
type format struct {
	name   string
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var (
	formatJPEG = format{"JPEG", ljpeg.DecodeConfig, decodeJPEG}
	formatPNG  = format{"PNG", png.DecodeConfig, png.Decode}
	formatGIF  = format{"GIF", gif.DecodeConfig, gif.Decode}
	formatBMP  = format{"BMP", bmp.DecodeConfig, bmp.Decode}
	formatTIFF = format{"TIFF", tiff.DecodeConfig, tiff.Decode}
	formatWebP = format{"WebP", webp.DecodeConfig, webp.Decode}
)

// sniff picks the decoder from the file's magic bytes. The decoders are
// called directly rather than through image.Decode so that the process-wide
// format registry (which image/jpeg also joins) cannot pick a different JPEG
// decoder.
func sniff(b []byte) (*format, string) {
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "\xff\xd8"):
		return &formatJPEG, ""
	case has(0, "\x89PNG\r\n\x1a\n"):
		return &formatPNG, ""
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return &formatGIF, ""
	case has(0, "BM"):
		return &formatBMP, ""
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return &formatTIFF, ""
	case has(0, "RIFF") && has(8, "WEBP"):
		return &formatWebP, ""
	// Recognised but not decoded: say what the file is.
	case has(4, "ftypheic"), has(4, "ftypheix"), has(4, "ftypmif1"), has(4, "ftyphevc"):
		return nil, "HEIF/HEIC"
	case has(4, "ftypavif"), has(4, "ftypavis"):
		return nil, "AVIF"
	case has(0, "\x00\x00\x00\x0cjP  "), has(0, "\xff\x4f\xff\x51"):
		return nil, "JPEG 2000"
	case has(0, "8BPS"):
		return nil, "Photoshop PSD"
	case has(0, "\x00\x00\x01\x00"):
		return nil, "ICO"
	case has(0, "%PDF"):
		return nil, "PDF"
	case has(0, "\xff\x0a"), has(0, "\x00\x00\x00\x0cJXL "):
		return nil, "JPEG XL"
	}
	return nil, ""
}

// Decode reads and decodes the image file at path. See DecodeReader.
func Decode(path string, opts DecodeOptions) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError: "open photo.jpg: no such file or directory"
	}
	defer f.Close()
	return DecodeReader(path, f, opts)
}

// DecodeReader decodes a JPEG, PNG, GIF (first frame), BMP, TIFF or WebP
// image from r; name is used in error messages. The header is read first and
// images over opts.MaxPixels are refused before any pixel memory is
// allocated. Unless opts.NoOrient, the EXIF orientation (JPEG, PNG eXIf,
// WebP, TIFF) is applied as PIL's ImageOps.exif_transpose does.
//
// The image comes back in the decoder's own type: *RGB8 for colour JPEGs
// (decoded bit-exactly like libjpeg-turbo, as PIL does), *image.Gray,
// *image.CMYK (ink values, PIL's "CMYK" mode), *image.NRGBA, *image.Paletted,
// ... and *RGB8 whenever an orientation was applied. ToRGB8 and Preset accept
// all of them.
//
// Errors are one line naming the file. Unknown formats and unsupported
// features are *UnsupportedError. Corrupt data yields an error, never a panic.
func DecodeReader(name string, r io.Reader, opts DecodeOptions) (img image.Image, err error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%s: file is over %d MiB", name, maxFileBytes>>20)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty file", name)
	}
	f, known := sniff(data)
	if f == nil {
		if known != "" {
			return nil, &UnsupportedError{File: name, Format: known, Reason: "format not supported (use JPEG, PNG, GIF, BMP, TIFF or WebP)"}
		}
		return nil, &UnsupportedError{File: name, Reason: "not a recognised image format (want JPEG, PNG, GIF, BMP, TIFF or WebP)"}
	}
	maxPix := opts.MaxPixels
	if maxPix <= 0 {
		maxPix = DefaultMaxPixels
	}
	// Decoders must not take the process down on hostile input.
	defer func() {
		if !recoverPanics {
			return
		}
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%s: corrupt %s data (decoder failed: %v)", name, f.name, p)
		}
	}()

	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(name, f.name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s: %s image has no pixels (%dx%d)", name, f.name, cfg.Width, cfg.Height)
	}
	if n := int64(cfg.Width) * int64(cfg.Height); n > maxPix {
		return nil, fmt.Errorf("%s: image is %dx%d = %d MP, over the %d MP limit (--max-pixels)",
			name, cfg.Width, cfg.Height, (n+500000)/1000000, (maxPix+500000)/1000000)
	}
	img, err = f.decode(bytes.NewReader(data))
	if err != nil {
		return nil, decodeError(name, f.name, err)
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > maxPix {
		return nil, fmt.Errorf("%s: %s decoder returned a %dx%d image", name, f.name, b.Dx(), b.Dy())
	}
	switch f {
	case &formatGIF:
		img = fixGIFPalette(img, data, image.Rect(0, 0, cfg.Width, cfg.Height))
	case &formatWebP:
		img = webpToRGB(img)
	}
	if !opts.NoOrient {
		if o := exifOrientation(f, data); o > 1 {
			img = orient(ToRGB8(img), o)
		}
	}
	return img, nil
}

// decodeError turns a decoder's error into a one-line error naming the file,
// or an *UnsupportedError for valid files using features we lack.
func decodeError(name, format string, err error) error {
	var (
		jpegUnsup ljpeg.UnsupportedError
		pngUnsup  png.UnsupportedError
		tiffUnsup tiff.UnsupportedError
	)
	switch {
	case errors.As(err, &jpegUnsup), errors.As(err, &pngUnsup), errors.As(err, &tiffUnsup), errors.Is(err, bmp.ErrUnsupported):
		return &UnsupportedError{File: name, Format: format, Reason: err.Error()}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%s: truncated %s file", name, format)
	}
	return fmt.Errorf("%s: corrupt %s data: %w", name, format, err)
}

// decodeJPEG decodes with the libjpeg-exact decoder and wraps its output
// without copying: RGB as *RGB8, grayscale as *image.Gray, CMYK as
// *image.CMYK holding ink amounts (PIL reads Adobe CMYK with raw mode
// "CMYK;I", i.e. inverted, which is what Adobe files need).
func decodeJPEG(r io.Reader) (image.Image, error) {
	m, err := ljpeg.Decode(r)
	if err != nil {
		return nil, err
	}
	rect := image.Rect(0, 0, m.Width, m.Height)
	switch m.Components {
	case 1:
		return &image.Gray{Pix: m.Pix, Stride: m.Width, Rect: rect}, nil
	case 3:
		return &RGB8{Pix: m.Pix, W: m.Width, H: m.Height}, nil
	}
	for i, v := range m.Pix {
		m.Pix[i] = 255 - v
	}
	return &image.CMYK{Pix: m.Pix, Stride: 4 * m.Width, Rect: rect}, nil
}

// fixGIFPalette makes Go's first GIF frame look like PIL's: the transparent
// palette entry keeps its stored colour (Go zeroes it; PIL's convert("RGB")
// shows it), and a first frame smaller than the logical screen sits on a
// screen-sized canvas filled with the transparent index, or index 0 (Pillow
// 9.4 GifImageFile.load_prepare).
func fixGIFPalette(img image.Image, data []byte, screen image.Rectangle) image.Image {
	m, ok := img.(*image.Paletted)
	if !ok {
		return img
	}
	raw, trns := gifFirstFrameInfo(data)
	pal := append(color.Palette(nil), m.Palette...)
	for i := 0; i < len(pal) && 3*i+2 < len(raw); i++ {
		pal[i] = color.NRGBA{raw[3*i], raw[3*i+1], raw[3*i+2], 0xff}
	}
	if m.Rect == screen || !m.Rect.In(screen) {
		out := *m
		out.Palette = pal
		return &out
	}
	canvas := image.NewPaletted(screen, pal)
	if trns > 0 {
		for i := range canvas.Pix {
			canvas.Pix[i] = uint8(trns)
		}
	}
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		copy(canvas.Pix[canvas.PixOffset(m.Rect.Min.X, y):], m.Pix[m.PixOffset(m.Rect.Min.X, y):m.PixOffset(m.Rect.Max.X, y)])
	}
	return canvas
}

// gifFirstFrameInfo returns the raw RGB colour table of a GIF's first image
// (its local table, else the global one; nil if malformed) and the
// transparent index of its graphic control extension (-1 if none).
func gifFirstFrameInfo(b []byte) (table []byte, trns int) {
	trns = -1
	if len(b) < 13 {
		return nil, trns
	}
	colors := func(flags byte, at int) ([]byte, int) {
		if flags&0x80 == 0 {
			return nil, at
		}
		n := 3 << ((flags & 7) + 1)
		if at+n > len(b) {
			return nil, len(b)
		}
		return b[at : at+n], at + n
	}
	global, i := colors(b[10], 13)
	for i+1 < len(b) {
		switch b[i] {
		case 0x21: // extension: label, then sub-blocks
			if b[i+1] == 0xf9 && i+7 <= len(b) && b[i+2] == 4 && b[i+3]&1 != 0 {
				trns = int(b[i+6])
			}
			i += 2
			for i < len(b) && b[i] != 0 {
				i += int(b[i]) + 1
			}
			i++
		case 0x2c: // image descriptor
			if i+10 <= len(b) {
				if local, _ := colors(b[i+9], i+10); local != nil {
					return local, trns
				}
			}
			return global, trns
		default:
			return global, trns
		}
	}
	return global, trns
}
