package weights

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// checkParsed checks the invariants of a successful parse, and that a
// failure is a *FormatError.
func checkParsed(t *testing.T, f *File, err error) {
	t.Helper()
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("got %v (%T), want a *FormatError", err, err)
		}
		return
	}
	for i := range f.Tensors {
		tt := &f.Tensors[i]
		n := 1
		for _, d := range tt.Shape {
			if d < 0 {
				t.Fatalf("%s: negative dim in %v", tt.Name, tt.Shape)
			}
			n *= d
		}
		if n != len(tt.Data) {
			t.Fatalf("%s: shape %v but %d values", tt.Name, tt.Shape, len(tt.Data))
		}
		if p, ok := f.Lookup(tt.Name); !ok || p != tt {
			t.Fatalf("Lookup(%q) does not find tensor %d", tt.Name, i)
		}
	}
}

func FuzzReadSafetensors(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.safetensors")
	if err := WriteSafetensors(path, smallTensors(), map[string]string{"arch": "v1"}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(buildST(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"c":{"dtype":"F64","shape":[],"data_offsets":[8,16]},"x.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[16,24]}}`, make([]byte, 24)))
	f.Add(buildST(`{}`, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseSafetensors("fuzz.safetensors", b)
		checkParsed(t, got, err)
	})
}

func FuzzReadCaffeModel(f *testing.F) {
	f.Add(encNet(encLayer("data", "Input"), encLayer("conv1", "Convolution",
		blobSpec{shape: []int64{2, 1, 1, 2}, data: seq(4)}, blobSpec{shape: []int64{2}, data: seq(2), unpacked: true})))
	f.Add(encNet(encLayer("conv", v1Convolution, blobSpec{legacy: []int64{1, 2, 1, 1}, data: seq(2)}),
		encLayer("fc", v1InnerProduct, blobSpec{legacy: []int64{1, 1, 2, 2}, double: true, data: seq(4)},
			blobSpec{legacy: []int64{1, 1, 1, 2}, double: true, unpacked: true, data: seq(2)})))
	f.Add(encNet(encLayer("bn", "BatchNorm", blobSpec{shape: []int64{1}, unpackedDims: true, data: seq(1)},
		blobSpec{data: seq(1)}, blobSpec{shape: []int64{0}})))
	f.Add(encNet(rawLayer("fc", "InnerProduct", unpackedRunsBlob())))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseCaffeModel("fuzz.caffemodel", b)
		checkParsed(t, got, err)
		// Decoded lazily, the same bytes give the same tensors, also when
		// read again after Release.
		lazy, lerr := parseCaffeLazy("fuzz.caffemodel", b)
		if (err == nil) != (lerr == nil) || (err != nil && err.Error() != lerr.Error()) {
			t.Fatalf("eager: %v, lazy: %v", err, lerr)
		}
		if err != nil {
			return
		}
		checkTensors(t, lazy, got.Tensors)
		for _, name := range lazy.Names() {
			lazy.Release(name)
		}
		checkTensors(t, lazy, got.Tensors)
	})
}

// FuzzReadPth feeds each input to ParsePyTorch twice: as a whole file, and
// as the data.pkl of a zip holding tiny.pth's storages, so that mutated
// pickles reach the unpickler past the zip CRCs.
func FuzzReadPth(f *testing.F) {
	fixtures := pthFixtures(f)
	zr, err := zip.NewReader(bytes.NewReader(fixtures["tiny.pth"]), int64(len(fixtures["tiny.pth"])))
	if err != nil {
		f.Fatal(err)
	}
	records := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			f.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			f.Fatal(err)
		}
		_, name, _ := strings.Cut(zf.Name, "/")
		if name == "data.pkl" {
			f.Add(b)
		} else {
			records[name] = b
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fixtures)) {
		f.Add(fixtures[name])
	}
	f.Add(pPickle(pDict(pStr("w"), pTensor(pStorage("FloatStorage", "0", 6), 2, []int{2, 2}, []int{2, 1}))))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParsePyTorch("fuzz.pth", b)
		checkParsed(t, got, err)
		got, err = ParsePyTorch("fuzz.pth", torchZip(t, b, records))
		checkParsed(t, got, err)
	})
}
