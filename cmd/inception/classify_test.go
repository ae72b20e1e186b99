package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	sharedDir   = filepath.Join("..", "..", "..", "shared")
	bvlcWeights = filepath.Join(sharedDir, "weights", "bvlc_googlenet", "bvlc_googlenet.caffemodel")
	goldenBVLC  = filepath.Join("..", "..", "internal", "model", "testdata", "golden", "bvlc_googlenet.json")
)

func needShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(bvlcWeights); err != nil {
		t.Skipf("real GoogLeNet weights not found at %s (../shared beside the repository): %v", bvlcWeights, err)
	}
}

func testIO() (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}, out, errOut
}

// TestClassifyBVLCEndToEnd classifies the four photos with the real BVLC GoogLeNet through the whole
// pipeline (decode, caffe preset, network, softmax) and compares with OpenCV's Caffe run on PIL's
// preprocessing: the same top-5, and every probability within 1e-3.
func TestClassifyBVLCEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model run; skipped under -short")
	}
	needShared(t)
	b, err := os.ReadFile(goldenBVLC)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Pipeline struct {
			Images map[string]struct {
				Probs []float64 `json:"probs"`
				Top5  []int     `json:"top5"`
			} `json:"images"`
		} `json:"pipeline"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	var names, paths []string
	for name := range g.Pipeline.Images {
		names = append(names, name)
		paths = append(paths, filepath.Join(sharedDir, "images", name))
	}
	ios, out, errOut := testIO()
	args := append([]string{"classify", "--format", "json", "--top-k", "1000", "--weights", bvlcWeights}, paths...)
	if code := run(context.Background(), args, ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var results []Record
	if err := json.Unmarshal(out.Bytes(), &results); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, out)
	}
	if len(results) != len(names) {
		t.Fatalf("%d results for %d images", len(results), len(names))
	}
	for i, r := range results {
		want := g.Pipeline.Images[names[i]]
		if filepath.Base(r.File) != names[i] || r.Arch != "v1" {
			t.Errorf("result %d is %s/%s, want %s/v1", i, r.File, r.Arch, names[i])
		}
		for k := 0; k < 5; k++ {
			if r.Top[k].Index != want.Top5[k] {
				t.Errorf("%s: top-5 %v, want %v", names[i], indices(r.Top[:5]), want.Top5)
				break
			}
		}
		worst := 0.0
		for _, p := range r.Top {
			worst = math.Max(worst, math.Abs(float64(p.Prob)-want.Probs[p.Index]))
		}
		t.Logf("%s: top-1 %s %.4f, max |Δp| %.2g", names[i], r.Top[0].Label, r.Top[0].Prob, worst)
		if worst > 1e-3 {
			t.Errorf("%s: max |Δp| %.3g > 1e-3", names[i], worst)
		}
	}
}

func indices(ps []Prediction) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.Index
	}
	return out
}

// TestClassifyBadInputsCarryOn checks that a corrupt image and a missing file each get one line on stderr
// naming the file, the good image is still classified, and the exit code is 1.
func TestClassifyBadInputsCarryOn(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the real network; skipped under -short")
	}
	needShared(t)
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.jpg")
	if err := os.WriteFile(corrupt, []byte("\xff\xd8\xff\xe0 this is not a JPEG"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.png")
	good := filepath.Join(sharedDir, "images", "chelsea.png")
	ios, out, errOut := testIO()
	code := run(context.Background(), []string{"classify", "--weights", bvlcWeights, corrupt, missing, good}, ios)
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(out.String(), "Egyptian cat") {
		t.Errorf("the good image was not classified:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("stderr has %d lines, want one per bad file and a summary:\n%s", len(lines), errOut)
	}
	for i, f := range []string{"corrupt.jpg", "missing.png"} {
		if !strings.Contains(lines[i], f) {
			t.Errorf("stderr line %d %q does not name %s", i+1, lines[i], f)
		}
	}
	if !strings.Contains(lines[2], "2 of 3 images failed") {
		t.Errorf("summary line %q", lines[2])
	}
}

// TestExitCodes covers the exit-code table for usage and model-data errors.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "w.safetensors")
	if err := os.WriteFile(truncated, []byte{200, 0, 0, 0, 0, 0, 0, 0, '{', '"'}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want exitCode
		msg  string
	}{
		{"unknown flag", []string{"classify", "--bogus", "x.jpg"}, exitUsage, "unknown flag: --bogus"},
		{"unknown command", []string{"clasify"}, exitUsage, "unknown command"},
		{"no images", []string{"classify"}, exitUsage, "requires at least 1 arg"},
		{"bad top-k", []string{"classify", "--top-k", "0", "x.jpg"}, exitUsage, "--top-k"},
		{"bad format", []string{"classify", "--format", "xml", "x.jpg"}, exitUsage, "--format"},
		{"unknown arch", []string{"classify", "--arch", "v9", "--weights", truncated, "x.jpg"}, exitUsage, `unknown architecture "v9"`},
		{"unknown weight set", []string{"classify", "--weights", "nope", "x.jpg"}, exitModelData, "--weights nope: no such file"},
		{"missing weights", []string{"classify", "--weights", filepath.Join(dir, "nope.caffemodel"), "x.jpg"}, exitModelData, "nope.caffemodel"},
		{"truncated weights", []string{"classify", "--arch", "v4", "--weights", truncated, "x.jpg"}, exitModelData, "w.safetensors"},
		{"size too small", []string{"classify", "--weights", tinyWeights(t), "--size", "8", "x.jpg"}, exitUsage, "--size 8 is too small for v1-bn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, errOut := testIO()
			if got := run(context.Background(), tc.args, ios); got != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", got, tc.want, errOut)
			}
			first := strings.SplitN(errOut.String(), "\n", 2)[0]
			if !strings.HasPrefix(first, "inception: ") || !strings.Contains(first, tc.msg) {
				t.Errorf("stderr first line %q, want it to mention %q", first, tc.msg)
			}
			if n := strings.Count(errOut.String(), "\n"); n != 1 {
				t.Errorf("stderr has %d lines, want one: %q", n, errOut)
			}
		})
	}
}

// TestClassifyFlags checks flag parsing through runF, without running anything.
func TestClassifyFlags(t *testing.T) {
	ios, _, _ := testIO()
	var got *classifyOptions
	cmd := newCmdClassify(ios, func(o *classifyOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--arch", "inception-v4", "--weights", "w.safetensors", "--preprocess", "keras", "--size", "320",
		"--top-k", "3", "--format", "json", "--threads", "1", "--no-orient", "a.jpg", "b.png"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Arch != "inception-v4" || got.Weights != "w.safetensors" || got.Preset.Name != "keras" || got.Preset.Size != 320 ||
		got.TopK != 3 || got.Format != "json" || got.Threads != 1 || !got.NoOrient || len(got.Inputs) != 2 {
		t.Errorf("options %+v", got)
	}
}

func TestVersion(t *testing.T) {
	ios, out, _ := testIO()
	if code := run(context.Background(), []string{"version"}, ios); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"inception ", "go1.", "gemm"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	ios, out, errOut := testIO()
	if code := run(context.Background(), []string{"bench", "--arch", "googlenet", "--size", "64", "--iters", "1", "--format", "json"}, ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r BenchResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Arch != "v1" || r.Size != 64 || r.GMACs <= 0 || r.GFLOPS <= 0 || len(r.RunsMS) != 1 || r.PeakGFLOPS <= 0 || r.PeakShare <= 0 {
		t.Errorf("bench result %+v", r)
	} // At 75×75 v3's last 3×3 layers see 1×1 maps and need another packing than at 299: bench packs the
	// weights for the size it runs.
	ios, _, errOut = testIO()
	if code := run(context.Background(), []string{"bench", "--arch", "v3", "--size", "75", "--iters", "1"}, ios); code != exitOK {
		t.Errorf("bench v3 at 75: exit %d: %s", code, errOut)
	}
}

// TestProgressOnlyOnTerminal: the progress bar is drawn on stderr when it is a terminal, cleared at the
// end, and never drawn otherwise or with --quiet.
func TestProgressOnlyOnTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network; skipped under -short")
	}
	w := writeFillSafetensors(t, "v1-bn")
	img := filepath.Join("..", "..", "internal", "preprocess", "testdata", "chelsea.png")
	args := []string{"classify", "--weights", w, "--preprocess", "keras", "--size", "32", img, img, img}
	for _, tc := range []struct {
		tty, quiet, want bool
	}{{true, false, true}, {false, false, false}, {true, true, false}} {
		ios, _, errOut := testIO()
		ios.ErrTTY = tc.tty
		a := args
		if tc.quiet {
			a = append(append([]string{}, args...), "--quiet")
		}
		if code := run(context.Background(), a, ios); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		s := errOut.String()
		drawn := strings.Contains(s, "\r[3/3]") && strings.Contains(s, "img/s") && strings.HasSuffix(s, "\r\033[K")
		if drawn != tc.want || (!tc.want && s != "") {
			t.Errorf("tty %v quiet %v: stderr %q", tc.tty, tc.quiet, s)
		}
	}
}

func TestDefaultFormat(t *testing.T) {
	for _, tc := range []struct {
		output string
		tty    bool
		want   string
	}{{"", true, "text"}, {"", false, "jsonl"}, {"labels.CSV", true, "csv"}, {"l.tsv", false, "tsv"}, {"l.jsonl", true, "jsonl"}, {"out", true, "jsonl"}} {
		if got := defaultFormat(&classifyOptions{Output: tc.output}, &IOStreams{OutTTY: tc.tty}); got != tc.want {
			t.Errorf("output %q tty %v: %s, want %s", tc.output, tc.tty, got, tc.want)
		}
	}
}

// tinyWeights writes the deterministic torchvision GoogLeNet weights once per test.
func tinyWeights(t *testing.T) string { return writeFillSafetensors(t, "v1-bn") }
