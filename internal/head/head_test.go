package head

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inception-cli/inception/internal/weights"
)

// sampleHead is a 3-class head over 4 features with values that are not round in binary.
func sampleHead() *Head {
	return &Head{
		W:      []float32{0.1, -0.2, 0.3, 1e-7, 4, 5.5, -6.25, 1.0 / 3, -0.7, 0.8, 0.9, -1e-30},
		B:      []float32{0.01, -0.02, math.SmallestNonzeroFloat32},
		Labels: []string{"tabby", "golden retriever", "héron"},
		Meta:   map[string]string{"arch": "v3", "weights": "timm", "crop_pct": "0.875"},
	}
}

func TestLogitsAndProbs(t *testing.T) {
	h := &Head{W: []float32{1, 0, 0, 1, 1, 1}, B: []float32{0, 1, -1}, Labels: []string{"a", "b", "c"}}
	x := []float32{2, 3, -1, 0}
	got := make([]float32, 6)
	h.Logits(x, 2, got)
	want := []float32{2, 4, 4, -1, 1, -2}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Logits = %v, want %v", got, want)
	}
	h.Probs(x, 2, got)
	for i := range 2 {
		var sum float64
		for _, p := range got[i*3 : i*3+3] {
			sum += float64(p)
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("row %d: probabilities sum to %v", i, sum)
		}
	}
	if got[1] != got[2] || !(got[1] > got[0]) {
		t.Errorf("Probs row 0 = %v, want p1 == p2 > p0", got[:3])
	}
}

func TestSoftmaxLargeLogits(t *testing.T) {
	v := []float32{1000, 1000, -1000}
	Softmax(v)
	if v[0] != 0.5 || v[1] != 0.5 || v[2] != 0 {
		t.Errorf("Softmax = %v, want [0.5 0.5 0]", v)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, meta := range []map[string]string{sampleHead().Meta, nil} {
		h := sampleHead()
		h.Meta = meta
		path := filepath.Join(t.TempDir(), "h.safetensors")
		if err := h.Save(path); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := range h.W {
			if math.Float32bits(got.W[i]) != math.Float32bits(h.W[i]) {
				t.Fatalf("W[%d] = %v, want %v (bit-identical)", i, got.W[i], h.W[i])
			}
		}
		for i := range h.B {
			if math.Float32bits(got.B[i]) != math.Float32bits(h.B[i]) {
				t.Fatalf("B[%d] = %v, want %v (bit-identical)", i, got.B[i], h.B[i])
			}
		}
		if !reflect.DeepEqual(got.Labels, h.Labels) {
			t.Errorf("Labels = %q, want %q", got.Labels, h.Labels)
		}
		if len(got.Meta) != len(h.Meta) || (len(h.Meta) > 0 && !reflect.DeepEqual(got.Meta, h.Meta)) {
			t.Errorf("Meta = %v, want %v", got.Meta, h.Meta)
		}
		// Saving again gives the same bytes: the file is deterministic.
		path2 := filepath.Join(t.TempDir(), "h.safetensors")
		if err := got.Save(path2); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(path)
		b, _ := os.ReadFile(path2)
		if !bytes.Equal(a, b) {
			t.Errorf("re-saved file differs from the original")
		}
	}
}

func TestSaveRejectsInvalid(t *testing.T) {
	h := sampleHead()
	h.Labels = h.Labels[:2]
	path := filepath.Join(t.TempDir(), "h.safetensors")
	err := h.Save(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "2 labels for 3 classes") {
		t.Fatalf("Save = %v, want an error naming the file and the label count", err)
	}
	if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
		t.Errorf("Save of an invalid head left a file")
	}
}

func TestLoadRejects(t *testing.T) {
	good := sampleHead()
	md := func(labels, meta string) map[string]string {
		return map[string]string{keyFormat: FormatVersion, keyLabels: labels, keyMeta: meta}
	}
	const labels3 = `["tabby","golden retriever","heron"]`
	w := weights.Tensor{Name: "weight", Shape: []int{3, 4}, Data: good.W}
	b := weights.Tensor{Name: "bias", Shape: []int{3}, Data: good.B}
	nanW := append([]float32(nil), good.W...)
	nanW[5] = float32(math.NaN())
	infB := append([]float32(nil), good.B...)
	infB[2] = float32(math.Inf(-1))

	tests := []struct {
		name     string
		tensors  []weights.Tensor
		metadata map[string]string
		want     string
	}{
		{"no format", []weights.Tensor{w, b}, map[string]string{keyLabels: labels3}, "not a head file"},
		{"other format", []weights.Tensor{w, b}, map[string]string{keyFormat: "inception-head/9", keyLabels: labels3}, `unsupported format "inception-head/9"`},
		{"no bias", []weights.Tensor{w}, md(labels3, "{}"), `no "bias" tensor`},
		{"extra tensor", []weights.Tensor{w, b, {Name: "scale", Shape: []int{1}, Data: []float32{1}}}, md(labels3, "{}"), `unexpected tensor "scale"`},
		{"weight 1-D", []weights.Tensor{{Name: "weight", Shape: []int{12}, Data: good.W}, b}, md(labels3, "{}"), "weight shape [12]"},
		{"weight 3-D", []weights.Tensor{{Name: "weight", Shape: []int{3, 2, 2}, Data: good.W}, b}, md(labels3, "{}"), "weight shape [3 2 2]"},
		{"bias mismatch", []weights.Tensor{{Name: "weight", Shape: []int{2, 6}, Data: good.W}, b}, md(labels3, "{}"), "bias shape [3], want [2]"},
		{"too few labels", []weights.Tensor{w, b}, md(`["a","b"]`, "{}"), "2 labels for 3 classes"},
		{"too many labels", []weights.Tensor{w, b}, md(`["a","b","c","d"]`, "{}"), "4 labels for 3 classes"},
		{"duplicate labels", []weights.Tensor{w, b}, md(`["a","b","a"]`, "{}"), `labels 0 and 2 are both "a"`},
		{"empty label", []weights.Tensor{w, b}, md(`["a","","c"]`, "{}"), "label 1 is empty"},
		{"labels not JSON", []weights.Tensor{w, b}, md(`a,b,c`, "{}"), `"labels" metadata is not a JSON array`},
		{"no labels", []weights.Tensor{w, b}, map[string]string{keyFormat: FormatVersion}, `"labels" metadata is not a JSON array`},
		{"meta not strings", []weights.Tensor{w, b}, md(labels3, `{"epochs":3}`), `"meta" metadata is not a JSON object`},
		{"NaN weight", []weights.Tensor{{Name: "weight", Shape: []int{3, 4}, Data: nanW}, b}, md(labels3, "{}"), "weight[1][1] is NaN"},
		{"Inf bias", []weights.Tensor{w, {Name: "bias", Shape: []int{3}, Data: infB}}, md(labels3, "{}"), "bias[2] is -Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.safetensors")
			if err := weights.WriteSafetensors(path, tt.tensors, tt.metadata); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			checkOneLineError(t, err, path, tt.want)
		})
	}
}

func TestLoadRejectsDamagedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "h.safetensors")
	if err := sampleHead().Save(path); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 5, 8, 20, len(full) - 1} {
		p := filepath.Join(dir, "short.safetensors")
		if err := os.WriteFile(p, full[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(p)
		checkOneLineError(t, err, p, "truncated")
	}
	_, err = Load(filepath.Join(dir, "missing.safetensors"))
	checkOneLineError(t, err, filepath.Join(dir, "missing.safetensors"), "no such file")
}

func checkOneLineError(t *testing.T, err error, path, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming %s and containing %q", msg, path, want)
	}
}
