package ljpeg

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Bit-exactness against libjpeg-turbo is tested end to end in the parent
// package (TestDecodeMatchesPIL); these tests cover the pieces.

// TestIdctIslowNearFloat compares the integer IDCT with a float64 reference
// IDCT: ISLOW is accurate to within 1 level on ordinary blocks.
func TestIdctIslowNearFloat(t *testing.T) {
	var qt block
	for i := range qt {
		qt[i] = 1 + int32(i%7)
	}
	seed := uint32(1)
	rnd := func(n int32) int32 {
		seed = seed*1664525 + 1013904223
		return int32(seed>>8)%(2*n+1) - n
	}
	for trial := range 200 {
		var b block
		for i := range b {
			b[i] = rnd(40 >> (i / 16))
		}
		var deq [64]float64
		for zig := range blockSize {
			deq[unzig[zig]] = float64(b[unzig[zig]] * qt[zig])
		}
		got := make([]byte, 64)
		idctIslow(&b, &qt, got, 8)
		for y := range 8 {
			for x := range 8 {
				s := 0.0
				for v := range 8 {
					for u := range 8 {
						cu, cv := 1.0, 1.0
						if u == 0 {
							cu = math.Sqrt2 / 2
						}
						if v == 0 {
							cv = math.Sqrt2 / 2
						}
						s += cu * cv * deq[8*v+u] *
							math.Cos(float64(2*x+1)*float64(u)*math.Pi/16) *
							math.Cos(float64(2*y+1)*float64(v)*math.Pi/16)
					}
				}
				want := math.Max(0, math.Min(255, math.Round(s/4+128)))
				if d := math.Abs(float64(got[8*y+x]) - want); d > 1 {
					t.Fatalf("trial %d (%d,%d): got %d, float reference %v", trial, x, y, got[8*y+x], want)
				}
			}
		}
	}
}

func TestRangeLimit(t *testing.T) {
	for x, want := range map[int64]uint8{-129: 0, -128: 0, -1: 127, 0: 128, 127: 255, 128: 255, 511: 255, 512: 0, 895: 0, 896: 0, 1023: 127, 1024: 128} {
		if got := rangeLimit(x); got != want {
			t.Errorf("rangeLimit(%d) = %d, want %d", x, got, want)
		}
	}
}

func TestDecodeAndConfig(t *testing.T) {
	for _, c := range []struct {
		file       string
		w, h, comp int
	}{
		{"photo_101x67_420.jpg", 101, 67, 3},
		{"photo_101x67_gray.jpg", 101, 67, 1},
		{"cmyk_40x30.jpg", 40, 30, 4},
		{"noise_37x23_422_prog.jpg", 37, 23, 3},
	} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "synth", c.file))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Errorf("%s: DecodeConfig = %+v, %v", c.file, cfg, err)
		}
		m, err := Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if m.Width != c.w || m.Height != c.h || m.Components != c.comp || len(m.Pix) != c.w*c.h*c.comp {
			t.Errorf("%s: got %dx%d with %d components, %d bytes", c.file, m.Width, m.Height, m.Components, len(m.Pix))
		}
		if _, err := Decode(bytes.NewReader(data[:len(data)/2])); err == nil {
			t.Errorf("%s: truncated file decoded", c.file)
		}
	}
	var fe FormatError
	if _, err := Decode(bytes.NewReader([]byte("\xff\xd8\xff\xd9"))); !errors.As(err, &fe) {
		t.Errorf("SOI+EOI: err = %v, want FormatError", err)
	}
}
