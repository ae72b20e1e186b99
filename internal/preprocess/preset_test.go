package preprocess

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
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
	b, err := os.ReadFile(filepath.Join("testdata", "caffe_golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
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
		name         string
		size         int
		wantSize     int
		wantResize   int
		wantBGR      bool
		wantDiv      float32
		wantErrorMsg bool
	}{
		{"caffe", 0, 224, 256, true, 1, false},
		{"caffe", 224, 224, 256, true, 1, false},
		{"CAFFE", 299, 299, 342, true, 1, false}, // round(299*256/224) = round(341.71)
		{"caffe", 112, 112, 128, true, 1, false},
		{"keras", 0, 299, 299, false, 127.5, false},
		{"keras", 224, 224, 224, false, 127.5, false},
		{"torch", 0, 0, 0, false, 0, true},
		{"caffe", -1, 0, 0, false, 0, true},
	}
	for _, c := range cases {
		p, err := LookupPreset(c.name, c.size)
		if (err != nil) != c.wantErrorMsg {
			t.Errorf("LookupPreset(%q, %d): err = %v", c.name, c.size, err)
			continue
		}
		if err != nil {
			continue
		}
		if p.Size != c.wantSize || p.Resize != c.wantResize || p.BGR != c.wantBGR || p.Div != c.wantDiv || p.Filter != Bilinear {
			t.Errorf("LookupPreset(%q, %d) = %+v", c.name, c.size, p)
		}
	}
	if got := PresetNames(); !reflect.DeepEqual(got, []string{"caffe", "keras"}) {
		t.Errorf("PresetNames() = %v", got)
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
		BGR: true, Div: 1, Std: [3]float32{1, 1, 1}}
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

func BenchmarkCaffePreset(b *testing.B) {
	img, err := Decode(filepath.Join("testdata", "chelsea.png"), DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	p, _ := LookupPreset("caffe", 0)
	buf := make([]float32, 3*224*224)
	for b.Loop() {
		p.Into(img, buf)
	}
}
