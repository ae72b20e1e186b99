//go:build amd64 && !purego

package kernels

// wino27Input computes a row of F(2, 7) input transforms: see wino27InputF32Generic.
func (k isa) wino27Input(src []float32, s1, s2 int, dst []float32, ve, n int) {
	if k == isaGeneric {
		wino27InputF32Generic(src, s1, s2, dst, ve, n)
		return
	}
	steps := (n + 7) / 8 * 8
	_ = src[s1+3*s2+steps-1]
	_ = dst[7*ve+steps-1]
	wino27InputF32AVX2(src, s1, s2, dst, ve, n)
}

// wino27OutputRows computes a row of F(2, 7) output transforms of 7×1 tiles: see
// wino27OutputRowsF32Generic.
func (k isa) wino27OutputRows(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	if k == isaGeneric {
		wino27OutputRowsF32Generic(m, me, out, ldo, ncols, nrows, bias, relu)
		return
	}
	_ = m[7*me+(ncols+7)/8*8-1]
	_ = out[(nrows-1)*ldo+ncols-1]
	wino27OutputRowsF32AVX2(m, me, out, ldo, ncols, nrows, bias, relu)
}

// wino27OutputZip computes a row of F(2, 7) output transforms of 1×7 tiles: see
// wino27OutputZipF32Generic.
func (k isa) wino27OutputZip(m []float32, me int, out []float32, ncols int, bias float32, relu bool) {
	if k == isaGeneric {
		wino27OutputZipF32Generic(m, me, out, ncols, bias, relu)
		return
	}
	_ = m[7*me+(ncols+15)/16*8-1]
	_ = out[ncols-1]
	wino27OutputZipF32AVX2(m, me, out, ncols, bias, relu)
}

// wino27InputF32AVX2 computes the Winograd F(2, 7) input transforms of tiles 0..n-1, rounded
// up to a multiple of 8, 8 tiles per step: 8 contiguous loads give d0..d7 of the 8 tiles,
// then 38 multiplies, adds and subtractions make V:
//
//	… the loop of wino27InputF32Generic
//
// Lengths are not checked: src holds s1+3*s2+(n+7)/8*8 floats, dst 7*ve+(n+7)/8*8.
//
//go:noescape
func wino27InputF32AVX2(src []float32, s1, s2 int, dst []float32, ve, n int)

// wino27OutputRowsF32AVX2 computes the Winograd F(2, 7) output transforms of ncols tiles of
// a 7×1 convolution, 8 tiles per step, bias and ReLU included, the last step's stores masked
// (VMASKMOVPS) to columns < ncols:
//
//	… the loop of wino27OutputRowsF32Generic
//
// Lengths are not checked: m holds 7*me+(ncols+7)/8*8 floats, out (nrows-1)*ldo+ncols.
//
//go:noescape
func wino27OutputRowsF32AVX2(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool)

// wino27OutputZipF32AVX2 computes the Winograd F(2, 7) output transforms of the tiles of a
// 1×7 convolution's output row, 8 tiles (16 columns) per step, the two outputs of each tile
// interleaved (VUNPCKLPS, VUNPCKHPS, VPERM2F128), bias and ReLU included, the last step's
// stores masked to columns < ncols:
//
//	… the loop of wino27OutputZipF32Generic
//
// Lengths are not checked: m holds 7*me+(ncols+15)/16*8 floats, out ncols.
//
//go:noescape
func wino27OutputZipF32AVX2(m []float32, me int, out []float32, ncols int, bias float32, relu bool)
