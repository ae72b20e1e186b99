package kernels

// GEMM engine shared by Sgemm and Conv2D: C[M][N] = A[M][K] · B[K][N], with bias and ReLU
// fused into the micro-kernel's store.
//
// A (the OIHW weights) is packed into 6-row panels, K block by K block (packA, once per
// model with PackConvWeights); B (the activations, or the implicit im2col matrix) into
// 16-column strips as they are needed (bSource.pack). For one worker owning C rows i0..i1
// (panel-aligned) and columns j0..j1:
//
//	for k0 := 0; k0 < K; k0 += kc {                // kc <= 256, equal blocks but the last
//		koff[p] = where row k0+p of B starts in its source, p < kc
//		for jr := j0; jr < j1; jr += 16 {
//			pack B[k0:k0+kc][jr:jr+16]           // a kc×16 strip, 16 KiB: stays in L1
//			for ir := i0; ir < i1; ir += 6 {     // the M×kc block of A streams from L2
//				C[ir:ir+6][jr:jr+16] (+)= Apanel(ir, k0) · strip
//
// The first K block stores bias + Σ (or adds Σ to C when accumulating), the last applies
// ReLU. Edge tiles (M or N not a multiple of the tile) are computed into a local 6×16 tile;
// a last strip of at most 8 columns uses the 6×8 micro-kernel.
//
// With AVX-512 (isaAVX512) the tiles are 6×64 (quadTiles: one A panel by four B strips packed
// side by side) where four whole strips remain, else 12×32 (runWide: two consecutive A panels
// by two strips), so the packed weights keep the layout above whatever the ISA. On the dev box
// the 12×32 kernel runs at ~210 GFLOP/s in L1 (the zmm FMA peak is ~224, two 512-bit FMA
// pipes) and the layers of bench_test.go at 140–260 (3×3 ones through Winograd: effective),
// against 100–190 with AVX2; kc = 128 lost 3–20% against 256. The 6×64 kernel feeds its 24
// FMAs per k step with 10 loads instead of 14 (215 GFLOP/s in L1) and reads each A block once
// per 64 columns instead of 32: the same speed as 12×32 on a layer in cache, 3–7% less time
// per forward pass (BenchmarkForward, cpu-ms/op: v3, v4, irv1, irv2), where the weights and
// activations come from memory.
//
// Measured on the dev box (Xeon with 48 KiB L1d and 2 MiB L2, single thread, CPU time, the
// layers of bench_test.go): the 6×16 AVX2 micro-kernel runs at 125 GFLOP/s in L1 for
// kc >= 128 (4×24: the same; 8×8: 98; 6×8: 84; the FMA peak is ~125), and the layers at
// 100–115. kc = 128, 192, 384, 512 are all within 3% of 256, which also fits Zen 3's 32 KiB
// L1 (16 KiB strip + 6 KiB panel). Unrolling the k loop 2, 4 or 8 times and prefetching A
// made no measurable difference; prefetching the C tile at the kernel's start did (+10–25%:
// rows of C are ldc apart and miss the cache).

const (
	gemmMR = 6   // rows per micro-tile and per packed A panel
	gemmNR = 16  // columns per micro-tile and per packed B strip
	gemmKC = 256 // largest K block: a kc×16 B strip is 16 KiB, a 6×kc A panel 6 KiB
)

// Micro-kernel flags.
const (
	gemmAccumulate = 1 // C += A·B, instead of C = bias + A·B
	gemmReLU       = 2 // then C = max(C, 0)
	gemmAddBias    = 4 // with gemmAccumulate: C += bias + A·B, the bias added to A·B first
)

// isa names a set of implementations of the GEMM engine's kernels: the micro-kernels
// (gemm6x16, gemm6x8), the B packers (packContig, packSegs) and the stride-2 input split
// (unzip2). Their methods
// (gemm_amd64.go, gemm_other.go) switch on it rather than call func values, so that escape
// analysis keeps the buffers passed to them on the stack.
type isa uint8

const (
	isaGeneric isa = iota // portable Go: gemmF32_6x16Generic, packB16F32Generic, …
	isaAVX2               // AVX2+FMA assembly: gemmF32_6x16AVX2, packB16F32AVX2, …
	isaAVX512             // AVX-512F micro-kernels (gemmF32_12x32AVX512, …), AVX2 for the rest
)

// wide reports whether k runs the GEMM on 12×32 tiles (two A panels by two B strips,
// runWide) rather than 6×16 ones: with 32 zmm registers, 24 accumulators hide the FMA
// latency while 14 loads feed 24 FMAs per k step (6×16 in zmm would be 6 chains, too few).
func (k isa) wide() bool { return k == isaAVX512 }

// unitCols and unitRows are the columns and rows of the ranges a GEMM is split into between
// workers: a whole tile of k's micro-kernel, so that no range boundary leaves a half tile. With
// ranges of 16 columns, the 12×32 kernel ran as 12×16 on 8×8 maps (N = 64: every grab one strip),
// which took 22% of IRv2's time at threads=2.
func (k isa) unitCols() int {
	if k.wide() {
		return gemmBufNR
	}
	return gemmNR
}

func (k isa) unitRows() int {
	if k.wide() {
		return 2 * gemmMR
	}
	return gemmMR
}

// gemmTiles6x16 computes the (6*np)×(16*ns) tile of gemmWide with np*ns calls of gemm6x16:
// panel q of a at a[q*6*kc:], strip s of b at b[s*16*kc:].
func (k isa) gemmTiles6x16(np, ns, kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	for q := 0; q < np; q++ {
		for s := 0; s < ns; s++ {
			k.gemm6x16(kc, a[q*gemmMR*kc:], b[s*gemmNR*kc:], c[q*gemmMR*ldc+s*gemmNR:], ldc, bias[q*gemmMR:], flags)
		}
	}
}

// gemmF32_6x16Generic computes one 6×16 tile of C over a kc-long stretch of K:
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 16; j++ {
//			var acc float32
//			for p := 0; p < kc; p++ {
//				acc += a[p*6+i] * b[p*16+j]
//			}
//			if flags&gemmAccumulate != 0 {
//				if flags&gemmAddBias != 0 {
//					acc += bias[i]
//				}
//				c[i*ldc+j] += acc
//			} else {
//				c[i*ldc+j] = bias[i] + acc
//			}
//			if flags&gemmReLU != 0 {
//				c[i*ldc+j] = max(c[i*ldc+j], 0)
//			}
//		}
//	}
//
// a is a packed kc×6 A panel (row p at a[p*6:p*6+6]), b a packed kc×16 B strip (row p at
// b[p*16:p*16+16]); bias has at least 6 values and is ignored when accumulating without
// gemmAddBias.
func gemmF32_6x16Generic(kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	gemmF32Generic(kc, gemmNR, a, b, c, ldc, bias, flags)
}

// gemmF32_6x8Generic computes one 6×8 tile of C, as gemmF32_6x16Generic does a 6×16 one but
// with a packed kc×16 B strip of which only columns 0..7 are used:
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 8; j++ {
//			var acc float32
//			for p := 0; p < kc; p++ {
//				acc += a[p*6+i] * b[p*16+j]
//			}
//			… stored as by gemmF32_6x16Generic
func gemmF32_6x8Generic(kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	gemmF32Generic(kc, 8, a, b, c, ldc, bias, flags)
}

// gemvF32_48Generic computes one column of np <= 8 consecutive packed A panels (6*np rows)
// times column 0 of a packed B strip, before any epilogue:
//
//	for i := 0; i < 6*np; i++ {
//		var acc float32
//		for p := 0; p < kc; p++ {
//			acc += a[i/6*6*kc+p*6+i%6] * b[p*16]
//		}
//		out[i] = acc
//	}
func gemvF32_48Generic(kc int, a []float32, np int, b, out []float32) {
	a = a[:np*gemmMR*kc]
	b = b[:(kc-1)*gemmNR+1]
	out = out[:np*gemmMR]
	for i := range out {
		var acc float32
		ai := a[i/gemmMR*gemmMR*kc+i%gemmMR:]
		for p := 0; p < kc; p++ {
			acc += ai[p*gemmMR] * b[p*gemmNR]
		}
		out[i] = acc
	}
}

// gemmF32Generic computes the 6×nr tile (nr = 8 or 16) of gemmF32_6x16Generic one row and
// 8 columns at a time (gemmRow8).
func gemmF32Generic(kc, nr int, a, b, c []float32, ldc int, bias []float32, flags int) {
	a = a[:kc*gemmMR]
	b = b[:kc*gemmNR]
	_ = c[(gemmMR-1)*ldc+nr-1]
	for i := 0; i < gemmMR; i++ {
		for h := 0; h < nr; h += 8 {
			c0, c1, c2, c3, c4, c5, c6, c7 := gemmRow8(kc, a[i:], b[h:])
			ci := (*[8]float32)(c[i*ldc+h:])
			if flags&(gemmAccumulate|gemmAddBias) == gemmAccumulate|gemmAddBias {
				bi := bias[i]
				c0, c1, c2, c3, c4, c5, c6, c7 = c0+bi, c1+bi, c2+bi, c3+bi, c4+bi, c5+bi, c6+bi, c7+bi
			}
			if flags&gemmAccumulate != 0 {
				ci[0] += c0
				ci[1] += c1
				ci[2] += c2
				ci[3] += c3
				ci[4] += c4
				ci[5] += c5
				ci[6] += c6
				ci[7] += c7
			} else {
				bi := bias[i]
				ci[0] = bi + c0
				ci[1] = bi + c1
				ci[2] = bi + c2
				ci[3] = bi + c3
				ci[4] = bi + c4
				ci[5] = bi + c5
				ci[6] = bi + c6
				ci[7] = bi + c7
			}
			if flags&gemmReLU != 0 {
				for j, v := range ci {
					ci[j] = max(v, 0)
				}
			}
		}
	}
}

// gemmRow8 returns Σ_p a[p*6] * b[p*16+j] for j = 0..7, p < kc: one row and 8 columns of a
// tile, with 8 scalar accumulators, which is what fits in registers in pure Go (the SSA
// scheduler puts a loop body's multiplies before the loop-carried adds). Unrolled ×4, with
// the slices cut so that the loads need no bounds checks.
func gemmRow8(kc int, a, b []float32) (c0, c1, c2, c3, c4, c5, c6, c7 float32) {
	p := 0
	for ; p+3 < kc; p += 4 {
		aa := a[p*gemmMR : p*gemmMR+3*gemmMR+1 : p*gemmMR+3*gemmMR+1]
		bb := b[p*gemmNR : p*gemmNR+3*gemmNR+8 : p*gemmNR+3*gemmNR+8]
		a0 := aa[0]
		c0 += a0 * bb[0]
		c1 += a0 * bb[1]
		c2 += a0 * bb[2]
		c3 += a0 * bb[3]
		c4 += a0 * bb[4]
		c5 += a0 * bb[5]
		c6 += a0 * bb[6]
		c7 += a0 * bb[7]
		a0 = aa[gemmMR]
		c0 += a0 * bb[gemmNR+0]
		c1 += a0 * bb[gemmNR+1]
		c2 += a0 * bb[gemmNR+2]
		c3 += a0 * bb[gemmNR+3]
		c4 += a0 * bb[gemmNR+4]
		c5 += a0 * bb[gemmNR+5]
		c6 += a0 * bb[gemmNR+6]
		c7 += a0 * bb[gemmNR+7]
		a0 = aa[2*gemmMR]
		c0 += a0 * bb[2*gemmNR+0]
		c1 += a0 * bb[2*gemmNR+1]
		c2 += a0 * bb[2*gemmNR+2]
		c3 += a0 * bb[2*gemmNR+3]
		c4 += a0 * bb[2*gemmNR+4]
		c5 += a0 * bb[2*gemmNR+5]
		c6 += a0 * bb[2*gemmNR+6]
		c7 += a0 * bb[2*gemmNR+7]
		a0 = aa[3*gemmMR]
		c0 += a0 * bb[3*gemmNR+0]
		c1 += a0 * bb[3*gemmNR+1]
		c2 += a0 * bb[3*gemmNR+2]
		c3 += a0 * bb[3*gemmNR+3]
		c4 += a0 * bb[3*gemmNR+4]
		c5 += a0 * bb[3*gemmNR+5]
		c6 += a0 * bb[3*gemmNR+6]
		c7 += a0 * bb[3*gemmNR+7]
	}
	for ; p < kc; p++ {
		a0 := a[p*gemmMR]
		bb := b[p*gemmNR : p*gemmNR+8 : p*gemmNR+8]
		c0 += a0 * bb[0]
		c1 += a0 * bb[1]
		c2 += a0 * bb[2]
		c3 += a0 * bb[3]
		c4 += a0 * bb[4]
		c5 += a0 * bb[5]
		c6 += a0 * bb[6]
		c7 += a0 * bb[7]
	}
	return
}

// gemmKCFor returns the K block size for a K-deep product: K split into the fewest blocks
// of at most gemmKC, of equal size but the last (K = 288 gives 144+144, not 256+32: a short
// block pays the tile's load and store for few FMAs).
func gemmKCFor(k int) int {
	nb := (k + gemmKC - 1) / gemmKC
	return (k + nb - 1) / nb
}

// packedALen returns the length of A (m×k) packed by packA: m rounded up to gemmMR, times k.
func packedALen(m, k int) int {
	return (m + gemmMR - 1) / gemmMR * gemmMR * k
}

// packA packs the row-major m×k matrix A (leading dimension lda) into dst, K block by K
// block (blocks of gemmKCFor(k)): the block starting at k0 is at dst[k0*mp:], mp being m
// rounded up to gemmMR, and holds mp/6 panels of kc×6 values, panel q at offset q*6*kc:
//
//	dst[k0*mp + q*6*kc + p*6 + r] = A[q*6+r][k0+p] (0 for rows q*6+r >= m)
func packA(m, k int, a []float32, lda int, dst []float32) {
	mp := (m + gemmMR - 1) / gemmMR * gemmMR
	kcb := gemmKCFor(k)
	dst = dst[:mp*k]
	for k0 := 0; k0 < k; k0 += kcb {
		kc := min(kcb, k-k0)
		blk := dst[k0*mp : k0*mp+mp*kc]
		for i0 := 0; i0 < mp; i0 += gemmMR {
			panel := blk[i0*kc : (i0+gemmMR)*kc]
			if i0+gemmMR <= m {
				// Full panel: six row streams in, one sequential stream out.
				r0 := a[(i0+0)*lda+k0 : (i0+0)*lda+k0+kc]
				r1 := a[(i0+1)*lda+k0 : (i0+1)*lda+k0+kc]
				r2 := a[(i0+2)*lda+k0 : (i0+2)*lda+k0+kc]
				r3 := a[(i0+3)*lda+k0 : (i0+3)*lda+k0+kc]
				r4 := a[(i0+4)*lda+k0 : (i0+4)*lda+k0+kc]
				r5 := a[(i0+5)*lda+k0 : (i0+5)*lda+k0+kc]
				for p := range r0 {
					d := panel[p*gemmMR : p*gemmMR+gemmMR : p*gemmMR+gemmMR]
					d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
				}
				continue
			}
			for r := 0; r < gemmMR; r++ {
				if i0+r >= m {
					for p := 0; p < kc; p++ {
						panel[p*gemmMR+r] = 0
					}
					continue
				}
				row := a[(i0+r)*lda+k0 : (i0+r)*lda+k0+kc]
				for p, v := range row {
					panel[p*gemmMR+r] = v
				}
			}
		}
	}
}

// bSource describes the GEMM B matrix as reads of a source array t, so that one packing
// loop serves both a row-major matrix and a convolution's implicit im2col matrix:
//
//	B[k][j] = t[koff(k) + y(j)*wq + x(j)],  x(j) = j % ow, y(j) = j / ow
//	koff(k) = ((c*sh + ky%sh)*sw + kx%sw)*plane + (ky/sh)*wq + kx/sw,  k = (c*kh+ky)*kw+kx
//
// For a row-major matrix with leading dimension ldb (Sgemm, 1×1 stride-1 unpadded
// convolutions, where the CHW input already is [C][H*W]), kh = kw = sh = sw = 1 and
// plane = ow = ldb. For a convolution, t is the input zero-padded and split into sh×sw phase
// planes of hq×wq by ConvShape.fillInput, which makes every read in bounds and turns any
// stride into contiguous runs along output rows.
//
// A batch of images (Conv2DPackedBatch) puts their columns side by side: with imgN > 0,
// column j is column j%imgN of image j/imgN, whose source starts tStride further on in t
// (imgN is a multiple of ow, so a run within an output row never spans two images).
//
// With masked set (a stride-1 convolution whose output has the size of its input, see
// ConvShape.maskedPack), t is the input itself, unpadded (plane = H*W, wq = ow = W): B[k][j]
// is t[koff(k) + y(j)*wq + x(j) - padT*wq - padL] where the tap (ky, kx) of row k lands
// inside the image, 0 elsewhere, and packMasked gathers it with masked loads.
type bSource struct {
	t              []float32
	kh, kw, sh, sw int
	plane, wq, ow  int
	imgN, tStride  int // columns per image and source stride between images; imgN 0: one image

	masked     bool
	padT, padL int // masked: the convolution's padding
	h          int // masked: input (and output) rows

	// s2: a valid stride-2 convolution read from its unpadded input (ConvShape.stride2Pack):
	// koff(k) = c·plane + ky·wq + kx, column (y, x) at 2y·wq + 2x.
	s2 bool
}

// maxMaskedTaps bounds kh*kw for bSource.masked (the masks live on the stack).
const maxMaskedTaps = 49

// packMasked writes B[k0:k0+kc][j0:j0+nv] (nv <= 32) of a masked source into dst as two
// kc×16 strips, strip s at dst[s*kc*16:], zero-filling columns nv..31; koff holds koff(k0+p)
// for p < kc. The columns fall in at most two images (imgN >= 31): one run each, with a
// mask per kernel tap and run of the columns whose tap lands inside the image.
func (s *bSource) packMasked(k isa, koff []int, k0, j0, nv int, dst []float32) {
	taps := s.kh * s.kw
	var masks [4 * maxMaskedTaps]uint16
	var d [2]int
	nseg := 0
	for l := 0; l < nv; nseg++ {
		img, jj := 0, j0+l
		if s.imgN > 0 {
			img, jj = jj/s.imgN, jj%s.imgN
		}
		run := nv - l
		if s.imgN > 0 {
			run = min(run, s.imgN-jj)
		}
		// Lanes l..l+run-1 are columns jj.. of image img: lane l reads t[koff+d+l].
		d[nseg] = img*s.tStride + jj - l - s.padT*s.wq - s.padL
		// Lane of column (yy, xx) of the image: l + (yy-y0)*ow + xx-x0; its rows y0..y1.
		y0, x0 := jj/s.ow, jj%s.ow
		y1 := (jj + run - 1) / s.ow
		lane := func(yy, xx int) int { return l + (yy-y0)*s.ow + xx - x0 }
		var rows [maxMaskedTaps]uint32 // rows[ky]: lanes whose tap row ky is inside
		var cols [maxMaskedTaps]uint32 // cols[kx]: lanes whose tap column kx is inside
		for ky := range s.kh {
			// Rows padT-ky <= yy < h+padT-ky.
			rows[ky] = laneBits(lane(s.padT-ky, 0), lane(s.h+s.padT-ky, 0), l, l+run)
		}
		for kx := range s.kw {
			// Columns padL-kx <= xx < ow+padL-kx of each row.
			xa, xb := max(s.padL-kx, 0), min(s.ow+s.padL-kx, s.ow)
			for yy := y0; yy <= y1; yy++ {
				cols[kx] |= laneBits(lane(yy, xa), lane(yy, xb), l, l+run)
			}
		}
		m := masks[2*nseg*taps : 2*(nseg+1)*taps]
		for ky := range s.kh {
			for kx := range s.kw {
				b := rows[ky] & cols[kx]
				m[2*(ky*s.kw+kx)], m[2*(ky*s.kw+kx)+1] = uint16(b), uint16(b>>16)
			}
		}
		l += run
	}
	k.packMasked(len(koff), s.t, koff, d[0], d[1], masks[:2*nseg*taps], taps, k0%taps, dst)
}

// laneBits returns the bits a..b-1 of a lane mask, clipped to lanes lo..hi-1 (0 <= lo, hi <= 32).
func laneBits(a, b, lo, hi int) uint32 {
	a, b = max(a, lo), min(b, hi)
	if a >= b {
		return 0
	}
	return uint32(uint64(1)<<uint(b) - uint64(1)<<uint(a))
}

// packB32MaskedF32Generic packs kc rows of a pair of 16-column B strips, each column read
// from one of two runs of t under per-row masks (row p uses those of kernel tap
// r = (r0+p) mod nr: the bits of masks[2*r], masks[2*r+1] for the first run, masks[2*(nr+r)],
// masks[2*(nr+r)+1] for the second, which are disjoint; len(masks) is 4*nr, or 2*nr when
// there is only the first):
//
//	for p := 0; p < kc; p++ {
//		r := (r0 + p) % nr
//		for j := 0; j < 32; j++ {
//			v := float32(0)
//			if masks[2*r+j/16]>>(j%16)&1 != 0 {
//				v = t[koff[p]+d0+j]
//			}
//			if len(masks) >= 4*nr && masks[2*(nr+r)+j/16]>>(j%16)&1 != 0 {
//				v = t[koff[p]+d1+j]
//			}
//			dst[j/16*kc*16+p*16+j%16] = v
//		}
//	}
func packB32MaskedF32Generic(kc int, t []float32, koff []int, d0, d1 int, masks []uint16, nr, r0 int, dst []float32) {
	koff = koff[:kc]
	dst = dst[:2*kc*gemmNR]
	two := len(masks) >= 4*nr
	r := r0
	for p, o := range koff {
		m0, m1 := masks[2*r:2*r+2], [2]uint16{}
		if two {
			m1 = [2]uint16(masks[2*(nr+r) : 2*(nr+r)+2])
		}
		for j := 0; j < 2*gemmNR; j++ {
			h, bit := j/gemmNR, uint16(1)<<(j%gemmNR)
			v := float32(0)
			if m0[h]&bit != 0 {
				v = t[o+d0+j]
			}
			if m1[h]&bit != 0 {
				v = t[o+d1+j]
			}
			dst[h*kc*gemmNR+p*gemmNR+j%gemmNR] = v
		}
		if r++; r == nr {
			r = 0
		}
	}
}

// column returns where column j of B starts in t, relative to koff: (img*tStride) + y*wq + x.
func (s *bSource) column(j int) (d, x int) {
	base := 0
	if s.imgN > 0 {
		base = j / s.imgN * s.tStride
		j %= s.imgN
	}
	x = j % s.ow
	if s.s2 {
		return base + 2*(j/s.ow*s.wq+x), x
	}
	return base + j/s.ow*s.wq + x, x
}

// packSeg is a run of a B strip's columns that lie in one output row, hence read
// consecutive values of bSource.t: columns off..off+n-1, column j reading t[koff(k)+d+j].
// mask is -1 on those columns and 0 elsewhere (for the AVX2 masked loads).
type packSeg struct {
	d, off, n int
	mask      [gemmNR]int32
}

// offsets sets koff[p] = koff(k0+p) for every p < len(koff).
func (s *bSource) offsets(k0 int, koff []int) {
	if s.s2 {
		c, r := k0/(s.kh*s.kw), k0%(s.kh*s.kw)
		ky, kx := r/s.kw, r%s.kw
		for p := range koff {
			koff[p] = c*s.plane + ky*s.wq + kx
			if kx++; kx == s.kw {
				if kx, ky = 0, ky+1; ky == s.kh {
					ky, c = 0, c+1
				}
			}
		}
		return
	}
	// koff(k) is stepped from k0: kx, ky count within the kernel, kxr = kx%sw, kyr = ky%sh.
	kh, kw, sh, sw, plane, wq := s.kh, s.kw, s.sh, s.sw, s.plane, s.wq
	c, r := k0/(kh*kw), k0%(kh*kw)
	ky, kx := r/kw, r%kw
	kyr, kxr := ky%sh, kx%sw
	o := ((c*sh+kyr)*sw+kxr)*plane + (ky/sh)*wq + kx/sw
	xWrap := (kw-1)%sw*plane + (kw-1)/sw // the x part of koff at kx = kw-1
	yWrap := (kh-1)%sh*sw*plane + (kh-1)/sh*wq
	for p := range koff {
		koff[p] = o
		if kx++; kx < kw {
			if kxr++; kxr < sw {
				o += plane
			} else {
				kxr = 0
				o += 1 - (sw-1)*plane
			}
			continue
		}
		kx, kxr = 0, 0
		o -= xWrap
		if ky++; ky < kh {
			if kyr++; kyr < sh {
				o += sw * plane
			} else {
				kyr = 0
				o += wq - (sh-1)*sw*plane
			}
			continue
		}
		ky, kyr = 0, 0
		o += sh*sw*plane - yWrap
	}
}

// segments splits columns j0..j0+nv-1 into runs within one output row, writing them to
// segs (masks included) and returning how many there are.
func (s *bSource) segments(j0, nv int, segs *[gemmNR]packSeg) int {
	n := 0
	for jj := 0; jj < nv; n++ {
		d, x := s.column(j0 + jj)
		run := min(nv-jj, s.ow-x)
		sg := &segs[n]
		sg.d, sg.off, sg.n = d-jj, jj, run
		for j := range sg.mask {
			sg.mask[j] = 0
			if jj <= j && j < jj+run {
				sg.mask[j] = -1
			}
		}
		jj += run
	}
	return n
}

// pack writes B[k0:k0+kc][j0:j0+nv] into dst as kc rows of 16, zero-filling columns nv..15;
// koff holds koff(k0+p) for p < kc (offsets).
func (s *bSource) pack(k isa, koff []int, j0, nv int, dst []float32) {
	if s.s2 {
		var segs [gemmNR]s2Seg
		k.packS2(len(koff), s.t, koff, segs[:s.s2Segments(j0, nv, &segs)], dst)
		return
	}
	if d, x := s.column(j0); nv == gemmNR && x+gemmNR <= s.ow {
		k.packContig(len(koff), s.t, koff, d, dst)
		return
	}
	var segs [gemmNR]packSeg
	n := s.segments(j0, nv, &segs)
	k.packSegs(len(koff), s.t, koff, segs[:n], dst)
}

// s2Seg is a run of a stride-2 source's B strip columns that lie in one output row: column j
// of the strip, for j in the run (bit j of lanes), reads t[koff(k)+d+2j]; m0 and m1 have the
// bits of the even offsets 2j < 16 and 2j-16 >= 0 that the run reads, for the masked loads of
// t[koff(k)+d:] and 16 on (packB16S2F32AVX512).
type s2Seg struct {
	d             int
	m0, m1, lanes uint16
	_             uint16
}

// s2Segments writes the runs of B columns j0..j0+nv-1 (nv <= 16) of a stride-2 source into
// segs and returns their number (at least one).
func (s *bSource) s2Segments(j0, nv int, segs *[gemmNR]s2Seg) int {
	n := 0
	for jj := 0; jj < nv; n++ {
		d, x := s.column(j0 + jj)
		run := min(nv-jj, s.ow-x) // an image ends with a row
		sg := &segs[n]
		sg.d, sg.m0, sg.m1, sg.lanes = d-2*jj, 0, 0, 0
		for j := jj; j < jj+run; j++ {
			sg.lanes |= 1 << j
			if 2*j < gemmNR {
				sg.m0 |= 1 << (2 * j)
			} else {
				sg.m1 |= 1 << (2*j - gemmNR)
			}
		}
		jj += run
	}
	return n
}

// packB16S2F32Generic packs kc rows of a B strip of a stride-2 source:
//
//	for p := 0; p < kc; p++ {
//		for j := 0; j < 16; j++ {
//			dst[p*16+j] = 0
//			for _, sg := range segs {
//				if sg.lanes>>j&1 != 0 {
//					dst[p*16+j] = t[koff[p]+sg.d+2*j]
//				}
//			}
//		}
//	}
func packB16S2F32Generic(kc int, t []float32, koff []int, segs []s2Seg, dst []float32) {
	koff = koff[:kc]
	for p, o := range koff {
		row := dst[p*gemmNR : p*gemmNR+gemmNR]
		clear(row)
		for _, sg := range segs {
			for j := range gemmNR {
				if sg.lanes>>j&1 != 0 {
					row[j] = t[o+sg.d+2*j]
				}
			}
		}
	}
}

// packB16ContigF32Generic packs kc rows of a B strip whose 16 columns read consecutive
// values of t:
//
//	for p := 0; p < kc; p++ {
//		for j := 0; j < 16; j++ {
//			dst[p*16+j] = t[koff[p]+d+j]
//		}
//	}
func packB16ContigF32Generic(kc int, t []float32, koff []int, d int, dst []float32) {
	koff = koff[:kc]
	for p, o := range koff {
		copy(dst[p*gemmNR:p*gemmNR+gemmNR], t[o+d:o+d+gemmNR])
	}
}

// packB16SegsF32Generic packs kc rows of a B strip whose columns are split into runs:
//
//	for p := 0; p < kc; p++ {
//		for j := 0; j < 16; j++ {
//			dst[p*16+j] = 0
//			for _, sg := range segs {
//				if sg.mask[j] != 0 {
//					dst[p*16+j] = t[koff[p]+sg.d+j]
//				}
//			}
//		}
//	}
//
// The runs are disjoint; sg.mask[j] != 0 exactly for sg.off <= j < sg.off+sg.n.
func packB16SegsF32Generic(kc int, t []float32, koff []int, segs []packSeg, dst []float32) {
	koff = koff[:kc]
	for p, o := range koff {
		row := dst[p*gemmNR : p*gemmNR+gemmNR]
		end := 0
		for _, sg := range segs {
			copy(row[sg.off:sg.off+sg.n], t[o+sg.d+sg.off:])
			end = sg.off + sg.n
		}
		clear(row[end:])
	}
}

// unzip2F32Generic splits pairs: for a stride-2 convolution's padded input rows, into
// their even and odd phases:
//
//	for j := range even {
//		even[j] = src[2*j]
//		odd[j] = src[2*j+1]
//	}
//
// len(odd) >= len(even), len(src) >= 2*len(even).
func unzip2F32Generic(even, odd, src []float32) {
	odd = odd[:len(even)]
	src = src[:2*len(even)]
	for j := range even {
		p := src[2*j : 2*j+2 : 2*j+2]
		even[j], odd[j] = p[0], p[1]
	}
}

// zeroBias is the bias of a GEMM without one.
var zeroBias [2 * gemmMR]float32

// gemmBufNR is the number of B columns a worker packs at a time: two 16-column strips, for
// the 12×32 tiles of runWide (runs with 6×16 tiles use the first).
const gemmBufNR = 2 * gemmNR

// gemmPacked is one GEMM over a packed A: C[M][N] (+)= A·B with bias and ReLU.
type gemmPacked struct {
	m, n, k    int
	a          []float32 // A packed by packA
	src        bSource
	c          []float32
	ldc        int
	imgN       int       // batch (src.imgN > 0): columns per image, C[i][j] at c[j/imgN*cStride + i*ldc + j%imgN]
	cStride    int       // distance in c between images; ldc = imgN
	jBase      int       // without a batch: C[i][j] at c[i*ldc + j-jBase]
	bias       []float32 // len >= m, or nil
	accumulate bool      // C += A·B (bias unused but with addBias)
	addBias    bool      // accumulate: C += bias + A·B
	relu       bool
	isa        isa // kernels to use
}

// cAt returns the offset in g.c of C[i][j], and whether columns j..j+nv-1 lie in one image
// (always true without a batch), so that a tile there can be stored with leading dimension ldc.
func (g *gemmPacked) cAt(i, j, nv int) (int, bool) {
	if g.imgN == 0 {
		return i*g.ldc + j - g.jBase, true
	}
	img, l := j/g.imgN, j%g.imgN
	return img*g.cStride + i*g.ldc + l, l+nv <= g.imgN
}

// tileCopy copies C[i:i+mv][j:j+nv] into tile (leading dimension ldt) when load, else tile
// into C, image by image.
func (g *gemmPacked) tileCopy(load bool, i, mv, j, nv int, tile []float32, ldt int) {
	for jj := 0; jj < nv; {
		off, _ := g.cAt(i, j+jj, 0)
		run := nv - jj
		if g.imgN > 0 {
			run = min(run, g.imgN-(j+jj)%g.imgN)
		}
		for r := range mv {
			c := g.c[off+r*g.ldc : off+r*g.ldc+run]
			t := tile[r*ldt+jj : r*ldt+jj+run]
			if load {
				copy(t, c)
			} else {
				copy(c, t)
			}
		}
		jj += run
	}
}

// bufLen returns the float32s of B packing buffer one worker needs, for any isa.
func (g *gemmPacked) bufLen() int { return stripBufLen(g.k) }

// stripBufLen returns the B packing buffer of one worker of a GEMM over k rows of B: the four
// strips of quadTiles' 6×64 tiles for its largest K block.
func stripBufLen(k int) int { return gemmKCFor(k) * 2 * gemmBufNR }

// blockFlags returns the micro-kernel flags for the K block starting at k0 of length kc: accumulate
// onto C after the first block (or always when the caller accumulates), ReLU on the last.
func (g *gemmPacked) blockFlags(k0, kc int) int {
	flags := 0
	if g.accumulate || k0 > 0 {
		flags |= gemmAccumulate
	}
	if g.accumulate && g.addBias && k0 == 0 {
		flags |= gemmAddBias
	}
	if g.relu && k0+kc == g.k {
		flags |= gemmReLU
	}
	return flags
}

// run computes C rows i0..i1 (i0 a multiple of gemmMR) and columns j0..j1 (j0 a multiple of
// gemmNR) with the blocking described at the top of this file; buf holds g.bufLen() floats.
func (g *gemmPacked) run(i0, i1, j0, j1 int, buf []float32) {
	if g.isa.wide() {
		g.runWide(i0, i1, j0, j1, buf)
		return
	}
	mp := (g.m + gemmMR - 1) / gemmMR * gemmMR
	kcb := gemmKCFor(g.k)
	var koff [gemmKC]int
	var tile [gemmMR * gemmNR]float32
	var tbias [gemmMR]float32
	for k0 := 0; k0 < g.k; k0 += kcb {
		kc := min(kcb, g.k-k0)
		g.src.offsets(k0, koff[:kc])
		flags := g.blockFlags(k0, kc)
		ablk := g.a[k0*mp : k0*mp+mp*kc]
		strip := buf[:kc*gemmNR]
		for col := j0; col < j1; col += gemmNR {
			nv := min(gemmNR, j1-col)
			if g.src.masked {
				g.src.packMasked(g.isa, koff[:kc], k0, col, nv, buf[:2*kc*gemmNR])
			} else {
				g.src.pack(g.isa, koff[:kc], col, nv, strip)
			}
			for ir := i0; ir < i1; ir += gemmMR {
				panel := ablk[ir*kc : (ir+gemmMR)*kc]
				mv := min(gemmMR, g.m-ir)
				bias := zeroBias[:]
				if g.bias != nil {
					if mv == gemmMR {
						bias = g.bias[ir : ir+gemmMR]
					} else {
						copy(tbias[:], g.bias[ir:g.m])
						bias = tbias[:]
					}
				}
				if off, one := g.cAt(ir, col, nv); mv == gemmMR && nv == gemmNR && one {
					g.isa.gemm6x16(kc, panel, strip, g.c[off:], g.ldc, bias, flags)
					continue
				}
				// Edge tile (or one spanning two images): compute into tile, then keep mv×nv.
				if flags&gemmAccumulate != 0 {
					g.tileCopy(true, ir, mv, col, nv, tile[:], gemmNR)
				}
				if nv <= 8 {
					g.isa.gemm6x8(kc, panel, strip, tile[:], gemmNR, bias, flags)
				} else {
					g.isa.gemm6x16(kc, panel, strip, tile[:], gemmNR, bias, flags)
				}
				g.tileCopy(false, ir, mv, col, nv, tile[:], gemmNR)
			}
		}
	}
}

// runWide is run with tiles of up to two A panels by two B strips (12×32; 12×16, 6×32 or
// 6×16 at the ends of the ranges), both strips packed into buf before the panels stream by.
// Each element of C gets the same FMAs in the same order as with 6×16 tiles, so the result
// does not depend on the tiling (nor on how columns are split between workers).
func (g *gemmPacked) runWide(i0, i1, j0, j1 int, buf []float32) {
	mp := (g.m + gemmMR - 1) / gemmMR * gemmMR
	kcb := gemmKCFor(g.k)
	var koff [gemmKC]int
	var tile [2 * gemmMR * gemmBufNR]float32
	var tbias [2 * gemmMR]float32
	for k0 := 0; k0 < g.k; k0 += kcb {
		kc := min(kcb, g.k-k0)
		g.src.offsets(k0, koff[:kc])
		flags := g.blockFlags(k0, kc)
		ablk := g.a[k0*mp : k0*mp+mp*kc]
		for col := j0; col < j1; col += gemmBufNR {
			if g.isa == isaAVX512 && !g.src.masked && j1-col >= 2*gemmBufNR && len(buf) >= 4*kc*gemmNR {
				// Four whole strips: 6×64 tiles.
				for s := 0; s < 4; s++ {
					g.src.pack(g.isa, koff[:kc], col+s*gemmNR, gemmNR, buf[s*kc*gemmNR:(s+1)*kc*gemmNR])
				}
				g.quadTiles(i0, i1, ablk, kc, col, buf[:4*kc*gemmNR], flags, &tile, &tbias)
				col += gemmBufNR // and the loop's
				continue
			}
			nv := min(gemmBufNR, j1-col)
			ns := (nv + gemmNR - 1) / gemmNR
			if g.src.masked {
				g.src.packMasked(g.isa, koff[:kc], k0, col, nv, buf[:2*kc*gemmNR])
			}
			for s := 0; s < ns && !g.src.masked; s++ {
				g.src.pack(g.isa, koff[:kc], col+s*gemmNR, min(gemmNR, nv-s*gemmNR), buf[s*kc*gemmNR:(s+1)*kc*gemmNR])
			}
			strips := buf[:ns*kc*gemmNR]
			if ns == 2 && nv <= gemmNR+gemvMaxCols && g.isa == isaAVX512 {
				// A last strip pair of 17–20 columns (N = 49, 7×7 maps, ends in 17): its first
				// 16 columns as 12×16 tiles and the others a column at a time, instead of
				// 12×32 tiles that compute 32.
				g.wideTiles(i0, i1, ablk, kc, col, gemmNR, strips, flags, &tile, &tbias)
				for ir := i0; ir < i1; ir += gemvPanels * gemmMR {
					g.gemvEdge(ablk, kc, ir, min(i1, ir+gemvPanels*gemmMR), col+gemmNR, nv-gemmNR, strips[gemmNR*kc:], flags)
				}
				continue
			}
			g.wideTiles(i0, i1, ablk, kc, col, nv, strips, flags, &tile, &tbias)
		}
	}
}

// wideTiles computes C rows i0..i1 and the nv columns from col of one K block (packed A block
// ablk of kc rows, packed B strips strips) with runWide's tiles: 12×32 where whole, the edges
// through a local tile, or a column at a time for a last strip of a few columns.
func (g *gemmPacked) wideTiles(i0, i1 int, ablk []float32, kc, col, nv int, strips []float32, flags int, tile *[2 * gemmMR * gemmBufNR]float32, tbias *[2 * gemmMR]float32) {
	ns := (nv + gemmNR - 1) / gemmNR
	for ir := i0; ir < i1; ir += 2 * gemmMR {
		np := 1
		if ir+gemmMR < i1 {
			np = 2 // i1 <= mp: the second panel exists
		}
		panels := ablk[ir*kc : (ir+np*gemmMR)*kc]
		mv := min(np*gemmMR, g.m-ir)
		bias := zeroBias[:]
		if g.bias != nil {
			if mv == np*gemmMR {
				bias = g.bias[ir : ir+mv]
			} else {
				copy(tbias[:], g.bias[ir:g.m])
				bias = tbias[:]
			}
		}
		if off, one := g.cAt(ir, col, nv); mv == np*gemmMR && nv == ns*gemmNR && one {
			g.isa.gemmWide(np, ns, kc, panels, strips, g.c[off:], g.ldc, bias, flags)
			continue
		}
		if nv <= gemvMaxCols && g.isa == isaAVX512 {
			// A last strip of a few columns: up to 8 panels a column at a time.
			g.gemvEdge(ablk, kc, ir, min(i1, ir+gemvPanels*gemmMR), col, nv, strips, flags)
			ir += (gemvPanels - 2) * gemmMR // the loop adds the other 2
			continue
		}
		// Edge tile (or one spanning two images): compute into tile, then keep mv×nv.
		if flags&gemmAccumulate != 0 {
			g.tileCopy(true, ir, mv, col, nv, tile[:], gemmBufNR)
		}
		if nv <= 8 && g.isa != isaAVX512 {
			// A last strip of at most 8 columns (N = 289 ends in 1): the 6×8
			// kernel per panel does half the FMAs of a 12×16 tile.
			for q := 0; q < np; q++ {
				g.isa.gemm6x8(kc, panels[q*gemmMR*kc:], strips, tile[q*gemmMR*gemmBufNR:], gemmBufNR, bias[q*gemmMR:], flags)
			}
		} else {
			g.isa.gemmWide(np, ns, kc, panels, strips, tile[:], gemmBufNR, bias, flags)
		}
		g.tileCopy(false, ir, mv, col, nv, tile[:], gemmBufNR)
	}
}

// quadTiles computes C rows i0..i1 and the 64 columns from col of one K block (packed A block
// ablk of kc rows, four packed B strips strips) with 6×64 tiles, one A panel each: 4 strip
// loads and 6 broadcasts feed 24 FMAs per k step, where a 12×32 tile needs 2 and 12. A last
// partial panel, or a tile spanning two images, is computed into a local 6×64 tile.
func (g *gemmPacked) quadTiles(i0, i1 int, ablk []float32, kc, col int, strips []float32, flags int, tile *[2 * gemmMR * gemmBufNR]float32, tbias *[2 * gemmMR]float32) {
	const nq = 2 * gemmBufNR
	for ir := i0; ir < i1; ir += gemmMR {
		panel := ablk[ir*kc : (ir+gemmMR)*kc]
		mv := min(gemmMR, g.m-ir)
		bias := zeroBias[:gemmMR]
		if g.bias != nil {
			if mv == gemmMR {
				bias = g.bias[ir : ir+gemmMR]
			} else {
				copy(tbias[:], g.bias[ir:g.m])
				bias = tbias[:gemmMR]
			}
		}
		// A last panel of 2 or 4 rows (M = 80, 128, 256, …) computes only those rows, straight to
		// C, instead of 6 rows into a local tile copied out. BenchmarkConv2D, 6 alternated
		// rounds, medians: irv2_conv2d_3b_1x1 (M = 80) 411 → 392 µs, irv1_block17_1x1
		// (M = 128) 407 → 400, irv1_conv2d_4b_3x3_s2 (M = 256) 6818 → 6674.
		if off, one := g.cAt(ir, col, nq); one && (mv == gemmMR || mv == 4 || mv == 2) {
			g.isa.gemm64(mv, kc, panel, strips, g.c[off:], g.ldc, bias, flags)
			continue
		}
		// The last, partial panel of 1, 3 or 5 rows, or a tile spanning two images: through a
		// local 6×64 tile.
		if flags&gemmAccumulate != 0 {
			g.tileCopy(true, ir, mv, col, nq, tile[:], nq)
		}
		g.isa.gemm64(gemmMR, kc, panel, strips, tile[:], nq, bias, flags)
		g.tileCopy(false, ir, mv, col, nq, tile[:], nq)
	}
}

// gemvMaxCols is the widest last strip runWide computes a column at a time (gemvEdge):
// per 48 rows and k step, gemvF32_48AVX512 takes ~4 cycles a column against ~32 for the
// 6×8 kernels on 12-row tiles. But each column streams the A block once more, where a 12×16
// tile (AVX-512, wider strips) streams it once for all: with 4 columns (v2's 14×14 stacked
// heads, N = 196) the gemv took 21% of the layer, and 12×16 tiles take it from 486–501 to
// 450–454 µs; with one (N = 289, 17×17) the gemv stays 3–5% faster.
const gemvMaxCols = 2

// gemvPanels is the A panels gemvF32_48AVX512 takes at once.
const gemvPanels = 8

// gemvEdge computes C rows ir..i1-1 (at most 8 panels, ir a multiple of 6) over columns
// col..col+nv-1 of the K block of kc rows whose packed A is ablk and packed B strips is
// strips, one gemv48 per column, then the micro-kernels' epilogue (bias or accumulate,
// ReLU) row by row: the same operations on each element, hence the same bits.
func (g *gemmPacked) gemvEdge(ablk []float32, kc, ir, i1, col, nv int, strips []float32, flags int) {
	var acc [gemvPanels * gemmMR]float32
	np := (i1 - ir + gemmMR - 1) / gemmMR
	rows := min(i1, g.m) - ir
	for j := 0; j < nv; j++ {
		g.isa.gemv48(kc, ablk[ir*kc:(ir+np*gemmMR)*kc], np, strips[j:], acc[:])
		off, _ := g.cAt(ir, col+j, 1)
		for r := 0; r < rows; r++ {
			v := acc[r]
			c := &g.c[off+r*g.ldc]
			if flags&gemmAccumulate != 0 {
				if flags&gemmAddBias != 0 {
					v += g.bias[ir+r]
				}
				v += *c
			} else if g.bias != nil {
				v += g.bias[ir+r]
			} else {
				v += zeroBias[0] // as the kernels add zeroBias: -0 becomes +0
			}
			if flags&gemmReLU != 0 && 0 > v {
				v = 0 // as VMAXPS(acc, 0) in the kernels: NaN and -0 stay
			}
			*c = v
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
// Only the m×n window of c is written. A is packed 6 rows at a time and B 16 columns at a
// time into buffers on the stack (38 KiB).
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemm(m, n, k, a, lda, b, ldb, c, ldc, accumulate, gemmActive)
}

// sgemm is Sgemm with the kernels to use. It packs one A panel (6 rows of a K block) at a
// time and runs it against every strip of B, so B strips are repacked for every panel:
// Sgemm is not on the inference path, the convolutions are.
func sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, impl isa) {
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
	var abuf [gemmMR * gemmKC]float32
	var bbuf [gemmKC * gemmBufNR]float32
	src := bSource{t: b, kh: 1, kw: 1, sh: 1, sw: 1, plane: ldb, ow: ldb}
	// One gemmPacked per panel: a is the panel alone (m rows of it), c starts at its first row.
	for i0 := 0; i0 < m; i0 += gemmMR {
		mv := min(gemmMR, m-i0)
		for k0 := 0; k0 < k; k0 += gemmKC {
			kc := min(gemmKC, k-k0)
			packA(mv, kc, a[i0*lda+k0:], lda, abuf[:])
			g := gemmPacked{m: mv, n: n, k: kc, a: abuf[:], src: src, c: c[i0*ldc:], ldc: ldc,
				accumulate: accumulate || k0 > 0, isa: impl}
			g.src.t = b[k0*ldb:]
			g.run(0, mv, 0, n, bbuf[:])
		}
	}
}
