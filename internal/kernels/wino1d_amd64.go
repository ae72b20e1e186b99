//go:build amd64 && !purego

package kernels

// The F(2, 7) transforms have no AVX-512 versions: with zmm steps of 16 tiles (and the same
// 8- and 4-tile tails) the layers of bench_test.go ran 0–8% slower (AVX-512, one thread);
// the transforms are bound by their loads and stores more than by arithmetic.

// wino27Input computes rows of F(2, 7) input transforms: see wino27InputF32Generic.
func (k isa) wino27Input(src []float32, s1, s2, ss int, dst []float32, ve, n, rows int) {
	if k == isaGeneric {
		wino27InputF32Generic(src, s1, s2, ss, dst, ve, n, rows)
		return
	}
	steps := (n + 3) / 4 * 4
	_ = src[(rows-1)*ss+s1+3*s2+steps-1]
	_ = dst[7*ve+(rows-1)*n+steps-1]
	wino27InputF32AVX2(src, s1, s2, ss, dst, ve, n, rows)
}

// wino27OutputRows computes rows of F(2, 7) output transforms of 7×1 tiles: see
// wino27OutputRowsF32Generic.
func (k isa) wino27OutputRows(m []float32, me int, out []float32, ldo, ncols, nrows, ntr int, bias float32, relu bool) {
	if k == isaGeneric {
		wino27OutputRowsF32Generic(m, me, out, ldo, ncols, nrows, ntr, bias, relu)
		return
	}
	_ = m[7*me+(ntr-1)*ncols+(ncols+3)/4*4-1]
	_ = out[(2*ntr-3+nrows)*ldo+ncols-1]
	wino27OutputRowsF32AVX2(m, me, out, ldo, ncols, nrows, ntr, bias, relu)
}

// wino27OutputZip computes rows of F(2, 7) output transforms of 1×7 tiles: see
// wino27OutputZipF32Generic.
func (k isa) wino27OutputZip(m []float32, me int, out []float32, ldo, ncols, rows int, bias float32, relu bool) {
	if k == isaGeneric {
		wino27OutputZipF32Generic(m, me, out, ldo, ncols, rows, bias, relu)
		return
	}
	n := (ncols + 1) / 2
	_ = m[7*me+(rows-1)*n+(n+3)/4*4-1]
	_ = out[(rows-1)*ldo+ncols-1]
	wino27OutputZipF32AVX2(m, me, out, ldo, ncols, rows, bias, relu)
}

// wino27Split splits rows into even and odd elements: see wino27SplitF32Generic.
func (k isa) wino27Split(dst []float32, ldd, ev, od int, src []float32, w, rows int) {
	if k == isaGeneric {
		wino27SplitF32Generic(dst, ldd, ev, od, src, w, rows)
		return
	}
	_ = dst[(rows-1)*ldd+max(ev+(w+1)/2, od+w/2)-1]
	_ = src[rows*w-1]
	wino27SplitF32AVX2(dst, ldd, ev, od, src, w, rows)
}

// wino27InputF32AVX2 computes the Winograd F(2, 7) input transforms of rows of n tiles, each
// rounded up to a multiple of 4, 8 tiles per step and a last one of 4 (xmm) where that
// covers the row (a 1×7 row of 17 outputs has 9 tiles): 8 contiguous loads give d0..d7 of
// the tiles, then 38 multiplies, adds and subtractions make V:
//
//	… the loop of wino27InputF32Generic
//
// Lengths are not checked: src holds (rows-1)*ss+s1+3*s2+(n+3)/4*4 floats, dst
// 7*ve+(rows-1)*n+(n+3)/4*4; n, rows >= 1.
//
//go:noescape
func wino27InputF32AVX2(src []float32, s1, s2, ss int, dst []float32, ve, n, rows int)

// wino27OutputRowsF32AVX2 computes the Winograd F(2, 7) output transforms of ntr rows of
// ncols tiles of a 7×1 convolution, 8 tiles per step and a last one of 4 where that covers
// the row, bias and ReLU included, the last step of a row storing under a mask
// (VMASKMOVPS) to columns < ncols:
//
//	… the loop of wino27OutputRowsF32Generic
//
// Lengths are not checked: m holds 7*me+(ntr-1)*ncols+(ncols+3)/4*4 floats, out
// (2*ntr-3+nrows)*ldo+ncols; ncols, ntr >= 1.
//
//go:noescape
func wino27OutputRowsF32AVX2(m []float32, me int, out []float32, ldo, ncols, nrows, ntr int, bias float32, relu bool)

// wino27OutputZipF32AVX2 computes the Winograd F(2, 7) output transforms of rows of tiles of
// a 1×7 convolution, 8 tiles (16 columns) per step and a last one of 4 where that covers the
// row, the two outputs of each tile interleaved (VUNPCKLPS, VUNPCKHPS, VPERM2F128), bias and
// ReLU included, the last step of a row storing under masks to columns < ncols:
//
//	… the loop of wino27OutputZipF32Generic
//
// Lengths are not checked: with n = (ncols+1)/2, m holds 7*me+(rows-1)*n+(n+3)/4*4 floats,
// out (rows-1)*ldo+ncols; ncols, rows >= 1.
//
//go:noescape
func wino27OutputZipF32AVX2(m []float32, me int, out []float32, ldo, ncols, rows int, bias float32, relu bool)

// wino27SplitF32AVX2 splits rows of w elements into their even and odd elements, 8 pairs a
// step (two loads, VSHUFPS and VPERMPD, as unzip2F32AVX2), then pairs and the last element
// of an odd row one at a time:
//
//	… the loop of wino27SplitF32Generic
//
// Lengths are not checked: dst holds (rows-1)*ldd + max(ev+(w+1)/2, od+w/2) floats, src
// rows*w; rows >= 1.
//
//go:noescape
func wino27SplitF32AVX2(dst []float32, ldd, ev, od int, src []float32, w, rows int)
