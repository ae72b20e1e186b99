package onnx

import (
	"bufio"
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of the onnx.proto (proto2) messages the exporter writes, from onnx/onnx.proto.
const (
	modelIRVersion     = 1 // ModelProto.ir_version int64
	modelProducerName  = 2 // ModelProto.producer_name string
	modelDocString     = 6 // ModelProto.doc_string string
	modelGraph         = 7 // ModelProto.graph GraphProto
	modelOpsetImport   = 8 // ModelProto.opset_import repeated OperatorSetIdProto
	opsetDomain        = 1 // OperatorSetIdProto.domain string
	opsetVersion       = 2 // OperatorSetIdProto.version int64
	graphNode          = 1 // GraphProto.node repeated NodeProto
	graphName          = 2 // GraphProto.name string
	graphInitializer   = 5 // GraphProto.initializer repeated TensorProto
	graphInput         = 11
	graphOutput        = 12
	nodeInput          = 1 // NodeProto.input repeated string
	nodeOutput         = 2
	nodeName           = 3
	nodeOpType         = 4
	nodeAttribute      = 5 // NodeProto.attribute repeated AttributeProto
	attrName           = 1 // AttributeProto.name string
	attrF              = 2 // AttributeProto.f float
	attrI              = 3 // AttributeProto.i int64
	attrInts           = 8 // AttributeProto.ints repeated int64
	attrType           = 20
	tensorDims         = 1 // TensorProto.dims repeated int64
	tensorDataType     = 2 // TensorProto.data_type int32
	tensorName         = 8
	tensorRawData      = 9 // TensorProto.raw_data bytes, little-endian
	valueInfoName      = 1 // ValueInfoProto.name string
	valueInfoType      = 2 // ValueInfoProto.type TypeProto
	typeTensorType     = 1 // TypeProto.tensor_type TypeProto.Tensor
	typeTensorElemType = 1 // TypeProto.Tensor.elem_type int32
	typeTensorShape    = 2 // TypeProto.Tensor.shape TensorShapeProto
	shapeDim           = 1 // TensorShapeProto.dim repeated Dimension
	dimValue           = 1 // TensorShapeProto.Dimension.dim_value int64
	dimParam           = 2 // TensorShapeProto.Dimension.dim_param string
)

// AttributeProto.AttributeType and TensorProto.DataType values.
const (
	attrTypeFloat = 1
	attrTypeInt   = 2
	attrTypeInts  = 7
	dataTypeFloat = 1
)

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendStringField(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// fieldLen is the encoded size of a length-delimited field whose payload is n bytes long.
func fieldLen(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// attr is an encoded AttributeProto.
type attr []byte

func attrInt(name string, v int) attr {
	b := appendStringField(nil, attrName, name)
	b = appendVarintField(b, attrType, attrTypeInt)
	return appendVarintField(b, attrI, uint64(int64(v)))
}

// attrIntList writes ints unpacked, proto2's default encoding of a repeated int64.
func attrIntList(name string, vs ...int) attr {
	b := appendStringField(nil, attrName, name)
	b = appendVarintField(b, attrType, attrTypeInts)
	for _, v := range vs {
		b = appendVarintField(b, attrInts, uint64(int64(v)))
	}
	return b
}

func attrFloat(name string, f float32) attr {
	b := appendStringField(nil, attrName, name)
	b = appendVarintField(b, attrType, attrTypeFloat)
	b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, math.Float32bits(f))
}

// encodeNode returns a NodeProto of the default domain.
func encodeNode(name, op string, in, out []string, attrs ...attr) []byte {
	var b []byte
	for _, s := range in {
		b = appendStringField(b, nodeInput, s)
	}
	for _, s := range out {
		b = appendStringField(b, nodeOutput, s)
	}
	b = appendStringField(b, nodeName, name)
	b = appendStringField(b, nodeOpType, op)
	for _, a := range attrs {
		b = appendBytesField(b, nodeAttribute, a)
	}
	return b
}

// dim is one dimension of a value's type: a fixed size, or a symbolic one when param is set.
type dim struct {
	value int
	param string
}

// encodeValueInfo returns a ValueInfoProto of a float32 tensor.
func encodeValueInfo(name string, dims []dim) []byte {
	var shape []byte
	for _, d := range dims {
		var db []byte
		if d.param != "" {
			db = appendStringField(nil, dimParam, d.param)
		} else {
			db = appendVarintField(nil, dimValue, uint64(int64(d.value)))
		}
		shape = appendBytesField(shape, shapeDim, db)
	}
	tt := appendVarintField(nil, typeTensorElemType, dataTypeFloat)
	tt = appendBytesField(tt, typeTensorShape, shape)
	b := appendStringField(nil, valueInfoName, name)
	return appendBytesField(b, valueInfoType, appendBytesField(nil, typeTensorType, tt))
}

// initializer is a float32 TensorProto whose data is streamed as raw_data rather than copied.
type initializer struct {
	name string
	dims []int
	data []float32
}

// header returns the TensorProto's fields before the raw_data payload, up to and including the
// raw_data tag and length.
func (t initializer) header() []byte {
	var b []byte
	for _, d := range t.dims {
		b = appendVarintField(b, tensorDims, uint64(int64(d)))
	}
	b = appendVarintField(b, tensorDataType, dataTypeFloat)
	b = appendStringField(b, tensorName, t.name)
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(4*len(t.data)))
}

// writeRaw writes data as little-endian float32, the byte order raw_data requires.
func writeRaw(w *bufio.Writer, data []float32) {
	var chunk [4096]byte
	for len(data) > 0 {
		n := min(len(data), len(chunk)/4)
		for i, v := range data[:n] {
			binary.LittleEndian.PutUint32(chunk[4*i:], math.Float32bits(v))
		}
		w.Write(chunk[:4*n]) // a bufio.Writer keeps its first error; Flush reports it
		data = data[n:]
	}
}
