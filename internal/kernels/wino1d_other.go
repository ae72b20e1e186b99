//go:build !amd64 || purego

package kernels

// wino27Input computes a row of F(2, 7) input transforms: see wino27InputF32Generic.
func (k isa) wino27Input(src []float32, s1, s2 int, dst []float32, ve, n int) {
	wino27InputF32Generic(src, s1, s2, dst, ve, n)
}

// wino27OutputRows computes a row of F(2, 7) output transforms of 7×1 tiles: see
// wino27OutputRowsF32Generic.
func (k isa) wino27OutputRows(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	wino27OutputRowsF32Generic(m, me, out, ldo, ncols, nrows, bias, relu)
}

// wino27OutputZip computes a row of F(2, 7) output transforms of 1×7 tiles: see
// wino27OutputZipF32Generic.
func (k isa) wino27OutputZip(m []float32, me int, out []float32, ncols int, bias float32, relu bool) {
	wino27OutputZipF32Generic(m, me, out, ncols, bias, relu)
}
