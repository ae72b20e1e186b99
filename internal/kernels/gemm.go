package kernels

// GEMM engine shared by Sgemm and Conv2D.
//
// Blocking (one worker, columns j0..j1 of C):
//
//	for k0 := 0; k0 < K; k0 += kcBlock {        // A block M×kc stays in L2 across all strips
//		for js := j0; js < j1; js += gemmNR {  // one packed kc×8 B strip, 8 KiB, stays in L1
//			pack B[k0:k0+kc][js:js+8] into buf (zero-padded past j1)
//			for i := 0; i < M; i++ {           // A row read straight from its row-major (OIHW) storage
//				C[i][js:js+8] (+)= A[i][k0:k0+kc] · strip
//
// The register tile is 1×8 (8 accumulators), not 4×8: in pure Go the SSA scheduler
// puts every multiply of a loop body before the loop-carried adds, so live products plus
// accumulators must fit in the 15 usable XMM registers. Measured on the dev box (Xeon, Go 1.26,
// kc=256, all in L1): 1×8 unrolled ×4 10.8 GFLOP/s, 2×4 ×4 10.0, 4×2 ×4 8.0, 4×4 ×4 6.2, 2×6 ×4 6.8.
// A 1-row tile also means A needs no packing: a row of OIHW weights is contiguous in K.

const (
	gemmNR  = 8   // columns per micro-tile and per packed B strip
	kcBlock = 256 // K block: a kc×8 strip is 8 KiB, an M×kc block of A is M KiB
)

// gemmF32_1x8Generic computes one 1×8 tile of C over a kc-long stretch of K:
//
//	for j := 0; j < 8; j++ {
//		var acc float32
//		for p := 0; p < kc; p++ {
//			acc += a[p] * b[p*8+j]
//		}
//		if add {
//			c[j] += acc
//		} else {
//			c[j] = bias + acc
//		}
//		if relu {
//			c[j] = max(c[j], 0)
//		}
//	}
//
// a holds kc contiguous values of a row of A; b is a packed kc×8 panel of B (row p at b[p*8:p*8+8]).
func gemmF32_1x8Generic(kc int, a, b []float32, c *[8]float32, add bool, bias float32, relu bool) {
	a = a[:kc]
	b = b[:kc*gemmNR]
	var c0, c1, c2, c3, c4, c5, c6, c7 float32
	p := 0
	// Unrolled ×4: the scheduler interleaves mul/add for the first three quarters of the body
	// (their adds have in-block uses), which keeps spills to the last quarter (+40% vs no unroll).
	for ; p+3 < kc; p += 4 {
		aa := a[p : p+4 : p+4]
		bb := b[p*8 : p*8+32 : p*8+32]
		a0 := aa[0]
		c0 += a0 * bb[0]
		c1 += a0 * bb[1]
		c2 += a0 * bb[2]
		c3 += a0 * bb[3]
		c4 += a0 * bb[4]
		c5 += a0 * bb[5]
		c6 += a0 * bb[6]
		c7 += a0 * bb[7]
		a0 = aa[1]
		c0 += a0 * bb[8]
		c1 += a0 * bb[9]
		c2 += a0 * bb[10]
		c3 += a0 * bb[11]
		c4 += a0 * bb[12]
		c5 += a0 * bb[13]
		c6 += a0 * bb[14]
		c7 += a0 * bb[15]
		a0 = aa[2]
		c0 += a0 * bb[16]
		c1 += a0 * bb[17]
		c2 += a0 * bb[18]
		c3 += a0 * bb[19]
		c4 += a0 * bb[20]
		c5 += a0 * bb[21]
		c6 += a0 * bb[22]
		c7 += a0 * bb[23]
		a0 = aa[3]
		c0 += a0 * bb[24]
		c1 += a0 * bb[25]
		c2 += a0 * bb[26]
		c3 += a0 * bb[27]
		c4 += a0 * bb[28]
		c5 += a0 * bb[29]
		c6 += a0 * bb[30]
		c7 += a0 * bb[31]
	}
	for ; p < kc; p++ {
		bb := b[p*8 : p*8+8 : p*8+8]
		a0 := a[p]
		c0 += a0 * bb[0]
		c1 += a0 * bb[1]
		c2 += a0 * bb[2]
		c3 += a0 * bb[3]
		c4 += a0 * bb[4]
		c5 += a0 * bb[5]
		c6 += a0 * bb[6]
		c7 += a0 * bb[7]
	}
	if add {
		c[0] += c0
		c[1] += c1
		c[2] += c2
		c[3] += c3
		c[4] += c4
		c[5] += c5
		c[6] += c6
		c[7] += c7
	} else {
		c[0] = bias + c0
		c[1] = bias + c1
		c[2] = bias + c2
		c[3] = bias + c3
		c[4] = bias + c4
		c[5] = bias + c5
		c[6] = bias + c6
		c[7] = bias + c7
	}
	if relu {
		for j, v := range c {
			c[j] = max(v, 0)
		}
	}
}

// bSource produces packed kc×8 strips of the GEMM B matrix: either a row-major matrix
// (Sgemm, and 1×1 stride-1 unpadded convolutions, where the CHW input already is [C][H*W])
// or the implicit im2col matrix of a convolution, gathered straight from the CHW input.
type bSource struct {
	im2col bool
	b      []float32 // row-major B, or the CHW input when im2col
	ldb    int

	// im2col geometry: row k = (c*KH+ky)*KW+kx, column j = y*OW+x.
	h, w, kh, kw, sh, sw, padT, padL, ow int
}

// pack writes B[k0:k0+kc][j0:j0+nv] into dst as kc rows of 8, zero-filling columns nv..7.
func (s *bSource) pack(k0, kc, j0, nv int, dst []float32) {
	dst = dst[:kc*gemmNR]
	if !s.im2col {
		for p := 0; p < kc; p++ {
			d := dst[p*gemmNR : p*gemmNR+gemmNR]
			o := (k0+p)*s.ldb + j0
			copy(d, s.b[o:o+nv])
			clear(d[nv:])
		}
		return
	}
	s.packIm2col(k0, kc, j0, nv, dst)
}

// segment is a run of strip columns that lie in one output row.
type segment struct {
	off, n   int // first strip column, count
	iy0, ix0 int // input coordinates of the first column for ky = kx = 0
}

// packIm2col gathers B[k][j] = in[c][y*SH+ky-PadT][x*SW+kx-PadL] (0 outside the input)
// with k = (c*KH+ky)*KW+kx and j = y*OW+x. The strip is split into runs within one output
// row so that the interior of a run is a contiguous (SW=1) or strided copy.
func (s *bSource) packIm2col(k0, kc, j0, nv int, dst []float32) {
	var segs [gemmNR]segment
	nseg := 0
	for jj := 0; jj < nv; {
		y, x := (j0+jj)/s.ow, (j0+jj)%s.ow
		n := min(nv-jj, s.ow-x)
		segs[nseg] = segment{off: jj, n: n, iy0: y*s.sh - s.padT, ix0: x*s.sw - s.padL}
		nseg++
		jj += n
	}
	h, w, sw := s.h, s.w, s.sw
	hw := h * w
	khw := s.kh * s.kw
	c, r := k0/khw, k0%khw
	ky, kx := r/s.kw, r%s.kw
	for p := 0; p < kc; p++ {
		d := dst[p*gemmNR : p*gemmNR+gemmNR]
		clear(d[nv:])
		plane := s.b[c*hw : c*hw+hw]
		for _, sg := range segs[:nseg] {
			ds := d[sg.off : sg.off+sg.n]
			iy := sg.iy0 + ky
			if uint(iy) >= uint(h) {
				clear(ds)
				continue
			}
			row := plane[iy*w : iy*w+w]
			ix := sg.ix0 + kx
			last := ix + (sg.n-1)*sw
			switch {
			case ix >= 0 && last < w && sw == 1:
				copy(ds, row[ix:])
			case ix >= 0 && last < w:
				for q := range ds {
					ds[q] = row[ix+q*sw]
				}
			default:
				for q := range ds {
					if x := ix + q*sw; uint(x) < uint(w) {
						ds[q] = row[x]
					} else {
						ds[q] = 0
					}
				}
			}
		}
		if kx++; kx == s.kw {
			kx = 0
			if ky++; ky == s.kh {
				ky = 0
				c++
			}
		}
	}
}

// gemmColumns computes columns j0..j1 of C = A·B (M rows, K deep) with the blocking described
// at the top of this file. The first K block stores bias[i] + Σ (or adds Σ to C when
// accumulate); ReLU is applied on the last K block. bias may be nil. buf holds one strip,
// len >= min(K, kcBlock)*8.
func gemmColumns(m, k int, a []float32, lda int, src *bSource, j0, j1 int, c []float32, ldc int,
	bias []float32, accumulate, relu bool, buf []float32) {
	for k0 := 0; k0 < k; k0 += kcBlock {
		kc := min(kcBlock, k-k0)
		add := accumulate || k0 > 0
		last := k0+kc == k
		strip := buf[:kc*gemmNR]
		for js := j0; js < j1; js += gemmNR {
			nv := min(gemmNR, j1-js)
			src.pack(k0, kc, js, nv, strip)
			for i := 0; i < m; i++ {
				var bi float32
				if bias != nil {
					bi = bias[i]
				}
				arow := a[i*lda+k0 : i*lda+k0+kc]
				ci := c[i*ldc+js:]
				if nv == gemmNR {
					gemmF32_1x8(kc, arow, strip, (*[gemmNR]float32)(ci), add, bi, relu && last)
					continue
				}
				// Column tail: compute the full tile into a local and keep nv columns.
				var t [gemmNR]float32
				copy(t[:nv], ci[:nv])
				gemmF32_1x8(kc, arow, strip, &t, add, bi, relu && last)
				copy(ci[:nv], t[:nv])
			}
		}
	}
}

// Sgemm computes C = A·B, or C += A·B when accumulate, for row-major matrices with leading
// dimensions; serial, on the calling goroutine:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var sum float32
//			for p := 0; p < k; p++ {
//				sum += a[i*lda+p] * b[p*ldb+j]
//			}
//			if accumulate {
//				c[i*ldc+j] += sum
//			} else {
//				c[i*ldc+j] = sum
//			}
//		}
//	}
//
// Only the m×n window of c is written. The B packing buffer (8 KiB) lives on the stack.
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if m < 0 || n < 0 || k < 0 {
		panic("kernels: Sgemm negative dimension")
	}
	if lda < max(k, 1) || ldb < max(n, 1) || ldc < max(n, 1) {
		panic("kernels: Sgemm leading dimension too small")
	}
	if m == 0 || n == 0 {
		return
	}
	if len(c) < (m-1)*ldc+n {
		panic("kernels: Sgemm c too short")
	}
	if k == 0 {
		if !accumulate {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	if len(a) < (m-1)*lda+k {
		panic("kernels: Sgemm a too short")
	}
	if len(b) < (k-1)*ldb+n {
		panic("kernels: Sgemm b too short")
	}
	var buf [kcBlock * gemmNR]float32
	src := bSource{b: b, ldb: ldb}
	gemmColumns(m, k, a, lda, &src, 0, n, c, ldc, nil, accumulate, false, buf[:])
}
