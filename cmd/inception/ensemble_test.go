package main

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// classifyJSON runs classify with args plus --format json --top-k 1000 and returns the records.
func classifyJSON(t *testing.T, args ...string) []Record {
	t.Helper()
	ios, out, errOut := testIO()
	args = append([]string{"classify", "--format", "json", "--top-k", "1000"}, args...)
	if code := run(context.Background(), args, ios); code != exitOK {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	var rs []Record
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return rs
}

func probsByIndex(r Record) map[int]float64 {
	p := map[int]float64{}
	for _, c := range r.Top {
		p[c.Index] = float64(c.Prob)
	}
	return p
}

// TestEnsembleAveragesProbabilities: --arch a,b:3 averages the members' probabilities 1:3, each member
// with its own weights and its own preprocessing (the real BVLC GoogLeNet with the Caffe recipe, a
// torchvision-keyed GoogLeNet with the Keras one).
func TestEnsembleAveragesProbabilities(t *testing.T) {
	if testing.Short() {
		t.Skip("runs networks; skipped under -short")
	}
	needShared(t)
	bn := writeFillSafetensors(t, "v1-bn")
	img := filepath.Join(sharedDir, "images", "chelsea.png")
	a := probsByIndex(classifyJSON(t, "--weights", bvlcWeights, img)[0])
	b := probsByIndex(classifyJSON(t, "--weights", bn, img)[0])
	rs := classifyJSON(t, "--arch", "v1,v1:3", "--weights", bvlcWeights+","+bn, img)
	if len(rs) != 1 || rs[0].Arch != "v1+v1-bn×3" || rs[0].Weights != bvlcWeights+"+"+bn {
		t.Fatalf("record %+v", rs[0])
	}
	got := probsByIndex(rs[0])
	if len(got) != 1000 {
		t.Fatalf("%d classes", len(got))
	}
	worst := 0.0
	for k, p := range got {
		worst = math.Max(worst, math.Abs(p-(a[k]+3*b[k])/4))
	}
	if worst > 1e-6 {
		t.Errorf("ensemble differs from the 1:3 average of its members by %.3g", worst)
	}
}

func TestParseMembers(t *testing.T) {
	ms, err := parseMembers("v4, irv2:3", "a.safetensors,b.safetensors")
	if err != nil || len(ms) != 2 || ms[1] != (member{arch: "irv2", weight: 3, weights: "b.safetensors"}) {
		t.Fatalf("%+v %v", ms, err)
	}
	for _, bad := range [][2]string{{"v4,irv2", "one.safetensors"}, {"v4:0", ""}, {"v4:x", ""}, {"v4,,v3", ""}, {"v4", "a,b"}} {
		if _, err := parseMembers(bad[0], bad[1]); err == nil {
			t.Errorf("--arch %q --weights %q accepted", bad[0], bad[1])
		}
	}
}

// TestOneNetworkCommands: the commands that need the features of one network refuse an ensemble.
func TestOneNetworkCommands(t *testing.T) {
	for _, args := range [][]string{
		{"embed", "x.jpg"}, {"explain", "x.jpg", "--out", "y.png"}, {"train-head", "d", "--out", "h.safetensors"},
	} {
		ios, _, errOut := testIO()
		code := run(context.Background(), append(args, "--arch", "v3,v4"), ios)
		if code != exitUsage || !strings.Contains(errOut.String(), args[0]+" takes one network, not an ensemble") {
			t.Errorf("%s --arch v3,v4: exit %d, %s", args[0], code, errOut)
		}
	}
}
