package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inception-cli/inception/internal/kernels"
	"github.com/inception-cli/inception/internal/npy"
	"github.com/inception-cli/inception/internal/weights"
)

// classifierOf reads BVLC GoogLeNet's final layer from the real weights.
func classifierOf(t *testing.T) (w, b []float32) {
	t.Helper()
	f, err := weights.Open(bvlcWeights)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, w, ok1 := f.Tensor("loss3/classifier.weight")
	_, b, ok2 := f.Tensor("loss3/classifier.bias")
	if !ok1 || !ok2 {
		t.Fatalf("no loss3/classifier in %s: %v", bvlcWeights, f.Names())
	}
	return append([]float32(nil), w...), append([]float32(nil), b...)
}

// TestEmbedIsTheClassifierInput: with the real GoogLeNet, each embedding put through the published
// classifier layer gives classify's probabilities, so it is the pooled feature vector and nothing else;
// the .npy form holds the same vectors, a corrupt file is reported and skipped, and --l2 gives unit length.
func TestEmbedIsTheClassifierInput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network; skipped under -short")
	}
	needShared(t)
	dir := t.TempDir()
	imgs := []string{filepath.Join(sharedDir, "images", "chelsea.png"), filepath.Join(sharedDir, "images", "rocket.jpg")}
	bad := filepath.Join(dir, "bad.jpg")
	if err := os.WriteFile(bad, []byte("\xff\xd8 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{imgs[0], bad, imgs[1]}
	ios, out, errOut := testIO()
	code := run(context.Background(), append([]string{"embed", "--weights", bvlcWeights}, args...), ios)
	if code != exitFailure || strings.Count(errOut.String(), "bad.jpg") != 1 || !strings.Contains(errOut.String(), "1 of 3 images failed") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var recs []Embedding
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e Embedding
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, e)
	}
	if len(recs) != 3 || recs[1].Error == "" || recs[0].Dim != 1024 || len(recs[2].Embedding) != 1024 {
		t.Fatalf("records %d, second %+v", len(recs), recs[1])
	}
	w, b := classifierOf(t)
	want := classifyJSON(t, "--weights", bvlcWeights, imgs[0], imgs[1])
	logits, probs := make([]float32, 1000), make([]float32, 1000)
	for i, rec := range []Embedding{recs[0], recs[2]} {
		kernels.Linear(1, 1024, 1000, rec.Embedding, w, b, logits)
		kernels.Softmax(logits, probs)
		for _, p := range want[i].Top {
			if d := math.Abs(float64(probs[p.Index] - p.Prob)); d > 1e-6 {
				t.Fatalf("%s class %d: embedding gives p=%v, classify %v", rec.File, p.Index, probs[p.Index], p.Prob)
			}
		}
	}

	dst := filepath.Join(dir, "emb.npy")
	ios, _, errOut = testIO()
	if code := run(context.Background(), append([]string{"embed", "--weights", bvlcWeights, "--l2", "--output", dst}, args...), ios); code != exitFailure {
		t.Fatalf("npy: exit %d: %s", code, errOut)
	}
	raw, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	shape, data, err := npy.Read(bytes.NewReader(raw))
	if err != nil || len(shape) != 2 || shape[0] != 2 || shape[1] != 1024 {
		t.Fatalf("npy shape %v: %v", shape, err)
	}
	list, _ := os.ReadFile(filepath.Join(dir, "emb.txt"))
	if string(list) != imgs[0]+"\n"+imgs[1]+"\n" {
		t.Errorf("emb.txt = %q", list)
	}
	for i, rec := range []Embedding{recs[0], recs[2]} {
		var n2, dot float64
		for j, v := range data[i*1024 : (i+1)*1024] {
			n2 += float64(v) * float64(v)
			dot += float64(v) * float64(rec.Embedding[j])
		}
		var r2 float64
		for _, v := range rec.Embedding {
			r2 += float64(v) * float64(v)
		}
		if math.Abs(n2-1) > 1e-5 || math.Abs(dot-math.Sqrt(r2)) > 1e-4*math.Sqrt(r2) {
			t.Errorf("row %d: |v|² %v, v·jsonl %v, |jsonl| %v", i, n2, dot, math.Sqrt(r2))
		}
	}
}
