package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/inception-cli/inception/internal/preprocess"
)

// TestExplainFindsTheObject puts the rocket photo beside the cat photo and asks the real GoogLeNet where
// each class is: the "missile" map must peak over the rocket (left), the "Egyptian cat" map over the cat
// (right), and the overlay is a PNG of the photo's size.
func TestExplainFindsTheObject(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network; skipped under -short")
	}
	needShared(t)
	load := func(name string) image.Image {
		img, err := preprocess.Decode(filepath.Join(sharedDir, "images", name), preprocess.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	rocket, cat := load("rocket.jpg"), load("chelsea.png")
	rb, cb := rocket.Bounds(), cat.Bounds()
	comp := image.NewRGBA(image.Rect(0, 0, rb.Dx()+cb.Dx(), max(rb.Dy(), cb.Dy())))
	draw.Draw(comp, rb.Sub(rb.Min), rocket, rb.Min, draw.Src)
	draw.Draw(comp, cb.Sub(cb.Min).Add(image.Pt(rb.Dx(), 0)), cat, cb.Min, draw.Src)
	dir := t.TempDir()
	src := filepath.Join(dir, "both.png")
	var b bytes.Buffer
	if err := png.Encode(&b, comp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		class string
		index int
		left  bool
	}{{"missile", 657, true}, {"Egyptian cat", 285, false}, {"n02124075", 285, false}} {
		out := filepath.Join(dir, "heat.png")
		ios, stdout, errOut := testIO()
		code := run(context.Background(), []string{"explain", src, "--weights", bvlcWeights, "--class", tc.class, "--out", out, "--format", "json"}, ios)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", tc.class, code, errOut)
		}
		var e Explanation
		if err := json.Unmarshal(stdout.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.Class.Index != tc.index || len(e.Map) != 7 || len(e.Map[0]) != 7 {
			t.Fatalf("%s: class %d, %d map rows", tc.class, e.Class.Index, len(e.Map))
		}
		if left := e.Peak[0] < rb.Dx(); left != tc.left {
			t.Errorf("%s: peak at x=%d, the rocket ends at x=%d", tc.class, e.Peak[0], rb.Dx())
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		heat, err := png.Decode(f)
		f.Close()
		if err != nil || heat.Bounds().Size() != comp.Bounds().Size() {
			t.Fatalf("%s: overlay %v, %v", tc.class, heat.Bounds(), err)
		}
	}
	// The default class is the top one; an unknown class is a usage error naming it.
	ios, stdout, _ := testIO()
	if code := run(context.Background(), []string{"explain", filepath.Join(sharedDir, "images", "chelsea.png"), "--weights", bvlcWeights, "--out", filepath.Join(dir, "c.png"), "--format", "json"}, ios); code != exitOK {
		t.Fatal(code)
	}
	var e Explanation
	if err := json.Unmarshal(stdout.Bytes(), &e); err != nil || e.Class.Index != 285 {
		t.Errorf("default class %+v %v", e.Class, err)
	}
	ios, _, errOut := testIO()
	if code := run(context.Background(), []string{"explain", src, "--weights", bvlcWeights, "--class", "housecat", "--out", filepath.Join(dir, "x.png")}, ios); code != exitUsage || !bytes.Contains(errOut.Bytes(), []byte("housecat")) {
		t.Errorf("unknown class: exit %d, %s", code, errOut)
	}
}
