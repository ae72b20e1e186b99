package preprocess

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through DecodeReader and the caffe, timm
// and tf-slim presets.
// It must return an error or a tensor, never panic (decoder panics are not
// recovered here) or hang. Seeds are the small fixtures in testdata/synth.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "synth", "*"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add(pngWithSize(100000, 100000))
	f.Add([]byte("\xff\xd8\xff\xd9"))
	// One preset per resize mode: both (caffe at its real size), shorter
	// side (odd aspect ratios) and TF-slim's central crop, the last two at a
	// small size so that minimising an input stays quick.
	var ps []Preset
	for _, c := range []struct {
		name string
		size int
	}{{"caffe", 224}, {"timm", 32}, {"tf-slim", 32}} {
		p, err := LookupPreset(c.name, c.size)
		if err != nil {
			f.Fatal(err)
		}
		ps = append(ps, p)
	}
	buf := make([]float32, 3*224*224)
	recoverPanics = false
	f.Cleanup(func() { recoverPanics = true })
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeReader("fuzz", bytes.NewReader(data), DecodeOptions{MaxPixels: 1 << 20})
		if err != nil {
			if img != nil {
				t.Fatalf("image and error: %v", err)
			}
			return
		}
		for _, p := range ps {
			p.Into(img, buf[:3*p.Size*p.Size])
		}
	})
}
