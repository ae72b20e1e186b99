package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/weights"
)

// writeFillSafetensors writes the deterministic fill of variant arch as a safetensors file in the
// reference's keys, plus one auxiliary-classifier key a published checkpoint would carry.
func writeFillSafetensors(t *testing.T, arch string, extra ...weights.Tensor) string {
	t.Helper()
	v, err := model.Lookup(arch)
	if err != nil {
		t.Fatal(err)
	}
	var ts []weights.Tensor
	for _, p := range model.New(v).Params() {
		ts = append(ts, weights.Tensor{Name: p.Key, Shape: p.Shape, Data: fill.Tensor("cmd", p.Key, p.Shape, p.Role.String())})
	}
	ts = append(ts, extra...)
	path := filepath.Join(t.TempDir(), arch+".safetensors")
	if err := weights.WriteSafetensors(path, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestClassifySafetensorsPicksGraph loads torchvision-keyed GoogLeNet weights with --arch v1: the loader
// must pick the batch-norm graph by the keys and ignore the auxiliary classifiers.
func TestClassifySafetensorsPicksGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network; skipped under -short")
	}
	aux := weights.Tensor{Name: "aux1.fc2.weight", Shape: []int{1000, 1024}, Data: make([]float32, 1000*1024)}
	path := writeFillSafetensors(t, "v1-bn", aux)
	img := filepath.Join("..", "..", "internal", "preprocess", "testdata", "chelsea.png")
	ios, out, errOut := testIO()
	code := run(context.Background(), []string{"classify", "--arch", "v1", "--weights", path, "--preprocess", "keras",
		"--size", "224", "--format", "json", img}, ios)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rs []Record
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Arch != "v1-bn" || len(rs[0].Top) != 5 {
		t.Fatalf("results %+v", rs)
	}
	var sum float32
	for _, p := range rs[0].Top {
		sum += p.Prob
	}
	if !(sum > 0 && sum <= 1.0001) {
		t.Errorf("top-5 probabilities sum to %v", sum)
	}
}
