package kernels

import (
	"fmt"
	"testing"
)

// runSgemm runs Sgemm on a NaN-guarded C with ldc > n: the gaps between rows and the guard
// after the last row must stay NaN. With accumulate the m×n window starts random, otherwise NaN.
func runSgemm(t *testing.T, seed uint64, m, n, k, lda, ldb, ldc int, accumulate bool) {
	t.Helper()
	r := newRand(seed)
	a := randSlice(r, max((m-1)*lda+k, 0))
	b := randSlice(r, max((k-1)*ldb+n, 0))
	c := guarded(max((m-1)*ldc+n, 0))
	if accumulate {
		for i := 0; i < m; i++ {
			copy(c[i*ldc:i*ldc+n], randSlice(r, n))
		}
	}
	want, tol := refGemm(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
	Sgemm(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
	got := make([]float32, m*n)
	for i := 0; i < m; i++ {
		copy(got[i*n:i*n+n], c[i*ldc:i*ldc+n])
		for j := n; j < ldc && i < m-1; j++ {
			if v := c[i*ldc+j]; v == v {
				t.Fatalf("m=%d n=%d k=%d: c[%d][%d] in the ldc gap was written (%v)", m, n, k, i, j, v)
			}
		}
	}
	closeTo(t, fmt.Sprintf("m=%d n=%d k=%d lda=%d ldb=%d ldc=%d acc=%t: c", m, n, k, lda, ldb, ldc, accumulate), got, want, tol)
	checkGuard(t, "c", c)
}

// TestSgemmTails runs every m, n, k in 1..17, tight and with odd leading dimensions.
func TestSgemmTails(t *testing.T) {
	for m := 1; m <= 17; m++ {
		t.Run(fmt.Sprintf("m=%d", m), func(t *testing.T) {
			for n := 1; n <= 17; n++ {
				for k := 1; k <= 17; k++ {
					seed := uint64(m*10000 + n*100 + k)
					runSgemm(t, seed, m, n, k, k, n, n, false)
					runSgemm(t, seed, m, n, k, k+3, n+1, n+5, true)
				}
			}
		})
	}
}

func TestSgemm(t *testing.T) {
	tests := []struct {
		m, n, k, lda, ldb, ldc int
		accumulate             bool
	}{
		{1, 1, 1, 1, 1, 1, false},
		{3, 9, 0, 1, 9, 9, false}, // k = 0: C = 0
		{3, 9, 0, 1, 9, 11, true}, // k = 0: C unchanged
		{0, 5, 5, 5, 5, 5, false},
		{5, 0, 5, 5, 1, 1, false},
		{7, 33, 256, 256, 33, 33, false},     // exactly one K block
		{7, 33, 257, 259, 35, 37, true},      // one K block and one K=1 block
		{5, 19, 600, 601, 19, 21, false},     // three K blocks
		{64, 289, 896, 896, 289, 289, false}, // v3 Mixed_6b 1x7 as a GEMM
	}
	for i, tt := range tests {
		name := fmt.Sprintf("m=%d_n=%d_k=%d_acc=%t", tt.m, tt.n, tt.k, tt.accumulate)
		t.Run(name, func(t *testing.T) {
			runSgemm(t, uint64(i), tt.m, tt.n, tt.k, tt.lda, tt.ldb, tt.ldc, tt.accumulate)
		})
	}
}

// TestGemmKernels runs every registered gemm micro-kernel against the reference loop.
func TestGemmKernels(t *testing.T) {
	for _, e := range kernelTable {
		if e.op != "gemm" || !*e.available {
			continue
		}
		kern := e.fn.(func(int, []float32, []float32, *[8]float32, bool, float32, bool))
		t.Run(e.name, func(t *testing.T) {
			for kc := 1; kc <= 37; kc++ {
				r := newRand(uint64(kc))
				a, b := randSlice(r, kc), randSlice(r, kc*8)
				init := randSlice(r, 8)
				for _, mode := range []struct{ add, relu bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
					var c [8]float32
					copy(c[:], init)
					want, tol := make([]float64, 8), make([]float64, 8)
					for j := range 8 {
						sum, abs := 0.5, 0.5 // bias
						if mode.add {
							sum, abs = float64(init[j]), max(float64(init[j]), -float64(init[j]))
						}
						for p := range kc {
							v := float64(a[p]) * float64(b[p*8+j])
							sum += v
							abs += max(v, -v)
						}
						if mode.relu {
							sum = max(sum, 0)
						}
						want[j], tol[j] = sum, dotTol(kc, abs)
					}
					kern(kc, a, b, &c, mode.add, 0.5, mode.relu)
					closeTo(t, fmt.Sprintf("kc=%d add=%t relu=%t: c", kc, mode.add, mode.relu), c[:], want, tol)
				}
			}
		})
	}
}

func TestSgemmNoAllocs(t *testing.T) {
	a, b, c := make([]float32, 20*300), make([]float32, 300*30), make([]float32, 20*30)
	if n := testing.AllocsPerRun(10, func() { Sgemm(20, 30, 300, a, 300, b, 30, c, 30, false) }); n != 0 {
		t.Errorf("Sgemm allocates %v times per call", n)
	}
}

func TestSgemmPanics(t *testing.T) {
	a, b, c := make([]float32, 4*5), make([]float32, 5*6), make([]float32, 4*6)
	tests := []struct {
		name string
		f    func()
	}{
		{"short_a", func() { Sgemm(4, 6, 5, a[:19], 5, b, 6, c, 6, false) }},
		{"short_b", func() { Sgemm(4, 6, 5, a, 5, b[:29], 6, c, 6, false) }},
		{"short_c", func() { Sgemm(4, 6, 5, a, 5, b, 6, c[:23], 6, false) }},
		{"small_lda", func() { Sgemm(4, 6, 5, a, 4, b, 6, c, 6, false) }},
		{"small_ldb", func() { Sgemm(4, 6, 5, a, 5, b, 5, c, 6, false) }},
		{"small_ldc", func() { Sgemm(4, 6, 5, a, 5, b, 6, c, 5, false) }},
		{"negative_m", func() { Sgemm(-1, 6, 5, a, 5, b, 6, c, 6, false) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}
