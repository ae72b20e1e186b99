package preprocess

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/disintegration/imaging"
)

// TestDecodeMatchesPIL decodes every fixture and compares the RGB bytes with
// Pillow 9.4's Image.open -> ImageOps.exif_transpose -> convert("RGB")
// (or without exif_transpose for the NoOrient rows). What this pins, by
// fixture (PIL mode in brackets):
//
//   - rocket.jpg, photo_101x67_{444,422,420,420_prog}.jpg, noise_37x23_*.jpg
//     [RGB]: JPEG decoding bit-exact with libjpeg-turbo 2.1.5 (ISLOW IDCT,
//     fancy upsampling for 4:2:2 and 4:2:0 incl. odd sizes, progressive).
//   - photo_101x67_gray.jpg [L]: grayscale replicated.
//   - cmyk_40x30.jpg [CMYK]: Adobe CMYK read inverted ("CMYK;I") and
//     converted with PIL's cmyk2rgb rounding.
//   - rgba_45x31.png [RGBA], la_23x19.png [LA]: alpha dropped, colour kept
//     as stored even where alpha is 0 (no compositing, no premultiplying).
//   - rgb16_19x13.png [RGB], rgba16_19x13.png [RGBA]: 16-bit samples keep
//     their high byte.
//   - gray16_20x12.png [I]: 16-bit gray clamped to 255, not shifted.
//   - pal_30x20.png, pal_trns_30x20.png [P], pal_29x21.bmp [P]: palette
//     colours, transparency ignored.
//   - anim_26x18.gif [P]: first frame; the transparent index keeps its colour.
//   - offset_20x15.gif [P]: a first frame smaller than the screen lands on a
//     canvas filled with the transparent index.
//   - exif_orient{2..8}_24x16.jpg: EXIF orientation applied as exif_transpose.
//   - rgb_29x21.{bmp,tif}, rgb_29x21_lzw.tif, rgb_29x21_lossless.webp: lossless.
//   - photo_101x67_lossy.webp, rgba_45x31_lossy.webp [RGB, RGBA]: libwebp's
//     fancy upsampling and YUV->RGB; alpha dropped.
func TestDecodeMatchesPIL(t *testing.T) {
	fx := loadFixtures(t)
	if fx.Pillow != "9.4.0" {
		t.Logf("fixtures made with Pillow %s (expected 9.4.0, Debian bookworm)", fx.Pillow)
	}
	for _, c := range fx.Decode {
		name := c.File
		if c.NoOrient {
			name += "/noorient"
		}
		t.Run(name, func(t *testing.T) {
			img, err := Decode(filepath.Join("testdata", c.File), DecodeOptions{NoOrient: c.NoOrient})
			if err != nil {
				t.Fatal(err)
			}
			got := ToRGB8(img)
			if got.W != c.Width || got.H != c.Height {
				t.Fatalf("%T: size %dx%d, want %dx%d", img, got.W, got.H, c.Width, c.Height)
			}
			if h := sha256Hex(got.Pix); h != c.RGBSHA256 {
				t.Errorf("%T (PIL mode %s): RGB differs from PIL (sha256 %s, want %s)", img, c.PILMode, h[:12], c.RGBSHA256[:12])
			}
		})
	}
}

// TestImagingAutoOrientation checks that imaging.Decode with
// AutoOrientation(true) agrees with our EXIF handling on the orientation
// fixtures (up to Go's JPEG decoder, which is not libjpeg-exact: mean
// difference below 2 levels, against tens for a wrong orientation).
func TestImagingAutoOrientation(t *testing.T) {
	for o := 2; o <= 8; o++ {
		path := filepath.Join("testdata", "synth", "exif_orient"+string(rune('0'+o))+"_24x16.jpg")
		ours, err := Decode(path, DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := imaging.Decode(f, imaging.AutoOrientation(true))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		a, b := ToRGB8(ours), ToRGB8(theirs)
		if a.W != b.W || a.H != b.H {
			t.Fatalf("orientation %d: ours %dx%d, imaging %dx%d", o, a.W, a.H, b.W, b.H)
		}
		sum := 0
		for i := range a.Pix {
			sum += max(int(a.Pix[i])-int(b.Pix[i]), int(b.Pix[i])-int(a.Pix[i]))
		}
		if mean := float64(sum) / float64(len(a.Pix)); mean > 2 {
			t.Errorf("orientation %d: mean |ours - imaging| = %.2f", o, mean)
		}
	}
}

// pngWithSize returns a PNG signature and an IHDR chunk claiming w×h RGB,
// followed by a tiny IDAT: a header that DecodeConfig accepts.
func pngWithSize(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
		return b.Bytes()
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, chunk("IEND", nil)...)
}

// jpegWithSize patches the SOF0 of a real JPEG to claim w×h.
func jpegWithSize(t *testing.T, w, h uint16) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", "synth", "noise_37x23_420.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

func TestDecodeErrors(t *testing.T) {
	read := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	png, jpg := read("chelsea.png"), read("rocket.jpg")
	cases := []struct {
		name, file string
		data       []byte
		want       string // substring of the error
		unsup      bool   // want *UnsupportedError
	}{
		{"empty", "empty.jpg", nil, "empty.jpg: empty file", false},
		{"text named jpg", "notes.jpg", []byte("hello, this is not an image\n"), "not a recognised image format", true},
		{"heic", "phone.heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), "unsupported HEIF/HEIC", true},
		{"truncated png", "cut.png", png[:len(png)/2], "cut.png: ", false},
		{"truncated png header", "cut2.png", png[:20], "cut2.png: ", false},
		{"truncated jpeg", "cut.jpg", jpg[:len(jpg)/2], "cut.jpg: ", false},
		{"truncated jpeg header", "cut2.jpg", jpg[:100], "cut2.jpg: ", false},
		{"jpeg soi only", "soi.jpg", []byte{0xff, 0xd8}, "soi.jpg: ", false},
		{"huge png", "bomb.png", pngWithSize(100000, 100000), "bomb.png: image is 100000x100000 = 10000 MP, over the 89 MP limit (--max-pixels)", false},
		{"huge jpeg", "bomb.jpg", jpegWithSize(t, 65000, 65000), "bomb.jpg: image is 65000x65000 = 4225 MP, over the 89 MP limit", false},
		{"zero-width png", "zero.png", pngWithSize(0, 10), "zero.png: ", false},
		{"garbage after png magic", "junk.png", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xab}, 64)...), "junk.png: ", false},
		{"garbage after gif magic", "junk.gif", append([]byte("GIF89a"), bytes.Repeat([]byte{0xff}, 64)...), "junk.gif: ", false},
		{"riff not webp", "x.webp", []byte("RIFF\x10\x00\x00\x00WAVEfmt "), "not a recognised image format", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			img, err := DecodeReader(c.file, bytes.NewReader(c.data), DecodeOptions{})
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("decoded a %v image, want an error", img.Bounds())
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, c.file+": ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with %q and containing %q", msg, c.file+": ", c.want)
			}
			var ue *UnsupportedError
			if got := errors.As(err, &ue); got != c.unsup {
				t.Errorf("error %q: *UnsupportedError = %v, want %v", msg, got, c.unsup)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("allocated %d MiB before failing", grew>>20)
			}
		})
	}
}

func TestDecodeMaxPixels(t *testing.T) {
	path := filepath.Join("testdata", "chelsea.png") // 451x300 = 135300 px
	if _, err := Decode(path, DecodeOptions{MaxPixels: 135300}); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	_, err := Decode(path, DecodeOptions{MaxPixels: 135299})
	if err == nil || !strings.Contains(err.Error(), "451x300") {
		t.Errorf("over the limit: err = %v", err)
	}
	if _, err := Decode(filepath.Join("testdata", "missing.png"), DecodeOptions{}); err == nil || !strings.Contains(err.Error(), "missing.png") {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestDecodeTypes pins the image types Decode hands back, which callers may
// rely on to skip a conversion.
func TestDecodeTypes(t *testing.T) {
	for file, want := range map[string]string{
		"rocket.jpg":                      "*preprocess.RGB8",
		"synth/photo_101x67_gray.jpg":     "*image.Gray",
		"synth/cmyk_40x30.jpg":            "*image.CMYK",
		"synth/exif_orient6_24x16.jpg":    "*preprocess.RGB8",
		"synth/photo_101x67_lossy.webp":   "*preprocess.RGB8",
		"synth/rgba_45x31.png":            "*image.NRGBA",
		"synth/pal_trns_30x20.png":        "*image.Paletted",
		"synth/rgb_29x21_lossless.webp":   "*image.NRGBA",
		"synth/anim_26x18.gif":            "*image.Paletted",
		"synth/photo_101x67_420_prog.jpg": "*preprocess.RGB8",
	} {
		img, err := Decode(filepath.Join("testdata", file), DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := typeName(img); got != want {
			t.Errorf("%s: %s, want %s", file, got, want)
		}
	}
}

func typeName(img image.Image) string {
	switch img.(type) {
	case *RGB8:
		return "*preprocess.RGB8"
	case *image.Gray:
		return "*image.Gray"
	case *image.CMYK:
		return "*image.CMYK"
	case *image.NRGBA:
		return "*image.NRGBA"
	case *image.Paletted:
		return "*image.Paletted"
	}
	return "other"
}

func BenchmarkDecode(b *testing.B) {
	for _, file := range []string{"chelsea.png", "rocket.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(file, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := DecodeReader(file, bytes.NewReader(data), DecodeOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
