package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/kernels"
	"github.com/inception-cli/inception/internal/weights"
)

// sharedWeights is where the real BVLC GoogLeNet weights live beside the project (never committed).
var sharedWeights = filepath.Join("..", "..", "..", "shared", "weights", "bvlc_googlenet", "bvlc_googlenet.caffemodel")

// loadBVLC loads the real BVLC GoogLeNet, skipping the test when ../shared is absent.
func loadBVLC(t testing.TB) *Model {
	t.Helper()
	if _, err := os.Stat(sharedWeights); err != nil {
		t.Skipf("real GoogLeNet weights not found at %s (they live in ../shared beside the repository): %v", sharedWeights, err)
	}
	f, err := weights.Open(sharedWeights)
	if err != nil {
		t.Fatal(err)
	}
	v := ForWeights(v1BVLC, f.Names())
	if v != v1BVLC {
		t.Fatalf("ForWeights picked %s for the BVLC caffemodel", v.Name)
	}
	m := New(v)
	if err := m.Load(f); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBVLCModelOnly runs the real BVLC GoogLeNet on the fixture's fill input (values (2u-1)·100) and
// compares all 1000 softmax probabilities with OpenCV's Caffe importer, to 1e-4.
func TestBVLCModelOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model run; skipped under -short")
	}
	m := loadBVLC(t)
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "bvlc_googlenet.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		ModelOnly struct {
			Probs []float64 `json:"probs"`
		} `json:"model_only"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	x := fill.Tensor("", "input0", []int{1, 3, 224, 224}, "input")
	for i := range x {
		x[i] = float32(float64(x[i]) * 100)
	}
	logits := make([]float32, 1000)
	if err := m.ForwardRaw(x, 1, 224, 224, logits); err != nil {
		t.Fatal(err)
	}
	probs := make([]float32, 1000)
	kernels.Softmax(logits, probs)
	worst, at := 0.0, 0
	for i, want := range g.ModelOnly.Probs {
		if d := math.Abs(float64(probs[i]) - want); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	t.Logf("max |Δp| %.3g at class %d", worst, at)
	if !(worst <= 1e-4) {
		t.Errorf("class %d: p = %.6g, want %.6g (max |Δp| %.3g > 1e-4)", at, probs[at], g.ModelOnly.Probs[at], worst)
	}
}

// TestBindErrorListsEveryProblem checks that a checkpoint with several faults is refused with one error
// naming all of them.
func TestBindErrorListsEveryProblem(t *testing.T) {
	m := New(v1BN)
	src := MapSource{}
	for _, p := range m.Params() {
		src[p.Key] = Tensor{Shape: p.Shape, Data: make([]float32, prod(p.Shape))}
	}
	delete(src, "conv1.bn.running_var")
	src["fc.weight"] = Tensor{Shape: []int{1000, 1023}, Data: make([]float32, 1000*1023)}
	src["extra.weight"] = Tensor{Shape: []int{1}, Data: []float32{0}}
	src["aux1.fc1.weight"] = Tensor{Shape: []int{1}, Data: []float32{0}}             // aux classifier: ignored
	src["conv1.bn.num_batches_tracked"] = Tensor{Shape: []int{}, Data: []float32{0}} // ignored
	nan := src["conv2.conv.weight"]
	nan.Data = append([]float32(nil), nan.Data...)
	nan.Data[7] = float32(math.NaN())
	src["conv2.conv.weight"] = nan
	err := m.Load(src)
	be, ok := err.(*BindError)
	if !ok {
		t.Fatalf("Load: %v, want a *BindError", err)
	}
	for _, tc := range []struct {
		what      string
		got, want []string
	}{
		{"missing", be.Missing, []string{"conv1.bn.running_var"}},
		{"unused", be.Unused, []string{"extra.weight"}},
		{"bad shape", be.BadShape, []string{"fc.weight: file [1000 1023], network [1000 1024]"}},
		{"non-finite", be.NonFinite, []string{"conv2.conv.weight"}},
	} {
		if len(tc.got) != len(tc.want) || (len(tc.got) > 0 && tc.got[0] != tc.want[0]) {
			t.Errorf("%s = %q, want %q", tc.what, tc.got, tc.want)
		}
	}
	t.Log(err)
}
