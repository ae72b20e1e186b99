package model

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
)

// golden is the part of a testdata/golden/*.json fixture the tests read (see testdata/golden/README.md).
type golden struct {
	Arch  string `json:"arch"`
	Salt  string `json:"salt"`
	Input struct {
		Shape     []int `json:"shape"`
		Checksums []struct {
			Name   string    `json:"name"`
			First4 []float64 `json:"first4"`
			Sum    float64   `json:"sum"`
		} `json:"checksums"`
	} `json:"input"`
	Tensors []struct {
		Name   string    `json:"name"`
		Shape  []int     `json:"shape"`
		Role   string    `json:"role"`
		First4 []float64 `json:"first4"`
		Sum    float64   `json:"sum"`
	} `json:"tensors"`
	Logits map[string][]float32 `json:"logits"`
}

func readGolden(t testing.TB, name string) *golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	g := &golden{}
	if err := json.Unmarshal(b, g); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	return g
}

// goldenVariant maps a fixture's arch to the graph its reference builds: torchvision's googlenet is the
// batch-norm graph.
var goldenVariant = map[string]*Variant{"v1": v1BN, "v2": v2, "v3": v3, "v4": v4, "irv1": irv1, "irv2": irv2}

var fillSalt = flag.String("salt", "", "salt of the splitmix fill (the fixtures use \"\")")

// TestParamsMatchReference checks that each variant declares exactly the reference's state-dict keys, in
// order, with the reference's shapes, and that the Go fill reproduces the fixture's checksums.
func TestParamsMatchReference(t *testing.T) {
	for arch, v := range goldenVariant {
		t.Run(arch, func(t *testing.T) {
			g := readGolden(t, arch)
			got := New(v).Params()
			if len(got) != len(g.Tensors) {
				t.Errorf("%d parameters, reference has %d", len(got), len(g.Tensors))
			}
			for i := 0; i < min(len(got), len(g.Tensors)); i++ {
				want := g.Tensors[i]
				if got[i].Key != want.Name || !sameShape(got[i].Shape, want.Shape) || got[i].Role.String() != want.Role {
					t.Fatalf("parameter %d: got %s %v %s, want %s %v %s", i, got[i].Key, got[i].Shape, got[i].Role,
						want.Name, want.Shape, want.Role)
				}
				data := fill.Tensor(g.Salt, want.Name, want.Shape, want.Role)
				var sum float64
				for _, x := range data {
					sum += float64(x)
				}
				for j, w := range want.First4 {
					if float64(data[j]) != float64(float32(w)) {
						t.Fatalf("%s[%d] = %.9g, want %.9g", want.Name, j, data[j], w)
					}
				}
				if math.Abs(sum-want.Sum) > 1e-6*math.Max(1, math.Abs(want.Sum)) {
					t.Fatalf("%s: sum %.12g, want %.12g", want.Name, sum, want.Sum)
				}
			}
		})
	}
}

// fillModel builds v with the splitmix fill of its parameters.
func fillModel(t testing.TB, v *Variant, salt string, setup ...func(*Model)) *Model {
	m := New(v)
	for _, f := range setup {
		f(m)
	}
	src := MapSource{}
	for _, p := range m.Params() {
		src[p.Key] = Tensor{Shape: p.Shape, Data: fill.Tensor(salt, p.Key, p.Shape, p.Role.String())}
	}
	if err := m.Load(src); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGoldenLogits runs each variant on the fixture's two inputs as one batch and compares all logits with
// the reference's (float64 reference run, rounded to float32). Tolerance 1e-3 absolute: the fixture's
// plain float32 reference run strays by up to 6e-5 on logits up to ~150.
func TestGoldenLogits(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model parity runs every variant (about 80 GFLOP); skipped under -short")
	}
	for _, arch := range []string{"v1", "v2", "v3", "v4", "irv1", "irv2"} {
		t.Run(arch, func(t *testing.T) {
			g := readGolden(t, arch)
			salt := g.Salt
			if *fillSalt != "" {
				salt = *fillSalt
			}
			m := fillModel(t, goldenVariant[arch], salt)
			sh := g.Input.Shape
			n := len(g.Input.Checksums)
			x := make([]float32, 0, n*sh[1]*sh[2]*sh[3])
			for _, c := range g.Input.Checksums {
				in := fill.Tensor(salt, c.Name, sh, "input")
				if float64(in[0]) != float64(float32(c.First4[0])) {
					t.Fatalf("%s starts %.9g, fixture says %.9g", c.Name, in[0], c.First4[0])
				}
				x = append(x, in...)
			}
			out := make([]float32, n*m.Classes())
			if err := m.ForwardRaw(x, n, sh[2], sh[3], out); err != nil {
				t.Fatal(err)
			}
			for i, c := range g.Input.Checksums {
				want := g.Logits[c.Name]
				got := out[i*m.Classes() : (i+1)*m.Classes()]
				if len(want) != len(got) {
					t.Fatalf("%s: %d logits, fixture has %d", c.Name, len(got), len(want))
				}
				worst, at := 0.0, 0
				for j := range want {
					if d := math.Abs(float64(got[j] - want[j])); d > worst || math.IsNaN(d) {
						worst, at = d, j
					}
				}
				t.Logf("%s %s: max |Δlogit| %.3g at %d", arch, c.Name, worst, at)
				if !(worst <= 1e-3) {
					t.Errorf("%s: logit %d = %.6g, want %.6g (max |Δ| %.3g > 1e-3)", c.Name, at, got[at], want[at], worst)
				}
			}
		})
	}
}
