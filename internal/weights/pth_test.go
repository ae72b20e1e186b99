package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The fixtures in testdata/*.pth come from testdata/gen_pth.py, which also
// writes what they must load as into testdata/pth_expected.json.

type pthExpected struct {
	Error          string `json:"error"`
	StrippedPrefix string `json:"stripped_prefix"`
	Tensors        []struct {
		Name   string    `json:"name"`
		Shape  []int     `json:"shape"`
		Values []float64 `json:"values"`
	} `json:"tensors"`
}

func loadPthExpected(t testing.TB) map[string]pthExpected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pth_expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]pthExpected
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("pth_expected.json lists no fixtures")
	}
	return want
}

func TestReadPyTorchFixtures(t *testing.T) {
	want := loadPthExpected(t)
	for _, name := range slices.Sorted(maps.Keys(want)) {
		w := want[name]
		path := filepath.Join("testdata", name)
		for _, read := range []struct {
			name string
			fn   func(string) (*File, error)
		}{{"ReadPyTorch", ReadPyTorch}, {"Open", Open}} {
			t.Run(name+"/"+read.name, func(t *testing.T) {
				f, err := read.fn(path)
				if w.Error != "" {
					if err == nil {
						t.Fatalf("got %d tensors, want an error containing %q", len(f.Tensors), w.Error)
					}
					checkFormatError(t, err, path, w.Error)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if f.Format != FormatPyTorch || f.Path != path {
					t.Errorf("got Format %q, Path %q", f.Format, f.Path)
				}
				if got := f.Metadata["stripped_prefix"]; got != w.StrippedPrefix {
					t.Errorf("got stripped_prefix %q, want %q", got, w.StrippedPrefix)
				}
				var tensors []Tensor
				for _, wt := range w.Tensors {
					data := make([]float32, len(wt.Values))
					for i, v := range wt.Values {
						data[i] = float32(v)
					}
					tensors = append(tensors, Tensor{wt.Name, wt.Shape, data})
				}
				checkTensors(t, f, tensors)
			})
		}
	}
}

// Pickle assembly for hand-made files, opcode by opcode.

func pcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func pStr(s string) []byte {
	return append(binary.LittleEndian.AppendUint32([]byte{opBinUnicode}, uint32(len(s))), s...)
}

func pInt(n int) []byte { return binary.LittleEndian.AppendUint32([]byte{opBinInt}, uint32(int32(n))) }

func pGlobal(module, name string) []byte { return []byte("c" + module + "\n" + name + "\n") }

func pTuple(items ...[]byte) []byte { return pcat([]byte{opMark}, pcat(items...), []byte{opTuple}) }

func pInts(ns ...int) []byte {
	var items [][]byte
	for _, n := range ns {
		items = append(items, pInt(n))
	}
	return pTuple(items...)
}

// pDict is an OrderedDict built the way torch.save writes a state dict.
func pDict(kv ...[]byte) []byte {
	return pcat(pGlobal("collections", "OrderedDict"), []byte{opEmptyTuple, opReduce, opMark}, pcat(kv...), []byte{opSetItems})
}

// pStorage is the persistent id of a zip-layout storage.
func pStorage(typ, key string, numel int) []byte {
	return pcat(pTuple(pStr("storage"), pGlobal("torch", typ), pStr(key), pStr("cpu"), pInt(numel)), []byte{opBinPersID})
}

// pTensor rebuilds a tensor the way torch.save writes one.
func pTensor(storage []byte, offset int, size, stride []int) []byte {
	return pcat(pGlobal("torch._utils", "_rebuild_tensor_v2"), pTuple(storage, pInt(offset), pInts(size...), pInts(stride...),
		[]byte{opNewFalse}, pGlobal("collections", "OrderedDict"), []byte{opEmptyTuple, opReduce}), []byte{opReduce})
}

func pPickle(body []byte) []byte { return pcat([]byte{opProto, 2}, body, []byte{opStop}) }

// torchZip lays records out as torch.save does, under the prefix "archive/".
func torchZip(t testing.TB, pkl []byte, records map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(b)
	}
	add("data.pkl", pkl)
	for _, k := range slices.Sorted(maps.Keys(records)) {
		add(k, records[k])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f32le(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestParsePyTorch(t *testing.T) {
	w := pTensor(pStorage("FloatStorage", "0", 6), 0, []int{2, 3}, []int{3, 1})
	data0 := map[string][]byte{"data/0": f32le(1, 2, 3, 4, 5, 6)}
	tests := []struct {
		name    string
		pkl     []byte
		records map[string][]byte
		want    []Tensor
		meta    map[string]string
	}{
		{"state dict", pDict(pStr("w"), w), data0, []Tensor{{"w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}}}, nil},
		{"model key", pcat([]byte{opEmptyDict}, pStr("epoch"), pInt(3), []byte{opSetItem}, pStr("model"), pDict(pStr("w"), w), []byte{opSetItem}),
			data0, []Tensor{{"w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}}}, nil},
		{"plain dict with STACK_GLOBAL and MEMOIZE", pcat([]byte{opEmptyDict, opMemoize}, pStr("torch._utils"), pStr("_rebuild_tensor"), []byte{opStackGlobal, opMemoize, opPop},
			pStr("a.w"), []byte{opBinGet, 1}, pTuple(pStorage("FloatStorage", "0", 6), pInt(2), pInts(2, 2), pInts(2, 1)), []byte{opReduce, opSetItem}),
			data0, []Tensor{{"a.w", []int{2, 2}, []float32{3, 4, 5, 6}}}, nil},
		{"parameter, size-1 dim with any stride", pDict(pStr("module.p"), pcat(pGlobal("torch._utils", "_rebuild_parameter"),
			pTuple(pTensor(pStorage("FloatStorage", "0", 6), 3, []int{3, 1}, []int{1, 99}), []byte{opNewTrue}, pDict()), []byte{opReduce})),
			data0, []Tensor{{"p", []int{3, 1}, []float32{4, 5, 6}}}, map[string]string{"stripped_prefix": "module."}},
		{"prefix kept unless on every key", pDict(pStr("module.a"), w, pStr("b"), w),
			data0, []Tensor{{"module.a", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}}, {"b", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}}}, nil},
		{"OrderedDict from pairs, empty tensor, num_batches_tracked", pcat(pGlobal("collections", "OrderedDict"),
			pTuple(pcat([]byte{opEmptyList, opMark}, pTuple(pStr("bn.num_batches_tracked"), pTensor(pStorage("LongStorage", "1", 1), 0, nil, nil)),
				pTuple(pStr("e"), pTensor(pStorage("HalfStorage", "2", 0), 0, []int{0, 5}, []int{9, 9})), []byte{opAppends})), []byte{opReduce}),
			map[string][]byte{"data/1": make([]byte, 8), "data/2": nil}, []Tensor{{"e", []int{0, 5}, []float32{}}}, nil},
		{"Python 2: OrderedDict from lists, BINSTRING keys, CUDA storage", pcat(pGlobal("collections", "OrderedDict"),
			pTuple(pcat([]byte{opEmptyList, opMark, opEmptyList, opMark, opShortBinString, 1, 'w'}, pcat(pGlobal("torch._utils", "_rebuild_tensor"),
				pTuple(pcat(pTuple(pStr("storage"), pGlobal("torch.cuda", "FloatStorage"), []byte{opBinString, 1, 0, 0, 0, '0'}, pStr("cuda:0"), pInt(6)), []byte{opBinPersID}),
					pInt(0), pInts(6), pInts(1)), []byte{opReduce}), []byte{opAppends, opAppends})), []byte{opReduce}),
			data0, []Tensor{{"w", []int{6}, []float32{1, 2, 3, 4, 5, 6}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParsePyTorch("x.pth", torchZip(t, pPickle(tt.pkl), tt.records))
			if err != nil {
				t.Fatal(err)
			}
			checkTensors(t, f, tt.want)
			if !maps.Equal(f.Metadata, tt.meta) {
				t.Errorf("got metadata %v, want %v", f.Metadata, tt.meta)
			}
		})
	}
}

func TestParsePyTorchErrors(t *testing.T) {
	refused := func(name string) string {
		return "refusing to load: the pickle calls " + name + ", which a weight file never needs"
	}
	call := func(module, name, arg string) []byte {
		return pcat(pGlobal(module, name), pTuple(pStr(arg)), []byte{opReduce})
	}
	w := pTensor(pStorage("FloatStorage", "0", 6), 0, []int{2, 3}, []int{3, 1})
	data0 := map[string][]byte{"data/0": f32le(1, 2, 3, 4, 5, 6)}
	tests := []struct {
		name    string
		pkl     []byte // the pickle without PROTO and STOP
		records map[string][]byte
		want    string
	}{
		{"os.system", call("os", "system", "echo pwned"), nil, refused("os.system")},
		{"posix.system", call("posix", "system", "echo pwned"), nil, refused("posix.system")},
		{"builtins.eval", call("builtins", "eval", "1"), nil, refused("builtins.eval")},
		{"builtins.exec", call("builtins", "exec", "1"), nil, refused("builtins.exec")},
		{"builtins.getattr", pGlobal("builtins", "getattr"), nil, refused("builtins.getattr")},
		{"subprocess.Popen", call("subprocess", "Popen", "sh"), nil, refused("subprocess.Popen")},
		{"__builtin__.eval", call("__builtin__", "eval", "1"), nil, refused("__builtin__.eval")},
		{"torch.load", call("torch", "load", "x"), nil, refused("torch.load")},
		{"_rebuild_from_type_v2", pGlobal("torch._utils", "_rebuild_from_type_v2"), nil, refused("torch._utils._rebuild_from_type_v2")},
		{"a model class", pGlobal("torchvision.models.googlenet", "GoogLeNet"), nil, refused("torchvision.models.googlenet.GoogLeNet")},
		{"STACK_GLOBAL os.system", pcat(pStr("os"), pStr("system"), []byte{opStackGlobal}), nil, refused("os.system")},
		{"STACK_GLOBAL control bytes", pcat(pStr("os\n"), pStr("sys\x00tem"), []byte{opStackGlobal}), nil, refused(`"os\n.sys\x00tem"`)},
		{"INST", []byte("ios\nsystem\n"), nil, refused("os.system")},
		{"INST allowed name", pcat([]byte{opMark}, []byte("icollections\nOrderedDict\n")), nil, "unsupported opcode INST"},
		{"nested in a dict", pDict(pStr("x"), call("os", "system", "echo pwned")), nil, refused("os.system")},
		{"storage type called", call("torch", "FloatStorage", "x"), nil, "not callable"},
		{"NEWOBJ on a function", pcat(pGlobal("torch._utils", "_rebuild_parameter"), []byte{opEmptyTuple, opNewObj}), nil, "NEWOBJ on torch._utils._rebuild_parameter"},
		{"call a str", pcat(pStr("x"), []byte{opEmptyTuple, opReduce}), nil, "cannot call a str"},
		{"EXT1", []byte{0x82, 1}, nil, "unsupported pickle opcode 0x82"},
		{"text INT", []byte("I1\n"), nil, "unsupported pickle opcode 0x49"},
		{"protocol 6", []byte{opProto, 6}, nil, "unsupported pickle protocol 6"},
		{"stack underflow", []byte{opTuple1}, nil, "stack underflow"},
		{"pop below MARK", []byte{opNone, opMark, opAppend}, nil, "stack underflow"},
		{"no MARK", []byte{opTuple}, nil, "no MARK"},
		{"memo miss", []byte{opBinGet, 7}, nil, "memo key 7 not found"},
		{"APPEND to a dict", []byte{opEmptyDict, opNone, opAppend}, nil, "APPEND to a dict"},
		{"SETITEM on a list", []byte{opEmptyList, opNone, opNone, opSetItem}, nil, "SETITEM on a list"},
		{"tuple key", pcat([]byte{opEmptyDict}, pInts(1), []byte{opNone, opSetItem}), nil, "unsupported dict key type tuple"},
		{"odd SETITEMS", pcat([]byte{opEmptyDict, opMark, opNone, opSetItems}), nil, "odd number of items"},
		{"BUILD on a list", []byte{opEmptyList, opNone, opBuild}, nil, "BUILD on a list"},
		{"huge BINUNICODE8", []byte{opBinUnicode8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, nil, "truncated: needs 9223372036854775807 more bytes"},
		{"huge FRAME", []byte{opFrame, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil, "truncated: frame"},
		{"not a dict", pStr("hello"), nil, "the pickle holds a str, not a state dict"},
		{"list", []byte{opEmptyList}, nil, "the pickle holds a list, not a state dict"},
		{"empty", pDict(), nil, "no float tensors"},
		{"int key", pcat([]byte{opEmptyDict}, pInt(1), w, []byte{opSetItem}), data0, "state dict key 1 is not a str"},
		{"non-tensor value", pDict(pStr("lr"), pInt(1)), nil, `key "lr" holds a int, not a tensor`},
		{"int64 weight", pDict(pStr("w"), pTensor(pStorage("LongStorage", "0", 3), 0, []int{3}, []int{1})), map[string][]byte{"data/0": make([]byte, 24)}, `tensor "w": unsupported dtype int64`},
		{"bool tensor", pDict(pStr("m"), pTensor(pStorage("BoolStorage", "0", 3), 0, []int{3}, []int{1})), map[string][]byte{"data/0": make([]byte, 3)}, `tensor "m": unsupported dtype bool`},
		{"missing record", pDict(pStr("w"), w), nil, `tensor "w": storage "0": no record archive/data/0`},
		{"short record", pDict(pStr("w"), w), map[string][]byte{"data/0": f32le(1, 2)}, "archive/data/0 holds 8 bytes, want 24"},
		{"past the storage", pDict(pStr("w"), pTensor(pStorage("FloatStorage", "0", 6), 1, []int{2, 3}, []int{3, 1})), data0, "at storage offset 1 does not fit its storage of 6"},
		{"negative size", pDict(pStr("w"), pTensor(pStorage("FloatStorage", "0", 6), 0, []int{-1}, []int{1})), data0, "does not fit"},
		{"negative offset", pDict(pStr("w"), pTensor(pStorage("FloatStorage", "0", 6), -1, []int{1}, []int{1})), data0, "bad storage offset -1"},
		{"transposed", pDict(pStr("w"), pTensor(pStorage("FloatStorage", "0", 6), 0, []int{3, 2}, []int{1, 3})), data0, `tensor "w": not contiguous`},
		{"rank mismatch", pDict(pStr("w"), pTensor(pStorage("FloatStorage", "0", 6), 0, []int{6}, []int{1, 1})), data0, "differ in rank"},
		{"storage retyped", pDict(pStr("a"), w, pStr("b"), pTensor(pStorage("HalfStorage", "0", 12), 0, []int{6}, []int{1})), data0,
			`storage "0" is both 6 float32 and 12 float16 elements`},
		{"bad persistent id", pcat(pTuple(pStr("storage")), []byte{opBinPersID}), nil, "persistent id is not a 5-tuple"},
		{"storage type not a storage", pcat(pTuple(pStr("storage"), pGlobal("torch._utils", "_rebuild_tensor"), pStr("0"), pStr("cpu"), pInt(1)), []byte{opBinPersID}), nil,
			"storage type is a torch._utils._rebuild_tensor"},
		{"negative numel", pcat(pStorage("FloatStorage", "0", -1)), nil, `storage "0": bad element count -1`},
		{"no STOP", []byte{opBinInt1}, nil, "truncated: no STOP"}, // BININT1 swallows the STOP
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParsePyTorch("x.pth", torchZip(t, pPickle(tt.pkl), tt.records))
			if err == nil {
				t.Fatalf("got %d tensors, want an error containing %q", len(f.Tensors), tt.want)
			}
			checkFormatError(t, err, "x.pth", tt.want)
		})
	}
}

func TestParsePyTorchContainers(t *testing.T) {
	w := pPickle(pDict(pStr("w"), pTensor(pStorage("FloatStorage", "0", 2), 0, []int{2}, []int{1})))
	good := torchZip(t, w, map[string][]byte{"data/0": f32le(1, 2)})
	zipWith := func(files map[string][]byte, method uint16) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, name := range slices.Sorted(maps.Keys(files)) {
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(files[name])
		}
		zw.Close()
		return buf.Bytes()
	}
	legacy, err := os.ReadFile(filepath.Join("testdata", "tiny_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	corruptCRC := bytes.Clone(good)
	corruptCRC[bytes.Index(corruptCRC, f32le(1, 2))] ^= 1

	tests := []struct {
		name string
		in   []byte
		want string // "" for success with tensor w = [1 2]
	}{
		{"deflated zip", zipWith(map[string][]byte{"m/data.pkl": w, "m/data/0": f32le(1, 2)}, zip.Deflate), ""},
		{"little byteorder", zipWith(map[string][]byte{"m/data.pkl": w, "m/data/0": f32le(1, 2), "m/byteorder": []byte("little")}, zip.Store), ""},
		{"big byteorder", zipWith(map[string][]byte{"m/data.pkl": w, "m/data/0": {0x3f, 0x80, 0, 0, 0x40, 0, 0, 0}, "m/byteorder": []byte("big")}, zip.Store), ""},
		{"root data.pkl", zipWith(map[string][]byte{"data.pkl": w, "data/0": f32le(1, 2)}, zip.Store), ""},
		{"odd byteorder", zipWith(map[string][]byte{"m/data.pkl": w, "m/byteorder": []byte("middle")}, zip.Store), `unknown byte order "middle"`},
		{"no data.pkl", zipWith(map[string][]byte{"m/other.pkl": w}, zip.Store), "has 0 <prefix>/data.pkl records"},
		{"two data.pkl", zipWith(map[string][]byte{"a/data.pkl": w, "b/data.pkl": w}, zip.Store), "has 2 <prefix>/data.pkl records"},
		{"corrupt storage", corruptCRC, "archive/data/0: zip: checksum error"},
		{"not a zip", []byte("PK\x03\x04 this is not a zip"), "bad zip archive"},
		{"not torch", []byte("hello"), "not a torch.save file"},
		{"empty", nil, "not a torch.save file"},
		{"raw pickle", pPickle([]byte{opNone}), "not a torch.save file: the first pickle is a None, not the legacy magic number"},
		{"legacy version", pcat(legacy[:15], pPickle(pInt(1000))), "unsupported legacy protocol version 1000"},
		{"legacy sys info", pcat(legacy[:21], pPickle(pInt(1))), "sys info is a int, not a dict"},
		{"legacy trailing garbage", pcat(legacy, []byte("xyz")), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParsePyTorch("x.pth", tt.in)
			if tt.want != "" {
				if err == nil {
					t.Fatalf("got %d tensors, want an error containing %q", len(f.Tensors), tt.want)
				}
				checkFormatError(t, err, "x.pth", tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(tt.name, "legacy") {
				return
			}
			checkTensors(t, f, []Tensor{{"w", []int{2}, []float32{1, 2}}})
		})
	}
}

// pthFixtures returns the fixture files, by name.
func pthFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.pth"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata/*.pth fixtures: %v", err)
	}
	m := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(p)] = b
	}
	return m
}

// TestParsePyTorchTruncated cuts every fixture at every byte. Neither layout
// can end early: a zip's directory is at its end, and a legacy file ends
// with its last storage.
func TestParsePyTorchTruncated(t *testing.T) {
	for name, b := range pthFixtures(t) {
		t.Run(name, func(t *testing.T) {
			for n := range len(b) {
				f, err := ParsePyTorch(name, b[:n])
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("cut at %d of %d: got %v, %v, want a *FormatError", n, len(b), f, err)
				}
				if strings.Contains(fe.Msg, "\n") {
					t.Fatalf("cut at %d: multi-line message %q", n, fe.Msg)
				}
			}
		})
	}
}

// TestParsePyTorchCorrupted flips each byte of each fixture in turn. No flip
// may panic or yield a broken File; in a zip the pickle and the storages
// are covered by CRCs, so a flip in them must be an error.
func TestParsePyTorchCorrupted(t *testing.T) {
	for name, b := range pthFixtures(t) {
		t.Run(name, func(t *testing.T) {
			covered := make([]bool, len(b))
			if bytes.HasPrefix(b, zipMagic) {
				zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
				if err != nil {
					t.Fatal(err)
				}
				for _, zf := range zr.File {
					if !strings.Contains(zf.Name, "/data") {
						continue // e.g. archive/version, which torch reads but we do not
					}
					off, err := zf.DataOffset()
					if err != nil {
						t.Fatal(err)
					}
					for i := off; i < off+int64(zf.CompressedSize64); i++ {
						covered[i] = true
					}
				}
			}
			c := bytes.Clone(b)
			for i := range c {
				c[i] ^= 0xff
				f, err := ParsePyTorch(name, c)
				c[i] ^= 0xff
				checkParsed(t, f, err)
				if covered[i] && err == nil {
					t.Errorf("flipped byte %d, inside a zip record, was not detected", i)
				}
			}
		})
	}
}

func TestOpenPyTorch(t *testing.T) {
	fixtures := pthFixtures(t)
	dir := t.TempDir()
	tests := []struct {
		name, file, fixture string
		want                string // "" for success
	}{
		{"zip without extension", "weights", "tiny.pth", ""},
		{"zip as .bin", "pytorch_model.bin", "tiny.pth", ""},
		{"zip as .caffemodel", "x.caffemodel", "tiny.pth", ""},
		{"legacy as .pt", "x.pt", "tiny_legacy.pth", ""},
		{"legacy without extension", "x", "tiny_legacy.pth", ""},
		{"raw evil pickle as .pth", "x.pth", "evil_raw.pth", "refusing to load"},
		{"raw evil pickle as .PT", "x.PT", "evil_raw.pth", "refusing to load"},
		{"raw evil pickle without extension", "x", "evil_raw.pth", "unrecognised weight format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, fixtures[tt.fixture], 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(path)
			f, err := Open(path)
			if tt.want != "" {
				checkFormatError(t, err, path, tt.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != FormatPyTorch || len(f.Tensors) == 0 {
				t.Errorf("got format %q with %d tensors", f.Format, len(f.Tensors))
			}
		})
	}
}

func TestDecodeLong(t *testing.T) {
	tests := []struct {
		in   []byte
		want int64
	}{
		{nil, 0},
		{[]byte{0xff}, -1},
		{[]byte{0x7f}, 127},
		{[]byte{0x80}, -128},
		{[]byte{0x00, 0x80}, -32768},
		{[]byte{0xff, 0x00}, 255},
		{[]byte{1, 0, 0, 0, 0, 0, 0, 0x80}, math.MinInt64 + 1},
	}
	for _, tt := range tests {
		if got := decodeLong(tt.in); got != tt.want {
			t.Errorf("decodeLong(%x) = %v, want %d", tt.in, got, tt.want)
		}
	}
	if got, ok := decodeLong(legacyPrefix[4:]).(interface{ String() string }); !ok || got.String() != legacyMagic.String() {
		t.Errorf("decodeLong(magic) = %v, want %v", got, legacyMagic)
	}
	if got := decodeLong([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff}); got.(interface{ String() string }).String() != "-18446744073709551616" {
		t.Errorf("decodeLong(9-byte -2^64) = %v", got)
	}
}

// TestAllowedGlobals pins the allow-list: widening it is a security decision
// that must show up in review.
func TestAllowedGlobals(t *testing.T) {
	want := []string{
		"collections.OrderedDict",
		"torch.BFloat16Storage", "torch.BoolStorage", "torch.ByteStorage", "torch.CharStorage", "torch.DoubleStorage",
		"torch.FloatStorage", "torch.HalfStorage", "torch.IntStorage", "torch.LongStorage", "torch.ShortStorage",
		"torch._utils._rebuild_parameter", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
		"torch.cuda.BFloat16Storage", "torch.cuda.BoolStorage", "torch.cuda.ByteStorage", "torch.cuda.CharStorage", "torch.cuda.DoubleStorage",
		"torch.cuda.FloatStorage", "torch.cuda.HalfStorage", "torch.cuda.IntStorage", "torch.cuda.LongStorage", "torch.cuda.ShortStorage",
		"torch.device",
	}
	if got := slices.Sorted(maps.Keys(allowedGlobals)); !slices.Equal(got, want) {
		t.Errorf("got allow-list\n%q\nwant\n%q", got, want)
	}
}
