package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestBoundGarbage: with 64 MB live on the heap (a model's weights) and GOGC unset, runs collect once
// the heap has grown by about garbageBytes (GOGC 25 for 16 MB); the previous setting comes back after;
// a user's GOGC is left alone.
func TestBoundGarbage(t *testing.T) {
	weights := make([]float32, 16<<20) // 64 MB
	for i := range weights {
		weights[i] = 1
	}
	runtime.GC()
	gogc := func() int { v := debug.SetGCPercent(100); debug.SetGCPercent(v); return v }
	before := gogc()
	if v, set := os.LookupEnv("GOGC"); set {
		defer os.Setenv("GOGC", v)
		os.Unsetenv("GOGC")
	}
	restore := boundGarbage()
	got := gogc()
	restore()
	if want := int(100 * garbageBytes / (64 << 20)); got < want-3 || got > want+1 {
		t.Errorf("GOGC during a run with 64 MB live: %d, want about %d", got, want)
	}
	if after := gogc(); after != before {
		t.Errorf("GOGC after the run: %d, want %d as before", after, before)
	}
	t.Setenv("GOGC", "150")
	restore = boundGarbage()
	if got := gogc(); got != before {
		t.Errorf("GOGC during a run with GOGC set: %d, want %d unchanged", got, before)
	}
	restore()
	runtime.KeepAlive(weights)
}
