package kernels

// Winograd F(2, 7) along one axis for the factorised 1×7 and 7×1 stride-1 convolutions of
// Inception v3, v4 and Inception-ResNet-v2 (Lavin & Gray 2016; the points 0, ±1, ±2, ±½, ∞
// of NNPACK's F(6, 3), whose Bᵀ this shares). Each pair of outputs y0, y1 along the kernel's
// axis, from the 8 inputs d0..d7 under it, is
//
//	y = Aᵀ [ Σ_c (G g_oc) ⊙ (Bᵀ d_c) ]
//
// 8 multiplies per pair, channel and output channel instead of 14. The tiles of a 7×1 (KH =
// 7) convolution are pairs of output rows, one per column; those of a 1×7 one pairs of
// output columns, one per row, read from the padded input row split into its even and odd
// columns, so that input k of tile j is element j + k/2 of phase k%2: contiguous across
// tiles either way. The driver is winograd.go's, with 8 GEMMs M_e = U_e · V_e (winoPlan's
// tile rows are pairs of output rows for 7×1, output rows for 1×7):
//
//	V_e[c][t] = (Bᵀ d_c(t))_e          wino27Input, 8 tiles per step (a row's last: 4)
//	M_e = U_e · V_e, e = 0..7          8 GEMMs, O×C by C×tiles
//	out tile t = Aᵀ M(t) + bias        wino27OutputRows (7×1) or wino27OutputZip (1×7), ReLU fused
//
//	Bᵀ = [1 0 -21/4 0 21/4 0 -1 0; 0 1 1 -17/4 -17/4 1 1 0; 0 -1 1 17/4 -17/4 -1 1 0;
//	      0 1/2 1/4 -5/2 -5/4 2 1 0; 0 -1/2 1/4 5/2 -5/4 -2 1 0; 0 2 4 -5/2 -5 1/2 1 0;
//	      0 -2 4 5/2 -5 -1/2 1 0; 0 -1 0 21/4 0 -21/4 0 1]
//	G  = rows c_e·a_e^k (k < 7) for the points a = 0, 1, -1, 2, -2, ½, -½, with
//	     c = 1, -2/9, -2/9, 1/90, 1/90, 32/45, 32/45 (row 0 is [1 0 … 0]), and [0 … 0 1] for ∞
//	Aᵀ = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 1]
//
// The transforms multiply by constants with separate multiplies and adds (never an FMA), in
// the order of wino27BT and wino27AT, so the assembly gives the portable versions' bits. G's
// fractions are not exact: U is computed in float64 and rounded once. The error on the real
// layers is 5.5–7.8 u of Σ|w·x|, 4–9× the direct sum's (TestWino27Error). Tile choice: F(3, 7)
// (9 GEMMs over 3-output tiles) does 25% fewer multiplies, but its error was 3–4× F(2, 7)'s
// in a float32 model of the transforms (12–16 u against 3.7 u of Σ|w·x|, 192 channels, for
// any ninth point among ±3, 4, ¼, 3/2), and on the 17×17 maps where these layers live its
// 102 tiles per image fill the 32-column GEMM tiles to 80% (F(2, 7): 153 tiles, 96%), so its
// GEMMs would do only ~10% less work (9·128 against 8·160 tile columns) while a 1×7 layer
// needs a three-phase split and a three-way interleave. F(4, 7) modelled at 43 u.

// wino27MinC and wino27MinO bound the channels of the 1×7 and 7×1 convolutions that run as
// F(2, 7): the transforms cost the same per tile and channel whatever C and O, the GEMMs
// less with fewer channels. All the 17×17 layers (C, O >= 128) run 1.2–1.4× faster than
// the implicit GEMM (BenchmarkConv2D, AVX-512, one thread); v4's stem 1×7 and 7×1 (C = O
// = 64, 73×73) ran 2–6% slower with AVX-512 (and 23–29% faster with AVX2), so they stay GEMMs.
const wino27MinC, wino27MinO = 128, 128

// wino27 reports whether s runs as Winograd F(2, 7): a stride-1 1×7 convolution padded only
// left and right, or 7×1 padded only top and bottom, with enough channels. It looks at the
// kernel, stride, padding, C and O only, never at H or W (see winoTile).
func (s ConvShape) wino27() bool {
	if s.SH != 1 || s.SW != 1 || s.C < wino27MinC || s.O < wino27MinO {
		return false
	}
	return s.KH == 1 && s.KW == 7 && s.PadT == 0 && s.PadB == 0 ||
		s.KH == 7 && s.KW == 1 && s.PadL == 0 && s.PadR == 0
}

// wino27Plan returns the plan of an F(2, 7) convolution (winoPlan's, with 8 GEMMs and the
// padded input laid out for wino27Input):
//
//   - 7×1: tile rows ty of ow tiles (output rows 2ty, 2ty+1); a channel's plane holds the
//     padded rows 0..2th+5 of ow floats (the input rows as they are, zero rows above and
//     below) and slack for a 4-tile step's overrun (hp counts whole rows of wp = ow).
//     Input k of tile (ty, x) is element x of row 2ty+k.
//   - 1×7: tile rows are output rows y, of ceil(ow/2) tiles; row y of the plane (wp = 2wq
//     floats) holds the padded row's even columns, then its odd ones, wq each (the steps
//     read ceil(tw/4)·4+3 of each). Input k of tile (y, tx) is element tx + k/2 of half k%2.
func (s ConvShape) wino27Plan() winoPlan {
	p := winoPlan{t: 2, ne: 8, oh: s.OutH(), ow: s.OutW(), imgs: 1}
	if s.KH == 7 {
		p.th, p.tw = (p.oh+1)/2, p.ow
		p.hp, p.wp = 2*p.th+6+(p.ow+2)/p.ow, p.ow
	} else {
		p.th, p.tw = p.oh, (p.ow+1)/2
		p.hp, p.wp = p.oh, 2*max((p.tw+3)/4*4+3, (s.PadL+s.W+1)/2)
	}
	p.mp = (s.O + gemmMR - 1) / gemmMR * gemmMR
	p.rows = min(p.th, max(wino27ChunkFloats/(p.ne*(s.C+p.mp)*p.tw), (64+p.tw-1)/p.tw, 1))
	chunks := (p.th + p.rows - 1) / p.rows
	p.rows = (p.th + chunks - 1) / chunks
	p.ld = (p.rows*p.tw+gemmNR-1)/gemmNR*gemmNR + 8
	p.ve, p.me = skew(s.C*p.ld), skew(p.mp*p.ld)
	return p
}

// wino27ChunkFloats bounds V and M of one chunk, in float32s (4 MiB): twice winoChunkFloats,
// so that the 17×17 layers run as one chunk. With 1 << 19, v4's 7×1 layers (C+O >= 448)
// split into chunks of 85 and 68 tiles, each GEMM padded to 96 columns, and ran 17% slower
// (v4_Mixed_6b_7x1, v4_Mixed_6b_dbl_7x1_224: AVX-512, one thread).
const wino27ChunkFloats = 1 << 20

// wino27PackedLen returns the length of the packed transformed weights: 8 O×C matrices,
// each packed by packA, winoPlaneLen apart.
func (s ConvShape) wino27PackedLen() int { return 8 * s.winoPlaneLen() }

// wino27PackWeights transforms w (O×C×7, the 7 taps along the kernel's axis) into
// U_e = (G g)_e and packs the 8 O×C matrices by packA into dst (len >= wino27PackedLen()),
// U_e at e*winoPlaneLen(), as winoPackWeights does for 3×3.
func (s ConvShape) wino27PackWeights(w, dst []float32) {
	mp := (s.O + gemmMR - 1) / gemmMR * gemmMR
	plen := s.winoPlaneLen()
	kcb := gemmKCFor(s.C)
	dst = dst[:8*plen]
	for k0 := 0; k0 < s.C; k0 += kcb {
		kc := min(kcb, s.C-k0)
		for o := 0; o < mp; o++ {
			// Where packA puts A[o][k0]: K block k0, panel o/6, row 0, lane o%6.
			at := k0*mp + o/gemmMR*gemmMR*kc + o%gemmMR
			for c := 0; c < kc; c++ {
				var u [8]float32
				if o < s.O {
					u = wino27Weights((*[7]float32)(w[((o*s.C)+k0+c)*7:]))
				}
				for e, v := range u {
					dst[e*plen+at+c*gemmMR] = v
				}
			}
		}
	}
}

// wino27G is the F(2, 7) weight transform G (see the top of this file).
var wino27G = [8][7]float64{
	{1, 0, 0, 0, 0, 0, 0},
	{-2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9},
	{-2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9},
	{1.0 / 90, 2.0 / 90, 4.0 / 90, 8.0 / 90, 16.0 / 90, 32.0 / 90, 64.0 / 90},
	{1.0 / 90, -2.0 / 90, 4.0 / 90, -8.0 / 90, 16.0 / 90, -32.0 / 90, 64.0 / 90},
	{64.0 / 90, 32.0 / 90, 16.0 / 90, 8.0 / 90, 4.0 / 90, 2.0 / 90, 1.0 / 90},
	{64.0 / 90, -32.0 / 90, 16.0 / 90, -8.0 / 90, 4.0 / 90, -2.0 / 90, 1.0 / 90},
	{0, 0, 0, 0, 0, 0, 1},
}

// wino27Weights returns U = G g of one 7-tap kernel g, computed in float64 and rounded once.
func wino27Weights(g *[7]float32) (u [8]float32) {
	for e, row := range wino27G {
		var sum float64
		for k, c := range row {
			sum += c * float64(g[k])
		}
		u[e] = float32(sum)
	}
	return u
}

// wino27Fill writes channels c0..c1-1 of the padded input of an F(2, 7) shape (see
// wino27Plan; channel c at pad[c*hp*wp:]), 0 outside the input: for 7×1, the input plane
// from row PadT on; for 1×7, padded column X = ix+PadL of row y to X%2*wq + X/2 of row y,
// split as fillInput does for stride 2.
func (s ConvShape) wino27Fill(in, pad []float32, p winoPlan, c0, c1 int, impl isa) {
	for c := c0; c < c1; c++ {
		chn := pad[c*p.hp*p.wp : (c+1)*p.hp*p.wp]
		src := in[c*s.H*s.W : (c+1)*s.H*s.W]
		if s.KH == 7 {
			// One copy per channel. (Even and odd rows in two planes, which let one call
			// sweep a whole chunk with no partial step per row, measured the same.)
			n := copy(chn[s.PadT*p.wp:], src)
			clear(chn[:s.PadT*p.wp])
			clear(chn[s.PadT*p.wp+n:])
			continue
		}
		// The even ix go to half PadL%2 from column PadL/2, the odd ix to the other half
		// from column (PadL+1)/2; the rest stays 0.
		clear(chn)
		wq := p.wp / 2
		impl.wino27Split(chn, p.wp, s.PadL%2*wq+s.PadL/2, (1-s.PadL%2)*wq+(s.PadL+1)/2, src, s.W, s.H)
	}
}

// wino27SplitF32Generic splits rows of w elements into their even and odd elements, the
// last one of an odd row after the even ones:
//
//	for r := 0; r < rows; r++ {
//		for j := 0; j < w; j++ {
//			if j%2 == 0 {
//				dst[r*ldd + ev + j/2] = src[r*w + j]
//			} else {
//				dst[r*ldd + od + j/2] = src[r*w + j]
//			}
//		}
//	}
func wino27SplitF32Generic(dst []float32, ldd, ev, od int, src []float32, w, rows int) {
	for r := 0; r < rows; r++ {
		row, s := dst[r*ldd:], src[r*w:(r+1)*w]
		unzip2F32Generic(row[ev:ev+w/2], row[od:od+w/2], s)
		if w%2 == 1 {
			row[ev+w/2] = s[w-1]
		}
	}
}

// wino27Input writes V for channels c0..c1-1 of chunk ch of an F(2, 7) convolution, tile row
// by tile row (see wino27Plan).
func (w *winoConvState) wino27Input(ch, c0, c1 int) {
	p := w.p
	ty0, ty1 := w.rows(ch)
	for c := c0; c < c1; c++ {
		chn := w.pad[c*p.hp*p.wp:]
		dst := w.v[c*p.ld:]
		if w.s.KH == 7 {
			w.impl.wino27Input(chn[2*ty0*p.wp:], p.wp, 2*p.wp, 2*p.wp, dst, w.ve, p.tw, ty1-ty0)
			continue
		}
		w.impl.wino27Input(chn[ty0*p.wp:], p.wp/2, 1, p.wp, dst, w.ve, p.tw, ty1-ty0)
	}
}

// wino27Output writes the outputs of chunk ch of an F(2, 7) convolution for channels o0..o1-1.
func (w *winoConvState) wino27Output(ch, o0, o1 int) {
	p := w.p
	ty0, ty1 := w.rows(ch)
	// 7×1: tile rows ty0..ty0+full-1 have both output rows, the last one of an odd oh one.
	full := min(ty1, p.oh/2) - ty0
	for o := o0; o < o1; o++ {
		var b float32
		if w.bias != nil {
			b = w.bias[o]
		}
		m := w.m[o*p.ld:]
		if w.s.KH != 7 {
			w.impl.wino27OutputZip(m, w.me, w.out[(o*p.oh+ty0)*p.ow:], p.ow, p.ow, ty1-ty0, b, w.relu)
			continue
		}
		out := w.out[(o*p.oh+2*ty0)*p.ow:]
		if full > 0 {
			w.impl.wino27OutputRows(m, w.me, out, p.ow, p.ow, 2, full, b, w.relu)
		}
		if full < ty1-ty0 {
			w.impl.wino27OutputRows(m[full*p.tw:], w.me, out[2*full*p.ow:], p.ow, p.ow, 1, 1, b, w.relu)
		}
	}
}

// wino27BT returns Bᵀ d of F(2, 7) (a multiply by 2, ¼, ½ or 4 is exact; the others are
// rounded, then added, as the conversions force):
//
//	v0 = (d0-d6) + 21/4·(d4-d2);  v7 = (d7-d1) + 21/4·(d3-d5)
//	a = (d2+d6) - 17/4·d4;        b = (d1+d5) - 17/4·d3;       v1, v2 = a+b, a-b
//	a = (¼d2 + d6) - 5/4·d4;      b = (½d1 + 2d5) - 5/2·d3;    v3, v4 = a+b, a-b
//	a = (4d2 + d6) - 5·d4;        b = (2d1 + ½d5) - 5/2·d3;    v5, v6 = a+b, a-b
func wino27BT(d *[8]float32) (v [8]float32) {
	d0, d1, d2, d3, d4, d5, d6, d7 := d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
	v[0] = (d0 - d6) + float32(5.25*(d4-d2))
	v[7] = (d7 - d1) + float32(5.25*(d3-d5))
	a := (d2 + d6) - float32(4.25*d4)
	b := (d1 + d5) - float32(4.25*d3)
	v[1], v[2] = a+b, a-b
	d3x := float32(2.5 * d3)
	a = (float32(0.25*d2) + d6) - float32(1.25*d4)
	b = (float32(0.5*d1) + float32(2*d5)) - d3x
	v[3], v[4] = a+b, a-b
	a = (float32(4*d2) + d6) - float32(5*d4)
	b = (float32(2*d1) + float32(0.5*d5)) - d3x
	v[5], v[6] = a+b, a-b
	return v
}

// wino27AT returns Aᵀ m of F(2, 7):
//
//	y0 = ((m1+m2) + (m3+m4)) + ((m5+m6) + m0)
//	y1 = ((m1-m2) + 2(m3-m4)) + (½(m5-m6) + m7)
func wino27AT(m *[8]float32) (y0, y1 float32) {
	y0 = ((m[1] + m[2]) + (m[3] + m[4])) + ((m[5] + m[6]) + m[0])
	y1 = ((m[1] - m[2]) + float32(2*(m[3]-m[4]))) + (float32(0.5*(m[5]-m[6])) + m[7])
	return y0, y1
}

// wino27InputF32Generic computes the F(2, 7) input transforms V = Bᵀ d of rows of n tiles,
// each rounded up to a multiple of 4 (tiles n.. of a row are written too, from the elements
// after, and overwritten by the next row's):
//
//	for r := 0; r < rows; r++ {
//		for j := 0; j < (n+3)/4*4; j++ {
//			d[k] = src[r*ss + k%2*s1 + k/2*s2 + j]    // k < 8
//			dst[e*ve + r*n + j] = wino27BT(d)[e]      // e < 8
//		}
//	}
func wino27InputF32Generic(src []float32, s1, s2, ss int, dst []float32, ve, n, rows int) {
	steps := (n + 3) / 4 * 4
	_ = src[(rows-1)*ss+s1+3*s2+steps-1]
	_ = dst[7*ve+(rows-1)*n+steps-1]
	for r := 0; r < rows; r++ {
		for j := 0; j < steps; j++ {
			var d [8]float32
			for k := range d {
				d[k] = src[r*ss+k%2*s1+k/2*s2+j]
			}
			for e, v := range wino27BT(&d) {
				dst[e*ve+r*n+j] = v
			}
		}
	}
}

// wino27OutputRowsF32Generic computes the F(2, 7) output transforms Y = Aᵀ M + bias of ntr
// rows of ncols tiles whose two outputs lie in consecutive rows (7×1), and stores rows
// 0..nrows-1 (nrows <= 2) of each:
//
//	for r := 0; r < ntr; r++ {
//		for j := 0; j < ncols; j++ {
//			y0, y1 := wino27AT(m[e*me + r*ncols + j] for e < 8)
//			out[2*r*ldo + j] = act(y0 + bias)
//			out[(2*r+1)*ldo + j] = act(y1 + bias)        // when nrows == 2
//		}
//	}
//
// act is max(·, 0) with relu (NaN stays NaN), the identity otherwise.
func wino27OutputRowsF32Generic(m []float32, me int, out []float32, ldo, ncols, nrows, ntr int, bias float32, relu bool) {
	_ = m[7*me+ntr*ncols-1]
	for r := 0; r < ntr; r++ {
		for j := 0; j < ncols; j++ {
			y0, y1 := wino27Tile(m, me, r*ncols+j, bias, relu)
			out[2*r*ldo+j] = y0
			if nrows == 2 {
				out[(2*r+1)*ldo+j] = y1
			}
		}
	}
}

// wino27Tile returns the two outputs act(Aᵀ m + bias) of the tile whose 8 products are
// m[e*me + i], e < 8 (act: max(·, 0) with relu, NaN staying NaN; the identity otherwise).
func wino27Tile(m []float32, me, i int, bias float32, relu bool) (y0, y1 float32) {
	var mm [8]float32
	for e := range mm {
		mm[e] = m[e*me+i]
	}
	y0, y1 = wino27AT(&mm)
	y0, y1 = y0+bias, y1+bias
	if relu {
		y0, y1 = max(y0, 0), max(y1, 0)
	}
	return y0, y1
}

// wino27OutputZipF32Generic computes the F(2, 7) output transforms Y = Aᵀ M + bias of rows
// of tiles whose two outputs are consecutive columns (1×7), (ncols+1)/2 tiles a row, and
// stores columns 0..ncols-1 of rows 0..rows-1:
//
//	for r := 0; r < rows; r++ {
//		for j := 0; j < (ncols+1)/2; j++ {
//			y0, y1 := wino27AT(m[e*me + r*(ncols+1)/2 + j] for e < 8)
//			out[r*ldo + 2*j] = act(y0 + bias)
//			out[r*ldo + 2*j+1] = act(y1 + bias)           // when 2*j+1 < ncols
//		}
//	}
func wino27OutputZipF32Generic(m []float32, me int, out []float32, ldo, ncols, rows int, bias float32, relu bool) {
	n := (ncols + 1) / 2
	_ = m[7*me+rows*n-1]
	for r := 0; r < rows; r++ {
		for j := 0; j < n; j++ {
			y0, y1 := wino27Tile(m, me, r*n+j, bias, relu)
			out[r*ldo+2*j] = y0
			if 2*j+1 < ncols {
				out[r*ldo+2*j+1] = y1
			}
		}
	}
}
