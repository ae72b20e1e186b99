package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

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

// ReadCaffeModel reads a Caffe binary NetParameter (.caffemodel). See ParseCaffeModel.
func ReadCaffeModel(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return ParseCaffeModel(path, b)
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
func ParseCaffeModel(path string, b []byte) (*File, error) {
	f := &File{Path: path, Format: FormatCaffeModel}
	size := len(b)
	for nlayer := 0; len(b) > 0; {
		at := size - len(b)
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, formatErrorf(path, "net: %s at byte %d", wireError(n), at)
		}
		b = b[n:]
		if typ != protowire.BytesType || (num != netLayerField && num != netLayersField) {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, formatErrorf(path, "net: field %d: %s at byte %d", num, wireError(n), at)
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
				l, _ = parseLayer(b[m:], v1)
			}
			return nil, formatErrorf(path, "%s: %s at byte %d", l.label(nlayer), wireError(n), at)
		}
		b = b[n:]
		l, err := parseLayer(v, v1)
		if err != nil {
			return nil, formatErrorf(path, "%s: %v", l.label(nlayer), err)
		}
		if len(l.blobs) > 0 && l.name == "" {
			return nil, formatErrorf(path, "%s: has blobs but no name", l.label(nlayer))
		}
		for i, blob := range l.blobs {
			t, err := decodeBlob(blob, i, l.innerProduct)
			if err != nil {
				return nil, formatErrorf(path, "%s blob %d: %v", l.label(nlayer), i, err)
			}
			t.Name = blobName(l.name, i)
			f.Tensors = append(f.Tensors, t)
		}
		nlayer++
	}
	if len(f.Tensors) == 0 {
		return nil, formatErrorf(path, "no layer with parameter blobs")
	}
	if dup, ok := f.buildIndex(); !ok {
		return nil, formatErrorf(path, "duplicate tensor %q", dup)
	}
	return f, nil
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
	blobs        [][]byte // undecoded BlobProto messages, aliasing the input
}

// label names the layer in errors: its index among the net's layers, and its
// name when known.
func (l caffeLayer) label(i int) string {
	if l.name == "" {
		return fmt.Sprintf("layer %d", i)
	}
	return fmt.Sprintf("layer %d %q", i, l.name)
}

// parseLayer splits a LayerParameter (v1: V1LayerParameter) message. On error
// the fields read so far are returned too, so that errors can name the layer.
func parseLayer(b []byte, v1 bool) (caffeLayer, error) {
	nameField, typeField, blobsField := protowire.Number(layerNameField), protowire.Number(layerTypeField), protowire.Number(layerBlobsField)
	if v1 {
		nameField, typeField, blobsField = v1NameField, v1TypeField, v1BlobsField
	}
	var l caffeLayer
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
			l.blobs = append(l.blobs, v)
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

// decodeBlob decodes the BlobProto b, the index-th blob of its layer, into a
// Tensor without a name. Protobuf merge rules apply: repeated fields
// (dim, data, double_data) concatenate across occurrences, packed or not.
func decodeBlob(b []byte, index int, innerProduct bool) (Tensor, error) {
	var (
		dims       []int64
		hasShape   bool
		legacy     [4]int64
		hasLegacy  bool
		data, dbl  []float32
		fieldError = func(name string, n int) (Tensor, error) {
			return Tensor{}, fmt.Errorf("%s: %s", name, wireError(n))
		}
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return Tensor{}, errors.New(wireError(n))
		}
		b = b[n:]
		switch {
		case num == blobShapeField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fieldError("shape", n)
			}
			var err error
			if dims, err = appendDims(dims, v); err != nil {
				return Tensor{}, err
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
				return Tensor{}, fmt.Errorf("packed data has %d bytes, not a multiple of 4", len(v))
			}
			if data == nil {
				data = make([]float32, 0, len(v)/4)
			}
			for i := 0; i < len(v); i += 4 {
				data = append(data, math.Float32frombits(binary.LittleEndian.Uint32(v[i:])))
			}
			b = b[n:]
		case num == blobDataField && typ == protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return fieldError("data", n)
			}
			data = append(data, math.Float32frombits(v))
			b = b[n:]
		case num == blobDoubleDataField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fieldError("double_data", n)
			}
			if len(v)%8 != 0 {
				return Tensor{}, fmt.Errorf("packed double_data has %d bytes, not a multiple of 8", len(v))
			}
			for len(v) > 0 {
				x, _ := protowire.ConsumeFixed64(v)
				dbl = append(dbl, float32(math.Float64frombits(x)))
				v = v[8:]
			}
			b = b[n:]
		case num == blobDoubleDataField && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return fieldError("double_data", n)
			}
			dbl = append(dbl, float32(math.Float64frombits(v)))
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
	if len(data) == 0 {
		data = dbl
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
		dims = []int64{int64(len(data))}
	}
	n, ok := numel(dims, int64(len(data)))
	if !ok || n != int64(len(data)) {
		return Tensor{}, fmt.Errorf("data has %d values but shape %v needs %s", len(data), dims, describeNumel(dims))
	}
	return Tensor{Shape: intShape(dims), Data: data}, nil
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
