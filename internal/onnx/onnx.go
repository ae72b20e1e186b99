// Package onnx writes the network inception runs as an ONNX model, so another runtime (ONNX Runtime in
// bench/) can run exactly the same computation: the flat dataflow list of model.Layers, with batch norm
// already folded into the convolutions, as standard opset-13 operators and float32 initializers.
//
// The encoder is hand-written with protowire: it writes only the few onnx.proto messages an inference graph
// needs, and streams the weights as raw_data instead of building the whole ModelProto in memory.
package onnx

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/inception-cli/inception/internal/model"
)

// IRVersion, Opset and Producer are written into every exported ModelProto.
const (
	IRVersion = 7  // ONNX IR version 7 (2020-05-08, ONNX 1.8)
	Opset     = 13 // default-domain operator set
	Producer  = "inception"
)

// Names of the graph's input and outputs. The input is [N,3,size,size] float32 (NCHW, preprocessed as
// the variant expects); "logits" is [N,classes], "prob" is Softmax(logits) over the classes.
const (
	InputName  = "input"
	LogitsName = "logits"
	ProbName   = "prob"
)

// Ops lists every operator type Export may write (all from the default domain at Opset).
var Ops = []string{"Conv", "Relu", "MaxPool", "AveragePool", "LRN", "Concat", "Mul", "Add",
	"GlobalAveragePool", "Flatten", "Gemm", "Softmax"}

// Export writes m, which must have weights loaded, as an ONNX ModelProto for size×size inputs: IR version
// 7, opset 13, producer "inception". batch fixes the batch dimension of the input and outputs; 0 leaves
// it symbolic ("N"). Each Layer becomes:
//
//	Conv          Conv (OIHW weights, pads [t,l,b,r]) + Relu
//	MaxPool       MaxPool (ceil_mode only where it changes the output size)
//	AvgPool       AveragePool (count_include_pad; ceil_mode likewise)
//	LRN           LRN (same formula as Caffe: alpha is divided by size in both)
//	Concat        Concat(axis 1)
//	AddScaled     Mul(in1, scale) + Add(in0, ·) + Relu; the Mul is left out when scale is 1
//	GlobalAvgPool GlobalAveragePool + Flatten(axis 1)
//	Linear        Gemm(transB 1) + Relu
//
// and the last Linear's output "logits" is followed by Softmax(axis 1) into "prob".
func Export(w io.Writer, m *model.Model, size, batch int) error {
	if size < 1 || batch < 0 {
		return fmt.Errorf("export %s: size %d and batch %d: want size >= 1, batch >= 0", m.Variant.Name, size, batch)
	}
	g, err := build(m, size, batch)
	if err != nil {
		return fmt.Errorf("export %s: %w", m.Variant.Name, err)
	}
	if err := g.write(w); err != nil {
		return fmt.Errorf("export %s: %w", m.Variant.Name, err)
	}
	return nil
}

// graph is a GraphProto being built: encoded nodes and value infos, initializers kept as float32 slices.
type graph struct {
	name, doc       string
	nodes           [][]byte
	inits           []initializer
	inputs, outputs [][]byte
	used            map[string]bool // value and initializer names taken
	scales          map[float32]string
}

func build(m *model.Model, size, batch int) (*graph, error) {
	ls, err := m.Layers(size, size)
	if err != nil {
		return nil, err
	}
	v := m.Variant
	g := &graph{
		name:   v.Name,
		doc:    fmt.Sprintf("%s: %s; %s weights, batch norm folded; input %dx%d", v.Name, v.Description, v.Reference, size, size),
		used:   map[string]bool{InputName: true, LogitsName: true, ProbName: true},
		scales: map[float32]string{},
	}
	vals := make([]string, len(ls))
	in := func(i int) string {
		if i < 0 {
			return InputName
		}
		return vals[i]
	}
	for i, l := range ls {
		// base names the layer's initializers; the last layer's output is the graph output "logits".
		base := g.unique(valueName(l))
		name := base
		if i == len(ls)-1 {
			name = LogitsName
		}
		x := in(l.Inputs[0])
		switch l.Op {
		case model.OpConv:
			c := l.Conv
			if err := checkWeights(l, c.O*c.C*c.KH*c.KW, c.O); err != nil {
				return nil, err
			}
			w := g.initializer(base+".W", l.W, c.O, c.C, c.KH, c.KW)
			b := g.initializer(base+".B", l.B, c.O)
			g.withReLU(name, l.ReLU, "Conv", []string{x, w, b},
				attrIntList("kernel_shape", c.KH, c.KW), attrIntList("strides", c.SH, c.SW),
				attrIntList("pads", c.PadT, c.PadL, c.PadB, c.PadR), attrIntList("dilations", 1, 1), attrInt("group", 1))
		case model.OpMaxPool, model.OpAvgPool:
			op, attrs, err := pool(l)
			if err != nil {
				return nil, err
			}
			g.node(name, op, []string{x}, attrs...)
		case model.OpLRN:
			// Caffe and ONNX agree: y = x / (k + alpha/size·Σx²)^beta over channels
			// [c-⌊(size-1)/2⌋, c+⌈(size-1)/2⌉], clipped to the tensor.
			r := l.LRN
			g.node(name, "LRN", []string{x}, attrInt("size", r.Size), attrFloat("alpha", r.Alpha),
				attrFloat("beta", r.Beta), attrFloat("bias", r.K))
		case model.OpConcat:
			var xs []string
			for _, j := range l.Inputs {
				xs = append(xs, in(j))
			}
			g.node(name, "Concat", xs, attrInt("axis", 1))
		case model.OpAddScaled:
			y := in(l.Inputs[1])
			if l.Scale != 1 {
				scaled := g.unique(name + "/scaled")
				g.node(scaled, "Mul", []string{y, g.scalar(l.Scale)})
				y = scaled
			}
			g.withReLU(name, l.ReLU, "Add", []string{x, y})
		case model.OpGlobalAvgPool:
			pooled := g.unique(name + "/nchw")
			g.node(pooled, "GlobalAveragePool", []string{x})
			g.node(name, "Flatten", []string{pooled}, attrInt("axis", 1))
		case model.OpLinear:
			if err := checkWeights(l, l.Out.C*l.In.C, l.Out.C); err != nil {
				return nil, err
			}
			w := g.initializer(base+".W", l.W, l.Out.C, l.In.C)
			b := g.initializer(base+".B", l.B, l.Out.C)
			g.withReLU(name, l.ReLU, "Gemm", []string{x, w, b}, attrInt("transB", 1))
		default:
			return nil, fmt.Errorf("layer %d %s: no ONNX form for %v", i, l.Name, l.Op)
		}
		vals[i] = name
	}
	last := ls[len(ls)-1]
	if last.Op != model.OpLinear {
		return nil, fmt.Errorf("last layer is %v, want Linear", last.Op)
	}
	g.node(ProbName, "Softmax", []string{LogitsName}, attrInt("axis", 1))

	n := dim{value: batch}
	if batch == 0 {
		n = dim{param: "N"}
	}
	g.inputs = [][]byte{encodeValueInfo(InputName, []dim{n, {value: 3}, {value: size}, {value: size}})}
	classes := []dim{n, {value: last.Out.C}}
	g.outputs = [][]byte{encodeValueInfo(LogitsName, classes), encodeValueInfo(ProbName, classes)}
	return g, nil
}

// valueName is the base name of a layer's output: the checkpoint key of a convolution or linear layer,
// else the block key and the operation ("Mixed_5b/Concat", "MaxPool").
func valueName(l model.Layer) string {
	if l.Op == model.OpConv || l.Op == model.OpLinear {
		return l.Name
	}
	if l.Name == "" {
		return l.Op.String()
	}
	return l.Name + "/" + l.Op.String()
}

// unique returns base, or base with the first free "_2", "_3"… suffix, and marks it taken.
func (g *graph) unique(base string) string {
	name := base
	for i := 2; g.used[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	g.used[name] = true
	return name
}

// node appends a node named after its single output.
func (g *graph) node(out, op string, in []string, attrs ...attr) {
	g.nodes = append(g.nodes, encodeNode(out, op, in, []string{out}, attrs...))
}

// withReLU appends op writing out, or op writing out+"/preact" followed by Relu writing out.
func (g *graph) withReLU(out string, relu bool, op string, in []string, attrs ...attr) {
	if !relu {
		g.node(out, op, in, attrs...)
		return
	}
	pre := g.unique(out + "/preact")
	g.node(pre, op, in, attrs...)
	g.node(out, "Relu", []string{pre})
}

func (g *graph) initializer(name string, data []float32, dims ...int) string {
	name = g.unique(name)
	g.inits = append(g.inits, initializer{name: name, dims: dims, data: data})
	return name
}

// scalar returns the name of a 0-d initializer holding s, shared by all the blocks with that scale.
func (g *graph) scalar(s float32) string {
	if name, ok := g.scales[s]; ok {
		return name
	}
	name := g.initializer("scale_"+strconv.FormatFloat(float64(s), 'g', -1, 32), []float32{s})
	g.scales[s] = name
	return name
}

func checkWeights(l model.Layer, nw, nb int) error {
	if l.W == nil {
		return fmt.Errorf("%s: no weights loaded", l.Name)
	}
	if len(l.W) != nw || len(l.B) != nb {
		return fmt.Errorf("%s: %d weights and %d biases, want %d and %d", l.Name, len(l.W), len(l.B), nw, nb)
	}
	return nil
}

// pool returns the ONNX operator and attributes of a pooling layer. ceil_mode is written only where it
// changes the output size (stride-1 pools come out the same either way), and then only when ONNX's rule
// gives inception's size: opset 13 computes ⌈(in+pads-k)/s⌉+1 and does not drop, as PyTorch and Caffe
// do, a last window that starts in the bottom or right padding.
func pool(l model.Layer) (string, []attr, error) {
	p := l.Pool
	op := "MaxPool"
	if l.Op == model.OpAvgPool {
		op = "AveragePool"
	}
	attrs := []attr{attrIntList("kernel_shape", p.KH, p.KW), attrIntList("strides", p.SH, p.SW),
		attrIntList("pads", p.PadT, p.PadL, p.PadB, p.PadR)}
	floorH, floorW := (p.H+p.PadT+p.PadB-p.KH)/p.SH+1, (p.W+p.PadL+p.PadR-p.KW)/p.SW+1
	if p.Ceil && (floorH != l.Out.H || floorW != l.Out.W) {
		ceilH, ceilW := ceilDiv(p.H+p.PadT+p.PadB-p.KH, p.SH)+1, ceilDiv(p.W+p.PadL+p.PadR-p.KW, p.SW)+1
		if ceilH != l.Out.H || ceilW != l.Out.W {
			return "", nil, fmt.Errorf("%s %s: ceil-mode output %dx%d drops a window that starts in the padding; ONNX opset %d gives %dx%d",
				l.Name, op, l.Out.H, l.Out.W, Opset, ceilH, ceilW)
		}
		if l.Op == model.OpAvgPool && l.CountIncludePad {
			// PyTorch divides the last window by its size clipped to the padded input; ONNX does not
			// say how the part hanging past the padding counts. No variant has such a pool.
			return "", nil, fmt.Errorf("%s %s: ceil-mode windows overhang the padded input with count_include_pad, whose divisor ONNX leaves unspecified",
				l.Name, op)
		}
		attrs = append(attrs, attrInt("ceil_mode", 1))
	}
	if l.Op == model.OpAvgPool {
		attrs = append(attrs, attrInt("count_include_pad", b2i(l.CountIncludePad)))
	}
	return op, attrs, nil
}

// ceilDiv is ⌈a/b⌉ for a >= 0, b > 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// write streams the ModelProto: the graph's length is computed first so the initializers' data can go
// straight from the model's slices to w.
func (g *graph) write(w io.Writer) error {
	headers := make([][]byte, len(g.inits))
	n := fieldLen(graphName, len(g.name))
	for _, b := range g.nodes {
		n += fieldLen(graphNode, len(b))
	}
	for i, t := range g.inits {
		headers[i] = t.header()
		n += fieldLen(graphInitializer, len(headers[i])+4*len(t.data))
	}
	for _, b := range g.inputs {
		n += fieldLen(graphInput, len(b))
	}
	for _, b := range g.outputs {
		n += fieldLen(graphOutput, len(b))
	}

	opset := appendStringField(nil, opsetDomain, "")
	opset = appendVarintField(opset, opsetVersion, Opset)
	b := appendVarintField(nil, modelIRVersion, IRVersion)
	b = appendStringField(b, modelProducerName, Producer)
	b = appendStringField(b, modelDocString, g.doc)
	b = appendBytesField(b, modelOpsetImport, opset)
	b = protowire.AppendTag(b, modelGraph, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))

	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(b) // errors surface at Flush
	for _, nb := range g.nodes {
		bw.Write(appendBytesField(nil, graphNode, nb))
	}
	bw.Write(appendStringField(nil, graphName, g.name))
	for i, t := range g.inits {
		tag := protowire.AppendTag(nil, graphInitializer, protowire.BytesType)
		bw.Write(protowire.AppendVarint(tag, uint64(len(headers[i])+4*len(t.data))))
		bw.Write(headers[i])
		writeRaw(bw, t.data)
	}
	for _, ib := range g.inputs {
		bw.Write(appendBytesField(nil, graphInput, ib))
	}
	for _, ob := range g.outputs {
		bw.Write(appendBytesField(nil, graphOutput, ob))
	}
	return bw.Flush()
}
