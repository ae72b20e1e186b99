package model

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
)

// TestCheckpoints compares the sum and sum of squares after each top-level block for input0 with the
// fixture's, to locate where a variant departs from its reference. Run with -run TestCheckpoints/v3 -v.
func TestCheckpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("whole-model run; skipped under -short")
	}
	for _, arch := range []string{"v1", "v2", "v3", "v4", "irv1", "irv2"} {
		t.Run(arch, func(t *testing.T) {
			if !testing.Verbose() {
				t.Skip("diagnostic; run with -v")
			}
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
			m.observe = func(name string, v view) {
				var s, s2 float64
				for _, x := range v.img(0) {
					s += float64(x)
					s2 += float64(x) * float64(x)
				}
				w, ok := want[name]
				mark := ""
				if ok && (math.Abs(s-w[0]) > 1e-3*math.Max(1, math.Abs(w[0])) || math.Abs(s2-w[1]) > 1e-3*w[1]) {
					mark = "  <-- MISMATCH"
				}
				t.Logf("%-28s %-14v sum %14.6f sumsq %16.6f  ref %v%s", name, v.shape, s, s2, w, mark)
			}
			sh := g.Input.Shape
			x := fill.Tensor("", "input0", sh, "input")
			out := make([]float32, m.Classes())
			if err := m.ForwardRaw(x, 1, sh[2], sh[3], out); err != nil {
				t.Fatal(err)
			}
		})
	}
}
