//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestAddScaledAVX2 checks addScaledF32AVX2 against addScaledF32Generic bit for bit,
// lengths 0–40 (tails), special values included (NaN, ±0, ±Inf, values whose product
// rounds differently with an FMA).
func TestAddScaledAVX2(t *testing.T) {
	if !avx2Kernels {
		t.Skip("no AVX2")
	}
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	specials := []float32{nan32, negZero, 0, inf, -inf, 1e-45, -1e-45, 3.4e38, 1.0000001}
	for n := 0; n <= 40; n++ {
		for _, relu := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/relu=%t", n, relu), func(t *testing.T) {
				r := newRand(uint64(n))
				x, y := randSlice(r, n), randSlice(r, n)
				for i := range x {
					if i%3 == 0 {
						x[i] = specials[(i/3)%len(specials)]
					}
					if i%5 == 1 {
						y[i] = specials[(i/5)%len(specials)]
					}
					if i%7 == 2 {
						x[i], y[i] = negZero, negZero
					}
				}
				for _, scale := range []float32{0.17, -1, 0} {
					want, got := guarded(n), guarded(n)
					addScaledF32Generic(want, x, y, scale, relu)
					addScaledF32AVX2(got, x, y, scale, relu)
					checkGuard(t, "out", got)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
							t.Fatalf("scale=%v: out[%d] = %v (x=%v y=%v), want %v", scale, i, got[i], x[i], y[i], want[i])
						}
					}
				}
			})
		}
	}
}
