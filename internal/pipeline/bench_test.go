package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/preprocess"
	"github.com/inception-cli/inception/internal/weights"
)

// BenchmarkDirectoryVsNetwork labels a directory of copies of a real photo with the real BVLC GoogLeNet
// (batch 8) and reports how long the whole pipeline takes relative to the network alone on the same
// number of already-preprocessed images: x_network = pipeline time / network time (the issue asks for at
// most 1.15).
func BenchmarkDirectoryVsNetwork(b *testing.B) {
	wpath := filepath.Join("..", "..", "..", "shared", "weights", "bvlc_googlenet", "bvlc_googlenet.caffemodel")
	f, err := weights.Open(wpath)
	if err != nil {
		b.Skipf("real GoogLeNet weights not found (../shared beside the repository): %v", err)
	}
	v, _ := model.Lookup("v1")
	m := model.New(v)
	if err := m.Load(f); err != nil {
		b.Fatal(err)
	}
	preset, _ := preprocess.LookupPreset("caffe", 0)
	photo, err := os.ReadFile(filepath.Join("..", "preprocess", "testdata", "chelsea.png"))
	if err != nil {
		b.Fatal(err)
	}
	const n, bs = 64, 8
	dir := b.TempDir()
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.png", i)), photo, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	items, err := Expand([]string{dir}, ExpandOptions{})
	if err != nil {
		b.Fatal(err)
	}
	img, err := preprocess.Decode(items[0].Path, preprocess.DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	one := make([]float32, 3*224*224)
	preset.Into(img, one)
	x := make([]float32, 0, bs*len(one))
	for i := 0; i < bs; i++ {
		x = append(x, one...)
	}
	logits := make([]float32, bs*1000)
	network := func() time.Duration {
		t0 := time.Now()
		for i := 0; i < n; i += bs {
			if err := m.ForwardRaw(x, bs, 224, 224, logits); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t0)
	}
	pipeline := func() time.Duration {
		t0 := time.Now()
		if err := Run(context.Background(), items, Config{Nets: []Net{{Model: m, Preset: preset}}, BatchSize: bs}, func(Result) error { return nil }); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	network() // plan buffers
	var tn, tp time.Duration
	for b.Loop() {
		// Alternate the two so machine noise hits both alike.
		tn += network()
		tp += pipeline()
	}
	b.ReportMetric(float64(tp)/float64(tn), "x_network")
	b.ReportMetric(float64(tn.Milliseconds())/float64(b.N*n), "net_ms/img")
	b.ReportMetric(float64(tp.Milliseconds())/float64(b.N*n), "pipeline_ms/img")
}
