package npy

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var outDir = flag.String("npy.out", "", "also write the Go-encoded arrays to this directory (gen_npy.py loads them with numpy)")

// testArrays mirrors ARRAYS in testdata/gen_npy.py.
var testArrays = []struct {
	name  string
	shape []int
}{
	{"scalar", []int{}},
	{"vec3", []int{3}},
	{"empty", []int{0}},
	{"long_axis", []int{12345678901, 0}},
	{"mat", []int{2, 3}},
	{"nchw", []int{1, 3, 8, 8}},
	{"aligned", []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 100}},
}

// testValues is values() in gen_npy.py: special floats, then a formula
// exact in float32.
func testValues(n int) []float32 {
	specials := []uint32{0x7fc00000, 0x7f800000, 0xff800000, 0x80000000, 0x00000001, 0x7f7fffff, 0x3eaaaaab}
	v := make([]float32, n)
	for i := range v {
		if i < len(specials) {
			v[i] = math.Float32frombits(specials[i])
		} else {
			v[i] = float32((i*7919)%1000)/8 - 60.5
		}
	}
	return v
}

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TestWriteMatchesNumpy writes each array and compares the bytes with what
// numpy 1.24's np.save wrote for it (testdata/*.npy).
func TestWriteMatchesNumpy(t *testing.T) {
	for _, a := range testArrays {
		t.Run(a.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", a.name+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := Write(&got, a.shape, testValues(product(a.shape))); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				n := min(len(want), 160)
				t.Errorf("Write differs from np.save:\n got %q\nwant %q", got.Bytes()[:min(got.Len(), n)], want[:n])
			}
			if got.Len()%64 != 4*product(a.shape)%64 {
				t.Errorf("header of %d bytes is not 64-aligned", got.Len()-4*product(a.shape))
			}
			if *outDir != "" {
				if err := os.WriteFile(filepath.Join(*outDir, a.name+".npy"), got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestNumpyLoadsGo checks the record gen_npy.py left after loading the Go
// writer's files with np.load.
func TestNumpyLoadsGo(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "numpy_loads_go.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Numpy  string
		Arrays map[string]struct {
			NpLoadOK bool `json:"np_load_ok"`
		}
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	for _, a := range testArrays {
		if r, ok := rec.Arrays[a.name]; !ok || !r.NpLoadOK {
			t.Errorf("%s: numpy %s did not load the Go-written file (record %+v)", a.name, rec.Numpy, r)
		}
	}
}

// TestReadNumpy reads numpy's files back, bit for bit.
func TestReadNumpy(t *testing.T) {
	for _, a := range testArrays {
		f, err := os.Open(filepath.Join("testdata", a.name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		shape, data, err := Read(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		if !reflect.DeepEqual(shape, a.shape) {
			t.Errorf("%s: shape %v, want %v", a.name, shape, a.shape)
		}
		want := testValues(product(a.shape))
		if len(data) != len(want) {
			t.Fatalf("%s: %d values, want %d", a.name, len(data), len(want))
		}
		for i := range data {
			if math.Float32bits(data[i]) != math.Float32bits(want[i]) {
				t.Errorf("%s[%d] = %v, want %v", a.name, i, data[i], want[i])
				break
			}
		}
	}
}

func TestWriteErrors(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, []int{2, 3}, make([]float32, 5)); err == nil {
		t.Error("Write accepted 5 values for shape [2 3]")
	}
	if err := Write(&b, []int{-1}, nil); err == nil {
		t.Error("Write accepted a negative dimension")
	}
	if err := Write(&b, make([]int, 30000), nil); err == nil {
		t.Error("Write accepted a header over 65535 bytes")
	}
}

func TestReadErrors(t *testing.T) {
	hdr := func(dict string) string {
		h := dict + "\n"
		return "\x93NUMPY\x01\x00" + string([]byte{byte(len(h)), byte(len(h) >> 8)}) + h
	}
	cases := []struct{ name, file, want string }{
		{"empty", "", "magic"},
		{"magic", "PK\x03\x04xxxxxxxx", "bad magic"},
		{"version", "\x93NUMPY\x04\x00\x00\x00", "version 4.0"},
		{"dtype", hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"), "<f8"},
		{"fortran", hdr("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"), "Fortran"},
		{"missing", hdr("{'descr': '<f4', 'shape': (2,), }"), "lacks"},
		{"key", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), "unexpected key"},
		{"dim", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }"), "bad dimension"},
		{"huge", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }"), "too large"},
		{"short", hdr("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }") + "\x00\x00\x00\x00", "read 4 values"},
	}
	for _, c := range cases {
		_, _, err := Read(strings.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	// Keys in another order and double quotes are fine, as for numpy.
	shape, data, err := Read(strings.NewReader(hdr(`{"shape": (1,), "fortran_order": False, "descr": "<f4"}`) + "\x00\x00\xc0\x3f"))
	if err != nil || !reflect.DeepEqual(shape, []int{1}) || data[0] != 1.5 {
		t.Errorf("reordered header: %v %v %v", shape, data, err)
	}
}

// FuzzRead checks that Read never panics and that what it accepts
// round-trips through Write.
func FuzzRead(f *testing.F) {
	for _, a := range testArrays {
		if b, err := os.ReadFile(filepath.Join("testdata", a.name+".npy")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		shape, data, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, shape, data); err != nil {
			t.Fatalf("Read gave shape %v and %d values that Write refuses: %v", shape, len(data), err)
		}
		shape2, data2, err := Read(&out)
		if err != nil || !reflect.DeepEqual(shape, shape2) || len(data) != len(data2) {
			t.Fatalf("round trip: %v %v %v", shape2, len(data2), err)
		}
	})
}
