package weights

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// googlenetPath is the real BVLC GoogLeNet caffemodel, outside the repo
// (/work/shared next to /work/main); tests skip when it is absent.
var googlenetPath = filepath.Join("..", "..", "..", "shared", "weights", "bvlc_googlenet", "bvlc_googlenet.caffemodel")

// blobSpec describes a BlobProto to encode.
type blobSpec struct {
	shape        []int64 // BlobShape.dim; nil for no shape field
	unpackedDims bool
	legacy       []int64 // num, channels, height, width; nil for none
	data         []float32
	unpacked     bool // data as repeated fixed32 rather than packed
	double       bool // data as double_data instead of data
	split        bool // packed data in two chunks (protobuf concatenates them)
}

func encBlob(s blobSpec) []byte {
	var b []byte
	b = protowire.AppendTag(b, 6, protowire.BytesType) // diff: ignored
	b = protowire.AppendBytes(b, nil)
	for i, d := range s.legacy {
		b = protowire.AppendTag(b, protowire.Number(blobNumField+i), protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	if s.shape != nil {
		var sh []byte
		sh = protowire.AppendTag(sh, 9, protowire.VarintType) // unknown field
		sh = protowire.AppendVarint(sh, 7)
		if s.unpackedDims {
			for _, d := range s.shape {
				sh = protowire.AppendTag(sh, shapeDimField, protowire.VarintType)
				sh = protowire.AppendVarint(sh, uint64(d))
			}
		} else {
			var p []byte
			for _, d := range s.shape {
				p = protowire.AppendVarint(p, uint64(d))
			}
			sh = protowire.AppendTag(sh, shapeDimField, protowire.BytesType)
			sh = protowire.AppendBytes(sh, p)
		}
		b = protowire.AppendTag(b, blobShapeField, protowire.BytesType)
		b = protowire.AppendBytes(b, sh)
	}
	switch {
	case s.double && s.unpacked:
		for _, v := range s.data {
			b = protowire.AppendTag(b, blobDoubleDataField, protowire.Fixed64Type)
			b = protowire.AppendFixed64(b, math.Float64bits(float64(v)))
		}
	case s.double:
		var p []byte
		for _, v := range s.data {
			p = protowire.AppendFixed64(p, math.Float64bits(float64(v)))
		}
		b = protowire.AppendTag(b, blobDoubleDataField, protowire.BytesType)
		b = protowire.AppendBytes(b, p)
	case s.unpacked:
		for _, v := range s.data {
			b = protowire.AppendTag(b, blobDataField, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(v))
		}
	default:
		chunks := [][]float32{s.data}
		if s.split && len(s.data) > 1 {
			chunks = [][]float32{s.data[:1], s.data[1:]}
		}
		for _, c := range chunks {
			var p []byte
			for _, v := range c {
				p = protowire.AppendFixed32(p, math.Float32bits(v))
			}
			b = protowire.AppendTag(b, blobDataField, protowire.BytesType)
			b = protowire.AppendBytes(b, p)
		}
	}
	return b
}

// encLayer encodes a LayerParameter (typ is a string) or, when typ is an
// int, a V1LayerParameter, as a NetParameter field.
func encLayer(name string, typ any, blobs ...blobSpec) []byte {
	var l []byte
	num := protowire.Number(netLayerField)
	switch typ := typ.(type) {
	case string:
		l = protowire.AppendTag(l, layerNameField, protowire.BytesType)
		l = protowire.AppendString(l, name)
		l = protowire.AppendTag(l, layerTypeField, protowire.BytesType)
		l = protowire.AppendString(l, typ)
		l = protowire.AppendTag(l, 3, protowire.BytesType) // bottom
		l = protowire.AppendString(l, "data")
		for _, s := range blobs {
			l = protowire.AppendTag(l, layerBlobsField, protowire.BytesType)
			l = protowire.AppendBytes(l, encBlob(s))
		}
	case int:
		num = netLayersField
		l = protowire.AppendTag(l, 2, protowire.BytesType) // bottom
		l = protowire.AppendString(l, "data")
		l = protowire.AppendTag(l, v1NameField, protowire.BytesType)
		l = protowire.AppendString(l, name)
		l = protowire.AppendTag(l, v1TypeField, protowire.VarintType)
		l = protowire.AppendVarint(l, uint64(typ))
		for _, s := range blobs {
			l = protowire.AppendTag(l, v1BlobsField, protowire.BytesType)
			l = protowire.AppendBytes(l, encBlob(s))
		}
		l = protowire.AppendTag(l, 7, protowire.Fixed32Type) // blobs_lr
		l = protowire.AppendFixed32(l, math.Float32bits(1))
	}
	l = protowire.AppendTag(l, 5000, protowire.StartGroupType) // unknown group
	l = protowire.AppendTag(l, 1, protowire.VarintType)
	l = protowire.AppendVarint(l, 1)
	l = protowire.AppendTag(l, 5000, protowire.EndGroupType)
	var b []byte
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, l)
}

// encNet encodes a NetParameter with a name, an input_dim and the layers.
func encNet(layers ...[]byte) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "TestNet")
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, 224)
	for _, l := range layers {
		b = append(b, l...)
	}
	return b
}

const (
	v1Convolution = 4
	v1ReLU        = 18
)

func seq(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i) - 0.5
	}
	return s
}

func TestParseCaffeModel(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []Tensor
	}{
		{
			name: "layer with shape, packed",
			in: encNet(
				encLayer("data", "Input"),
				encLayer("conv1", "Convolution",
					blobSpec{shape: []int64{2, 3, 1, 2}, data: seq(12)},
					blobSpec{shape: []int64{2}, data: []float32{1, -1}}),
				encLayer("relu1", "ReLU"),
				encLayer("fc", "InnerProduct",
					blobSpec{shape: []int64{3, 4}, data: seq(12)},
					blobSpec{shape: []int64{3}, data: []float32{0, 1, 2}})),
			want: []Tensor{
				{"conv1.weight", []int{2, 3, 1, 2}, seq(12)},
				{"conv1.bias", []int{2}, []float32{1, -1}},
				{"fc.weight", []int{3, 4}, seq(12)},
				{"fc.bias", []int{3}, []float32{0, 1, 2}},
			},
		},
		{
			name: "layer with shape, unpacked",
			in: encNet(encLayer("conv1", "Convolution",
				blobSpec{shape: []int64{1, 1, 2, 2}, unpackedDims: true, unpacked: true, data: seq(4)})),
			want: []Tensor{{"conv1.weight", []int{1, 1, 2, 2}, seq(4)}},
		},
		{
			name: "packed data in two chunks",
			in:   encNet(encLayer("fc", "InnerProduct", blobSpec{shape: []int64{2, 3}, data: seq(6), split: true})),
			want: []Tensor{{"fc.weight", []int{2, 3}, seq(6)}},
		},
		{
			name: "V1 layers with legacy dims",
			in: encNet(
				encLayer("conv1", v1Convolution,
					blobSpec{legacy: []int64{2, 3, 1, 2}, data: seq(12)},
					blobSpec{legacy: []int64{1, 1, 1, 2}, data: []float32{1, -1}}),
				encLayer("relu1", v1ReLU),
				encLayer("loss3/classifier", v1InnerProduct,
					blobSpec{legacy: []int64{1, 1, 3, 4}, data: seq(12), unpacked: true},
					blobSpec{legacy: []int64{1, 1, 1, 3}, data: []float32{0, 1, 2}})),
			want: []Tensor{
				{"conv1.weight", []int{2, 3, 1, 2}, seq(12)},
				{"conv1.bias", []int{2}, []float32{1, -1}},
				{"loss3/classifier.weight", []int{3, 4}, seq(12)},
				{"loss3/classifier.bias", []int{3}, []float32{0, 1, 2}},
			},
		},
		{
			name: "legacy dims in a current layer",
			in: encNet(
				encLayer("conv1", "Convolution", blobSpec{legacy: []int64{1, 1, 1, 3}, data: seq(3)}),
				encLayer("fc", "InnerProduct",
					blobSpec{legacy: []int64{1, 1, 2, 3}, data: seq(6)},
					blobSpec{legacy: []int64{1, 1, 1, 2}, data: seq(2)})),
			want: []Tensor{
				{"conv1.weight", []int{1, 1, 1, 3}, seq(3)}, // conv weights stay 4-D
				{"fc.weight", []int{2, 3}, seq(6)},
				{"fc.bias", []int{2}, seq(2)},
			},
		},
		{
			name: "shape wins over legacy dims",
			in:   encNet(encLayer("fc", "InnerProduct", blobSpec{shape: []int64{1, 1, 2, 3}, legacy: []int64{1, 1, 2, 3}, data: seq(6)})),
			want: []Tensor{{"fc.weight", []int{1, 1, 2, 3}, seq(6)}},
		},
		{
			name: "double_data",
			in: encNet(encLayer("fc", "InnerProduct",
				blobSpec{shape: []int64{2, 2}, double: true, data: []float32{1, -2, 0.1, 65504}},
				blobSpec{shape: []int64{2}, double: true, unpacked: true, data: []float32{3, 4}})),
			want: []Tensor{
				{"fc.weight", []int{2, 2}, []float32{1, -2, 0.1, 65504}},
				{"fc.bias", []int{2}, []float32{3, 4}},
			},
		},
		{
			name: "extra blobs and no dims",
			in: encNet(encLayer("bn", "BatchNorm",
				blobSpec{shape: []int64{2}, data: seq(2)},
				blobSpec{shape: []int64{2}, data: seq(2)},
				blobSpec{data: []float32{7}})),
			want: []Tensor{
				{"bn.weight", []int{2}, seq(2)},
				{"bn.bias", []int{2}, seq(2)},
				{"bn.blob2", []int{1}, []float32{7}},
			},
		},
		{
			name: "empty blob",
			in:   encNet(encLayer("x", "Scale", blobSpec{shape: []int64{0, 3}})),
			want: []Tensor{{"x.weight", []int{0, 3}, nil}},
		},
		{
			name: "unpacked data in runs",
			in:   encNet(rawLayer("fc", "InnerProduct", unpackedRunsBlob())),
			want: []Tensor{{"fc.weight", []int{7}, seq(7)}},
		},
		{
			name: "layer and layers mixed",
			in: encNet(
				encLayer("a", v1Convolution, blobSpec{legacy: []int64{1, 1, 1, 1}, data: seq(1)}),
				encLayer("b", "Convolution", blobSpec{shape: []int64{1, 1, 1, 1}, data: seq(1)})),
			want: []Tensor{
				{"a.weight", []int{1, 1, 1, 1}, seq(1)},
				{"b.weight", []int{1, 1, 1, 1}, seq(1)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCaffeModel("x.caffemodel", tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != FormatCaffeModel || got.Path != "x.caffemodel" {
				t.Errorf("got Format %q, Path %q", got.Format, got.Path)
			}
			checkTensors(t, got, tt.want)
		})
	}
}

// rawLayer encodes a LayerParameter with already encoded BlobProtos as a
// NetParameter field.
func rawLayer(name, typ string, blobs ...[]byte) []byte {
	var l []byte
	l = protowire.AppendTag(l, layerNameField, protowire.BytesType)
	l = protowire.AppendString(l, name)
	l = protowire.AppendTag(l, layerTypeField, protowire.BytesType)
	l = protowire.AppendString(l, typ)
	for _, b := range blobs {
		l = protowire.AppendTag(l, layerBlobsField, protowire.BytesType)
		l = protowire.AppendBytes(l, b)
	}
	return protowire.AppendBytes(protowire.AppendTag(nil, netLayerField, protowire.BytesType), l)
}

// unpackedRunsBlob encodes seq(7) with shape [7] as unpacked data fields whose
// tags change length (a valid overlong varint) or are interrupted by another
// field, then a packed chunk, with a double_data value that the float data
// overrides.
func unpackedRunsBlob() []byte {
	v := seq(7)
	tag := protowire.AppendTag(nil, blobDataField, protowire.Fixed32Type)
	long := []byte{tag[0] | 0x80, 0x00} // the same tag in two bytes
	var b []byte
	b = protowire.AppendTag(b, blobShapeField, protowire.BytesType)
	b = protowire.AppendBytes(b, protowire.AppendBytes(protowire.AppendTag(nil, shapeDimField, protowire.BytesType), []byte{7}))
	for i, tg := range [][]byte{tag, tag, long, long, nil, tag} {
		if tg == nil { // another field in between; no value
			b = protowire.AppendTag(b, 20, protowire.VarintType)
			b = protowire.AppendVarint(b, 1)
			continue
		}
		b = append(b, tg...)
		b = protowire.AppendFixed32(b, math.Float32bits(v[min(i, 4)]))
	}
	b = protowire.AppendTag(b, blobDoubleDataField, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(99))
	b = protowire.AppendTag(b, blobDataField, protowire.BytesType)
	b = protowire.AppendBytes(b, protowire.AppendFixed32(protowire.AppendFixed32(nil, math.Float32bits(v[5])), math.Float32bits(v[6])))
	return b
}

// checkTensors compares f.Tensors with want (NaN-aware, Data nil == empty),
// reading each through Lookup so that lazily decoded Data is filled in, and
// checks that Lookup finds every name.
func checkTensors(t *testing.T, f *File, want []Tensor) {
	t.Helper()
	if len(f.Tensors) != len(want) {
		t.Fatalf("got %d tensors %v, want %d", len(f.Tensors), names(f), len(want))
	}
	for i, w := range want {
		if p, ok := f.Lookup(w.Name); !ok || p != &f.Tensors[i] {
			t.Errorf("Lookup(%q) = %p, %v, want %p", w.Name, p, ok, &f.Tensors[i])
		}
		g := f.Tensors[i]
		if g.Name != w.Name || !reflect.DeepEqual(g.Shape, w.Shape) || !sameFloats(g.Data, w.Data) {
			t.Errorf("tensor %d: got %s %v %v, want %s %v %v", i, g.Name, g.Shape, g.Data, w.Name, w.Shape, w.Data)
		}
	}
	if _, ok := f.Lookup("no such tensor"); ok {
		t.Error("Lookup of a missing name succeeded")
	}
}

func names(f *File) []string {
	var s []string
	for _, t := range f.Tensors {
		s = append(s, t.Name)
	}
	return s
}

// sameFloats compares bit patterns, so NaN equals NaN and -0 differs from 0.
func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestParseCaffeModelErrors(t *testing.T) {
	garbageBlob := func(b []byte) []byte { // a layer "bad" whose only blob is b
		var l []byte
		l = protowire.AppendTag(l, layerNameField, protowire.BytesType)
		l = protowire.AppendString(l, "bad")
		l = protowire.AppendTag(l, layerBlobsField, protowire.BytesType)
		l = protowire.AppendBytes(l, b)
		return protowire.AppendBytes(protowire.AppendTag(nil, netLayerField, protowire.BytesType), l)
	}
	tests := []struct {
		name string
		in   []byte
		want string // substring of the message
	}{
		{"empty file", nil, "no layer with parameter blobs"},
		{"no blobs", encNet(encLayer("relu", "ReLU")), "no layer with parameter blobs"},
		{"short data", encNet(encLayer("ok", "ReLU"), encLayer("fc", "InnerProduct", blobSpec{shape: []int64{2, 3}, data: seq(5)})),
			`layer 1 "fc" blob 0: data has 5 values but shape [2 3] needs 6`},
		{"long legacy data", encNet(encLayer("fc", v1InnerProduct, blobSpec{legacy: []int64{1, 1, 2, 3}, data: seq(7)})),
			`layer 0 "fc" blob 0: data has 7 values but shape [2 3] needs 6`},
		{"negative dim", encNet(encLayer("c", "Convolution", blobSpec{shape: []int64{-1, 2}, data: seq(2)})), "invalid count"},
		{"huge dims", encNet(encLayer("c", "Convolution", blobSpec{shape: []int64{1 << 40, 1 << 40, 1 << 40}, data: seq(2)})), "invalid count"},
		{"duplicate", encNet(encLayer("c", "Convolution", blobSpec{data: seq(1)}), encLayer("c", "Convolution", blobSpec{data: seq(1)})), `duplicate tensor "c.weight"`},
		{"no name", encNet(encLayer("", "Convolution", blobSpec{data: seq(1)})), "layer 0: has blobs but no name"},
		{"packed data not a multiple of 4", garbageBlob(protowire.AppendBytes(protowire.AppendTag(nil, blobDataField, protowire.BytesType), []byte{1, 2, 3})),
			`layer 0 "bad" blob 0: packed data has 3 bytes`},
		{"packed double_data not a multiple of 8", garbageBlob(protowire.AppendBytes(protowire.AppendTag(nil, blobDoubleDataField, protowire.BytesType), []byte{1, 2, 3, 4})),
			"packed double_data has 4 bytes"},
		{"bad wire type", []byte{0x0f}, "net: field 1: bad protobuf"},
		{"field number 0", []byte{0x00}, "net: bad protobuf"},
		{"text prototxt", []byte("name: \"GoogleNet\"\nlayer {\n"), "bad protobuf"},
		{"truncated layer", encNet(encLayer("conv1", "Convolution", blobSpec{shape: []int64{2}, data: seq(2)}))[:30], `layer 0 "conv1": truncated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCaffeModel("x.caffemodel", tt.in)
			checkFormatError(t, err, "x.caffemodel", tt.want)
		})
	}
}

// checkFormatError checks that err is a one-line *FormatError for path whose
// message contains want.
func checkFormatError(t *testing.T, err error, path, want string) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("got error %v (%T), want a *FormatError", err, err)
	}
	if fe.Path != path || !strings.Contains(fe.Msg, want) {
		t.Errorf("got %q, want path %q and a message containing %q", err, path, want)
	}
	if got := err.Error(); got != path+": "+fe.Msg || strings.ContainsAny(got, "\r\n") {
		t.Errorf("Error() = %q, want %q on one line", got, path+": "+fe.Msg)
	}
}

// TestParseCaffeModelTruncated cuts files at every byte. A file whose only
// parametrised layer comes last must always fail: protobuf has no end
// marker, but the layer's length prefix does not fit. A cut between two
// layers is a valid shorter net, so for the two-layer file a prefix of the
// tensors is also accepted.
func TestParseCaffeModelTruncated(t *testing.T) {
	one := encNet(encLayer("relu", "ReLU"), encLayer("fc", "InnerProduct",
		blobSpec{shape: []int64{2, 3}, data: seq(6)}, blobSpec{legacy: []int64{1, 1, 1, 2}, data: seq(2)}))
	two := encNet(
		encLayer("conv", v1Convolution, blobSpec{legacy: []int64{1, 2, 1, 1}, data: seq(2), unpacked: true}),
		encLayer("fc", v1InnerProduct, blobSpec{legacy: []int64{1, 1, 1, 2}, double: true, data: seq(2)}))
	for _, tt := range []struct {
		name       string
		in         []byte
		prefixesOK bool
	}{
		{"one layer", one, false},
		{"two layers", two, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			full, err := ParseCaffeModel("t", tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(tt.in) {
				f, err := ParseCaffeModel("t", tt.in[:n])
				if err == nil && tt.prefixesOK && len(f.Tensors) < len(full.Tensors) {
					checkTensors(t, f, full.Tensors[:len(f.Tensors)])
					continue
				}
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Errorf("cut at %d of %d: got %v, %v, want a *FormatError", n, len(tt.in), f, err)
				}
			}
		})
	}
}

// googlenetSHA256 fingerprints every tensor of the real GoogLeNet file (name,
// shape as little-endian u64s, data as little-endian float32 bits, in file
// order) as the eager decoder read it before tensors were decoded lazily.
const googlenetSHA256 = "f70f18657a02162d2307fefffe033bf66ee1df939e49045098c555f4be8a2c03"

func TestGoogLeNetCaffeModel(t *testing.T) {
	if _, err := os.Stat(googlenetPath); err != nil {
		t.Skipf("real GoogLeNet weights absent (%v); see /work/shared/weights/bvlc_googlenet/README.md", err)
	}
	f, err := Open(googlenetPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Format != FormatCaffeModel {
		t.Errorf("got Format %q, want %q", f.Format, FormatCaffeModel)
	}
	for _, tt := range f.Tensors {
		if tt.Data != nil {
			t.Fatalf("%s decoded by Open", tt.Name)
		}
	}
	h := sha256.New()
	for _, name := range f.Names() {
		shape, data, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("Tensor(%q) failed", name)
		}
		h.Write([]byte(name))
		for _, d := range shape {
			h.Write(binary.LittleEndian.AppendUint64(nil, uint64(d)))
		}
		for _, v := range data {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
		}
		if name == "inception_4e/pool_proj.bias" { // released and decoded again below
			continue
		}
		f.Release(name)
		if p, _ := f.Lookup(name); p.Data == nil {
			t.Fatalf("Lookup(%q) after Release gave nil Data", name)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != googlenetSHA256 {
		t.Errorf("tensors fingerprint %s, want %s", got, googlenetSHA256)
	}
	for _, tt := range []struct {
		name        string
		first, last []float32
	}{
		{"conv1/7x7_s2.weight", []float32{0.08820479, 0.037416857, 0.049107336}, []float32{0.10140047}},
		{"inception_4e/pool_proj.bias", []float32{0.26723856, 0.39985156, -0.25632837}, []float32{0.2802812}},
		{"loss3/classifier.weight", []float32{0.05421512, -0.026551913, 0.015315892}, []float32{0.030323623}},
	} {
		_, before, _ := f.Tensor(tt.name)
		old := &before[0]
		before = slices.Clone(before) // Release gives the decoded copy's pages back
		f.Release(tt.name)
		_, data, _ := f.Tensor(tt.name)
		if old == &data[0] || !sameFloats(before, data) {
			t.Errorf("%s: read again after Release: same slice %v, equal %v; want a new, equal one", tt.name, old == &data[0], sameFloats(before, data))
		}
		if !sameFloats(data[:3], tt.first) || !sameFloats(data[len(data)-1:], tt.last) {
			t.Errorf("%s: got %v … %v, want %v … %v", tt.name, data[:3], data[len(data)-1], tt.first, tt.last)
		}
	}

	layers := map[string]bool{}
	convs, params := 0, 0
	for _, tt := range f.Tensors {
		params += numelInt(tt.Shape)
		layer, kind, _ := strings.Cut(tt.Name, ".")
		layers[layer] = true
		if kind == "weight" && len(tt.Shape) == 4 {
			convs++
		}
		if kind == "bias" {
			w, ok := f.Lookup(layer + ".weight")
			if !ok || len(tt.Shape) != 1 || tt.Shape[0] != w.Shape[0] {
				t.Errorf("%s shape %v does not match its weight", tt.Name, tt.Shape)
			}
		}
	}
	if got, want := len(layers), 58; got != want {
		t.Errorf("got %d layers with blobs, want %d", got, want)
	}
	if got, want := convs, 57; got != want {
		t.Errorf("got %d convolutions, want %d", got, want)
	}
	if got, want := params, 6_998_552; got != want {
		t.Errorf("got %d parameters, want %d", got, want)
	}
	for _, tt := range []struct {
		name  string
		shape []int
	}{
		{"conv1/7x7_s2.weight", []int{64, 3, 7, 7}},
		{"conv1/7x7_s2.bias", []int{64}},
		{"inception_3a/5x5.weight", []int{32, 16, 5, 5}},
		{"loss3/classifier.weight", []int{1000, 1024}},
		{"loss3/classifier.bias", []int{1000}},
	} {
		got, ok := f.Lookup(tt.name)
		if !ok {
			t.Errorf("Lookup(%q) failed", tt.name)
			continue
		}
		if !reflect.DeepEqual(got.Shape, tt.shape) {
			t.Errorf("%s: got shape %v, want %v", tt.name, got.Shape, tt.shape)
		}
	}
	if got, want := f.Tensors[0].Name, "conv1/7x7_s2.weight"; got != want {
		t.Errorf("first tensor %q, want %q", got, want)
	}

	// Closing ends decoding: what was read stays, the rest reads as nil.
	_, kept, _ := f.Tensor("conv1/7x7_s2.bias")
	f.Release("conv1/7x7_s2.weight")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, got, ok := f.Tensor("conv1/7x7_s2.bias"); !ok || !sameFloats(got, kept) {
		t.Errorf("decoded tensor lost by Close")
	}
	if shape, got, ok := f.Tensor("conv1/7x7_s2.weight"); !ok || got != nil || len(shape) != 4 {
		t.Errorf("released tensor after Close: got %v, %d values, %v; want its shape, nil Data, true", shape, len(got), ok)
	}
}

func numelInt(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TestGoogLeNetEagerLazy: the eagerly decoded file and the lazily decoded
// one agree tensor for tensor.
func TestGoogLeNetEagerLazy(t *testing.T) {
	b, err := os.ReadFile(googlenetPath)
	if err != nil {
		t.Skipf("real GoogLeNet weights absent: %v", err)
	}
	eager, err := ParseCaffeModel(googlenetPath, b)
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := ReadCaffeModel(googlenetPath)
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	checkTensors(t, lazy, eager.Tensors)
}

// TestGoogLeNetAsV1 re-encodes the real weights the way the official Model
// Zoo download stores them (V1 `layers`, legacy num/channels/height/width,
// InnerProduct weight as [1,1,O,I]) and checks that they read back the same.
func TestGoogLeNetAsV1(t *testing.T) {
	f, err := ReadCaffeModel(googlenetPath)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("real GoogLeNet weights absent: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var layers [][]byte
	for i := 0; i < len(f.Tensors); i += 2 {
		w, _ := f.Lookup(f.Tensors[i].Name)
		b, _ := f.Lookup(f.Tensors[i+1].Name)
		name, _, _ := strings.Cut(w.Name, ".")
		typ, legacy := v1InnerProduct, []int64{1, 1, int64(w.Shape[0]), int64(w.Shape[1])}
		if len(w.Shape) == 4 {
			typ, legacy = v1Convolution, []int64{int64(w.Shape[0]), int64(w.Shape[1]), int64(w.Shape[2]), int64(w.Shape[3])}
		}
		layers = append(layers, encLayer(name, typ,
			blobSpec{legacy: legacy, data: w.Data},
			blobSpec{legacy: []int64{1, 1, 1, int64(b.Shape[0])}, data: b.Data}))
	}
	got, err := ParseCaffeModel("v1.caffemodel", encNet(layers...))
	if err != nil {
		t.Fatal(err)
	}
	checkTensors(t, got, f.Tensors)
}

// BenchmarkReadCaffeModel decodes every tensor from the file in memory, as
// ParseCaffeModel does.
func BenchmarkReadCaffeModel(b *testing.B) {
	buf, err := os.ReadFile(googlenetPath)
	if err != nil {
		b.Skipf("real GoogLeNet weights absent: %v", err)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := ParseCaffeModel(googlenetPath, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenCaffeModel opens the real file as the CLI does: parsing its
// structure only ("open"), or then also reading and releasing every tensor
// in turn, as binding a network does ("all").
func BenchmarkOpenCaffeModel(b *testing.B) {
	if _, err := os.Stat(googlenetPath); err != nil {
		b.Skipf("real GoogLeNet weights absent: %v", err)
	}
	for _, all := range []bool{false, true} {
		b.Run(map[bool]string{false: "open", true: "all"}[all], func(b *testing.B) {
			for b.Loop() {
				f, err := Open(googlenetPath)
				if err != nil {
					b.Fatal(err)
				}
				for _, name := range f.Names() {
					if all {
						f.Tensor(name)
						f.Release(name)
					}
				}
				f.Close()
			}
		})
	}
}
