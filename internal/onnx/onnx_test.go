package onnx

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/model"
)

// fillModel returns variant name with the splitmix fill of salt "onnx" as weights.
func fillModel(t testing.TB, name string) *model.Model {
	t.Helper()
	v, err := model.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	m := model.New(v)
	m.KeepWeights = true // Export reads the folded weights
	src := model.MapSource{}
	for _, p := range m.Params() {
		src[p.Key] = model.Tensor{Shape: p.Shape, Data: fill.Tensor("onnx", p.Key, p.Shape, p.Role.String())}
	}
	if err := m.Load(src); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestExport exports each graph with fill weights, decodes the ModelProto with protowire and checks it
// against the model's Layers; then, when the tools are installed, runs onnx.checker (full_check) on it and
// compares ONNX Runtime's logits with Forward's.
func TestExport(t *testing.T) {
	for _, tc := range []struct {
		arch        string
		size, batch int
		ort         bool
	}{
		{"v1", 97, 0, true},    // BVLC graph: LRN, biased convs, Caffe ceil-mode pools (97 is odd: ceil matters)
		{"v1-bn", 64, 2, true}, // torchvision graph: folded batch norm, 2×2 ceil-mode maxpool4
		{"irv2", 107, 0, false},
	} {
		t.Run(fmt.Sprintf("%s_%d_b%d", tc.arch, tc.size, tc.batch), func(t *testing.T) {
			m := fillModel(t, tc.arch)
			var buf bytes.Buffer
			if err := Export(&buf, m, tc.size, tc.batch); err != nil {
				t.Fatal(err)
			}
			ls, err := m.Layers(tc.size, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			checkStructure(t, buf.Bytes(), ls, tc.size, tc.batch, m.Classes())

			file := filepath.Join(t.TempDir(), tc.arch+".onnx")
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Run("checker", func(t *testing.T) { runChecker(t, file) })
			if tc.ort {
				t.Run("ort", func(t *testing.T) { runORT(t, m, file, tc.size) })
			}
		})
	}
}

func checkStructure(t *testing.T, data []byte, ls []model.Layer, size, batch, classes int) {
	t.Helper()
	mp := decodeModel(t, data)
	if mp.irVersion != IRVersion || mp.producer != Producer {
		t.Errorf("ir_version %d producer %q, want %d %q", mp.irVersion, mp.producer, IRVersion, Producer)
	}
	if len(mp.opsets) != 1 || mp.opsets[""] != Opset {
		t.Errorf("opset_import %v, want only the default domain at %d", mp.opsets, Opset)
	}
	g := mp.graph

	// Inputs and outputs.
	n := strconv.Itoa(batch)
	if batch == 0 {
		n = "N"
	}
	s := strconv.Itoa(size)
	wantIO := []valueInfo{{InputName, []string{n, "3", s, s}}}
	if got := g.inputs; !slices.EqualFunc(got, wantIO, valueInfo.equal) {
		t.Errorf("graph inputs %v, want %v", got, wantIO)
	}
	c := strconv.Itoa(classes)
	wantIO = []valueInfo{{LogitsName, []string{n, c}}, {ProbName, []string{n, c}}}
	if got := g.outputs; !slices.EqualFunc(got, wantIO, valueInfo.equal) {
		t.Errorf("graph outputs %v, want %v", got, wantIO)
	}

	// Initializers: a W and a B per Conv and Linear layer, in layer order, with the folded weights, and
	// one 0-d tensor per residual scale other than 1.
	inits := map[string]tensorProto{}
	var weights, scalars []tensorProto
	for _, tp := range g.inits {
		if _, dup := inits[tp.name]; dup {
			t.Errorf("initializer %q twice", tp.name)
		}
		inits[tp.name] = tp
		if len(tp.dims) == 0 {
			scalars = append(scalars, tp)
		} else {
			weights = append(weights, tp)
		}
	}
	k := 0
	scales := map[float32]bool{}
	ops := map[string]int{}
	for _, l := range ls {
		ops[l.Op.String()]++
		var wdims []int64
		switch l.Op {
		case model.OpConv:
			c := l.Conv
			wdims = []int64{int64(c.O), int64(c.C), int64(c.KH), int64(c.KW)}
		case model.OpLinear:
			wdims = []int64{int64(l.Out.C), int64(l.In.C)}
		case model.OpAddScaled:
			if l.Scale != 1 {
				scales[l.Scale] = true
			}
			continue
		default:
			continue
		}
		for _, want := range []struct {
			dims []int64
			data []float32
		}{{wdims, l.W}, {[]int64{int64(l.Out.C)}, l.B}} {
			if k >= len(weights) {
				t.Fatalf("%d weight initializers, want more", len(weights))
			}
			got := weights[k]
			k++
			if got.dataType != dataTypeFloat || !slices.Equal(got.dims, want.dims) || !slices.Equal(got.floats(), want.data) {
				t.Fatalf("initializer %d %q: type %d dims %v (%d values), want float %v of layer %s",
					k-1, got.name, got.dataType, got.dims, len(got.raw)/4, want.dims, l.Name)
			}
		}
	}
	if k != len(weights) || len(scalars) != len(scales) {
		t.Errorf("%d weight and %d 0-d initializers, want %d and %d (one per residual scale)", len(weights), len(scalars), k, len(scales))
	}
	for _, tp := range scalars {
		if f := tp.floats(); len(f) != 1 || !scales[f[0]] {
			t.Errorf("initializer %q dims %v values %v, want one of the scales %v", tp.name, tp.dims, f, scales)
		}
	}

	// Nodes: allowed operators, topological order, single definitions, and the counts Layers implies.
	defined := map[string]bool{InputName: true}
	for name := range inits {
		defined[name] = true
	}
	count := map[string]int{}
	for i, nd := range g.nodes {
		if !slices.Contains(Ops, nd.op) {
			t.Errorf("node %d %q: op %q not in %v", i, nd.name, nd.op, Ops)
		}
		count[nd.op]++
		for _, in := range nd.in {
			if !defined[in] {
				t.Errorf("node %d %s %q reads %q before it is defined", i, nd.op, nd.name, in)
			}
		}
		for _, out := range nd.out {
			if defined[out] {
				t.Errorf("node %d %s %q redefines %q", i, nd.op, nd.name, out)
			}
			defined[out] = true
		}
	}
	relus := 0
	for _, l := range ls {
		if l.ReLU {
			relus++
		}
	}
	wantCount := map[string]int{
		"Conv": ops["Conv"], "MaxPool": ops["MaxPool"], "AveragePool": ops["AvgPool"], "LRN": ops["LRN"],
		"Concat": ops["Concat"], "Add": ops["AddScaled"], "Mul": ops["AddScaled"] - countScale1(ls),
		"GlobalAveragePool": 1, "Flatten": 1, "Gemm": ops["Linear"], "Relu": relus, "Softmax": 1,
	}
	for op, want := range wantCount {
		if count[op] != want {
			t.Errorf("%d %s nodes, want %d", count[op], op, want)
		}
	}
	last := g.nodes[len(g.nodes)-1]
	if last.op != "Softmax" || !slices.Equal(last.in, []string{LogitsName}) || !slices.Equal(last.out, []string{ProbName}) ||
		last.ints["axis"] != 1 {
		t.Errorf("last node %+v, want Softmax(logits, axis 1) -> prob", last)
	}
	if !defined[LogitsName] {
		t.Errorf("no node writes %q", LogitsName)
	}
	for _, nd := range g.nodes {
		if nd.op == "Conv" && len(nd.lists["pads"]) != 4 {
			t.Errorf("Conv %q pads %v, want [t,l,b,r]", nd.name, nd.lists["pads"])
		}
	}
}

func countScale1(ls []model.Layer) int {
	n := 0
	for _, l := range ls {
		if l.Op == model.OpAddScaled && l.Scale == 1 {
			n++
		}
	}
	return n
}

// TestExportErrors checks the arguments and model states Export refuses.
func TestExportErrors(t *testing.T) {
	v, err := model.Lookup("v3")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		m           *model.Model
		size, batch int
	}{
		{"no weights", model.New(v), 299, 1},
		{"too small", model.New(v), 32, 1},
		{"negative batch", model.New(v), 299, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Export(&buf, tc.m, tc.size, tc.batch); err == nil {
				t.Errorf("Export succeeded, want an error")
			}
		})
	}
}

// TestExportWriteError checks that a failing writer's error is returned.
func TestExportWriteError(t *testing.T) {
	m := fillModel(t, "v1")
	if err := Export(failWriter{}, m, 64, 1); !errors.Is(err, errFail) {
		t.Errorf("Export = %v, want %v", err, errFail)
	}
}

var errFail = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errFail }

// runChecker runs onnx.checker.check_model(full_check=True) with a python3 that has the onnx package
// (Debian: apt-get install python3-onnx), or skips.
func runChecker(t *testing.T, file string) {
	py := ""
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(cand, "-c", "import onnx").Run() == nil {
			py = cand
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with the onnx package (apt-get install python3-onnx); checker not run")
	}
	out, err := exec.Command(py, "-c", "import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True)", file).CombinedOutput()
	if err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
}

// runORT runs bench/ort.js (ONNX Runtime from bench/node_modules) on a fill input of two images and
// compares its logits with Forward's to the parity tolerance 1e-3, or skips when node or the package is
// missing.
func runORT(t *testing.T, m *model.Model, file string, size int) {
	script, _ := filepath.Abs(filepath.Join("..", "..", "bench", "ort.js"))
	pkg := filepath.Join(filepath.Dir(script), "node_modules", "onnxruntime-node")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found; ONNX Runtime parity not run")
	}
	if _, err := os.Stat(pkg); err != nil {
		t.Skip("bench/node_modules/onnxruntime-node missing (cd bench && npm ci --ignore-scripts); ONNX Runtime parity not run")
	}
	const n = 2
	x := fill.Tensor("onnx", "input", []int{n, 3, size, size}, "input")
	want := make([]float32, n*m.Classes())
	if err := m.ForwardRaw(x, n, size, size, want); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(file)
	in, logits := filepath.Join(dir, "input.bin"), filepath.Join(dir, "logits.bin")
	for name, v := range map[string][]float32{in: x, logits: want} {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, v)
		if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, script, "--model", file, "--batch", strconv.Itoa(n), "--threads", "1",
		"--iters", "0", "--input", in, "--check", logits, "--tol", "1e-3")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r struct {
		MaxAbsDiff *float64 `json:"max_abs_diff"`
		At         int      `json:"max_abs_diff_at"`
		ORT        string   `json:"ort"`
	}
	if jerr := json.Unmarshal(out, &r); jerr != nil || r.MaxAbsDiff == nil {
		t.Fatalf("ort.js: %v %v\n%s%s", err, jerr, out, stderr.Bytes())
	}
	t.Logf("ONNX Runtime %s: max |Δlogit| %.3g at %d", r.ORT, *r.MaxAbsDiff, r.At)
	if err != nil || !(*r.MaxAbsDiff <= 1e-3) {
		t.Errorf("ONNX Runtime logit %d differs from Forward's %.6g by %.3g (> 1e-3): %v", r.At, want[r.At], *r.MaxAbsDiff, err)
	}
}

// ---- a protowire decoder for the messages Export writes --------------------------------------------------

type modelProto struct {
	irVersion int64
	producer  string
	opsets    map[string]int64
	graph     graphProto
}

type graphProto struct {
	nodes           []nodeProto
	inits           []tensorProto
	inputs, outputs []valueInfo
}

type nodeProto struct {
	name, op string
	in, out  []string
	ints     map[string]int64
	lists    map[string][]int64
	floats   map[string]float32
}

type tensorProto struct {
	name     string
	dims     []int64
	dataType int64
	raw      []byte
}

func (tp tensorProto) floats() []float32 {
	f := make([]float32, len(tp.raw)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(tp.raw[4*i:]))
	}
	return f
}

// valueInfo is a ValueInfoProto of a float tensor: its name and dims (dim_value in decimal, or dim_param).
type valueInfo struct {
	name string
	dims []string
}

func (a valueInfo) equal(b valueInfo) bool { return a.name == b.name && slices.Equal(a.dims, b.dims) }

// fields calls fn for each field of the message b, failing the test on malformed input.
func fields(t *testing.T, b []byte, fn func(num protowire.Number, v uint64, payload []byte)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v uint64
		var payload []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(b)
			v = uint64(v32)
		case protowire.BytesType:
			payload, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		fn(num, v, payload)
	}
}

func decodeModel(t *testing.T, b []byte) modelProto {
	mp := modelProto{opsets: map[string]int64{}}
	fields(t, b, func(num protowire.Number, v uint64, p []byte) {
		switch num {
		case modelIRVersion:
			mp.irVersion = int64(v)
		case modelProducerName:
			mp.producer = string(p)
		case modelOpsetImport:
			var domain string
			var version int64
			fields(t, p, func(num protowire.Number, v uint64, p []byte) {
				switch num {
				case opsetDomain:
					domain = string(p)
				case opsetVersion:
					version = int64(v)
				}
			})
			mp.opsets[domain] = version
		case modelGraph:
			mp.graph = decodeGraph(t, p)
		}
	})
	return mp
}

func decodeGraph(t *testing.T, b []byte) graphProto {
	var g graphProto
	fields(t, b, func(num protowire.Number, v uint64, p []byte) {
		switch num {
		case graphNode:
			g.nodes = append(g.nodes, decodeNode(t, p))
		case graphInitializer:
			var tp tensorProto
			fields(t, p, func(num protowire.Number, v uint64, p []byte) {
				switch num {
				case tensorDims:
					tp.dims = append(tp.dims, int64(v))
				case tensorDataType:
					tp.dataType = int64(v)
				case tensorName:
					tp.name = string(p)
				case tensorRawData:
					tp.raw = p
				}
			})
			g.inits = append(g.inits, tp)
		case graphInput:
			g.inputs = append(g.inputs, decodeValueInfo(t, p))
		case graphOutput:
			g.outputs = append(g.outputs, decodeValueInfo(t, p))
		}
	})
	return g
}

func decodeNode(t *testing.T, b []byte) nodeProto {
	nd := nodeProto{ints: map[string]int64{}, lists: map[string][]int64{}, floats: map[string]float32{}}
	fields(t, b, func(num protowire.Number, v uint64, p []byte) {
		switch num {
		case nodeInput:
			nd.in = append(nd.in, string(p))
		case nodeOutput:
			nd.out = append(nd.out, string(p))
		case nodeName:
			nd.name = string(p)
		case nodeOpType:
			nd.op = string(p)
		case nodeAttribute:
			var name string
			var typ, i int64
			var f float32
			var ints []int64
			fields(t, p, func(num protowire.Number, v uint64, p []byte) {
				switch num {
				case attrName:
					name = string(p)
				case attrType:
					typ = int64(v)
				case attrI:
					i = int64(v)
				case attrF:
					f = math.Float32frombits(uint32(v))
				case attrInts:
					ints = append(ints, int64(v))
				}
			})
			switch typ {
			case attrTypeInt:
				nd.ints[name] = i
			case attrTypeInts:
				nd.lists[name] = ints
			case attrTypeFloat:
				nd.floats[name] = f
			default:
				t.Errorf("node %q attribute %q: type %d", nd.name, name, typ)
			}
		}
	})
	return nd
}

func decodeValueInfo(t *testing.T, b []byte) valueInfo {
	var vi valueInfo
	fields(t, b, func(num protowire.Number, v uint64, p []byte) {
		switch num {
		case valueInfoName:
			vi.name = string(p)
		case valueInfoType:
			fields(t, p, func(num protowire.Number, v uint64, p []byte) {
				if num != typeTensorType {
					return
				}
				fields(t, p, func(num protowire.Number, v uint64, p []byte) {
					switch num {
					case typeTensorElemType:
						if v != dataTypeFloat {
							t.Errorf("value %q: elem_type %d, want float", vi.name, v)
						}
					case typeTensorShape:
						fields(t, p, func(num protowire.Number, v uint64, p []byte) {
							fields(t, p, func(num protowire.Number, v uint64, p []byte) {
								switch num {
								case dimValue:
									vi.dims = append(vi.dims, strconv.FormatUint(v, 10))
								case dimParam:
									vi.dims = append(vi.dims, string(p))
								}
							})
						})
					}
				})
			})
		}
	})
	return vi
}
