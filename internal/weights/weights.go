// Package weights reads pretrained CNN parameters from Caffe .caffemodel,
// safetensors and PyTorch torch.save (.pth) files into named float32
// tensors, and writes safetensors.
//
// Tensors keep the checkpoint's own layout: row-major, OIHW for convolution
// weights, [out][in] for fully connected weights. Binding them to a network,
// repacking and BN folding belong to internal/model.
package weights

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// Format names as reported in File.Format.
const (
	FormatCaffeModel  = "caffemodel"
	FormatSafetensors = "safetensors"
	FormatPyTorch     = "pth"
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
//
// A File read from a safetensors file on a unix system may share memory with
// a mapping of the file (see ReadSafetensors); call Close when done with its
// tensors. A File read from a caffemodel by ReadCaffeModel or Open decodes
// each tensor when it is first read: its Tensors[i].Data is nil until
// Lookup or Tensor has been called for it (see ReadCaffeModel); call Close
// when done reading. Close is harmless on every other File.
//
// Lookup, Tensor and Release may fill in or clear Tensors[i].Data, so a File
// must not be used from several goroutines at once.
type File struct {
	Path    string
	Format  string // FormatCaffeModel, FormatSafetensors or FormatPyTorch
	Tensors []Tensor
	// Metadata is the safetensors "__metadata__"; for a .pth it holds
	// "stripped_prefix" when a DataParallel "module." key prefix was
	// removed. Nil when there is nothing to record.
	Metadata map[string]string

	index   map[string]int // Tensors[index[name]].Name == name; built by the parsers
	mapping []byte         // the file's memory mapping, which some Tensors[i].Data or caffe alias; nil if none
	caffe   []caffeBlob    // for a lazily decoded caffemodel, where in src Tensors[i]'s values are; else nil
	src     []byte         // the file's bytes that caffe points into (the mapping or a copy); nil after Close
}

// Close releases the memory mapping behind f, if any. Tensors whose Data
// aliased the mapping get a nil Data; copies of such a Data slice kept
// elsewhere become invalid, and reading them may crash the program. For a
// lazily decoded caffemodel, decoding ends: tensors already decoded keep
// their Data (a copy, valid after Close), the others keep a nil Data, also
// from Lookup and Tensor. Close may be called on any File, more than once.
func (f *File) Close() error {
	f.src = nil
	if f.mapping == nil {
		return nil
	}
	for i := range f.Tensors {
		if aliases(f.mapping, f.Tensors[i].Data) {
			f.Tensors[i].Data = nil
		}
	}
	m := f.mapping
	f.mapping = nil
	if err := unmapFile(m); err != nil {
		return fmt.Errorf("close %s: %w", f.Path, err)
	}
	return nil
}

// Release drops the pages of a memory-mapped tensor from the process's resident set once the caller has
// read it (binding folds each tensor into a packed copy, and the mapped original need not stay in memory
// beside it). The tensor stays valid: reading it again faults the pages back in from the file. Release
// does nothing for tensors that do not alias a mapping.
//
// For a lazily decoded caffemodel, Release also gives back the tensor's decoded copy: its Data becomes
// nil, f keeps no reference to it, and its pages are handed back to the OS, so the copy must not be read
// after Release (it reads as zeros). Reading the tensor again through Lookup or Tensor decodes it afresh
// from the file. Binding decodes each tensor twice (checked, then folded) and the collector, its heap
// grown by the packed weights, ran too seldom to free those copies before they piled up: classifying a
// photo with BVLC GoogLeNet peaked at 95 MiB, of which 27 MiB were dead decoded copies.
func (f *File) Release(name string) {
	i, ok := f.find(name)
	if !ok {
		return
	}
	t := &f.Tensors[i]
	if f.caffe != nil {
		if d := t.Data; len(d) > 0 {
			dropPages(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(d))), 4*len(d)))
		}
		t.Data = nil
		if f.mapping != nil {
			dropPages(f.mapping[f.caffe[i].begin:f.caffe[i].end])
		}
		return
	}
	if f.mapping == nil || !aliases(f.mapping, t.Data) {
		return
	}
	dropPages(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(t.Data))), 4*len(t.Data)))
}

// Lookup returns the tensor called name. It is O(1) for a File returned by
// this package (a File built by hand falls back to a linear scan). The
// returned pointer aliases f.Tensors; do not reorder Tensors afterwards.
// For a lazily decoded caffemodel, Lookup first decodes the tensor into its
// Data if that is nil and f is not closed.
func (f *File) Lookup(name string) (*Tensor, bool) {
	i, ok := f.find(name)
	if !ok {
		return nil, false
	}
	t := &f.Tensors[i]
	if t.Data == nil && f.caffe != nil && f.src != nil {
		t.Data = f.caffe[i].decode(f.src)
	}
	return t, true
}

// find returns the index in f.Tensors of the tensor called name.
func (f *File) find(name string) (int, bool) {
	if f.index == nil {
		for i := range f.Tensors {
			if f.Tensors[i].Name == name {
				return i, true
			}
		}
		return 0, false
	}
	i, ok := f.index[name]
	return i, ok
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
// tensor source a network binds its weights from. Like Lookup, it decodes a lazily decoded tensor.
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

// sniffLen is how many leading bytes sniff needs.
const sniffLen = 16

// Open reads the weight file at path. The format is sniffed from the content
// (safetensors: an 8-byte little-endian header length followed by '{';
// torch.save: a zip local header or the legacy magic-number pickle), then
// taken from the extension; a file that is none of these is tried as a
// caffemodel, which has no magic number. A safetensors file is read by
// ReadSafetensors and a caffemodel by ReadCaffeModel, so either may be
// memory-mapped, and a caffemodel's tensors are decoded only when read:
// Close the File when done.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(fd, head)
	fd.Close()
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch sniff(path, head[:n]) {
	case FormatSafetensors:
		return ReadSafetensors(path)
	case FormatCaffeModel:
		return ReadCaffeModel(path)
	case "":
		f, err := ReadCaffeModel(path)
		return f, unrecognised(path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, b)
}

// Parse is Open on the file's bytes b, which it never maps; path is used
// only in errors, File.Path and to pick the format by extension.
func Parse(path string, b []byte) (*File, error) {
	switch sniff(path, b) {
	case FormatSafetensors:
		return ParseSafetensors(path, b)
	case FormatPyTorch:
		return ParsePyTorch(path, b)
	case FormatCaffeModel:
		return ParseCaffeModel(path, b)
	}
	f, err := ParseCaffeModel(path, b)
	return f, unrecognised(path, err)
}

// unrecognised turns the *FormatError of reading a file without a known
// extension as a caffemodel, the last resort, into one that says so.
func unrecognised(path string, err error) error {
	if fe, ok := err.(*FormatError); ok {
		return formatErrorf(path, "unrecognised weight format: not safetensors or torch.save, and not a caffemodel (%s)", fe.Msg)
	}
	return err
}

// sniff names the format of a file from its first bytes b (at least
// sniffLen of them when the file is that long) and its path, or returns ""
// when only trying a caffemodel is left.
func sniff(path string, b []byte) string {
	switch {
	case looksLikeSafetensors(b):
		return FormatSafetensors
	case looksLikePyTorch(b):
		return FormatPyTorch
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors":
		return FormatSafetensors
	case ".pth", ".pt":
		return FormatPyTorch
	case ".caffemodel":
		return FormatCaffeModel
	}
	return ""
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
