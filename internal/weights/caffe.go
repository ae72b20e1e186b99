package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers from BVLC caffe, src/caffe/proto/caffe.proto. Only the fields
// that carry parameters are decoded; every other field is skipped.
const (
	netLayersField = 2   // NetParameter.layers: repeated V1LayerParameter (deprecated, old Model Zoo files)
	netLayerField  = 100 // NetParameter.layer: repeated LayerParameter

	layerNameField  = 1 // LayerParameter.name: string
	layerTypeField  = 2 // LayerParameter.type: string, e.g. "InnerProduct"
	layerBlobsField = 7 // LayerParameter.blobs: repeated BlobProto

	v1NameField  = 4 // V1LayerParameter.name: string
	v1TypeField  = 5 // V1LayerParameter.type: enum LayerType
	v1BlobsField = 6 // V1LayerParameter.blobs: repeated BlobProto

	v1InnerProduct = 14 // V1LayerParameter.LayerType INNER_PRODUCT

	blobNumField        = 1 // BlobProto.num: int64, legacy 4-D dims 1..4
	blobWidthField      = 4 // BlobProto.width
	blobDataField       = 5 // BlobProto.data: repeated float, packed
	blobShapeField      = 7 // BlobProto.shape: BlobShape
	blobDoubleDataField = 8 // BlobProto.double_data: repeated double, packed

	shapeDimField = 1 // BlobShape.dim: repeated int64, packed
)

// ReadCaffeModel reads a Caffe binary NetParameter (.caffemodel) file: its
// structure is parsed and checked as by ParseCaffeModel, so every error is
// reported here, but a blob's values are only decoded when the tensor is
// read. On unix systems the file is memory-mapped and parsing touches little
// more than the pages holding tags and lengths; elsewhere (or for a file
// that is not regular) it is read into memory.
//
// In the returned File, each Tensors[i] has its Name and Shape, but Data is
// nil until the tensor is read through Lookup or Tensor, which decode it
// into a fresh []float32 and keep it in Data. Release drops that copy (the
// File keeps no reference to it, so it is garbage once the caller drops
// its own) and the mapped pages of the blob; reading the tensor again
// decodes it again. Close ends the decoding: tensors decoded and not
// released keep their Data, the others stay nil.
func ReadCaffeModel(path string) (*File, error) {
	fd, size, all, err := openFile(path)
	if err != nil {
		return nil, err
	}
	if fd == nil {
		return parseCaffeLazy(path, all)
	}
	defer fd.Close()
	b, mapped, err := mapOrRead(path, fd, size)
	if err != nil {
		return nil, err
	}
	f, err := parseCaffeLazy(path, b)
	if err != nil {
		if mapped {
			unmapFile(b)
		}
		return nil, err
	}
	if mapped {
		f.mapping = b
	}
	return f, nil
}

// parseCaffeLazy checks the caffemodel b and returns its File with blobs
// left undecoded in b, which the File keeps.
func parseCaffeLazy(path string, b []byte) (*File, error) {
	f, blobs, err := parseCaffeLayout(path, b)
	if err != nil {
		return nil, err
	}
	f.caffe, f.src = blobs, b
	return f, nil
}

// ParseCaffeModel decodes b, a Caffe binary NetParameter, into one tensor per
// parameter blob, in file order: "<layer>.weight" for blob 0, "<layer>.bias"
// for blob 1 and "<layer>.blob<i>" after that. Both the current `layer`
// field and the deprecated V1 `layers` field are read. Blobs with only the
// legacy num/channels/height/width dims are reshaped the way PyTorch holds
// them: an InnerProduct weight [1,1,O,I] becomes [O,I], a bias [1,1,1,N]
// becomes [N]. A file without any parameter blob is an error, because a
// caffemodel has no magic number and an empty parse means a wrong file.
// All errors are *FormatError; path is used only in errors and File.Path.
//
// Every tensor is decoded up front: Data is set and never aliases b, and
// Release leaves it alone. ReadCaffeModel decodes lazily instead.
func ParseCaffeModel(path string, b []byte) (*File, error) {
	f, blobs, err := parseCaffeLayout(path, b)
	if err != nil {
		return nil, err
	}
	for i := range f.Tensors {
		f.Tensors[i].Data = blobs[i].decode(b)
	}
	return f, nil
}

// parseCaffeLayout parses and checks the caffemodel b (see ParseCaffeModel)
// without decoding any value: it returns the File with Data left nil and,
// for each of its Tensors, where the values are in b.
func parseCaffeLayout(path string, b []byte) (*File, []caffeBlob, error) {
	f := &File{Path: path, Format: FormatCaffeModel}
	var blobs []caffeBlob
	size := len(b)
	for nlayer := 0; len(b) > 0; {
		at := size - len(b)
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, formatErrorf(path, "net: %s at byte %d", wireError(n), at)
		}
		b = b[n:]
		if typ != protowire.BytesType || (num != netLayerField && num != netLayersField) {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, nil, formatErrorf(path, "net: field %d: %s at byte %d", num, wireError(n), at)
			}
			b = b[n:]
			continue
		}
		v1 := num == netLayersField
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			// Peek into what is there for the layer's name.
			var l caffeLayer
			if _, m := protowire.ConsumeVarint(b); m > 0 {
				l, _ = parseLayer(b[m:], 0, v1)
			}
			return nil, nil, formatErrorf(path, "%s: %s at byte %d", l.label(nlayer), wireError(n), at)
		}
		l, err := parseLayer(v, size-len(b)+n-len(v), v1)
		if err != nil {
			return nil, nil, formatErrorf(path, "%s: %v", l.label(nlayer), err)
		}
		b = b[n:]
		if len(l.blobs) > 0 && l.name == "" {
			return nil, nil, formatErrorf(path, "%s: has blobs but no name", l.label(nlayer))
		}
		for i, raw := range l.blobs {
			blob, shape, err := scanBlob(raw.b, raw.at, i, l.innerProduct)
			if err != nil {
				return nil, nil, formatErrorf(path, "%s blob %d: %v", l.label(nlayer), i, err)
			}
			f.Tensors = append(f.Tensors, Tensor{Name: blobName(l.name, i), Shape: shape})
			blobs = append(blobs, blob)
		}
		nlayer++
	}
	if len(f.Tensors) == 0 {
		return nil, nil, formatErrorf(path, "no layer with parameter blobs")
	}
	if dup, ok := f.buildIndex(); !ok {
		return nil, nil, formatErrorf(path, "duplicate tensor %q", dup)
	}
	return f, blobs, nil
}

func blobName(layer string, i int) string {
	switch i {
	case 0:
		return layer + ".weight"
	case 1:
		return layer + ".bias"
	}
	return fmt.Sprintf("%s.blob%d", layer, i)
}

// caffeLayer is the part of a (V1)LayerParameter this package needs.
type caffeLayer struct {
	name         string
	innerProduct bool
	blobs        []rawBlob
}

// rawBlob is an undecoded BlobProto message, aliasing the input, and the
// offset of its first byte in the file.
type rawBlob struct {
	b  []byte
	at int
}

// label names the layer in errors: its index among the net's layers, and its
// name when known.
func (l caffeLayer) label(i int) string {
	if l.name == "" {
		return fmt.Sprintf("layer %d", i)
	}
	return fmt.Sprintf("layer %d %q", i, l.name)
}

// parseLayer splits a LayerParameter (v1: V1LayerParameter) message b, which
// starts at file offset at. On error the fields read so far are returned
// too, so that errors can name the layer.
func parseLayer(b []byte, at int, v1 bool) (caffeLayer, error) {
	nameField, typeField, blobsField := protowire.Number(layerNameField), protowire.Number(layerTypeField), protowire.Number(layerBlobsField)
	if v1 {
		nameField, typeField, blobsField = v1NameField, v1TypeField, v1BlobsField
	}
	var l caffeLayer
	size := len(b)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return l, errors.New(wireError(n))
		}
		b = b[n:]
		switch {
		case num == nameField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return l, fmt.Errorf("name: %s", wireError(n))
			}
			l.name = string(v)
			b = b[n:]
		case !v1 && num == typeField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return l, fmt.Errorf("type: %s", wireError(n))
			}
			l.innerProduct = string(v) == "InnerProduct"
			b = b[n:]
		case v1 && num == typeField && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return l, fmt.Errorf("type: %s", wireError(n))
			}
			l.innerProduct = v == v1InnerProduct
			b = b[n:]
		case num == blobsField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return l, fmt.Errorf("blob %d: %s", len(l.blobs), wireError(n))
			}
			l.blobs = append(l.blobs, rawBlob{b: v, at: at + size - len(b) + n - len(v)})
			b = b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return l, fmt.Errorf("field %d: %s", num, wireError(n))
			}
			b = b[n:]
		}
	}
	return l, nil
}

// caffeBlob says where the values of one checked BlobProto are in its file.
type caffeBlob struct {
	begin, end int        // the BlobProto message's bytes, which Release drops from the resident set
	runs       []valueRun // the values, in order
	n          int        // the number of values, the product of the tensor's shape
}

// valueRun is n evenly spaced little-endian float32 (or, for double_data,
// float64) values in a file: one packed field, or consecutive unpacked
// fields whose tags have the same length.
type valueRun struct {
	at     int // file offset of the first value
	n      int
	stride int // bytes from one value to the next: the value size when packed
	double bool
}

// addRun appends n values at file offset at, stride bytes apart, to runs,
// extending the last run when they continue it.
func addRun(runs []valueRun, at, n, stride int, double bool) []valueRun {
	if k := len(runs) - 1; k >= 0 {
		r := &runs[k]
		if r.stride == stride && r.double == double && r.at+r.n*r.stride == at {
			r.n += n
			return runs
		}
	}
	return append(runs, valueRun{at: at, n: n, stride: stride, double: double})
}

// decode returns the blob's values read from src, the file it was scanned
// in (or a file of the same size: the offsets are all in range, so decode
// cannot fail, whatever the bytes).
func (c *caffeBlob) decode(src []byte) []float32 {
	data := make([]float32, c.n)
	d := data
	for _, r := range c.runs {
		switch {
		case !r.double && r.stride == 4:
			decodeF32(d[:r.n], src[r.at:r.at+4*r.n])
		case r.double && r.stride == 8:
			decodeF64(d[:r.n], src[r.at:r.at+8*r.n])
		default:
			for i := range r.n {
				p := src[r.at+i*r.stride:]
				if r.double {
					d[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(p)))
				} else {
					d[i] = math.Float32frombits(binary.LittleEndian.Uint32(p))
				}
			}
		}
		d = d[r.n:]
	}
	return data
}

// scanBlob checks the BlobProto b, the index-th blob of its layer, starting
// at file offset at, and returns where its values are and its shape.
// Protobuf merge rules apply: repeated fields (dim, data, double_data)
// concatenate across occurrences, packed or not.
func scanBlob(b []byte, at, index int, innerProduct bool) (caffeBlob, []int, error) {
	var (
		dims        []int64
		hasShape    bool
		legacy      [4]int64
		hasLegacy   bool
		data, dbl   []valueRun
		ndata, ndbl int
		size        = len(b)
		fieldError  = func(name string, n int) (caffeBlob, []int, error) {
			return caffeBlob{}, nil, fmt.Errorf("%s: %s", name, wireError(n))
		}
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return caffeBlob{}, nil, errors.New(wireError(n))
		}
		b = b[n:]
		tagLen := n
		// valueAt is the file offset of the value that comes m bytes after
		// the tag.
		valueAt := func(m int) int { return at + size - len(b) + m }
		switch {
		case num == blobShapeField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fieldError("shape", n)
			}
			var err error
			if dims, err = appendDims(dims, v); err != nil {
				return caffeBlob{}, nil, err
			}
			hasShape = true
			b = b[n:]
		case num >= blobNumField && num <= blobWidthField && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fieldError("legacy dims", n)
			}
			legacy[num-blobNumField] = int64(v)
			hasLegacy = true
			b = b[n:]
		case num == blobDataField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fieldError("data", n)
			}
			if len(v)%4 != 0 {
				return caffeBlob{}, nil, fmt.Errorf("packed data has %d bytes, not a multiple of 4", len(v))
			}
			if len(v) > 0 {
				data = addRun(data, valueAt(n-len(v)), len(v)/4, 4, false)
				ndata += len(v) / 4
			}
			b = b[n:]
		case num == blobDataField && typ == protowire.Fixed32Type:
			_, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return fieldError("data", n)
			}
			data = addRun(data, valueAt(0), 1, tagLen+4, false)
			ndata++
			b = b[n:]
		case num == blobDoubleDataField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fieldError("double_data", n)
			}
			if len(v)%8 != 0 {
				return caffeBlob{}, nil, fmt.Errorf("packed double_data has %d bytes, not a multiple of 8", len(v))
			}
			if len(v) > 0 {
				dbl = addRun(dbl, valueAt(n-len(v)), len(v)/8, 8, true)
				ndbl += len(v) / 8
			}
			b = b[n:]
		case num == blobDoubleDataField && typ == protowire.Fixed64Type:
			_, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return fieldError("double_data", n)
			}
			dbl = addRun(dbl, valueAt(0), 1, tagLen+8, true)
			ndbl++
			b = b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fieldError(fmt.Sprintf("field %d", num), n)
			}
			b = b[n:]
		}
	}

	// Caffe's Blob::FromProto prefers float data and falls back to double_data.
	if ndata == 0 {
		data, ndata = dbl, ndbl
	}
	switch {
	case hasShape:
	case hasLegacy:
		dims = legacy[:]
		switch {
		case index == 0 && innerProduct && dims[0] == 1 && dims[1] == 1:
			dims = dims[2:] // [1,1,O,I] -> [O,I]
		case index == 1 && dims[0] == 1 && dims[1] == 1 && dims[2] == 1:
			dims = dims[3:] // bias [1,1,1,N] -> [N]
		}
	default:
		dims = []int64{int64(ndata)}
	}
	n, ok := numel(dims, int64(ndata))
	if !ok || n != int64(ndata) {
		return caffeBlob{}, nil, fmt.Errorf("data has %d values but shape %v needs %s", ndata, dims, describeNumel(dims))
	}
	return caffeBlob{begin: at, end: at + size, runs: data, n: ndata}, intShape(dims), nil
}

// appendDims appends the dims of the BlobShape message b to dims.
func appendDims(dims []int64, b []byte) ([]int64, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("shape: %s", wireError(n))
		}
		b = b[n:]
		switch {
		case num == shapeDimField && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, fmt.Errorf("shape dim: %s", wireError(n))
			}
			dims = append(dims, int64(v))
			b = b[n:]
		case num == shapeDimField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, fmt.Errorf("shape dim: %s", wireError(n))
			}
			for len(v) > 0 {
				d, m := protowire.ConsumeVarint(v)
				if m < 0 {
					return nil, fmt.Errorf("packed shape dim: %s", wireError(m))
				}
				dims = append(dims, int64(d))
				v = v[m:]
			}
			b = b[n:]
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, fmt.Errorf("shape field %d: %s", num, wireError(n))
			}
			b = b[n:]
		}
	}
	return dims, nil
}

// describeNumel renders the element count of dims for an error message.
func describeNumel(dims []int64) string {
	n, ok := numel(dims, math.MaxInt64)
	if !ok {
		return "an invalid count"
	}
	return fmt.Sprint(n)
}

// wireError renders a negative protowire length as a short cause.
func wireError(n int) string {
	err := protowire.ParseError(n)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated"
	}
	return "bad protobuf: " + err.Error()
}
