//go:build amd64 && !purego

package kernels

// The F(2×2, 5×5) transforms have AVX2 versions only, as F(2, 7)'s (wino1d_amd64.go): the
// AVX-512 micro-kernels run with them.

// wino25Input computes a row of F(2×2, 5×5) input transforms: see wino25InputF32Generic.
func (k isa) wino25Input(src []float32, wq int, dst []float32, ve, n int) {
	if k == isaGeneric {
		wino25InputF32Generic(src, wq, dst, ve, n)
		return
	}
	_ = src[11*wq+(n+3)/4*4+1]
	_ = dst[35*ve+(n+3)/4*4-1]
	wino25InputF32AVX2(src, wq, dst, ve, n)
}

// wino25Output computes a row of F(2×2, 5×5) output transforms: see wino25OutputF32Generic.
func (k isa) wino25Output(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	if k == isaGeneric {
		wino25OutputF32Generic(m, me, out, ldo, ncols, nrows, bias, relu)
		return
	}
	_ = m[35*me+(ncols+7)/8*4-1]
	_ = out[(nrows-1)*ldo+ncols-1]
	wino25OutputF32AVX2(m, me, out, ldo, ncols, nrows, bias, relu)
}

// wino25InputF32AVX2 computes the Winograd F(2×2, 5×5) input transforms of tiles 0..n-1 of a
// row, rounded up to a multiple of 4, 8 tiles per step and a last one of 4 (xmm) when that
// covers the row: each input of the step's tiles is one load from the split rows, the row
// transforms go by pairs of columns that share terms, in registers, then the column
// transforms to dst:
//
//	… the loop of wino25InputF32Generic
//
// Lengths are not checked: src holds 11*wq+(n+3)/4*4+2 floats, dst 35*ve+(n+3)/4*4.
//
//go:noescape
func wino25InputF32AVX2(src []float32, wq int, dst []float32, ve, n int)

// wino25OutputF32AVX2 computes the Winograd F(2×2, 5×5) output transforms of a row of tiles,
// 8 tiles (16 output columns) per step and a last one of 4 (xmm) when that covers the row,
// bias and ReLU included; the last step's stores are masked (VMASKMOVPS) to columns < ncols:
//
//	… the loop of wino25OutputF32Generic
//
// Lengths are not checked: m holds 35*me+(ncols+7)/8*4 floats, out (nrows-1)*ldo+ncols.
//
//go:noescape
func wino25OutputF32AVX2(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool)
