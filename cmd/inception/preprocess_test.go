package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/inception-cli/inception/internal/npy"
	"github.com/inception-cli/inception/internal/preprocess"
)

// TestPreprocessNPY writes the caffe tensor of a photo and checks it against the preset applied in
// process, and that a published set's recipe is picked by name.
func TestPreprocessNPY(t *testing.T) {
	img := filepath.Join("..", "..", "internal", "preprocess", "testdata", "chelsea.png")
	dir := t.TempDir()
	for _, tc := range []struct {
		args  []string
		size  int
		check func(t *testing.T, x []float32)
	}{
		{[]string{"--arch", "v1"}, 224, func(t *testing.T, x []float32) {
			var sum float64
			for _, v := range x {
				sum += float64(v)
			}
			if sum != -230103 { // shared/golden/bvlc_googlenet.json: the BVLC recipe on chelsea.png
				t.Errorf("sum %v, want -230103", sum)
			}
		}},
		{[]string{"--weights", "inception_resnet_v2.tf_in1k"}, 299, nil},
		{[]string{"--preprocess", "torchvision", "--size", "64", "--interpolation", "bicubic"}, 64, nil},
	} {
		out := filepath.Join(dir, "x.npy")
		ios, _, errOut := testIO()
		if code := run(context.Background(), append([]string{"preprocess", img, "--out", out}, tc.args...), ios); code != exitOK {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		shape, x, err := npy.Read(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(shape) != 4 || shape[0] != 1 || shape[1] != 3 || shape[2] != tc.size || shape[3] != tc.size {
			t.Fatalf("%v: shape %v", tc.args, shape)
		}
		if tc.check != nil {
			tc.check(t, x)
		}
	}
	// The torchvision case against the preset applied directly.
	p, err := preprocess.LookupPreset("torchvision", 0)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = p.With(preprocess.Overrides{Size: 64, Interpolation: "bicubic"}); err != nil {
		t.Fatal(err)
	}
	im, err := preprocess.Decode(img, preprocess.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 3*64*64)
	p.Into(im, want)
	f, _ := os.Open(filepath.Join(dir, "x.npy"))
	defer f.Close()
	_, got, _ := npy.Read(f)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("value %d: %v, want %v", i, got[i], want[i])
		}
	}
}
