//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// useAVX2 gates the AVX2+FMA kernels (gemm_amd64.s); of the stubs below, reluF32 has no
// assembly yet and routes to its …Generic version.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useAVX512 gates the AVX-512 micro-kernels (gemm_amd64.s). They use AVX-512F only (zmm
// FMA, broadcast, max, moves) and run alongside the AVX2 kernels, hence need those too.
// x/sys/cpu reports AVX-512 only when the OS saves the zmm and opmask state.
var useAVX512 = useAVX2 && cpu.X86.HasAVX512F

// dotF32 returns Σ a[i]*b[i]: see dotF32Generic and dotF32AVX2.
func dotF32(a, b []float32) float32 {
	if avx2Kernels {
		return dotF32AVX2(a, b[:len(a)])
	}
	return dotF32Generic(a, b)
}

// reluF32 sets x[i] = max(x[i], 0): see reluF32Generic.
func reluF32(x []float32) { reluF32Generic(x) }

// addScaledF32 computes out[i] = act(x[i] + scale*y[i]): see addScaledF32Generic.
func addScaledF32(out, x, y []float32, scale float32, relu bool) {
	if avx2Kernels {
		addScaledF32AVX2(out, x, y, scale, relu)
		return
	}
	addScaledF32Generic(out, x, y, scale, relu)
}
