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

// wino27Iota holds 0..15 (int32), to build store masks.
var wino27Iota Mem

// wino27IotaAt returns the address of iota[i:], emitting the table once.
func wino27IotaAt(i int) Mem {
	if wino27Iota.Symbol.Name == "" {
		wino27Iota = GLOBL("wino27_iota", RODATA|NOPTR)
		for i := 0; i < 16; i++ {
			DATA(4*i, U32(i))
		}
	}
	return wino27Iota.Offset(4 * i)
}

// wino27At returns the address base + i*x (i < 4) given x1, x3 = x, 3x: wino43At's, whose 5x
// only i = 5 reads.
func wino27At(base GPPhysical, i int, x1, x3 GPPhysical) Mem {
	return wino43At(base, i, x1, x3, x3)
}

// vregs returns registers 0..15 of a width: 8 lanes (ymm) or 4 (xmm).
func vregs(lanes int) func(i int) VecPhysical {
	if lanes == 4 {
		return func(i int) VecPhysical {
			return []VecPhysical{X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15}[i]
		}
	}
	return yreg
}

// wino27Input emits wino27InputF32AVX2: the Winograd F(2, 7) input transform of rows of
// tiles, 8 tiles per step and a last step of 4 when that covers the row, d_k a contiguous
// load (k even from the row's src, k odd from src+s1, each k/2*s2 further on), then the
// operations of the Go wino27BT in their order, multiplies and adds apart.
func wino27Input() {
	TEXT("wino27InputF32AVX2", NOSPLIT, "func(src []float32, s1, s2, ss int, dst []float32, ve, n, rows int)")
	Doc("wino27InputF32AVX2 computes rows of F(2, 7) input transforms: see the Go declaration.")
	src0, src1, s2, s23, d0, d4, ve, ve3 := RSI, RDI, R8, R9, R10, R11, RAX, RBX
	cnt, quads, rows, dsrc, ddst := RCX, RDX, R12, R13, R14
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
	Load(Param("rows"), rows)
	// A row is quads steps of 4 tiles (n rounded up to 4), taken two at a time. After a
	// row, the pointers move on by ss (source) and n (destination) floats less the 16*quads
	// bytes the steps advanced them.
	Load(Param("n"), ddst)
	LEAQ(Mem{Base: ddst, Disp: 3}, quads)
	SHRQ(U8(2), quads)
	SHLQ(U8(2), ddst)
	Load(Param("ss"), dsrc)
	SHLQ(U8(2), dsrc)
	MOVQ(quads, cnt)
	SHLQ(U8(4), cnt)
	SUBQ(cnt, dsrc)
	SUBQ(cnt, ddst)
	// step transforms 4 or 8 tiles.
	step := func(lanes int) {
		v := vregs(lanes)
		d := [8]VecPhysical{v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7)}
		store := func(e int, r VecPhysical) {
			base := d0
			if e >= 4 {
				base = d4
			}
			VMOVUPS(r, wino27At(base, e%4, ve, ve3))
		}
		for k := 0; k < 8; k++ {
			base := src0
			if k%2 == 1 {
				base = src1
			}
			VMOVUPS(wino27At(base, k/2, s2, s23), d[k])
		}
		t0, t1, t2, t3 := v(8), v(9), v(10), v(11)
		// v0 = (d0-d6) + 21/4·(d4-d2); v7 = (d7-d1) + 21/4·(d3-d5).
		VSUBPS(d[6], d[0], t0)
		VSUBPS(d[2], d[4], t1)
		VMULPS(wino27Const(5.25), t1, t1)
		VADDPS(t1, t0, t0)
		store(0, t0)
		VSUBPS(d[1], d[7], t0)
		VSUBPS(d[5], d[3], t1)
		VMULPS(wino27Const(5.25), t1, t1)
		VADDPS(t1, t0, t0)
		store(7, t0)
		// pair stores v_e, v_{e+1} = a+b, a-b from a in t0, b in t2.
		pair := func(e int) {
			VADDPS(t2, t0, t1)
			VSUBPS(t2, t0, t0)
			store(e, t1)
			store(e+1, t0)
		}
		// a = (d2+d6) - 17/4·d4; b = (d1+d5) - 17/4·d3.
		VADDPS(d[6], d[2], t0)
		VMULPS(wino27Const(4.25), d[4], t1)
		VSUBPS(t1, t0, t0)
		VADDPS(d[5], d[1], t2)
		VMULPS(wino27Const(4.25), d[3], t3)
		VSUBPS(t3, t2, t2)
		pair(1)
		d3x := d[7] // 5/2·d3 (d7 is done with)
		VMULPS(wino27Const(2.5), d[3], d3x)
		// a = (¼d2 + d6) - 5/4·d4; b = (½d1 + 2d5) - 5/2·d3.
		VMULPS(wino27Const(0.25), d[2], t0)
		VADDPS(d[6], t0, t0)
		VMULPS(wino27Const(1.25), d[4], t1)
		VSUBPS(t1, t0, t0)
		VMULPS(wino27Const(0.5), d[1], t2)
		VMULPS(wino27Const(2), d[5], t3)
		VADDPS(t3, t2, t2)
		VSUBPS(d3x, t2, t2)
		pair(3)
		// a = (4d2 + d6) - 5·d4; b = (2d1 + ½d5) - 5/2·d3.
		VMULPS(wino27Const(4), d[2], t0)
		VADDPS(d[6], t0, t0)
		VMULPS(wino27Const(5), d[4], t1)
		VSUBPS(t1, t0, t0)
		VMULPS(wino27Const(2), d[1], t2)
		VMULPS(wino27Const(0.5), d[5], t3)
		VADDPS(t3, t2, t2)
		VSUBPS(d3x, t2, t2)
		pair(5)
		for _, r := range []GPPhysical{src0, src1, d0, d4} {
			ADDQ(U8(4*lanes), r)
		}
	}
	Label("wino27in_row")
	MOVQ(quads, cnt)
	SHRQ(U8(1), cnt)
	JZ(LabelRef("wino27in_tail"))
	Label("wino27in_loop")
	step(8)
	DECQ(cnt)
	JNZ(LabelRef("wino27in_loop"))
	Label("wino27in_tail")
	TESTQ(U32(1), quads)
	JZ(LabelRef("wino27in_rowend"))
	step(4)
	Label("wino27in_rowend")
	ADDQ(dsrc, src0)
	ADDQ(dsrc, src1)
	ADDQ(ddst, d0)
	ADDQ(ddst, d4)
	DECQ(rows)
	JNZ(LabelRef("wino27in_row"))
	VZEROUPPER()
	RET()
}

// wino27Output emits wino27OutputRowsF32AVX2 (zip false: a tile's two outputs go to two
// rows) or wino27OutputZipF32AVX2 (zip true: to two consecutive columns, interleaved), row
// of tiles after row, 8 tiles per step and a last step of 4 when that covers the row: the
// operations of the Go wino27AT in their order, bias, ReLU, and stores masked (VMASKMOVPS)
// to columns < ncols in the last step of a row.
func wino27Output(zip bool) {
	name, sig := "wino27OutputRowsF32AVX2", "func(m []float32, me int, out []float32, ldo, ncols, nrows, ntr int, bias float32, relu bool)"
	if zip {
		name, sig = "wino27OutputZipF32AVX2", "func(m []float32, me int, out []float32, ldo, ncols, rows int, bias float32, relu bool)"
	}
	cols := 1 // output columns per tile
	if zip {
		cols = 2
	}
	TEXT(name, NOSPLIT, sig)
	Doc(name + " computes rows of F(2, 7) output transforms: see the Go declaration.")
	mp, mp4, me, me3, out, ldo, rem, ntr := RSI, R10, RAX, RBX, RDI, R8, RCX, R12
	mrow, orow, mstride, ostride := R9, R11, R13, R14
	Load(Param("m").Base(), mrow)
	Load(Param("me"), me)
	SHLQ(U8(2), me)
	LEAQ(Mem{Base: me, Index: me, Scale: 2}, me3)
	Load(Param("out").Base(), orow)
	Load(Param("ldo"), ldo)
	SHLQ(U8(2), ldo)
	// Rows of tiles are (ncols+cols-1)/cols floats apart in M; output rows (or pairs) ldo
	// (2*ldo) apart.
	Load(Param("ncols"), mstride)
	if zip {
		Load(Param("rows"), ntr)
		INCQ(mstride)
		SHRQ(U8(1), mstride)
		MOVQ(ldo, ostride)
	} else {
		Load(Param("ntr"), ntr)
		LEAQ(Mem{Base: ldo, Index: ldo, Scale: 1}, ostride)
	}
	SHLQ(U8(2), mstride)
	resolve := func(name string) Mem {
		p, err := Param(name).Resolve()
		if err != nil {
			panic(err)
		}
		return p.Addr
	}
	bias, zero := Y14, Y15
	VBROADCASTSS(resolve("bias"), bias)
	VXORPS(zero, zero, zero)
	label := func(s string) string { return name + "_" + s }
	// step transforms 4 or 8 tiles and stores them, under masks when rem < cols*lanes.
	step := func(lanes int, masked bool) {
		v := vregs(lanes)
		LEAQ(Mem{Base: mp, Index: me, Scale: 4}, mp4)
		m := [8]VecPhysical{v(0), v(1), v(2), v(3), v(4), v(5), v(6), v(7)}
		for e := 0; e < 8; e++ {
			base := mp
			if e >= 4 {
				base = mp4
			}
			VMOVUPS(wino27At(base, e%4, me, me3), m[e])
		}
		y0, y1, t := v(8), v(9), v(10)
		// y0 = ((m1+m2) + (m3+m4)) + ((m5+m6) + m0)
		VADDPS(m[2], m[1], y0)
		VADDPS(m[4], m[3], t)
		VADDPS(t, y0, y0)
		VADDPS(m[6], m[5], t)
		VADDPS(m[0], t, t)
		VADDPS(t, y0, y0)
		// y1 = ((m1-m2) + 2(m3-m4)) + (½(m5-m6) + m7); x+x is 2x exactly.
		VSUBPS(m[2], m[1], y1)
		VSUBPS(m[4], m[3], t)
		VADDPS(t, t, t)
		VADDPS(t, y1, y1)
		VSUBPS(m[6], m[5], t)
		VMULPS(wino27Const(0.5), t, t)
		VADDPS(m[7], t, t)
		VADDPS(t, y1, y1)
		VADDPS(v(14), y0, y0) // bias, zero: Y14, Y15 or their low halves
		VADDPS(v(14), y1, y1)
		norelu := label("norelu" + string(rune('0'+lanes)))
		if masked {
			norelu += "m"
		}
		CMPB(resolve("relu"), U8(0))
		JE(LabelRef(norelu))
		// y first: MAXPS returns its second (Intel) source when either is NaN.
		VMAXPS(y0, v(15), y0)
		VMAXPS(y1, v(15), y1)
		Label(norelu)
		s0, s1 := y0, y1 // the two vectors stored: rows 0 and 1, or the first and second lanes*4 bytes
		if zip {
			VUNPCKLPS(y1, y0, v(10))
			VUNPCKHPS(y1, y0, v(11))
			s0, s1 = v(10), v(11)
			if lanes == 8 {
				// The unpacks give columns [0..3 | 8..11] and [4..7 | 12..15],
				// VPERM2F128 puts the 128-bit halves in order.
				s0, s1 = Y12, Y13
				VPERM2F128(U8(0x20), Y11, Y10, s0)
				VPERM2F128(U8(0x31), Y11, Y10, s1)
			}
		}
		second := Mem{Base: out, Disp: 4 * lanes}
		if !zip {
			second = Mem{Base: out, Index: ldo, Scale: 1}
		}
		nrowsOne := func(skip string) {
			if !zip {
				CMPQ(resolve("nrows"), U8(2))
				JL(LabelRef(skip))
			}
		}
		if !masked {
			VMOVUPS(s0, Mem{Base: out})
			skip := label("skip" + string(rune('0'+lanes)))
			nrowsOne(skip)
			VMOVUPS(s1, second)
			Label(skip)
		} else {
			// Columns rem.. are past the row: store under mask[j] = rem > j.
			// (The m registers are free again.)
			mask, rems := v(0), v(1)
			VMOVQ(rem, X1)
			VPBROADCASTD(X1, rems)
			VPCMPGTD(wino27IotaAt(0), rems, mask)
			VMASKMOVPS(s0, mask, Mem{Base: out})
			skip := label("mskip" + string(rune('0'+lanes)))
			if zip {
				VPCMPGTD(wino27IotaAt(lanes), rems, mask)
			}
			nrowsOne(skip)
			VMASKMOVPS(s1, mask, second)
			Label(skip)
		}
		ADDQ(U8(4*lanes), mp)
		ADDQ(U8(4*cols*lanes), out)
	}
	Label(label("row"))
	MOVQ(mrow, mp)
	MOVQ(orow, out)
	Load(Param("ncols"), rem)
	Label(label("loop"))
	CMPQ(rem, U8(4*cols))
	JLE(LabelRef(label("tail")))
	CMPQ(rem, U8(8*cols))
	JL(LabelRef(label("masked8")))
	step(8, false)
	SUBQ(U8(8*cols), rem)
	JG(LabelRef(label("loop")))
	JMP(LabelRef(label("rowend")))
	Label(label("masked8"))
	step(8, true)
	JMP(LabelRef(label("rowend")))
	Label(label("tail"))
	CMPQ(rem, U8(4*cols))
	JL(LabelRef(label("masked4")))
	step(4, false)
	JMP(LabelRef(label("rowend")))
	Label(label("masked4"))
	step(4, true)
	Label(label("rowend"))
	ADDQ(mstride, mrow)
	ADDQ(ostride, orow)
	DECQ(ntr)
	JNZ(LabelRef(label("row")))
	VZEROUPPER()
	RET()
}

// wino27Split emits wino27SplitF32AVX2: rows of src split into their even and odd elements
// (as unzip2F32AVX2 does one), each written at its offsets in a row of dst, the last element
// of an odd row after the even ones.
func wino27Split() {
	TEXT("wino27SplitF32AVX2", NOSPLIT, "func(dst []float32, ldd, ev, od int, src []float32, w, rows int)")
	Doc("wino27SplitF32AVX2 splits rows into even and odd elements: see the Go declaration.")
	drow, ldd, ev, od, srow, w, rows := RDI, R8, R9, R10, RSI, R11, R12
	e, o, s, n := RAX, RBX, RCX, RDX
	Load(Param("dst").Base(), drow)
	Load(Param("ldd"), ldd)
	SHLQ(U8(2), ldd)
	Load(Param("ev"), ev)
	Load(Param("od"), od)
	Load(Param("src").Base(), srow)
	Load(Param("w"), w)
	Load(Param("rows"), rows)
	Label("wino27split_row")
	LEAQ(Mem{Base: drow, Index: ev, Scale: 4}, e)
	LEAQ(Mem{Base: drow, Index: od, Scale: 4}, o)
	MOVQ(srow, s)
	MOVQ(w, n)
	SHRQ(U8(4), n) // 8 pairs a step
	JZ(LabelRef("wino27split_pairs"))
	Label("wino27split_loop")
	deinterleave8(Mem{Base: s}, Y0, Y1, Y2, Y3)
	VMOVUPS(Y2, Mem{Base: e})
	VMOVUPS(Y3, Mem{Base: o})
	ADDQ(U8(64), s)
	ADDQ(U8(32), e)
	ADDQ(U8(32), o)
	DECQ(n)
	JNZ(LabelRef("wino27split_loop"))
	Label("wino27split_pairs")
	MOVQ(w, n)
	ANDQ(U8(15), n) // the elements left: pairs, then maybe one
	Label("wino27split_pair")
	CMPQ(n, U8(2))
	JL(LabelRef("wino27split_last"))
	VMOVSS(Mem{Base: s}, X0)
	VMOVSS(Mem{Base: s, Disp: 4}, X1)
	VMOVSS(X0, Mem{Base: e})
	VMOVSS(X1, Mem{Base: o})
	ADDQ(U8(8), s)
	ADDQ(U8(4), e)
	ADDQ(U8(4), o)
	SUBQ(U8(2), n)
	JMP(LabelRef("wino27split_pair"))
	Label("wino27split_last")
	TESTQ(n, n)
	JZ(LabelRef("wino27split_rowend"))
	VMOVSS(Mem{Base: s}, X0)
	VMOVSS(X0, Mem{Base: e})
	Label("wino27split_rowend")
	ADDQ(ldd, drow)
	LEAQ(Mem{Base: srow, Index: w, Scale: 4}, srow)
	DECQ(rows)
	JNZ(LabelRef("wino27split_row"))
	VZEROUPPER()
	RET()
}
