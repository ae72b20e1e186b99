package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// maxPool3x3S2 emits maxPool3x3S2F32AVX2(d []float32, ds, dp int, r []float32, o1, o2, rs,
// rp, planes, rows, n int, edge, clip bool) bool: rows output rows of n >= 4 stride-2 3×3
// maxima in each of planes planes, read in place with VMAXPS, and whether they may not be Go's
// max. Output row j of plane p is at d[p*dp+j*ds:], its window's rows at r[p*rp+j*rs:] and
// o1, o2 further (o2 = o1 in the last row with clip). A step makes 8 outputs from the input
// columns c..c+16 (4 from c..c+8 with xmm when n < 8): VSHUFPS picks the columns 2i and 2i+1
// of the vertical maxima of the three rows at c and c+8 (in the ymm lane order
// [0 1 4 5 | 2 3 6 7], which one VPERMPD before the store undoes), and the columns 2i+2 are
// the columns 2i of the step and the next (perm), or, at a row's last two steps, VSHUFPS's
// picks from the vertical maxima at c+2 and c+9. A row has (n-1)/8 steps from column 0 and a
// last step ending at output n-1 (overlapping the one before unless 8 divides n), so that
// nothing past column 2n is read. With edge, the last window lacks its third column: the
// last step takes the columns 2i+2 from the vertical maxima at c+8 (VPERMPS), the last one
// from column 2n-1 (its column 2i+1 again).
//
// VMAXPS returns one of its operands: without NaN, a maximal one, which is Go's max unless
// it is -0 while a +0 ties. So the kernel checks on the side the columns c..c+15 of the three
// rows and 2n at the last step for NaNs (VCMPPS unordered, two vectors at a time, ORed) and
// its outputs for -0 (their signed minimum as integers is 0x80000000 only then). That is
// nearly free while the data comes from L3, where a scan of the input before the kernel
// cost a third more on v3's stem pool.
func maxPool3x3S2() {
	name := "maxPool3x3S2F32AVX2"
	TEXT(name, NOSPLIT, "func(d []float32, ds, dp int, r []float32, o1, o2, rs, rp, planes, rows, n int, edge, clip bool) bool")
	Doc(name + " computes rows of 3×3 stride-2 maxima with VMAXPS: see the Go declaration.")
	// Registers: the output row d, the input rows q, step offset o and count k, the row's
	// steps before the last and the last one's offset, the rows left in the plane, the
	// planes left and the planes' starts; strides in bytes on the stack.
	d, o, k, steps, last, j, np, dpl, rpl := RDI, RDX, RCX, RBX, R13, R8, R9, R10, R14
	q := []GPPhysical{RSI, R11, R12}
	edge := RAX
	ds, dp, rs, rp, o1, o2, clipRow := AllocLocal(8), AllocLocal(8), AllocLocal(8), AllocLocal(8), AllocLocal(8), AllocLocal(8), AllocLocal(8)
	pfLen := AllocLocal(8) // the bytes of input a row's windows span, rounded up by a line
	for _, v := range []struct {
		param string
		local Mem
	}{{"ds", ds}, {"dp", dp}, {"rs", rs}, {"rp", rp}, {"o1", o1}, {"o2", o2}} {
		Load(Param(v.param), k)
		SHLQ(U8(2), k)
		MOVQ(k, v.local)
	}
	// The last row of a plane (j == 1) reads row o1 again with clip; j never is 0.
	Load(Param("clip"), k)
	MOVQ(k, clipRow)
	Load(Param("d").Base(), dpl)
	Load(Param("r").Base(), rpl)
	Load(Param("planes"), np)
	Load(Param("n"), steps)
	Load(Param("edge"), edge)
	nan, neg := Y12, Y13
	VXORPS(nan, nan, nan)
	VPCMPEQD(neg, neg, neg)
	VPSRLD(U8(1), neg, neg) // 0x7fffffff
	// Y15: the VPERMPS indices of the edge step, lanes 1, 3, 5, 7 from 2, 4, 6, 7.
	idx := GLOBL("maxPool3x3S2Edge", RODATA|NOPTR)
	for i, v := range []uint32{0, 2, 0, 4, 0, 6, 0, 7} {
		DATA(4*i, U32(v))
	}
	VMOVDQU(idx, Y15)
	// Y14: the VPERMPS indices that move the columns 2i of a step down a lane.
	idx = GLOBL("maxPool3x3S2Next", RODATA|NOPTR)
	for i, v := range []uint32{1, 4, 3, 6, 5, 2, 7, 0} {
		DATA(4*i, U32(v))
	}
	VMOVDQU(idx, Y14)
	TESTQ(np, np)
	JZ(LabelRef(name + "_done"))
	Load(Param("rows"), j)
	TESTQ(j, j)
	JZ(LabelRef(name + "_done"))
	CMPQ(steps, U8(8))
	JL(LabelRef(name + "_x4"))
	maxPool3x3S2Rows(name, 8, d, o, k, steps, last, j, np, dpl, rpl, q, ds, dp, rs, rp, o1, o2, clipRow, pfLen)
	Label(name + "_x4")
	maxPool3x3S2Rows(name+"_x4", 4, d, o, k, steps, last, j, np, dpl, rpl, q, ds, dp, rs, rp, o1, o2, clipRow, pfLen)
	Label(name + "_done")
	VPCMPEQD(Y4, Y4, Y4)
	VPSLLD(U8(31), Y4, Y4) // 0x80000000: -0
	VPCMPEQD(Y4, neg, neg)
	VPOR(neg, nan, nan)
	VPTEST(nan, nan)
	SETNE(AL)
	VZEROUPPER()
	Store(AL, ReturnIndex(0))
	RET()
}

// maxPool3x3S2Rows emits maxPool3x3S2's loops over the planes and rows with steps of lanes
// (8: ymm, 4: xmm) outputs, then a jump to name_done (its prefix).
func maxPool3x3S2Rows(label string, lanes int, d, o, k, steps, last, j, np, dpl, rpl GPPhysical, q []GPPhysical, ds, dp, rs, rp, o1, o2, clipRow, pfLen Mem) {
	done := LabelRef(label[:len("maxPool3x3S2F32AVX2")] + "_done")
	v := vregs(lanes)
	w := 4 * lanes // bytes per vector
	nan, neg := v(12), v(13)
	// The last step's output offset in bytes, 4*(n-lanes), and the steps before it, (n-1)/lanes.
	LEAQ(Mem{Base: steps, Disp: -lanes}, last)
	SHLQ(U8(2), last)
	DECQ(steps)
	SHRQ(U8(log2(lanes)), steps)
	// pfLen: the 2*(last+w)+4 bytes of each input row a row's windows span, and up to a line more.
	LEAQ(Mem{Base: last, Index: last, Scale: 1, Disp: 2*w + 64}, k)
	MOVQ(k, pfLen)

	at := func(p GPPhysical, disp int) Mem { return Mem{Base: p, Index: o, Scale: 2, Disp: disp} }
	// check ORs into nan whether the vectors x hold a NaN: VCMPPS (unordered) takes two; t
	// is scratch.
	check := func(t VecPhysical, x ...VecPhysical) {
		for i := 0; i < len(x); i += 2 {
			y := x[min(i+1, len(x)-1)]
			VCMPPS(U8(3), y, x[i], t) // unordered: a NaN
			VORPS(t, nan, nan)
		}
	}
	// vmax sets m to the vertical maximum of the vector at byte offset disp of the three rows.
	vmax := func(disp int, m VecPhysical) {
		VMOVUPS(at(q[0], disp), m)
		VMAXPS(at(q[1], disp), m, m)
		VMAXPS(at(q[2], disp), m, m)
	}
	// eo loads the columns c..c+2*lanes-1 of the three rows, checks them, and sets v(0) to
	// the vertical maxima of the columns 2i (E), v(1) to those of 2i+1 and mo to the larger.
	a, b := v(6), v(7)
	eo := func(mo VecPhysical) {
		ra := []VecPhysical{v(0), v(1), v(2)} // columns c..: the three rows
		rb := []VecPhysical{v(3), v(4), v(5)} // c+lanes..
		for i, p := range q {
			VMOVUPS(at(p, 0), ra[i])
			VMOVUPS(at(p, w), rb[i])
		}
		check(a, ra[0], rb[0], ra[1], rb[1], ra[2], rb[2])
		VMAXPS(ra[1], ra[0], a)
		VMAXPS(ra[2], a, a)
		VMAXPS(rb[1], rb[0], b)
		VMAXPS(rb[2], b, b)
		VSHUFPS(U8(0x88), b, a, v(0)) // columns 2i:   ymm [0 2 8 10 | 4 6 12 14]
		VSHUFPS(U8(0xdd), b, a, v(1)) // columns 2i+1: ymm [1 3 9 11 | 5 7 13 15]
		VMAXPS(v(1), v(0), mo)
	}
	// store puts the maxima x in order, notes a -0, and stores them disp bytes from offset o.
	store := func(x VecPhysical, disp int) {
		if lanes == 8 {
			VPERMPD(U8(0xd8), x, x)
		}
		VPMINSD(x, neg, neg)
		VMOVUPS(x, Mem{Base: d, Index: o, Scale: 1, Disp: disp})
	}
	// finish ends the step at offset o given mo (eo's): the columns 2i+2 come from the
	// vertical maxima at c+2 and c+lanes+1 (VSHUFPS); last checks column 2n too, edge makes
	// the last window without its third column.
	finish := func(mo VecPhysical, last, edge bool) {
		a2, b2 := v(10), v(11)
		vmax(8, a2) // c+2..
		switch {
		case edge && lanes == 8:
			VPERMPS(b, Y15, b2) // lanes 1, 3, 5, 7: c+10, c+12, c+14, c+15
		case edge:
			VPERMILPS(U8(0xc8), b, b2) // lanes 1, 3: c+6, c+7
		case last:
			// c+lanes+1..c+2*lanes: its last column, 2n, is not among those checked.
			r := []VecPhysical{v(3), v(4), v(5)}
			for i, p := range q {
				VMOVUPS(at(p, w+4), r[i])
			}
			check(b2, r...)
			VMAXPS(r[1], r[0], b2)
			VMAXPS(r[2], b2, b2)
		default:
			vmax(w+4, b2) // c+lanes+1..c+2*lanes
		}
		VSHUFPS(U8(0xd8), b2, a2, v(4)) // columns 2i+2: ymm [2 4 10 12 | 6 8 14 16]
		VMAXPS(v(4), mo, v(4))
		store(v(4), 0)
	}
	// Between steps, the columns 2i+2 of a step are its columns 2i moved down a lane and the
	// next step's first (perm: ymm lanes 1, 4, 3, 6, 5, 2, 7 of E, then E[0] for the step
	// before; xmm 1, 2, 3, 0): a VPERMPS and a blend instead of 6 loads and 5 operations.
	perm := func(e, p VecPhysical) {
		if lanes == 8 {
			VPERMPS(e, Y14, p)
		} else {
			VPERMILPS(U8(0x39), e, p)
		}
	}
	lastLane := U8(1 << (lanes - 1))

	Label(label + "_plane")
	MOVQ(dpl, d)
	MOVQ(rpl, q[0])
	Load(Param("rows"), j)
	Label(label + "_row")
	MOVQ(q[0], q[1])
	ADDQ(o1, q[1])
	MOVQ(q[0], q[2])
	ADDQ(o2, q[2])
	CMPQ(j, clipRow)
	CMOVQEQ(q[1], q[2])
	// Prefetch the two input rows that output row j+2 adds (its rows o1 and o2, two rows of
	// windows further on): in the network the map comes from memory, and the kernel's own
	// loads left the 64×147×147 stem pool at 0.58 ms against 0.24 with the map in cache
	// (0.42 with the prefetch). Past the plane's last rows they reach into the next plane,
	// or past the slice: a prefetch never faults. Rows of fewer than 3 steps (17×17 maps and
	// smaller, which stay in cache) skip it: it cost them 15% in cache.
	if lanes == 8 {
		CMPQ(steps, U8(2))
		JL(LabelRef(label + "_nopf"))
		for i, off := range []Mem{o1, o2} {
			MOVQ(q[0], k)
			ADDQ(rs, k)
			ADDQ(rs, k)
			ADDQ(off, k)
			XORQ(o, o)
			pf := fmt.Sprintf("%s_pf%d", label, i)
			Label(pf)
			PREFETCHT0(Mem{Base: k, Index: o, Scale: 1})
			ADDQ(U8(64), o)
			CMPQ(o, pfLen)
			JL(LabelRef(pf))
		}
		Label(label + "_nopf")
	}
	XORQ(o, o)
	MOVQ(steps, k)
	TESTQ(k, k)
	JZ(LabelRef(label + "_last"))
	mo, p := v(8), v(9) // the step before's eo and perm
	eo(mo)
	perm(v(0), p)
	DECQ(k)
	JZ(LabelRef(label + "_tail"))
	Label(label + "_loop")
	ADDQ(U8(w), o)
	eo(v(2))
	perm(v(0), v(3))
	VBLENDPS(lastLane, v(3), p, v(4))
	VMAXPS(v(4), mo, v(4))
	store(v(4), -w)
	VMOVAPS(v(2), mo)
	VMOVAPS(v(3), p)
	DECQ(k)
	JNZ(LabelRef(label + "_loop"))
	Label(label + "_tail")
	finish(mo, false, false)
	Label(label + "_last")
	MOVQ(last, o)
	eo(v(2))
	TESTB(AL, AL)
	JNZ(LabelRef(label + "_edge"))
	finish(v(2), true, false)
	JMP(LabelRef(label + "_next"))
	Label(label + "_edge")
	finish(v(2), true, true)
	Label(label + "_next")
	ADDQ(ds, d)
	ADDQ(rs, q[0])
	DECQ(j)
	JNZ(LabelRef(label + "_row"))
	ADDQ(dp, dpl)
	ADDQ(rp, rpl)
	DECQ(np)
	JNZ(LabelRef(label + "_plane"))
	JMP(done)
}
