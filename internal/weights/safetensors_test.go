package weights

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// buildST assembles a safetensors file from a JSON header and a data buffer.
func buildST(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func le16(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

func le64(vs ...float64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func f32(bits uint32) float32 { return math.Float32frombits(bits) }

var (
	inf    = float32(math.Inf(1))
	negInf = float32(math.Inf(-1))
	negZ   = f32(0x80000000)
)

func TestWriteReadSafetensors(t *testing.T) {
	tests := []struct {
		name     string
		tensors  []Tensor
		metadata map[string]string
	}{
		{"empty", nil, nil},
		{
			name: "mixed",
			tensors: []Tensor{
				{"fc.weight", []int{2, 3}, []float32{1, -2, 0.1, 65504, float32(math.NaN()), inf}},
				{"fc.bias", []int{2}, []float32{negZ, f32(1)}}, // -0 and the smallest subnormal
				{"scalar", []int{}, []float32{42}},
				{"empty", []int{0, 3}, []float32{}},
				{`odd "name"/<&>é`, []int{1, 1, 1, 1}, []float32{3}},
			},
			metadata: map[string]string{"format": "pt", "arch": "v3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "head.safetensors")
			if err := WriteSafetensors(path, tt.tensors, tt.metadata); err != nil {
				t.Fatal(err)
			}
			got, err := ReadSafetensors(path)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			if got.Format != FormatSafetensors || got.Path != path {
				t.Errorf("got Format %q, Path %q", got.Format, got.Path)
			}
			if !reflect.DeepEqual(got.Metadata, tt.metadata) {
				t.Errorf("got metadata %v, want %v", got.Metadata, tt.metadata)
			}
			checkTensors(t, got, tt.tensors)

			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if hlen := binary.LittleEndian.Uint64(raw); (8+hlen)%8 != 0 {
				t.Errorf("data buffer starts at %d, want 8-byte alignment", 8+hlen)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
				t.Errorf("got mode %v, want 0644", fi.Mode().Perm())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("temp file left behind: %v", entries)
			}
		})
	}
}

func TestWriteSafetensorsErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		path    string
		tensors []Tensor
		want    string
	}{
		{"duplicate", "a.safetensors", []Tensor{{"x", []int{1}, []float32{1}}, {"x", []int{1}, []float32{1}}}, `duplicate name "x"`},
		{"empty name", "a.safetensors", []Tensor{{"", []int{1}, []float32{1}}}, `name ""`},
		{"metadata name", "a.safetensors", []Tensor{{"__metadata__", []int{1}, []float32{1}}}, `"__metadata__"`},
		{"shape mismatch", "a.safetensors", []Tensor{{"x", []int{2, 2}, []float32{1}}}, `tensor "x": shape [2 2] does not hold its 1 values`},
		{"negative dim", "a.safetensors", []Tensor{{"x", []int{-1}, []float32{1}}}, `tensor "x"`},
		{"missing directory", filepath.Join("nope", "a.safetensors"), nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.path)
			err := WriteSafetensors(path, tt.tensors, nil)
			if err == nil || !strings.HasPrefix(err.Error(), "write "+path+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want write %s: ...%s...", err, path, tt.want)
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists after a failed write", path)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestParseSafetensorsDtypes(t *testing.T) {
	tests := []struct {
		name  string
		dtype string
		data  []byte
		want  []float32
	}{
		{
			name:  "F16",
			dtype: "F16",
			// 0, 1, -2, 65504 (max), 2^-24 (min subnormal), 1023·2^-24 (max subnormal), 2^-14 (min normal), inf, -inf, -0, NaN
			data: le16(0x0000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x7e00),
			want: []float32{0, 1, -2, 65504, 0x1p-24, 1023 * 0x1p-24, 0x1p-14, inf, negInf, negZ, f32(0x7fc00000)},
		},
		{
			name:  "BF16",
			dtype: "BF16",
			// 0, 1, -2, 65280 (65504 is not a bf16), max finite, min subnormal, inf, NaN
			data: le16(0x0000, 0x3f80, 0xc000, 0x477f, 0x7f7f, 0x0001, 0x7f80, 0x7fc0),
			want: []float32{0, 1, -2, 65280, f32(0x7f7f0000), f32(0x00010000), inf, f32(0x7fc00000)},
		},
		{
			name:  "F64",
			dtype: "F64",
			data:  le64(0, 1, -2, 65504, math.SmallestNonzeroFloat32, math.Inf(1), 0.1, 1e300, 1e-50, -1e-50),
			want:  []float32{0, 1, -2, 65504, f32(1), inf, 0.1, inf, 0, negZ},
		},
		{
			name:  "F32",
			dtype: "F32",
			data:  binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 0x3f800000), 0x00000001),
			want:  []float32{1, f32(1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := `{"__metadata__":{"format":"pt"},"x":{"dtype":"` + tt.dtype + `","shape":[` + itoa(len(tt.want)) + `],"data_offsets":[0,` + itoa(len(tt.data)) + `]}}`
			f, err := ParseSafetensors("x.safetensors", buildST(header, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			checkTensors(t, f, []Tensor{{"x", []int{len(tt.want)}, tt.want}})
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestParseSafetensorsOrderAndSkip(t *testing.T) {
	header := `{
		"bn.num_batches_tracked": {"dtype": "I64", "shape": [], "data_offsets": [24, 32]},
		"b": {"dtype": "F32", "shape": [1], "data_offsets": [20, 24]},
		"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [4, 20]},
		"c": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
		"e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}
	}`
	data := append(le16(0x3c00, 0xc000), make([]byte, 28)...)
	binary.LittleEndian.PutUint32(data[20:], math.Float32bits(5))
	f, err := ParseSafetensors("x.safetensors", buildST(header, data))
	if err != nil {
		t.Fatal(err)
	}
	checkTensors(t, f, []Tensor{
		{"c", []int{2}, []float32{1, -2}},
		{"e", []int{0}, []float32{}},
		{"a", []int{2, 2}, []float32{0, 0, 0, 0}},
		{"b", []int{1}, []float32{5}},
	})
	if f.Metadata != nil {
		t.Errorf("got metadata %v, want nil", f.Metadata)
	}
}

func TestParseSafetensorsErrors(t *testing.T) {
	entry := func(name, dtype, shape string, begin, end int) string {
		return `"` + name + `":{"dtype":"` + dtype + `","shape":` + shape + `,"data_offsets":[` + itoa(begin) + `,` + itoa(end) + `]}`
	}
	data16 := make([]byte, 16)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "truncated: 3 bytes"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<40), "bad header: length 1099511627776 exceeds"},
		{"header past the end", binary.LittleEndian.AppendUint64(nil, 100), "truncated: header needs bytes 8..108 but the file has 8"},
		{"not an object", buildST(`[1,2]`, nil), "bad header: not a JSON object"},
		{"empty header", buildST(``, nil), "bad header: not a JSON object"},
		{"bad JSON", buildST(`{"x": {"dtype": "F32",}`, nil), "bad header JSON: invalid character"},
		{"trailing JSON", buildST(`{} {}`, nil), "bad header JSON"},
		{"entry not an object", buildST(`{"x": 3}`, nil), `bad header: tensor "x"`},
		{"missing offsets", buildST(`{"x":{"dtype":"F32","shape":[1]}}`, data16), `tensor "x" needs dtype, shape and two data_offsets`},
		{"missing shape", buildST(`{"x":{"dtype":"F32","data_offsets":[0,4]}}`, data16), `tensor "x" needs`},
		{"three offsets", buildST(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, data16), `tensor "x" needs`},
		{"negative offset", buildST(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, data16), `bad header: tensor "x": json: cannot unmarshal`},
		{"bad metadata", buildST(`{"__metadata__":{"n":1}}`, nil), "bad header: __metadata__"},
		{"unsupported dtype", buildST(`{`+entry("x", "I64", "[2]", 0, 16)+`}`, data16), `tensor "x": unsupported dtype "I64"`},
		{"unknown dtype", buildST(`{`+entry("x", "Q4", "[2]", 0, 16)+`}`, data16), `unsupported dtype "Q4"`},
		{"negative dim", buildST(`{`+entry("x", "F32", "[-1,4]", 0, 16)+`}`, data16), `tensor "x": bad shape [-1 4]`},
		{"huge shape", buildST(`{`+entry("x", "F32", "[4294967296,4294967296]", 0, 16)+`}`, data16), `tensor "x": bad shape`},
		{"size mismatch", buildST(`{`+entry("x", "F32", "[3]", 0, 16)+`}`, data16), `tensor "x": data_offsets [0, 16] hold 16 bytes but F32[3] needs 12`},
		{"skipped size mismatch", buildST(`{`+entry("n.num_batches_tracked", "I64", "[]", 0, 16)+`}`, data16), "hold 16 bytes but I64[] needs 8"},
		{"begin after end", buildST(`{`+entry("x", "F32", "[0]", 8, 4)+`}`, data16), `tensor "x": bad data_offsets [8, 4]`},
		{"overlap", buildST(`{`+entry("a", "F32", "[2]", 0, 8)+`,`+entry("b", "F32", "[2]", 4, 12)+`}`, data16), `tensors "a" and "b" overlap`},
		{"same region", buildST(`{`+entry("a", "F32", "[2]", 0, 8)+`,`+entry("b", "F32", "[2]", 0, 8)+`}`, data16), `tensors "a" and "b" overlap`},
		{"out of range", buildST(`{`+entry("x", "F32", "[2]", 1000, 1008)+`}`, data16), `tensor "x": data_offsets [1000, 1008] out of range: the data buffer has 16 bytes`},
		{"offset overflow", buildST(`{"x":{"dtype":"F32","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]}}`, data16), "out of range"},
		{"truncated data", buildST(`{`+entry("x", "F32", "[4]", 0, 16)+`}`, data16[:10]), `truncated: tensor "x" needs bytes 63..79 but the file has 73`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseSafetensors("m.safetensors", tt.in)
			if err == nil {
				t.Fatalf("got %d tensors, want an error containing %q", len(f.Tensors), tt.want)
			}
			checkFormatError(t, err, "m.safetensors", tt.want)
		})
	}
}

// TestParseSafetensorsTruncated cuts a written file at every byte; the last
// tensor ends at the end of the file, so every cut must be a FormatError.
func TestParseSafetensorsTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "small.safetensors")
	if err := WriteSafetensors(path, smallTensors(), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		f, err := ParseSafetensors(path, b[:n])
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("cut at %d of %d: got %v, %v, want a *FormatError", n, len(b), f, err)
		}
	}
}

func smallTensors() []Tensor {
	return []Tensor{
		{"conv.weight", []int{2, 1, 1, 2}, []float32{1, -2, 0.5, 3}},
		{"conv.bias", []int{2}, []float32{0.25, -0.25}},
	}
}
