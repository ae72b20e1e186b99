//go:build !amd64 || purego

package kernels

// wino27Input computes rows of F(2, 7) input transforms: see wino27InputF32Generic.
func (k isa) wino27Input(src []float32, s1, s2, ss int, dst []float32, ve, n, rows int) {
	wino27InputF32Generic(src, s1, s2, ss, dst, ve, n, rows)
}

// wino27OutputRows computes rows of F(2, 7) output transforms of 7×1 tiles: see
// wino27OutputRowsF32Generic.
func (k isa) wino27OutputRows(m []float32, me int, out []float32, ldo, ncols, nrows, ntr int, bias float32, relu bool) {
	wino27OutputRowsF32Generic(m, me, out, ldo, ncols, nrows, ntr, bias, relu)
}

// wino27OutputZip computes rows of F(2, 7) output transforms of 1×7 tiles: see
// wino27OutputZipF32Generic.
func (k isa) wino27OutputZip(m []float32, me int, out []float32, ldo, ncols, rows int, bias float32, relu bool) {
	wino27OutputZipF32Generic(m, me, out, ldo, ncols, rows, bias, relu)
}

// wino27Split splits rows into even and odd elements: see wino27SplitF32Generic.
func (k isa) wino27Split(dst []float32, ldd, ev, od int, src []float32, w, rows int) {
	wino27SplitF32Generic(dst, ldd, ev, od, src, w, rows)
}
