package kernels

import "math"

// PoolShape describes a 2-D pooling window over one CHW image.
type PoolShape struct {
	C, H, W                int
	KH, KW, SH, SW         int
	PadT, PadL, PadB, PadR int
	Ceil                   bool // ceil rounding of the output size (Caffe always; PyTorch ceil_mode=True)
}

// OutH returns the output height by PyTorch's rule (pooling_output_shape):
// floor or ceil of (H+PadT+PadB-KH)/SH, plus 1; in ceil mode, if (OutH-1)*SH >= H+PadT the
// last window would start in the bottom padding and is dropped. < 1 for an invalid shape.
func (s PoolShape) OutH() int { return poolOut(s.H, s.KH, s.SH, s.PadT, s.PadB, s.Ceil) }

// OutW returns the output width, by the rule of OutH.
func (s PoolShape) OutW() int { return poolOut(s.W, s.KW, s.SW, s.PadL, s.PadR, s.Ceil) }

func poolOut(in, k, stride, p0, p1 int, ceil bool) int {
	if stride < 1 {
		return 0
	}
	num := in + p0 + p1 - k
	if ceil {
		num += stride - 1
	}
	out := floorDiv(num, stride) + 1
	if ceil && (out-1)*stride >= in+p0 {
		out--
	}
	return out
}

func (s PoolShape) check(in, out []float32) (oh, ow int) {
	if s.C < 1 || s.H < 1 || s.W < 1 || s.KH < 1 || s.KW < 1 {
		panic("kernels: pool non-positive dimension")
	}
	if s.SH < 1 || s.SW < 1 {
		panic("kernels: pool non-positive stride")
	}
	if s.PadT < 0 || s.PadL < 0 || s.PadB < 0 || s.PadR < 0 {
		panic("kernels: pool negative padding")
	}
	oh, ow = s.OutH(), s.OutW()
	if oh < 1 || ow < 1 {
		panic("kernels: pool window larger than padded input")
	}
	if len(in) < s.C*s.H*s.W {
		panic("kernels: pool in too short")
	}
	if len(out) < s.C*oh*ow {
		panic("kernels: pool out too short")
	}
	return oh, ow
}

// MaxPool2D computes max pooling over windows clipped to the input (padding never wins):
//
//	for c, oy, ox := range C, OH, OW {
//		m := -Inf
//		for iy := max(oy*SH-PadT, 0); iy < min(oy*SH-PadT+KH, H); iy++ {
//			for ix := max(ox*SW-PadL, 0); ix < min(ox*SW-PadL+KW, W); ix++ {
//				m = max(m, in[(c*H+iy)*W+ix]) // NaN propagates
//			}
//		}
//		out[(c*OH+oy)*OW+ox] = m
//	}
//
// in: C*H*W; out: C*OH*OW.
func MaxPool2D(s PoolShape, in, out []float32) {
	oh, ow := s.check(in, out)
	maxPoolActive(s, oh, ow, in, out)
}

// poolFunc is the signature of the "maxpool" kernels (after argument checks).
type poolFunc func(s PoolShape, oh, ow int, in, out []float32)

// avgPoolFunc is the signature of the "avgpool" kernels (after argument checks).
type avgPoolFunc func(s PoolShape, oh, ow int, in, out []float32, countIncludePad bool)

// maxPoolActive and avgPoolActive are the pooling implementations in use, chosen once.
var (
	maxPoolActive = activeKernel("maxpool").(poolFunc)
	avgPoolActive = activeKernel("avgpool").(avgPoolFunc)
)

// maxPool2DF32Generic is MaxPool2D after argument checks; see MaxPool2D for the reference loop.
// It works a whole output row at a time: for each input row and kernel column, one tight
// loop over the output columns whose window holds that input column (faster than
// per-window loops on v3's 192×35×35 3×3 pool: 2.1 vs 5.4 ms). Same (iy, ix) order.
func maxPool2DF32Generic(s PoolShape, oh, ow int, in, out []float32) {
	maxPool2D(s, oh, ow, in, out, false)
}

// maxPool2DF32AVX2 is maxPool2DF32Generic with its stride-1 and stride-2 row loops in AVX2
// (maxRowF32AVX2, maxRowS2F32AVX2), and 3×3 stride-2 pools in place (maxPool3x3S2): max with
// Go's semantics, which is associative and commutative (NaN wins, max(-0, +0) = +0), so
// the results are bit-identical in any order (NaN payloads aside).
func maxPool2DF32AVX2(s PoolShape, oh, ow int, in, out []float32) {
	maxPool2D(s, oh, ow, in, out, true)
}

// maxPool2D is maxPool2DF32Generic, with the AVX2 kernels when simd.
func maxPool2D(s PoolShape, oh, ow int, in, out []float32, simd bool) {
	if simd && maxPool3x3S2(s, oh, ow, in, out) {
		return
	}
	maxPool2DRows(s, oh, ow, in, out, simd)
}

// maxPool3x3S2Chunk is the input floats, in whole planes, of a call of maxPool3x3S2's kernel,
// which maxPool2DRows redoes when the kernel finds a NaN or -0 (one plane from 128×128 up).
const maxPool3x3S2Chunk = 1 << 14

// maxPool3x3S2 computes MaxPool2D for 3×3 windows of stride 2 whose rows have at least 4
// windows inside the image, and reports whether s is such a pool (false: nothing done). The
// kernel maxPool3x3S2F32AVX2 reads the input rows in place, the rows of many planes in one
// call, and makes only the kept outputs: on v3's 64×147×147 stem pool 0.24 against 0.85 ms
// for poolPlane's chunks of rows, which copy the rows with their padding and compute the
// odd columns too, and 0.025 against 0.10 ms on v1's 832×14×14 in chunks of planes. Its
// VMAXPS may not be Go's max with a NaN or ±0, so a chunk of planes where it reports such a
// value is redone by maxPool2DRows. Windows clipped by the top or bottom of the image take a
// clipped row twice; windows clipped on the left or right, but a last one lacking only its
// third column, are done here by the reference loop.
func maxPool3x3S2(s PoolShape, oh, ow int, in, out []float32) bool {
	if s.KH != 3 || s.KW != 3 || s.SH != 2 || s.SW != 2 {
		return false
	}
	// Windows lo..hi-1 lie inside the image's columns, but with edge window hi-1 has only
	// columns W-2 and W-1.
	lo := (s.PadL + 1) / 2
	hi := min(floorDiv(s.W-3+s.PadL, 2)+1, ow)
	edge := hi < ow && 2*hi-s.PadL == s.W-2
	if edge {
		hi++
	}
	n := hi - lo
	if n < 4 {
		return false
	}
	// Output rows top..bot-1 likewise, with clip for a last one of rows H-2 and H-1.
	top := min((s.PadT+1)/2, oh)
	bot := max(min(floorDiv(s.H-3+s.PadT, 2)+1, oh), top)
	clip := bot < oh && 2*bot-s.PadT == s.H-2
	if clip {
		bot++
	}
	hw, ohw, x0 := s.H*s.W, oh*ow, 2*lo-s.PadL
	negInf := float32(math.Inf(-1))
	chunk := max(maxPool3x3S2Chunk/hw, 1)
	for c0 := 0; c0 < s.C; c0 += chunk {
		nc := min(chunk, s.C-c0)
		src, dst := in[c0*hw:(c0+nc)*hw], out[c0*ohw:(c0+nc)*ohw]
		bad := false // a NaN or -0 among the values the kernel read
		if bot > top {
			y0 := 2*top - s.PadT
			bad = maxPool3x3S2F32AVX2(dst[top*ow+lo:], ow, ohw, src[y0*s.W+x0:], s.W, 2*s.W, 2*s.W, hw, nc, bot-top, n, edge, clip)
		}
		for oy := 0; oy < oh; oy++ { // the rows clipped at the top, or past row bot-1
			if oy == top {
				oy = bot
			}
			if oy >= oh {
				break
			}
			y0 := 2*oy - s.PadT
			y1, y0 := min(y0+3, s.H), max(y0, 0)
			if y1 <= y0 { // a window in the padding
				for k := range nc {
					fill(dst[k*ohw+oy*ow:k*ohw+(oy+1)*ow], negInf)
				}
				continue
			}
			o1, o2 := min(1, y1-y0-1)*s.W, (y1-y0-1)*s.W // rows y0, y0+1, y1-1
			bad = maxPool3x3S2F32AVX2(dst[oy*ow+lo:], 0, ohw, src[y0*s.W+x0:], o1, o2, 0, hw, nc, 1, n, edge, false) || bad
		}
		if bad {
			s := s
			s.C = nc
			maxPool2DRows(s, oh, ow, src, dst, true)
			continue
		}
		for k := 0; k < nc && n < ow; k++ {
			plane, dst := src[k*hw:(k+1)*hw], dst[k*ohw:(k+1)*ohw]
			for oy := 0; oy < oh; oy++ {
				y0 := 2*oy - s.PadT
				y1, y0 := min(y0+3, s.H), max(y0, 0)
				for ox := range ow - n { // the columns before lo, then from hi
					if ox >= lo {
						ox += n
					}
					m := negInf
					for iy := y0; iy < y1; iy++ {
						for ix := max(2*ox-s.PadL, 0); ix < min(2*ox-s.PadL+3, s.W); ix++ {
							m = max(m, plane[iy*s.W+ix])
						}
					}
					dst[oy*ow+ox] = m
				}
			}
		}
	}
	return true
}

// maxPool2DRows is maxPool2DF32Generic, with poolPlane's chunks and the AVX2 row loops when
// simd.
func maxPool2DRows(s PoolShape, oh, ow int, in, out []float32, simd bool) {
	var ring poolRing // for poolRow3
	hw := s.H * s.W
	negInf := float32(math.Inf(-1))
	if simd {
		var pl poolPlane
		if pl.setup(s, oh, ow) {
			pl.runAll(s, oh, ow, in, out, false, false)
			return
		}
	}
	for c := 0; c < s.C; c++ {
		ring.reset()
		plane := in[c*hw : c*hw+hw]
		dst := out[c*oh*ow : (c+1)*oh*ow]
		ring.noNaN = simd && !anyNaNF32AVX2(plane) && !hasNaN(plane[hw/8*8:])
		for oy := 0; oy < oh; oy++ {
			drow := dst[oy*ow : oy*ow+ow]
			for i := range drow {
				drow[i] = negInf
			}
			y0 := oy*s.SH - s.PadT
			if simd && s.KW == 3 && s.SW <= 2 && poolRow3(s, plane, drow, max(y0, 0), min(y0+s.KH, s.H), false, &ring) {
				continue
			}
			for iy := max(y0, 0); iy < min(y0+s.KH, s.H); iy++ {
				row := plane[iy*s.W : iy*s.W+s.W]
				for kx := 0; kx < s.KW; kx++ {
					lo, hi := poolCols(kx, s.PadL, s.SW, s.W, ow)
					ix := lo*s.SW + kx - s.PadL
					if simd && s.SW <= 2 {
						k := poolRowSIMD(drow[lo:hi], row[ix:], s.SW, false)
						lo, ix = lo+k, ix+k*s.SW
					}
					if s.SW == 1 {
						d := drow[lo:hi]
						r := row[ix : ix+len(d)]
						for i, v := range r {
							d[i] = max(d[i], v) // branch-free; NaN-propagating like PyTorch
						}
						continue
					}
					for ox := lo; ox < hi; ox++ {
						drow[ox] = max(drow[ox], row[ix])
						ix += s.SW
					}
				}
			}
		}
	}
}

// poolRowLen is the longest padded input row poolRow3 handles: sw*ow rounded up to 8
// outputs, plus 18.
const poolRowLen = 512

// poolRing holds the last 4 input rows of a channel copied with padding by poolRow3, row iy
// in slot iy%4 (tag[iy%4] == iy when it is there): each input row is copied once, though
// up to 3 output rows read it.
type poolRing struct {
	buf [4 * poolRowLen]float32
	tag [4]int
	tmp [poolRowLen]float32 // the output row, rounded up to 8

	nx  [poolRowLen]int     // avgPool2D: the divisor's columns, per output column
	div [poolRowLen]float32 // avgPool2D: one output row's divisors

	noNaN bool // maxima: the plane holds no NaN, so the faster kernels give the same bits
}

// hasNaN reports whether x holds a NaN.
func hasNaN(x []float32) bool {
	for _, v := range x {
		if v != v {
			return true
		}
	}
	return false
}

// reset forgets the rows: the next channel begins.
func (g *poolRing) reset() { g.tag = [4]int{-1, -1, -1, -1} }

// poolRow3 computes one output row of a pooling window 3 columns wide (and at most 3 rows)
// with stride 1 or 2, for input rows y0..y1-1 of plane, into drow (initialised to -Inf for
// max, 0 for sums), and reports whether it could (false: the row is too wide or the window
// too tall; nothing is written). It copies the input rows into g padded with the neutral
// element (-Inf, or +0, which leaves a sum that started at +0 unchanged: such a sum is
// never -0), so that every window lies inside, and runs the AVX2 kernel (maxRows3F32AVX2,
// …) over all the columns, 8 at a time. Each output combines its terms in the (iy, kx)
// order of maxPool2DF32Generic and avgPool2DF32Generic (which interleave them across
// columns differently, but not within one output), with the padding terms added in, so the
// bits are the same.
func poolRow3(s PoolShape, plane, drow []float32, y0, y1 int, add bool, g *poolRing) bool {
	ow, sw := len(drow), s.SW
	n8 := (ow + 7) / 8 * 8
	need := sw*n8 + 18 // the last step's loads reach sw*n8+17 (stride 2: 16 values from kx = 2)
	if need > poolRowLen || y1-y0 > 3 {
		return false
	}
	if y1 <= y0 {
		return true
	}
	pv := float32(0)
	if !add {
		pv = float32(math.Inf(-1))
	}
	var rows [3][]float32
	for iy := y0; iy < y1; iy++ {
		slot := iy % 4
		pr := g.buf[slot*poolRowLen : slot*poolRowLen+need]
		rows[iy-y0] = pr
		if g.tag[slot] == iy {
			continue
		}
		g.tag[slot] = iy
		lo := min(s.PadL, need)
		n := copy(pr[lo:], plane[iy*s.W:iy*s.W+s.W])
		for i := range pr[:lo] {
			pr[i] = pv
		}
		for i := range pr[lo+n:] {
			pr[lo+n+i] = pv
		}
	}
	for iy := y1 - y0; iy < 3; iy++ {
		rows[iy] = rows[0] // not read
	}
	d := g.tmp[:n8]
	copy(d, drow)
	switch {
	case sw == 1 && add:
		addRows3F32AVX2(d, rows[0], rows[1], rows[2], y1-y0)
	case sw == 1 && g.noNaN: // rows past y1-y0 repeat row 0, which changes no maximum
		maxRows3FastF32AVX2(d, rows[0], rows[1], rows[2])
	case sw == 1:
		maxRows3F32AVX2(d, rows[0], rows[1], rows[2], y1-y0)
	case add:
		addRows3S2F32AVX2(d, rows[0], rows[1], rows[2], y1-y0)
	case g.noNaN:
		maxRows3FastS2F32AVX2(d, rows[0], rows[1], rows[2])
	default:
		maxRows3S2F32AVX2(d, rows[0], rows[1], rows[2], y1-y0)
	}
	copy(drow, d)
	return true
}

// poolRowSIMD runs the AVX2 row loop of a pooling kernel, d[i] = op(d[i], r[sw*i]) with op
// max (or + when add), over the first outputs of d, 8 at a time as far as d and r allow,
// and returns how many it did; the caller does the rest. sw is 1 or 2.
func poolRowSIMD(d, r []float32, sw int, add bool) int {
	n := len(d) / 8 * 8
	if sw == 2 {
		n = min(n, len(r)/16*8) // each step loads 16 values of r
	}
	if n == 0 {
		return 0
	}
	d, r = d[:n], r[:sw*n]
	switch {
	case sw == 1 && add:
		addRowF32AVX2(d, r)
	case sw == 1:
		maxRowF32AVX2(d, r)
	case add:
		addRowS2F32AVX2(d, r)
	default:
		maxRowS2F32AVX2(d, r)
	}
	return n
}

// poolPlaneFloats bounds the padded input rows, and apart the window results, that
// poolPlane holds at once (32 KiB each).
const poolPlaneFloats = 8192

// poolPlane computes 3×3 pooling windows of stride st (1 or 2) whole channel planes at a
// time: the planes of a chunk of channels are copied with their padding into p, channel k of
// the chunk at k*blk, its padded rows wq apart, and one call of the AVX2 row kernel
// (maxRows3F32AVX2, addRows3S2F32AVX2, …) computes the flat results d[i] from
// p[st·i + ky·wq + kx]: at i = k*blk/st + oy·wq + ox that is padded row st·oy+ky, column
// st·ox+kx of channel k, its window. Results at columns ow..wq-1 of a row (half the row with
// stride 2) and past row oh-1 of a block are computed and dropped. The padding is written once
// per layer, as only the planes' interiors change between chunks, and the copies in and out
// take one call per channel (copyRowsF32AVX2), not one per row: on v3's 768×17×17 average
// pool 0.12 against 0.45 ms with a chunk of rows of one plane per call (which remains for
// stride-1 planes too big for a chunk), and that was 0.46 against 0.83 ms with a call per row
// (poolRow3, which remains for stride-2 planes too big for a chunk, like v1's 64×112×112,
// where the dropped half of the columns costs more than the calls per row; 3×3 stride-2 max
// pools of 4 windows a row or more take maxPool3x3S2 instead, which reads them in place).
type poolPlane struct {
	p, d   [poolPlaneFloats]float32 // padded input rows, results: wq apart
	div    [poolPlaneFloats]float32 // averages: the divisors of d (1 where dropped)
	divRow int                      // row chunks: the output row div holds, -1: none
	st     int                      // stride
	wq     int
	hp     int // padded rows of a channel: st·(oh-1)+3, rounded up to a multiple of st
	blk    int // floats per channel in a chunk of channels: hp*wq (results: blk/st)
	nch    int // channels per chunk; 0: a plane is too big, chunks of rows of one channel
	rows   int // output rows per chunk of rows
}

// setup sets the geometry for s and reports whether poolPlane handles s: 3×3 windows,
// stride 1, or stride 2 in both directions with a chunk of at least one channel.
func (g *poolPlane) setup(s PoolShape, oh, ow int) bool {
	if s.KH != 3 || s.KW != 3 || s.SH != s.SW || s.SW > 2 {
		return false
	}
	g.st = s.SW
	if g.st == 1 {
		// A row holds the reads of column ow-1 (ow+1) and the whole padded input row, in
		// whole 8-wide steps.
		g.wq = (max(ow+2, s.PadL+s.W) + 7) / 8 * 8
	} else {
		g.wq = max(2*ow+1, s.PadL+s.W)
	}
	g.hp = (g.st*(oh-1) + 3 + g.st - 1) / g.st * g.st
	g.blk = g.hp * g.wq
	// A chunk of nch channels computes n = nch*blk/st results rounded up to 8, which read
	// p up to st*n + 2 rows + 2 floats (runAll pads st*n + 2*wq + 32 <= 8192).
	g.nch = max(poolPlaneFloats-2*g.wq-48, 0) / g.blk
	// A chunk of rows output rows computes n = (rows-1)*wq + ow results rounded up to 8,
	// reading p up to st*n + 2*wq + 18 (run pads st*n + 2*wq + 32 <= 8192).
	g.rows = 0
	if room := poolPlaneFloats - 2*g.wq - 32 - g.st*(ow+7); room >= 0 {
		g.rows = min(room/(g.st*g.wq)+1, oh)
	}
	return g.nch > 0 || g.rows >= 1 && g.wq <= poolRowLen
}

// runAll pools the C planes of in into out: by chunks of channels when they fit, else
// channel by channel in chunks of rows (run).
func (g *poolPlane) runAll(s PoolShape, oh, ow int, in, out []float32, add, countIncludePad bool) {
	hw := s.H * s.W
	if g.nch == 0 {
		for c := 0; c < s.C; c++ {
			g.run(s, oh, ow, in[c*hw:c*hw+hw], out[c*oh*ow:(c+1)*oh*ow], add, countIncludePad)
		}
		return
	}
	pv := float32(0)
	if !add {
		pv = float32(math.Inf(-1))
	}
	st, wq, dblk := g.st, g.wq, g.blk/g.st
	nch := min(g.nch, s.C)
	n := (nch*dblk + 7) / 8 * 8
	fill(g.p[:st*n+2*wq+32], pv)
	if add {
		g.blockDivisors(s, oh, ow, countIncludePad)
		for k := 1; k < nch; k++ {
			copy(g.div[k*dblk:(k+1)*dblk], g.div[:dblk])
		}
		fill(g.div[nch*dblk:n], 1)
	}
	origin := s.PadT*wq + s.PadL  // input row 0, column 0 in a block
	rows := min(s.H, g.hp-s.PadT) // input rows a window reads (ceil mode may drop the last)
	for c0 := 0; c0 < s.C; c0 += nch {
		nc := min(nch, s.C-c0)
		n := (nc*dblk + 7) / 8 * 8
		for k := 0; k < nc; k++ {
			copyRowsF32AVX2(g.p[k*g.blk+origin:], wq, in[(c0+k)*hw:], s.W, rows, s.W)
		}
		d := g.d[:n]
		fill(d, pv)
		p := g.p[:]
		poolRows3(st, wq, add, d, p, p[:(st*n+2*wq+32+7)/8*8])
		if add {
			divRowF32AVX2(d, g.div[:n])
		}
		for k := 0; k < nc; k++ {
			copyRowsF32AVX2(out[(c0+k)*oh*ow:], ow, g.d[k*dblk:], wq, oh, ow)
		}
	}
}

// poolRows3 runs the AVX2 kernel of poolPlane over padded rows p, wq apart, into d (stride st):
// sums when add, else maxima, by the faster kernel when the input region check, the part of p
// the windows read, holds no NaN.
func poolRows3(st, wq int, add bool, d, p, check []float32) {
	switch {
	case add && st == 1:
		addRows3F32AVX2(d, p, p[wq:], p[2*wq:], 3)
	case add:
		addRows3S2F32AVX2(d, p, p[wq:], p[2*wq:], 3)
	case anyNaNF32AVX2(check[:len(check)/8*8]) || hasNaN(check[len(check)/8*8:]):
		if st == 1 {
			maxRows3F32AVX2(d, p, p[wq:], p[2*wq:], 3)
		} else {
			maxRows3S2F32AVX2(d, p, p[wq:], p[2*wq:], 3)
		}
	case st == 1:
		maxRows3FastF32AVX2(d, p, p[wq:], p[2*wq:])
	default:
		maxRows3FastS2F32AVX2(d, p, p[wq:], p[2*wq:])
	}
}

// blockDivisors sets div[:blk/st] to the divisors of one channel's results: AvgPool2D's rule
// at rows < oh and columns < ow, 1 elsewhere.
func (g *poolPlane) blockDivisors(s PoolShape, oh, ow int, countIncludePad bool) {
	fill(g.div[:g.blk/g.st], 1)
	for oy := 0; oy < oh; oy++ {
		if oy > 0 && g.sameDivisors(s, oy-1, oy) {
			copy(g.div[oy*g.wq:(oy+1)*g.wq], g.div[(oy-1)*g.wq:oy*g.wq])
			continue
		}
		g.divisors(s, oy, ow, countIncludePad, g.div[oy*g.wq:(oy+1)*g.wq])
	}
}

// run pools one channel plane into dst (oh×ow) in chunks of rows: averages by AvgPool2D's
// divisor rule when add, else maxima.
func (g *poolPlane) run(s PoolShape, oh, ow int, plane, dst []float32, add, countIncludePad bool) {
	st, wq := g.st, g.wq
	pv := float32(0)
	if !add {
		pv = float32(math.Inf(-1))
	}
	g.divRow = -1
	for oy0 := 0; oy0 < oh; oy0 += g.rows {
		nr := min(g.rows, oh-oy0)
		n := ((nr-1)*wq + ow + 7) / 8 * 8 // results, row r at r*wq
		p := g.p[:st*n+2*wq+32]
		fill(p, pv)
		// Row j of p is padded row st*oy0+j, input row st*oy0+j-PadT; the kept results read
		// np of them.
		np := st*(nr-1) + 3
		j0 := max(s.PadT-st*oy0, 0)
		iy0 := st*oy0 + j0 - s.PadT
		if rows := min(np-j0, s.H-iy0); rows > 0 {
			copyRowsF32AVX2(p[j0*wq+s.PadL:], wq, plane[iy0*s.W:], s.W, rows, s.W)
		}
		d := g.d[:n]
		fill(d, pv)
		poolRows3(st, wq, add, d, p, p)
		for r := 0; add && r < nr; r++ {
			oy := oy0 + r
			div := g.div[:wq]
			if g.divRow < 0 || !g.sameDivisors(s, g.divRow, oy) {
				g.divisors(s, oy, ow, countIncludePad, div)
				g.divRow = oy
			}
			// The same divisions as the scalar loop (VDIVPS rounds as DIVSS does).
			divRowF32AVX2(g.d[r*wq:r*wq+(ow+7)/8*8], div[:(ow+7)/8*8])
		}
		copyRowsF32AVX2(dst[oy0*ow:], ow, g.d[:], wq, nr, ow)
	}
}

// divisors sets div[:wq] to the divisors of output row oy (1 past ow, and where a window
// counts nothing), as avgPool2D's scalar loop computes them.
func (g *poolPlane) divisors(s PoolShape, oy, ow int, countIncludePad bool, div []float32) {
	y0 := oy*s.SH - s.PadT
	ny := min(y0+s.KH, s.H+s.PadB) - y0 // rows counted with padding
	if !countIncludePad {
		ny = max(min(y0+s.KH, s.H)-max(y0, 0), 0)
	}
	div = div[:g.wq]
	for ox := range div {
		div[ox] = 1
		if ox >= ow {
			continue
		}
		x0 := ox*s.SW - s.PadL
		x1 := min(x0+s.KW, s.W+s.PadR)
		nx := x1 - x0 // columns counted with padding
		if !countIncludePad {
			nx = max(min(x1, s.W)-max(x0, 0), 0)
		}
		if n := ny * nx; n > 0 {
			div[ox] = float32(n)
		}
	}
}

// fill sets every element of x to v: clear for 0, else by doubling copies (the compiler
// does not vectorise a store loop).
func fill(x []float32, v float32) {
	if v == 0 {
		clear(x)
		return
	}
	if len(x) == 0 {
		return
	}
	x[0] = v
	for n := 1; n < len(x); n *= 2 {
		copy(x[n:], x[:n])
	}
}

// sameDivisors reports whether output rows a and b have the same vertical window extent,
// hence the same divisors: both windows inside rows 0..H-1.
func (g *poolPlane) sameDivisors(s PoolShape, a, b int) bool {
	in := func(oy int) bool { y0 := oy*s.SH - s.PadT; return y0 >= 0 && y0+s.KH <= s.H }
	return in(a) && in(b)
}

// poolCols returns the output columns [lo, hi) whose window column kx falls inside the input:
// 0 <= ox*sw+kx-padL < w.
func poolCols(kx, padL, sw, w, ow int) (lo, hi int) {
	lo = max(0, -floorDiv(kx-padL, sw))       // ceil((padL-kx)/sw)
	hi = min(ow, floorDiv(w-1+padL-kx, sw)+1) // floor((w-1+padL-kx)/sw) + 1
	return lo, max(hi, lo)
}

// AvgPool2D computes average pooling, with PyTorch's and Caffe's divisor rule:
//
//	for c, oy, ox := range C, OH, OW {
//		y0, x0 := oy*SH-PadT, ox*SW-PadL
//		y1, x1 := min(y0+KH, H+PadB), min(x0+KW, W+PadR)
//		n := (y1-y0)*(x1-x0) // counts padding, but not a ceil-mode overhang past it
//		y0, x0, y1, x1 = max(y0, 0), max(x0, 0), min(y1, H), min(x1, W)
//		if !countIncludePad {
//			n = (y1-y0)*(x1-x0)
//		}
//		var sum float32
//		for iy := y0; iy < y1; iy++ {
//			for ix := x0; ix < x1; ix++ {
//				sum += in[(c*H+iy)*W+ix]
//			}
//		}
//		out[(c*OH+oy)*OW+ox] = sum / n // 0 if n == 0
//	}
//
// in: C*H*W; out: C*OH*OW.
func AvgPool2D(s PoolShape, in, out []float32, countIncludePad bool) {
	oh, ow := s.check(in, out)
	avgPoolActive(s, oh, ow, in, out, countIncludePad)
}

// avgPool2DF32Generic is AvgPool2D after argument checks; see AvgPool2D for the reference loop.
// Like maxPool2DF32Generic it sums a whole output row at a time, adding each window's terms
// in the reference's (iy, ix) order, then divides.
func avgPool2DF32Generic(s PoolShape, oh, ow int, in, out []float32, countIncludePad bool) {
	avgPool2D(s, oh, ow, in, out, countIncludePad, false)
}

// avgPool2DF32AVX2 is avgPool2DF32Generic with its stride-1 and stride-2 row loops in AVX2
// (addRowF32AVX2, addRowS2F32AVX2): each window's terms are added in the same order and
// divided by the same divisor, so the results are bit-identical.
func avgPool2DF32AVX2(s PoolShape, oh, ow int, in, out []float32, countIncludePad bool) {
	avgPool2D(s, oh, ow, in, out, countIncludePad, true)
}

// avgPool2D is avgPool2DF32Generic, with the AVX2 row loops when simd.
func avgPool2D(s PoolShape, oh, ow int, in, out []float32, countIncludePad, simd bool) {
	var ring poolRing // for poolRow3 and the divisions
	if simd && ow <= poolRowLen {
		for ox := range ring.nx[:ow] {
			x0 := ox*s.SW - s.PadL
			x1 := min(x0+s.KW, s.W+s.PadR)
			ring.nx[ox] = x1 - x0 // columns counted with padding
			if !countIncludePad {
				ring.nx[ox] = max(min(x1, s.W)-max(x0, 0), 0)
			}
		}
	}
	hw := s.H * s.W
	if simd && ow <= poolRowLen {
		var pl poolPlane
		if pl.setup(s, oh, ow) {
			pl.runAll(s, oh, ow, in, out, true, countIncludePad)
			return
		}
	}
	for c := 0; c < s.C; c++ {
		ring.reset()
		plane := in[c*hw : c*hw+hw]
		dst := out[c*oh*ow : (c+1)*oh*ow]
		for oy := 0; oy < oh; oy++ {
			drow := dst[oy*ow : oy*ow+ow]
			clear(drow)
			y0 := oy*s.SH - s.PadT
			ny := min(y0+s.KH, s.H+s.PadB) - y0 // rows counted with padding
			y1 := min(y0+s.KH, s.H)
			y0 = max(y0, 0)
			rows0, rows1 := y0, y1 // the rows the loop below adds
			if simd && s.KW == 3 && s.SW <= 2 && poolRow3(s, plane, drow, y0, y1, true, &ring) {
				rows1 = rows0
			}
			for iy := rows0; iy < rows1; iy++ {
				row := plane[iy*s.W : iy*s.W+s.W]
				for kx := 0; kx < s.KW; kx++ {
					lo, hi := poolCols(kx, s.PadL, s.SW, s.W, ow)
					ix := lo*s.SW + kx - s.PadL
					if simd && s.SW <= 2 {
						k := poolRowSIMD(drow[lo:hi], row[ix:], s.SW, true)
						lo, ix = lo+k, ix+k*s.SW
					}
					if s.SW == 1 {
						d := drow[lo:hi]
						r := row[ix : ix+len(d)]
						for i, v := range r {
							d[i] += v
						}
						continue
					}
					for ox := lo; ox < hi; ox++ {
						drow[ox] += row[ix]
						ix += s.SW
					}
				}
			}
			if !countIncludePad {
				ny = max(y1-y0, 0)
			}
			if simd && ow <= poolRowLen {
				// The same divisions, 8 at a time (VDIVPS rounds as DIVSS does).
				div := ring.div[:ow]
				for ox, nx := range ring.nx[:ow] {
					div[ox] = 1 // n == 0: no division
					if n := ny * nx; n > 0 {
						div[ox] = float32(n)
					}
				}
				k := ow / 8 * 8
				divRowF32AVX2(drow[:k], div[:k])
				for ox := k; ox < ow; ox++ {
					drow[ox] /= div[ox]
				}
				continue
			}
			for ox := range drow {
				x0 := ox*s.SW - s.PadL
				x1 := min(x0+s.KW, s.W+s.PadR)
				nx := x1 - x0 // columns counted with padding
				if !countIncludePad {
					nx = max(min(x1, s.W)-max(x0, 0), 0)
				}
				if n := ny * nx; n > 0 {
					drow[ox] /= float32(n)
				}
			}
		}
	}
}

// GlobalAvgPool averages each channel, accumulating in float64:
//
//	for ch := 0; ch < c; ch++ {
//		var sum float64
//		for _, v := range in[ch*hw : (ch+1)*hw] {
//			sum += float64(v)
//		}
//		out[ch] = float32(sum / float64(hw))
//	}
//
// in: c*hw; out: c.
func GlobalAvgPool(c, hw int, in, out []float32) {
	if c < 1 || hw < 1 {
		panic("kernels: GlobalAvgPool non-positive dimension")
	}
	if len(in) < c*hw {
		panic("kernels: GlobalAvgPool in too short")
	}
	if len(out) < c {
		panic("kernels: GlobalAvgPool out too short")
	}
	for ch := range out[:c] {
		var sum float64
		for _, v := range in[ch*hw : (ch+1)*hw] {
			sum += float64(v)
		}
		out[ch] = float32(sum / float64(hw))
	}
}
