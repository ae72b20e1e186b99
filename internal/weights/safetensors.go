package weights

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
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

// ReadSafetensors reads a safetensors file. See ParseSafetensors.
func ReadSafetensors(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ParseSafetensors(path, b)
}

// stEntry is one tensor of a safetensors header.
type stEntry struct {
	name        string
	Dtype       string   `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// ParseSafetensors decodes b, a safetensors file: an 8-byte little-endian
// header length N, N bytes of JSON mapping tensor names to dtype, shape and
// data_offsets (relative to the byte buffer after the header), then the byte
// buffer. F32, F16, BF16 and F64 tensors are converted to float32 (F16 and
// BF16 exactly, F64 rounded to nearest); tensors of other dtypes are skipped
// if their name ends in "num_batches_tracked" and rejected otherwise.
// Tensors come in data-offset order. All errors are *FormatError; path is
// used only in errors and File.Path.
func ParseSafetensors(path string, b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, formatErrorf(path, "truncated: %d bytes is shorter than the 8-byte header length", len(b))
	}
	hlen := binary.LittleEndian.Uint64(b)
	if hlen > maxHeaderLen {
		return nil, formatErrorf(path, "bad header: length %d exceeds the %d limit", hlen, maxHeaderLen)
	}
	if hlen > uint64(len(b)-8) {
		return nil, formatErrorf(path, "truncated: header needs bytes 8..%d but the file has %d", 8+hlen, len(b))
	}
	header, buf := b[8:8+hlen], b[8+hlen:]
	if len(header) == 0 || header[0] != '{' {
		return nil, formatErrorf(path, "bad header: not a JSON object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, formatErrorf(path, "bad header JSON: %v", err)
	}

	f := &File{Path: path, Format: FormatSafetensors}
	if m, ok := raw[metadataKey]; ok {
		if err := json.Unmarshal(m, &f.Metadata); err != nil {
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

	dataStart := 8 + hlen
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

		size, known := dtypeSize[e.Dtype]
		decode := decoders[e.Dtype]
		if decode == nil && !strings.HasSuffix(e.name, "num_batches_tracked") {
			return nil, formatErrorf(path, "tensor %q: unsupported dtype %q", e.name, e.Dtype)
		}
		n, ok := numel(*e.Shape, math.MaxInt64/8)
		if !ok {
			return nil, formatErrorf(path, "tensor %q: bad shape %v", e.name, *e.Shape)
		}
		if known && uint64(n*size) != end-begin {
			return nil, formatErrorf(path, "tensor %q: data_offsets [%d, %d] hold %d bytes but %s%v needs %d", e.name, begin, end, end-begin, e.Dtype, *e.Shape, n*size)
		}
		if end > uint64(len(buf)) {
			if begin > uint64(len(buf)) || end > math.MaxInt64-dataStart {
				return nil, formatErrorf(path, "tensor %q: data_offsets [%d, %d] out of range: the data buffer has %d bytes", e.name, begin, end, len(buf))
			}
			return nil, formatErrorf(path, "truncated: tensor %q needs bytes %d..%d but the file has %d", e.name, dataStart+begin, dataStart+end, len(b))
		}
		if decode == nil {
			continue // num_batches_tracked
		}
		data := make([]float32, n)
		decode(data, buf[begin:end])
		f.Tensors = append(f.Tensors, Tensor{Name: e.name, Shape: intShape(*e.Shape), Data: data})
	}
	f.buildIndex() // JSON object keys are unique after decoding into a map
	return f, nil
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
