//go:build !amd64 || purego

package kernels

// useAVX2 is false without amd64 assembly (other architectures, or the purego tag).
var useAVX2 = false

// useAVX512 is false without amd64 assembly.
var useAVX512 = false

// dotF32 returns Σ a[i]*b[i]: see dotF32Generic.
func dotF32(a, b []float32) float32 { return dotF32Generic(a, b) }

// reluF32 sets x[i] = max(x[i], 0): see reluF32Generic.
func reluF32(x []float32) { reluF32Generic(x) }

// addScaledF32 computes out[i] = act(x[i] + scale*y[i]): see addScaledF32Generic.
func addScaledF32(out, x, y []float32, scale float32, relu bool) {
	addScaledF32Generic(out, x, y, scale, relu)
}
