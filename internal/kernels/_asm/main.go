// Command _asm generates gemm_amd64.s, the AVX2+FMA and AVX-512 kernels of package kernels:
//
//	cd internal/kernels/_asm && go run . -out ../gemm_amd64.s
//
// It lives in its own module so that the main module does not depend on avo.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// stripNR is the width of a packed B strip (gemmNR): kernels narrower than 16 columns read
// the first columns of each strip row.
const stripNR = 16

// unrollK is the k-loop unrolling of the micro-kernels: 2, 4 and 8 measure the same; 4 keeps
// the loop overhead (pointer bumps, counter) under 10% of the issue slots.
const unrollK = 4

// prefetchA enables the AVX-512 kernels' prefetch of the next tile's A panels.
const prefetchA = true

// prefetchB enables the B packers' prefetch of the next strip pair's rows.
const prefetchB = true

func main() {
	ConstraintExpr("!purego")
	gemmKernel(6, 2, unrollK)
	gemmKernel(6, 1, unrollK)
	packContig()
	packSegs()
	packMasked512()
	packS2512()
	unzip2()
	wino23Input()
	wino23Output()
	wino43Input()
	wino43Output()
	wino27Input()
	wino27Output(false)
	wino27Output(true)
	wino27Split()
	wino25Input()
	wino25Output()
	fmaPeak()
	gemmKernel512(12, 2, unrollK)
	gemmKernel512(12, 1, unrollK)
	gemmKernel512(6, 2, unrollK)
	gemmKernel512(6, 4, unrollK)
	gemmKernel512(4, 4, unrollK)
	gemmKernel512(2, 4, unrollK)
	gemv512()
	fmaPeak512()
	poolRow("maxRowF32AVX2", 1, maxExact)
	poolRow("maxRowS2F32AVX2", 2, maxExact)
	poolRow("addRowF32AVX2", 1, addPS)
	poolRow("addRowS2F32AVX2", 2, addPS)
	poolRows3("maxRows3F32AVX2", 1, true)
	poolRows3("maxRows3S2F32AVX2", 2, true)
	maxRows3Fast("maxRows3FastF32AVX2", 1)
	maxRows3Fast("maxRows3FastS2F32AVX2", 2)
	anyNaN()
	poolRows3("addRows3F32AVX2", 1, false)
	poolRows3("addRows3S2F32AVX2", 2, false)
	poolRow("divRowF32AVX2", 1, divPS)
	copyRows()
	maxPool3x3S2()
	addScaledRow()
	dot()
	Generate()
}

// gemmKernel emits gemmF32_<mr>x<8*nv>AVX2, the register-tiled GEMM micro-kernel: mr rows of
// packed A (broadcast) times nv ymm vectors of packed B, mr*nv accumulators, the k loop
// unrolled unroll times. See the Go stub for the reference loop.
func gemmKernel(mr, nv, unroll int) {
	nr := 8 * nv
	name := fmt.Sprintf("gemmF32_%dx%dAVX2", mr, nr)
	TEXT(name, NOSPLIT, "func(kc int, a, b, c []float32, ldc int, bias []float32, flags int)")
	Doc(fmt.Sprintf("%s computes one %d×%d tile of C: see the Go declaration for the reference loop.", name, mr, nr))
	if mr*nv+nv+1 > 16 {
		panic("too many ymm registers")
	}
	acc := func(i, v int) VecPhysical { return yreg(i*nv + v) }
	bv := func(v int) VecPhysical { return yreg(mr*nv + v) }
	av := yreg(15)

	kc, a, b, c := RCX, RSI, RDI, RDX
	Load(Param("kc"), kc)
	Load(Param("a").Base(), a)
	Load(Param("b").Base(), b)
	Load(Param("c").Base(), c)

	// Prefetch the C tile: its rows are ldc apart, usually not in cache (with accumulation,
	// the epilogue would stall on them).
	ldc := R8
	Load(Param("ldc"), ldc)
	SHLQ(U8(2), ldc)
	bases := []GPPhysical{c}
	for i := 3; i < mr; i += 3 {
		nb := []GPPhysical{R9, R12}[len(bases)-1]
		LEAQ(Mem{Base: bases[len(bases)-1], Index: ldc, Scale: 2}, nb)
		ADDQ(ldc, nb)
		bases = append(bases, nb)
	}
	for i := 0; i < mr; i++ {
		PREFETCHT0(rowMem(bases, ldc, i))
		PREFETCHT0(rowMem(bases, ldc, i).Offset(4*nr - 4))
	}
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			VXORPS(acc(i, v), acc(i, v), acc(i, v))
		}
	}
	step := func(u int) {
		for v := 0; v < nv; v++ {
			VMOVUPS(Mem{Base: b, Disp: 4 * (u*stripNR + 8*v)}, bv(v))
		}
		for i := 0; i < mr; i++ {
			VBROADCASTSS(Mem{Base: a, Disp: 4 * (u*mr + i)}, av)
			for v := 0; v < nv; v++ {
				VFMADD231PS(bv(v), av, acc(i, v))
			}
		}
	}
	n := RAX
	MOVQ(kc, n)
	SHRQ(U8(log2(unroll)), n)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	for u := 0; u < unroll; u++ {
		step(u)
	}
	ADDQ(U32(4*unroll*mr), a)
	ADDQ(U32(4*unroll*stripNR), b)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_tail")
	ANDQ(U32(unroll-1), kc)
	JZ(LabelRef(name + "_epilogue"))
	Label(name + "_tailloop")
	step(0)
	ADDQ(U32(4*mr), a)
	ADDQ(U32(4*stripNR), b)
	DECQ(kc)
	JNZ(LabelRef(name + "_tailloop"))

	Label(name + "_epilogue")
	flags := R10
	Load(Param("flags"), flags)
	addBias := func() {
		bias := R11
		Load(Param("bias").Base(), bias)
		for i := 0; i < mr; i++ {
			VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, av)
			for v := 0; v < nv; v++ {
				VADDPS(av, acc(i, v), acc(i, v))
			}
		}
	}
	epilogueAdds(name, flags, addBias, func() {
		for i := 0; i < mr; i++ {
			for v := 0; v < nv; v++ {
				VADDPS(rowMem(bases, ldc, i).Offset(32*v), acc(i, v), acc(i, v))
			}
		}
	})
	TESTQ(U32(2), flags)
	JZ(LabelRef(name + "_store"))
	VXORPS(av, av, av)
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			// acc first: MAXPS returns its second (Intel) source when either is NaN, so NaN propagates.
			VMAXPS(acc(i, v), av, acc(i, v))
		}
	}
	Label(name + "_store")
	for i := 0; i < mr; i++ {
		for v := 0; v < nv; v++ {
			VMOVUPS(acc(i, v), rowMem(bases, ldc, i).Offset(32*v))
		}
	}
	VZEROUPPER()
	RET()
}

// epilogueAdds emits the additions of a micro-kernel's epilogue, then the label name_relu:
// the bias (addBias) without gemmAccumulate (flags bit 0); with it, the C tile (addC),
// after the bias when gemmAddBias (bit 2) is set too. flags holds the flags.
func epilogueAdds(name string, flags GPPhysical, addBias, addC func()) {
	TESTQ(U32(1), flags)
	JZ(LabelRef(name + "_bias"))
	TESTQ(U32(4), flags)
	JZ(LabelRef(name + "_addc"))
	addBias()
	Label(name + "_addc")
	addC()
	JMP(LabelRef(name + "_relu"))
	Label(name + "_bias")
	addBias()
	Label(name + "_relu")
}

// rowMem addresses row i of rows ldc bytes apart (C's rows, Winograd planes): bases[i/3] +
// (i%3)*ldc, bases[g] pointing at row 3g.
func rowMem(bases []GPPhysical, ldc GPPhysical, i int) Mem {
	base := bases[i/3]
	if i%3 == 0 {
		return Mem{Base: base}
	}
	return Mem{Base: base, Index: ldc, Scale: uint8(i % 3)}
}

// packContig emits packB16ContigF32AVX2: per row p, 16 floats from t[koff[p]+d:].
func packContig() {
	TEXT("packB16ContigF32AVX2", NOSPLIT, "func(kc int, t []float32, koff []int, d int, dst []float32)")
	Doc("packB16ContigF32AVX2 packs kc rows of a B strip of 16 consecutive columns: see the Go declaration.")
	kc, t, koff, d, dst := RCX, RSI, RBX, RAX, RDI
	Load(Param("kc"), kc)
	Load(Param("t").Base(), t)
	Load(Param("koff").Base(), koff)
	Load(Param("d"), d)
	Load(Param("dst").Base(), dst)
	LEAQ(Mem{Base: t, Index: d, Scale: 4}, t)
	TESTQ(kc, kc)
	JZ(LabelRef("packcontig_done"))
	Label("packcontig_loop")
	o := R8
	MOVQ(Mem{Base: koff}, o)
	VMOVUPS(Mem{Base: t, Index: o, Scale: 4}, Y0)
	VMOVUPS(Mem{Base: t, Index: o, Scale: 4, Disp: 32}, Y1)
	if prefetchB {
		// The same row of the strip 32 columns on, which the next strip pair packs.
		PREFETCHT0(Mem{Base: t, Index: o, Scale: 4, Disp: 4 * 2 * stripNR})
	}
	VMOVUPS(Y0, Mem{Base: dst})
	VMOVUPS(Y1, Mem{Base: dst, Disp: 32})
	ADDQ(U8(8), koff)
	ADDQ(U8(4*stripNR), dst)
	DECQ(kc)
	JNZ(LabelRef("packcontig_loop"))
	Label("packcontig_done")
	VZEROUPPER()
	RET()
}

// packSeg field offsets and size (Go struct packSeg{d, off, n int; mask [16]int32}).
const (
	segD    = 0
	segMask = 24
	segSize = 24 + 4*stripNR
)

// packSegs emits packB16SegsF32AVX2: per row p and run, two masked loads ORed into the row.
func packSegs() {
	// segs is a []packSeg in Go; only the slice header matters here.
	TEXT("packB16SegsF32AVX2", NOSPLIT, "func(kc int, t []float32, koff []int, segs []byte, dst []float32)")
	Doc("packB16SegsF32AVX2 packs kc rows of a B strip made of runs: see the Go declaration.")
	kc, t, koff, segs, nseg, dst := RCX, RSI, RBX, RDX, R9, RDI
	loadSegPackArgs(kc, t, koff, segs, nseg, dst)
	TESTQ(kc, kc)
	JZ(LabelRef("packsegs_done"))
	Label("packsegs_row")
	row, sg, n, d := R8, R10, R11, R12
	MOVQ(Mem{Base: koff}, row)
	LEAQ(Mem{Base: t, Index: row, Scale: 4}, row)
	VXORPS(Y0, Y0, Y0)
	VXORPS(Y1, Y1, Y1)
	MOVQ(segs, sg)
	MOVQ(nseg, n)
	Label("packsegs_seg")
	MOVQ(Mem{Base: sg, Disp: segD}, d)
	VMOVDQU(Mem{Base: sg, Disp: segMask}, Y2)
	VMOVDQU(Mem{Base: sg, Disp: segMask + 32}, Y3)
	VMASKMOVPS(Mem{Base: row, Index: d, Scale: 4}, Y2, Y4)
	VMASKMOVPS(Mem{Base: row, Index: d, Scale: 4, Disp: 32}, Y3, Y5)
	VORPS(Y4, Y0, Y0)
	VORPS(Y5, Y1, Y1)
	ADDQ(U8(segSize), sg)
	DECQ(n)
	JNZ(LabelRef("packsegs_seg"))
	VMOVUPS(Y0, Mem{Base: dst})
	VMOVUPS(Y1, Mem{Base: dst, Disp: 32})
	ADDQ(U8(8), koff)
	ADDQ(U8(4*stripNR), dst)
	DECQ(kc)
	JNZ(LabelRef("packsegs_row"))
	Label("packsegs_done")
	VZEROUPPER()
	RET()
}

// loadSegPackArgs loads the arguments of a packer of runs, func(kc int, t []float32, koff []int,
// segs []byte, dst []float32), into the given registers; nseg gets len(segs).
func loadSegPackArgs(kc, t, koff, segs, nseg, dst Register) {
	Load(Param("kc"), kc)
	Load(Param("t").Base(), t)
	Load(Param("koff").Base(), koff)
	Load(Param("segs").Base(), segs)
	Load(Param("segs").Len(), nseg)
	Load(Param("dst").Base(), dst)
}

// packS2512 emits packB16S2F32AVX512: per row p, a strip of a valid stride-2 convolution read
// from its unpadded input, each run of columns two masked loads of 32 values whose even ones a
// permutation gathers, merged into the row under the run's lanes.
func packS2512() {
	evens := GLOBL("s2_evens", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(2*i))
	}
	TEXT("packB16S2F32AVX512", NOSPLIT, "func(kc int, t []float32, koff []int, segs []byte, dst []float32)")
	Doc("packB16S2F32AVX512 packs kc rows of a B strip of a stride-2 source: see the Go declaration.")
	kc, t, koff, segs, nseg, dst := RCX, RSI, RBX, R8, R9, RDI
	o, sg, i, base := RAX, R10, R11, RDX
	loadSegPackArgs(kc, t, koff, segs, nseg, dst)
	VMOVDQU32(evens, Z31)
	TESTQ(kc, kc)
	JZ(LabelRef("packs2_done"))
	Label("packs2_row")
	MOVQ(Mem{Base: koff}, o)
	VPXORD(Z2, Z2, Z2)
	MOVQ(segs, sg)
	MOVQ(nseg, i)
	Label("packs2_seg")
	// base = t + 4*(koff[p] + seg.d); seg: d int64, then the uint16 masks m0, m1, lanes.
	MOVQ(Mem{Base: sg}, base)
	ADDQ(o, base)
	LEAQ(Mem{Base: t, Index: base, Scale: 4}, base)
	KMOVW(Mem{Base: sg, Disp: 8}, K1)
	KMOVW(Mem{Base: sg, Disp: 10}, K2)
	KMOVW(Mem{Base: sg, Disp: 12}, K3)
	VMOVUPS_Z(Mem{Base: base}, K1, Z0)
	VMOVUPS_Z(Mem{Base: base, Disp: 64}, K2, Z1)
	VPERMT2PS(Z1, Z31, Z0)
	VMOVAPS(Z0, K3, Z2)
	ADDQ(U8(16), sg)
	DECQ(i)
	JNZ(LabelRef("packs2_seg"))
	VMOVUPS(Z2, Mem{Base: dst})
	ADDQ(U8(8), koff)
	ADDQ(U8(64), dst)
	DECQ(kc)
	JNZ(LabelRef("packs2_row"))
	Label("packs2_done")
	VZEROUPPER()
	RET()
}

// packMasked512 emits packB32MaskedF32AVX512: per row p, the two 16-column halves of a
// 32-column strip pair, each a zero-masked load from the first run's source merged with a
// masked load from the second's, the masks of kernel tap r = (r0+p) mod nr.
func packMasked512() {
	TEXT("packB32MaskedF32AVX512", NOSPLIT, "func(kc int, t []float32, koff []int, d0, d1 int, masks []uint16, nr, r0 int, dst []float32)")
	Doc("packB32MaskedF32AVX512 packs kc rows of two B strips with masked loads: see the Go declaration.")
	kc, t0, t1, koff, o := RCX, RSI, RDX, RBX, R8
	masks, nr, r, dst, dst2, seg1, m := R9, R10, R11, RDI, R12, R13, RAX
	Load(Param("kc"), kc)
	Load(Param("t").Base(), t0)
	Load(Param("koff").Base(), koff)
	Load(Param("d0"), o)
	Load(Param("d1"), t1)
	LEAQ(Mem{Base: t0, Index: t1, Scale: 4}, t1)
	LEAQ(Mem{Base: t0, Index: o, Scale: 4}, t0)
	Load(Param("masks").Base(), masks)
	Load(Param("nr"), nr)
	Load(Param("r0"), r)
	Load(Param("dst").Base(), dst)
	// Run 1's masks follow run 0's, nr*4 bytes on; the second strip is kc*64 bytes on.
	LEAQ(Mem{Base: nr, Index: nr, Scale: 1}, seg1)
	SHLQ(U8(1), seg1)
	MOVQ(kc, dst2)
	SHLQ(U8(6), dst2)
	ADDQ(dst, dst2)
	TESTQ(kc, kc)
	JZ(LabelRef("packmasked_done"))
	// With one run (len(masks) = 2*nr, not 4*nr), a loop without the merging loads.
	Load(Param("masks").Len(), m)
	CMPQ(m, seg1)
	JL(LabelRef("packmasked_one"))
	body := func(label string, two bool) {
		Label(label)
		MOVQ(Mem{Base: koff}, o)
		LEAQ(Mem{Base: masks, Index: r, Scale: 4}, m)
		KMOVW(Mem{Base: m}, K1)
		KMOVW(Mem{Base: m, Disp: 2}, K2)
		VMOVUPS_Z(Mem{Base: t0, Index: o, Scale: 4}, K1, Z0)
		VMOVUPS_Z(Mem{Base: t0, Index: o, Scale: 4, Disp: 64}, K2, Z1)
		if prefetchB {
			// The row 32 columns on, which the next strip pair packs.
			PREFETCHT0(Mem{Base: t0, Index: o, Scale: 4, Disp: 4 * 2 * stripNR})
			PREFETCHT0(Mem{Base: t0, Index: o, Scale: 4, Disp: 4*2*stripNR + 64})
		}
		if two {
			KMOVW(Mem{Base: m, Index: seg1, Scale: 1}, K3)
			KMOVW(Mem{Base: m, Index: seg1, Scale: 1, Disp: 2}, K4)
			VMOVUPS(Mem{Base: t1, Index: o, Scale: 4}, K3, Z0)
			VMOVUPS(Mem{Base: t1, Index: o, Scale: 4, Disp: 64}, K4, Z1)
		}
		VMOVUPS(Z0, Mem{Base: dst})
		VMOVUPS(Z1, Mem{Base: dst2})
		ADDQ(U8(8), koff)
		ADDQ(U8(64), dst)
		ADDQ(U8(64), dst2)
		INCQ(r)
		CMPQ(r, nr)
		JNE(LabelRef(label + "_next"))
		XORQ(r, r)
		Label(label + "_next")
		DECQ(kc)
		JNZ(LabelRef(label))
	}
	body("packmasked_two", true)
	JMP(LabelRef("packmasked_done"))
	body("packmasked_one", false)
	Label("packmasked_done")
	VZEROUPPER()
	RET()
}

// unzip2 emits unzip2F32AVX2: even[j] = src[2j], odd[j] = src[2j+1], 8 pairs at a time.
func unzip2() {
	TEXT("unzip2F32AVX2", NOSPLIT, "func(even, odd, src []float32)")
	Doc("unzip2F32AVX2 splits pairs into even and odd elements: see the Go declaration.")
	ev, od, src, n := RDI, RSI, RDX, RCX
	Load(Param("even").Base(), ev)
	Load(Param("even").Len(), n)
	Load(Param("odd").Base(), od)
	Load(Param("src").Base(), src)
	blocks := RAX
	MOVQ(n, blocks)
	SHRQ(U8(3), blocks)
	JZ(LabelRef("unzip2_tail"))
	Label("unzip2_loop")
	deinterleave8(Mem{Base: src}, Y0, Y1, Y2, Y3)
	VMOVUPS(Y2, Mem{Base: ev})
	VMOVUPS(Y3, Mem{Base: od})
	ADDQ(U8(64), src)
	ADDQ(U8(32), ev)
	ADDQ(U8(32), od)
	DECQ(blocks)
	JNZ(LabelRef("unzip2_loop"))
	Label("unzip2_tail")
	ANDQ(U8(7), n)
	JZ(LabelRef("unzip2_done"))
	Label("unzip2_tailloop")
	// VEX-encoded scalar moves: legacy SSE ones after 256-bit code pay a transition penalty.
	VMOVSS(Mem{Base: src}, X0)
	VMOVSS(Mem{Base: src, Disp: 4}, X1)
	VMOVSS(X0, Mem{Base: ev})
	VMOVSS(X1, Mem{Base: od})
	ADDQ(U8(8), src)
	ADDQ(U8(4), ev)
	ADDQ(U8(4), od)
	DECQ(n)
	JNZ(LabelRef("unzip2_tailloop"))
	Label("unzip2_done")
	VZEROUPPER()
	RET()
}

// deinterleave4 sets even = src[0,2,4,6] and odd = src[1,3,5,7] of the 8 floats at m.
func deinterleave4(m Mem, lo, hi, even, odd VecPhysical) {
	VMOVUPS(m, lo)
	VMOVUPS(m.Offset(16), hi)
	VSHUFPS(U8(0x88), hi, lo, even)
	VSHUFPS(U8(0xdd), hi, lo, odd)
}

// deinterleave8 sets even = src[0,2,…,14] and odd = src[1,3,…,15] of the 16 floats at m:
// VSHUFPS within 128-bit lanes gives [0 2 8 10 | 4 6 12 14], VPERMPD puts the 64-bit halves
// in order. (Leaving the tiles in that order would save the VPERMPDs, but a row's last step
// then scatters its tiles into the next row's.)
func deinterleave8(m Mem, lo, hi, even, odd VecPhysical) {
	VMOVUPS(m, lo)
	VMOVUPS(m.Offset(32), hi)
	VSHUFPS(U8(0x88), hi, lo, even)
	VSHUFPS(U8(0xdd), hi, lo, odd)
	VPERMPD(U8(0xd8), even, even)
	VPERMPD(U8(0xd8), odd, odd)
}

// wino23Input emits wino23InputF32AVX2: the Winograd F(2×2, 3×3) input transform of a row of
// tiles, 8 tiles per step and a last step of 4 (xmm) when that covers the row. Each input row
// r gives d_r[q] (q < 4, the 4 columns of each tile) with two deinterleaves; the row
// combinations t = Bᵀ d are done in three rounds so that 16 registers suffice, and each t_r
// gives V[r][0..3] = t_r Bᵀ-combined.
func wino23Input() {
	TEXT("wino23InputF32AVX2", NOSPLIT, "func(src []float32, wp int, dst []float32, ve, n int)")
	Doc("wino23InputF32AVX2 computes a row of Winograd input transforms: see the Go declaration.")
	src, wp, s3, n := RSI, R8, R9, RCX
	d := []GPPhysical{RDI, R10, R11, R12}
	ve, ve3 := RAX, RBX
	Load(Param("src").Base(), src)
	Load(Param("wp"), wp)
	SHLQ(U8(2), wp)
	Load(Param("dst").Base(), d[0])
	Load(Param("ve"), ve)
	SHLQ(U8(2), ve)
	Load(Param("n"), n)
	ADDQ(U8(3), n)
	SHRQ(U8(2), n) // steps of 4 tiles
	JZ(LabelRef("winoin_done"))
	LEAQ(Mem{Base: src, Index: wp, Scale: 2}, s3)
	ADDQ(wp, s3)
	LEAQ(Mem{Base: ve, Index: ve, Scale: 2}, ve3)
	for r := 1; r < 4; r++ {
		LEAQ(Mem{Base: d[r-1], Index: ve, Scale: 4}, d[r])
	}
	rowMem := func(r int) Mem {
		switch r {
		case 0:
			return Mem{Base: src}
		case 1:
			return Mem{Base: src, Index: wp, Scale: 1}
		case 2:
			return Mem{Base: src, Index: wp, Scale: 2}
		}
		return Mem{Base: s3}
	}
	// step transforms 8 tiles (ymm) or 4 (xmm).
	step := func(lanes int) {
		v := vregs(lanes)
		// load puts d_r[0..3] in dr, using v(8..11) as scratch.
		load := func(r int, dr [4]VecPhysical) {
			if lanes == 8 {
				deinterleave8(rowMem(r), v(8), v(9), dr[0], dr[1])
				deinterleave8(rowMem(r).Offset(8), v(10), v(11), dr[2], dr[3])
				return
			}
			deinterleave4(rowMem(r), v(8), v(9), dr[0], dr[1])
			deinterleave4(rowMem(r).Offset(8), v(10), v(11), dr[2], dr[3])
		}
		// emit stores V[r][q] = (t0-t2, t1+t2, t2-t1, t1-t3)[q] for t = tr, using tmp.
		emit := func(r int, tr, tmp [4]VecPhysical) {
			VSUBPS(tr[2], tr[0], tmp[0])
			VADDPS(tr[2], tr[1], tmp[1])
			VSUBPS(tr[1], tr[2], tmp[2])
			VSUBPS(tr[3], tr[1], tmp[3])
			VMOVUPS(tmp[0], Mem{Base: d[r]})
			VMOVUPS(tmp[1], Mem{Base: d[r], Index: ve, Scale: 1})
			VMOVUPS(tmp[2], Mem{Base: d[r], Index: ve, Scale: 2})
			VMOVUPS(tmp[3], Mem{Base: d[r], Index: ve3, Scale: 1})
		}
		A := [4]VecPhysical{v(0), v(1), v(2), v(3)}
		B := [4]VecPhysical{v(4), v(5), v(6), v(7)}
		C := [4]VecPhysical{v(8), v(9), v(10), v(11)}
		D := [4]VecPhysical{v(12), v(13), v(14), v(15)}
		// Round 1: t0 = d0 - d2 → V[0]; keeps d2 in B.
		load(0, A)
		load(2, B)
		for q := 0; q < 4; q++ {
			VSUBPS(B[q], A[q], A[q])
		}
		emit(0, A, C)
		// Round 2: t1 = d1 + d2 → V[1], t2 = d2 - d1 → V[2]; keeps d1 in A.
		load(1, A)
		for q := 0; q < 4; q++ {
			VADDPS(B[q], A[q], C[q])
			VSUBPS(A[q], B[q], B[q])
		}
		emit(1, C, D)
		emit(2, B, D)
		// Round 3: t3 = d1 - d3 → V[3].
		load(3, B)
		for q := 0; q < 4; q++ {
			VSUBPS(B[q], A[q], A[q])
		}
		emit(3, A, C)
		ADDQ(U8(8*lanes), src)
		ADDQ(U8(8*lanes), s3)
		for r := 0; r < 4; r++ {
			ADDQ(U8(4*lanes), d[r])
		}
	}
	winoInSteps("winoin", n, step)
}

// winoInSteps ends a 2-D Winograd input transform: step(8) while n, the groups of 4 tiles
// left, is 2 or more, then step(4) for a last group, then return (labels prefix_loop,
// prefix_tail, prefix_done; prefix_done is where the function's early exit jumps).
func winoInSteps(prefix string, n GPPhysical, step func(lanes int)) {
	Label(prefix + "_loop")
	CMPQ(n, U8(2))
	JL(LabelRef(prefix + "_tail"))
	step(8)
	SUBQ(U8(2), n)
	JMP(LabelRef(prefix + "_loop"))
	Label(prefix + "_tail")
	TESTQ(n, n)
	JZ(LabelRef(prefix + "_done"))
	step(4)
	Label(prefix + "_done")
	VZEROUPPER()
	RET()
}

// wino23Output emits wino23OutputF32AVX2: the Winograd F(2×2, 3×3) output transform of a
// row of tiles, 8 tiles (16 output columns) per step and a last step of 4 (xmm, 8 columns)
// when that covers the row, with bias and ReLU, the last step's stores masked to ncols.
func wino23Output() {
	iota := GLOBL("wino_iota", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(i))
	}
	TEXT("wino23OutputF32AVX2", NOSPLIT, "func(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool)")
	Doc("wino23OutputF32AVX2 computes a row of Winograd output transforms: see the Go declaration.")
	r := winoOutRegs{mp: RSI, me: RAX, out: RDI, ldo: R8, rem: RCX, nrows: RDX, relu: R9}
	mp, me, me3 := r.mp, r.me, RBX
	m4, m8, m12 := R10, R11, R12
	winoOutPrologue(r)
	LEAQ(Mem{Base: me, Index: me, Scale: 2}, me3)
	TESTQ(r.rem, r.rem)
	JLE(LabelRef("winoout_done"))
	qoff := func(base GPPhysical, q int) Mem {
		switch q {
		case 0:
			return Mem{Base: base}
		case 1:
			return Mem{Base: base, Index: me, Scale: 1}
		case 2:
			return Mem{Base: base, Index: me, Scale: 2}
		}
		return Mem{Base: base, Index: me3, Scale: 1}
	}
	// step transforms 8 tiles (ymm) or 4 (xmm) into rows[i][0..1], columns 0..2·lanes-1 of
	// output row i.
	step := func(lanes int) (rows [2][2]VecPhysical) {
		v := vregs(lanes)
		bias, zero := v(14), v(15)
		LEAQ(Mem{Base: mp, Index: me, Scale: 4}, m4)
		LEAQ(Mem{Base: mp, Index: me, Scale: 8}, m8)
		LEAQ(Mem{Base: m4, Index: me, Scale: 8}, m12)
		// s0[q] = m0q+m1q+m2q, s1[q] = m1q-m2q-m3q, plane e = 4r+q at e*me.
		s0 := [4]VecPhysical{v(0), v(1), v(2), v(3)}
		s1 := [4]VecPhysical{v(4), v(5), v(6), v(7)}
		for q := 0; q < 4; q++ {
			VMOVUPS(qoff(mp, q), v(8))   // m0q
			VMOVUPS(qoff(m4, q), v(9))   // m1q
			VMOVUPS(qoff(m8, q), v(10))  // m2q
			VMOVUPS(qoff(m12, q), v(11)) // m3q
			VADDPS(v(9), v(8), s0[q])
			VADDPS(v(10), s0[q], s0[q])
			VSUBPS(v(10), v(9), s1[q])
			VSUBPS(v(11), s1[q], s1[q])
		}
		// y[i][0] = s_i0+s_i1+s_i2 + bias, y[i][1] = s_i1-s_i2-s_i3 + bias.
		y := [2][2]VecPhysical{{v(8), v(9)}, {v(10), v(11)}}
		for i, si := range [2][4]VecPhysical{s0, s1} {
			VADDPS(si[1], si[0], y[i][0])
			VADDPS(si[2], y[i][0], y[i][0])
			VADDPS(bias, y[i][0], y[i][0])
			VSUBPS(si[2], si[1], y[i][1])
			VSUBPS(si[3], y[i][1], y[i][1])
			VADDPS(bias, y[i][1], y[i][1])
		}
		rows = [2][2]VecPhysical{{v(0), v(1)}, {v(2), v(3)}}
		winoOutRows("winoout", lanes, r.relu, y, zero, [2]VecPhysical{v(4), v(5)}, rows)
		return rows
	}
	winoOutLoop("winoout", r, step, func(l int) Mem { return iota.Offset(4 * l) }, [3]int{12, 13, 12})
	VZEROUPPER()
	RET()
}

// winoOutRegs are the arguments of a 2-D Winograd output transform (wino23Output,
// wino25Output) in registers: m's base, me and ldo in bytes, ncols counting down in rem.
type winoOutRegs struct{ mp, me, out, ldo, rem, nrows, relu GPPhysical }

// winoOutPrologue loads the arguments of func(m []float32, me int, out []float32, ldo, ncols,
// nrows int, bias float32, relu bool) into r, the bias broadcast into Y14 and zero into Y15.
func winoOutPrologue(r winoOutRegs) {
	Load(Param("m").Base(), r.mp)
	Load(Param("me"), r.me)
	SHLQ(U8(2), r.me)
	Load(Param("out").Base(), r.out)
	Load(Param("ldo"), r.ldo)
	SHLQ(U8(2), r.ldo)
	Load(Param("ncols"), r.rem)
	Load(Param("nrows"), r.nrows)
	Load(Param("relu"), r.relu.As8())
	b, err := Param("bias").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(b.Addr, Y14)
	VXORPS(Y15, Y15, Y15)
}

// winoOutRows applies ReLU to the two output rows y of a step when relu is set (label
// prefix_norelu<lanes>), then interleaves each row's two columns of every tile into rows (tmp:
// two scratch registers).
func winoOutRows(prefix string, lanes int, relu GPPhysical, y [2][2]VecPhysical, zero VecPhysical, tmp [2]VecPhysical, rows [2][2]VecPhysical) {
	norelu := fmt.Sprintf("%s_norelu%d", prefix, lanes)
	TESTB(relu.As8(), relu.As8())
	JZ(LabelRef(norelu))
	for i := 0; i < 2; i++ {
		for k := 0; k < 2; k++ {
			// y first: MAXPS returns its second (Intel) source when either is NaN.
			VMAXPS(y[i][k], zero, y[i][k])
		}
	}
	Label(norelu)
	for i := 0; i < 2; i++ {
		if lanes == 4 {
			// The unpacks give columns 0..3 and 4..7.
			VUNPCKLPS(y[i][1], y[i][0], rows[i][0])
			VUNPCKHPS(y[i][1], y[i][0], rows[i][1])
			continue
		}
		// Interleave y0 and y1: the unpacks give columns [0..3 | 8..11] and [4..7 |
		// 12..15], VPERM2F128 puts the 128-bit halves in order.
		VUNPCKLPS(y[i][1], y[i][0], tmp[0])
		VUNPCKHPS(y[i][1], y[i][0], tmp[1])
		VPERM2F128(U8(0x20), tmp[1], tmp[0], rows[i][0])
		VPERM2F128(U8(0x31), tmp[1], tmp[0], rows[i][1])
	}
}

// winoOutLoop emits the row loop of a 2-D Winograd output transform: step(lanes) transforms 8
// tiles (ymm) or 4 (xmm) into rows[i][0..1], columns 0..2·lanes-1 of output row i, stored whole,
// or under mask[j] = rem > j at the end of the row (columns rem.. are past it): iotaAt(l)
// addresses lanes l.. of 0, 1, 2, …, and regs are the vector registers (by number) of the
// broadcast rem and of the two masks. The labels begin with prefix; it ends with prefix_done.
func winoOutLoop(prefix string, r winoOutRegs, step func(lanes int) [2][2]VecPhysical, iotaAt func(l int) Mem, regs [3]int) {
	out, ldo, rem, nrows := r.out, r.ldo, r.rem, r.nrows
	label := func(name string) string { return prefix + "_" + name }
	masked := func(lanes int, rows [2][2]VecPhysical) {
		v := vregs(lanes)
		VMOVQ(rem, X12)
		VPBROADCASTD(X12, v(regs[0]))
		VPCMPGTD(iotaAt(0), v(regs[0]), v(regs[1]))
		VPCMPGTD(iotaAt(lanes), v(regs[0]), v(regs[2]))
		VMASKMOVPS(rows[0][0], v(regs[1]), Mem{Base: out})
		VMASKMOVPS(rows[0][1], v(regs[2]), Mem{Base: out, Disp: 4 * lanes})
		CMPQ(nrows, U8(2))
		JL(LabelRef(label("done")))
		VMASKMOVPS(rows[1][0], v(regs[1]), Mem{Base: out, Index: ldo, Scale: 1})
		VMASKMOVPS(rows[1][1], v(regs[2]), Mem{Base: out, Index: ldo, Scale: 1, Disp: 4 * lanes})
		JMP(LabelRef(label("done")))
	}
	whole := func(lanes int, rows [2][2]VecPhysical, next string) {
		VMOVUPS(rows[0][0], Mem{Base: out})
		VMOVUPS(rows[0][1], Mem{Base: out, Disp: 4 * lanes})
		CMPQ(nrows, U8(2))
		JL(LabelRef(next))
		VMOVUPS(rows[1][0], Mem{Base: out, Index: ldo, Scale: 1})
		VMOVUPS(rows[1][1], Mem{Base: out, Index: ldo, Scale: 1, Disp: 4 * lanes})
	}
	Label(label("loop"))
	CMPQ(rem, U8(8))
	JLE(LabelRef(label("tail")))
	rows := step(8)
	CMPQ(rem, U8(16))
	JL(LabelRef(label("masked8")))
	whole(8, rows, label("next"))
	Label(label("next"))
	ADDQ(U8(32), r.mp)
	ADDQ(U8(64), out)
	SUBQ(U8(16), rem)
	JG(LabelRef(label("loop")))
	JMP(LabelRef(label("done")))
	Label(label("masked8"))
	masked(8, rows)

	Label(label("tail"))
	rows = step(4)
	CMPQ(rem, U8(8))
	JL(LabelRef(label("masked4")))
	whole(4, rows, label("done"))
	JMP(LabelRef(label("done")))
	Label(label("masked4"))
	masked(4, rows)
	Label(label("done"))
}

// dot emits dotF32AVX2: four ymm accumulators over 32 floats per step, then a horizontal
// sum, then the tail in a scalar accumulator.
func dot() {
	TEXT("dotF32AVX2", NOSPLIT, "func(a, b []float32) float32")
	Doc("dotF32AVX2 returns the dot product of a and b[:len(a)]: see the Go declaration.")
	a, b, n, blocks := RSI, RDI, RCX, RAX
	Load(Param("a").Base(), a)
	Load(Param("a").Len(), n)
	Load(Param("b").Base(), b)
	acc := []VecPhysical{Y0, Y1, Y2, Y3}
	for _, r := range acc {
		VXORPS(r, r, r)
	}
	VXORPS(X5, X5, X5) // the tail's sum
	MOVQ(n, blocks)
	SHRQ(U8(5), blocks)
	JZ(LabelRef("dot_reduce"))
	Label("dot_loop")
	for i, r := range acc {
		VMOVUPS(Mem{Base: a, Disp: 32 * i}, Y4)
		VFMADD231PS(Mem{Base: b, Disp: 32 * i}, Y4, r)
	}
	ADDQ(U32(128), a)
	ADDQ(U32(128), b)
	DECQ(blocks)
	JNZ(LabelRef("dot_loop"))
	Label("dot_reduce")
	// v = (acc0+acc1) + (acc2+acc3); then halves: 8 -> 4 -> 2 -> 1 lanes.
	VADDPS(Y1, Y0, Y0)
	VADDPS(Y3, Y2, Y2)
	VADDPS(Y2, Y0, Y0)
	VEXTRACTF128(U8(1), Y0, X1)
	VADDPS(X1, X0, X0)
	VMOVHLPS(X0, X0, X1)
	VADDPS(X1, X0, X0)
	VMOVSHDUP(X0, X1)
	VADDSS(X1, X0, X0)
	ANDQ(U8(31), n)
	JZ(LabelRef("dot_done"))
	Label("dot_tail")
	VMOVSS(Mem{Base: a}, X1)
	VFMADD231SS(Mem{Base: b}, X1, X5)
	ADDQ(U8(4), a)
	ADDQ(U8(4), b)
	DECQ(n)
	JNZ(LabelRef("dot_tail"))
	Label("dot_done")
	VADDSS(X5, X0, X0)
	VZEROUPPER() // before Store's MOVSS (legacy SSE)
	Store(X0, ReturnIndex(0))
	RET()
}

// fmaPeak emits fmaPeakF32AVX2: n iterations of 12 independent VFMADD231PS, 192 flops each.
func fmaPeak() {
	TEXT("fmaPeakF32AVX2", NOSPLIT, "func(n int)")
	Doc("fmaPeakF32AVX2 runs n iterations of 12 independent 8-wide FMAs (192 flops) on registers only.")
	n := RCX
	Load(Param("n"), n)
	for i := 0; i < 14; i++ {
		VXORPS(yreg(i), yreg(i), yreg(i))
	}
	TESTQ(n, n)
	JZ(LabelRef("fmapeak_done"))
	Label("fmapeak_loop")
	for i := 0; i < 12; i++ {
		VFMADD231PS(Y12, Y13, yreg(i))
	}
	DECQ(n)
	JNZ(LabelRef("fmapeak_loop"))
	Label("fmapeak_done")
	VZEROUPPER()
	RET()
}

// gemmKernel512 emits gemmF32_<mr>x<16*ns>AVX512, the AVX-512F micro-kernel: the first mr rows
// of np = ⌈mr/6⌉ packed 6-row A panels (consecutive, 6*kc floats apart; broadcast) times ns packed
// 16-column B strips (consecutive, 16*kc floats apart; one zmm per strip row), mr*ns zmm
// accumulators of the 32, the k loop unrolled unroll times. mr is 12, 6, or 2 or 4 for the last,
// partial panel of an A whose rows are not a multiple of 6. The FMA order per element is that of
// gemmF32_6x16AVX2, so every tile shape gives the same bits. See the Go stub for the reference
// loop.
func gemmKernel512(mr, ns, unroll int) {
	np, nr := (mr+5)/6, 16*ns
	name := fmt.Sprintf("gemmF32_%dx%dAVX512", mr, nr)
	TEXT(name, NOSPLIT, "func(kc int, a, b, c []float32, ldc int, bias []float32, flags int)")
	Doc(fmt.Sprintf("%s computes one %d×%d tile of C: see the Go declaration for the reference loop.", name, mr, nr))
	if mr*ns+ns+4 > 32 {
		panic("too many zmm registers")
	}
	acc := func(i, v int) VecPhysical { return zreg(i*ns + v) }
	bv := func(v int) VecPhysical { return zreg(mr*ns + v) }
	// Broadcast A values rotate over 4 registers.
	av := func(i int) VecPhysical { return zreg(28 + i%4) }

	kc, a, b, c := RCX, RSI, RDI, RDX
	aStep, bStep := R10, R11 // byte distance to the second panel and strip (R10, R11 hold flags and bias in the epilogue)
	Load(Param("kc"), kc)
	Load(Param("a").Base(), a)
	Load(Param("b").Base(), b)
	Load(Param("c").Base(), c)
	IMUL3Q(U32(4*6), kc, aStep)
	IMUL3Q(U32(4*stripNR), kc, bStep)

	ldc := R8
	Load(Param("ldc"), ldc)
	SHLQ(U8(2), ldc)
	bases := []GPPhysical{c}
	for i := 3; i < mr; i += 3 {
		nb := []GPPhysical{R9, R12, R13}[len(bases)-1]
		LEAQ(Mem{Base: bases[len(bases)-1], Index: ldc, Scale: 2}, nb)
		ADDQ(ldc, nb)
		bases = append(bases, nb)
	}
	// Four strips (6×64): the fourth is 3·bStep on, in a register of its own (R12 is free
	// with one panel).
	bStep3 := R12
	if ns == 4 {
		if np != 1 {
			panic("four strips take one panel")
		}
		LEAQ(Mem{Base: bStep, Index: bStep, Scale: 2}, bStep3)
	}
	// Prefetch the C tile: its rows are ldc apart, usually not in cache.
	for i := 0; i < mr; i++ {
		for off := 0; off < 4*nr; off += 64 {
			PREFETCHT0(rowMem(bases, ldc, i).Offset(off))
		}
		PREFETCHT0(rowMem(bases, ldc, i).Offset(4*nr - 4))
	}
	for i := 0; i < mr; i++ {
		for v := 0; v < ns; v++ {
			VXORPS(acc(i, v), acc(i, v), acc(i, v))
		}
	}
	step := func(u int) {
		for v := 0; v < ns; v++ {
			m := Mem{Base: b, Disp: 4 * u * stripNR}
			switch v {
			case 1, 2:
				m = Mem{Base: b, Index: bStep, Scale: uint8(v), Disp: 4 * u * stripNR}
			case 3:
				m = Mem{Base: b, Index: bStep3, Scale: 1, Disp: 4 * u * stripNR}
			}
			VMOVUPS(m, bv(v))
		}
		for i := 0; i < mr; i++ {
			m := Mem{Base: a, Disp: 4 * (u*6 + i%6)}
			if i >= 6 {
				m = Mem{Base: a, Index: aStep, Scale: 1, Disp: 4 * (u*6 + i%6)}
			}
			VBROADCASTSS(m, av(i))
			for v := 0; v < ns; v++ {
				VFMADD231PS(bv(v), av(i), acc(i, v))
			}
		}
	}
	// pf walks the packed A panels of the next tile down (np panels, np*6*kc floats
	// further on), np*6*unroll floats per iteration, one PREFETCHT0 per cache line: when
	// the weights stream from memory (the first strip of a K block), they then arrive while
	// this tile computes instead of stalling the next one.
	pf := RBX
	IMUL3Q(U32(4*6*np), kc, pf)
	ADDQ(a, pf)
	n := RAX
	MOVQ(kc, n)
	SHRQ(U8(log2(unroll)), n)
	JZ(LabelRef(name + "_tail"))
	Label(name + "_loop")
	for u := 0; u < unroll; u++ {
		step(u)
		if prefetchA {
			for off := u * 6 * np * 4 / 64 * 64; off < (u+1)*6*np*4; off += 64 {
				if off >= u*6*np*4 {
					PREFETCHT0(Mem{Base: pf, Disp: off})
				}
			}
		}
	}
	ADDQ(U32(4*unroll*6*np), pf)
	ADDQ(U32(4*unroll*6), a)
	ADDQ(U32(4*unroll*stripNR), b)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))

	Label(name + "_tail")
	ANDQ(U32(unroll-1), kc)
	JZ(LabelRef(name + "_epilogue"))
	Label(name + "_tailloop")
	step(0)
	ADDQ(U32(4*6), a)
	ADDQ(U32(4*stripNR), b)
	DECQ(kc)
	JNZ(LabelRef(name + "_tailloop"))

	Label(name + "_epilogue")
	flags := R10
	Load(Param("flags"), flags)
	addBias := func() {
		bias := R11
		Load(Param("bias").Base(), bias)
		for i := 0; i < mr; i++ {
			VBROADCASTSS(Mem{Base: bias, Disp: 4 * i}, av(i))
			for v := 0; v < ns; v++ {
				VADDPS(av(i), acc(i, v), acc(i, v))
			}
		}
	}
	epilogueAdds(name, flags, addBias, func() {
		for i := 0; i < mr; i++ {
			for v := 0; v < ns; v++ {
				VADDPS(rowMem(bases, ldc, i).Offset(64*v), acc(i, v), acc(i, v))
			}
		}
	})
	TESTQ(U32(2), flags)
	JZ(LabelRef(name + "_store"))
	zero := av(0)
	VXORPS(zero, zero, zero)
	for i := 0; i < mr; i++ {
		for v := 0; v < ns; v++ {
			// acc first: MAXPS returns its second (Intel) source when either is NaN, so NaN propagates.
			VMAXPS(acc(i, v), zero, acc(i, v))
		}
	}
	Label(name + "_store")
	for i := 0; i < mr; i++ {
		for v := 0; v < ns; v++ {
			VMOVUPS(acc(i, v), rowMem(bases, ldc, i).Offset(64*v))
		}
	}
	VZEROUPPER()
	RET()
}

// gemv512 emits gemvF32_48AVX512: one column of C for up to 8 packed A panels, one zmm
// accumulator per panel (its 6 rows in lanes 0..5, loaded under a 6-lane mask), so that 8
// independent FMA chains cover the latency. Panels past np repeat panel np-1.
func gemv512() {
	TEXT("gemvF32_48AVX512", NOSPLIT, "func(kc int, a []float32, np int, b, out []float32)")
	Doc("gemvF32_48AVX512 computes one column of up to 48 rows of C: see the Go declaration.")
	kc, a, b, np, stride := RCX, RSI, RDI, RAX, RBX
	offs := []GPPhysical{RAX, RBX, RDX, R8, R9, R10, R11, R12}
	Load(Param("kc"), kc)
	Load(Param("a").Base(), a)
	Load(Param("b").Base(), b)
	Load(Param("np"), np)
	// The 6-lane mask.
	MOVQ(U32(0x3f), R13)
	KMOVW(R13.As32(), K1)
	// offs[q] = min(q, np-1) * 24*kc bytes: panel q's offset from a (computed from the last
	// down, as offs[0..2] share registers with np, stride and out).
	IMUL3Q(U32(4*6), kc, stride)
	DECQ(np)
	MOVQ(np, R13)
	IMULQ(stride, R13) // the last panel's offset
	for q := 7; q >= 1; q-- {
		// offs[q] = q <= np-1 ? q*24*kc : the last panel's (np is decremented; offs[1] and
		// offs[2] overwrite stride and out, no longer needed).
		MOVQ(R13, R14)
		CMPQ(np, U8(q))
		JL(LabelRef(fmt.Sprintf("gemv_last%d", q)))
		IMUL3Q(U8(q), stride, R14)
		Label(fmt.Sprintf("gemv_last%d", q))
		MOVQ(R14, offs[q])
	}
	XORQ(offs[0], offs[0])
	acc := func(q int) VecPhysical { return zreg(q) }
	for q := 0; q < 8; q++ {
		VXORPS(acc(q), acc(q), acc(q))
	}
	TESTQ(kc, kc)
	JZ(LabelRef("gemv_store"))
	Label("gemv_loop")
	VBROADCASTSS(Mem{Base: b}, Z8)
	for q := 0; q < 8; q++ {
		VMOVUPS_Z(Mem{Base: a, Index: offs[q], Scale: 1}, K1, zreg(9+q%4))
		VFMADD231PS(zreg(9+q%4), Z8, acc(q))
	}
	ADDQ(U8(4*6), a)
	ADDQ(U8(4*stripNR), b)
	DECQ(kc)
	JNZ(LabelRef("gemv_loop"))
	Label("gemv_store")
	Load(Param("out").Base(), R13)
	for q := 0; q < 8; q++ {
		VMOVUPS(acc(q), K1, Mem{Base: R13, Disp: 4 * 6 * q})
	}
	VZEROUPPER()
	RET()
}

// fmaPeak512 emits fmaPeakF32AVX512: n iterations of 24 independent 16-wide VFMADD231PS,
// 768 flops each.
func fmaPeak512() {
	TEXT("fmaPeakF32AVX512", NOSPLIT, "func(n int)")
	Doc("fmaPeakF32AVX512 runs n iterations of 24 independent 16-wide FMAs (768 flops) on registers only.")
	n := RCX
	Load(Param("n"), n)
	for i := 0; i < 26; i++ {
		VXORPS(zreg(i), zreg(i), zreg(i))
	}
	TESTQ(n, n)
	JZ(LabelRef("fmapeak512_done"))
	Label("fmapeak512_loop")
	for i := 0; i < 24; i++ {
		VFMADD231PS(Z24, Z25, zreg(i))
	}
	DECQ(n)
	JNZ(LabelRef("fmapeak512_loop"))
	Label("fmapeak512_done")
	VZEROUPPER()
	RET()
}

// maxExact sets dst = max(d, r) with Go's max semantics, which VMAXPS alone lacks: a NaN
// in either gives NaN (VMAXPS returns r when d is NaN), and max(-0, +0) is +0 (VMAXPS
// returns r for equal operands: d AND r is right whenever they compare equal). Y4, Y5 are
// scratch; dst must differ from d and r.
func maxExact(d, r, dst VecPhysical) {
	VMAXPS(r, d, dst)       // d > r ? d : r
	VCMPPS(U8(0), r, d, Y4) // d == r (ordered)
	VANDPS(r, d, Y5)
	VBLENDVPS(Y4, Y5, dst, dst)
	VCMPPS(U8(3), d, d, Y4) // d is NaN
	VBLENDVPS(Y4, d, dst, dst)
}

// divPS sets dst = d / r.
func divPS(d, r, dst VecPhysical) { VDIVPS(r, d, dst) }

// addPS sets dst = d + r.
func addPS(d, r, dst VecPhysical) { VADDPS(r, d, dst) }

// poolRow emits name(d, r []float32): d[i] = op(d[i], r[stride*i]) for i < len(d), 8 at a
// time (len(d) a multiple of 8, len(r) >= stride*len(d)); stride 2 deinterleaves 16 values
// of r into their 8 even ones (VSHUFPS, VPERMPD).
func poolRow(name string, stride int, op func(d, r, dst VecPhysical)) {
	TEXT(name, NOSPLIT, "func(d, r []float32)")
	Doc(name + " combines a row of pooling sums or maxima with an input row: see the Go declaration.")
	d, r, n := RDI, RSI, RCX
	Load(Param("d").Base(), d)
	Load(Param("d").Len(), n)
	Load(Param("r").Base(), r)
	SHRQ(U8(3), n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_loop")
	VMOVUPS(Mem{Base: d}, Y0)
	if stride == 1 {
		VMOVUPS(Mem{Base: r}, Y1)
	} else {
		VMOVUPS(Mem{Base: r}, Y2)
		VMOVUPS(Mem{Base: r, Disp: 32}, Y3)
		VSHUFPS(U8(0x88), Y3, Y2, Y1)
		VPERMPD(U8(0xd8), Y1, Y1)
	}
	op(Y0, Y1, Y2)
	VMOVUPS(Y2, Mem{Base: d})
	ADDQ(U8(32), d)
	ADDQ(U8(32*stride), r)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// rows3Args loads the arguments d, r0, r1, r2 of the 3-row pooling kernels: d's base and length
// (the outputs) and the three rows' bases.
func rows3Args() (d, n GPPhysical, rows []GPPhysical) {
	d, n = RDI, RCX
	rows = []GPPhysical{RSI, R10, R11}
	Load(Param("d").Base(), d)
	Load(Param("d").Len(), n)
	for i, r := range rows {
		Load(Param(fmt.Sprintf("r%d", i)).Base(), r)
	}
	return d, n, rows
}

// poolRows3 emits name(d, r0, r1, r2 []float32, nrows int): one output row of a 3-wide
// pooling window over nrows (1..3) padded input rows r0, r1, r2, d[i] = op(d[i],
// r_iy[stride*i+kx]) for iy < nrows, kx < 3, 8 outputs at a time with d held in a register
// across the terms. Sums add in that order. Maxima are taken as a tree (the maximum of
// each row's 3 terms, then the running maximum), which gives the same value since Go's max
// is associative (max(-0, +0) = +0, NaN wins), with maxNoNaN (two VMAXPS and an AND: half
// the dependent latency of maxExact) and the NaNs ORed into a mask on the side that makes
// the result NaN at the end.
func poolRows3(name string, stride int, isMax bool) {
	TEXT(name, NOSPLIT, "func(d, r0, r1, r2 []float32, nrows int)")
	Doc(name + " combines nrows input rows into a row of 3-wide pooling windows: see the Go declaration.")
	d, n, rows := rows3Args()
	nrows := R9
	Load(Param("nrows"), nrows)
	SHRQ(U8(3), n)
	JZ(LabelRef(name + "_done"))
	acc, nan := Y0, Y15
	v := [3]VecPhysical{Y1, Y2, Y3}
	if isMax {
		// Y14 = the quiet NaN 0x7fc00000: all ones shifted.
		VPCMPEQD(Y14, Y14, Y14)
		VPSRLD(U8(23), Y14, Y14)
		VPSLLD(U8(22), Y14, Y14)
	}
	Label(name + "_loop")
	VMOVUPS(Mem{Base: d}, acc)
	if isMax {
		VCMPPS(U8(3), acc, acc, nan)
	}
	for iy, p := range rows {
		if iy > 0 {
			CMPQ(nrows, U8(iy))
			JLE(LabelRef(name + "_rowsdone"))
		}
		for kx := 0; kx < 3; kx++ {
			poolTerm(p, kx, stride, v[kx])
			if !isMax {
				VADDPS(v[kx], acc, acc)
			}
		}
		if isMax {
			for kx := 0; kx < 3; kx++ {
				VCMPPS(U8(3), v[kx], v[kx], Y4)
				VORPS(Y4, nan, nan)
			}
			maxNoNaN(v[0], v[1], Y6)
			maxNoNaN(Y6, v[2], Y7)
			maxNoNaN(acc, Y7, acc)
		}
	}
	Label(name + "_rowsdone")
	if isMax {
		VBLENDVPS(nan, Y14, acc, acc)
	}
	poolStepEnd(name, acc, d, n, rows, stride)
}

// poolTerm loads into v the 8 terms of window column kx of an input row at p, for 8
// consecutive outputs of stride 1 or 2 (stride 2 deinterleaves 16 values: VSHUFPS, VPERMPD;
// Y4 and Y5 are scratch).
func poolTerm(p GPPhysical, kx, stride int, v VecPhysical) {
	if stride == 1 {
		VMOVUPS(Mem{Base: p, Disp: 4 * kx}, v)
		return
	}
	VMOVUPS(Mem{Base: p, Disp: 4 * kx}, Y4)
	VMOVUPS(Mem{Base: p, Disp: 4*kx + 32}, Y5)
	VSHUFPS(U8(0x88), Y5, Y4, v)
	VPERMPD(U8(0xd8), v, v)
}

// poolStepEnd ends a step of the 3-row pooling kernels: stores acc to d, advances d and the
// rows by 8 outputs, loops while n steps remain, and emits the return.
func poolStepEnd(name string, acc VecPhysical, d, n GPPhysical, rows []GPPhysical, stride int) {
	VMOVUPS(acc, Mem{Base: d})
	ADDQ(U8(32), d)
	for _, p := range rows {
		ADDQ(U8(32*stride), p)
	}
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// copyRows emits copyRowsF32AVX2(dst, dstStride, src, srcStride, rows, cols): rows rows of
// cols floats from src (rows srcStride apart) to dst (dstStride apart), 8 at a time, the last
// cols%8 with VMASKMOVPS, which neither reads nor writes the masked-off lanes.
func copyRows() {
	TEXT("copyRowsF32AVX2", NOSPLIT, "func(dst []float32, dstStride int, src []float32, srcStride int, rows, cols int)")
	Doc("copyRowsF32AVX2 copies a strided block of rows: see the Go declaration.")
	dst, src, ds, ss, rows, n8 := RDI, RSI, R8, R9, R10, R11
	p, q, k, tail := RCX, RDX, R12, RAX
	Load(Param("dst").Base(), dst)
	Load(Param("dstStride"), ds)
	Load(Param("src").Base(), src)
	Load(Param("srcStride"), ss)
	Load(Param("rows"), rows)
	Load(Param("cols"), n8)
	SHLQ(U8(2), ds)
	SHLQ(U8(2), ss)
	MOVQ(n8, tail)
	ANDQ(U8(7), tail)
	SHRQ(U8(3), n8)
	// The mask of the tail: 8 int32s from copyRowsMask + 4*(8-tail), tail -1s then 0s.
	masks := GLOBL("copyRowsMask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	LEAQ(masks, p)
	NEGQ(tail)
	VMOVDQU(Mem{Base: p, Index: tail, Scale: 4, Disp: 32}, Y15)
	NEGQ(tail)
	TESTQ(rows, rows)
	JZ(LabelRef("copyRows_done"))
	Label("copyRows_row")
	MOVQ(dst, p)
	MOVQ(src, q)
	MOVQ(n8, k)
	TESTQ(k, k)
	JZ(LabelRef("copyRows_tail"))
	Label("copyRows_loop")
	VMOVUPS(Mem{Base: q}, Y0)
	VMOVUPS(Y0, Mem{Base: p})
	ADDQ(U8(32), p)
	ADDQ(U8(32), q)
	DECQ(k)
	JNZ(LabelRef("copyRows_loop"))
	Label("copyRows_tail")
	TESTQ(tail, tail)
	JZ(LabelRef("copyRows_next"))
	VMASKMOVPS(Mem{Base: q}, Y15, Y0)
	VMASKMOVPS(Y0, Y15, Mem{Base: p})
	Label("copyRows_next")
	ADDQ(ds, dst)
	ADDQ(ss, src)
	DECQ(rows)
	JNZ(LabelRef("copyRows_row"))
	Label("copyRows_done")
	VZEROUPPER()
	RET()
}

// maxRows3Fast emits name(d, r0, r1, r2 []float32), the maxRows3 kernel with 3 rows for
// inputs without NaN: a plain VMAXPS chain, whose value is the maximum, and the sign of a
// zero maximum fixed from the AND of all the terms' bits (Go's max(-0, +0) is +0, so a zero
// maximum is -0 only when no term is +0, i.e. when every term, all <= 0, has its sign bit
// set). 8 outputs per step, d's value included, as in poolRows3.
func maxRows3Fast(name string, stride int) {
	TEXT(name, NOSPLIT, "func(d, r0, r1, r2 []float32)")
	Doc(name + " combines 3 input rows without NaN into a row of 3-wide maxima: see the Go declaration.")
	d, n, rows := rows3Args()
	SHRQ(U8(3), n)
	JZ(LabelRef(name + "_done"))
	acc, and, v, zero, sign := Y0, Y1, Y2, Y14, Y15
	VXORPS(zero, zero, zero)
	VPCMPEQD(sign, sign, sign)
	VPSLLD(U8(31), sign, sign) // 0x80000000
	Label(name + "_loop")
	VMOVUPS(Mem{Base: d}, acc)
	VMOVAPS(acc, and)
	for _, p := range rows {
		for kx := 0; kx < 3; kx++ {
			poolTerm(p, kx, stride, v)
			VMAXPS(v, acc, acc)
			VANDPS(v, and, and)
		}
	}
	VCMPPS(U8(0), zero, acc, Y3) // acc == ±0
	VANDPS(sign, and, and)
	VBLENDVPS(Y3, and, acc, acc)
	poolStepEnd(name, acc, d, n, rows, stride)
}

// anyNaN emits anyNaNF32AVX2(x []float32) bool: whether any of the first len(x)/8*8 values is
// a NaN, 8 at a time.
func anyNaN() {
	TEXT("anyNaNF32AVX2", NOSPLIT, "func(x []float32) bool")
	Doc("anyNaNF32AVX2 reports whether x holds a NaN: see the Go declaration.")
	x, n := RSI, RCX
	Load(Param("x").Base(), x)
	Load(Param("x").Len(), n)
	VXORPS(Y0, Y0, Y0)
	SHRQ(U8(3), n)
	JZ(LabelRef("anyNaN_done"))
	Label("anyNaN_loop")
	VMOVUPS(Mem{Base: x}, Y1)
	VCMPPS(U8(3), Y1, Y1, Y1) // unordered: NaN
	VORPS(Y1, Y0, Y0)
	ADDQ(U8(32), x)
	DECQ(n)
	JNZ(LabelRef("anyNaN_loop"))
	Label("anyNaN_done")
	VMOVMSKPS(Y0, EAX)
	TESTL(EAX, EAX)
	SETNE(AL)
	VZEROUPPER()
	Store(AL, ReturnIndex(0))
	RET()
}

// maxNoNaN sets dst = max(a, b) with Go's semantics for non-NaN inputs: VMAXPS returns its
// second (Intel) source for equal operands, so the two orders differ only on ±0, where
// their AND gives +0 unless both are -0. Y12, Y13 are scratch.
func maxNoNaN(a, b, dst VecPhysical) {
	VMAXPS(b, a, Y12)
	VMAXPS(a, b, Y13)
	VANDPS(Y13, Y12, dst)
}

func zreg(i int) VecPhysical {
	return []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
}

func yreg(i int) VecPhysical {
	return []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}

// addScaledRow emits addScaledRowF32AVX2(out, x, y []float32, scale float32, relu bool):
// out[i] = act(x[i] + scale*y[i]) 8 at a time, as a VMULPS then a VADDPS (two roundings,
// never an FMA, as addScaledF32Generic) and, when relu, maxExact against zero.
func addScaledRow() {
	name := "addScaledRowF32AVX2"
	TEXT(name, NOSPLIT, "func(out, x, y []float32, scale float32, relu bool)")
	Doc(name + " computes a residual sum, 8 at a time: see the Go declaration.")
	o, x, y, n, relu := RDI, RSI, RDX, RCX, R8
	Load(Param("out").Base(), o)
	Load(Param("out").Len(), n)
	Load(Param("x").Base(), x)
	Load(Param("y").Base(), y)
	Load(Param("relu"), relu.As8())
	scale, zero := Y6, Y7
	sc, err := Param("scale").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(sc.Addr, scale)
	VXORPS(zero, zero, zero)
	SHRQ(U8(3), n)
	JZ(LabelRef(name + "_done"))
	TESTB(relu.As8(), relu.As8())
	JNZ(LabelRef(name + "_relu"))
	Label(name + "_loop")
	VMULPS(Mem{Base: y}, scale, Y0)
	VADDPS(Mem{Base: x}, Y0, Y0)
	VMOVUPS(Y0, Mem{Base: o})
	ADDQ(U8(32), o)
	ADDQ(U8(32), x)
	ADDQ(U8(32), y)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	JMP(LabelRef(name + "_done"))
	Label(name + "_relu")
	VMULPS(Mem{Base: y}, scale, Y0)
	VADDPS(Mem{Base: x}, Y0, Y0)
	maxExact(Y0, zero, Y1)
	VMOVUPS(Y1, Mem{Base: o})
	ADDQ(U8(32), o)
	ADDQ(U8(32), x)
	ADDQ(U8(32), y)
	DECQ(n)
	JNZ(LabelRef(name + "_relu"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// wino43Consts holds 2, 4 and 8 (float32) for the F(4×4, 3×3) transforms' exact multiplies.
var wino43Consts Mem

// wino43Const returns the address of the float32 constant 2, 4 or 8, emitting the table once.
func wino43Const(v int) Mem {
	if wino43Consts.Symbol.Name == "" {
		wino43Consts = GLOBL("wino43_consts", RODATA|NOPTR)
		DATA(0, U32(0x40000000)) // 2
		DATA(4, U32(0x40800000)) // 4
		DATA(8, U32(0x41000000)) // 8
	}
	switch v {
	case 2:
		return wino43Consts
	case 4:
		return wino43Consts.Offset(4)
	}
	return wino43Consts.Offset(8)
}

// wino43BT emits o = Bᵀ d of F(4×4, 3×3) on 8 lanes, the operations of the Go wino43BT:
// d0..d5 in d (all clobbered), results in o[0..5], which are registers of d. two and four
// hold the constants.
func wino43BT(d [6]VecPhysical, two, four VecPhysical) (o [6]VecPhysical) {
	c := sized(Y15, d[0])
	VSUBPS(d[2], d[4], c)          // c = d4-d2
	VSUBPS(d[2], d[0], d[0])       // t = d0-d2
	VFMADD213PS(c, four, d[0])     // o0 = 4t + c
	VFNMADD231PS(four, d[2], d[4]) // a = d4 - 4d2 (d2 is free)
	VSUBPS(d[3], d[1], d[2])       // u = d1-d3
	VSUBPS(d[3], d[5], d[5])       // d5-d3
	VFMADD231PS(four, d[2], d[5])  // o5 = 4u + (d5-d3)
	VFNMADD231PS(four, d[1], d[3]) // b = d3 - 4d1 (d1 is free)
	VMOVAPS(c, d[1])               //
	VFNMADD231PS(two, d[2], d[1])  // o3 = c - 2u
	VFMADD231PS(two, d[2], c)      // o4 = c + 2u
	VADDPS(d[3], d[4], d[2])       // o1 = a + b
	VSUBPS(d[3], d[4], d[3])       // o2 = a - b
	VMOVAPS(c, d[4])               //
	return [6]VecPhysical{d[0], d[2], d[3], d[1], d[4], d[5]}
}

// wino43Input emits wino43InputF32AVX2: the Winograd F(4×4, 3×3) input transform of a row of
// tiles, 8 tiles per step and a last step of 4 (xmm) when that covers the row. Each of the 6
// input rows gives d[0..5] of the step's tiles by 128-bit loads (tile j | tile j+4 in one
// register) and an in-lane 4×4 transpose; its row transform goes to dst (plane 6k+q), which
// the column transforms then read back and overwrite: dst serves as the scratch, so the
// kernel needs no stack frame.
func wino43Input() {
	TEXT("wino43InputF32AVX2", NOSPLIT, "func(src []float32, wp int, dst []float32, ve, n int)")
	Doc("wino43InputF32AVX2 computes a row of F(4×4, 3×3) input transforms: see the Go declaration.")
	src, s3, wp, dst, p, n := RSI, RDI, R8, R9, R10, RCX
	ve, ve3, ve5, ve6, ve18, ve30 := RAX, RBX, RDX, R11, R12, R13
	Load(Param("src").Base(), src)
	Load(Param("wp"), wp)
	SHLQ(U8(2), wp)
	Load(Param("dst").Base(), dst)
	Load(Param("ve"), ve)
	SHLQ(U8(2), ve)
	Load(Param("n"), n)
	ADDQ(U8(3), n)
	SHRQ(U8(2), n) // steps of 4 tiles
	JZ(LabelRef("wino43in_done"))
	LEAQ(Mem{Base: src, Index: wp, Scale: 2}, s3)
	ADDQ(wp, s3)
	LEAQ(Mem{Base: ve, Index: ve, Scale: 2}, ve3)
	LEAQ(Mem{Base: ve, Index: ve, Scale: 4}, ve5)
	LEAQ(Mem{Base: ve3, Index: ve3, Scale: 1}, ve6)
	LEAQ(Mem{Base: ve6, Index: ve6, Scale: 2}, ve18)
	LEAQ(Mem{Base: ve18, Index: ve6, Scale: 2}, ve30)
	VBROADCASTSS(wino43Const(2), Y13)
	VBROADCASTSS(wino43Const(4), Y14)
	rowMem := func(k int) Mem {
		switch k {
		case 0:
			return Mem{Base: src}
		case 1:
			return Mem{Base: src, Index: wp, Scale: 1}
		case 2:
			return Mem{Base: src, Index: wp, Scale: 2}
		case 3:
			return Mem{Base: s3}
		case 4:
			return Mem{Base: s3, Index: wp, Scale: 1}
		}
		return Mem{Base: s3, Index: wp, Scale: 2}
	}
	// step transforms 8 tiles (ymm) or 4 (xmm).
	step := func(lanes int) {
		v := vregs(lanes)
		two, four := v(13), v(14)
		R := [5]VecPhysical{v(0), v(1), v(2), v(3), v(4)}
		for k := 0; k < 6; k++ {
			m := rowMem(k)
			// R[i] = tile i (| tile i+4): columns 4i..4i+3 (| 4i+16..4i+19) of the step.
			for i := 0; i < 5; i++ {
				VMOVUPS(m.Offset(16*i), R[i].AsX())
				if lanes == 8 {
					VINSERTF128(U8(1), m.Offset(16*i+64), R[i], R[i])
				}
			}
			VUNPCKLPS(v(1), v(0), v(5))
			VUNPCKHPS(v(1), v(0), v(6))
			VUNPCKLPS(v(3), v(2), v(7))
			VUNPCKHPS(v(3), v(2), v(8))
			VUNPCKLPD(v(7), v(5), v(9))  // d0
			VUNPCKHPD(v(7), v(5), v(10)) // d1
			VUNPCKLPD(v(8), v(6), v(11)) // d2
			VUNPCKHPD(v(8), v(6), v(12)) // d3
			VUNPCKLPS(v(2), v(1), v(5))  // the next tiles' columns 0 and 1 are columns 4 and 5
			VUNPCKLPS(v(4), v(3), v(6))
			VUNPCKLPD(v(6), v(5), v(7)) // d4
			VUNPCKHPD(v(6), v(5), v(8)) // d5
			o := wino43BT([6]VecPhysical{v(9), v(10), v(11), v(12), v(7), v(8)}, two, four)
			// h[k][q] to plane 6k+q.
			LEAQ(wino43At(dst, k, ve6, ve18, ve30), p)
			for q := 0; q < 6; q++ {
				VMOVUPS(o[q], wino43At(p, q, ve, ve3, ve5))
			}
		}
		for q := 0; q < 6; q++ {
			// Column q: h[k][q] from plane 6k+q, V[r][q] to plane 6r+q.
			LEAQ(wino43At(dst, q, ve, ve3, ve5), p)
			d := [6]VecPhysical{v(0), v(1), v(2), v(3), v(4), v(5)}
			for k := 0; k < 6; k++ {
				VMOVUPS(wino43At(p, k, ve6, ve18, ve30), d[k])
			}
			o := wino43BT(d, two, four)
			for r := 0; r < 6; r++ {
				VMOVUPS(o[r], wino43At(p, r, ve6, ve18, ve30))
			}
		}
		ADDQ(U8(16*lanes), src)
		ADDQ(U8(16*lanes), s3)
		ADDQ(U8(4*lanes), dst)
	}
	winoInSteps("wino43in", n, step)
}

// sized returns r at the width of ref: its xmm half when ref is an xmm register.
func sized(r, ref VecPhysical) VecPhysical {
	if ref.Size() == 16 {
		return r.AsX().(VecPhysical)
	}
	return r
}

// wino43At returns the address base + i*x (i < 6) given x1, x3, x5 = x, 3x, 5x.
func wino43At(base GPPhysical, i int, x1, x3, x5 GPPhysical) Mem {
	switch i {
	case 0:
		return Mem{Base: base}
	case 1:
		return Mem{Base: base, Index: x1, Scale: 1}
	case 2:
		return Mem{Base: base, Index: x1, Scale: 2}
	case 3:
		return Mem{Base: base, Index: x3, Scale: 1}
	case 4:
		return Mem{Base: base, Index: x1, Scale: 4}
	}
	return Mem{Base: base, Index: x5, Scale: 1}
}

// wino43AT emits y = Aᵀ m of F(4×4, 3×3) on 8 lanes, the operations of the Go wino43AT: m0..m5
// in m (all clobbered), results in y[0..3], which are registers of m. two, four and eight
// hold the constants; Y15 (or X15) is scratch.
func wino43AT(m [6]VecPhysical, two, four, eight VecPhysical) (y [4]VecPhysical) {
	t := sized(Y15, m[0])
	VADDPS(m[2], m[1], t)          // a = m1+m2
	VSUBPS(m[2], m[1], m[1])       // b = m1-m2
	VADDPS(m[4], m[3], m[2])       // c = m3+m4
	VSUBPS(m[4], m[3], m[3])       // d = m3-m4
	VADDPS(t, m[0], m[0])          // m0 + a
	VADDPS(m[2], m[0], m[0])       // y0 = (m0 + a) + c
	VFMADD231PS(four, m[2], t)     // y2 = a + 4c
	VMOVAPS(m[1], m[4])            //
	VFMADD231PS(eight, m[3], m[4]) // b + 8d
	VADDPS(m[5], m[4], m[4])       // y3 = (b + 8d) + m5
	VFMADD231PS(two, m[3], m[1])   // y1 = b + 2d
	VMOVAPS(t, m[2])               //
	return [4]VecPhysical{m[0], m[1], m[2], m[4]}
}

// wino43Output emits wino43OutputF32AVX2: the Winograd F(4×4, 3×3) output transform of a
// row of tiles, 8 tiles (32 output columns, 4 rows) per step and a last step of 4 (xmm) when
// that covers the row, with bias and ReLU. The column transforms go to a stack frame, the row
// transforms are transposed in 128-bit lanes (tile j | tile j+4) and stored in place: whole
// when the step's columns and 4 rows fit, else masked (VMASKMOVPS) to columns < ncols and rows
// < nrows. (Through a local tile and copies, short steps took 4 calls of copy per tile row:
// 14×14 and 7×7 rows are all short.)
func wino43Output() {
	iota := GLOBL("wino43_iota", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		DATA(4*i, U32(i))
	}
	TEXT("wino43OutputF32AVX2", 0, "func(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool)")
	Doc("wino43OutputF32AVX2 computes a row of F(4×4, 3×3) output transforms: see the Go declaration.")
	tmp := AllocLocal(24 * 32)
	remv := AllocLocal(32) // rem in each lane, for the masks
	mp, p, rem, out, ldo, ldo3, relu := RSI, RDI, RCX, R8, R9, R10, R11
	me, me3, me5, me6, me18, me30 := RAX, RBX, RDX, R12, R13, R14
	Load(Param("m").Base(), mp)
	Load(Param("me"), me)
	SHLQ(U8(2), me)
	Load(Param("out").Base(), out)
	Load(Param("ldo"), ldo)
	SHLQ(U8(2), ldo)
	Load(Param("ncols"), rem)
	TESTQ(rem, rem)
	JLE(LabelRef("wino43out_done"))
	Load(Param("relu"), relu.As8())
	nr, err := Param("nrows").Resolve()
	if err != nil {
		panic(err)
	}
	nrows := nr.Addr
	LEAQ(Mem{Base: ldo, Index: ldo, Scale: 2}, ldo3)
	LEAQ(Mem{Base: me, Index: me, Scale: 2}, me3)
	LEAQ(Mem{Base: me, Index: me, Scale: 4}, me5)
	LEAQ(Mem{Base: me3, Index: me3, Scale: 1}, me6)
	LEAQ(Mem{Base: me6, Index: me6, Scale: 2}, me18)
	LEAQ(Mem{Base: me18, Index: me6, Scale: 2}, me30)
	VBROADCASTSS(wino43Const(2), Y10)
	VBROADCASTSS(wino43Const(4), Y11)
	VBROADCASTSS(wino43Const(8), Y12)
	b, err := Param("bias").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(b.Addr, Y13)
	VXORPS(Y14, Y14, Y14)
	// step transforms 8 tiles (ymm) or 4 (xmm) and stores them, masked or whole; end is
	// the label after it (masked steps skip the rows from nrows on).
	step := func(lanes int, masked bool, end string) {
		v := vregs(lanes)
		two, four, eight, bias, zero := v(10), v(11), v(12), v(13), v(14)
		name := fmt.Sprintf("wino43out_%d_%t", lanes, masked)
		if masked {
			VMOVQ(rem, X15)
			VPBROADCASTD(X15, Y15)
			VMOVDQU(Y15, remv)
		}
		for q := 0; q < 6; q++ {
			// Column q: m[r][q] from plane 6r+q, s[i][q] to tmp[6i+q].
			LEAQ(wino43At(mp, q, me, me3, me5), p)
			m := [6]VecPhysical{v(0), v(1), v(2), v(3), v(4), v(5)}
			for r := 0; r < 6; r++ {
				VMOVUPS(wino43At(p, r, me6, me18, me30), m[r])
			}
			y := wino43AT(m, two, four, eight)
			for i := 0; i < 4; i++ {
				VMOVUPS(y[i], tmp.Offset(32*(6*i+q)))
			}
		}
		for i := 0; i < 4; i++ {
			if masked && i > 0 {
				CMPQ(nrows, U8(i+1))
				JL(LabelRef(end))
			}
			m := [6]VecPhysical{v(0), v(1), v(2), v(3), v(4), v(5)}
			for q := 0; q < 6; q++ {
				VMOVUPS(tmp.Offset(32*(6*i+q)), m[q])
			}
			y := wino43AT(m, two, four, eight)
			for k := 0; k < 4; k++ {
				VADDPS(bias, y[k], y[k])
			}
			norelu := fmt.Sprintf("%s_norelu%d", name, i)
			TESTB(relu.As8(), relu.As8())
			JZ(LabelRef(norelu))
			for k := 0; k < 4; k++ {
				// y first: MAXPS returns its second (Intel) source when either is NaN.
				VMAXPS(y[k], zero, y[k])
			}
			Label(norelu)
			// In-lane 4×4 transpose: O[j] = tile j (| tile j+4), each y0..y3.
			VUNPCKLPS(y[1], y[0], v(6))
			VUNPCKHPS(y[1], y[0], v(7))
			VUNPCKLPS(y[3], y[2], v(8))
			VUNPCKHPS(y[3], y[2], v(9))
			VUNPCKLPD(v(8), v(6), v(0)) // tiles 0 | 4
			VUNPCKHPD(v(8), v(6), v(1)) // tiles 1 | 5
			VUNPCKLPD(v(9), v(7), v(2)) // tiles 2 | 6
			VUNPCKHPD(v(9), v(7), v(3)) // tiles 3 | 7
			regs := []VecPhysical{X0, X1, X2, X3}
			if lanes == 8 {
				VPERM2F128(U8(0x20), Y1, Y0, Y4) // tiles 0, 1
				VPERM2F128(U8(0x20), Y3, Y2, Y5) // tiles 2, 3
				VPERM2F128(U8(0x31), Y1, Y0, Y6) // tiles 4, 5
				VPERM2F128(U8(0x31), Y3, Y2, Y7) // tiles 6, 7
				regs = []VecPhysical{Y4, Y5, Y6, Y7}
			}
			row := wino43At(out, i, ldo, ldo3, ldo3)
			for k, r := range regs {
				at := row.Offset(4 * lanes * k)
				if !masked {
					VMOVUPS(r, at)
					continue
				}
				// Lanes 4·lanes·k/4.. of the step: columns past rem are masked off.
				mask := sized(Y15, r)
				VMOVDQU(remv, Y15)
				VPCMPGTD(iota.Offset(4*lanes*k), mask, mask)
				VMASKMOVPS(r, mask, at)
			}
		}
		Label(end)
		ADDQ(U8(4*lanes), mp)
		if lanes == 8 {
			SUBQ(I8(-128), out)
		} else {
			ADDQ(U8(64), out)
		}
	}
	Label("wino43out_loop")
	CMPQ(rem, U8(16))
	JLE(LabelRef("wino43out_tail"))
	CMPQ(rem, U8(32))
	JL(LabelRef("wino43out_masked8"))
	CMPQ(nrows, U8(4))
	JL(LabelRef("wino43out_masked8"))
	step(8, false, "wino43out_end8")
	SUBQ(U8(32), rem)
	JG(LabelRef("wino43out_loop"))
	JMP(LabelRef("wino43out_done"))
	Label("wino43out_masked8")
	step(8, true, "wino43out_end8m")
	SUBQ(U8(32), rem)
	JG(LabelRef("wino43out_loop"))
	JMP(LabelRef("wino43out_done"))
	Label("wino43out_tail")
	CMPQ(rem, U8(16))
	JL(LabelRef("wino43out_masked4"))
	CMPQ(nrows, U8(4))
	JL(LabelRef("wino43out_masked4"))
	step(4, false, "wino43out_end4")
	JMP(LabelRef("wino43out_done"))
	Label("wino43out_masked4")
	step(4, true, "wino43out_end4m")
	Label("wino43out_done")
	VZEROUPPER()
	RET()
}
