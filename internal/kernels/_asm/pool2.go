package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// maxPool3x3S2 emits maxPool3x3S2F32AVX2(d []float32, ds int, r0, r1, r2 []float32, rs,
// rows, n int, edge bool) bool: rows output rows of n >= 8 stride-2 3×3 maxima read in place
// from three input row pointers (rs apart per output row) with VMAXPS, and whether rows 1
// and 2 hold a NaN or -0 (where VMAXPS is not Go's max). A step makes 8 outputs from the
// input columns c..c+16: the vertical maxima of the three rows at c, c+8, c+2 and c+9, then
// VSHUFPS picks their columns 2i, 2i+1 and 2i+2, all in the same lane order
// [0 1 4 5 | 2 3 6 7], so that one VPERMPD after the two horizontal VMAXPS puts the 8 maxima
// in order. A row has (n-1)/8 steps from column 0 and a last step ending at output n-1
// (overlapping the one before unless 8 divides n), so that nothing past column 2n is read.
// With edge, the last window lacks its third column: the last step takes the columns 2i+2
// from the vertical maxima at c+8 (VPERMPS), the last one from column 2n-1 (its column 2i+1
// again). The columns c..c+15 of rows 1 and 2, and column 2n at the last step, are checked
// on the side: their unordered compares (NaN) ORed, their signed minimum as integers
// (0x80000000 only with a -0); the memory is read once, and the checks fit in the time it
// takes to come from L3.
func maxPool3x3S2() {
	name := "maxPool3x3S2F32AVX2"
	TEXT(name, NOSPLIT, "func(d []float32, ds int, r0, r1, r2 []float32, rs, rows, n int, edge bool) bool")
	Doc(name + " computes rows of 3×3 stride-2 maxima, for inputs without NaN or -0: see the Go declaration.")
	d, ds, rs, rows := RDI, R8, R9, R10
	r := []GPPhysical{RSI, R11, R12}
	steps, k, o, last, edge := RBX, RCX, RDX, R13, RAX
	Load(Param("d").Base(), d)
	Load(Param("ds"), ds)
	Load(Param("r0").Base(), r[0])
	Load(Param("r1").Base(), r[1])
	Load(Param("r2").Base(), r[2])
	Load(Param("rs"), rs)
	Load(Param("rows"), rows)
	Load(Param("n"), steps)
	Load(Param("edge"), edge)
	SHLQ(U8(2), ds)
	SHLQ(U8(2), rs)
	LEAQ(Mem{Base: steps, Disp: -8}, last)
	SHLQ(U8(2), last) // the last step's output offset in bytes: 4*(n-8)
	DECQ(steps)
	SHRQ(U8(3), steps) // (n-1)/8 steps before the last
	// Y15: the VPERMPS indices of the edge step, lanes 1, 3, 5, 7 from 2, 4, 6, 7.
	idx := GLOBL("maxPool3x3S2Edge", RODATA|NOPTR)
	for i, v := range []uint32{0, 2, 0, 4, 0, 6, 0, 7} {
		DATA(4*i, U32(v))
	}
	VMOVDQU(idx, Y15)
	nan, min0, min1 := Y12, Y13, Y14
	VXORPS(nan, nan, nan)
	VPCMPEQD(min0, min0, min0)
	VPSRLD(U8(1), min0, min0) // 0x7fffffff
	VMOVDQA(min0, min1)
	TESTQ(rows, rows)
	JZ(LabelRef(name + "_done"))

	at := func(p GPPhysical, disp int) Mem { return Mem{Base: p, Index: o, Scale: 2, Disp: disp} }
	// vmax sets v to the vertical maximum of the 8 columns at byte offset disp from the
	// step's first input column (2*o bytes into the rows); with check, it checks rows 1 and 2
	// there (t1, t2 scratch).
	vmax := func(disp int, v VecPhysical, check bool) {
		if !check {
			VMOVUPS(at(r[0], disp), v)
			VMAXPS(at(r[1], disp), v, v)
			VMAXPS(at(r[2], disp), v, v)
			return
		}
		t1, t2 := Y8, Y9
		VMOVUPS(at(r[1], disp), t1)
		VMOVUPS(at(r[2], disp), t2)
		VMAXPS(t2, t1, v)
		VMAXPS(at(r[0], disp), v, v)
		VCMPPS(U8(3), t2, t1, Y10) // unordered: a NaN
		VORPS(Y10, nan, nan)
		VPMINSD(t1, min0, min0)
		VPMINSD(t2, min1, min1)
	}
	// step makes the 8 outputs at byte offset o: last adds column 2n's check, edge the
	// last window without its third column.
	step := func(last, edge bool) {
		a, b, a2, b2 := Y0, Y1, Y2, Y3
		vmax(0, a, true)   // columns c..c+7
		vmax(32, b, true)  // c+8..c+15
		vmax(8, a2, false) // c+2..c+9
		if edge {
			VPERMPS(b, Y15, b2) // lanes 1, 3, 5, 7: c+10, c+12, c+14, c+15
		} else {
			vmax(36, b2, last) // c+9..c+16
		}
		VSHUFPS(U8(0x88), b, a, Y4)   // columns 2i:   [0 2 8 10 | 4 6 12 14]
		VSHUFPS(U8(0xdd), b, a, Y5)   // columns 2i+1: [1 3 9 11 | 5 7 13 15]
		VSHUFPS(U8(0xd8), b2, a2, Y6) // columns 2i+2: [2 4 10 12 | 6 8 14 16]
		VMAXPS(Y5, Y4, Y4)
		VMAXPS(Y6, Y4, Y4)
		VPERMPD(U8(0xd8), Y4, Y4)
		VMOVUPS(Y4, Mem{Base: d, Index: o, Scale: 1})
	}

	Label(name + "_row")
	XORQ(o, o)
	MOVQ(steps, k)
	TESTQ(k, k)
	JZ(LabelRef(name + "_last"))
	Label(name + "_loop")
	step(false, false)
	ADDQ(U8(32), o)
	DECQ(k)
	JNZ(LabelRef(name + "_loop"))
	Label(name + "_last")
	MOVQ(last, o)
	TESTB(AL, AL)
	JNZ(LabelRef(name + "_edge"))
	step(true, false)
	JMP(LabelRef(name + "_next"))
	Label(name + "_edge")
	step(true, true)
	Label(name + "_next")
	ADDQ(ds, d)
	for _, p := range r {
		ADDQ(rs, p)
	}
	DECQ(rows)
	JNZ(LabelRef(name + "_row"))
	Label(name + "_done")
	VPMINSD(min1, min0, min0)
	VPCMPEQD(Y4, Y4, Y4)
	VPSLLD(U8(31), Y4, Y4) // 0x80000000: -0
	VPCMPEQD(Y4, min0, min0)
	VPOR(min0, nan, nan)
	VPTEST(nan, nan)
	SETNE(AL)
	VZEROUPPER()
	Store(AL, ReturnIndex(0))
	RET()
}

// anyNaNNegZero emits anyNaNNegZeroF32AVX2(x []float32) bool: whether any of the first
// len(x)/8*8 values is a NaN or -0, 32 at a time then 8 at a time: VCMPPS (unordered) finds
// NaNs two vectors at a time, and the signed minimum of the bits (VPMINSD) is
// 0x80000000 only if a -0 is there.
func anyNaNNegZero() {
	name := "anyNaNNegZeroF32AVX2"
	TEXT(name, NOSPLIT, "func(x []float32) bool")
	Doc(name + " reports whether x holds a NaN or -0: see the Go declaration.")
	x, n, n4 := RSI, RCX, RDX
	Load(Param("x").Base(), x)
	Load(Param("x").Len(), n)
	nan0, nan1, min0, min1 := Y0, Y1, Y2, Y3
	VXORPS(nan0, nan0, nan0)
	VXORPS(nan1, nan1, nan1)
	VPCMPEQD(min0, min0, min0)
	VPSRLD(U8(1), min0, min0) // 0x7fffffff
	VMOVDQA(min0, min1)
	SHRQ(U8(3), n)
	MOVQ(n, n4)
	SHRQ(U8(2), n4)
	JZ(LabelRef(name + "_one"))
	Label(name + "_four")
	VMOVUPS(Mem{Base: x}, Y4)
	VMOVUPS(Mem{Base: x, Disp: 32}, Y5)
	VMOVUPS(Mem{Base: x, Disp: 64}, Y6)
	VMOVUPS(Mem{Base: x, Disp: 96}, Y7)
	VCMPPS(U8(3), Y5, Y4, Y8)
	VCMPPS(U8(3), Y7, Y6, Y9)
	VORPS(Y8, nan0, nan0)
	VORPS(Y9, nan1, nan1)
	VPMINSD(Y4, min0, min0)
	VPMINSD(Y5, min1, min1)
	VPMINSD(Y6, min0, min0)
	VPMINSD(Y7, min1, min1)
	ADDQ(U8(128), x)
	DECQ(n4)
	JNZ(LabelRef(name + "_four"))
	Label(name + "_one")
	ANDQ(U8(3), n)
	JZ(LabelRef(name + "_done"))
	Label(name + "_oneloop")
	VMOVUPS(Mem{Base: x}, Y4)
	VCMPPS(U8(3), Y4, Y4, Y8)
	VORPS(Y8, nan0, nan0)
	VPMINSD(Y4, min0, min0)
	ADDQ(U8(32), x)
	DECQ(n)
	JNZ(LabelRef(name + "_oneloop"))
	Label(name + "_done")
	VPMINSD(min1, min0, min0)
	VORPS(nan1, nan0, nan0)
	VPCMPEQD(Y4, Y4, Y4)
	VPSLLD(U8(31), Y4, Y4) // 0x80000000: -0
	VPCMPEQD(Y4, min0, min0)
	VPOR(min0, nan0, nan0)
	VPTEST(nan0, nan0)
	SETNE(AL)
	VZEROUPPER()
	Store(AL, ReturnIndex(0))
	RET()
}
