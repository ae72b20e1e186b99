package weights

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// maxHeaderLen bounds the safetensors JSON header, as the reference
// implementation (huggingface/safetensors) does.
const maxHeaderLen = 100_000_000

// metadataKey is the header entry holding string-to-string metadata.
const metadataKey = "__metadata__"

// dtypeSize is the element size in bytes of each safetensors dtype. Only F32,
// F16, BF16 and F64 are decoded; the others are known so that skipped
// tensors can still be checked.
var dtypeSize = map[string]int64{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1,
	"U64": 8, "U32": 4, "U16": 2, "U8": 1,
	"BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}

// ReadSafetensors reads a safetensors file. The header is read and checked
// against the file's size before any tensor data is touched. Then, on unix
// systems, the file is memory-mapped and, on little-endian machines, the
// Data of each F32 tensor whose bytes are 4-byte aligned (all of them in a
// file written by WriteSafetensors) aliases the mapping instead of being a
// copy; other tensors are converted as by ParseSafetensors. Call Close on the
// File to release the mapping: the aliased Data is invalid afterwards.
// Where mapping is unavailable the file is read into memory.
func ReadSafetensors(path string) (*File, error) {
	fd, size, all, err := openFile(path)
	if err != nil {
		return nil, err
	}
	if fd == nil {
		return ParseSafetensors(path, all)
	}
	defer fd.Close()
	l, err := readSTLayout(path, fd, size)
	if err != nil {
		return nil, err
	}
	data, mapped, err := mapOrRead(path, fd, size)
	if err != nil {
		return nil, err
	}
	f := l.decode(path, data, mapped)
	if !mapped {
		return f, nil
	}
	for _, t := range f.Tensors {
		if aliases(data, t.Data) {
			f.mapping = data
			return f, nil
		}
	}
	if err := unmapFile(data); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return f, nil
}

// readError wraps an error from reading a file whose size was checked: a
// short read means it shrank meanwhile.
func readError(path string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErrorf(path, "truncated: file changed size while being read")
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// stEntry is one tensor of a safetensors header.
type stEntry struct {
	name        string
	Dtype       string   `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// stLayout is a safetensors header checked against the size of its file.
type stLayout struct {
	metadata  map[string]string
	dataStart uint64    // file offset of the byte buffer
	entries   []stEntry // in data-offset order; all in range, dtypes known
}

// ParseSafetensors decodes b, a safetensors file: an 8-byte little-endian
// header length N, N bytes of JSON mapping tensor names to dtype, shape and
// data_offsets (relative to the byte buffer after the header), then the byte
// buffer. F32, F16, BF16 and F64 tensors are converted to float32 (F16 and
// BF16 exactly, F64 rounded to nearest); tensors of other dtypes are skipped
// if their name ends in "num_batches_tracked" and rejected otherwise.
// Tensors come in data-offset order, and their Data never aliases b. All
// errors are *FormatError; path is used only in errors and File.Path.
func ParseSafetensors(path string, b []byte) (*File, error) {
	size := int64(len(b))
	hlen, err := stHeaderLen(path, b[:min(8, len(b))], size)
	if err != nil {
		return nil, err
	}
	l, err := parseSTHeader(path, b[8:8+hlen], size)
	if err != nil {
		return nil, err
	}
	return l.decode(path, b, false), nil
}

// readSTLayout reads and checks the header of the safetensors file r of
// size bytes.
func readSTLayout(path string, r io.ReaderAt, size int64) (*stLayout, error) {
	first := make([]byte, min(8, size))
	if _, err := r.ReadAt(first, 0); err != nil {
		return nil, readError(path, err)
	}
	hlen, err := stHeaderLen(path, first, size)
	if err != nil {
		return nil, err
	}
	header := make([]byte, hlen)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, readError(path, err)
	}
	return parseSTHeader(path, header, size)
}

// stHeaderLen checks the header length in first, the first min(8, size)
// bytes of a file of size bytes, and returns it.
func stHeaderLen(path string, first []byte, size int64) (uint64, error) {
	if size < 8 {
		return 0, formatErrorf(path, "truncated: %d bytes is shorter than the 8-byte header length", size)
	}
	hlen := binary.LittleEndian.Uint64(first)
	if hlen > maxHeaderLen {
		return 0, formatErrorf(path, "bad header: length %d exceeds the %d limit", hlen, maxHeaderLen)
	}
	if hlen > uint64(size-8) {
		return 0, formatErrorf(path, "truncated: header needs bytes 8..%d but the file has %d", 8+hlen, size)
	}
	return hlen, nil
}

// parseSTHeader decodes the JSON header of a file of size bytes and checks
// every entry's dtype, shape and data offsets against it.
func parseSTHeader(path string, header []byte, size int64) (*stLayout, error) {
	if len(header) == 0 || header[0] != '{' {
		return nil, formatErrorf(path, "bad header: not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, formatErrorf(path, "bad header JSON: %v", err)
	}

	l := &stLayout{dataStart: 8 + uint64(len(header))}
	if m, ok := raw[metadataKey]; ok {
		if err := json.Unmarshal(m, &l.metadata); err != nil {
			return nil, formatErrorf(path, "bad header: %s: %v", metadataKey, err)
		}
		delete(raw, metadataKey)
	}

	// Decode entries in name order so that the first error is deterministic,
	// then check them in file order so that a truncation names the tensor
	// that straddles the end of the file.
	entries := make([]stEntry, 0, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		e := stEntry{name: name}
		if err := json.Unmarshal(raw[name], &e); err != nil {
			return nil, formatErrorf(path, "bad header: tensor %q: %v", name, err)
		}
		if e.Dtype == "" || e.Shape == nil || len(e.DataOffsets) != 2 {
			return nil, formatErrorf(path, "bad header: tensor %q needs dtype, shape and two data_offsets", name)
		}
		entries = append(entries, e)
	}
	slices.SortStableFunc(entries, func(x, y stEntry) int {
		if c := cmpUint64(x.DataOffsets[0], y.DataOffsets[0]); c != 0 {
			return c
		}
		return cmpUint64(x.DataOffsets[1], y.DataOffsets[1]) // empty tensors first
	})

	dataStart := l.dataStart
	bufLen := uint64(size) - dataStart
	var prevEnd uint64
	var prevName string
	for _, e := range entries {
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin > end {
			return nil, formatErrorf(path, "tensor %q: bad data_offsets [%d, %d]", e.name, begin, end)
		}
		if begin < prevEnd {
			return nil, formatErrorf(path, "tensors %q and %q overlap: data_offsets %d < %d", prevName, e.name, begin, prevEnd)
		}
		prevEnd, prevName = end, e.name

		es, known := dtypeSize[e.Dtype]
		if decoders[e.Dtype] == nil && !strings.HasSuffix(e.name, "num_batches_tracked") {
			return nil, formatErrorf(path, "tensor %q: unsupported dtype %q", e.name, e.Dtype)
		}
		n, ok := numel(*e.Shape, math.MaxInt64/8)
		if !ok {
			return nil, formatErrorf(path, "tensor %q: bad shape %v", e.name, *e.Shape)
		}
		if known && uint64(n*es) != end-begin {
			return nil, formatErrorf(path, "tensor %q: data_offsets [%d, %d] hold %d bytes but %s%v needs %d", e.name, begin, end, end-begin, e.Dtype, *e.Shape, n*es)
		}
		if end > bufLen {
			if begin > bufLen || end > math.MaxInt64-dataStart {
				return nil, formatErrorf(path, "tensor %q: data_offsets [%d, %d] out of range: the data buffer has %d bytes", e.name, begin, end, bufLen)
			}
			return nil, formatErrorf(path, "truncated: tensor %q needs bytes %d..%d but the file has %d", e.name, dataStart+begin, dataStart+end, uint64(size))
		}
	}
	l.entries = entries
	return l, nil
}

// decode converts the tensors of the checked layout l from b, the whole
// file. With alias, F32 data is used in place where the host's byte order
// and b's alignment allow.
func (l *stLayout) decode(path string, b []byte, alias bool) *File {
	f := &File{Path: path, Format: FormatSafetensors, Metadata: l.metadata}
	buf := b[l.dataStart:]
	for _, e := range l.entries {
		decode := decoders[e.Dtype]
		if decode == nil {
			continue // num_batches_tracked
		}
		src := buf[e.DataOffsets[0]:e.DataOffsets[1]]
		var data []float32
		if alias && littleEndian && e.Dtype == "F32" {
			data, _ = f32View(src)
		}
		if data == nil {
			data = make([]float32, len(src)/int(dtypeSize[e.Dtype]))
			decode(data, src)
		}
		f.Tensors = append(f.Tensors, Tensor{Name: e.name, Shape: intShape(*e.Shape), Data: data})
	}
	f.buildIndex() // JSON object keys are unique after decoding into a map
	return f
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decoders convert little-endian src of a dtype to dst; len(src) is
// len(dst) times the dtype size.
var decoders = map[string]func(dst []float32, src []byte){
	"F32":  decodeF32,
	"F16":  decodeF16,
	"BF16": decodeBF16,
	"F64":  decodeF64,
}

func decodeF32(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func decodeF64(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

// decodeBF16 widens bfloat16, the top half of a float32, exactly.
func decodeBF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

func decodeF16(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(f16ToF32Bits(binary.LittleEndian.Uint16(src[2*i:])))
	}
}

// f16ToF32Bits widens IEEE 754 binary16 h to binary32 bits exactly,
// including subnormals, infinities and NaN payloads.
func f16ToF32Bits(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // inf or NaN
		return sign | 0x7f800000 | mant<<13
	case exp != 0: // normal: rebias 15 -> 127
		return sign | (exp+127-15)<<23 | mant<<13
	case mant == 0: // ±0
		return sign
	}
	// Subnormal mant·2^-24: shift the leading 1 into the implicit bit.
	e := uint32(127 - 15 + 1)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return sign | e<<23 | (mant&0x3ff)<<13
}

// WriteSafetensors writes tensors as F32 to path, in the given order, with
// optional string metadata. The file is written to a temporary file in the
// same directory and renamed over path, so readers never see a partial file.
func WriteSafetensors(path string, tensors []Tensor, metadata map[string]string) (err error) {
	header, err := safetensorsHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	w := bufio.NewWriterSize(tmp, 1<<20)
	w.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(header))))
	w.Write(header)
	chunk := make([]byte, 0, 64<<10)
	for _, t := range tensors {
		for _, v := range t.Data {
			chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
			if len(chunk) == cap(chunk) {
				w.Write(chunk)
				chunk = chunk[:0]
			}
		}
	}
	w.Write(chunk)
	if err := w.Flush(); err != nil { // bufio.Writer keeps the first write error
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// safetensorsHeader builds the JSON header for tensors stored contiguously
// as F32 in order, padded with spaces to a multiple of 8 bytes so that the
// data buffer is aligned.
func safetensorsHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata) // keys sorted
		if err != nil {
			return nil, err
		}
		h.WriteString(`"` + metadataKey + `":`)
		h.Write(m)
	}
	seen := make(map[string]bool, len(tensors))
	var offset uint64
	for i, t := range tensors {
		if t.Name == "" || t.Name == metadataKey || seen[t.Name] {
			return nil, fmt.Errorf("tensor %d: bad or duplicate name %q", i, t.Name)
		}
		seen[t.Name] = true
		dims := make([]int64, len(t.Shape))
		for j, d := range t.Shape {
			dims[j] = int64(d)
		}
		if n, ok := numel(dims, math.MaxInt64/8); !ok || n != int64(len(t.Data)) {
			return nil, fmt.Errorf("tensor %q: shape %v does not hold its %d values", t.Name, t.Shape, len(t.Data))
		}
		if h.Len() > 1 {
			h.WriteByte(',')
		}
		name, err := json.Marshal(t.Name)
		if err != nil {
			return nil, err
		}
		h.Write(name)
		h.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(d))
		}
		end := offset + 4*uint64(len(t.Data))
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, offset, end)
		offset = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	return h.Bytes(), nil
}
