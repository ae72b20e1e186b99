//go:build amd64 && !purego

package kernels

//go:generate go run -C _asm . -out ../gemm_amd64.s

// avx2Kernels enables the AVX2+FMA kernels: the CPU has them and INCEPTION_KERNELS is not
// "generic".
var avx2Kernels = useAVX2 && !forceGeneric

// avx512Kernels enables the AVX-512F micro-kernels: the CPU has them and INCEPTION_KERNELS is
// neither "generic" nor "avx2". The rest of the GEMM engine (B packing, unzip2, Winograd
// transforms) stays AVX2 with them.
var avx512Kernels = useAVX512 && !forceGeneric && !forceAVX2

// archKernels lists the assembly kernels, widest ISA first, ahead of the portable ones in
// kernelTable.
var archKernels = []kernelEntry{
	{op: "gemm", name: "gemmF32_12x32AVX512", available: &avx512Kernels, fn: isaAVX512},
	{op: "gemv", name: "gemvF32_48AVX512", available: &avx512Kernels, fn: isaAVX512},
	{op: "fmapeak", name: "fmaPeakF32AVX512", available: &avx512Kernels, fn: fmaPeakFunc(fmaPeakF32AVX512Flops)},
	{op: "gemm", name: "gemmF32_6x16AVX2", available: &avx2Kernels, fn: isaAVX2},
	{op: "packb", name: "packB16F32AVX2", available: &avx2Kernels, fn: isaAVX2},
	{op: "packmasked", name: "packB32MaskedF32AVX512", available: &avx512Kernels, fn: isaAVX512},
	{op: "packs2", name: "packB16S2F32AVX512", available: &avx512Kernels, fn: isaAVX512},
	{op: "unzip2", name: "unzip2F32AVX2", available: &avx2Kernels, fn: isaAVX2},
	{op: "wino23", name: "wino23F32AVX2", available: &avx2Kernels, fn: isaAVX2},
	{op: "wino43", name: "wino43F32AVX2", available: &avx2Kernels, fn: isaAVX2},
	{op: "wino27", name: "wino27F32AVX2", available: &avx2Kernels, fn: isaAVX2},
	{op: "wino25", name: "wino25F32AVX2", available: &avx2Kernels, fn: isaAVX2},
	{op: "fmapeak", name: "fmaPeakF32AVX2", available: &avx2Kernels, fn: fmaPeakFunc(fmaPeakF32AVX2Flops)},
	{op: "maxpool", name: "maxPool2DF32AVX2", available: &avx2Kernels, fn: poolFunc(maxPool2DF32AVX2)},
	{op: "avgpool", name: "avgPool2DF32AVX2", available: &avx2Kernels, fn: avgPoolFunc(avgPool2DF32AVX2)},
	{op: "addscaled", name: "addScaledF32AVX2", available: &avx2Kernels, fn: addScaledF32AVX2},
	{op: "dot", name: "dotF32AVX2", available: &avx2Kernels, fn: dotF32AVX2},
}

// gemm6x16 computes a 6×16 tile of C: see gemmF32_6x16Generic.
func (k isa) gemm6x16(kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	if k != isaGeneric {
		gemmF32_6x16AVX2(kc, a, b, c, ldc, bias, flags)
		return
	}
	gemmF32_6x16Generic(kc, a, b, c, ldc, bias, flags)
}

// gemmWide computes a (6*np)×(16*ns) tile of C (np, ns <= 2) from np consecutive packed A
// panels and ns consecutive packed B strips: see gemmTiles6x16.
func (k isa) gemmWide(np, ns, kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	if k == isaAVX512 {
		switch np<<2 | ns {
		case 2<<2 | 2:
			gemmF32_12x32AVX512(kc, a, b, c, ldc, bias, flags)
			return
		case 2<<2 | 1:
			gemmF32_12x16AVX512(kc, a, b, c, ldc, bias, flags)
			return
		case 1<<2 | 2:
			gemmF32_6x32AVX512(kc, a, b, c, ldc, bias, flags)
			return
		}
	}
	k.gemmTiles6x16(np, ns, kc, a, b, c, ldc, bias, flags)
}

// gemm64 computes the first mr (6, 4 or 2) rows of a 6×64 tile of C from one packed A panel
// and four consecutive packed B strips (AVX-512 only): see gemmF32_6x64AVX512 and
// gemmF32_4x64AVX512.
func (k isa) gemm64(mr, kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	if k != isaAVX512 {
		panic("kernels: 6×64 tiles need AVX-512")
	}
	switch mr {
	case gemmMR:
		gemmF32_6x64AVX512(kc, a, b, c, ldc, bias, flags)
	case 4:
		gemmF32_4x64AVX512(kc, a, b, c, ldc, bias, flags)
	case 2:
		gemmF32_2x64AVX512(kc, a, b, c, ldc, bias, flags)
	default:
		panic("kernels: 6×64 tiles take 6, 4 or 2 rows")
	}
}

// gemv48 computes one column of up to 8 A panels: see gemvF32_48Generic.
func (k isa) gemv48(kc int, a []float32, np int, b, out []float32) {
	if k == isaAVX512 {
		gemvF32_48AVX512(kc, a, np, b, out)
		return
	}
	gemvF32_48Generic(kc, a, np, b, out)
}

// gemm6x8 computes a 6×8 tile of C: see gemmF32_6x8Generic.
func (k isa) gemm6x8(kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	if k != isaGeneric {
		gemmF32_6x8AVX2(kc, a, b, c, ldc, bias, flags)
		return
	}
	gemmF32_6x8Generic(kc, a, b, c, ldc, bias, flags)
}

// packContig packs kc rows of a B strip of consecutive columns: see packB16ContigF32Generic.
func (k isa) packContig(kc int, t []float32, koff []int, d int, dst []float32) {
	if k != isaGeneric {
		packB16ContigF32AVX2(kc, t, koff, d, dst)
		return
	}
	packB16ContigF32Generic(kc, t, koff, d, dst)
}

// packSegs packs kc rows of a B strip made of runs: see packB16SegsF32Generic.
func (k isa) packSegs(kc int, t []float32, koff []int, segs []packSeg, dst []float32) {
	if k != isaGeneric {
		packB16SegsF32AVX2(kc, t, koff, segs, dst)
		return
	}
	packB16SegsF32Generic(kc, t, koff, segs, dst)
}

// packMasked packs kc rows of a pair of B strips with masked loads: see
// packB32MaskedF32Generic.
func (k isa) packMasked(kc int, t []float32, koff []int, d0, d1 int, masks []uint16, nr, r0 int, dst []float32) {
	if k == isaAVX512 {
		packB32MaskedF32AVX512(kc, t, koff, d0, d1, masks, nr, r0, dst)
		return
	}
	packB32MaskedF32Generic(kc, t, koff, d0, d1, masks, nr, r0, dst)
}

// packS2 packs kc rows of a B strip of a stride-2 source: see packB16S2F32Generic.
func (k isa) packS2(kc int, t []float32, koff []int, segs []s2Seg, dst []float32) {
	if k == isaAVX512 {
		packB16S2F32AVX512(kc, t, koff, segs, dst)
		return
	}
	packB16S2F32Generic(kc, t, koff, segs, dst)
}

// unzip2 splits pairs into even and odd elements: see unzip2F32Generic.
func (k isa) unzip2(even, odd, src []float32) {
	if k != isaGeneric {
		unzip2F32AVX2(even, odd, src)
		return
	}
	unzip2F32Generic(even, odd, src)
}

// wino23Input computes a row of Winograd input transforms: see wino23InputF32Generic.
func (k isa) wino23Input(src []float32, wp int, dst []float32, ve, n int) {
	if k != isaGeneric {
		wino23InputF32AVX2(src, wp, dst, ve, n)
		return
	}
	wino23InputF32Generic(src, wp, dst, ve, n)
}

// wino23Output computes a row of Winograd output transforms: see wino23OutputF32Generic.
func (k isa) wino23Output(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	if k != isaGeneric {
		wino23OutputF32AVX2(m, me, out, ldo, ncols, nrows, bias, relu)
		return
	}
	wino23OutputF32Generic(m, me, out, ldo, ncols, nrows, bias, relu)
}

// wino43Input computes a row of F(4×4, 3×3) input transforms: see wino43InputF32Generic.
func (k isa) wino43Input(src []float32, wp int, dst []float32, ve, n int) {
	if k != isaGeneric {
		_ = src[5*wp+4*((n+3)/4*4)+3]
		_ = dst[35*ve+(n+3)/4*4-1]
		wino43InputF32AVX2(src, wp, dst, ve, n)
		return
	}
	wino43InputF32Generic(src, wp, dst, ve, n)
}

// wino43Output computes a row of F(4×4, 3×3) output transforms: see wino43OutputF32Generic.
func (k isa) wino43Output(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	if k == isaGeneric {
		wino43OutputF32Generic(m, me, out, ldo, ncols, nrows, bias, relu)
		return
	}
	_ = m[35*me+(ncols+15)/16*4-1]
	_ = out[(nrows-1)*ldo+ncols-1]
	wino43OutputF32AVX2(m, me, out, ldo, ncols, nrows, bias, relu)
}

// gemmF32_6x16AVX2 computes one 6×16 tile of C over a kc-long stretch of K, holding the
// tile in 12 ymm accumulators (2 B vectors and 1 broadcast A value per row and k step):
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 16; j++ {
//			var acc float32
//			for p := 0; p < kc; p++ {
//				acc = fma(a[p*6+i], b[p*16+j], acc)
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
//				c[i*ldc+j] = max(c[i*ldc+j], 0) // NaN stays NaN
//			}
//		}
//	}
//
// a: packed kc×6 A panel; b: packed kc×16 B strip; c: len >= 5*ldc+16; bias: len >= 6 (read
// unless accumulating without gemmAddBias). Lengths are not checked: the caller (gemmPacked.run) guarantees them.
//
//go:noescape
func gemmF32_6x16AVX2(kc int, a, b, c []float32, ldc int, bias []float32, flags int)

// gemmF32_6x8AVX2 computes one 6×8 tile of C as gemmF32_6x16AVX2 does a 6×16 one (6
// accumulators), from a packed kc×16 B strip of which only columns 0..7 are read:
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 8; j++ {
//			var acc float32
//			for p := 0; p < kc; p++ {
//				acc = fma(a[p*6+i], b[p*16+j], acc)
//			}
//			… stored as by gemmF32_6x16AVX2
//
// It serves the last strip of N when it holds at most 8 columns. c: len >= 5*ldc+8.
//
//go:noescape
func gemmF32_6x8AVX2(kc int, a, b, c []float32, ldc int, bias []float32, flags int)

// packB16ContigF32AVX2 packs kc rows of a B strip of 16 consecutive columns, two ymm
// loads and stores per row:
//
//	for p := 0; p < kc; p++ {
//		for j := 0; j < 16; j++ {
//			dst[p*16+j] = t[koff[p]+d+j]
//		}
//	}
//
// Lengths are not checked: the caller (bSource.pack) guarantees koff[p]+d+16 <= len(t).
//
//go:noescape
func packB16ContigF32AVX2(kc int, t []float32, koff []int, d int, dst []float32)

// packB16SegsF32AVX2 packs kc rows of a B strip made of runs, one masked load (VMASKMOVPS,
// which does not touch masked-out elements) per run and half row, ORed together:
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
// len(segs) >= 1; the runs are disjoint and in bounds of t.
//
//go:noescape
func packB16SegsF32AVX2(kc int, t []float32, koff []int, segs []packSeg, dst []float32)

// packB32MaskedF32AVX512 packs kc rows of a pair of 16-column B strips, each half row one
// zero-masked zmm load (AVX-512 masked loads do not touch, nor fault on, masked-out
// elements) merged with a masked load for the second run:
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
//
// Lengths are not checked: the caller (bSource.packMasked) guarantees that every unmasked
// element is in bounds of t, len(masks) is 2*nr (one run) or 4*nr, r0 < nr, len(dst) >= 32*kc.
//
//go:noescape
func packB32MaskedF32AVX512(kc int, t []float32, koff []int, d0, d1 int, masks []uint16, nr, r0 int, dst []float32)

// packB16S2F32AVX512 packs kc rows of a B strip of a stride-2 source (packB16S2F32Generic):
// for each run, two zero-masked loads of t[koff[p]+sg.d:] and 16 on under m0 and m1 (masked-out
// elements are neither read nor faulted on), VPERMT2PS gathering the even elements, merged
// into the row under lanes. The caller (bSource.pack) guarantees len(segs) >= 1, that every
// element under the masks is in bounds of t, and len(dst) >= 16*kc.
//
//go:noescape
func packB16S2F32AVX512(kc int, t []float32, koff []int, segs []s2Seg, dst []float32)

// unzip2F32AVX2 splits pairs into even and odd elements, 8 pairs at a time (two loads,
// VSHUFPS and VPERMPD for each half, two stores):
//
//	for j := range even {
//		even[j] = src[2*j]
//		odd[j] = src[2*j+1]
//	}
//
// Lengths are not checked: len(odd) >= len(even), len(src) >= 2*len(even).
//
//go:noescape
func unzip2F32AVX2(even, odd, src []float32)

// wino23InputF32AVX2 computes the Winograd F(2×2, 3×3) input transforms of tiles 0..n-1 of
// a row, rounded up to a multiple of 4, 8 tiles per step and a last one of 4 (xmm) when that
// covers the row: per input row, two deinterleaves (VSHUFPS, and VPERMPD for 8) give the
// tiles' 4 columns, then 16 adds make V:
//
//	… the loop of wino23InputF32Generic
//
// Lengths are not checked: src holds 4 rows of wp >= 2*(n+3)/4*4+2 floats, dst 15*ve+(n+3)/4*4.
//
//go:noescape
func wino23InputF32AVX2(src []float32, wp int, dst []float32, ve, n int)

// wino23OutputF32AVX2 computes the Winograd F(2×2, 3×3) output transforms of a row of tiles,
// 8 tiles (16 output columns) per step and a last one of 4 (xmm) when that covers the row,
// bias and ReLU included; the last step's stores are masked (VMASKMOVPS) to columns < ncols:
//
//	… the loop of wino23OutputF32Generic
//
// Lengths are not checked: m holds 15*me+(ncols+7)/8*4 floats, out (nrows-1)*ldo+ncols.
//
//go:noescape
func wino23OutputF32AVX2(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool)

// wino43InputF32AVX2 computes the Winograd F(4×4, 3×3) input transforms of tiles 0..n-1 of
// a row, rounded up to a multiple of 4, 8 tiles per step and a last one of 4 (xmm) when that
// covers the row: per input row, 128-bit loads and an in-lane transpose (VUNPCKLPS,
// VUNPCKLPD) give the tiles' 6 columns, the row transforms go to dst and come back for the
// column transforms:
//
//	… the loop of wino43InputF32Generic
//
// Lengths are not checked: src holds 6 rows of wp >= 4*(n+3)/4*4+4 floats, dst 35*ve+(n+3)/4*4.
//
//go:noescape
func wino43InputF32AVX2(src []float32, wp int, dst []float32, ve, n int)

// wino43OutputF32AVX2 computes the Winograd F(4×4, 3×3) output transforms of a row of
// tiles, 8 tiles (32 output columns) per step and a last one of 4 (xmm) when that covers the
// row, bias and ReLU included; steps that do not fit in columns < ncols and rows < nrows
// (nrows <= 4) store masked (VMASKMOVPS):
//
//	… the loop of wino43OutputF32Generic
//
// Lengths are not checked: m holds 35*me+(ncols+15)/16*4 floats, out (nrows-1)*ldo+ncols.
//
//go:noescape
func wino43OutputF32AVX2(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool)

// fmaPeakF32AVX2 runs a register-only loop of FMAs:
//
//	for range n {
//		for i := 0; i < 12; i++ {
//			acc[i] = fma(x, y, acc[i]) // 8-wide: VFMADD231PS on 12 independent ymm accumulators
//		}
//	}
//
// 12 chains cover the 4-cycle latency of two FMA pipes (8 in flight are needed).
//
//go:noescape
func fmaPeakF32AVX2(n int)

// fmaPeakF32AVX2Flops runs fmaPeakF32AVX2(n) and returns the flops done, 192 per iteration.
func fmaPeakF32AVX2Flops(n int) float64 {
	fmaPeakF32AVX2(n)
	return float64(n) * 12 * 8 * 2
}

// gemmF32_12x32AVX512 computes one 12×32 tile of C over a kc-long stretch of K from two
// packed A panels (rows 0..5 at a[0:6*kc], rows 6..11 at a[6*kc:12*kc]) and two packed B
// strips (columns 0..15 at b[0:16*kc], 16..31 at b[16*kc:32*kc]), holding the tile in 24
// zmm accumulators (2 B vectors and 1 broadcast A value per row and k step):
//
//	for i := 0; i < 12; i++ {
//		for j := 0; j < 32; j++ {
//			var acc float32
//			for p := 0; p < kc; p++ {
//				acc = fma(a[i/6*6*kc+p*6+i%6], b[j/16*16*kc+p*16+j%16], acc)
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
//				c[i*ldc+j] = max(c[i*ldc+j], 0) // NaN stays NaN
//			}
//		}
//	}
//
// Each element gets the FMAs of gemmF32_6x16AVX2, in the same order: the bits are the same.
// c: len >= 11*ldc+32; bias: len >= 12 (read unless accumulating
// without gemmAddBias). Lengths are not checked:
// the caller (gemmPacked.runWide) guarantees them.
//
//go:noescape
func gemmF32_12x32AVX512(kc int, a, b, c []float32, ldc int, bias []float32, flags int)

// gemmF32_12x16AVX512 computes one 12×16 tile of C as gemmF32_12x32AVX512 does a 12×32 one,
// from one B strip (12 accumulators):
//
//	for i := 0; i < 12; i++ {
//		for j := 0; j < 16; j++ {
//			var acc float32
//			for p := 0; p < kc; p++ {
//				acc = fma(a[i/6*6*kc+p*6+i%6], b[p*16+j], acc)
//			}
//			… stored as by gemmF32_12x32AVX512
//
// c: len >= 11*ldc+16; bias: len >= 12.
//
//go:noescape
func gemmF32_12x16AVX512(kc int, a, b, c []float32, ldc int, bias []float32, flags int)

// gemmF32_6x32AVX512 computes one 6×32 tile of C as gemmF32_12x32AVX512 does a 12×32 one,
// from one A panel (12 accumulators):
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 32; j++ {
//			var acc float32
//			for p := 0; p < kc; p++ {
//				acc = fma(a[p*6+i], b[j/16*16*kc+p*16+j%16], acc)
//			}
//			… stored as by gemmF32_12x32AVX512
//
// c: len >= 5*ldc+32; bias: len >= 6.
//
//go:noescape
func gemmF32_6x32AVX512(kc int, a, b, c []float32, ldc int, bias []float32, flags int)

// gemmF32_6x64AVX512 computes one 6×64 tile of C as gemmF32_12x32AVX512 does a 12×32 one,
// from one A panel and four B strips (24 accumulators; 4 loads and 6 broadcasts per 24 FMAs,
// against 2 and 12):
//
//	for i := 0; i < 6; i++ {
//		for j := 0; j < 64; j++ {
//			var acc float32
//			for p := 0; p < kc; p++ {
//				acc = fma(a[p*6+i], b[j/16*16*kc+p*16+j%16], acc)
//			}
//			… stored as by gemmF32_12x32AVX512
//
// c: len >= 5*ldc+64; bias: len >= 6.
//
//go:noescape
func gemmF32_6x64AVX512(kc int, a, b, c []float32, ldc int, bias []float32, flags int)

// gemmF32_4x64AVX512 computes the first 4 rows of a 6×64 tile, as gemmF32_6x64AVX512 does all
// 6, from one packed A panel (its rows 4 and 5, zero padding, unread) and four B strips: the
// last panel of an A whose rows leave 4 over (M = 256, 1792, 2080).
//
// c: len >= 3*ldc+64; bias: len >= 4.
//
//go:noescape
func gemmF32_4x64AVX512(kc int, a, b, c []float32, ldc int, bias []float32, flags int)

// gemmF32_2x64AVX512 is gemmF32_4x64AVX512 for a last panel of 2 rows (M = 80, 128, 320, 896,
// 1088).
//
// c: len >= ldc+64; bias: len >= 2.
//
//go:noescape
func gemmF32_2x64AVX512(kc int, a, b, c []float32, ldc int, bias []float32, flags int)

// gemvF32_48AVX512 computes one column of np <= 8 consecutive packed A panels (6*np rows)
// times a packed B strip's column 0, one zmm accumulator per panel (rows in lanes 0..5,
// loaded under a 6-lane mask, so nothing past a panel is read): eight independent FMA
// chains, where the 6×8 kernel keeps six per 6 rows and wastes 7 of its 8 columns on a
// last strip of one column (N = 289, v3's and IRv2's 17×17 layers):
//
//	for i := 0; i < 6*np; i++ {
//		var acc float32
//		for p := 0; p < kc; p++ {
//			acc = fma(a[i/6*6*kc+p*6+i%6], b[p*16], acc)
//		}
//		out[i] = acc
//	}
//
// Each element gets the FMAs of the 6×16 and 12×32 kernels in the same order; the caller
// (gemmPacked.runWide) applies the epilogue. out: len >= 48 (rows past 6*np get junk).
// Lengths are not checked.
//
//go:noescape
func gemvF32_48AVX512(kc int, a []float32, np int, b, out []float32)

// fmaPeakF32AVX512 runs a register-only loop of FMAs:
//
//	for range n {
//		for i := 0; i < 24; i++ {
//			acc[i] = fma(x, y, acc[i]) // 16-wide: VFMADD231PS on 24 independent zmm accumulators
//		}
//	}
//
//go:noescape
func fmaPeakF32AVX512(n int)

// fmaPeakF32AVX512Flops runs fmaPeakF32AVX512(n) and returns the flops done, 768 per iteration.
func fmaPeakF32AVX512Flops(n int) float64 {
	fmaPeakF32AVX512(n)
	return float64(n) * 24 * 16 * 2
}

// maxRowF32AVX2 takes the elementwise maximum of a row of pooling maxima and an input row,
// with Go's max semantics (NaN wins, max(-0, +0) = +0), 8 at a time:
//
//	for i := range d {
//		d[i] = max(d[i], r[i])
//	}
//
// Lengths are not checked: len(d) is a multiple of 8 (the rest is not done), len(r) >= len(d).
//
//go:noescape
func maxRowF32AVX2(d, r []float32)

// maxRowS2F32AVX2 is maxRowF32AVX2 over every other input element (stride-2 windows):
//
//	for i := range d {
//		d[i] = max(d[i], r[2*i])
//	}
//
// Lengths are not checked: len(d) is a multiple of 8, len(r) >= 2*len(d).
//
//go:noescape
func maxRowS2F32AVX2(d, r []float32)

// addRowF32AVX2 adds an input row to a row of pooling sums, 8 at a time:
//
//	for i := range d {
//		d[i] += r[i]
//	}
//
// Lengths are not checked: len(d) is a multiple of 8, len(r) >= len(d).
//
//go:noescape
func addRowF32AVX2(d, r []float32)

// addRowS2F32AVX2 is addRowF32AVX2 over every other input element (stride-2 windows):
//
//	for i := range d {
//		d[i] += r[2*i]
//	}
//
// Lengths are not checked: len(d) is a multiple of 8, len(r) >= 2*len(d).
//
//go:noescape
func addRowS2F32AVX2(d, r []float32)

// maxRows3F32AVX2 computes an output row of a 3-wide stride-1 max pool over nrows (1..3)
// padded input rows, 8 outputs at a time, with Go's max semantics (NaN wins, as the
// canonical quiet NaN; max(-0, +0) = +0):
//
//	for i := range d {
//		for iy, r := range [][]float32{r0, r1, r2}[:nrows] {
//			for kx := 0; kx < 3; kx++ {
//				d[i] = max(d[i], r[i+kx])
//			}
//		}
//	}
//
// Lengths are not checked: len(d) is a multiple of 8 (the rest is not done), and the first
// nrows rows hold len(d)+2 values.
//
//go:noescape
func maxRows3F32AVX2(d, r0, r1, r2 []float32, nrows int)

// maxRows3FastF32AVX2 is maxRows3F32AVX2 with 3 rows for inputs without NaN (d's values
// included): a plain VMAXPS chain, and the sign of a zero maximum set from the AND of the
// terms (all <= 0 then, so it is -0 only when none is +0), which gives Go's max(-0, +0) =
// +0; about half the operations of the NaN-exact kernel. Lengths as for maxRows3F32AVX2.
//
//go:noescape
func maxRows3FastF32AVX2(d, r0, r1, r2 []float32)

// maxRows3FastS2F32AVX2 is maxRows3FastF32AVX2 for stride 2. Lengths as for
// maxRows3S2F32AVX2.
//
//go:noescape
func maxRows3FastS2F32AVX2(d, r0, r1, r2 []float32)

// anyNaNF32AVX2 reports whether any of x[:len(x)/8*8] is a NaN.
//
//go:noescape
func anyNaNF32AVX2(x []float32) bool

// maxRows3S2F32AVX2 is maxRows3F32AVX2 for stride 2 (d[i] = max(d[i], r[2*i+kx])).
// Lengths are not checked: len(d) is a multiple of 8, the rows hold 2*len(d)+18 values
// (a step loads 16 from each kx).
//
//go:noescape
func maxRows3S2F32AVX2(d, r0, r1, r2 []float32, nrows int)

// addRows3F32AVX2 computes an output row of a 3-wide stride-1 sum pool over nrows (1..3)
// padded input rows, 8 outputs at a time, adding in the order of the loop:
//
//	for i := range d {
//		for iy, r := range [][]float32{r0, r1, r2}[:nrows] {
//			for kx := 0; kx < 3; kx++ {
//				d[i] += r[i+kx]
//			}
//		}
//	}
//
// Lengths are not checked, as for maxRows3F32AVX2.
//
//go:noescape
func addRows3F32AVX2(d, r0, r1, r2 []float32, nrows int)

// addRows3S2F32AVX2 is addRows3F32AVX2 for stride 2 (d[i] += r[2*i+kx]). Lengths are not
// checked, as for maxRows3S2F32AVX2.
//
//go:noescape
func addRows3S2F32AVX2(d, r0, r1, r2 []float32, nrows int)

// divRowF32AVX2 divides a row of pooling sums by their divisors, 8 at a time (VDIVPS is
// correctly rounded, as the scalar division):
//
//	for i := range d {
//		d[i] /= r[i]
//	}
//
// Lengths are not checked: len(d) is a multiple of 8, len(r) >= len(d).
//
//go:noescape
func divRowF32AVX2(d, r []float32)

// copyRowsF32AVX2 copies rows rows of cols floats from src to dst:
//
//	for r := 0; r < rows; r++ {
//		copy(dst[r*dstStride:r*dstStride+cols], src[r*srcStride:r*srcStride+cols])
//	}
//
// in one call instead of one memmove per row (poolPlane copies thousands of rows of 8–35
// floats per layer). Lengths are not checked: the caller guarantees the rows are inside dst
// and src; masked loads and stores touch nothing past a row's cols floats.
//
//go:noescape
func copyRowsF32AVX2(dst []float32, dstStride int, src []float32, srcStride int, rows, cols int)

// maxPool3x3S2F32AVX2 computes rows output rows of 3×3 stride-2 maxima in each of planes
// planes, reading the input in place, with VMAXPS, and reports whether they may differ from
// this loop's (with Go's max):
//
//	for p := 0; p < planes; p++ {
//		for j := 0; j < rows; j++ {
//			r := r[p*rp+j*rs:]
//			y2 := o2
//			if clip && j == rows-1 {
//				y2 = o1 // the last window has 2 rows
//			}
//			for i := 0; i < n; i++ {
//				m := float32(math.Inf(-1))
//				for _, y := range []int{0, o1, y2} {
//					for kx := 0; kx < 3; kx++ {
//						if !(edge && i == n-1 && kx == 2) { // the last window has 2 columns
//							m = max(m, r[y+2*i+kx])
//						}
//					}
//				}
//				d[p*dp+j*ds+i] = m
//			}
//		}
//	}
//
// It reports true when the values read hold a NaN (which VMAXPS may drop) or a result is -0
// (which a +0 may tie). Lengths are not checked: n >= 4; each row holds the 2n+1 values read
// (2n with edge), and nothing past them is read.
//
//go:noescape
func maxPool3x3S2F32AVX2(d []float32, ds, dp int, r []float32, o1, o2, rs, rp, planes, rows, n int, edge, clip bool) bool

// addScaledF32AVX2 is addScaledF32Generic with the multiples of 8 done by
// addScaledRowF32AVX2, bit for bit (the same two roundings per element, Go's max).
func addScaledF32AVX2(out, x, y []float32, scale float32, relu bool) {
	x, y = x[:len(out)], y[:len(out)]
	n := len(out) &^ 7
	addScaledRowF32AVX2(out[:n], x[:n], y[:n], scale, relu)
	addScaledF32Generic(out[n:], x[n:], y[n:], scale, relu)
}

// addScaledRowF32AVX2 computes a residual sum, 8 at a time, with a multiply then an add
// (two roundings, never an FMA) and Go's max (NaN wins, max(-0, 0) = +0):
//
//	for i := range out {
//		v := x[i] + float32(scale*y[i])
//		if relu {
//			v = max(v, 0)
//		}
//		out[i] = v
//	}
//
// Lengths are not checked: len(out) is a multiple of 8 (the rest is not done), len(x) and
// len(y) >= len(out). out may alias x or y.
//
//go:noescape
func addScaledRowF32AVX2(out, x, y []float32, scale float32, relu bool)

// dotF32AVX2 returns the dot product of a and b[:len(a)] with four 8-wide FMA accumulators
// (32 products per step), summed pairwise, then halved down to one lane, plus the tail's
// FMAs in a scalar:
//
//	var acc [32]float32
//	i := 0
//	for ; i+32 <= len(a); i += 32 {
//		for j := range acc {
//			acc[j] = fma(a[i+j], b[i+j], acc[j])
//		}
//	}
//	var v [8]float32
//	for j := range v {
//		v[j] = (acc[j] + acc[8+j]) + (acc[16+j] + acc[24+j])
//	}
//	s := ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]))
//	var t float32
//	for ; i < len(a); i++ {
//		t = fma(a[i], b[i], t)
//	}
//	return s + t
//
// For Linear: the layer's 8 MB of v3 weights stream through it once per image (the scalar
// loop took 1.5% of a v3 forward pass). Lengths are not checked: len(b) >= len(a).
//
//go:noescape
func dotF32AVX2(a, b []float32) float32
