package kernels

// Winograd F(4×4, 3×3) (Lavin & Gray 2016, section 4.2, points 0, ±1, ±2, ∞): each 4×4 tile
// of outputs is Y = Aᵀ [ Σ_c (G g_oc Gᵀ) ⊙ (Bᵀ d_c B) ] A over the 6×6 input patch d_c, 36
// multiplies per tile, channel and output channel where F(2×2, 3×3) takes 64 (4 tiles of 16)
// and the direct form 144. The driver is winograd.go's with 36 GEMMs instead of 16.
//
//	Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1⁄24 1⁄12 ⅙; 1⁄24 -1⁄12 ⅙; 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//
// Bᵀ and Aᵀ hold small integers, which the transforms apply as additions and exact
// multiplications by 2, 4 and 8 (wino43BT, wino43AT), so an FMA and a multiply-add give the
// same bits. G's thirds are not exact: U is computed in float64 and rounded once. The error
// is larger than F(2×2)'s (the transforms mix terms of up to 8× the weight of others);
// TestWinogradError measures it on real layers and bounds it.

// wino43MinCO and wino43MaxCO bound C·O of the 3×3 stride-1 convolutions that run as
// F(4×4, 3×3) rather than F(2×2, 3×3) on any map (see wino43). F(4×4)'s tiles are 4× fewer,
// and the GEMMs' N is the tile count: on 7×7 and 8×8 maps (4 tiles against 16) it runs at
// 0.45× the speed of F(2×2), on 28×28 and more at 1.15–1.55× (BenchmarkConv2D, AVX-512, one
// thread). C·O below 1024 (v1's "5×5" branches at 28 and 14) means few MACs, where the
// transforms weigh most and F(4×4) wins nothing. From 1024 up, v3's Conv2d_2a (32→32,
// 147×147 out) runs 1.41× faster and IRv1/IRv2's block35 3×3s (32→32, 32→48 at 35×35)
// 1.10×; the price is v1's 5×5-branch layers at 7×7 and 14×14 (24→64, 32→128, 48→128: 10–50
// µs each slower, 0.3% of v1), which share C and O with layers on bigger maps.
//
// Above wino43MaxCO the map decides (wino43MinArea): v1's inception5a/5b and v3's Mixed_7b/c
// (7×7, 8×8) stay F(2×2), while IRv1/IRv2's mixed_6a 3×3 (192→192, 256→256 at 35×35) ran
// 1.46× and 1.39× faster as F(4×4), their mixed_7a 3×3 (256→256 at 17×17) 1.33× and 1.26×
// (layerprof, AVX-512, one thread), and v4's 192→224 at 35×35 is the same case.
const wino43MinCO, wino43MaxCO = 1024, 32768

// wino43MinArea is the output area from which shapes with C·O above wino43MaxCO run as
// F(4×4): 17×17.
const wino43MinArea = 17 * 17

// wino43 reports whether a Winograd shape s (s.winograd()) runs as F(4×4, 3×3): by C and O,
// and for C·O above wino43MaxCO by the output area too. The packed weights differ between
// the tiles, so callers that pack a layer for several input sizes key the packing on
// PackLayout.
func (s ConvShape) wino43() bool {
	co := s.C * s.O
	return wino43Enabled && co >= wino43MinCO && (co <= wino43MaxCO || s.OutH()*s.OutW() >= wino43MinArea)
}

// PackLayout names the layout PackConvWeights gives s's weights: 0 for the GEMM's, else the
// Winograd tile (2: F(2×2, 3×3), F(2, 7) or F(2×2, 5×5); 4: F(4×4, 3×3)), which depends on the kernel, the
// channels and, for 3×3 layers with many channels and 5×5 layers, the map size. Weights packed for one shape
// serve any other shape of the same layer with the same PackLayout.
func (s ConvShape) PackLayout() int { return s.winoTile() }

// wino43Enabled switches F(4×4, 3×3) on; when false every Winograd shape runs as F(2×2, 3×3).
const wino43Enabled = true

// wino43Weights returns U = G g Gᵀ of one 3×3 kernel g (row-major), U[6r+q] = U[r][q],
// computed in float64 and rounded once.
func wino43Weights(g *[9]float32) (u [36]float32) {
	G := [6][3]float64{
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	}
	var gg [6][3]float64 // G g
	for r := 0; r < 6; r++ {
		for x := 0; x < 3; x++ {
			gg[r][x] = G[r][0]*float64(g[x]) + G[r][1]*float64(g[3+x]) + G[r][2]*float64(g[6+x])
		}
	}
	for r := 0; r < 6; r++ {
		for q := 0; q < 6; q++ {
			u[6*r+q] = float32(gg[r][0]*G[q][0] + gg[r][1]*G[q][1] + gg[r][2]*G[q][2])
		}
	}
	return u
}

// wino43BT returns Bᵀ d of a column d of 6, as
//
//	c = d4-d2; t = d0-d2; u = d1-d3; a = d4-4*d2; b = d3-4*d1
//	o0 = 4*t + c; o1 = a + b; o2 = a - b; o3 = c - 2*u; o4 = c + 2*u; o5 = 4*u + (d5-d3)
func wino43BT(d0, d1, d2, d3, d4, d5 float32) (o0, o1, o2, o3, o4, o5 float32) {
	c, t, u := d4-d2, d0-d2, d1-d3
	a, b := d4-4*d2, d3-4*d1
	return 4*t + c, a + b, a - b, c - 2*u, c + 2*u, 4*u + (d5 - d3)
}

// wino43AT returns Aᵀ m of a column m of 6, as
//
//	a = m1+m2; b = m1-m2; c = m3+m4; d = m3-m4
//	y0 = (m0 + a) + c; y1 = b + 2*d; y2 = a + 4*c; y3 = (b + 8*d) + m5
func wino43AT(m0, m1, m2, m3, m4, m5 float32) (y0, y1, y2, y3 float32) {
	a, b, c, d := m1+m2, m1-m2, m3+m4, m3-m4
	return m0 + a + c, b + 2*d, a + 4*c, b + 8*d + m5
}

// wino43InputF32Generic computes the F(4×4, 3×3) input transform V = Bᵀ d B of tiles 0..n-1
// of a row of tiles, rounded up to a multiple of 4 (tiles n.. are written too, from the
// columns after; src holds 6 rows of wp >= 4*(n+3)/4*4+4 floats):
//
//	for j := 0; j < (n+3)/4*4; j++ {
//		h[k][0..5] = wino43BT(src[k*wp + 4*j + 0..5])      // each row k < 6
//		V[0..5][q] = wino43BT(h[0..5][q])                  // each column q < 6
//		dst[(6*r+q)*ve + j] = V[r][q]
//	}
func wino43InputF32Generic(src []float32, wp int, dst []float32, ve, n int) {
	n = (n + 3) / 4 * 4
	_ = src[5*wp+4*n+3]
	_ = dst[35*ve+n-1]
	for j := 0; j < n; j++ {
		var h [6][6]float32
		for k := 0; k < 6; k++ {
			d := src[k*wp+4*j : k*wp+4*j+6]
			h[k][0], h[k][1], h[k][2], h[k][3], h[k][4], h[k][5] = wino43BT(d[0], d[1], d[2], d[3], d[4], d[5])
		}
		wino43BTColumns(&h, dst, ve, j)
	}
}

// wino43BTColumns finishes a 6×6 input transform whose rows h[k] are transformed: it
// transforms each column q and stores V[r][q] at dst[(6*r+q)*ve + j] (F(4×4, 3×3) and F(2×2,
// 5×5) share Bᵀ).
func wino43BTColumns(h *[6][6]float32, dst []float32, ve, j int) {
	for q := 0; q < 6; q++ {
		v0, v1, v2, v3, v4, v5 := wino43BT(h[0][q], h[1][q], h[2][q], h[3][q], h[4][q], h[5][q])
		dst[q*ve+j] = v0
		dst[(6+q)*ve+j] = v1
		dst[(12+q)*ve+j] = v2
		dst[(18+q)*ve+j] = v3
		dst[(24+q)*ve+j] = v4
		dst[(30+q)*ve+j] = v5
	}
}

// wino43OutputF32Generic computes the F(4×4, 3×3) output transform Y = Aᵀ M A + bias of a
// row of tiles and stores rows 0..nrows-1 and columns 0..ncols-1 of the outputs (nrows <= 4):
//
//	for j := 0; j < (ncols+3)/4; j++ {
//		s[0..3][q] = wino43AT(m[(6*r+q)*me + j] for r < 6) // each column q < 6
//		y[i][0..3] = wino43AT(s[i][0..5])                  // each row i < 4
//		out[i*ldo + 4*j + k] = act(y[i][k] + bias)          // for i < nrows, 4*j+k < ncols
//	}
//
// act is max(·, 0) with relu (NaN stays NaN), the identity otherwise.
func wino43OutputF32Generic(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	n := (ncols + 3) / 4
	_ = m[35*me+n-1]
	for j := 0; j < n; j++ {
		var s [4][6]float32
		for q := 0; q < 6; q++ {
			s[0][q], s[1][q], s[2][q], s[3][q] = wino43AT(m[q*me+j], m[(6+q)*me+j], m[(12+q)*me+j],
				m[(18+q)*me+j], m[(24+q)*me+j], m[(30+q)*me+j])
		}
		for i := 0; i < nrows; i++ {
			var y [4]float32
			y[0], y[1], y[2], y[3] = wino43AT(s[i][0], s[i][1], s[i][2], s[i][3], s[i][4], s[i][5])
			for k := 0; k < 4 && 4*j+k < ncols; k++ {
				v := y[k] + bias
				if relu {
					v = max(v, 0)
				}
				out[i*ldo+4*j+k] = v
			}
		}
	}
}
