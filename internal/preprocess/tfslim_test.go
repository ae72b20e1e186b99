package preprocess

import (
	"math"
	"testing"
)

// The expected values in this file are worked out by hand from TensorFlow's
// formulas (no TensorFlow here to make fixtures):
//
//   - convert_image_dtype (tensorflow/python/ops/image_ops_impl.py): uint8 ->
//     float32 as cast(x) * (1. / 255);
//   - central_crop (same file): start = int((n - n*fraction) / 2), size =
//     n - 2*start;
//   - resize_bilinear, align_corners=False, half_pixel_centers=False
//     (tensorflow/core/kernels/resize_bilinear_op.cc, image_resizer_state.h):
//     scale = in/out, in_pos = out_pos*scale, lower = floor, upper =
//     min(ceil, in-1), lerp = in_pos - floor; top = tl + (tr-tl)*xlerp,
//     bottom = bl + (br-bl)*xlerp, out = top + (bottom-top)*ylerp;
//   - inception_preprocessing.preprocess_for_eval (tensorflow/models
//     research/slim): then (x - 0.5) * 2.
//
// Hand values are exact rationals of the pixel values; the float32 pipeline
// may differ from them by a few ulps, so they are compared within 1e-6.

// slimValue is the TF-slim output for a pixel value v that reaches the
// network unchanged (lerp 0): (v/255 - 0.5) * 2.
func slimValue(v float64) float64 { return (v/255 - 0.5) * 2 }

// rampImage returns a w×h image with R = r(x), G = g(y), B = 255 - R.
func rampImage(w, h int, r func(x int) int, g func(y int) int) *RGB8 {
	m := NewRGB8(w, h)
	for y := range h {
		for x := range w {
			copy(m.Pix[3*(y*w+x):], []uint8{uint8(r(x)), uint8(g(y)), uint8(255 - r(x))})
		}
	}
	return m
}

func slimPreset(t *testing.T, size int) Preset {
	t.Helper()
	p, err := NewPreset(Params{Preset: "tf-slim", Size: size})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkHand compares got (CHW, size s) with want[c][y][x] within 1e-6.
func checkHand(t *testing.T, got []float32, want [][][]float64) {
	t.Helper()
	s := len(want[0])
	for c := range want {
		for y := range s {
			for x := range s {
				g := float64(got[(c*s+y)*s+x])
				if math.Abs(g-want[c][y][x]) > 1e-6 {
					t.Errorf("channel %d (%d,%d) = %.9g, want %.9g", c, x, y, g, want[c][y][x])
				}
			}
		}
	}
}

// TestTFResizeBilinear4x4To2x2: no central crop (start = int(4*0.0625) = 0),
// scale 2, positions 0 and 2 with lerp 0, so output (x, y) is exactly source
// (2x, 2y). PIL's antialiased bilinear would average 4×4 blocks, and
// half-pixel centres would sample between pixels 0 and 1.
func TestTFResizeBilinear4x4To2x2(t *testing.T) {
	src := rampImage(4, 4, func(x int) int { return 40 * x }, func(y int) int { return 50 * y })
	got := make([]float32, 3*2*2)
	slimPreset(t, 2).Into(src, got)
	checkHand(t, got, [][][]float64{
		{{slimValue(0), slimValue(80)}, {slimValue(0), slimValue(80)}},       // R = 40*(2x)
		{{slimValue(0), slimValue(0)}, {slimValue(100), slimValue(100)}},     // G = 50*(2y)
		{{slimValue(255), slimValue(175)}, {slimValue(255), slimValue(175)}}, // B = 255 - R
	})
}

// TestTFResizeBilinear8x6To3x3: 8 wide, 6 high, no crop (8*0.0625 and
// 6*0.0625 truncate to 0). Rows: scale 6/3 = 2, rows 0, 2, 4, lerp 0.
// Columns: scale 8/3, positions 0, 8/3, 16/3: lower 0, 2, 5, upper 0, 3, 6,
// lerp 0, 2/3, 1/3. With R = 30x: R(0) = 0, R(2)+(R(3)-R(2))*2/3 = 80,
// R(5)+(R(6)-R(5))/3 = 160.
func TestTFResizeBilinear8x6To3x3(t *testing.T) {
	src := rampImage(8, 6, func(x int) int { return 30 * x }, func(y int) int { return 40 * y })
	got := make([]float32, 3*3*3)
	slimPreset(t, 3).Into(src, got)
	r := []float64{slimValue(0), slimValue(80), slimValue(160)}
	b := []float64{slimValue(255), slimValue(255 - 80), slimValue(255 - 160)}
	checkHand(t, got, [][][]float64{
		{r, r, r},
		{{slimValue(0), slimValue(0), slimValue(0)}, {slimValue(80), slimValue(80), slimValue(80)}, {slimValue(160), slimValue(160), slimValue(160)}},
		{b, b, b},
	})
	// The interpolation table itself, against TF's float32 arithmetic.
	xs := tfInterpolation(8, 3)
	third := float32(8) / 3
	wantX := []tfInterp{{0, 0, 0}, {2, 3, third - 2}, {5, 6, 2*third - 5}}
	for i, w := range wantX {
		if xs[i] != w {
			t.Errorf("x interpolation %d = %+v, want %+v", i, xs[i], w)
		}
	}
}

// TestTFResizeBilinearUpscale: 2×2 -> 4×4, scale 1/2: positions 0, .5, 1,
// 1.5; lower 0, 0, 1, 1; upper 0, 1, 1, min(2, 1) = 1; lerp 0, .5, 0, .5.
// So columns read R(0), (R(0)+R(1))/2, R(1), R(1): the last pixel is
// replicated rather than interpolated towards a centre.
func TestTFResizeBilinearUpscale(t *testing.T) {
	src := rampImage(2, 2, func(x int) int { return 102 * x }, func(y int) int { return 200 * y })
	got := make([]float32, 3*4*4)
	slimPreset(t, 4).Into(src, got)
	row := func(v0, v1 float64) []float64 {
		return []float64{slimValue(v0), slimValue((v0 + v1) / 2), slimValue(v1), slimValue(v1)}
	}
	r, b := row(0, 102), row(255, 153)
	g := func(v float64) []float64 { return []float64{slimValue(v), slimValue(v), slimValue(v), slimValue(v)} }
	checkHand(t, got, [][][]float64{{r, r, r, r}, {g(0), g(100), g(200), g(200)}, {b, b, b, b}})
}

// TestCentralCrop: tf.image.central_crop(0.875) offsets, int(n*0.0625).
func TestCentralCrop(t *testing.T) {
	for _, c := range []struct {
		n, want  int
		fraction float64
	}{
		{1, 0, 0.875}, {15, 0, 0.875}, {16, 1, 0.875}, {17, 1, 0.875}, {31, 1, 0.875}, {32, 2, 0.875},
		{299, 18, 0.875}, {300, 18, 0.875}, {451, 28, 0.875}, {640, 40, 0.875},
		{10, 1, 0.8}, {7, 1, 0.5}, {100, 0, 1},
	} {
		if got := centralCropStart(c.n, c.fraction); got != c.want {
			t.Errorf("centralCropStart(%d, %v) = %d, want %d", c.n, c.fraction, got, c.want)
		}
	}
	// End to end on 32×16: the crop is 28×14 at (2, 1), then scale 14 and 7
	// with lerp 0 reads source pixels (2, 1), (16, 1), (2, 8), (16, 8).
	src := rampImage(32, 16, func(x int) int { return 7 * x }, func(y int) int { return 15 * y })
	got := make([]float32, 3*2*2)
	slimPreset(t, 2).Into(src, got)
	checkHand(t, got, [][][]float64{
		{{slimValue(14), slimValue(112)}, {slimValue(14), slimValue(112)}},
		{{slimValue(15), slimValue(15)}, {slimValue(120), slimValue(120)}},
		{{slimValue(241), slimValue(143)}, {slimValue(241), slimValue(143)}},
	})
}

// TestTFSlimPhoto runs the default tf-slim preset (299) on the photos and
// checks what can be said without TensorFlow: the range is [-1, 1], and a
// pixel lying exactly on the sampling grid comes through unchanged: output
// (0, 0) is the crop's top-left pixel.
func TestTFSlimPhoto(t *testing.T) {
	p := slimPreset(t, 0)
	for _, file := range []string{"chelsea.png", "rocket.jpg"} {
		src := decodeFixture(t, file)
		got := make([]float32, 3*299*299)
		p.Into(src, got)
		for i, v := range got {
			if v < -1 || v > 1 {
				t.Fatalf("%s: value %d = %v outside [-1, 1]", file, i, v)
			}
		}
		top, left := src.H/16, src.W/16
		for c := range 3 {
			v := src.Pix[3*(top*src.W+left)+c]
			want := (float32(v)*float32(1.0/255) - 0.5) * 2
			if got[c*299*299] != want {
				t.Errorf("%s: channel %d (0, 0) = %v, want %v", file, c, got[c*299*299], want)
			}
		}
	}
}
