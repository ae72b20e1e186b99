// Package head trains, saves and applies a new final linear layer (a "head") on pooled CNN feature
// vectors, so that a pretrained Inception network can classify a user's own classes: `inception
// train-head` fits one with Train on features read through a FeatureCache, `classify --head` loads it
// with Load and turns features into probabilities with Probs.
//
// A head file is a small safetensors file with two F32 tensors, "weight" [K, C] (row-major, one row
// per class) and "bias" [K], and three "__metadata__" entries: "format" (FormatVersion), "labels"
// (a JSON array of the K class labels, in row order) and "meta" (a JSON object of strings the caller
// owns, e.g. the architecture, weight set and preprocessing the features came from).
package head

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/inception-cli/inception/internal/weights"
)

// FormatVersion is the "format" metadata value of a head file; Load rejects any other.
const FormatVersion = "inception-head/1"

// Metadata keys and tensor names of a head file.
const (
	keyFormat    = "format"
	keyLabels    = "labels"
	keyMeta      = "meta"
	tensorWeight = "weight"
	tensorBias   = "bias"
)

// Head is a linear classifier over C-dimensional feature vectors: logits = W·x + B for K classes.
type Head struct {
	W      []float32         // K×C, row-major: W[k*C+c] weighs feature c for class k
	B      []float32         // K biases
	Labels []string          // K class labels, in row order; non-empty and distinct
	Meta   map[string]string // caller's provenance (arch, weight set, preprocessing); opaque here, may be nil
}

// Classes returns K, the number of classes.
func (h *Head) Classes() int { return len(h.B) }

// Features returns C, the feature length the head expects.
func (h *Head) Features() int {
	if len(h.B) == 0 {
		return 0
	}
	return len(h.W) / len(h.B)
}

// Validate checks that h is usable: K ≥ 1 and C ≥ 1 with len(W) = K·C, len(B) = K, K distinct
// non-empty labels and only finite parameters. The error is one line without a file name.
func (h *Head) Validate() error {
	k := len(h.B)
	if k == 0 {
		return fmt.Errorf("no classes")
	}
	if len(h.W) == 0 || len(h.W)%k != 0 {
		return fmt.Errorf("weight has %d values, not a positive multiple of the %d classes", len(h.W), k)
	}
	if len(h.Labels) != k {
		return fmt.Errorf("%d labels for %d classes", len(h.Labels), k)
	}
	seen := make(map[string]int, k)
	for i, l := range h.Labels {
		if l == "" {
			return fmt.Errorf("label %d is empty", i)
		}
		if j, ok := seen[l]; ok {
			return fmt.Errorf("labels %d and %d are both %q", j, i, l)
		}
		seen[l] = i
	}
	c := len(h.W) / k
	for i, v := range h.W {
		if !finite(v) {
			return fmt.Errorf("weight[%d][%d] is %v", i/c, i%c, v)
		}
	}
	for i, v := range h.B {
		if !finite(v) {
			return fmt.Errorf("bias[%d] is %v", i, v)
		}
	}
	return nil
}

// Logits computes out[i*K+k] = B[k] + Σ_c W[k*C+c]·x[i*C+c] for the n feature vectors in x (n×C,
// row-major) into out (n×K), accumulating in float64. It panics if len(x) != n·C or len(out) != n·K.
func (h *Head) Logits(x []float32, n int, out []float32) {
	k, c := h.Classes(), h.Features()
	if n < 0 || len(x) != n*c || len(out) != n*k {
		panic(fmt.Sprintf("head: Logits of %d vectors needs x of %d×%d and out of %d×%d, got %d and %d", n, n, c, n, k, len(x), len(out)))
	}
	for i := range n {
		xi := x[i*c : (i+1)*c]
		for j := range k {
			w := h.W[j*c : (j+1)*c]
			s := float64(h.B[j])
			for t, v := range xi {
				s += float64(w[t]) * float64(v)
			}
			out[i*k+j] = float32(s)
		}
	}
}

// Probs is Logits followed by a softmax over each row of out: out holds class probabilities.
func (h *Head) Probs(x []float32, n int, out []float32) {
	h.Logits(x, n, out)
	k := h.Classes()
	for i := range n {
		Softmax(out[i*k : (i+1)*k])
	}
}

// Softmax replaces the logits in v by exp(v_i - max v) / Σ_j exp(v_j - max v), computed in float64.
func Softmax(v []float32) {
	if len(v) == 0 {
		return
	}
	m := v[0]
	for _, x := range v[1:] {
		m = max(m, x)
	}
	var sum float64
	for _, x := range v {
		sum += math.Exp(float64(x - m))
	}
	for i, x := range v {
		v[i] = float32(math.Exp(float64(x-m)) / sum)
	}
}

// Save writes h to path as a head file (see the package comment), atomically: a temporary file in
// the same directory renamed over path.
func (h *Head) Save(path string) error {
	if err := h.Validate(); err != nil {
		return fmt.Errorf("save head %s: %w", path, err)
	}
	labels, err := json.Marshal(h.Labels)
	if err != nil {
		return fmt.Errorf("save head %s: %w", path, err)
	}
	meta := h.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	metaJSON, err := json.Marshal(meta) // keys sorted: the file is deterministic
	if err != nil {
		return fmt.Errorf("save head %s: %w", path, err)
	}
	k, c := h.Classes(), h.Features()
	tensors := []weights.Tensor{
		{Name: tensorWeight, Shape: []int{k, c}, Data: h.W},
		{Name: tensorBias, Shape: []int{k}, Data: h.B},
	}
	md := map[string]string{keyFormat: FormatVersion, keyLabels: string(labels), keyMeta: string(metaJSON)}
	if err := weights.WriteSafetensors(path, tensors, md); err != nil {
		return fmt.Errorf("save head: %w", err) // already names the file
	}
	return nil
}

// Load reads and validates the head file at path: format metadata, exactly the tensors "weight"
// [K, C] and "bias" [K], K distinct labels, a "meta" object of strings and finite values. Every error
// is one line naming path and the cause.
func Load(path string) (*Head, error) {
	f, err := weights.ReadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("load head: %w", err) // weights errors name the file
	}
	defer f.Close()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("load head %s: %s", path, fmt.Sprintf(format, args...))
	}
	if got := f.Metadata[keyFormat]; got != FormatVersion {
		if got == "" {
			return nil, bad("not a head file: no %q metadata (want %q)", keyFormat, FormatVersion)
		}
		return nil, bad("unsupported format %q (want %q)", got, FormatVersion)
	}
	for _, name := range f.Names() {
		if name != tensorWeight && name != tensorBias {
			return nil, bad("unexpected tensor %q (want only %q and %q)", name, tensorWeight, tensorBias)
		}
	}
	wShape, w, ok := f.Tensor(tensorWeight)
	if !ok {
		return nil, bad("no %q tensor", tensorWeight)
	}
	bShape, b, ok := f.Tensor(tensorBias)
	if !ok {
		return nil, bad("no %q tensor", tensorBias)
	}
	if len(wShape) != 2 || wShape[0] < 1 || wShape[1] < 1 {
		return nil, bad("weight shape %v, want [K C] with K, C ≥ 1", wShape)
	}
	if len(bShape) != 1 || bShape[0] != wShape[0] {
		return nil, bad("bias shape %v, want [%d] to match weight %v", bShape, wShape[0], wShape)
	}
	h := &Head{W: append([]float32(nil), w...), B: append([]float32(nil), b...)} // copies outlive f.Close
	if err := json.Unmarshal([]byte(f.Metadata[keyLabels]), &h.Labels); err != nil {
		return nil, bad("%q metadata is not a JSON array of strings: %v", keyLabels, err)
	}
	if m, ok := f.Metadata[keyMeta]; ok {
		if err := json.Unmarshal([]byte(m), &h.Meta); err != nil {
			return nil, bad("%q metadata is not a JSON object of strings: %v", keyMeta, err)
		}
	}
	if err := h.Validate(); err != nil {
		return nil, bad("%v", err)
	}
	return h, nil
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
