package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/inception-cli/inception/internal/head"
)

// writePatterns writes n images per class of a three-way synthetic task under dir/<class>/: horizontal
// stripes, vertical stripes and a checkerboard, each with random colours, period and phase. Nothing in
// ImageNet's labels names these, so only a trained head can sort them.
func writePatterns(t *testing.T, dir string, n int, seed int64) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	for _, class := range []string{"horizontal", "vertical", "checker"} {
		if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			const size = 96
			period := 8 + rng.Float64()*16
			px, py := rng.Float64()*period, rng.Float64()*period
			var c [2]color.RGBA
			for j := range c {
				c[j] = color.RGBA{uint8(rng.Intn(256)), uint8(rng.Intn(256)), uint8(rng.Intn(256)), 255}
			}
			img := image.NewRGBA(image.Rect(0, 0, size, size))
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					sx := math.Sin(2 * math.Pi * (float64(x) + px) / period)
					sy := math.Sin(2 * math.Pi * (float64(y) + py) / period)
					v := map[string]float64{"horizontal": sy, "vertical": sx, "checker": sx * sy}[class]
					if v >= 0 {
						img.SetRGBA(x, y, c[0])
					} else {
						img.SetRGBA(x, y, c[1])
					}
				}
			}
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, class, fmt.Sprintf("%02d.png", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestTrainHeadLearnsNewLabels trains a head on the real GoogLeNet's features for a task the ImageNet
// classifier has no labels for, and checks that it learns it: high validation accuracy, and on freshly
// drawn images through classify --head and eval --head; the same images with their labels shuffled give
// a head no better than chance, so the learning comes from the labels. A second run reads every feature
// from the cache and writes the same head.
func TestTrainHeadLearnsNewLabels(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network; skipped under -short")
	}
	needShared(t)
	t.Setenv("INCEPTION_CACHE", t.TempDir())
	train, test := t.TempDir(), t.TempDir()
	writePatterns(t, train, 15, 1)
	writePatterns(t, test, 6, 2)
	out := filepath.Join(t.TempDir(), "patterns.safetensors")
	trainHead := func(dir, out string) TrainHeadResult {
		t.Helper()
		ios, stdout, errOut := testIO()
		code := run(context.Background(), []string{"train-head", dir, "--weights", bvlcWeights, "--out", out, "--format", "json", "--quiet"}, ios)
		if code != exitOK {
			t.Fatalf("train-head: exit %d: %s", code, errOut)
		}
		var r TrainHeadResult
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := trainHead(train, out)
	t.Logf("validation accuracy %.3f (%d of %d), epoch %d", r.ValAccuracy, r.ValCorrect, r.ValN, r.BestEpoch)
	if r.ValN != 9 || r.TrainN != 36 || r.ValAccuracy < 0.88 || r.Cached != 0 || len(r.Labels) != 3 {
		t.Fatalf("report %+v", r)
	}

	// New images: classify --head takes the network and weights from the head and names its labels.
	rs := classifyJSON(t, "--head", out, "--top-k", "3", test)
	right := 0
	for _, rec := range rs {
		if rec.Top[0].Label == filepath.Base(filepath.Dir(rec.File)) {
			right++
		}
		if rec.Arch != "v1" || len(rec.Top) != 3 || rec.Top[0].WNID != "" {
			t.Fatalf("record %+v", rec)
		}
	}
	if len(rs) != 18 || right < 16 {
		t.Errorf("classify --head: %d of %d fresh images right", right, len(rs))
	}
	ios, stdout, errOut := testIO()
	if code := run(context.Background(), []string{"eval", "--head", out, "--format", "json", test}, ios); code != exitOK {
		t.Fatalf("eval --head: exit %d: %s", code, errOut)
	}
	var ev EvalResult
	if err := json.Unmarshal(stdout.Bytes(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.N != 18 || ev.Top1Correct != right {
		t.Errorf("eval --head: %d of %d, classify --head said %d", ev.Top1Correct, ev.N, right)
	}

	// Again: every feature from the cache, the same head to the byte.
	again := filepath.Join(t.TempDir(), "again.safetensors")
	if r2 := trainHead(train, again); r2.Cached != 45 || r2.ValCorrect != r.ValCorrect {
		t.Errorf("second run: %d cached, %d right (first %d)", r2.Cached, r2.ValCorrect, r.ValCorrect)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("the second run wrote a different head")
	}

	// Control: the same images with shuffled labels (same class sizes) teach nothing.
	shuffled := t.TempDir()
	var files []string
	for _, c := range []string{"horizontal", "vertical", "checker"} {
		m, _ := filepath.Glob(filepath.Join(train, c, "*.png"))
		files = append(files, m...)
	}
	rng := rand.New(rand.NewSource(3))
	rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	for i, f := range files {
		copyFile(t, f, filepath.Join(shuffled, []string{"a", "b", "c"}[i%3], fmt.Sprintf("%02d.png", i)))
	}
	ctrl := trainHead(shuffled, filepath.Join(t.TempDir(), "ctrl.safetensors"))
	t.Logf("shuffled labels: validation accuracy %.3f", ctrl.ValAccuracy)
	if ctrl.ValAccuracy > 0.67 {
		t.Errorf("shuffled labels still give %.2f validation accuracy", ctrl.ValAccuracy)
	}
}

// TestHeadFlagTakesItsTraining: --head brings the network, weights and preprocessing flags the head was
// trained with, and flags given on the command line win.
func TestHeadFlagTakesItsTraining(t *testing.T) {
	h := &head.Head{W: make([]float32, 2*4), B: []float32{0, 0}, Labels: []string{"a", "b"},
		Meta: map[string]string{metaArch: "v3", metaWeights: "inception_v3.tv_in1k", metaPreprocess: `{"size":320,"interpolation":"bilinear"}`}}
	path := filepath.Join(t.TempDir(), "h.safetensors")
	if err := h.Save(path); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args            []string
		arch, weights   string
		size            int
		interp, preproc string
	}{
		{[]string{"--head", path, "x.jpg"}, "v3", "inception_v3.tv_in1k", 320, "bilinear", ""},
		{[]string{"--head", path, "--size", "299", "--arch", "v1", "--weights", "w.caffemodel", "--preprocess", "caffe", "x.jpg"}, "v1", "w.caffemodel", 299, "bilinear", "caffe"},
	} {
		ios, _, _ := testIO()
		var got *classifyOptions
		cmd := newCmdClassify(ios, func(o *classifyOptions) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if got.Arch != tc.arch || got.Weights != tc.weights || got.Preset.Size != tc.size || got.Preset.Interpolation != tc.interp || got.Preset.Name != tc.preproc {
			t.Errorf("%v: arch %s weights %s preset %+v", tc.args, got.Arch, got.Weights, got.Preset)
		}
	}
}
