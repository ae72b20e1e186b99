package weights

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "st.safetensors")
	if err := WriteSafetensors(st, smallTensors(), nil); err != nil {
		t.Fatal(err)
	}
	stBytes, err := os.ReadFile(st)
	if err != nil {
		t.Fatal(err)
	}
	caffe := encNet(encLayer("conv", "Convolution",
		blobSpec{shape: []int64{2, 1, 1, 2}, data: []float32{1, -2, 0.5, 3}},
		blobSpec{shape: []int64{2}, data: []float32{0.25, -0.25}}))

	tests := []struct {
		name       string
		file       string
		content    []byte
		wantFormat string // "" for an error
		wantErr    string
	}{
		{"safetensors", "a.safetensors", stBytes, FormatSafetensors, ""},
		{"safetensors sniffed", "weights.bin", stBytes, FormatSafetensors, ""},
		{"safetensors sniffed despite extension", "a.caffemodel", stBytes, FormatSafetensors, ""},
		{"caffemodel", "a.caffemodel", caffe, FormatCaffeModel, ""},
		{"caffemodel without extension", "blob", caffe, FormatCaffeModel, ""},
		{"caffemodel upper-case extension", "A.CAFFEMODEL", caffe, FormatCaffeModel, ""},
		{"caffemodel named safetensors", "a.safetensors", caffe, "", "bad header: length"},
		{"truncated safetensors, unknown extension", "x.bin", stBytes[:len(stBytes)-1], "", "truncated: tensor \"conv.bias\""},
		{"garbage", "x.bin", []byte("GIF89a....."), "", "unrecognised weight format"},
		{"empty", "x.bin", nil, "", "unrecognised weight format"},
		{"empty caffemodel", "x.caffemodel", nil, "", "no layer with parameter blobs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(path)
			f, err := Open(path)
			if tt.wantFormat == "" {
				checkFormatError(t, err, path, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != tt.wantFormat {
				t.Errorf("got format %q, want %q", f.Format, tt.wantFormat)
			}
			checkTensors(t, f, smallTensors())
		})
	}
}

func TestOpenMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.caffemodel")
	for _, open := range []func(string) (*File, error){Open, ReadCaffeModel, ReadSafetensors} {
		_, err := open(path)
		var fe *FormatError
		if !errors.Is(err, fs.ErrNotExist) || errors.As(err, &fe) {
			t.Errorf("got %v, want a not-exist error that is not a FormatError", err)
		}
	}
}

func TestLookupHandBuilt(t *testing.T) {
	f := &File{Tensors: smallTensors()}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"conv.weight", true},
		{"conv.bias", true},
		{"conv", false},
	} {
		got, ok := f.Lookup(tt.name)
		if ok != tt.want || (ok && got.Name != tt.name) {
			t.Errorf("Lookup(%q) = %v, %v, want ok=%v", tt.name, got, ok, tt.want)
		}
	}
}

func TestFormatError(t *testing.T) {
	tests := []struct {
		err  *FormatError
		want string
	}{
		{&FormatError{"model.safetensors", "truncated: tensor fc.weight needs bytes 1000..5000 but the file has 4096"},
			"model.safetensors: truncated: tensor fc.weight needs bytes 1000..5000 but the file has 4096"},
		{&FormatError{"", "bad header"}, "bad header"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
