package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Shared test helpers: naive float64 references, NaN guards, tolerance checks.

// u32 is the float32 unit roundoff.
const u32 = 0x1p-24

// guardLen is the number of NaN sentinels placed after every output and scratch slice.
const guardLen = 64

var nan32 = float32(math.NaN())

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// randSlice returns n values uniform in [-1, 1).
func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// guarded returns a NaN-filled slice of length n whose capacity extends over guardLen more
// NaNs, so that writes past n by a kernel (re-slicing up to cap) land in the guard.
func guarded(n int) []float32 {
	full := make([]float32, n+guardLen)
	for i := range full {
		full[i] = nan32
	}
	return full[:n]
}

// checkGuard reports writes into the guard region after s.
func checkGuard(t *testing.T, what string, s []float32) {
	t.Helper()
	g := s[len(s):cap(s)]
	for i, v := range g {
		if v == v {
			t.Errorf("%s: guard element %d past the end was overwritten with %v", what, i, v)
			return
		}
	}
}

// closeTo reports elements where |got-want| > tol[i] (a NaN got always fails), up to 5.
func closeTo(t *testing.T, what string, got []float32, want, tol []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len(got) = %d, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g := float64(got[i])
		if !(math.Abs(g-want[i]) <= tol[i]) && !(math.IsNaN(want[i]) && math.IsNaN(g)) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v (tol %.3g)", what, i, got[i], want[i], tol[i])
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d elements out of tolerance", what, bad, len(got))
	}
}

// dotTol is the tolerance of a float32 dot product of n terms whose |terms| sum to sumAbs:
// the worst-case bound of recursive summation, (n+2)·u·Σ|terms| (Higham, γ_n). Any blocking
// or pairing of the partial sums only lowers the real error.
func dotTol(n int, sumAbs float64) float64 { return float64(n+2) * u32 * sumAbs }

// refConv is the naive float64 convolution; it also returns the per-output tolerance.
func refConv(s ConvShape, in, w, bias []float32, relu bool) (want, tol []float64) {
	oh, ow := s.OutH(), s.OutW()
	want = make([]float64, s.O*oh*ow)
	tol = make([]float64, len(want))
	k := s.C * s.KH * s.KW
	for o := 0; o < s.O; o++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				var sum, abs float64
				if bias != nil {
					sum, abs = float64(bias[o]), math.Abs(float64(bias[o]))
				}
				for c := 0; c < s.C; c++ {
					for ky := 0; ky < s.KH; ky++ {
						for kx := 0; kx < s.KW; kx++ {
							iy, ix := y*s.SH+ky-s.PadT, x*s.SW+kx-s.PadL
							if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
								continue
							}
							t := float64(w[((o*s.C+c)*s.KH+ky)*s.KW+kx]) * float64(in[(c*s.H+iy)*s.W+ix])
							sum += t
							abs += math.Abs(t)
						}
					}
				}
				if relu {
					sum = max(sum, 0)
				}
				i := (o*oh+y)*ow + x
				want[i], tol[i] = sum, dotTol(k, abs)
			}
		}
	}
	return want, tol
}

// refGemm is the naive float64 C = (accumulate ? C : 0) + A·B over the m×n window.
func refGemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) (want, tol []float64) {
	want = make([]float64, m*n)
	tol = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum, abs float64
			if accumulate {
				sum = float64(c[i*ldc+j])
				abs = math.Abs(sum)
			}
			for p := 0; p < k; p++ {
				t := float64(a[i*lda+p]) * float64(b[p*ldb+j])
				sum += t
				abs += math.Abs(t)
			}
			want[i*n+j], tol[i*n+j] = sum, dotTol(k, abs)
		}
	}
	return want, tol
}

// refPool is the naive float64 max or average pooling, written from the PoolShape docs.
func refPool(s PoolShape, in []float32, isMax, countIncludePad bool) (want, tol []float64) {
	oh, ow := s.OutH(), s.OutW()
	want = make([]float64, s.C*oh*ow)
	tol = make([]float64, len(want))
	for c := 0; c < s.C; c++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				hs, ws := oy*s.SH-s.PadT, ox*s.SW-s.PadL
				he, we := min(hs+s.KH, s.H+s.PadB), min(ws+s.KW, s.W+s.PadR)
				poolSize := (he - hs) * (we - ws)
				hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, s.H), min(we, s.W)
				m, sum, abs, cnt := math.Inf(-1), 0.0, 0.0, 0
				for iy := hs; iy < he; iy++ {
					for ix := ws; ix < we; ix++ {
						v := float64(in[(c*s.H+iy)*s.W+ix])
						m = max(m, v)
						sum += v
						abs += math.Abs(v)
						cnt++
					}
				}
				i := (c*oh+oy)*ow + ox
				switch {
				case isMax:
					want[i] = m // exact
				default:
					div := cnt
					if countIncludePad {
						div = poolSize
					}
					if div > 0 {
						want[i] = sum / float64(div)
						tol[i] = dotTol(cnt, abs) / float64(div)
					}
				}
			}
		}
	}
	return want, tol
}

// mustPanic checks that f panics with a string starting "kernels: ".
func mustPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic")
			return
		}
		if s, ok := r.(string); !ok || !strings.HasPrefix(s, "kernels: ") {
			t.Errorf("panic %#v, want a string starting \"kernels: \"", r)
		}
	}()
	f()
}
