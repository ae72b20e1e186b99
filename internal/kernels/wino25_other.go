//go:build !amd64 || purego

package kernels

// wino25Input computes a row of F(2×2, 5×5) input transforms: see wino25InputF32Generic.
func (k isa) wino25Input(src []float32, wq int, dst []float32, ve, n int) {
	wino25InputF32Generic(src, wq, dst, ve, n)
}

// wino25Output computes a row of F(2×2, 5×5) output transforms: see wino25OutputF32Generic.
func (k isa) wino25Output(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	wino25OutputF32Generic(m, me, out, ldo, ncols, nrows, bias, relu)
}
