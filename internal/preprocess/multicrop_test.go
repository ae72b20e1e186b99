package preprocess

import (
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/inception-cli/inception/internal/npy"
)

// cropFixtures mirrors testdata/crops.json (gen_crops.py: torchvision 0.14's
// TenCrop, and GoogLeNet's 144 crops built from PIL 9.4 and torchvision
// functional calls).
type cropFixtures struct {
	Cases []struct {
		Name   string `json:"name"`
		Params struct {
			Preset     string  `json:"preset"`
			Size       int     `json:"size"`
			ResizeSize int     `json:"resize_size"`
			CropPct    float64 `json:"crop_pct"`
		} `json:"params"`
		File      string   `json:"file"`
		Crops     int      `json:"crops"`
		F32SHA256 []string `json:"f32_sha256"`
		NPY       string   `json:"npy"`
		NPYCrops  []int    `json:"npy_crops"`
	} `json:"cases"`
}

// TestMultiCropMatchesReference checks MultiCrop's 10 crops against
// torchvision's TenCrop after the preset's resize, and its 144 crops against
// the PIL-built GoogLeNet crops, on photos and synthetic images (landscape,
// portrait, a 1×41 strip; odd margins so that the centre rounds half to even
// and the flipped centre is not the centre's mirror), with the torchvision,
// timm and caffe presets. Every crop must be bit-identical and in the
// reference's order: each crop's SHA-256 is compared, and where the fixture
// stores full tensors the largest difference is reported.
func TestMultiCropMatchesReference(t *testing.T) {
	var fx cropFixtures
	readJSONFixture(t, "crops.json", &fx)
	if len(fx.Cases) < 9 {
		t.Fatalf("only %d crop fixtures", len(fx.Cases))
	}
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Crops == 144 && c.Params.Size > 64 && testing.Short() {
				t.Skip("144 crops at full size under -short")
			}
			p, err := NewPreset(Params{Preset: c.Params.Preset, Size: c.Params.Size, ResizeSize: c.Params.ResizeSize, CropPct: c.Params.CropPct})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.F32SHA256) != c.Crops {
				t.Fatalf("fixture has %d hashes for %d crops", len(c.F32SHA256), c.Crops)
			}
			plane := 3 * p.Size * p.Size
			got := make([]float32, c.Crops*plane)
			if err := p.MultiCrop(decodeFixture(t, c.File), c.Crops, got); err != nil {
				t.Fatal(err)
			}
			var bad []int
			for i, want := range c.F32SHA256 {
				if sha256Hex(f32Bytes(got[i*plane:(i+1)*plane])) != want {
					bad = append(bad, i)
				}
			}
			if len(bad) > 0 {
				t.Errorf("crops %v differ from the reference", bad)
			}
			if c.NPY == "" {
				return
			}
			f, err := os.Open(filepath.Join("testdata", c.NPY))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			shape, want, err := npy.Read(f)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(shape) != fmt.Sprint([]int{len(c.NPYCrops), 3, p.Size, p.Size}) {
				t.Fatalf("%s has shape %v", c.NPY, shape)
			}
			for j, i := range c.NPYCrops {
				d := 0.0
				for k, v := range got[i*plane : (i+1)*plane] {
					d = max(d, math.Abs(float64(v)-float64(want[j*plane+k])))
				}
				if d != 0 {
					t.Errorf("crop %d: max |diff| %g from %s", i, d, c.NPY)
				}
			}
		})
	}
}

// TestMultiCropOne checks that one crop is Into, for every preset
// (tf-slim's central crop included) and an image whose margins are odd.
func TestMultiCropOne(t *testing.T) {
	img := decodeFixture(t, "synth/noise_37x23.png")
	for _, name := range PresetNames() {
		t.Run(name, func(t *testing.T) {
			p, err := LookupPreset(name, 16)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float32, 3*16*16)
			p.Into(img, want)
			got := make([]float32, len(want))
			if err := p.MultiCrop(img, 1, got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f32Bytes(got), f32Bytes(want)) {
				t.Error("MultiCrop(1) differs from Into")
			}
		})
	}
}

// TestMultiCropStructure checks what holds without a reference: the ten
// crops' centre is Into's crop and, with even margins, crop 5+i is the
// mirror of crop i's opposite (tl↔tr, bl↔br, centre↔centre); of the 144,
// the corner crops of the flipped left and right squares are mirrors of
// the opposite corners of the unflipped right and left squares.
func TestMultiCropStructure(t *testing.T) {
	p, err := NewPreset(Params{Preset: "torchvision", Size: 8, ResizeSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	img := decodeFixture(t, "synth/noise_37x23.png") // resizes to 16×10: even margins
	plane := 3 * 8 * 8
	crop := func(all []float32, i int) []float32 { return all[i*plane : (i+1)*plane] }
	ten := make([]float32, 10*plane)
	if err := p.MultiCrop(img, 10, ten); err != nil {
		t.Fatal(err)
	}
	one := make([]float32, plane)
	p.Into(img, one)
	if !slices.Equal(crop(ten, 4), one) {
		t.Error("ten-crop centre differs from Into")
	}
	kindMirror := [6]int{1, 0, 3, 2, 4, 5} // tl, tr, bl, br, centre, whole
	for i := range 5 {
		if j := kindMirror[i]; !slices.Equal(crop(ten, 5+i), mirrorCHW(crop(ten, j), 8)) {
			t.Errorf("flipped crop %d is not the mirror of crop %d", i, j)
		}
	}

	all := make([]float32, 144*plane)
	if err := p.MultiCrop(img, 144, all); err != nil {
		t.Fatal(err)
	}
	for scale := range 4 {
		for _, sq := range []int{0, 2} { // left, right
			for kind := range 4 {
				i := 72 + 18*scale + 6*sq + kind
				j := 18*scale + 6*(2-sq) + kindMirror[kind]
				if !slices.Equal(crop(all, i), mirrorCHW(crop(all, j), 8)) {
					t.Errorf("crop %d is not the mirror of crop %d", i, j)
				}
			}
		}
	}
}

// mirrorCHW returns a CHW tensor of side s flipped left to right.
func mirrorCHW(x []float32, s int) []float32 {
	out := make([]float32, len(x))
	for r := range len(x) / s {
		for c := range s {
			out[r*s+c] = x[r*s+s-1-c]
		}
	}
	return out
}

// TestCheckCrops checks which crop counts each kind of preset accepts.
func TestCheckCrops(t *testing.T) {
	tv, _ := LookupPreset("torchvision", 0)
	slim, _ := LookupPreset("tf-slim", 0)
	cases := []struct {
		p      Preset
		n      int
		wantOK bool
	}{
		{tv, 1, true}, {tv, 10, true}, {tv, 144, true},
		{tv, 0, false}, {tv, 5, false}, {tv, -10, false}, {tv, 12, false},
		{slim, 1, true}, {slim, 10, false}, {slim, 144, false},
	}
	for _, c := range cases {
		err := c.p.CheckCrops(c.n)
		if (err == nil) != c.wantOK {
			t.Errorf("%s.CheckCrops(%d) = %v, want ok %v", c.p.Name, c.n, err, c.wantOK)
		}
		if !c.wantOK { // an error before dst is looked at
			if err := c.p.MultiCrop(NewRGB8(400, 300), c.n, nil); err == nil {
				t.Errorf("%s.MultiCrop(%d) succeeded", c.p.Name, c.n)
			}
		}
	}
}

// TestMultiCropStrip runs the multi-crops on extreme aspect ratios: a
// 1×5000 strip resizes, on the shorter side, to 18×90000 (and for 144 up
// to 25×125000), which only the windowed resize makes affordable.
func TestMultiCropStrip(t *testing.T) {
	p, _ := LookupPreset("torchvision", 16)
	plane := 3 * p.Size * p.Size
	for _, img := range []*RGB8{NewRGB8(1, 5000), NewRGB8(5000, 1)} {
		for _, n := range []int{10, 144} {
			dst := make([]float32, n*plane)
			if err := p.MultiCrop(img, n, dst); err != nil {
				t.Fatal(err)
			}
			want := p.normalize(0, 0)
			if dst[0] != want || dst[len(dst)-1] != p.normalize(2, 0) {
				t.Errorf("%dx%d, %d crops: black image gives %v, want %v", img.W, img.H, n, dst[0], want)
			}
		}
	}
}

// TestSourceRect checks the rectangle each kind of preset's crop covers.
func TestSourceRect(t *testing.T) {
	mk := func(p Params) Preset {
		t.Helper()
		q, err := NewPreset(p)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	tv := mk(Params{Preset: "torchvision"})                            // 256 shorter, 224 crop
	caffe := mk(Params{Preset: "caffe"})                               // 256×256, 224 crop
	keras := mk(Params{Preset: "keras"})                               // whole image
	slim := mk(Params{Preset: "tf-slim"})                              // central 0.875
	odd := mk(Params{Preset: "torchvision", Size: 16, ResizeSize: 17}) // odd margins
	cases := []struct {
		p    Preset
		w, h int
		want image.Rectangle
	}{
		// 512×512 → 256×256, crop [16, 240) → ×2.
		{tv, 512, 512, image.Rect(32, 32, 480, 480)},
		// 451×300 → 384×256 (int(256*451/300) = 384), crop x [80, 304),
		// y [16, 240): x 80*451/384 = 93.96 → 94, 304*451/384 = 357.04 → 357;
		// y 16*300/256 = 18.75 → 19, 240*300/256 = 281.25 → 281.
		{tv, 451, 300, image.Rect(94, 19, 357, 281)},
		// Portrait 300×451: the same, transposed.
		{tv, 300, 451, image.Rect(19, 94, 281, 357)},
		// Caffe warps: 16/256 and 240/256 of each side.
		{caffe, 600, 400, image.Rect(38, 25, 563, 375)},
		{keras, 600, 400, image.Rect(0, 0, 600, 400)},
		// central_crop: int((n - 0.875n)/2) = 37 and 25.
		{slim, 600, 400, image.Rect(37, 25, 563, 375)},
		// 37×23 → 27×17, crop x [6, 22) (5.5 rounds to 6), y [0, 16) (0.5 to
		// 0): x 6*37/27 = 8.22 → 8, 22*37/27 = 30.15 → 30; y 0, 16*23/17 =
		// 21.65 → 22.
		{odd, 37, 23, image.Rect(8, 0, 30, 22)},
		// A 1×1 image still covers its pixel.
		{tv, 1, 1, image.Rect(0, 0, 1, 1)},
		{slim, 1, 1, image.Rect(0, 0, 1, 1)},
		// A strip: the crop covers 224/256 of the width, a sliver of the
		// length: 1×5000 → 256×1280000, y [639888, 640112) → [2499.56, 2500.44).
		{tv, 1, 5000, image.Rect(0, 2500, 1, 2501)},
	}
	for _, c := range cases {
		if got := c.p.SourceRect(c.w, c.h); got != c.want {
			t.Errorf("%s %d/%d SourceRect(%d, %d) = %v, want %v", c.p.Name, c.p.Size, c.p.Resize, c.w, c.h, got, c.want)
		}
	}
}
