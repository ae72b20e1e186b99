package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestExportONNX(t *testing.T) {
	w := writeFillSafetensors(t, "v1-bn")
	out := filepath.Join(t.TempDir(), "g.onnx")
	ios, _, errOut := testIO()
	if code := run(context.Background(), []string{"export", "--arch", "v1", "--weights", w, "--size", "64", "--out", out}, ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// 6.6 M float32 parameters, folded: the file is mostly their raw bytes.
	if len(b) < 26_000_000 || len(b) > 28_000_000 {
		t.Errorf("ONNX file is %d bytes", len(b))
	}
	ios, _, errOut = testIO()
	if code := run(context.Background(), []string{"export", "--format", "tflite", "--out", out}, ios); code != exitUsage {
		t.Errorf("--format tflite: exit %d (%s)", code, errOut)
	}
}
