package heatmap

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// uniform returns an opaque image of bounds b filled with gray level v.
func uniform(b image.Rectangle, v uint8) *image.RGBA {
	m := image.NewRGBA(b)
	for i := range m.Pix {
		m.Pix[i] = v
		if i%4 == 3 {
			m.Pix[i] = 255
		}
	}
	return m
}

func rgb(m *image.RGBA, x, y int) [3]uint8 {
	c := m.RGBAAt(x, y)
	return [3]uint8{c.R, c.G, c.B}
}

// TestJetTable pins the colormap's levels worked out by hand from
// clamp(1.5 - |4x - k|) with x = i/255.
func TestJetTable(t *testing.T) {
	cases := []struct {
		level int
		want  [3]uint8
	}{
		{0, [3]uint8{0, 0, 128}},       // dark blue
		{64, [3]uint8{0, 129, 255}},    // B 1.5-|1.004-1| > 1; G (765-2*254)/2 = 128.5 → 129
		{128, [3]uint8{130, 255, 126}}, // R (765-2*253+1)/2 = 130, B (765-2*257+1)/2 = 126
		{191, [3]uint8{255, 129, 0}},
		{255, [3]uint8{128, 0, 0}}, // dark red
	}
	for _, c := range cases {
		if got := jetTable[c.level]; got != c.want {
			t.Errorf("jet[%d] = %v, want %v", c.level, got, c.want)
		}
	}
	seen := map[[3]uint8]int{}
	for i, c := range jetTable {
		if j, ok := seen[c]; ok {
			t.Errorf("jet[%d] = jet[%d] = %v: levels must be distinguishable", i, j, c)
		}
		seen[c] = i
	}
}

// TestOverlayKnownColours upsamples a 2×1 map [0, 1] onto 4 pixels: with
// half-pixel centres they read map positions -0.25 (clamped to 0), 0.25,
// 0.75 and 1.25 (clamped to 1), levels 0, 64, 191 and 255.
func TestOverlayKnownColours(t *testing.T) {
	cam := []float32{-3, 5} // any range: normalised to 0, 1
	cases := []struct {
		name  string
		gray  uint8
		alpha float64
		want  [4][3]uint8
	}{
		{"alpha1", 0, 1, [4][3]uint8{jetTable[0], jetTable[64], jetTable[191], jetTable[255]}},
		// round(0.5*200 + 0.5*c): (100, 100, 164) for (0, 0, 128), ...
		{"default", 200, 0, [4][3]uint8{{100, 100, 164}, {100, 165, 228}, {228, 165, 100}, {164, 100, 100}}},
		{"alpha0.25", 100, 0.25, [4][3]uint8{{75, 75, 107}, {75, 107, 139}, {139, 107, 75}, {107, 75, 75}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := uniform(image.Rect(0, 0, 4, 1), c.gray)
			out, err := Overlay(img, img.Bounds(), cam, 2, 1, Options{Alpha: c.alpha})
			if err != nil {
				t.Fatal(err)
			}
			for x, want := range c.want {
				if got := rgb(out, x, 0); got != want {
					t.Errorf("pixel %d = %v, want %v", x, got, want)
				}
			}
		})
	}
}

// level returns the jet level of an opaque colour drawn with alpha 1.
func level(t *testing.T, c [3]uint8) int {
	t.Helper()
	for i, j := range jetTable {
		if j == c {
			return i
		}
	}
	t.Fatalf("%v is not a jet colour", c)
	return 0
}

// TestOverlayHotSpot puts a peak in cell (5, 1) of a 7×5 map drawn over the
// 70×50 rectangle at (30, 30) of an image whose bounds start at (10, 20):
// 10 pixels per cell, so the hottest pixels must lie in x [80, 90),
// y [40, 50); outside the rectangle the photo is dimmed to half.
func TestOverlayHotSpot(t *testing.T) {
	const w, h = 7, 5
	cam := make([]float32, w*h)
	for i := range cam {
		cam[i] = float32(i%3) * 0.3 // a background below the peak
	}
	cam[1*w+5] = 4
	b := image.Rect(10, 20, 110, 100)
	r := image.Rect(30, 30, 100, 80)
	img := uniform(b, 200)
	out, err := Overlay(img, r, cam, w, h, Options{Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	if out.Bounds() != b {
		t.Fatalf("bounds %v, want %v", out.Bounds(), b)
	}
	best, at := -1, image.Point{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if l := level(t, rgb(out, x, y)); l > best {
				best, at = l, image.Pt(x, y)
			}
		}
	}
	if !at.In(image.Rect(80, 40, 90, 50)) {
		t.Errorf("hottest pixel (level %d) at %v, outside the peak cell's pixels [80,90)x[40,50)", best, at)
	}
	// Half-pixel centres never land on a cell centre at 10 pixels a cell:
	// the hottest pixels read 0.05 of a cell off it along each axis, so
	// they keep at least 0.95² of the peak: level round(255*0.9025) = 230.
	if best < 230 {
		t.Errorf("hottest level %d, want at least 230", best)
	}
	for _, p := range []image.Point{{10, 20}, {29, 50}, {100, 50}, {50, 29}, {50, 80}, {109, 99}} {
		if got, want := out.RGBAAt(p.X, p.Y), (color.RGBA{100, 100, 100, 255}); got != want {
			t.Errorf("outside pixel %v = %v, want dimmed %v", p, got, want)
		}
	}
}

// TestOverlayDegenerateMaps checks that constant maps, NaN and ±Inf give
// the bottom colour rather than NaN-driven garbage, with one pixel per
// cell (map position = pixel index).
func TestOverlayDegenerateMaps(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	lo, hi := jetTable[0], jetTable[255]
	cases := []struct {
		name string
		cam  []float32
		want [4][3]uint8
	}{
		{"constant", []float32{7, 7, 7, 7}, [4][3]uint8{lo, lo, lo, lo}},
		{"zero", []float32{0, 0, 0, 0}, [4][3]uint8{lo, lo, lo, lo}},
		{"nan", []float32{nan, nan, nan, nan}, [4][3]uint8{lo, lo, lo, lo}},
		{"mixed", []float32{nan, 1, 3, inf}, [4][3]uint8{lo, lo, hi, lo}},
		{"-inf", []float32{-inf, 2, 2, 4}, [4][3]uint8{lo, lo, lo, hi}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := uniform(image.Rect(0, 0, 4, 1), 50)
			out, err := Overlay(img, img.Bounds(), c.cam, 4, 1, Options{Alpha: 1})
			if err != nil {
				t.Fatal(err)
			}
			for x, want := range c.want {
				if got := rgb(out, x, 0); got != want {
					t.Errorf("pixel %d = %v, want %v", x, got, want)
				}
			}
		})
	}
}

// TestOverlayBounds checks the output size for a rectangle larger than the
// image and a transparent image (composed over black, then opaque).
func TestOverlayBounds(t *testing.T) {
	img := image.NewNRGBA(image.Rect(-5, -5, 15, 10)) // transparent
	r := image.Rect(-20, 0, 40, 30)
	out, err := Overlay(img, r, []float32{1, 2, 3, 4}, 2, 2, Options{Dim: 1})
	if err != nil {
		t.Fatal(err)
	}
	if out.Bounds() != img.Bounds() {
		t.Fatalf("bounds %v, want %v", out.Bounds(), img.Bounds())
	}
	if got, want := out.RGBAAt(0, -5), (color.RGBA{0, 0, 0, 255}); got != want {
		t.Errorf("outside pixel = %v, want %v", got, want)
	}
	if got := out.RGBAAt(0, 5); got.A != 255 || got == (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("inside pixel = %v, want an opaque colour", got)
	}
}

func TestOverlayErrors(t *testing.T) {
	img := uniform(image.Rect(0, 0, 8, 8), 0)
	cam := make([]float32, 4)
	cases := []struct {
		name string
		r    image.Rectangle
		cam  []float32
		w, h int
		o    Options
	}{
		{"short map", img.Bounds(), cam[:3], 2, 2, Options{}},
		{"zero width", img.Bounds(), nil, 0, 2, Options{}},
		{"negative size", img.Bounds(), cam, -2, -2, Options{}},
		{"empty rect", image.Rect(3, 3, 3, 8), cam, 2, 2, Options{}},
		{"alpha > 1", img.Bounds(), cam, 2, 2, Options{Alpha: 1.5}},
		{"alpha NaN", img.Bounds(), cam, 2, 2, Options{Alpha: math.NaN()}},
		{"dim < 0", img.Bounds(), cam, 2, 2, Options{Dim: -0.1}},
	}
	for _, c := range cases {
		if _, err := Overlay(img, c.r, c.cam, c.w, c.h, c.o); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
