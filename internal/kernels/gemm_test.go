package kernels

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// runSgemm runs Sgemm with the kernels of impl on a NaN-guarded C with ldc > n: the gaps
// between rows and the guard after the last row must stay NaN. With accumulate the m×n
// window starts random, otherwise NaN.
func runSgemm(t *testing.T, impl isa, seed uint64, m, n, k, lda, ldb, ldc int, accumulate bool) {
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
	sgemm(m, n, k, a, lda, b, ldb, c, ldc, accumulate, impl)
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

// TestSgemmTails runs every m, n, k in 1..17 (and n up to 35: two strips and a tail), tight
// and with odd leading dimensions, for every implementation.
func TestSgemmTails(t *testing.T) {
	for _, e := range isaImpls("gemm") {
		t.Run(e.name, func(t *testing.T) {
			for m := 1; m <= 17; m++ {
				for n := 1; n <= 35; n++ {
					for k := 1; k <= 17; k++ {
						if n > 17 && k%4 != 1 {
							continue
						}
						seed := uint64(m*10000 + n*100 + k)
						runSgemm(t, e.fn.(isa), seed, m, n, k, k, n, n, false)
						runSgemm(t, e.fn.(isa), seed, m, n, k, k+3, n+1, n+5, true)
					}
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
	for _, e := range isaImpls("gemm") {
		for i, tt := range tests {
			name := fmt.Sprintf("%s/m=%d_n=%d_k=%d_acc=%t", e.name, tt.m, tt.n, tt.k, tt.accumulate)
			t.Run(name, func(t *testing.T) {
				runSgemm(t, e.fn.(isa), uint64(i), tt.m, tt.n, tt.k, tt.lda, tt.ldb, tt.ldc, tt.accumulate)
			})
		}
	}
}

// TestGemmKernels runs every registered gemm micro-kernel, full (6×16) and half (6×8),
// against the reference loop, on a NaN-guarded C with ldc > 16.
func TestGemmKernels(t *testing.T) {
	const ldc = 19
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for _, nr := range []int{16, 8} {
				kern := impl.gemm6x16
				if nr == 8 {
					kern = impl.gemm6x8
				}
				for kc := 1; kc <= 37; kc++ {
					r := newRand(uint64(kc))
					a, b := randSlice(r, kc*gemmMR), randSlice(r, kc*gemmNR)
					bias := randSlice(r, gemmMR)
					init := randSlice(r, (gemmMR-1)*ldc+nr)
					for _, flags := range []int{0, gemmAccumulate, gemmReLU, gemmAccumulate | gemmReLU} {
						c := guarded((gemmMR-1)*ldc + nr)
						got := make([]float32, 0, gemmMR*nr)
						want, tol := make([]float64, 0, gemmMR*nr), make([]float64, 0, gemmMR*nr)
						for i := range gemmMR {
							copy(c[i*ldc:i*ldc+nr], init[i*ldc:])
							for j := range nr {
								sum, abs := float64(bias[i]), max(float64(bias[i]), -float64(bias[i]))
								if flags&gemmAccumulate != 0 {
									sum, abs = float64(init[i*ldc+j]), max(float64(init[i*ldc+j]), -float64(init[i*ldc+j]))
								}
								for p := range kc {
									v := float64(a[p*gemmMR+i]) * float64(b[p*gemmNR+j])
									sum += v
									abs += max(v, -v)
								}
								if flags&gemmReLU != 0 {
									sum = max(sum, 0)
								}
								want, tol = append(want, sum), append(tol, dotTol(kc, abs))
							}
						}
						kern(kc, a, b, c, ldc, bias, flags)
						for i := range gemmMR {
							got = append(got, c[i*ldc:i*ldc+nr]...)
							for j := nr; j < ldc && i < gemmMR-1; j++ {
								if v := c[i*ldc+j]; v == v {
									t.Fatalf("nr=%d kc=%d: c[%d][%d] in the ldc gap was written (%v)", nr, kc, i, j, v)
								}
							}
						}
						closeTo(t, fmt.Sprintf("nr=%d kc=%d flags=%d: c", nr, kc, flags), got, want, tol)
						checkGuard(t, "c", c)
					}
				}
			}
		})
	}
}

// TestGemmKernelsNaN checks that NaN and Inf inputs propagate through every micro-kernel,
// ReLU included (max(NaN, 0) is NaN, as in the reference loop).
func TestGemmKernelsNaN(t *testing.T) {
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			const kc = 9
			a, b := make([]float32, kc*gemmMR), make([]float32, kc*gemmNR)
			for i := range a {
				a[i] = 1
			}
			b[3*gemmNR+5] = nan32                 // column 5: NaN
			b[4*gemmNR+6] = float32(math.Inf(-1)) // column 6: -Inf, ReLU gives 0
			c := make([]float32, gemmMR*gemmNR)
			impl.gemm6x16(kc, a, b, c, gemmNR, zeroBias[:], gemmReLU)
			for i := range gemmMR {
				if v := c[i*gemmNR+5]; v == v {
					t.Errorf("row %d: c[5] = %v, want NaN", i, v)
				}
				if v := c[i*gemmNR+6]; v != 0 {
					t.Errorf("row %d: c[6] = %v, want 0", i, v)
				}
			}
		})
	}
}

// TestPackKernels runs every B packer against its reference loop: strips of consecutive
// columns, and strips split into runs (with masks), on NaN-guarded output.
func TestPackKernels(t *testing.T) {
	for _, e := range isaImpls("packb") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			r := newRand(7)
			src := randSlice(r, 4000)
			for kc := 1; kc <= 19; kc++ {
				koff := make([]int, kc)
				for p := range koff {
					koff[p] = int(r.Uint64()%3000) + 40
				}
				t.Run(fmt.Sprintf("kc=%d/contig", kc), func(t *testing.T) {
					d := int(r.Uint64()%50) - 40
					got := guarded(kc * gemmNR)
					impl.packContig(kc, src, koff, d, got)
					checkGuard(t, "dst", got)
					for p := range kc {
						for j := range gemmNR {
							if want := src[koff[p]+d+j]; got[p*gemmNR+j] != want {
								t.Fatalf("dst[%d][%d] = %v, want %v", p, j, got[p*gemmNR+j], want)
							}
						}
					}
				})
				// Runs of every length pattern: cut 16 columns (or fewer, a tail) at random.
				for trial := range 8 {
					t.Run(fmt.Sprintf("kc=%d/segs%d", kc, trial), func(t *testing.T) {
						nv := gemmNR - int(r.Uint64()%4)*(trial%2)*3
						var segs [gemmNR]packSeg
						n := 0
						for jj := 0; jj < nv; n++ {
							run := min(nv-jj, 1+int(r.Uint64()%9))
							sg := &segs[n]
							sg.d, sg.off, sg.n = int(r.Uint64()%30)-jj, jj, run
							for j := range sg.mask {
								if jj <= j && j < jj+run {
									sg.mask[j] = -1
								}
							}
							jj += run
						}
						got := guarded(kc * gemmNR)
						impl.packSegs(kc, src, koff, segs[:n], got)
						checkGuard(t, "dst", got)
						for p := range kc {
							for j := range gemmNR {
								var want float32
								for _, sg := range segs[:n] {
									if sg.mask[j] != 0 {
										want = src[koff[p]+sg.d+j]
									}
								}
								if got[p*gemmNR+j] != want {
									t.Fatalf("%d runs: dst[%d][%d] = %v, want %v", n, p, j, got[p*gemmNR+j], want)
								}
							}
						}
					})
				}
			}
		})
	}
}

// TestUnzip2 runs every unzip2 kernel on lengths 0..37 (8-pair blocks and tails).
func TestUnzip2(t *testing.T) {
	for _, e := range isaImpls("unzip2") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for n := 0; n <= 37; n++ {
				src := randSlice(newRand(uint64(n)), 2*n)
				even, odd := guarded(n), guarded(n)
				impl.unzip2(even, odd, src)
				checkGuard(t, "even", even)
				checkGuard(t, "odd", odd)
				for j := range n {
					if even[j] != src[2*j] || odd[j] != src[2*j+1] {
						t.Fatalf("n=%d: even[%d], odd[%d] = %v, %v, want %v, %v", n, j, j, even[j], odd[j], src[2*j], src[2*j+1])
					}
				}
			}
		})
	}
}

// TestMeasurePeakGFLOPS checks that the peak measurement returns a plausible number.
func TestMeasurePeakGFLOPS(t *testing.T) {
	for _, threads := range []int{1, 2} {
		g := MeasurePeakGFLOPS(20*time.Millisecond, threads)
		t.Logf("threads=%d: %.1f GFLOP/s", threads, g)
		if !(g > 0.1 && g < 1e5) {
			t.Errorf("threads=%d: MeasurePeakGFLOPS = %v", threads, g)
		}
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

// TestGemmWideKernels runs every registered gemm implementation's (6·np)×(16·ns) tiles
// (gemmWide: the 12×32, 12×16 and 6×32 AVX-512 micro-kernels, 6×16 tiles otherwise) against
// the reference loop on a NaN-guarded C with ldc > 32, and checks that they give the bits
// of the 6×16 tiles of the same implementation (so results do not depend on the tiling).
func TestGemmWideKernels(t *testing.T) {
	const ldc = 37
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for _, tl := range []struct{ np, ns int }{{2, 2}, {2, 1}, {1, 2}, {1, 1}} {
				mr, nr := tl.np*gemmMR, tl.ns*gemmNR
				for kc := 1; kc <= 37; kc++ {
					r := newRand(uint64(kc))
					a, b := randSlice(r, kc*mr), randSlice(r, kc*nr)
					bias := randSlice(r, mr)
					init := randSlice(r, (mr-1)*ldc+nr)
					for _, flags := range []int{0, gemmAccumulate, gemmReLU, gemmAccumulate | gemmReLU} {
						what := fmt.Sprintf("%dx%d kc=%d flags=%d", mr, nr, kc, flags)
						c, c6 := guarded((mr-1)*ldc+nr), guarded((mr-1)*ldc+nr)
						var got []float32
						var want, tol []float64
						for i := range mr {
							copy(c[i*ldc:i*ldc+nr], init[i*ldc:])
							copy(c6[i*ldc:i*ldc+nr], init[i*ldc:])
							for j := range nr {
								sum, abs := float64(bias[i]), math.Abs(float64(bias[i]))
								if flags&gemmAccumulate != 0 {
									sum, abs = float64(init[i*ldc+j]), math.Abs(float64(init[i*ldc+j]))
								}
								for p := range kc {
									v := float64(a[i/gemmMR*gemmMR*kc+p*gemmMR+i%gemmMR]) * float64(b[j/gemmNR*gemmNR*kc+p*gemmNR+j%gemmNR])
									sum += v
									abs += math.Abs(v)
								}
								if flags&gemmReLU != 0 {
									sum = max(sum, 0)
								}
								want, tol = append(want, sum), append(tol, dotTol(kc, abs))
							}
						}
						impl.gemmWide(tl.np, tl.ns, kc, a, b, c, ldc, bias, flags)
						impl.gemmTiles6x16(tl.np, tl.ns, kc, a, b, c6, ldc, bias, flags)
						for i := range mr {
							got = append(got, c[i*ldc:i*ldc+nr]...)
							for j := nr; j < ldc && i < mr-1; j++ {
								if v := c[i*ldc+j]; v == v {
									t.Fatalf("%s: c[%d][%d] in the ldc gap was written (%v)", what, i, j, v)
								}
							}
							for j := range nr {
								if g, w := math.Float32bits(c[i*ldc+j]), math.Float32bits(c6[i*ldc+j]); g != w {
									t.Fatalf("%s: c[%d][%d] = %v, 6×16 tiles give %v", what, i, j, c[i*ldc+j], c6[i*ldc+j])
								}
							}
						}
						closeTo(t, what+": c", got, want, tol)
						checkGuard(t, "c", c)
					}
				}
			}
		})
	}
}

// TestGemmWideKernelsNaN checks that NaN propagates through every wide tile, ReLU included.
func TestGemmWideKernelsNaN(t *testing.T) {
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			const kc = 9
			for _, tl := range []struct{ np, ns int }{{2, 2}, {2, 1}, {1, 2}} {
				mr, nr := tl.np*gemmMR, tl.ns*gemmNR
				a, b := make([]float32, kc*mr), make([]float32, kc*nr)
				for i := range a {
					a[i] = 1
				}
				last := (tl.ns - 1) * gemmNR * kc // the last strip
				b[last+3*gemmNR+5] = nan32
				b[last+4*gemmNR+6] = float32(math.Inf(-1))
				c := make([]float32, mr*nr)
				impl.gemmWide(tl.np, tl.ns, kc, a, b, c, nr, zeroBias[:], gemmReLU)
				for i := range mr {
					j := (tl.ns - 1) * gemmNR
					if v := c[i*nr+j+5]; v == v {
						t.Errorf("%dx%d row %d: c[%d] = %v, want NaN", mr, nr, i, j+5, v)
					}
					if v := c[i*nr+j+6]; v != 0 {
						t.Errorf("%dx%d row %d: c[%d] = %v, want 0", mr, nr, i, j+6, v)
					}
				}
			}
		})
	}
}

// TestPackMaskedKernels runs every masked B packer against the reference loop of
// packB32MaskedF32Generic: random rows, two runs with disjoint random masks per kernel tap,
// a first tap r0 anywhere, on NaN-guarded output.
func TestPackMaskedKernels(t *testing.T) {
	for _, e := range isaImpls("packmasked") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			r := newRand(11)
			src := randSlice(r, 4000)
			for kc := 1; kc <= 19; kc++ {
				for _, nr := range []int{1, 3, 7, 25} {
					koff := make([]int, kc)
					for p := range koff {
						koff[p] = int(r.Uint64()%3000) + 100
					}
					d0, d1 := int(r.Uint64()%100)-50, int(r.Uint64()%100)-50
					masks := make([]uint16, 4*nr)
					for q := range 2 * nr {
						m := uint32(r.Uint64())
						if q >= nr {
							m &^= uint32(masks[2*(q-nr)]) | uint32(masks[2*(q-nr)+1])<<16 // disjoint runs
						}
						masks[2*q], masks[2*q+1] = uint16(m), uint16(m>>16)
					}
					r0 := int(r.Uint64() % uint64(nr))
					runs := 1 + kc%2 // one run: masks holds only the first's
					if runs == 1 {
						clear(masks[2*nr:])
					}
					got := guarded(2 * kc * gemmNR)
					impl.packMasked(kc, src, koff, d0, d1, masks[:2*runs*nr], nr, r0, got)
					checkGuard(t, "dst", got)
					for p := range kc {
						tap := (r0 + p) % nr
						for j := range 2 * gemmNR {
							var want float32
							if masks[2*tap+j/16]>>(j%16)&1 != 0 {
								want = src[koff[p]+d0+j]
							}
							if masks[2*(nr+tap)+j/16]>>(j%16)&1 != 0 {
								want = src[koff[p]+d1+j]
							}
							if g := got[j/16*kc*gemmNR+p*gemmNR+j%16]; g != want {
								t.Fatalf("kc=%d nr=%d: dst[%d][%d] = %v, want %v", kc, nr, p, j, g, want)
							}
						}
					}
				}
			}
		})
	}
}

// TestGemvKernels runs every "gemv" implementation (one column of up to 8 packed A panels)
// against the float64 sums, for 1..8 panels and K lengths around the unrolled steps.
func TestGemvKernels(t *testing.T) {
	for _, e := range isaImpls("gemv") {
		impl := e.fn.(isa)
		t.Run(e.name, func(t *testing.T) {
			for np := 1; np <= gemvPanels; np++ {
				for _, kc := range []int{1, 2, 5, 17, 64, 218, 256} {
					r := newRand(uint64(np*1000 + kc))
					a, b := randSlice(r, np*gemmMR*kc), randSlice(r, kc*gemmNR)
					out := guarded(gemvPanels * gemmMR)
					impl.gemv48(kc, a, np, b, out)
					checkGuard(t, "out", out)
					for i := 0; i < np*gemmMR; i++ {
						var want, abs float64
						for p := 0; p < kc; p++ {
							v := float64(a[i/gemmMR*gemmMR*kc+p*gemmMR+i%gemmMR]) * float64(b[p*gemmNR])
							want += v
							abs += math.Abs(v)
						}
						if d := math.Abs(float64(out[i]) - want); d > dotTol(kc, abs) {
							t.Fatalf("np=%d kc=%d: out[%d] = %v, want %v", np, kc, i, out[i], want)
						}
					}
				}
			}
		})
	}
}

// TestGemm64Kernels runs the AVX-512 6×64 kernels (6, 4 and 2 rows of a panel) against 6×16 tiles
// of the same implementation, bit for bit, on a C with NaN between its rows (left alone) and after
// its last.
func TestGemm64Kernels(t *testing.T) {
	const ldc, nq = 71, 4 * gemmNR
	for _, e := range isaImpls("gemm") {
		impl := e.fn.(isa)
		if impl != isaAVX512 {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			for _, mr := range []int{6, 4, 2} {
				for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 17, 64, 255} {
					r := newRand(uint64(mr*1000 + kc))
					a, b, bias := randSlice(r, kc*gemmMR), randSlice(r, 4*kc*gemmNR), randSlice(r, gemmMR)
					init := randSlice(r, (mr-1)*ldc+nq)
					for _, flags := range []int{0, gemmAccumulate, gemmAccumulate | gemmAddBias, gemmReLU, gemmAccumulate | gemmReLU} {
						what := fmt.Sprintf("%dx64 kc=%d flags=%d", mr, kc, flags)
						got, full := guarded((mr-1)*ldc+nq), make([]float32, 6*ldc)
						for i := range mr {
							copy(got[i*ldc:i*ldc+nq], init[i*ldc:])
							copy(full[i*ldc:i*ldc+nq], init[i*ldc:])
						}
						impl.gemm64(mr, kc, a, b, got, ldc, bias, flags)
						for s := range 4 { // 6×16 tiles write 6 rows: the rows past mr are scratch
							impl.gemm6x16(kc, a, b[s*gemmNR*kc:], full[s*gemmNR:], ldc, bias, flags)
						}
						for i := range mr {
							for j := range ldc {
								if i == mr-1 && j >= nq {
									break
								}
								g, w := got[i*ldc+j], full[i*ldc+j]
								if j >= nq {
									w = nan32
								}
								if math.Float32bits(g) != math.Float32bits(w) && (g == g || w == w) {
									t.Fatalf("%s: c[%d][%d] = %v, 6×16 tiles give %v", what, i, j, g, w)
								}
							}
						}
						checkGuard(t, what, got)
					}
				}
			}
		})
	}
}
