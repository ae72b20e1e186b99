package preprocess

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// TestCaffeGolden reproduces pipeline.images[*].input_sum and input_sumsq of
// shared/golden/bvlc_googlenet.json (copied, and re-derived with PIL by
// gen_fixtures.py, in testdata/caffe_golden.json) exactly, from the files.
func TestCaffeGolden(t *testing.T) {
	var golden struct {
		Images map[string]struct {
			Sum   float64 `json:"input_sum"`
			SumSq float64 `json:"input_sumsq"`
		} `json:"images"`
	}
	readJSONFixture(t, "caffe_golden.json", &golden)
	if len(golden.Images) != 4 {
		t.Fatalf("%d golden images, want 4", len(golden.Images))
	}
	p, err := LookupPreset("caffe", 0)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range golden.Images {
		t.Run(file, func(t *testing.T) {
			img, err := Decode(filepath.Join("testdata", file), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			x := p.Tensor(img)
			if got := x.Shape(); !reflect.DeepEqual([]int(got), []int{1, 3, 224, 224}) {
				t.Fatalf("shape %v", got)
			}
			var sum, sumsq float64
			for _, v := range x.Data().([]float32) {
				sum += float64(v)
				sumsq += float64(v) * float64(v)
			}
			if sum != want.Sum || sumsq != want.SumSq {
				t.Errorf("sum %v sumsq %v, want %v %v", sum, sumsq, want.Sum, want.SumSq)
			}
		})
	}
}

// TestKerasMatchesNumpy compares the keras preset bit for bit with PIL
// resize + numpy float32 `x /= 127.5; x -= 1` (gen_fixtures.py).
func TestKerasMatchesNumpy(t *testing.T) {
	fx := loadFixtures(t)
	for _, c := range fx.Keras {
		p, err := LookupPreset("keras", c.Size)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]float32, 3*p.Size*p.Size)
		p.Into(decodeFixture(t, c.File), buf)
		raw := make([]byte, 4*len(buf))
		for i, v := range buf {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		if h := sha256Hex(raw); h != c.F32SHA256 {
			t.Errorf("%s: keras tensor differs from numpy (sha256 %s, want %s)", c.File, h[:12], c.F32SHA256[:12])
		}
	}
}

func TestLookupPreset(t *testing.T) {
	cases := []struct {
		name       string
		size       int
		wantSize   int
		wantResize int // or the central fraction's n//16 for tf-slim: 0
		wantMode   ResizeMode
		wantFilter Filter
		wantBGR    bool
		wantRange  string
		wantErr    bool
	}{
		{"caffe", 0, 224, 256, ResizeBoth, Bilinear, true, Range255, false},
		{"caffe", 224, 224, 256, ResizeBoth, Bilinear, true, Range255, false},
		{"CAFFE", 299, 299, 342, ResizeBoth, Bilinear, true, Range255, false}, // round(299*256/224) = round(341.71)
		{"caffe", 112, 112, 128, ResizeBoth, Bilinear, true, Range255, false},
		{"cadene", 0, 224, 256, ResizeShorter, Bilinear, true, Range255, false}, // floor(224/0.875)
		{"keras", 0, 299, 299, ResizeBoth, Bilinear, false, RangePM1, false},
		{"keras", 224, 224, 224, ResizeBoth, Bilinear, false, RangePM1, false},
		{"torchvision", 0, 224, 256, ResizeShorter, Bilinear, false, Range1, false},
		{"torchvision", 299, 299, 342, ResizeShorter, Bilinear, false, Range1, false},
		{"timm", 0, 299, 341, ResizeShorter, Bicubic, false, Range1, false}, // floor(299/0.875) = floor(341.71)
		{"timm", 224, 224, 256, ResizeShorter, Bicubic, false, Range1, false},
		{"tf-slim", 0, 299, 0, ResizeCentralCrop, Bilinear, false, Range1, false},
		{"torch", 0, 0, 0, 0, 0, false, "", true},
		{"caffe", -1, 0, 0, 0, 0, false, "", true},
		{"timm", 5000, 0, 0, 0, 0, false, "", true},
	}
	for _, c := range cases {
		p, err := LookupPreset(c.name, c.size)
		if (err != nil) != c.wantErr {
			t.Errorf("LookupPreset(%q, %d): err = %v", c.name, c.size, err)
			continue
		}
		if err != nil {
			continue
		}
		if p.Size != c.wantSize || p.Resize != c.wantResize || p.ResizeMode != c.wantMode || p.Filter != c.wantFilter ||
			p.BGR != c.wantBGR || p.Range != c.wantRange || p.TransformInput {
			t.Errorf("LookupPreset(%q, %d) = %+v", c.name, c.size, p)
		}
	}
	want := []string{"cadene", "caffe", "keras", "tf-slim", "timm", "torchvision"}
	if got := PresetNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("PresetNames() = %v, want %v", got, want)
	}
}

// TestNewPreset checks how Params fields replace a recipe's defaults, and
// the errors for inconsistent ones.
func TestNewPreset(t *testing.T) {
	cases := []struct {
		name    string
		params  Params
		check   func(p Preset) bool
		wantErr string
	}{
		{"irv2 crop_pct", Params{Preset: "timm", CropPct: 0.8975},
			func(p Preset) bool { return p.Resize == 333 && p.CropPct == 0.8975 }, ""}, // floor(333.15)
		{"gluon mean", Params{Preset: "timm", Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}},
			func(p Preset) bool { return p.Mean == imagenetMean && p.Std == imagenetStd }, ""},
		{"resize size", Params{Preset: "torchvision", Size: 299, ResizeSize: 320},
			func(p Preset) bool { return p.Resize == 320 && p.CropPct == 0 }, ""},
		{"bninception warped", Params{Preset: "cadene", ResizeMode: "both", ResizeSize: 256},
			func(p Preset) bool { return p.ResizeMode == ResizeBoth && p.Resize == 256 }, ""},
		{"bgr flips default mean", Params{Preset: "torchvision", ChannelOrder: "bgr"},
			func(p Preset) bool { return p.BGR && p.Mean[0] == 0.406 && p.Std[2] == 0.229 }, ""},
		{"bgr keeps given mean", Params{Preset: "torchvision", ChannelOrder: "BGR", Mean: []float64{1, 2, 3}},
			func(p Preset) bool { return p.BGR && p.Mean == [3]float64{1, 2, 3} && p.Std[0] == 0.225 }, ""},
		{"range", Params{Preset: "caffe", Range: "0-1", ChannelOrder: "RGB", Mean: []float64{0, 0, 0}},
			func(p Preset) bool { return p.Range == Range1 && !p.BGR }, ""},
		{"transform input", Params{Preset: "torchvision", Size: 299, TransformInput: true},
			func(p Preset) bool { return p.TransformInput && p.Resize == 342 }, ""},
		{"tf-slim fraction", Params{Preset: "tf-slim", CropPct: 0.8},
			func(p Preset) bool { return p.CropPct == 0.8 && p.Resize == 0 }, ""},
		{"unknown", Params{Preset: "pytorch"}, nil, "unknown preprocessing preset"},
		{"both geometry", Params{Preset: "timm", ResizeSize: 320, CropPct: 0.9}, nil, "not both"},
		{"crop_pct > 1", Params{Preset: "timm", CropPct: 1.2}, nil, "not in (0, 1]"},
		{"resize < crop", Params{Preset: "torchvision", ResizeSize: 200}, nil, "at least the 224 crop"},
		{"filter", Params{Preset: "timm", Interpolation: "cubic"}, nil, "unknown resampling filter"},
		{"tf-slim filter", Params{Preset: "tf-slim", Interpolation: "bicubic"}, nil, "TensorFlow's bilinear"},
		{"tf-slim resize", Params{Preset: "tf-slim", ResizeSize: 320}, nil, "give crop_pct"},
		{"central-crop elsewhere", Params{Preset: "timm", ResizeMode: "central-crop"}, nil, "tf-slim only"},
		{"mode", Params{Preset: "timm", ResizeMode: "fit"}, nil, "unknown resize mode"},
		{"order", Params{Preset: "timm", ChannelOrder: "RGBA"}, nil, "not RGB or BGR"},
		{"mean len", Params{Preset: "timm", Mean: []float64{0.5}}, nil, "has 1 values"},
		{"std zero", Params{Preset: "timm", Std: []float64{0.5, 0, 0.5}}, nil, "not usable"},
		{"range", Params{Preset: "timm", Range: "0-2"}, nil, "is not 0-255, 0-1 or -1-1"},
	}
	for _, c := range cases {
		p, err := NewPreset(c.params)
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.check(p):
			t.Errorf("%s: got %+v", c.name, p)
		}
	}
}

// TestPresetWith checks single-parameter overrides (--size, --crop-pct,
// --interpolation).
func TestPresetWith(t *testing.T) {
	base := func(p Params) Preset {
		t.Helper()
		q, err := NewPreset(p)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	cases := []struct {
		name               string
		from               Preset
		o                  Overrides
		size, resize       int
		cropPct            float64
		filter             Filter
		keepsMean, keepsTI bool
		wantErr            bool
	}{
		{"timm size", base(Params{Preset: "timm"}), Overrides{Size: 224}, 224, 256, 0.875, Bicubic, true, false, false},
		{"irv2 size keeps crop_pct", base(Params{Preset: "timm", CropPct: 0.8975}), Overrides{Size: 320}, 320, 356, 0.8975, Bicubic, true, false, false},
		{"torchvision 256/224 rule", base(Params{Preset: "torchvision", TransformInput: true}), Overrides{Size: 299}, 299, 342, 0, Bilinear, true, true, false},
		{"resize size scales", base(Params{Preset: "torchvision", ResizeSize: 288}), Overrides{Size: 112}, 112, 144, 0, Bilinear, true, false, false},
		{"crop_pct replaces resize", base(Params{Preset: "torchvision", ResizeSize: 288}), Overrides{CropPct: 0.95}, 224, 235, 0.95, Bilinear, true, false, false},
		{"interpolation", base(Params{Preset: "caffe"}), Overrides{Interpolation: "lanczos"}, 224, 256, 0, Lanczos, true, false, false},
		{"gluon mean kept", base(Params{Preset: "timm", Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}), Overrides{CropPct: 1}, 299, 299, 1, Bicubic, true, false, false},
		{"nothing", base(Params{Preset: "keras"}), Overrides{}, 299, 299, 1, Bilinear, true, false, false},
		{"bad crop_pct", base(Params{Preset: "timm"}), Overrides{CropPct: 2}, 0, 0, 0, 0, false, false, true},
		{"bad size", base(Params{Preset: "timm"}), Overrides{Size: -3}, 0, 0, 0, 0, false, false, true},
		{"literal preset", Preset{Name: "x", Size: 4}, Overrides{Size: 8}, 0, 0, 0, 0, false, false, true},
	}
	for _, c := range cases {
		p, err := c.from.With(c.o)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v", c.name, err)
			continue
		}
		if err != nil {
			continue
		}
		if p.Size != c.size || p.Resize != c.resize || p.CropPct != c.cropPct || p.Filter != c.filter ||
			(c.keepsMean && p.Mean != c.from.Mean) || p.TransformInput != c.keepsTI {
			t.Errorf("%s: %+v.With(%+v) = %+v", c.name, c.from, c.o, p)
		}
	}
}

// TestRange255RoundTrip pins the fact the cadene preset relies on: Cadene's
// ToTensor then ToRange255, float32((v/255)*255), gives back every byte v
// exactly, so the preset can subtract the mean from v directly.
func TestRange255RoundTrip(t *testing.T) {
	for v := range 256 {
		x := float32(v) / 255
		if got := float32(x * 255); got != float32(v) {
			t.Errorf("float32(%d/255)*255 = %v", v, got)
		}
	}
}

// TestTransformInputConstants checks that transform_input's constants are
// computed as Python does (float64, then rounded to float32 by torch) and
// writes down their values: torchvision's (0.485 - 0.5) / 0.5 is
// -0.030000000000000027 in float64.
func TestTransformInputConstants(t *testing.T) {
	p := Preset{Range: Range1, Std: [3]float64{1, 1, 1}, TransformInput: true}
	want := [3][2]float32{{0.458, -0.030000000000000027}, {0.448, -0.08799999999999997}, {0.45, -0.18799999999999994}}
	for c, w := range want {
		// x = 0 gives the shift, x = 1 the scale plus the shift.
		if got := p.normalize(c, 0); got != w[1] {
			t.Errorf("channel %d: shift %v, want %v", c, got, w[1])
		}
		if got := p.normalize(c, 1); got != w[0]+w[1] {
			t.Errorf("channel %d: 1*scale+shift = %v, want %v", c, got, w[0]+w[1])
		}
	}
}

// TestPresetCrop checks the crop offsets and channel order on a synthetic
// image whose pixel values encode their coordinates.
func TestPresetCrop(t *testing.T) {
	src := NewRGB8(10, 7)
	for y := range 7 {
		for x := range 10 {
			copy(src.Pix[3*(y*10+x):], []uint8{uint8(x), uint8(y), 200})
		}
	}
	p := Preset{Name: "t", Size: 4, ResizeMode: ResizeShorter, Resize: 7, Filter: Nearest,
		BGR: true, Range: Range255, Std: [3]float64{1, 1, 1}}
	buf := make([]float32, 3*4*4)
	p.Into(src, buf) // no resize (7 is the short side), crop 4x4 at left 3, top 2 (round(1.5) = 2)
	if buf[0] != 200 || buf[16] != 2 || buf[32] != 3 {
		t.Errorf("first pixel B,G,R = %v,%v,%v, want 200,2,3", buf[0], buf[16], buf[32])
	}
	if got := p.Tensor(src).Shape(); !reflect.DeepEqual([]int(got), []int{1, 3, 4, 4}) {
		t.Errorf("Tensor shape %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("Into with a short dst did not panic")
		}
	}()
	p.Into(src, buf[:5])
}

// TestPresetIntoNoAlloc checks that Into allocates only intermediate images,
// never per pixel.
func TestPresetIntoNoAlloc(t *testing.T) {
	p, _ := LookupPreset("caffe", 0)
	img := decodeFixture(t, "chelsea.png")
	buf := make([]float32, 3*224*224)
	if n := testing.AllocsPerRun(3, func() { p.Into(img, buf) }); n > 16 {
		t.Errorf("Into made %v allocations", n)
	}
}

// BenchmarkPreset times each preset at its default size on chelsea.png
// (451×300), decoding excluded.
func BenchmarkPreset(b *testing.B) {
	img := decodeFixture(b, "chelsea.png")
	for _, name := range PresetNames() {
		p, err := LookupPreset(name, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			buf := make([]float32, 3*p.Size*p.Size)
			for b.Loop() {
				p.Into(img, buf)
			}
		})
	}
}

// TestPresetExtremeAspect runs presets on a 1×100000 strip. torchvision
// would resize it to 256×25600000 before cropping, and Caffe's 256×256 warp
// reads all its rows through a 256-wide horizontal pass: the window resize
// and the streamed vertical pass must compute only the crop, in little
// memory.
func TestPresetExtremeAspect(t *testing.T) {
	src := NewRGB8(1, 100000)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	for _, name := range []string{"torchvision", "timm", "cadene", "caffe", "tf-slim"} {
		for _, interp := range []string{"", "nearest"} {
			if name == "tf-slim" && interp != "" {
				continue
			}
			p, err := NewPreset(Params{Preset: name, Interpolation: interp})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]float32, 3*p.Size*p.Size)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			p.Into(src, buf)
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
				t.Errorf("%s %s: Into allocated %d MiB", name, interp, n>>20)
			}
		}
	}
}
