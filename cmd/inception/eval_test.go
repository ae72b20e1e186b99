package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func evalJSON(t *testing.T, wantCode exitCode, args ...string) EvalResult {
	t.Helper()
	ios, out, errOut := testIO()
	if code := run(context.Background(), append([]string{"eval", "--format", "json", "--weights", bvlcWeights}, args...), ios); code != wantCode {
		t.Fatalf("%v: exit %d, want %d: %s", args, code, wantCode, errOut)
	}
	var r EvalResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// TestEvalLabelSources evaluates the real GoogLeNet on three photos labelled by folder, by file-name
// prefix and by a labels file, as a class name, a WordNet id and a synonym: the cat is labelled "tabby"
// and GoogLeNet's top-1 is "Egyptian cat" (top-5 has tabby), the rocket and the coffee are right. A
// corrupt file is reported, left out of the figures and makes the exit status 1.
func TestEvalLabelSources(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network; skipped under -short")
	}
	needShared(t)
	img := func(n string) string { return filepath.Join(sharedDir, "images", n) }
	check := func(name string, r EvalResult) {
		t.Helper()
		if r.N != 3 || r.Top1Correct != 2 || r.Top5Correct != 3 || r.Failed != 1 || r.Arch != "v1" {
			t.Errorf("%s: n %d top-1 %d top-5 %d failed %d arch %s", name, r.N, r.Top1Correct, r.Top5Correct, r.Failed, r.Arch)
		}
		if len(r.Confused) != 1 || r.Confused[0].True != 281 || r.Confused[0].Predicted != 285 || r.Confused[0].TrueName != "tabby" {
			t.Errorf("%s: confused %+v", name, r.Confused)
		}
	}

	folders := t.TempDir()
	copyFile(t, img("chelsea.png"), filepath.Join(folders, "tabby", "chelsea.png"))
	copyFile(t, img("rocket.jpg"), filepath.Join(folders, "n03773504", "rocket.jpg"))
	copyFile(t, img("coffee.png"), filepath.Join(folders, "Espresso", "coffee.png"))
	if err := os.WriteFile(filepath.Join(folders, "Espresso", "bad.jpg"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("folders", evalJSON(t, exitFailure, folders))

	prefix := t.TempDir()
	copyFile(t, img("chelsea.png"), filepath.Join(prefix, "tabby_cat_1.png"))
	copyFile(t, img("rocket.jpg"), filepath.Join(prefix, "missile_2.jpg"))
	copyFile(t, img("coffee.png"), filepath.Join(prefix, "n07920052_3.png"))
	copyFile(t, filepath.Join(folders, "Espresso", "bad.jpg"), filepath.Join(prefix, "espresso_4.jpg"))
	check("prefix", evalJSON(t, exitFailure, prefix))

	list := filepath.Join(t.TempDir(), "labels.tsv")
	lines := "path\tclass\n" + filepath.Join(prefix, "tabby_cat_1.png") + "\t281\n" + filepath.Join(prefix, "missile_2.jpg") +
		"\tn03773504\n" + filepath.Join(prefix, "n07920052_3.png") + "\tespresso\n" + filepath.Join(prefix, "espresso_4.jpg") + "\tespresso\n"
	if err := os.WriteFile(list, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	check("labels file", evalJSON(t, exitFailure, prefix, "--labels", list))

	// Ten crops: the figures are those of classify --crops 10 on the same photos.
	r := evalJSON(t, exitFailure, folders, "--crops", "10")
	want := classifyJSON(t, "--weights", bvlcWeights, "--crops", "10", img("chelsea.png"), img("rocket.jpg"), img("coffee.png"))
	hits := 0
	for i, idx := range []int{281, 657, 967} {
		if want[i].Top[0].Index == idx {
			hits++
		}
	}
	if r.Crops != 10 || r.Top1Correct != hits {
		t.Errorf("ten crops: %d crops, top-1 %d, classify --crops 10 says %d", r.Crops, r.Top1Correct, hits)
	}

	// A class nobody knows stops the run before the network, naming the file and the class.
	copyFile(t, img("chelsea.png"), filepath.Join(folders, "housecat", "x.png"))
	ios, _, errOut := testIO()
	code := run(context.Background(), []string{"eval", "--weights", bvlcWeights, folders}, ios)
	if code != exitUsage || !strings.Contains(errOut.String(), "housecat") || !strings.Contains(errOut.String(), "x.png") {
		t.Errorf("unknown class: exit %d, %s", code, errOut)
	}
}
