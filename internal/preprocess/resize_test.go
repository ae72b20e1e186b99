package preprocess

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
)

// TestResizeMatchesPIL checks ResizePIL against Pillow 9.4's Image.resize on
// every case in testdata/pil.json: the four photos and the synthetic images
// (odd sizes, 1-pixel strips, 8×8, 1000×10, gray, RGBA) to 256², 224², 299²,
// 342², torchvision's shorter-side-256 size, up- and mixed-direction scales,
// with all six filters. The tolerance is zero: the SHA-256 of the RGB bytes
// must match.
func TestResizeMatchesPIL(t *testing.T) {
	fx := loadFixtures(t)
	if len(fx.Resize) < 400 {
		t.Fatalf("only %d resize fixtures", len(fx.Resize))
	}
	for _, c := range fx.Resize {
		name := fmt.Sprintf("%s/%s/%dx%d", filepath.Base(c.File), c.Filter, c.Width, c.Height)
		t.Run(name, func(t *testing.T) {
			f, err := ParseFilter(c.Filter)
			if err != nil {
				t.Fatal(err)
			}
			got := ResizePIL(decodeFixture(t, c.File), c.Width, c.Height, f)
			if got.W != c.Width || got.H != c.Height {
				t.Fatalf("size %dx%d, want %dx%d", got.W, got.H, c.Width, c.Height)
			}
			if h := sha256Hex(got.Pix); h != c.RGBSHA256 {
				msg := "differs from PIL"
				if c.PNG != "" {
					want := readPNGRGB(t, c.PNG)
					n, maxd := diffStats(got.Pix, want.Pix)
					msg = fmt.Sprintf("%d of %d bytes differ from PIL, max |diff| %d", n, len(want.Pix), maxd)
				}
				t.Errorf("%s (sha256 %s, want %s)", msg, h[:12], c.RGBSHA256[:12])
			}
		})
	}
}

// TestImagingResizeDiffers documents why ResizePIL exists. imaging.Resize is
// also a separable, support-widening resampler and is often within 1 level
// of PIL, but it works in float64 without PIL's 22-bit fixed-point
// coefficients and per-pass uint8 clamping, so it is not bit-exact. Measured
// against ResizePIL (exact, see TestResizeMatchesPIL) on chelsea.png and
// rocket.jpg: Linear, CatmullRom and Lanczos downscales to 256² and 299² are
// off by 1 in 4-189 bytes per image; Box differs by up to 61 (different box
// edges); nearest-neighbour and some upscales happen to agree.
func TestImagingResizeDiffers(t *testing.T) {
	pairs := []struct {
		ours   Filter
		theirs imaging.ResampleFilter
	}{
		{Nearest, imaging.NearestNeighbor},
		{Box, imaging.Box},
		{Bilinear, imaging.Linear},
		{Bicubic, imaging.CatmullRom}, // cubic convolution a=-0.5, like PIL BICUBIC
		{Lanczos, imaging.Lanczos},
	}
	for _, file := range []string{"chelsea.png", "rocket.jpg"} {
		src := decodeFixture(t, file)
		for _, sz := range [][2]int{{256, 256}, {299, 299}, {2 * src.W, src.H + 3}} {
			for _, p := range pairs {
				want := ResizePIL(src, sz[0], sz[1], p.ours)
				got := ToRGB8(imaging.Resize(rgbToNRGBA(src), sz[0], sz[1], p.theirs))
				n, maxd := diffStats(got.Pix, want.Pix)
				t.Logf("%s %dx%d %-8v: imaging differs from PIL in %6d of %d bytes, max |diff| %d",
					file, sz[0], sz[1], p.ours, n, len(want.Pix), maxd)
				if p.ours == Bilinear && sz[0] == 256 && n == 0 {
					t.Errorf("imaging.Resize(Linear) now matches PIL BILINEAR on %s; ResizePIL may be replaceable", file)
				}
			}
		}
	}
}

func rgbToNRGBA(m *RGB8) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, m.W, m.H))
	for i := 0; i < m.W*m.H; i++ {
		copy(out.Pix[4*i:4*i+3], m.Pix[3*i:])
		out.Pix[4*i+3] = 0xff
	}
	return out
}

func readPNGRGB(t testing.TB, rel string) *RGB8 {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return ToRGB8(img)
}

func diffStats(a, b []byte) (n, maxd int) {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d != 0 {
			n++
			maxd = max(maxd, d)
		}
	}
	return n, maxd
}

func TestResizeSameSizeCopies(t *testing.T) {
	src := decodeFixture(t, "synth/tiny_8x8.png")
	for f := Nearest; f <= Lanczos; f++ {
		got := ResizePIL(src, 8, 8, f)
		if &got.Pix[0] == &src.Pix[0] || sha256Hex(got.Pix) != sha256Hex(src.Pix) {
			t.Errorf("%v: same-size resize is not an equal copy", f)
		}
	}
}

func TestParseFilter(t *testing.T) {
	for i, n := range filterNames {
		if f, err := ParseFilter(n); err != nil || f != Filter(i) || f.String() != n {
			t.Errorf("ParseFilter(%q) = %v, %v", n, f, err)
		}
	}
	if f, err := ParseFilter("BICUBIC"); err != nil || f != Bicubic {
		t.Errorf("ParseFilter is case-sensitive: %v %v", f, err)
	}
	if _, err := ParseFilter("cubic"); err == nil {
		t.Error("ParseFilter(cubic) succeeded")
	}
}

func BenchmarkResizePIL(b *testing.B) {
	src := decodeFixture(b, "chelsea.png")
	for _, f := range []Filter{Nearest, Bilinear, Bicubic, Lanczos} {
		b.Run(fmt.Sprintf("chelsea_%s_256x256", f), func(b *testing.B) {
			for b.Loop() {
				ResizePIL(src, 256, 256, f)
			}
		})
	}
}

// TestResizeWindowMatchesCrop checks that resizing only a window gives the
// same bytes as cropping the full resize, for every filter, down- and
// upscales, one-sided resizes (only the width or only the height changes)
// and windows at the edges.
func TestResizeWindowMatchesCrop(t *testing.T) {
	srcs := []*RGB8{decodeFixture(t, "synth/noise_37x23.png"), decodeFixture(t, "synth/strip_1x41.png"), decodeFixture(t, "synth/tiny_8x8.png")}
	for _, src := range srcs {
		sizes := [][2]int{{src.W, 2*src.H + 1}, {3*src.W + 2, src.H}, {5, 3}, {2*src.W + 7, 3*src.H - 1}, {src.W, src.H}}
		for _, sz := range sizes {
			w, h := sz[0], sz[1]
			wins := []image.Rectangle{
				image.Rect(0, 0, w, h), image.Rect(0, 0, 1, 1), image.Rect(w-1, h-1, w, h),
				image.Rect(w/3, h/4, w/3+max(w/2, 1), h/4+max(h/2, 1)),
			}
			for f := Nearest; f <= Lanczos; f++ {
				full := ResizePIL(src, w, h, f)
				for _, win := range wins {
					got := resizePILWindow(src, w, h, f, win)
					if want := cropRGB8(full, win); got.W != want.W || got.H != want.H || sha256Hex(got.Pix) != sha256Hex(want.Pix) {
						t.Errorf("%dx%d -> %dx%d %v window %v differs from the crop of the full resize", src.W, src.H, w, h, f, win)
					}
				}
			}
		}
	}
}

// TestResizeNearestFarWindow checks the closed-form start of resizeNearest
// past maxNearestReplay against the replayed sum just below it: both give
// PIL's positions where the sum has not drifted.
func TestResizeNearestFarWindow(t *testing.T) {
	src := decodeFixture(t, "synth/strip_41x1.png")
	w := 41 * (maxNearestReplay/41 + 1000)
	a := resizeNearest(src, w, 1, image.Rect(maxNearestReplay-5, 0, maxNearestReplay+5, 1))
	b := resizeNearest(src, w, 1, image.Rect(maxNearestReplay+1, 0, maxNearestReplay+5, 1))
	if sha256Hex(a.Pix[3*6:]) != sha256Hex(b.Pix) {
		t.Errorf("closed-form window %v differs from the replayed one %v", b.Pix, a.Pix[3*6:])
	}
}
