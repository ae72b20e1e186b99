package preprocess

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through DecodeReader and the caffe preset.
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
	p, err := LookupPreset("caffe", 0)
	if err != nil {
		f.Fatal(err)
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
		p.Into(img, buf)
	})
}
