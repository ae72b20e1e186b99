package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// wino25Input emits wino25InputF32AVX2: the Winograd F(2×2, 5×5) input transform of a row of
// tiles, 8 tiles per step and a last step of 4 (xmm) when that covers the row. Input k of row
// r of the step's tiles is one load (the padded rows are split into even and odd columns, so
// tile j's column q is element j + q/2 of half q%2). The row transforms h[r][q] = (Bᵀ d_r)_q
// go by pairs of columns, (0, 5), (1, 2) and (3, 4), which share their terms (a = d4-4d2 and
// b = d3-4d1 give h1, h2 = a+b, a-b), all 6 rows of a pair in 12 registers; then each
// column's transform V[·][q] = Bᵀ h[·][q] (wino43BT) goes to dst. No row transform is stored
// and read back: the terms are loaded again for each pair (96 loads and 36 stores a step).
func wino25Input() {
	TEXT("wino25InputF32AVX2", NOSPLIT, "func(src []float32, wq int, dst []float32, ve, n int)")
	Doc("wino25InputF32AVX2 computes a row of F(2×2, 5×5) input transforms: see the Go declaration.")
	src, s3, s6, s9, wq, n := RSI, RDI, R8, R9, R10, RCX
	dst, p, p3 := R11, R12, R13
	ve, ve3, ve5, ve6 := RAX, RBX, RDX, R14
	Load(Param("src").Base(), src)
	Load(Param("wq"), wq)
	SHLQ(U8(2), wq)
	Load(Param("dst").Base(), dst)
	Load(Param("ve"), ve)
	SHLQ(U8(2), ve)
	Load(Param("n"), n)
	ADDQ(U8(3), n)
	SHRQ(U8(2), n) // steps of 4 tiles
	JZ(LabelRef("wino25in_done"))
	// Half i (row i/2, its even or odd columns) starts at src + i*wq: s3, s6, s9 are halves 3, 6, 9.
	for i, b := range []GPPhysical{s3, s6, s9} {
		prev := []GPPhysical{src, s3, s6}[i]
		LEAQ(Mem{Base: prev, Index: wq, Scale: 2}, b)
		ADDQ(wq, b)
	}
	LEAQ(Mem{Base: ve, Index: ve, Scale: 2}, ve3)
	LEAQ(Mem{Base: ve, Index: ve, Scale: 4}, ve5)
	LEAQ(Mem{Base: ve3, Index: ve3, Scale: 1}, ve6)
	VBROADCASTSS(wino43Const(2), Y13)
	VBROADCASTSS(wino43Const(4), Y14)
	// d returns the address of input q (column q) of row k of the step's first tile.
	d := func(k, q int) Mem {
		return rowMem([]GPPhysical{src, s3, s6, s9}, wq, 2*k+q%2).Offset(4 * (q / 2))
	}
	// step transforms 8 tiles (ymm) or 4 (xmm).
	step := func(lanes int) {
		v := vregs(lanes)
		two, four, t := v(13), v(14), v(12)
		H1 := [6]VecPhysical{v(0), v(1), v(2), v(3), v(4), v(5)}
		H2 := [6]VecPhysical{v(6), v(7), v(8), v(9), v(10), v(11)}
		// column stores V[r][q] = (Bᵀ h[·][q])_r to plane 6r+q.
		column := func(q int, h [6]VecPhysical) {
			o := wino43BT(h, two, four)
			LEAQ(wino43At(dst, q, ve, ve3, ve5), p)
			LEAQ(Mem{Base: p, Index: ve6, Scale: 2}, p3)
			ADDQ(ve6, p3)
			for r := 0; r < 6; r++ {
				VMOVUPS(o[r], rowMem([]GPPhysical{p, p3}, ve6, r))
			}
		}
		// Columns 0 and 5: h0 = 4(d0-d2) + (d4-d2), h5 = 4(d1-d3) + (d5-d3).
		for k := 0; k < 6; k++ {
			VMOVUPS(d(k, 0), H1[k])
			VSUBPS(d(k, 2), H1[k], H1[k]) // t = d0-d2
			VMOVUPS(d(k, 4), t)
			VSUBPS(d(k, 2), t, t)       // c = d4-d2
			VFMADD213PS(t, four, H1[k]) // 4t + c
			VMOVUPS(d(k, 1), H2[k])
			VSUBPS(d(k, 3), H2[k], H2[k]) // u = d1-d3
			VMOVUPS(d(k, 5), t)
			VSUBPS(d(k, 3), t, t)       // d5-d3
			VFMADD213PS(t, four, H2[k]) // 4u + (d5-d3)
		}
		column(0, H1)
		column(5, H2)
		// Columns 1 and 2: a = d4 - 4d2, b = d3 - 4d1; h1 = a+b, h2 = a-b.
		for k := 0; k < 6; k++ {
			VMOVUPS(d(k, 4), H1[k])
			VFNMADD231PS(d(k, 2), four, H1[k])
			VMOVUPS(d(k, 3), t)
			VFNMADD231PS(d(k, 1), four, t)
			VSUBPS(t, H1[k], H2[k])
			VADDPS(t, H1[k], H1[k])
		}
		column(1, H1)
		column(2, H2)
		// Columns 3 and 4: c = d4-d2, u = d1-d3; h3 = c - 2u, h4 = c + 2u.
		for k := 0; k < 6; k++ {
			VMOVUPS(d(k, 4), H1[k])
			VSUBPS(d(k, 2), H1[k], H1[k])
			VMOVUPS(d(k, 1), t)
			VSUBPS(d(k, 3), t, t)
			VMOVAPS(H1[k], H2[k])
			VFNMADD231PS(two, t, H1[k])
			VFMADD231PS(two, t, H2[k])
		}
		column(3, H1)
		column(4, H2)
		for _, r := range []GPPhysical{src, s3, s6, s9, dst} {
			ADDQ(U8(4*lanes), r)
		}
	}
	winoInSteps("wino25in", n, step)
}

// wino25Output emits wino25OutputF32AVX2: the Winograd F(2×2, 5×5) output transform of a
// row of tiles, 8 tiles (16 output columns, 2 rows) per step and a last step of 4 (xmm, 8
// columns) when that covers the row, with bias and ReLU, the last step's stores masked to
// ncols. The column transforms s[·][q] = Aᵀ M[·][q] (wino25AT) go in the order 1, 2, 3, 4,
// 0, 5, each pair folded into the row transforms' terms (a = s1+s2, b = s1-s2, then c, d)
// as soon as it is done, so that 16 registers hold everything; the two outputs of a tile are
// then interleaved as wino23OutputF32AVX2 does.
func wino25Output() {
	TEXT("wino25OutputF32AVX2", NOSPLIT, "func(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool)")
	Doc("wino25OutputF32AVX2 computes a row of F(2×2, 5×5) output transforms: see the Go declaration.")
	r := winoOutRegs{mp: RSI, me: RAX, out: R8, ldo: R9, rem: RCX, nrows: R10, relu: R11}
	mp, p, p3 := r.mp, RDI, R13
	me, me3, me5, me6 := r.me, RBX, RDX, R12
	winoOutPrologue(r)
	VBROADCASTSS(wino43Const(2), Y13)
	LEAQ(Mem{Base: me, Index: me, Scale: 2}, me3)
	LEAQ(Mem{Base: me, Index: me, Scale: 4}, me5)
	LEAQ(Mem{Base: me3, Index: me3, Scale: 1}, me6)
	TESTQ(r.rem, r.rem)
	JLE(LabelRef("wino25out_done"))
	// step transforms 8 tiles (ymm) or 4 (xmm) into rows[i][0..1], columns 0..2·lanes-1 of
	// output row i.
	step := func(lanes int) (rows [2][2]VecPhysical) {
		v := vregs(lanes)
		two, bias, zero := v(13), v(14), v(15)
		// column puts s0 = (m0 + (m1+m2)) + (m3+m4) and s1 = ((m1-m2) + 2(m3-m4)) + m5 of
		// column q (m_r in plane 6r+q) in s0 and s1, with y and c as scratch.
		column := func(q int, s0, s1, y, c VecPhysical) {
			LEAQ(wino43At(mp, q, me, me3, me5), p)
			LEAQ(Mem{Base: p, Index: me6, Scale: 2}, p3)
			ADDQ(me6, p3)
			mr := func(r int) Mem { return rowMem([]GPPhysical{p, p3}, me6, r) }
			VMOVUPS(mr(1), s1)
			VMOVUPS(mr(3), y)
			VADDPS(mr(2), s1, s0) // a = m1+m2
			VSUBPS(mr(2), s1, s1) // b = m1-m2
			VADDPS(mr(4), y, c)   // c = m3+m4
			VSUBPS(mr(4), y, y)   // d = m3-m4
			VADDPS(mr(0), s0, s0) // m0 + a
			VADDPS(c, s0, s0)     // (m0 + a) + c
			VFMADD231PS(two, y, s1)
			VADDPS(mr(5), s1, s1) // (b + 2d) + m5
		}
		column(1, v(0), v(1), v(8), v(9))
		column(2, v(2), v(3), v(8), v(9))
		VADDPS(v(2), v(0), v(4)) // a_0 = s01+s02
		VSUBPS(v(2), v(0), v(0)) // b_0 = s01-s02
		VADDPS(v(3), v(1), v(5)) // a_1
		VSUBPS(v(3), v(1), v(1)) // b_1
		column(3, v(2), v(3), v(8), v(9))
		column(4, v(6), v(7), v(8), v(9))
		VADDPS(v(6), v(2), v(10)) // c_0 = s03+s04
		VSUBPS(v(6), v(2), v(2))  // d_0 = s03-s04
		VADDPS(v(7), v(3), v(11)) // c_1
		VSUBPS(v(7), v(3), v(3))  // d_1
		column(0, v(6), v(7), v(8), v(9))
		VADDPS(v(4), v(6), v(6))  // s00 + a_0
		VADDPS(v(10), v(6), v(6)) // y00 = (s00 + a_0) + c_0
		VADDPS(v(5), v(7), v(7))
		VADDPS(v(11), v(7), v(7)) // y10
		column(5, v(4), v(5), v(8), v(9))
		VFMADD231PS(two, v(2), v(0))
		VADDPS(v(4), v(0), v(0)) // y01 = (b_0 + 2d_0) + s05
		VFMADD231PS(two, v(3), v(1))
		VADDPS(v(5), v(1), v(1)) // y11
		y := [2][2]VecPhysical{{v(6), v(0)}, {v(7), v(1)}}
		for i := 0; i < 2; i++ {
			for k := 0; k < 2; k++ {
				VADDPS(bias, y[i][k], y[i][k])
			}
		}
		rows = [2][2]VecPhysical{{v(2), v(3)}, {v(4), v(5)}}
		winoOutRows("wino25out", lanes, r.relu, y, zero, [2]VecPhysical{v(8), v(9)}, rows)
		return rows
	}
	winoOutLoop("wino25out", r, step, wino27IotaAt, [3]int{12, 10, 11})
	VZEROUPPER()
	RET()
}
