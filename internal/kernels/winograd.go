package kernels

// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016). Each 2×2 tile of output pixels is
//
//	Y = Aᵀ [ Σ_c (G g_oc Gᵀ) ⊙ (Bᵀ d_c B) ] A
//
// with d_c the 4×4 input patch of channel c and g_oc the 3×3 kernel: 16 multiplies per
// tile, channel and output channel instead of the 36 of the direct form. The sum over c of
// each of the 16 elementwise products is a GEMM, M_e[o][t] = Σ_c U_e[o][c] · V_e[c][t], which
// runs on the GEMM engine (gemmPacked) with U_e packed once like any weights.
//
// Per chunk of tile rows (sized so that V and M stay within a few MiB):
//
//	V_e[c][t] = (Bᵀ d_c(t) B)_e       wino23Input, 8 tiles per step (a row's last: 4)
//	M_e = U_e · V_e, e = 0..15         16 GEMMs, O×C by C×tiles
//	out tile t = Aᵀ M(t) A + bias     wino23Output, 8 tiles per step (a row's last: 4), ReLU fused
//
// A row's last step takes 4 tiles (xmm) when that covers the row: rows of 4 tiles (8×8 and
// 7×7 maps with F(2×2), 14×14 with F(4×4)) transform 4 tiles where an 8-tile step did 8, and
// 35×35 rows (9 tiles with F(4×4), 18 with F(2×2)) 12 and 20 where 8-tile steps did 16 and 24.
//
// The transforms use only additions and subtractions (Bᵀ, Aᵀ hold 0 and ±1), and G's ½s
// are exact, so the error stays that of the float32 sums (TestWinogradError).
//
// Shapes with C·O in [1024, 32768] run as F(4×4, 3×3) instead (winograd43.go): the same
// driver with 6×6 input tiles, 36 GEMMs and 4×4 output tiles (winoTile, winoPlan.t). 5×5
// stride-1 shapes run as F(2×2, 5×5) (winograd25.go): 2×2 output tiles of 6×6 input tiles,
// the input tile t+r-1 for an r×r kernel (winoPlan.r).

// The F(2×2, 3×3) matrices:
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]

// winoChunkFloats bounds V and M of one chunk, in float32s (2 MiB): the output transform reads M
// back after the GEMMs wrote it. Measured on the dev box (2 MiB L2), v1 conv2 ran at 166, 182,
// 167, 172 effective GFLOP/s with 1<<17 … 1<<20.
const winoChunkFloats = 1 << 19

// winoMinTiles returns the fewest tiles a chunk takes, whatever its V and M, for a layer of C input
// channels and mp output rows: 64, or the GEMMs' 16-column strips run short; 32 from C+mp = 512 on,
// whose GEMMs have rows and depth enough to run as fast on two strips. IRv2's Mixed_6a 3×3 (256→256
// at 35×35, F(4×4)) took 4.1 MB of V and M in chunks of 45 tiles, the largest buffer at IRv2's memory
// peak, and 3.0 MB in chunks of 27, as fast or faster (3.54 -> 3.46 ms on one thread, 1.92 -> 1.81
// on two; medians of 4 alternated rounds); with 32 everywhere, v1's 28×28 layers ran 2% slower.
func winoMinTiles(width int) int {
	if width >= 512 {
		return 32
	}
	return 64
}

// winoFewTiles is the fewest tiles of a chunk of a ConvShape.FewTiles convolution: three quarters
// of two 16-column strips. One thread, 10 alternated rounds, against the default chunks: v1's conv2
// (28 tiles) 0.94–1.01 of the time, inception_3b's 3×3 (28) 1.05; chunks of 16 tiles (21 at 28×28)
// took 1.42, and of one tile row 1.15–1.97.
const winoFewTiles = 24

// winoBigTiles is the tiles of a map from which chunks are bounded by half of winoChunkFloats: v3's
// and v4's 147×147 stem layers (1369 tiles of F(4×4)) ran faster so (medians of 3 alternated
// rounds, one thread: v3_Conv2d_2b_3x3 3.0 -> 2.76 ms, 2a 1.91 -> 1.75; two threads: 2b 1.77 ->
// 1.59), and their scratch, at the memory peak of v3, v4 and IRv2, is 1 MB smaller. On 35×35 and
// 28×28 maps the smaller chunks were 5–10% slower on one thread (v3_Mixed_5b_3x3dbl_2, _5x5), up to
// 35% on two (v1_bvlc_inception_3b_5x5); 73×73 and 56×56 maps (v3_Conv2d_4a, v1_conv2) ran the same.
const winoBigTiles = 1024

// Winograd reports whether Conv2D computes s with Winograd (F(2×2,3×3) or F(4×4,3×3), chosen by C and O
// and for many channels by the map; F(2,7) for 1×7 and 7×1, winograd1d.go; F(2×2,5×5) for 5×5,
// winograd25.go) rather than the GEMM.
// Callers that pre-pack a layer's weights for several input sizes key the packing on PackLayout.
func (s ConvShape) Winograd() bool { return s.winograd() }

// winograd reports whether the convolution runs as Winograd: 3×3, stride 1, and
// enough channels for the GEMMs to dominate the transforms, or F(2, 7) (wino27), or
// F(2×2, 5×5) (wino25).
func (s ConvShape) winograd() bool {
	return s.wino27() || s.wino25() || s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1 && s.C >= 16 && s.O >= 16 &&
		s.OutH() >= 2 && s.OutW() >= 2
}

// winoTile returns the output tile of s's Winograd convolution: 4 for F(4×4, 3×3) (see
// wino43), 2 for F(2×2, 3×3), F(2, 7) and F(2×2, 5×5), 0 when s is not Winograd. Among Winograd shapes the choice
// depends on the kernel, C and O, and only for 3×3 layers with C·O above wino43MaxCO on the map's
// area, never on the padding; whether a 5×5 layer runs as Winograd at all depends on its output
// area (wino25). PackLayout exports it, and the model's weight cache keys on it.
func (s ConvShape) winoTile() int {
	switch {
	case !s.winograd():
		return 0
	case s.wino27(), s.wino25():
		return 2
	case s.wino43():
		return 4
	}
	return 2
}

// winoPlan holds the geometry of a Winograd convolution (for F(2, 7), the fields say what
// wino27Plan says).
type winoPlan struct {
	t, ne  int // output tile t×t (2 or 4), ne = (t+r-1)² GEMMs
	r      int // kernel r×r (3 or 5)
	oh, ow int // output size
	th, tw int // tiles: ceil(oh/t) × ceil(ow/t)
	imgs   int // images: tile rows img*th+ty of a batch are row ty of image img (F(2, 7): 1)
	hp, wp int // padded input plane: rows 0..t*th+r-2, columns with room for the last step
	mp     int // O rounded up to 6
	rows   int // tile rows per chunk
	ld     int // leading dimension of V_e and M_e rows: the chunk's tiles, rounded up, plus slack
	ve, me int // distance between the planes V_e, M_e (skewed)
}

// winoPlan returns the plan of one image's convolution by tile t.
func (s ConvShape) winoPlan(t int) winoPlan { return s.winoBatchPlan(t, 1) }

// winoBatchPlan returns the plan of n images' convolution by tile t (n = 1 for F(2, 7)): the
// chunks run over the tile rows of all n images, image after image, so that the GEMMs of
// small maps get the tiles of several images as columns (8×8 by F(2×2): 16 tiles an image).
func (s ConvShape) winoBatchPlan(t, n int) winoPlan {
	if s.wino27() {
		return s.wino27Plan()
	}
	a := s.winoInTile(t)
	p := winoPlan{t: t, ne: a * a, r: s.KH, oh: s.OutH(), ow: s.OutW(), imgs: n}
	p.th, p.tw = (p.oh+t-1)/t, (p.ow+t-1)/t
	p.hp = t*p.th + p.r - 1
	// A row's steps read t·ceil(tw/4)·4 + 2 columns (F(2×2)), + 4 (F(4×4): see wino43Input);
	// F(2×2, 5×5) rows are two halves of wino25Wq (see wino25Fill).
	p.wp = t*((p.tw+3)/4*4) + t
	if p.r == 5 {
		p.wp = 2 * wino25Wq(p.tw)
	}
	p.mp = (s.O + gemmMR - 1) / gemmMR * gemmMR
	chunk := winoChunkFloats
	if p.th*p.tw >= winoBigTiles {
		chunk /= 2
	}
	// At least winoMinTiles tiles per chunk, or the GEMMs' 16-column strips run short.
	p.rows = min(p.trows(), max(chunk/(p.ne*(s.C+p.mp)*p.tw), (winoMinTiles(s.C+p.mp)+p.tw-1)/p.tw, 1))
	if s.FewTiles {
		p.rows = min(p.rows, max((winoFewTiles+p.tw-1)/p.tw, 1))
	}
	chunks := (p.trows() + p.rows - 1) / p.rows
	p.rows = (p.trows() + chunks - 1) / chunks // chunks of equal rows, not a short last one
	p.ld = winoLD(p.rows, p.tw)
	p.ve, p.me = skew(s.C*p.ld), skew(p.mp*p.ld)
	return p
}

// winoLD returns the leading dimension of the rows of V_e and M_e for chunks of rows rows of tw
// tiles: the chunk's tiles in whole 16-column strips, which the GEMM reads, with room for the 3 tiles
// past the last row that a 4-tile step of the transforms writes (input) or reads (output), and a
// strip more where rows would be a multiple of 512 bytes apart, in a few L1 sets. Rows were half a
// strip longer than the strips: v1's inception_3b 3×3 on two threads, 14 tiles a worker, had rows
// of 24 floats, now 16: V and M take a third less, its scratch 1.79 -> 1.34 MB (one thread's, with
// chunks of 28 tiles, 1.49 -> 1.27). The layers' GFLOP/s measured 0.97–1.05 of before
// (BenchmarkConv2D and BenchmarkConv2DThreads2, 3 alternated runs).
func winoLD(rows, tw int) int {
	ld := (rows*tw + gemmNR - 1) / gemmNR * gemmNR
	if ld < (rows-1)*tw+(tw+3)/4*4 {
		ld += gemmNR
	}
	if ld%128 == 0 {
		ld += gemmNR
	}
	return ld
}

// trows returns the tile rows of all the plan's images.
func (p winoPlan) trows() int { return p.imgs * p.th }

// skew rounds a plane size n (float32s) up so that 16 (or 36) planes n apart fall in different
// cache sets: to an odd multiple of 16 floats (64 bytes). The transforms touch all 16
// planes of V or M at once; planes a multiple of 4 KiB apart alias in L1 (12 ways at most)
// and in the store buffer's 4K check, which made the weight transform 5× slower.
func skew(n int) int {
	n = (n + 15) / 16
	return (n | 1) * 16
}

// winoPackedLen returns the length of the packed transformed weights of tile t: (t+r-1)²
// GEMM A matrices of O×C, each packed by packA, winoPlaneLen apart.
func (s ConvShape) winoPackedLen(t int) int {
	if s.wino27() {
		return s.wino27PackedLen()
	}
	a := s.winoInTile(t)
	return a * a * s.winoPlaneLen()
}

// winoInTile returns the input tile side t+r-1 of s's r×r Winograd convolution (r = KH) by
// output tile t.
func (s ConvShape) winoInTile(t int) int { return t + s.KH - 1 }

// winoPlaneLen returns the distance between the packed U_e: packedALen(O, C), skewed.
func (s ConvShape) winoPlaneLen() int { return skew(packedALen(s.O, s.C)) }

// winoPackWeights transforms w (O×C×r×r, r = 3 or 5) into U_e = (G g Gᵀ)_e, e = a·i+q for
// the input tile a = t+r-1, and packs the a² O×C matrices by packA into dst (len >=
// s.winoPackedLen(t)), U_e at e*winoPlaneLen(). It reads w in order within each K block
// (each write then lands 6 floats after the previous one of its matrix); the arithmetic is
// float32 for F(2×2, 3×3) (G's ½s are exact), float64 rounded once for F(4×4, 3×3) and
// F(2×2, 5×5) (wino43Weights, wino25Weights). F(2, 7) shapes pack by wino27PackWeights.
func (s ConvShape) winoPackWeights(t int, w, dst []float32) {
	if s.wino27() {
		s.wino27PackWeights(w, dst)
		return
	}
	mp := (s.O + gemmMR - 1) / gemmMR * gemmMR
	plen := s.winoPlaneLen()
	kcb := gemmKCFor(s.C)
	ne := s.winoInTile(t) * s.winoInTile(t)
	kk := s.KH * s.KW
	dst = dst[:ne*plen]
	for k0 := 0; k0 < s.C; k0 += kcb {
		kc := min(kcb, s.C-k0)
		for o := 0; o < mp; o++ {
			// Where packA puts A[o][k0]: K block k0, panel o/6, row 0, lane o%6.
			at := k0*mp + o/gemmMR*gemmMR*kc + o%gemmMR
			if o >= s.O {
				for c := 0; c < kc; c++ {
					for e := 0; e < ne; e++ {
						dst[e*plen+at+c*gemmMR] = 0
					}
				}
				continue
			}
			row := w[(o*s.C+k0)*kk : (o*s.C+k0+kc)*kk]
			for c := 0; c < kc; c++ {
				d := dst[at+c*gemmMR:]
				if kk == 25 {
					for e, v := range wino25Weights((*[25]float32)(row[c*25:])) {
						d[e*plen] = v
					}
					continue
				}
				g := (*[9]float32)(row[c*9:])
				if t == 4 {
					for e, v := range wino43Weights(g) {
						d[e*plen] = v
					}
					continue
				}
				for e, v := range wino23Weights(g) {
					d[e*plen] = v
				}
			}
		}
	}
}

// wino23Weights returns U = G g Gᵀ of one 3×3 kernel g (row-major), U[4r+q] = U[r][q].
func wino23Weights(g *[9]float32) (u [16]float32) {
	// gg = G g: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2 of the kernel's rows g0, g1, g2.
	var gg [4][3]float32
	for x := 0; x < 3; x++ {
		a, b, c := g[x], g[3+x], g[6+x]
		gg[0][x], gg[1][x], gg[2][x], gg[3][x] = a, (a+b+c)*0.5, (a-b+c)*0.5, c
	}
	for r := 0; r < 4; r++ {
		a, b, c := gg[r][0], gg[r][1], gg[r][2]
		u[4*r], u[4*r+1], u[4*r+2], u[4*r+3] = a, (a+b+c)*0.5, (a-b+c)*0.5, c
	}
	return u
}

// winoBatchScratchLen returns the scratch of winoConv for up to n images on slots workers: a B
// strip buffer per worker, the padded input of each image, and V and M of one chunk of the
// largest plan (winoBatchPlan's chunks are not monotonic in n), or of two for more than one
// worker (winoConvChunked gives each worker its own share of two).
func (s ConvShape) winoBatchScratchLen(t, n, slots int) int {
	vm, pad := 0, 0
	for k := 1; k <= n; k++ {
		p := s.winoBatchPlan(t, k)
		vm = max(vm, s.winoVMLen(p, slots))
		pad = max(pad, s.winoPadLen(p, slots))
	}
	return slots*stripBufLen(s.C) + pad + vm
}

// vmLen returns the float32s of V and M of one chunk of p overlaid (overlay), as one worker runs
// them. One-thread scratch of v1's inception_3b 3×3 (128→192 at 28×28, F(4×4)): 3.91 -> 2.62 MB,
// of conv2 (64→192 at 56×56) 3.65 -> 2.86 MB.
func (p winoPlan) vmLen() int { return p.ne*max(p.ve, p.me) + min(p.ve, p.me) }

// winoVMLen returns the float32s of V and M winoConv takes for plan p on up to slots workers: on
// one worker one chunk's, overlaid; on w workers, those of the path it takes then: each worker's
// own chunks overlaid (winoConvChunked, w·q.vmLen()), or one chunk's V and M side by side
// (winoConvParallel, ne·(ve + me)). This counted 2·p.vmLen() for any path, which both fit in:
// v1's conv2 (64→192 at 56×56, phases) on two threads took 5.71 MB of scratch and takes 4.24.
func (s ConvShape) winoVMLen(p winoPlan, slots int) int {
	n := p.vmLen()
	for w := 2; w <= slots; w++ {
		if q, ok := s.winoChunkedPlan(p, w); ok {
			n = max(n, w*q.vmLen())
		} else {
			n = max(n, p.ne*(p.ve+p.me))
		}
	}
	return n
}

// overlay carves V and M of one chunk of p from area (len >= p.vmLen()), overlaid: a worker running
// a chunk's GEMMs e = 0, 1, … in turn, each reading V_e and writing M_e, may write M_e over V planes
// already read, as V_e is dead once M_e is written and M is dead once the output transform has read
// it, before the next chunk's input transform writes V. So M_e = m[e·me:] must stay clear of V_e,
// V_e+1, …: with me >= ve, V starts at ne·me - (ne-1)·ve, V_e' then at ne·me - (ne-1-e')·ve >=
// (e+1)·me for e' >= e; with me < ve, V starts at me, V_e' at me + e'·ve >= (e+1)·me.
func (p winoPlan) overlay(area []float32) (v, m []float32) {
	v0 := p.me
	if p.me >= p.ve {
		v0 = p.ne*p.me - (p.ne-1)*p.ve
	}
	return area[v0 : v0+p.ne*p.ve], area[:p.ne*p.me]
}

// windowed reports whether winoConv pads the input chunk by chunk, into a window of the
// rows the chunk's tiles read, rather than whole before the first chunk: 3×3 shapes of one
// image. The whole padded input took 3.2 MB for v3_Conv2d_2b_3x3 (32×147×147), a window 0.4
// MB, and a chunk's window is still in L2 when its input transform reads it. Batches of small
// maps (several images' tiles in a chunk), 5×5 and F(2, 7) shapes pad whole.
func (p winoPlan) windowed() bool { return p.r == 3 && p.imgs == 1 }

// winoWindowRows returns the rows of a window for chunks of p.rows tile rows.
func winoWindowRows(p winoPlan) int { return p.t*p.rows + p.r - 1 }

// winoPadLen returns the padded input winoConv keeps for plan p on up to slots workers: the whole
// padded input of p's images, or for a windowed plan the windows it pads chunks into: one of p's
// chunks for one worker and for winoConvParallel's phases, one of q's per worker for
// winoConvChunked (q = winoChunkedPlan). v1's conv2 (64→192 at 56×56), phases on two threads,
// counted a window per worker, 0.38 MB more.
func (s ConvShape) winoPadLen(p winoPlan, slots int) int {
	if !p.windowed() {
		return p.imgs * s.C * p.hp * p.wp
	}
	rows := winoWindowRows(p)
	for w := 2; w <= slots; w++ {
		if q, ok := s.winoChunkedPlan(p, w); ok {
			rows = max(rows, w*winoWindowRows(q))
		}
	}
	return s.C * rows * p.wp
}

// winoBatch reports whether Conv2DPackedBatch runs s's n images as one Winograd convolution
// (winoBatchPlan): F(2×2) and F(4×4) shapes (3×3 or 5×5) whose images have fewer tiles than a chunk
// holds, so that the GEMMs get wider. F(2, 7) shapes, and maps that fill whole chunks alone,
// run image by image. It is monotonic in n (with R >= th rows per chunk, false means
// n(R-th) < R), so BatchScratchLen(n, threads) also covers the batches of fewer images.
func (s ConvShape) winoBatch(n int) bool {
	t := s.winoTile()
	if n < 2 || t == 0 || s.wino27() {
		return false
	}
	p := s.winoPlan(t)
	return p.rows == p.th && s.winoBatchPlan(t, n).rows > p.th
}

// winoConv runs a Winograd convolution with output tile t over weights pu packed by
// winoPackWeights(t, …), for n images (n = 1 for F(2, 7)): image i read from
// in[i*inStride:], written to out[i*outStride:].
func winoConv(s ConvShape, t, n int, in []float32, inStride int, pu, bias, out []float32, outStride int,
	scratch []float32, relu bool, workers, slots int, impl isa) {
	p := s.winoBatchPlan(t, n)
	w := winoConvState{s: s, p: p, in: in, pu: pu, bias: bias, out: out, relu: relu, impl: impl,
		inStride: inStride, outStride: outStride}
	q, chunked := s.winoChunkedPlan(p, workers)
	scratch = w.carve(scratch, slots, workers > 1 && !chunked)
	if chunked {
		winoConvChunked(w, q, scratch[:workers*q.vmLen()], workers)
		return
	}
	if workers == 1 {
		w.serial()
		return
	}
	winoConvParallel(w, workers)
}

// carve gives w its B strip buffers for slots workers, its padded input, and V and M of one chunk
// (side by side for winoConvParallel, whose GEMMs run out of order, else overlaid: vmLen) from
// scratch, and returns scratch from V and M on.
func (w *winoConvState) carve(scratch []float32, slots int, sideBySide bool) []float32 {
	p := w.p
	w.bufLen = stripBufLen(w.s.C)
	w.bufs, scratch = scratch[:slots*w.bufLen], scratch[slots*w.bufLen:]
	padLen := w.s.winoPadLen(p, slots)
	w.pad, scratch = scratch[:padLen], scratch[padLen:]
	w.windowed = p.windowed()
	w.ve, w.me = p.ve, p.me
	if sideBySide {
		w.v, w.m = scratch[:p.ne*w.ve], scratch[p.ne*w.ve:p.ne*(w.ve+w.me)]
		return scratch
	}
	w.v, w.m = p.overlay(scratch)
	return scratch
}

// serial runs the convolution chunk by chunk on the calling goroutine.
func (w *winoConvState) serial() {
	p := w.p
	if !w.windowed {
		w.fill(0, p.imgs*w.s.C)
	}
	for ch := 0; ch < w.chunks(); ch++ {
		w.chunk(ch, 0)
	}
}

// chunk runs chunk ch whole, input transform, GEMMs and output transform, with worker's B buffer.
func (w *winoConvState) chunk(ch, worker int) {
	w.input(ch, 0, w.s.C)
	w.gemm(ch, 0, w.p.ne, 0, w.strips(ch), worker)
	w.output(ch, 0, w.s.O)
}

// forWorker returns w for one of workers goroutines taking whole chunks of plan q: its own V and M,
// part worker of area (q.vmLen() each), and, windowed, its own share of the padded rows.
func (w *winoConvState) forWorker(q winoPlan, area []float32, workers, worker int) winoConvState {
	wk := *w
	wk.p, wk.ve, wk.me = q, q.ve, q.me
	part := q.vmLen()
	wk.v, wk.m = q.overlay(area[worker*part : (worker+1)*part])
	if w.windowed {
		window := len(w.pad) / workers
		wk.pad = w.pad[worker*window : (worker+1)*window]
	}
	return wk
}

// winoConvParallel runs the phases of winoConv on workers goroutines (runTeam): the padded
// input by channels; per chunk, the input transform by channels, then the ne GEMMs by
// (e, column strip); the output transform by output channels, in the same phase as the next
// chunk's input transform (one reads M, the other writes V). It is a separate function so
// that only this path pays for the heap-allocated closure state.
func winoConvParallel(w winoConvState, workers int) {
	chunks := w.chunks()
	C, O := w.s.C, w.s.O
	// Phases: fill, then per chunk ch: [output ch-1 (O units), input ch (C units)],
	// [gemm ch (ne × strips units)]; then the output of the last chunk.
	units := make([]int, 0, 2*chunks+2)
	units = append(units, w.p.imgs*C*btoi(!w.windowed))
	for ch := 0; ch < chunks; ch++ {
		units = append(units, C+O*min(ch, 1), w.p.ne*w.units(ch))
	}
	units = append(units, O)
	runTeam(workers-1, units, func(phase, lo, hi, worker int) {
		switch {
		case phase == 0:
			if !w.windowed { // else each chunk's input phase pads its rows (input)
				w.fill(lo, hi)
			}
		case phase == len(units)-1:
			w.output(chunks-1, lo, hi)
		case phase%2 == 1: // output of chunk ch-1 (units 0..O-1 when ch > 0), input of chunk ch
			ch := (phase - 1) / 2
			if ch > 0 {
				if lo < O {
					w.output(ch-1, lo, min(hi, O))
				}
				lo, hi = max(lo-O, 0), hi-O
			}
			if lo < hi {
				w.input(ch, lo, hi)
			}
		default: // units e*per + j: unit j (of spu strips) of M_e
			ch := (phase - 2) / 2
			per, spu, strips := w.units(ch), w.impl.unitCols()/gemmNR, w.strips(ch)
			for e := lo / per; e <= (hi-1)/per; e++ {
				j0, j1 := max(lo-e*per, 0), min(hi-e*per, per)
				w.gemm(ch, e, e+1, j0*spu, min(j1*spu, strips), worker)
			}
		}
	})
}

// winoChunkedPlan returns the plan of winoConvChunked for workers > 1: chunks of tile rows
// small enough that workers overlaid V and M fit in twice one worker's (2·p.vmLen()),
// at least two chunks per worker and 64 tiles per chunk (winoFewTiles with FewTiles) or, for the
// 2-D tiles (F(2×2) and F(4×4) of 3×3, F(2×2) of 5×5) on maps too small for that, one chunk per
// worker of at least wino25MinChunkTiles tiles; ok is false for smaller maps. On 35×35 maps the 3×3 layers ran
// 8–33% faster on 2 threads than through winoConvParallel's phases (irv2_block35_3x3:
// 166 → 112 µs with AVX-512, 149 → 107 with AVX2; v3_Mixed_5b_3x3dbl_3: 487 → 410, 533 →
// 477); 28×28, 14×14 and 8×8 maps measured the same either way. F(2, 7) keeps the phases:
// v4_Mixed_6b_7x1 at 17×17 ran 12% slower with a chunk per worker. With FewTiles, the workers
// instead split one thread's chunk when that takes less memory: each worker's chunks are then
// smaller than winoFewTiles, for about one thread's scratch (v1's conv2 on two threads 2.62 -> 1.59
// MB, inception_3b's 3×3 2.99 -> 1.79, v3's and IRv1's Conv2d_4a 3.72 -> 2.61) at 4–21% of those
// layers' time against the chunks of winoChunksFor (30 alternated rounds, two threads).
func (s ConvShape) winoChunkedPlan(p winoPlan, workers int) (q winoPlan, ok bool) {
	if workers < 2 {
		return p, false
	}
	q, ok = s.winoChunksFor(p, workers)
	if s.FewTiles {
		// One thread's chunk split among the workers, when that takes less memory than the chunks
		// or the phases (winoVMLen).
		mem := p.ne * (p.ve + p.me)
		if ok {
			mem = workers * q.vmLen()
		}
		if rows := (p.rows + workers - 1) / workers; rows < p.trows() {
			if r, fits := s.winoChunkRows(p, rows, workers); fits && workers*r.vmLen() < mem {
				return r, true
			}
		}
	}
	return q, ok
}

// winoChunksFor returns winoChunkedPlan's plan of chunks for each worker, FewTiles aside.
func (s ConvShape) winoChunksFor(p winoPlan, workers int) (q winoPlan, ok bool) {
	least := 64
	if s.FewTiles {
		least = winoFewTiles
	}
	for rows := min(p.rows, p.trows()/(2*workers)); rows >= 1 && rows*p.tw >= least; rows-- {
		if q, ok = s.winoChunkRows(p, rows, workers); ok {
			return q, true
		}
	}
	if p.r == 3 || p.r == 5 {
		rows := max((p.trows()+workers-1)/workers, (wino25MinChunkTiles+p.tw-1)/p.tw)
		if rows < p.trows() {
			return s.winoChunkRows(p, rows, workers)
		}
	}
	return p, false
}

// winoChunkRows returns p with chunks of rows tile rows, and whether workers of their V and M,
// overlaid, fit in twice one worker's V and M of p (2·p.vmLen(), what winoConv kept for any path
// on more than one worker when the chunk sizes were measured).
func (s ConvShape) winoChunkRows(p winoPlan, rows, workers int) (q winoPlan, ok bool) {
	q = p
	q.rows = rows
	q.ld = winoLD(rows, p.tw)
	q.ve, q.me = skew(s.C*q.ld), skew(p.mp*q.ld)
	if workers*q.vmLen() <= 2*p.vmLen() {
		return q, true
	}
	return p, false
}

// winoConvChunked runs winoConv on big maps (v3's and v4's stems: 74×74 tiles) with each
// worker taking whole chunks, input transform, GEMMs and output transform, in its own V
// and M (area split into workers parts of the plan q): after the padded input, no phase
// waits for another worker. The barriers of winoConvParallel between the phases of every
// chunk made v3_Conv2d_2b_3x3 (19 chunks of 4 tile rows) only 1.3× faster on 2 threads.
// The chunking changes the tiles' grouping, not any output's operations.
func winoConvChunked(w winoConvState, q winoPlan, area []float32, workers int) {
	chunks := (q.trows() + q.rows - 1) / q.rows
	runTeam(workers-1, []int{q.imgs * w.s.C * btoi(!w.windowed), chunks}, func(phase, lo, hi, worker int) {
		if phase == 0 {
			w.fill(lo, hi)
			return
		}
		wk := w.forWorker(q, area, workers, worker)
		for ch := lo; ch < hi; ch++ {
			wk.chunk(ch, worker)
		}
	})
}

// winoConvState is one Winograd convolution in progress.
type winoConvState struct {
	s      ConvShape
	p      winoPlan
	in, pu []float32
	bias   []float32
	out    []float32
	relu   bool
	impl   isa
	bufs   []float32 // per-worker B strips of bufLen
	bufLen int
	pad    []float32 // padded input, C planes of hp×wp per image, or windowed: the rows of one chunk
	// windowed: input pads each chunk's rows, C planes of winoWindowRows×wp (winoPlan.windowed)
	windowed bool
	v, m     []float32 // V_e at v[e*ve:], M_e at m[e*me:] (e < p.ne), rows ld apart
	ve, me   int

	inStride, outStride int // distances between the images of in and out (p.imgs > 1)

	// band: output writes chunk by chunk to a band buffer (Conv2DPackedBands), channel o's row y
	// of a chunk whose first row is y0 at out[o*plane+(y-y0+skip)*ow:].
	band        bool
	plane, skip int

	// from, to: the tile rows the chunks cover, from..to-1 (a chunk of a band of Conv2DPackedBands);
	// to == 0: all.
	from, to int
}

// end returns the tile row after the chunks' last.
func (w *winoConvState) end() int {
	if w.to == 0 {
		return w.p.trows()
	}
	return w.to
}

// chunks returns the number of chunks of p.rows tile rows.
func (w *winoConvState) chunks() int { return (w.end() - w.from + w.p.rows - 1) / w.p.rows }

// rows returns the tile rows ty0..ty1-1 of chunk ch, counted across images.
func (w *winoConvState) rows(ch int) (ty0, ty1 int) {
	ty0 = w.from + ch*w.p.rows
	return ty0, min(ty0+w.p.rows, w.end())
}

// fill writes channels u0..u1-1 of the padded input, counted across images (unit u is
// channel u%C of image u/C).
func (w *winoConvState) fill(u0, u1 int) {
	if w.s.wino27() {
		w.s.wino27Fill(w.in, w.pad, w.p, u0, u1, w.impl)
		return
	}
	C, plane := w.s.C, w.p.hp*w.p.wp
	for u := u0; u < u1; {
		img, c := u/C, u%C
		c1 := min(C, c+u1-u)
		if w.p.r == 5 {
			w.s.wino25Fill(w.in[img*w.inStride:], w.pad[img*C*plane:], w.p, c, c1, w.impl)
		} else {
			w.s.winoFill(w.in[img*w.inStride:], w.pad[img*C*plane:], w.p, c, c1)
		}
		u += c1 - c
	}
}

// input writes V for channels c0..c1-1 of chunk ch.
func (w *winoConvState) input(ch, c0, c1 int) {
	if w.s.wino27() {
		w.wino27Input(ch, c0, c1)
		return
	}
	p := w.p
	ty0, ty1 := w.rows(ch)
	plane, y0 := p.hp*p.wp, 0
	if w.windowed {
		// The window's row i is padded row t·ty0 + i: the chunk's tiles read rows from there on.
		rows := winoWindowRows(p)
		plane, y0 = rows*p.wp, p.t*ty0
		w.s.winoFillRows(w.in, w.pad, p, y0, min(y0+rows, p.hp), plane, c0, c1)
	}
	for c := c0; c < c1; c++ {
		for ty := ty0; ty < ty1; ty++ {
			img, y := ty/p.th, ty%p.th
			src := w.pad[(img*w.s.C+c)*plane+p.t*y*p.wp-y0*p.wp:]
			if p.r == 5 {
				w.impl.wino25Input(src, p.wp/2, w.v[c*p.ld+(ty-ty0)*p.tw:], w.ve, p.tw)
				continue
			}
			if p.t == 4 {
				w.impl.wino43Input(src, p.wp, w.v[c*p.ld+(ty-ty0)*p.tw:], w.ve, p.tw)
				continue
			}
			w.impl.wino23Input(src, p.wp, w.v[c*p.ld+(ty-ty0)*p.tw:], w.ve, p.tw)
		}
	}
}

// units returns the column ranges of chunk ch's GEMMs that winoConvParallel hands out: whole
// tiles of the micro-kernel (isa.unitCols).
func (w *winoConvState) units(ch int) int {
	spu := w.impl.unitCols() / gemmNR
	return (w.strips(ch) + spu - 1) / spu
}

// strips returns the 16-column strips of chunk ch's tiles.
func (w *winoConvState) strips(ch int) int {
	ty0, ty1 := w.rows(ch)
	return ((ty1-ty0)*w.p.tw + gemmNR - 1) / gemmNR
}

// gemm computes strips j0..j1-1 of M_e = U_e · V_e of chunk ch for e = e0..e1-1, with
// worker's B buffer.
func (w *winoConvState) gemm(ch, e0, e1, j0, j1, worker int) {
	n := w.strips(ch) * gemmNR
	plen, alen := w.s.winoPlaneLen(), packedALen(w.s.O, w.s.C)
	buf := w.bufs[worker*w.bufLen : (worker+1)*w.bufLen]
	for e := e0; e < e1; e++ {
		g := gemmPacked{m: w.p.mp, n: n, k: w.s.C, a: w.pu[e*plen : e*plen+alen],
			src: bSource{t: w.v[e*w.ve : (e+1)*w.ve], kh: 1, kw: 1, sh: 1, sw: 1, plane: w.p.ld, ow: w.p.ld},
			c:   w.m[e*w.me : (e+1)*w.me], ldc: w.p.ld, isa: w.impl}
		g.run(0, w.p.mp, j0*gemmNR, j1*gemmNR, buf)
	}
}

// output writes the output rows of chunk ch for channels o0..o1-1.
func (w *winoConvState) output(ch, o0, o1 int) {
	if w.s.wino27() {
		w.wino27Output(ch, o0, o1)
		return
	}
	p := w.p
	ty0, ty1 := w.rows(ch)
	for o := o0; o < o1; o++ {
		var b float32
		if w.bias != nil {
			b = w.bias[o]
		}
		for ty := ty0; ty < ty1; ty++ {
			y := p.t * (ty % p.th)
			var out []float32
			if w.band { // one image: ty is the row of tiles
				out = w.out[o*w.plane+(y-p.t*ty0+w.skip)*p.ow:]
			} else {
				out = w.out[ty/p.th*w.outStride+(o*p.oh+y)*p.ow:]
			}
			if p.r == 5 {
				w.impl.wino25Output(w.m[o*p.ld+(ty-ty0)*p.tw:], w.me, out, p.ow, p.ow, min(2, p.oh-y), b, w.relu)
				continue
			}
			if p.t == 4 {
				w.impl.wino43Output(w.m[o*p.ld+(ty-ty0)*p.tw:], w.me, out, p.ow, p.ow, min(4, p.oh-y), b, w.relu)
				continue
			}
			w.impl.wino23Output(w.m[o*p.ld+(ty-ty0)*p.tw:], w.me, out, p.ow, p.ow, min(2, p.oh-y), b, w.relu)
		}
	}
}

// winoFill writes channels c0..c1-1 of the zero-padded input: plane c of pad holds
// in[c][y-PadT][x-PadL] at row y, column x (hp×wp, 0 outside the input).
func (s ConvShape) winoFill(in, pad []float32, p winoPlan, c0, c1 int) {
	s.winoFillRows(in, pad, p, 0, p.hp, p.hp*p.wp, c0, c1)
}

// winoFillRows writes rows y0..y1-1 of channels c0..c1-1 of the zero-padded input (see
// winoFill) to planes plane floats apart: row y of channel c at pad[c*plane+(y-y0)*wp:].
func (s ConvShape) winoFillRows(in, pad []float32, p winoPlan, y0, y1, plane, c0, c1 int) {
	for c := c0; c < c1; c++ {
		pl := pad[c*plane : c*plane+(y1-y0)*p.wp]
		for y := y0; y < y1; y++ {
			row := pl[(y-y0)*p.wp : (y-y0+1)*p.wp]
			iy := y - s.PadT
			if iy < 0 || iy >= s.H {
				clear(row)
				continue
			}
			// Columns PadL.. get the input row, cut at wp (padding beyond what the tiles
			// read is not needed).
			lo := min(s.PadL, p.wp)
			clear(row[:lo])
			n := copy(row[lo:], in[(c*s.H+iy)*s.W:(c*s.H+iy)*s.W+s.W])
			clear(row[lo+n:])
		}
	}
}

// wino23InputF32Generic computes the input transform V = Bᵀ d B of tiles 0..n-1 of a row of
// tiles, rounded up to a multiple of 4 (tiles n.. are written too, from the columns after):
//
//	for j := 0; j < (n+3)/4*4; j++ {
//		d[r][q] = src[r*wp + 2*j + q]                 // r, q < 4
//		t[0] = d[0]-d[2]; t[1] = d[1]+d[2]; t[2] = d[2]-d[1]; t[3] = d[1]-d[3] // rows
//		V[r][0] = t[r][0]-t[r][2]; V[r][1] = t[r][1]+t[r][2]
//		V[r][2] = t[r][2]-t[r][1]; V[r][3] = t[r][1]-t[r][3]
//		dst[(r*4+q)*ve + j] = V[r][q]
//	}
func wino23InputF32Generic(src []float32, wp int, dst []float32, ve, n int) {
	n = (n + 3) / 4 * 4
	s0 := src[:2*n+2]
	s1 := src[wp : wp+2*n+2]
	s2 := src[2*wp : 2*wp+2*n+2]
	s3 := src[3*wp : 3*wp+2*n+2]
	_ = dst[15*ve+n-1]
	for j := 0; j < n; j++ {
		var t [4][4]float32
		for q := 0; q < 4; q++ {
			d0, d1, d2, d3 := s0[2*j+q], s1[2*j+q], s2[2*j+q], s3[2*j+q]
			t[0][q], t[1][q], t[2][q], t[3][q] = d0-d2, d1+d2, d2-d1, d1-d3
		}
		for r := 0; r < 4; r++ {
			t0, t1, t2, t3 := t[r][0], t[r][1], t[r][2], t[r][3]
			dst[(r*4+0)*ve+j] = t0 - t2
			dst[(r*4+1)*ve+j] = t1 + t2
			dst[(r*4+2)*ve+j] = t2 - t1
			dst[(r*4+3)*ve+j] = t1 - t3
		}
	}
}

// wino23OutputF32Generic computes the output transform Y = Aᵀ M A + bias of a row of tiles
// and stores rows 0..nrows-1 and columns 0..ncols-1 of the outputs (nrows <= 2):
//
//	for j := 0; j < (ncols+1)/2; j++ {
//		mm[r][q] = m[(r*4+q)*me + j]                  // r, q < 4
//		s[0] = mm[0]+mm[1]+mm[2]; s[1] = mm[1]-mm[2]-mm[3] // rows
//		y[i][0] = s[i][0]+s[i][1]+s[i][2]; y[i][1] = s[i][1]-s[i][2]-s[i][3]
//		out[i*ldo + 2*j + k] = act(y[i][k] + bias)  // for i < nrows, 2*j+k < ncols
//	}
//
// act is max(·, 0) with relu (NaN stays NaN), the identity otherwise.
func wino23OutputF32Generic(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	n := (ncols + 1) / 2
	_ = m[15*me+n-1]
	for j := 0; j < n; j++ {
		var s [2][4]float32
		for q := 0; q < 4; q++ {
			m0, m1, m2, m3 := m[q*me+j], m[(4+q)*me+j], m[(8+q)*me+j], m[(12+q)*me+j]
			s[0][q], s[1][q] = m0+m1+m2, m1-m2-m3
		}
		for i := 0; i < nrows; i++ {
			y0 := s[i][0] + s[i][1] + s[i][2] + bias
			y1 := s[i][1] - s[i][2] - s[i][3] + bias
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

// btoi returns 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
