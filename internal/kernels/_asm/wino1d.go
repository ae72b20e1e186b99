package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// wino27Consts holds the F(2, 7) transforms' constants, each as 8 float32 lanes (a memory
// operand of VMULPS), in the order of wino27ConstValues.
var wino27Consts Mem

// wino27ConstValues are the constants of wino27Consts.
var wino27ConstValues = []float32{5.25, 4.25, 2.5, 0.25, 1.25, 0.5, 2, 4, 5}

// wino27Const returns the address of 8 lanes of the constant v, emitting the table once.
func wino27Const(v float32) Mem {
	if wino27Consts.Symbol.Name == "" {
		wino27Consts = GLOBL("wino27_consts", RODATA|NOPTR)
		for i, c := range wino27ConstValues {
			for l := 0; l < 8; l++ {
				DATA(32*i+4*l, U32(math.Float32bits(c)))
			}
		}
	}
	for i, c := range wino27ConstValues {
		if c == v {
			return wino27Consts.Offset(32 * i)
		}
	}
	panic("no wino27 constant")
}

// wino27At returns the address base + i*x (i < 4) given x1, x3 = x, 3x.
func wino27At(base GPPhysical, i int, x1, x3 GPPhysical) Mem {
	switch i {
	case 0:
		return Mem{Base: base}
	case 1:
		return Mem{Base: base, Index: x1, Scale: 1}
	case 2:
		return Mem{Base: base, Index: x1, Scale: 2}
	}
	return Mem{Base: base, Index: x3, Scale: 1}
}

// wino27Input emits wino27InputF32AVX2: the Winograd F(2, 7) input transform of rows of
// tiles, 8 tiles per step, d_k a contiguous load (k even from the row's src, k odd from
// src+s1, each k/2*s2 further on), then the operations of the Go wino27BT in their order,
// multiplies and adds apart.
func wino27Input() {
	TEXT("wino27InputF32AVX2", NOSPLIT, "func(src []float32, s1, s2, ss int, dst []float32, ve, n, rows int)")
	Doc("wino27InputF32AVX2 computes rows of F(2, 7) input transforms: see the Go declaration.")
	src0, src1, s2, s23, d0, d4, ve, ve3 := RSI, RDI, R8, R9, R10, R11, RAX, RBX
	cnt, steps, rows, dsrc, ddst := RCX, RDX, R12, R13, R14
	Load(Param("src").Base(), src0)
	Load(Param("s1"), src1)
	LEAQ(Mem{Base: src0, Index: src1, Scale: 4}, src1)
	Load(Param("s2"), s2)
	SHLQ(U8(2), s2)
	LEAQ(Mem{Base: s2, Index: s2, Scale: 2}, s23)
	Load(Param("dst").Base(), d0)
	Load(Param("ve"), ve)
	SHLQ(U8(2), ve)
	LEAQ(Mem{Base: ve, Index: ve, Scale: 2}, ve3)
	LEAQ(Mem{Base: d0, Index: ve, Scale: 4}, d4)
	Load(Param("n"), steps)
	Load(Param("rows"), rows)
	// After a row's steps, the pointers move on by ss (source) and n (destination) floats
	// less what the steps advanced them.
	Load(Param("ss"), dsrc)
	SHLQ(U8(2), dsrc)
	MOVQ(steps, ddst)
	SHLQ(U8(2), ddst)
	ADDQ(U8(7), steps)
	SHRQ(U8(3), steps)
	MOVQ(steps, cnt)
	SHLQ(U8(5), cnt)
	SUBQ(cnt, dsrc)
	SUBQ(cnt, ddst)
	d := [8]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}
	store := func(e int, v VecPhysical) {
		base := d0
		if e >= 4 {
			base = d4
		}
		VMOVUPS(v, wino27At(base, e%4, ve, ve3))
	}
	Label("wino27in_row")
	MOVQ(steps, cnt)
	Label("wino27in_loop")
	for k := 0; k < 8; k++ {
		base := src0
		if k%2 == 1 {
			base = src1
		}
		VMOVUPS(wino27At(base, k/2, s2, s23), d[k])
	}
	// v0 = (d0-d6) + 21/4·(d4-d2); v7 = (d7-d1) + 21/4·(d3-d5).
	VSUBPS(d[6], d[0], Y8)
	VSUBPS(d[2], d[4], Y9)
	VMULPS(wino27Const(5.25), Y9, Y9)
	VADDPS(Y9, Y8, Y8)
	store(0, Y8)
	VSUBPS(d[1], d[7], Y8)
	VSUBPS(d[5], d[3], Y9)
	VMULPS(wino27Const(5.25), Y9, Y9)
	VADDPS(Y9, Y8, Y8)
	store(7, Y8)
	// pair emits v_e, v_{e+1} = a+b, a-b from a in Y8, b in Y10.
	pair := func(e int) {
		VADDPS(Y10, Y8, Y9)
		VSUBPS(Y10, Y8, Y8)
		store(e, Y9)
		store(e+1, Y8)
	}
	// a = (d2+d6) - 17/4·d4; b = (d1+d5) - 17/4·d3.
	VADDPS(d[6], d[2], Y8)
	VMULPS(wino27Const(4.25), d[4], Y9)
	VSUBPS(Y9, Y8, Y8)
	VADDPS(d[5], d[1], Y10)
	VMULPS(wino27Const(4.25), d[3], Y11)
	VSUBPS(Y11, Y10, Y10)
	pair(1)
	d3x := Y7 // 5/2·d3 (d7 is done with)
	VMULPS(wino27Const(2.5), d[3], d3x)
	// a = (¼d2 + d6) - 5/4·d4; b = (½d1 + 2d5) - 5/2·d3.
	VMULPS(wino27Const(0.25), d[2], Y8)
	VADDPS(d[6], Y8, Y8)
	VMULPS(wino27Const(1.25), d[4], Y9)
	VSUBPS(Y9, Y8, Y8)
	VMULPS(wino27Const(0.5), d[1], Y10)
	VMULPS(wino27Const(2), d[5], Y11)
	VADDPS(Y11, Y10, Y10)
	VSUBPS(d3x, Y10, Y10)
	pair(3)
	// a = (4d2 + d6) - 5·d4; b = (2d1 + ½d5) - 5/2·d3.
	VMULPS(wino27Const(4), d[2], Y8)
	VADDPS(d[6], Y8, Y8)
	VMULPS(wino27Const(5), d[4], Y9)
	VSUBPS(Y9, Y8, Y8)
	VMULPS(wino27Const(2), d[1], Y10)
	VMULPS(wino27Const(0.5), d[5], Y11)
	VADDPS(Y11, Y10, Y10)
	VSUBPS(d3x, Y10, Y10)
	pair(5)
	for _, r := range []GPPhysical{src0, src1, d0, d4} {
		ADDQ(U8(32), r)
	}
	DECQ(cnt)
	JNZ(LabelRef("wino27in_loop"))
	ADDQ(dsrc, src0)
	ADDQ(dsrc, src1)
	ADDQ(ddst, d0)
	ADDQ(ddst, d4)
	DECQ(rows)
	JNZ(LabelRef("wino27in_row"))
	VZEROUPPER()
	RET()
}

// wino27Iota holds 0..15 (int32), to build store masks.
var wino27Iota Mem

// wino27Output emits wino27OutputRowsF32AVX2 (zip false: a tile's two outputs go to two
// rows, 8 columns per step) or wino27OutputZipF32AVX2 (zip true: to two consecutive columns,
// interleaved, 16 columns per step), row of tiles after row: the operations of the Go
// wino27AT in their order, bias, ReLU, and stores masked (VMASKMOVPS) to columns < ncols in
// the last step of a row.
func wino27Output(zip bool) {
	if wino27Iota.Symbol.Name == "" {
		wino27Iota = GLOBL("wino27_iota", RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(i))
		}
	}
	name, sig, step := "wino27OutputRowsF32AVX2", "func(m []float32, me int, out []float32, ldo, ncols, nrows, ntr int, bias float32, relu bool)", 8
	if zip {
		name, sig, step = "wino27OutputZipF32AVX2", "func(m []float32, me int, out []float32, ldo, ncols, rows int, bias float32, relu bool)", 16
	}
	TEXT(name, NOSPLIT, sig)
	Doc(name + " computes rows of F(2, 7) output transforms: see the Go declaration.")
	mp, mp4, me, me3, out, ldo, rem, nrows, relu := RSI, R10, RAX, RBX, RDI, R8, RCX, RDX, R9
	ncols, ntr, dm, dout := R11, R12, R13, R14
	Load(Param("m").Base(), mp)
	Load(Param("me"), me)
	SHLQ(U8(2), me)
	LEAQ(Mem{Base: me, Index: me, Scale: 2}, me3)
	Load(Param("out").Base(), out)
	Load(Param("ldo"), ldo)
	SHLQ(U8(2), ldo)
	Load(Param("ncols"), ncols)
	if zip {
		Load(Param("rows"), ntr)
	} else {
		Load(Param("nrows"), nrows)
		Load(Param("ntr"), ntr)
	}
	Load(Param("relu"), relu.As8())
	// After a row's steps (dm bytes of M, 2*dm of zipped output or dm of each output
	// row), M moves on to the next row of tiles and out to the next output row (pair).
	MOVQ(ncols, dm)
	ADDQ(U8(step-1), dm)
	SHRQ(U8(log2(step)), dm)
	SHLQ(U8(5), dm)
	MOVQ(dm, dout)
	NEGQ(dm)
	NEGQ(dout)
	if zip {
		ADDQ(dout, dout)
		ADDQ(ldo, dout)
		MOVQ(ncols, rem)
		INCQ(rem)
		SHRQ(U8(1), rem)
		LEAQ(Mem{Base: dm, Index: rem, Scale: 4}, dm)
	} else {
		LEAQ(Mem{Base: dout, Index: ldo, Scale: 2}, dout)
		LEAQ(Mem{Base: dm, Index: ncols, Scale: 4}, dm)
	}
	bias, zero := Y14, Y15
	b, err := Param("bias").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(b.Addr, bias)
	VXORPS(zero, zero, zero)
	label := func(s string) string { return name + "_" + s }
	Label(label("row"))
	MOVQ(ncols, rem)
	Label(label("loop"))
	LEAQ(Mem{Base: mp, Index: me, Scale: 4}, mp4)
	m := [8]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7}
	for e := 0; e < 8; e++ {
		base := mp
		if e >= 4 {
			base = mp4
		}
		VMOVUPS(wino27At(base, e%4, me, me3), m[e])
	}
	y0, y1 := Y8, Y9
	// y0 = ((m1+m2) + (m3+m4)) + ((m5+m6) + m0)
	VADDPS(m[2], m[1], y0)
	VADDPS(m[4], m[3], Y10)
	VADDPS(Y10, y0, y0)
	VADDPS(m[6], m[5], Y10)
	VADDPS(m[0], Y10, Y10)
	VADDPS(Y10, y0, y0)
	// y1 = ((m1-m2) + 2(m3-m4)) + (½(m5-m6) + m7); x+x is 2x exactly.
	VSUBPS(m[2], m[1], y1)
	VSUBPS(m[4], m[3], Y10)
	VADDPS(Y10, Y10, Y10)
	VADDPS(Y10, y1, y1)
	VSUBPS(m[6], m[5], Y10)
	VMULPS(wino27Const(0.5), Y10, Y10)
	VADDPS(m[7], Y10, Y10)
	VADDPS(Y10, y1, y1)
	VADDPS(bias, y0, y0)
	VADDPS(bias, y1, y1)
	TESTB(relu.As8(), relu.As8())
	JZ(LabelRef(label("norelu")))
	// y first: MAXPS returns its second (Intel) source when either is NaN.
	VMAXPS(y0, zero, y0)
	VMAXPS(y1, zero, y1)
	Label(label("norelu"))
	v0, v1 := y0, y1 // the two vectors stored: rows 0 and 1, or columns 0..7 and 8..15
	if zip {
		// The unpacks give columns [0..3 | 8..11] and [4..7 | 12..15], VPERM2F128 puts
		// the 128-bit halves in order.
		VUNPCKLPS(y1, y0, Y10)
		VUNPCKHPS(y1, y0, Y11)
		v0, v1 = Y12, Y13
		VPERM2F128(U8(0x20), Y11, Y10, v0)
		VPERM2F128(U8(0x31), Y11, Y10, v1)
	}
	second := Mem{Base: out, Disp: 32}
	if !zip {
		second = Mem{Base: out, Index: ldo, Scale: 1}
	}
	CMPQ(rem, U8(step))
	JL(LabelRef(label("masked")))
	VMOVUPS(v0, Mem{Base: out})
	if !zip {
		CMPQ(nrows, U8(2))
		JL(LabelRef(label("next")))
	}
	VMOVUPS(v1, second)
	Label(label("next"))
	ADDQ(U8(32), mp)
	ADDQ(U8(4*step), out)
	SUBQ(U8(step), rem)
	JG(LabelRef(label("loop")))
	JMP(LabelRef(label("rowend")))

	Label(label("masked"))
	// Columns rem.. are past the row: store under mask[j] = rem > j.
	VMOVQ(rem, X10)
	VPBROADCASTD(X10, Y10)
	VPCMPGTD(wino27Iota, Y10, Y11)
	VMASKMOVPS(v0, Y11, Mem{Base: out})
	if zip {
		VPCMPGTD(wino27Iota.Offset(32), Y10, Y11)
	} else {
		CMPQ(nrows, U8(2))
		JL(LabelRef(label("maskedend")))
	}
	VMASKMOVPS(v1, Y11, second)
	Label(label("maskedend"))
	ADDQ(U8(32), mp)
	ADDQ(U8(4*step), out)
	Label(label("rowend"))
	ADDQ(dm, mp)
	ADDQ(dout, out)
	DECQ(ntr)
	JNZ(LabelRef(label("row")))
	VZEROUPPER()
	RET()
}
