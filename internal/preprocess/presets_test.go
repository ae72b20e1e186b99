package preprocess

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/inception-cli/inception/internal/npy"
)

// presetFixtures mirrors testdata/presets.json (gen_presets.py: torchvision
// 0.14 transforms on Pillow 9.4 and torch 1.13).
type presetFixtures struct {
	Pillow      string `json:"pillow"`
	Torch       string `json:"torch"`
	Torchvision string `json:"torchvision"`
	Cases       []struct {
		Config string `json:"config"`
		Params struct {
			Preset         string    `json:"preset"`
			Size           int       `json:"size"`
			CropPct        float64   `json:"crop_pct"`
			Interpolation  string    `json:"interpolation"`
			Mean           []float64 `json:"mean"`
			Std            []float64 `json:"std"`
			TransformInput bool      `json:"transform_input"`
		} `json:"params"`
		File      string    `json:"file"`
		Shape     []int     `json:"shape"`
		F32SHA256 string    `json:"f32_sha256"`
		Sum       float64   `json:"sum"`
		SumSq     float64   `json:"sumsq"`
		Stride    int       `json:"stride"`
		Sample    []float64 `json:"sample"`
		Files     []string  `json:"files"` // with NPY: the images stacked in it
		NPY       string    `json:"npy"`
	} `json:"cases"`
}

// TestPresetsMatchTorchvision runs the torchvision (v1 224 / v3 299, with
// and without transform_input), timm (tf_in1k, gluon_in1k, IRv2 crop_pct,
// nearest and lanczos overrides) and cadene (BN-Inception) presets on the four
// photos and eight synthetic images (odd sizes, 1×41 and 41×1 strips, 8×8,
// 1000×10, gray, RGBA, a 4:2:0 JPEG) and compares them with the reference
// pipelines' tensors: at the reference sizes by SHA-256 of the float32 bytes
// (plus a strided sample to measure a difference), at small sizes (16 and
// 8) value by value.
//
// The agreement is exact: every tensor is bit-identical to the reference.
// The test demands that, and would report the largest difference against
// the tolerance of the issue (1/255 of the pixel range, scaled by 1/std and
// by transform_input's std/0.5) before failing.
func TestPresetsMatchTorchvision(t *testing.T) {
	fx := loadPresetFixtures(t)
	type stat struct {
		cases, exact int
		maxDiff      float64
	}
	stats := map[string]*stat{}
	for _, c := range fx.Cases {
		name := c.Config + "/" + c.File
		if c.NPY != "" {
			name = c.Config + "/small"
		}
		st := stats[c.Config]
		if st == nil {
			st = &stat{}
			stats[c.Config] = st
		}
		t.Run(name, func(t *testing.T) {
			p, err := NewPreset(Params{
				Preset: c.Params.Preset, Size: c.Params.Size, CropPct: c.Params.CropPct,
				Interpolation: c.Params.Interpolation, Mean: c.Params.Mean, Std: c.Params.Std,
				TransformInput: c.Params.TransformInput,
			})
			if err != nil {
				t.Fatal(err)
			}
			tol := presetTolerance(p)
			s := p.Size
			if c.NPY == "" {
				if want := []int{3, s, s}; fmt.Sprint(c.Shape) != fmt.Sprint(want) {
					t.Fatalf("fixture shape %v, preset makes %v", c.Shape, want)
				}
				got := make([]float32, 3*s*s)
				p.Into(decodeFixture(t, c.File), got)
				st.cases++
				if h := sha256Hex(f32Bytes(got)); h == c.F32SHA256 {
					st.exact++
					return
				}
				d := 0.0
				for i, w := range c.Sample {
					d = max(d, math.Abs(float64(got[i*c.Stride])-w))
				}
				var sum float64
				for _, v := range got {
					sum += float64(v)
				}
				st.maxDiff = max(st.maxDiff, d)
				t.Errorf("not bit-identical: sampled max |diff| %.3g (tolerance %.3g), sum %.9g want %.9g", d, tol, sum, c.Sum)
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
			if fmt.Sprint(shape) != fmt.Sprint([]int{len(c.Files), 3, s, s}) {
				t.Fatalf("%s has shape %v", c.NPY, shape)
			}
			n := 3 * s * s
			got := make([]float32, n)
			for i, file := range c.Files {
				p.Into(decodeFixture(t, file), got)
				st.cases++
				d, exact := 0.0, true
				for j, v := range got {
					w := want[i*n+j]
					exact = exact && math.Float32bits(v) == math.Float32bits(w)
					d = max(d, math.Abs(float64(v)-float64(w)))
				}
				if exact {
					st.exact++
					continue
				}
				st.maxDiff = max(st.maxDiff, d)
				t.Errorf("%s: not bit-identical, max |diff| %.3g (tolerance %.3g)", file, d, tol)
			}
		})
	}
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		st := stats[n]
		t.Logf("%-20s %2d/%2d tensors bit-identical, max |diff| %g", n, st.exact, st.cases, st.maxDiff)
	}
}

// presetTolerance is the bound for p: one pixel level, 1/255 of the
// Range, through Normalize (÷std) and transform_input (×std/0.5).
func presetTolerance(p Preset) float64 {
	tol := 1.0 / 255
	switch p.Range {
	case Range255:
		tol = 1
	case RangePM1:
		tol = 2.0 / 255
	}
	tol /= min(p.Std[0], p.Std[1], p.Std[2])
	if p.TransformInput {
		tol *= max(tiStd[0], tiStd[1], tiStd[2]) / 0.5
	}
	return tol
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func loadPresetFixtures(t *testing.T) *presetFixtures {
	t.Helper()
	var fx presetFixtures
	readJSONFixture(t, "presets.json", &fx)
	if len(fx.Cases) < 100 {
		t.Fatalf("only %d preset fixtures", len(fx.Cases))
	}
	return &fx
}

// TestManifestParams builds presets from fully spelled-out Params, as the
// model registry's manifests state them (models/manifests/*.json: preset,
// size, resize_size or crop_pct, resize_mode, interpolation, mean, std,
// channel_order, range, transform_input), and checks each against the
// reference tensors of the matching fixture config (or, for BVLC GoogLeNet,
// against the caffe preset that reproduces the Caffe golden sums).
func TestManifestParams(t *testing.T) {
	imagenet := []float64{0.485, 0.456, 0.406}
	imagenetStd := []float64{0.229, 0.224, 0.225}
	half := []float64{0.5, 0.5, 0.5}
	cases := []struct {
		manifest, config string
		p                Params
	}{
		{"bninception", "cadene_bninception", Params{Preset: "cadene", Size: 224, ResizeSize: 256, ResizeMode: "shorter", Interpolation: "bilinear",
			Mean: []float64{104, 117, 128}, Std: []float64{1, 1, 1}, ChannelOrder: "BGR", Range: "0-255"}},
		{"googlenet.bvlc", "", Params{Preset: "caffe", Size: 224, ResizeSize: 256, ResizeMode: "both", Interpolation: "bilinear",
			Mean: []float64{104, 117, 123}, Std: []float64{1, 1, 1}, ChannelOrder: "BGR", Range: "0-255"}},
		{"googlenet.tv", "torchvision_v1_ti", Params{Preset: "torchvision", Size: 224, ResizeSize: 256, ResizeMode: "shorter", Interpolation: "bilinear",
			Mean: imagenet, Std: imagenetStd, ChannelOrder: "RGB", Range: "0-1", TransformInput: true}},
		{"inception_v3.tv", "torchvision_v3_ti", Params{Preset: "torchvision", Size: 299, ResizeSize: 342, ResizeMode: "shorter", Interpolation: "bilinear",
			Mean: imagenet, Std: imagenetStd, ChannelOrder: "RGB", Range: "0-1", TransformInput: true}},
		{"inception_resnet_v2.tf_in1k", "timm_irv2", Params{Preset: "timm", Size: 299, CropPct: 0.8975, ResizeMode: "shorter", Interpolation: "bicubic",
			Mean: half, Std: half, ChannelOrder: "RGB", Range: "0-1"}},
		{"inception_v3.gluon_in1k", "timm_gluon_in1k", Params{Preset: "timm", Size: 299, CropPct: 0.875, ResizeMode: "shorter", Interpolation: "bicubic",
			Mean: imagenet, Std: imagenetStd, ChannelOrder: "RGB", Range: "0-1"}},
		{"inception_v3.tf_in1k", "timm_tf_in1k", Params{Preset: "timm", Size: 299, CropPct: 0.875, ResizeMode: "shorter", Interpolation: "bicubic",
			Mean: half, Std: half, ChannelOrder: "RGB", Range: "0-1"}},
	}
	fx := loadPresetFixtures(t)
	for _, c := range cases {
		t.Run(c.manifest, func(t *testing.T) {
			p, err := NewPreset(c.p)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, 3*p.Size*p.Size)
			for _, file := range []string{"chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg"} {
				want := ""
				if c.config == "" {
					ref, _ := LookupPreset("caffe", 0)
					ref.Into(decodeFixture(t, file), got)
					want = sha256Hex(f32Bytes(got))
				}
				for _, fc := range fx.Cases {
					if c.config != "" && fc.Config == c.config && fc.File == file {
						want = fc.F32SHA256
					}
				}
				if want == "" {
					t.Fatalf("no fixture %s/%s", c.config, file)
				}
				p.Into(decodeFixture(t, file), got)
				if sha256Hex(f32Bytes(got)) != want {
					t.Errorf("%s: tensor differs from the %s reference", file, c.config)
				}
			}
		})
	}
}
