package kernels

// Winograd F(2×2, 5×5) for 5×5 stride-1 convolutions (Lavin & Gray 2016; the points 0, ±1,
// ±2, ∞ of F(4×4, 3×3)): each 2×2 tile of outputs is Y = Aᵀ [ Σ_c (G g_oc Gᵀ) ⊙ (Bᵀ d_c B) ] A
// over the 6×6 input patch d_c, 36 multiplies per tile, channel and output channel where the
// direct form takes 100. The driver is winograd.go's with 6×6 input tiles (t+r-1 for r = 5)
// and 36 GEMMs, as F(4×4, 3×3) has:
//
//	V_e[c][t] = (Bᵀ d_c(t) B)_e       wino25Input, 8 tiles per step (a row's last: 4)
//	M_e = U_e · V_e, e = 0..35         36 GEMMs, O×C by C×tiles
//	out tile t = Aᵀ M(t) A + bias     wino25Output, 8 tiles per step (a row's last: 4), ReLU fused
//
//	Bᵀ = F(4×4, 3×3)'s (winograd43.go), applied by wino43BT
//	G  = [¼ 0 0 0 0; -⅙ -⅙ -⅙ -⅙ -⅙; -⅙ ⅙ -⅙ ⅙ -⅙; 1⁄24 1⁄12 ⅙ ⅓ ⅔; 1⁄24 -1⁄12 ⅙ -⅓ ⅔; 0 0 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 1]
//
// Bᵀ depends on the points only (it is the transposed interpolation of the product
// polynomial), so with F(4×4, 3×3)'s points and G scaling the input transform is
// wino43BT's, small integers applied as additions and exact multiplies by 2 and 4; Aᵀ's 2 is
// exact too, so an FMA and a multiply-add give the same bits and the assembly matches the
// portable loops. G's thirds are not exact: U is computed in float64 and rounded once.
//
// Tiles are 2 apart on a row: tile j reads padded columns 2j..2j+5. The padded input keeps
// each row's even columns, then its odd ones (wino25Fill, as F(2, 7)'s 1×7 does), so that
// column q of tile j is element j + q/2 of half q%2: 8 tiles' columns are plain loads,
// with no deinterleaving in the transform.
//
// Points: among the sets that pair as ±a (so that the transforms share a+b, a-b), 0, ±1, ±2,
// ∞ and its mirror image 0, ±1, ±½, ∞ (the same transforms on reversed rows) measured 5.5 and
// 4.5 u of Σ|w·x| in a float32 model of the transforms (48 channels, 800 outputs); ±1, ±2, ±½
// measured 2.7 u, but its Bᵀ holds F(2, 7)'s 17/4, 5/2 and 5/4 (rounded multiplies, about 40%
// more operations per transform); ±3 in place of ±2, 19 u. On the real layers the chosen set
// measures 9–21 u, 6–18× the direct sum's (TestWino25Error).

// wino25MinC and wino25MinO bound the channels of the 5×5 stride-1 convolutions that run as
// F(2×2, 5×5), as for F(2×2, 3×3): the transforms cost the same per tile and channel, the
// GEMMs less with fewer channels. All of v1's, v3's and IRv2's 5×5 layers have more.
//
// wino25MinArea is the smallest output area that runs as F(2×2, 5×5). Every real 5×5 layer
// ran faster than the im2col GEMM on one thread (BenchmarkConv2D, medians of 5 alternated
// runs): v3's Mixed_5b (48→64, 35×35) 1.63× with AVX-512 and 1.90× with AVX2; BVLC
// GoogLeNet's 1.07–1.53× and 1.37–1.99×, its 7×7 ones (5a 32→128, 5b 48→128) 1.29–1.53× and
// 1.71–1.99×: the GEMMs of one 7×7 image's 16 tiles fill one 16-column strip, where the im2col
// GEMM's 49 columns take four. On two threads: 0.89–1.61× (AVX-512; 3a and 5a a little
// slower) and 1.23–1.71× (AVX2). Below 6×6 outputs the 36 GEMMs cost what they cost at 7×7 (9
// or fewer tiles still make a strip) while the direct GEMM shrinks with the area: across
// C→O from 16→32 to 48→128, 5×5 outputs ran at 0.78–1.19× the GEMM's speed, 4×4 and 3×3 at
// 0.51–0.75×, 6×6 at 1.06–2.03× (both ISAs, one thread). The rule depends on the output size,
// so a layer's PackLayout does too: 0 for maps under 6×6, 2 from there up.
const (
	wino25MinC, wino25MinO = 16, 16
	wino25MinArea          = 6 * 6
)

// wino25 reports whether s runs as Winograd F(2×2, 5×5): a 5×5 stride-1 convolution with
// enough channels and outputs (at least 2 rows and columns). It looks at the kernel,
// stride, C, O and the output size, never the padding alone (see winoTile).
func (s ConvShape) wino25() bool {
	oh, ow := s.OutH(), s.OutW()
	return s.KH == 5 && s.KW == 5 && s.SH == 1 && s.SW == 1 && s.C >= wino25MinC && s.O >= wino25MinO &&
		oh >= 2 && ow >= 2 && oh*ow >= wino25MinArea
}

// wino25MinChunkTiles is the smallest chunk with which a 2-D Winograd runs on several threads
// one chunk per worker (winoChunkedPlan), when its maps are too small for two chunks of 64
// tiles each (35×35 and less). Each worker then transforms and multiplies its own tiles;
// with the phases of winoConvParallel instead, the transformed tiles and products went from
// core to core, and 2 threads ran BVLC GoogLeNet's 28×28 and 14×14 5×5 layers slower than
// 1 (3a: 138 µs against 115, 4a: 73 against 47; AVX-512). With one chunk per worker: 79 and
// 36 µs, and 4b, 4d, 4e 59–60% of the phases' time (70–77% with AVX2). 7×7 maps (16 tiles)
// keep the phases: with 8 tiles a chunk, 5b ran 13–38% slower.
const wino25MinChunkTiles = 16

// wino25G is the F(2×2, 5×5) weight transform G (see the top of this file).
var wino25G = [6][5]float64{
	{1.0 / 4, 0, 0, 0, 0},
	{-1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6},
	{-1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3},
	{1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3},
	{0, 0, 0, 0, 1},
}

// wino25Weights returns U = G g Gᵀ of one 5×5 kernel g (row-major), U[6r+q] = U[r][q],
// computed in float64 and rounded once.
func wino25Weights(g *[25]float32) (u [36]float32) {
	var gg [6][5]float64 // G g
	for r, row := range wino25G {
		for x := 0; x < 5; x++ {
			var sum float64
			for y, c := range row {
				sum += c * float64(g[5*y+x])
			}
			gg[r][x] = sum
		}
	}
	for r := 0; r < 6; r++ {
		for q, row := range wino25G {
			var sum float64
			for x, c := range row {
				sum += gg[r][x] * c
			}
			u[6*r+q] = float32(sum)
		}
	}
	return u
}

// wino25Wq returns the floats of each half of a padded row of an F(2×2, 5×5) plan: a step
// reads elements j..j+2 of both halves for its tiles j, which run to tw rounded up to 4.
func wino25Wq(tw int) int { return (tw+3)/4*4 + 2 }

// wino25Fill writes channels c0..c1-1 of the padded input of an F(2×2, 5×5) convolution:
// row y of plane c (hp rows of wp = 2·wq floats) holds the even columns X of padded row y
// (input row y-PadT, column X-PadL) at X/2, then its odd ones at wq + X/2, 0 outside the
// input.
func (s ConvShape) wino25Fill(in, pad []float32, p winoPlan, c0, c1 int, impl isa) {
	wq := p.wp / 2
	for c := c0; c < c1; c++ {
		chn := pad[c*p.hp*p.wp : (c+1)*p.hp*p.wp]
		clear(chn)
		// Input column ix is padded column X = PadL+ix: the even ix go to half PadL%2 from
		// element PadL/2, the odd ones to the other half from element (PadL+1)/2.
		impl.wino27Split(chn[s.PadT*p.wp:], p.wp, s.PadL%2*wq+s.PadL/2, (1-s.PadL%2)*wq+(s.PadL+1)/2,
			in[c*s.H*s.W:(c+1)*s.H*s.W], s.W, s.H)
	}
}

// wino25AT returns Aᵀ m of F(2×2, 5×5) for a column m of 6, as
//
//	a = m1+m2; b = m1-m2; c = m3+m4; d = m3-m4
//	y0 = (m0 + a) + c; y1 = (b + 2*d) + m5
//
// (wino43AT's y0, and its y1 with the ∞ point's m5).
func wino25AT(m0, m1, m2, m3, m4, m5 float32) (y0, y1 float32) {
	a, b, c, d := m1+m2, m1-m2, m3+m4, m3-m4
	return m0 + a + c, b + 2*d + m5
}

// wino25InputF32Generic computes the F(2×2, 5×5) input transform V = Bᵀ d B of tiles 0..n-1
// of a row of tiles, rounded up to a multiple of 4 (tiles n.. are written too, from the
// elements after). src holds 6 padded rows, each its even columns then its odd ones, wq
// floats each (wq >= (n+3)/4*4+2):
//
//	for j := 0; j < (n+3)/4*4; j++ {
//		d[k][q] = src[(2*k + q%2)*wq + j + q/2]            // k, q < 6
//		h[k][0..5] = wino43BT(d[k][0..5])                   // each row k < 6
//		V[0..5][q] = wino43BT(h[0..5][q])                   // each column q < 6
//		dst[(6*r+q)*ve + j] = V[r][q]
//	}
func wino25InputF32Generic(src []float32, wq int, dst []float32, ve, n int) {
	n = (n + 3) / 4 * 4
	_ = src[11*wq+n+1]
	_ = dst[35*ve+n-1]
	for j := 0; j < n; j++ {
		var h [6][6]float32
		for k := 0; k < 6; k++ {
			e, o := src[2*k*wq+j:2*k*wq+j+3], src[(2*k+1)*wq+j:(2*k+1)*wq+j+3]
			h[k][0], h[k][1], h[k][2], h[k][3], h[k][4], h[k][5] = wino43BT(e[0], o[0], e[1], o[1], e[2], o[2])
		}
		wino43BTColumns(&h, dst, ve, j)
	}
}

// wino25OutputF32Generic computes the F(2×2, 5×5) output transform Y = Aᵀ M A + bias of a
// row of tiles and stores rows 0..nrows-1 and columns 0..ncols-1 of the outputs (nrows <= 2):
//
//	for j := 0; j < (ncols+1)/2; j++ {
//		s[0][q], s[1][q] = wino25AT(m[(6*r+q)*me + j] for r < 6) // each column q < 6
//		y[i][0], y[i][1] = wino25AT(s[i][0..5])                   // each row i < 2
//		out[i*ldo + 2*j + k] = act(y[i][k] + bias)                 // for i < nrows, 2*j+k < ncols
//	}
//
// act is max(·, 0) with relu (NaN stays NaN), the identity otherwise.
func wino25OutputF32Generic(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	n := (ncols + 1) / 2
	_ = m[35*me+n-1]
	for j := 0; j < n; j++ {
		var s [2][6]float32
		for q := 0; q < 6; q++ {
			s[0][q], s[1][q] = wino25AT(m[q*me+j], m[(6+q)*me+j], m[(12+q)*me+j],
				m[(18+q)*me+j], m[(24+q)*me+j], m[(30+q)*me+j])
		}
		for i := 0; i < nrows; i++ {
			y0, y1 := wino25AT(s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5])
			y0, y1 = y0+bias, y1+bias
			if relu {
				y0, y1 = max(y0, 0), max(y1, 0)
			}
			out[i*ldo+2*j] = y0
			if 2*j+1 < ncols {
				out[i*ldo+2*j+1] = y1
			}
		}
	}
}
