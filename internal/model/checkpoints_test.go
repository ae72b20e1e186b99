package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
)

// TestCheckpoints compares the sum and sum of squares after each block for input0 with the fixture's
// (relative 1e-3), at every block whose name the reference shares, so a mismatch is reported where it
// starts; -v logs every block. v2 is left out: Cadene's flat graph names only single layers, and its
// checkpoints are raw convolution outputs before batch norm, which the folded network never holds.
func TestCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model run; skipped under -short")
	}
	for _, arch := range []string{"v1", "v3", "v4", "irv1", "irv2"} {
		t.Run(arch, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "golden", arch+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var g struct {
				Input struct {
					Shape []int `json:"shape"`
				} `json:"input"`
				Checkpoints struct {
					Layers []struct {
						Module string  `json:"module"`
						Shape  []int   `json:"shape"`
						Sum    float64 `json:"sum"`
						Sumsq  float64 `json:"sumsq"`
					} `json:"layers"`
				} `json:"checkpoints"`
			}
			if err := json.Unmarshal(b, &g); err != nil {
				t.Fatal(err)
			}
			want := map[string][2]float64{}
			for _, l := range g.Checkpoints.Layers {
				want[l.Module] = [2]float64{l.Sum, l.Sumsq}
			}
			m := fillModel(t, goldenVariant[arch], "")
			matched := 0
			m.observe = func(name string, v view) {
				var s, s2 float64
				for _, x := range v.img(0) {
					s += float64(x)
					s2 += float64(x) * float64(x)
				}
				w, ok := want[name]
				t.Logf("%-28s %-14v sum %14.6f sumsq %16.6f  ref %v", name, v.shape, s, s2, w)
				if !ok {
					return
				}
				matched++
				if math.Abs(s-w[0]) > 1e-3*math.Max(1, math.Abs(w[0])) || math.Abs(s2-w[1]) > 1e-3*w[1] {
					t.Errorf("%s: sum %.6f sumsq %.6f, reference %.6f %.6f", name, s, s2, w[0], w[1])
				}
			}
			sh := g.Input.Shape
			x := fill.Tensor("", "input0", sh, "input")
			out := make([]float32, m.Classes())
			if err := m.ForwardRaw(x, 1, sh[2], sh[3], out); err != nil {
				t.Fatal(err)
			}
			if matched < len(g.Checkpoints.Layers)/2 {
				t.Errorf("only %d of the reference's %d checkpoints were found by name", matched, len(g.Checkpoints.Layers))
			}
		})
	}
}
