// Package weights reads pretrained CNN parameters from Caffe .caffemodel and
// safetensors files into named float32 tensors, and writes safetensors.
//
// Tensors keep the checkpoint's own layout: row-major, OIHW for convolution
// weights, [out][in] for fully connected weights. Binding them to a network,
// repacking and BN folding belong to internal/model.
package weights

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Format names as reported in File.Format.
const (
	FormatCaffeModel  = "caffemodel"
	FormatSafetensors = "safetensors"
)

// Tensor is one named parameter in the checkpoint's own layout (row-major;
// OIHW for conv, [out][in] for linear). len(Data) is the product of Shape
// (1 for a scalar with an empty Shape).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// File is a weight file's tensors in file order.
type File struct {
	Path     string
	Format   string // FormatCaffeModel or FormatSafetensors
	Tensors  []Tensor
	Metadata map[string]string // safetensors "__metadata__"; nil for caffemodel

	index map[string]int // Tensors[index[name]].Name == name; built by the parsers
}

// Lookup returns the tensor called name. It is O(1) for a File returned by
// this package (a File built by hand falls back to a linear scan). The
// returned pointer aliases f.Tensors; do not reorder Tensors afterwards.
func (f *File) Lookup(name string) (*Tensor, bool) {
	if f.index == nil {
		for i := range f.Tensors {
			if f.Tensors[i].Name == name {
				return &f.Tensors[i], true
			}
		}
		return nil, false
	}
	i, ok := f.index[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Names returns the tensor names in file order.
func (f *File) Names() []string {
	names := make([]string, len(f.Tensors))
	for i, t := range f.Tensors {
		names[i] = t.Name
	}
	return names
}

// Tensor returns the shape and data of the tensor called name; with Names it lets a File serve as the
// tensor source a network binds its weights from.
func (f *File) Tensor(name string) ([]int, []float32, bool) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, nil, false
	}
	return t.Shape, t.Data, true
}

// buildIndex fills f.index and returns the first duplicated name, if any.
func (f *File) buildIndex() (dup string, ok bool) {
	f.index = make(map[string]int, len(f.Tensors))
	for i, t := range f.Tensors {
		if _, seen := f.index[t.Name]; seen {
			return t.Name, false
		}
		f.index[t.Name] = i
	}
	return "", true
}

// FormatError reports a structurally bad weight file: truncated, bad header,
// offsets out of range, unsupported dtype, data length not matching the
// shape. Msg is one line; Error reads "<path>: <cause>".
type FormatError struct {
	Path string
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

func formatErrorf(path, format string, args ...any) *FormatError {
	return &FormatError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Open reads the weight file at path. The format is sniffed from the content
// (safetensors: an 8-byte little-endian header length followed by '{'), then
// taken from the extension; a file that is neither is tried as a caffemodel,
// which has no magic number.
func Open(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, b)
}

// Parse is Open on the file's bytes b; path is used only in errors and File.Path.
func Parse(path string, b []byte) (*File, error) {
	if looksLikeSafetensors(b) {
		return ParseSafetensors(path, b)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors":
		return ParseSafetensors(path, b)
	case ".caffemodel":
		return ParseCaffeModel(path, b)
	}
	f, err := ParseCaffeModel(path, b)
	if fe, ok := err.(*FormatError); ok {
		return nil, formatErrorf(path, "unrecognised weight format: not safetensors, and not a caffemodel (%s)", fe.Msg)
	}
	return f, err
}

// looksLikeSafetensors reports whether b starts with a plausible safetensors
// header length followed by '{'. A caffemodel starts with a tag and a string,
// which read as a little-endian u64 is far above maxHeaderLen.
func looksLikeSafetensors(b []byte) bool {
	return len(b) > 8 && binary.LittleEndian.Uint64(b) <= maxHeaderLen && b[8] == '{'
}

// numel returns the product of dims, or ok=false if a dim is negative or
// does not fit an int, or the product exceeds limit. Any zero dim gives 0.
func numel(dims []int64, limit int64) (n int64, ok bool) {
	n = 1
	for _, d := range dims {
		if d < 0 || d > math.MaxInt {
			return 0, false
		}
		if d == 0 {
			n = 0
		}
	}
	if n == 0 {
		return 0, true
	}
	for _, d := range dims {
		if n > limit/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// intShape converts dims checked by numel to a Shape.
func intShape(dims []int64) []int {
	s := make([]int, len(dims))
	for i, d := range dims {
		s[i] = int(d)
	}
	return s
}
