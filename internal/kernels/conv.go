package kernels

// ConvShape describes a 2-D convolution of one CHW image.
type ConvShape struct {
	C, H, W                int // input channels, height, width
	O                      int // output channels
	KH, KW                 int // kernel height, width (any: 1x1, 3x3, 5x5, 7x7, 1x7, 7x1, 1x3, 3x1...)
	SH, SW                 int // strides
	PadT, PadL, PadB, PadR int // zero padding, may be asymmetric
	// LowMem asks that a large padded or strided input be copied in bands of rows whatever the
	// size of the weights, and on several threads too (bandRows): the copy of v4's Mixed_5a 3×3/2
	// (192×71×71) took 4.0 MB, in bands 1.0 MB, at 5% of the layer's time. It changes no output bit.
	LowMem bool
	// FewTiles asks a 3×3 or 5×5 Winograd convolution for chunks of as few tiles as still fill the
	// GEMMs' two-strip tiles (winoFewTiles), for a layer at a plan's memory peak: about half the
	// scratch of the default chunks (v1's conv2, 64→192 at 56×56: 2.86 -> 1.31 MB; inception_3b's
	// 3×3, 128→192 at 28×28: 2.62 -> 1.49 MB), at up to 5% of the layer's time; on several
	// threads, the workers split one thread's chunk (winoChunkedPlan). It changes no output bit.
	FewTiles bool
}

// OutH returns the output height, (H+PadT+PadB-KH)/SH + 1 (floor division; < 1 for an invalid shape).
func (s ConvShape) OutH() int { return convOut(s.H, s.KH, s.SH, s.PadT, s.PadB) }

// OutW returns the output width, (W+PadL+PadR-KW)/SW + 1 (floor division; < 1 for an invalid shape).
func (s ConvShape) OutW() int { return convOut(s.W, s.KW, s.SW, s.PadL, s.PadR) }

func convOut(in, k, stride, p0, p1 int) int {
	if stride < 1 {
		return 0
	}
	return floorDiv(in+p0+p1-k, stride) + 1
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// MACs returns the multiply-accumulates of the convolution, O*OH*OW*C*KH*KW.
func (s ConvShape) MACs() int64 {
	return int64(s.O) * int64(s.OutH()) * int64(s.OutW()) * int64(s.C) * int64(s.KH) * int64(s.KW)
}

// maxConvThreads caps the goroutines one Conv2D call uses; ScratchLen reserves a B buffer for each.
const maxConvThreads = 16

// convWorkers returns the most goroutines a convolution asked to use threads runs on, which is
// also how many B packing buffers its scratch holds: threads clamped to 1..maxConvThreads.
func convWorkers(threads int) int { return min(max(threads, 1), maxConvThreads) }

// parallelMinMACs is the size below which Conv2D stays serial (about 20 µs with AVX2): a
// goroutine start costs ~1 µs, and a helper the OS wakes late costs nothing, since the caller
// takes the work it has not started (runTeam). A var so tests can lower it.
var parallelMinMACs int64 = 1 << 20

// ScratchLen returns the float32s of scratch Conv2D needs for this shape: that of
// Conv2DPacked (PackedScratchLen) plus the packed weights (O rounded up to 6, times C*KH*KW,
// or 16, 36 or 8 times C for Winograd shapes).
func (s ConvShape) ScratchLen() int {
	return s.PackedScratchLen() + s.packedLen()
}

// PackedScratchLen returns the float32s of scratch Conv2DPacked needs for this shape on any
// number of threads with any implementation: BatchScratchLen(1, 16) with AVX2's kernels, which
// never pack masked, so that the padded copy is counted.
func (s ConvShape) PackedScratchLen() int { return s.batchScratchLen(1, maxConvThreads, isaAVX2) }

// packedLen returns the length of the weights packed by PackConvWeights.
func (s ConvShape) packedLen() int {
	if t := s.winoTile(); t != 0 {
		return s.winoPackedLen(t)
	}
	return packedALen(s.O, s.C*s.KH*s.KW)
}

// packWeights packs w into dst (len >= s.packedLen()) for conv2D.
func (s ConvShape) packWeights(w, dst []float32) {
	if t := s.winoTile(); t != 0 {
		s.winoPackWeights(t, w, dst)
		return
	}
	k := s.C * s.KH * s.KW
	packA(s.O, k, w, k, dst)
}

// gemm returns the GEMM of the convolution, without its operands: M = O, K = C*KH*KW,
// N = OH*OW.
func (s ConvShape) gemm() gemmPacked {
	return gemmPacked{m: s.O, n: max(s.OutH()*s.OutW(), 1), k: s.C * s.KH * s.KW}
}

// direct reports whether the convolution reads its input as is: 1×1 stride-1 unpadded
// (B is the input, row-major [C][H*W]) or stride-1 unpadded (im2col reads stay in bounds).
func (s ConvShape) direct() bool {
	return s.SH == 1 && s.SW == 1 && s.PadT == 0 && s.PadL == 0 && s.PadB == 0 && s.PadR == 0
}

// phases returns the size of one phase plane of the padded input: hq×wq, the padded input
// being split into SH×SW planes, plane (ry, rx) holding padded rows ry, ry+SH, … and
// columns rx, rx+SW, ….
func (s ConvShape) phases() (hq, wq int) {
	return (s.H + s.PadT + s.PadB + s.SH - 1) / s.SH, (s.W + s.PadL + s.PadR + s.SW - 1) / s.SW
}

// maskedPack reports whether the convolution reads its im2col matrix straight from the
// unpadded input with impl, through masked loads (bSource.masked), rather than from a
// padded copy that fillInput writes first: stride 1, padded to an output the size of the
// input (v3's 1×7, 7×1, 1×3, 3×1, 5×5), not 1×1 (direct) nor Winograd, and impl has the
// masked packer (AVX-512, or the portable one). With n images side by side, each must have
// at least 31 output columns, so that a 32-column strip pair spans at most two.
// On v3_Mixed_6b_1x7 the padded copy and the two masked loads per half row of
// packB16SegsF32AVX2 (each strip crosses an output row) took 17% of the time.
func (s ConvShape) maskedPack(n int, impl isa) bool {
	return (impl == isaAVX512 || impl == isaGeneric) && s.SH == 1 && s.SW == 1 &&
		s.OutH() == s.H && s.OutW() == s.W && s.KH*s.KW > 1 && s.KH*s.KW <= maxMaskedTaps &&
		!s.winograd() && (n == 1 || s.H*s.W >= 2*gemmNR-1)
}

// stride2Pack reports whether the convolution reads its im2col matrix straight from the
// unpadded input with impl, gathering every other value (bSource.s2), rather than from a copy
// split into stride phases that fillInput writes first: stride 2 both ways, unpadded, not 1×1,
// and impl has the gathering packer (AVX-512, or the portable one). IRv1's Conv2d_4b (192×71×71
// → 256) spent 8% of its time on that copy, and was 1.13 of ONNX Runtime's time.
func (s ConvShape) stride2Pack(impl isa) bool {
	return (impl == isaAVX512 || impl == isaGeneric) && s.SH == 2 && s.SW == 2 && s.KH*s.KW > 1 &&
		s.PadT == 0 && s.PadL == 0 && s.PadB == 0 && s.PadR == 0 && s.OutH() >= 1 && s.OutW() >= 1
}

// stride2Source returns the bSource of a stride2Pack convolution over in.
func (s ConvShape) stride2Source(in []float32) bSource {
	return bSource{t: in[:s.C*s.H*s.W], kh: s.KH, kw: s.KW, sh: 2, sw: 2, plane: s.H * s.W,
		wq: s.W, ow: s.OutW(), s2: true}
}

// readsInput reports whether src reads the convolution's input as is, with nothing to fill
// first.
func (s ConvShape) readsInput(src bSource) bool { return s.direct() || src.masked || src.s2 }

// maskedSource returns the bSource of a maskedPack convolution over in.
func (s ConvShape) maskedSource(in []float32) bSource {
	return bSource{t: in[:s.C*s.H*s.W], kh: s.KH, kw: s.KW, sh: 1, sw: 1, plane: s.H * s.W,
		wq: s.W, ow: s.W, masked: true, padT: s.PadT, padL: s.PadL, h: s.H}
}

// inputLen returns the float32s of the padded, phase-split input, 0 when direct.
func (s ConvShape) inputLen() int {
	if s.direct() {
		return 0
	}
	hq, wq := s.phases()
	return s.C * s.SH * s.SW * hq * wq
}

// band is a stretch of the phase planes' rows: rows i0..i0+rows-1 (all of them: i0 0, rows hq).
type band struct{ i0, rows int }

// bandFloats bounds the padded, phase-split input a one-thread GEMM convolution of one image
// fills at a time (1 MiB): a larger input is filled and multiplied in bands of output rows
// (bandRows), each band's rows of the phase planes in a window that stays in L2 until its GEMM has
// read it. The whole copy took 5.7 MB for v4's stem 3×3/2 (64×147×147), the largest part of v4's
// memory peak; in bands of 12 output rows, 1.1 MB, and the layer ran as fast (4.18 -> 4.15 ms,
// medians of 4 alternated rounds). A var so tests can lower it.
var bandFloats = 1 << 18

// bandMaxA bounds the weights (O·C·KH·KW floats) of a convolution that runs in bands: each band
// reads all of them again, and larger ones do not stay in L2 between bands. IRv1's Conv2d_4b
// (3×3/2, 192→256: 442k floats) ran 10% slower in bands of 8 rows, and 8–21% on two threads,
// where each band added two barriers; so bands are for one thread only, or for LowMem shapes, on
// several threads with a window per worker.
const bandMaxA = 1 << 17

// bandRows returns the output rows of the bands one image's convolution on slots workers runs in:
// OutH (one band, the whole input) unless it is not direct, its input is large (bandWindow), and on
// one thread its weights are small (bandMaxA) or s.LowMem, on more s.LowMem; then as many rows as
// keep a band's window within bandWindow (at least one). On several workers each takes whole bands
// into a window of its own (conv2DBandsParallel).
func (s ConvShape) bandRows(slots int) int {
	w := s.bandWindow()
	if s.direct() || s.inputLen() <= 2*w || !s.LowMem && (slots > 1 || s.O*s.C*s.KH*s.KW > bandMaxA) {
		return s.OutH()
	}
	_, wq := s.phases()
	return max(w/(s.C*s.SH*s.SW*wq)-(s.KH-1)/s.SH, 1)
}

// bandWindow returns the floats a band's window may take: bandFloats, but for a LowMem shape as
// little as an eighth of that, as long as the window outweighs the weights, which each band reads
// again. The 7×7/2 stem of v1 and v2 (3→64, 224×224: 9408 weights) copied its whole padded input,
// 0.64 MB, in one band of bandFloats, at the one-thread peak of v2; in windows of bandFloats/8,
// 0.13 MB.
func (s ConvShape) bandWindow() int {
	if s.LowMem {
		return min(bandFloats, max(bandFloats/8, s.O*s.C*s.KH*s.KW))
	}
	return bandFloats
}

// bandLen returns the floats of the windows of bands of bandRows(slots) output rows, one per
// worker: the phase planes' rows a band's output rows read (inputLen for one band).
func (s ConvShape) bandLen(slots int) int {
	rows := s.bandRows(slots)
	if rows >= s.OutH() {
		return s.inputLen()
	}
	_, wq := s.phases()
	return slots * s.C * s.SH * s.SW * (rows + (s.KH-1)/s.SH) * wq
}

// bandAt returns the phase rows of the band of output rows y0..y1-1: an output row y reads phase
// rows y .. y+(KH-1)/SH.
func (s ConvShape) bandAt(y0, y1 int) band {
	hq, _ := s.phases()
	return band{y0, min(y1-y0+(s.KH-1)/s.SH, hq-y0)}
}

// source returns the bSource of the convolution's im2col matrix: over in when direct,
// otherwise over t (len >= s.inputLen()), which fillInput must fill before it is read.
func (s ConvShape) source(in, t []float32) bSource {
	if s.KH == 1 && s.KW == 1 && s.direct() {
		hw := s.H * s.W
		return bSource{t: in[:s.C*hw], kh: 1, kw: 1, sh: 1, sw: 1, plane: hw, ow: hw}
	}
	src := bSource{kh: s.KH, kw: s.KW, sh: s.SH, sw: s.SW, ow: s.OutW()}
	if s.direct() {
		src.t, src.plane, src.wq = in[:s.C*s.H*s.W], s.H*s.W, s.W
		return src
	}
	hq, wq := s.phases()
	src.plane, src.wq = hq*wq, wq
	if t != nil { // nil: banded, each band sets its window (conv2D)
		src.t = t[:s.inputLen()]
	}
	return src
}

// fillInput writes channels c0..c1-1 of the padded, phase-split input into t, unless direct:
//
//	t[((c*SH+ry)*SW+rx)*hq*wq + i*wq + j] = in[c][i*SH+ry-PadT][j*SW+rx-PadL] (0 outside)
//
// For SW = 2 it splits each input row into its two phase rows with impl's unzip2 kernel.
func (s ConvShape) fillInput(in, t []float32, c0, c1 int, impl isa) {
	if s.direct() {
		return
	}
	hq, _ := s.phases()
	s.fillRows(in, s.H*s.W, t, c0, c1, band{0, hq}, impl)
}

// fillRows writes rows b.i0.. of the phase planes of channels c0..c1-1 (fillInput) into t, whose
// planes hold b.rows rows: row i of plane (c, ry, rx) at t[((c*SH+ry)*SW+rx)*b.rows*wq + (i-b.i0)*wq:].
// Input channel c starts at in[c*plane:] (H*W but in Conv2DPackedPlanes).
func (s ConvShape) fillRows(in []float32, plane int, t []float32, c0, c1 int, b band, impl isa) {
	hq, wq := s.phases()
	// row returns row i of phase plane (ry, rx) of channel c.
	row := func(c, ry, rx, i int) []float32 {
		return t[((c*s.SH+ry)*s.SW+rx)*b.rows*wq+(i-b.i0)*wq:][:wq]
	}
	for c := c0; c < c1; c++ {
		for ry := 0; ry < s.SH; ry++ {
			for i := b.i0; i < min(b.i0+b.rows, hq); i++ {
				iy := i*s.SH + ry - s.PadT
				if iy < 0 || iy >= s.H {
					for rx := 0; rx < s.SW; rx++ {
						clear(row(c, ry, rx, i))
					}
					continue
				}
				src := in[c*plane+iy*s.W : c*plane+iy*s.W+s.W]
				switch s.SW {
				case 1:
					r := row(c, ry, 0, i)
					lo := min(s.PadL, wq)
					clear(r[:lo])
					n := copy(r[lo:], src)
					clear(r[lo+n:])
				case 2:
					// Padded column X = ix+PadL goes to phase X%2, column X/2: the even
					// ix to phase PadL%2 from column PadL/2, the odd ix to the other
					// phase from column (PadL+1)/2.
					ev, od := row(c, ry, s.PadL%2, i), row(c, ry, 1-s.PadL%2, i)
					eo, oo := s.PadL/2, (s.PadL+1)/2
					ne, no := (s.W+1)/2, s.W/2
					clear(ev[:eo])
					clear(ev[eo+ne:])
					clear(od[:oo])
					clear(od[oo+no:])
					impl.unzip2(ev[eo:eo+no], od[oo:oo+no], src[:2*no])
					if ne > no {
						ev[eo+no] = src[s.W-1]
					}
				default:
					for rx := 0; rx < s.SW; rx++ {
						r := row(c, ry, rx, i)
						for j := range r {
							r[j] = 0
							if ix := j*s.SW + rx - s.PadL; uint(ix) < uint(s.W) {
								r[j] = src[ix]
							}
						}
					}
				}
			}
		}
	}
}

// Conv2D computes a 2-D convolution of one CHW image, with bias and optional ReLU:
//
//	for o := 0; o < O; o++ {
//		for y := 0; y < OH; y++ {
//			for x := 0; x < OW; x++ {
//				sum := bias[o] // 0 when bias == nil
//				for c := 0; c < C; c++ {
//					for ky := 0; ky < KH; ky++ {
//						for kx := 0; kx < KW; kx++ {
//							iy, ix := y*SH+ky-PadT, x*SW+kx-PadL
//							if 0 <= iy && iy < H && 0 <= ix && ix < W {
//								sum += w[((o*C+c)*KH+ky)*KW+kx] * in[(c*H+iy)*W+ix]
//							}
//						}
//					}
//				}
//				if relu {
//					sum = max(sum, 0)
//				}
//				out[(o*OH+y)*OW+x] = sum
//			}
//		}
//	}
//
// in: C*H*W; w: O*C*KH*KW (OIHW, i.e. the GEMM A matrix [O][C*KH*KW]); bias: len O or nil;
// out: O*OH*OW, overwritten, must not overlap in or w; scratch: len >= s.ScratchLen(), contents ignored.
// It is computed as out = w · im2col(in), with the im2col matrix never materialised: strips of
// it are gathered into scratch as the GEMM needs them, and w is first packed into scratch
// (Conv2DPacked takes weights packed once by PackConvWeights instead). 3×3 stride-1
// convolutions with at least 16 input and output channels run as Winograd F(2×2, 3×3)
// instead (winograd.go; its error is that of the direct sum, TestWinogradError), or, with
// 1024 <= C·O <= 32768, as F(4×4, 3×3) (winograd43.go; error ≤ 64 u of Σ|w·x|, 11–29× F(2×2)'s).
// 1×7 and 7×1 stride-1 convolutions padded only along the kernel's axis, with at least 128
// input and output channels, run as a 1-D Winograd F(2, 7) (winograd1d.go; error ≤ 32 u of
// Σ|w·x|, TestWino27Error). 5×5 stride-1 convolutions with at least 16 input and output
// channels and 6×6 outputs run as Winograd F(2×2, 5×5) (winograd25.go; error ≤ 48 u of
// Σ|w·x|, TestWino25Error). Accumulation is float32.
//
// threads is the number of goroutines to use (values < 1 mean 1, at most 16): the output
// columns (pixels) are split between them in 16-column strips, or the output channels in
// groups of 6 when there are few columns, so results do not depend on threads. Shapes under
// about 1M MACs run serially on the calling goroutine.
func Conv2D(s ConvShape, in, w, bias, out, scratch []float32, relu bool, threads int) {
	s.check(in, bias, out)
	k := s.C * s.KH * s.KW
	if len(w) < s.O*k {
		panic("kernels: Conv2D w too short")
	}
	if len(scratch) < s.ScratchLen() {
		panic("kernels: Conv2D scratch too short")
	}
	pa := scratch[s.PackedScratchLen() : s.PackedScratchLen()+s.packedLen()]
	s.packWeights(w, pa)
	conv2D(s, in, pa, bias, out, scratch, epilogue{relu: relu}, threads, gemmActive)
}

// PackConvWeights returns the weights w (OIHW, len >= O*C*KH*KW) packed for Conv2DPacked:
// 6-row panels of the GEMM A matrix [O][C*KH*KW], K block by K block, zero-padded to a
// multiple of 6 rows; for a Winograd shape, the 16 (F(2×2, 3×3)), 36 (F(4×4, 3×3)) or 8
// (F(2, 7)) transformed O×C matrices packed the same way. It allocates; call it once, when
// the weights are loaded. The layout depends only on s, not on which kernel implementation
// is active (the AVX-512 kernels read two consecutive 6-row panels as one 12-row panel).
func PackConvWeights(s ConvShape, w []float32) []float32 {
	pa := make([]float32, s.packedLen())
	PackConvWeightsTo(s, w, pa)
	return pa
}

// PackedLen returns the float32s of s's weights packed by PackConvWeights.
func (s ConvShape) PackedLen() int { return s.packedLen() }

// PackConvWeightsTo is PackConvWeights writing into dst (len >= s.PackedLen()), which the caller
// allocates (the model: in huge pages, one arena for all its layers), instead of a new slice.
// Every value of dst[:s.PackedLen()] is written, whatever it held.
func PackConvWeightsTo(s ConvShape, w, dst []float32) {
	k := s.C * s.KH * s.KW
	if s.O < 1 || k < 1 {
		panic("kernels: PackConvWeights non-positive dimension")
	}
	if len(w) < s.O*k {
		panic("kernels: PackConvWeights w too short")
	}
	if len(dst) < s.packedLen() {
		panic("kernels: PackConvWeightsTo dst too short")
	}
	if s.winoTile() != 0 {
		clear(dst[:s.packedLen()]) // the Winograd layouts leave their padding as it was; packA writes it
	}
	s.packWeights(w, dst)
}

// StackPacked returns the packed weights of one convolution made of several that share s but for
// their output counts outs[i], whose weights were packed by PackConvWeights as packed[i], and where
// each one's outputs begin in the stack: the stack's O is the sum of outs rounded up to multiples
// of 6, with zero weights between the members. Running the stack on an input (with the members'
// biases at the same offsets) computes every member's outputs, bit for bit as the member alone
// would, from one packing of the input: sibling 1×1 convolutions of an Inception block run as one
// GEMM. It returns the stack's packed weights, its O and the members' offsets. The stack is
// written into dst when it is long enough (len >= StackedO(outs)*C*KH*KW), else into a new slice.
// Winograd shapes cannot be stacked (panics).
func StackPacked(s ConvShape, outs []int, packed [][]float32, dst []float32) (stack []float32, o int, offs []int) {
	k := s.C * s.KH * s.KW
	mp := 0
	for i, o := range outs {
		m := s
		m.O = o
		if m.winoTile() != 0 || k < 1 || o < 1 {
			panic("kernels: StackPacked of a Winograd or empty shape")
		}
		if len(packed[i]) < m.packedLen() {
			panic("kernels: StackPacked packed weights too short")
		}
		offs = append(offs, mp)
		mp += (o + gemmMR - 1) / gemmMR * gemmMR
	}
	if st := (ConvShape{C: s.C, H: s.H, W: s.W, O: mp, KH: s.KH, KW: s.KW, SH: s.SH, SW: s.SW}); st.winoTile() != 0 {
		panic("kernels: StackPacked would make a Winograd shape")
	}
	// packA's K blocks hold whole 6-row panels: the stack's block is the members' blocks in turn.
	stack = dst
	if len(stack) < mp*k {
		stack = make([]float32, mp*k)
	}
	stack = stack[:mp*k]
	kcb := gemmKCFor(k)
	for k0 := 0; k0 < k; k0 += kcb {
		kc := min(kcb, k-k0)
		for i, o := range outs {
			mi := (o + gemmMR - 1) / gemmMR * gemmMR
			copy(stack[k0*mp+offs[i]*kc:k0*mp+(offs[i]+mi)*kc], packed[i][k0*mi:k0*mi+mi*kc])
		}
	}
	return stack, mp, offs
}

// StackedO returns the O of the stack of convolutions with outs outputs (StackPacked): each
// member's rounded up to a multiple of 6.
func StackedO(outs []int) int {
	mp := 0
	for _, o := range outs {
		mp += (o + gemmMR - 1) / gemmMR * gemmMR
	}
	return mp
}

// Conv2DPacked computes Conv2D with weights packed by PackConvWeights(s, w): the result is
// that of Conv2D(s, in, w, bias, out, scratch, relu, threads), bit for bit. scratch needs
// only len >= s.PackedScratchLen().
func Conv2DPacked(s ConvShape, in, packedW, bias, out, scratch []float32, relu bool, threads int) {
	s.check(in, bias, out)
	if len(packedW) < s.packedLen() {
		panic("kernels: Conv2DPacked packedW too short")
	}
	if len(scratch) < s.BatchScratchLen(1, threads) {
		panic("kernels: Conv2DPacked scratch too short")
	}
	conv2D(s, in, packedW, bias, out, scratch, epilogue{relu: relu}, threads, gemmActive)
}

// check panics unless s is a valid convolution and in, bias and out are long enough.
func (s ConvShape) check(in, bias, out []float32) {
	s.checkIn(in, bias)
	if len(out) < s.O*s.OutH()*s.OutW() {
		panic("kernels: Conv2D out too short")
	}
}

// checkIn panics unless s is a valid shape and in and bias are long enough for it.
func (s ConvShape) checkIn(in, bias []float32) {
	if s.C < 1 || s.H < 1 || s.W < 1 || s.O < 1 || s.KH < 1 || s.KW < 1 {
		panic("kernels: Conv2D non-positive dimension")
	}
	if s.SH < 1 || s.SW < 1 {
		panic("kernels: Conv2D non-positive stride")
	}
	if s.PadT < 0 || s.PadL < 0 || s.PadB < 0 || s.PadR < 0 {
		panic("kernels: Conv2D negative padding")
	}
	oh, ow := s.OutH(), s.OutW()
	if oh < 1 || ow < 1 {
		panic("kernels: Conv2D kernel larger than padded input")
	}
	if len(in) < s.C*s.H*s.W {
		panic("kernels: Conv2D in too short")
	}
	if bias != nil && len(bias) < s.O {
		panic("kernels: Conv2D bias too short")
	}
}

// epilogue says what a convolution does with bias + its sums: store them, or add them to
// what the output holds (add: GEMM shapes only, not Winograd ones); then ReLU.
type epilogue struct{ relu, add bool }

// conv2D runs the convolution's GEMM over the packed weights pa with the micro-kernels kern,
// split between up to threads workers.
func conv2D(s ConvShape, in, pa, bias, out, scratch []float32, ep epilogue, threads int, impl isa) {
	slots := convWorkers(threads)
	workers := slots
	if s.MACs() < parallelMinMACs {
		workers = 1
	}
	if t := s.winoTile(); t != 0 {
		if ep.add {
			panic("kernels: a Winograd convolution cannot add to its output")
		}
		winoConv(s, t, 1, in, 0, pa, bias, out, 0, scratch, ep.relu, workers, slots, impl)
		return
	}
	g := s.gemm()
	bufLen := g.bufLen()
	rows := s.bandRows(slots)
	switch {
	case s.maskedPack(1, impl):
		g.src, rows = s.maskedSource(in), s.OutH()
	case s.stride2Pack(impl):
		g.src, rows = s.stride2Source(in), s.OutH()
	case rows < s.OutH():
		g.src = s.source(in, nil)
	default:
		g.src = s.source(in, scratch[slots*bufLen:])
	}
	g.a, g.c, g.ldc, g.relu, g.isa = pa, out[:g.m*g.n], g.n, ep.relu, impl
	g.accumulate, g.addBias = ep.add, ep.add && bias != nil
	if bias != nil {
		g.bias = bias[:g.m]
	}
	if rows < s.OutH() {
		if bands := (s.OutH() + rows - 1) / rows; workers > 1 && bands > 1 {
			conv2DBandsParallel(s, in, g, rows, bands, workers, slots, scratch)
			return
		}
		s.gemmBands(in, g, rows, 0, s.OutH(), scratch[:bufLen], scratch[slots*bufLen:][:s.bandLen(1)])
		return
	}
	if workers == 1 {
		if !s.readsInput(g.src) {
			s.fillInput(in, g.src.t, 0, s.C, impl)
		}
		g.run(0, g.m, 0, g.n, scratch[:bufLen])
		return
	}
	conv2DParallel(s, 1, in, 0, g, workers, scratch[:workers*bufLen])
}

// gemmBands runs g (over a banded source) band by band for output rows y0..y1-1 (y0 a multiple of
// rows) into g.c; buf is a B strip buffer, win a band's window.
func (s ConvShape) gemmBands(in []float32, g gemmPacked, rows, y0, y1 int, buf, win []float32) {
	ow := s.OutW()
	for b0 := y0; b0 < y1; b0 += rows {
		s.gemmBand(in, g, b0, min(b0+rows, y1), g.c[b0*ow:], g.ldc, buf, win)
	}
}

// gemmBand runs the GEMM of output rows b0..b1-1 of g (columns b0*OW.. of g), over a window of the
// phase planes whose row 0 is phase row b0, into c, output channels ldc apart.
func (s ConvShape) gemmBand(in []float32, g gemmPacked, b0, b1 int, c []float32, ldc int, buf, win []float32) {
	b := s.bandAt(b0, b1)
	g.n, g.c, g.ldc = (b1-b0)*s.OutW(), c, ldc
	g.src.t, g.src.plane = win, b.rows*g.src.wq
	s.fillRows(in, s.H*s.W, win, 0, s.C, b, g.isa)
	g.run(0, g.m, 0, g.n, buf)
}

// conv2DBandsParallel runs a banded convolution (bandRows) on workers goroutines (runTeam), each
// taking whole bands into a window of its own: no barrier between a band's copy and its GEMM. Only
// LowMem shapes run so on several workers: a plan's memory peak on two threads held v4's Mixed_3a
// 3×3/2 (64×147×147) whole copy, 5.7 MB.
func conv2DBandsParallel(s ConvShape, in []float32, g gemmPacked, rows, bands, workers, slots int, scratch []float32) {
	bufLen, wl := g.bufLen(), s.bandLen(1)
	runTeam(workers-1, []int{bands}, func(_, lo, hi, worker int) {
		buf := scratch[worker*bufLen : (worker+1)*bufLen]
		win := scratch[slots*bufLen+worker*wl:][:wl]
		s.gemmBands(in, g, rows, lo*rows, min(hi*rows, s.OutH()), buf, win)
	})
}

// conv2DParallel runs g on workers goroutines (runTeam), in ranges of column strips (a
// micro-kernel tile wide) with the worker's B buffer in scratch, or, when there are fewer
// strips than workers (8×8 images with many threads), in ranges of row panels, each of which
// packs all of B (small when N is). Non-direct convolutions first fill the padded input, by
// channels. It is a separate function so that only this path pays for the heap-allocated
// closure state.
//
// When the full strips do not divide evenly between the workers, the last ones (and a
// partial strip after them) are each split by rows into one unit per worker (tailSplit), so
// that the workers finish together: with N = 289 (17×17 maps) there are 9 full strips, and
// the worker that got 5 of them set the time (1088→192 at threads=2: 1.6× the speed of one
// thread against 1.92× with 32 strips). Each such unit packs its strip again, a small cost.
//
// A GEMM with more than twice as many rows as columns (IRv2's 1×1 projections to 1088 and 2080
// channels at 17×17 and 8×8) is split instead into one share of rows per worker, each packing
// all of B: split by columns, every core read all of A, the larger operand, into its cache.
// IRv2 at threads=2: 80.5–82.9 → 77.3–79.0 ms (BenchmarkForward, 4 alternated rounds).
//
// With n > 1 images (g a batch), the fill phase runs over the n*C channels of all images,
// image i read from in[i*inStride:] and written inputLen() further on than image i-1.
func conv2DParallel(s ConvShape, n int, in []float32, inStride int, g gemmPacked, workers int, scratch []float32) {
	bufLen := g.bufLen()
	nr, mr := g.isa.unitCols(), g.isa.unitRows()
	strips := (g.n + nr - 1) / nr
	byRows := strips < workers
	sp := tailSplit(g.n, g.m, nr, mr, workers)
	units := []int{sp.units}
	rowsPer := 0 // > 0: one range of rowsPer rows per worker (shares)
	switch {
	case byRows:
		units[0] = (g.m + mr - 1) / mr
	case g.m > 2*g.n && g.n >= 2*nr:
		rowsPer = ((g.m+workers-1)/workers + mr - 1) / mr * mr
		units[0] = workers
	}
	if !s.readsInput(g.src) {
		units = []int{n * s.C, units[0]}
	}
	runTeam(workers-1, units, func(phase, lo, hi, worker int) {
		if phase < len(units)-1 {
			s.fillBatch(in, inStride, g.src.t, lo, hi, g.isa)
			return
		}
		buf := scratch[worker*bufLen : (worker+1)*bufLen]
		if rowsPer > 0 {
			if i0 := lo * rowsPer; i0 < g.m {
				g.run(i0, min(hi*rowsPer, g.m), 0, g.n, buf)
			}
			return
		}
		if byRows {
			g.run(lo*mr, min(hi*mr, g.m), 0, g.n, buf)
			return
		}
		if lo < sp.head { // whole strips
			g.run(0, g.m, lo*nr, min(min(hi, sp.head)*nr, g.n), buf)
			lo = sp.head
		}
		for u := lo; u < hi; u++ {
			i0, i1, j0, j1 := sp.unit(u)
			if i0 < i1 {
				g.run(i0, i1, j0, j1, buf)
			}
		}
	})
}

// stripSplit is the work of a GEMM split between workers by column strips (nr columns each),
// with its last strips split by rows (tailSplit).
type stripSplit struct {
	units   int // head whole strips, then parts row parts of each tail strip
	head    int
	parts   int
	rowsPer int // rows of a part: a multiple of the tile's rows
	m, n    int
	nr      int
}

// tailSplit splits an m×n GEMM for workers: the full strips beyond the largest multiple of
// workers, and the partial strip at the end, are each split into workers parts by rows
// (multiples of mr); the other strips are whole units. With the full strips a multiple of
// workers, nothing is split.
func tailSplit(n, m, nr, mr, workers int) stripSplit {
	strips := (n + nr - 1) / nr
	sp := stripSplit{units: strips, head: strips, parts: 1, rowsPer: m, m: m, n: n, nr: nr}
	rem := n / nr % workers
	if rem == 0 || workers < 2 {
		return sp
	}
	sp.head = n/nr - rem
	sp.parts = workers
	sp.rowsPer = ((m+mr-1)/mr + workers - 1) / workers * mr
	sp.units = sp.head + (strips-sp.head)*workers
	return sp
}

// unit returns the rows i0..i1 and columns j0..j1 of unit u of the tail (u >= head); i0 >= i1
// when m has too few rows for this part.
func (sp stripSplit) unit(u int) (i0, i1, j0, j1 int) {
	t := u - sp.head
	strip, part := sp.head+t/sp.parts, t%sp.parts
	i0, i1 = part*sp.rowsPer, min((part+1)*sp.rowsPer, sp.m)
	return i0, i1, strip * sp.nr, min((strip+1)*sp.nr, sp.n)
}

// fillBatch runs fillInput for the channels u0..u1-1 of a batch, counted across images
// (unit u is channel u%C of image u/C): image i is read from in[i*inStride:] and written
// to t[i*inputLen():].
func (s ConvShape) fillBatch(in []float32, inStride int, t []float32, u0, u1 int, impl isa) {
	il := s.inputLen()
	for u := u0; u < u1; {
		img, c := u/s.C, u%s.C
		c1 := min(s.C, c+u1-u)
		s.fillInput(in[img*inStride:], t[img*il:], c, c1, impl)
		u += c1 - c
	}
}

// BatchScratchLen returns the float32s of scratch Conv2DPackedBatch needs for n images on up
// to threads threads (clamped to 1..16; a call given more threads than its scratch was sized
// for panics): a B packing buffer for each thread (at most gemmKC×64 floats, 64 KiB); for
// padded or strided convolutions, the input of all n images zero-padded and split into stride
// phases (about C*(H+PadT+PadB)*(W+PadL+PadR) floats each; for one image on one thread, a band's
// window of at most 1 MiB, bandRows); for Winograd shapes, the padded input (one image's 3×3
// layers: a window of a chunk's rows per thread) and the transformed input and products of one
// chunk of tiles, or of two on more than one thread (1–2 MiB each, more for very wide layers).
//
// A shape that the kernels in use pack straight from the unpadded input (maskedPack: stride-1
// layers padded to an output of the input's size, with AVX-512 or the portable kernels) needs no
// padded copy: v4's Mixed_4a 1×7 (64×73×73) counted 1.5 MB it never used, at v4's one-thread peak.
func (s ConvShape) BatchScratchLen(n, threads int) int {
	return s.batchScratchLen(n, threads, gemmActive)
}

// batchScratchLen is BatchScratchLen for the implementation impl.
func (s ConvShape) batchScratchLen(n, threads int, impl isa) int {
	w := convWorkers(threads)
	if t := s.winoTile(); t != 0 {
		if s.winoBatch(n) {
			return s.winoBatchScratchLen(t, n, w)
		}
		return s.winoBatchScratchLen(t, 1, w)
	}
	g := s.gemm()
	switch {
	case s.maskedPack(max(n, 1), impl) || s.stride2Pack(impl):
		return w * g.bufLen()
	case n <= 1:
		return w*g.bufLen() + s.bandLen(w)
	}
	return w*g.bufLen() + n*s.inputLen()
}

// Conv2DPackedBatch computes Conv2DPacked for n CHW images at once: image i is read from
// in[i*inStride:] and its O×OH×OW output written to out[i*outStride:]:
//
//	for i := 0; i < n; i++ {
//		Conv2DPacked(s, in[i*inStride:], packedW, bias, out[i*outStride:], scratch, relu, threads)
//	}
//
// and the result is that loop's, bit for bit (each output gets the same products summed in
// the same order). The GEMM's N dimension is the n images' output columns side by side
// (n*OH*OW), so small maps (IRv2's 17×17 and 8×8) fill the 32-column tiles and give every
// thread work; a B strip or tile spanning two images is packed column by column from each
// image, and stored through a local tile. Winograd shapes (s.Winograd()) run image by image,
// but for F(2×2) and F(4×4) on maps smaller than a chunk (winoBatch), whose tiles of all n
// images are the columns of the transforms' GEMMs.
// inStride >= C*H*W, outStride >= O*OH*OW; out must not overlap in or packedW; scratch: len
// >= s.BatchScratchLen(n, threads), contents ignored. threads as for Conv2D, the serial threshold
// applying to the whole batch.
func Conv2DPackedBatch(s ConvShape, n int, in []float32, inStride int, packedW, bias, out []float32, outStride int, scratch []float32, relu bool, threads int) {
	s.checkPackedBatch(n, in, inStride, packedW, bias, out, outStride, scratch, threads)
	conv2DBatch(s, n, in, inStride, packedW, bias, out, outStride, scratch, epilogue{relu: relu}, threads, gemmActive)
}

// Conv2DPackedBatchAdd is Conv2DPackedBatch adding to what out holds: each output becomes
// act(out + (bias + Σ)), Σ the convolution's sum, instead of act(bias + Σ). An
// Inception-ResNet block's projection runs with it onto a copy of the shortcut, its weights
// and bias scaled, so that the residual sum costs no pass of its own. s must not be a
// Winograd shape (s.Winograd()).
func Conv2DPackedBatchAdd(s ConvShape, n int, in []float32, inStride int, packedW, bias, out []float32, outStride int, scratch []float32, relu bool, threads int) {
	s.checkPackedBatch(n, in, inStride, packedW, bias, out, outStride, scratch, threads)
	conv2DBatch(s, n, in, inStride, packedW, bias, out, outStride, scratch, epilogue{relu: relu, add: true}, threads, gemmActive)
}

// checkPackedBatch panics unless the arguments of Conv2DPackedBatch fit s (checkBatch) and
// packedW and scratch are long enough.
func (s ConvShape) checkPackedBatch(n int, in []float32, inStride int, packedW, bias, out []float32, outStride int, scratch []float32, threads int) {
	s.checkBatch(n, in, inStride, bias, out, outStride)
	if len(packedW) < s.packedLen() {
		panic("kernels: Conv2DPackedBatch packedW too short")
	}
	if len(scratch) < s.BatchScratchLen(n, threads) {
		panic("kernels: Conv2DPackedBatch scratch too short")
	}
}

// checkBatch panics unless s is valid and the n images of in and out, strides apart, fit.
func (s ConvShape) checkBatch(n int, in []float32, inStride int, bias, out []float32, outStride int) {
	if n < 1 {
		panic("kernels: Conv2DPackedBatch non-positive n")
	}
	s.check(in, bias, out)
	if inStride < s.C*s.H*s.W || outStride < s.O*s.OutH()*s.OutW() {
		panic("kernels: Conv2DPackedBatch stride smaller than an image")
	}
	if len(in) < (n-1)*inStride+s.C*s.H*s.W {
		panic("kernels: Conv2DPackedBatch in too short")
	}
	if len(out) < (n-1)*outStride+s.O*s.OutH()*s.OutW() {
		panic("kernels: Conv2DPackedBatch out too short")
	}
}

// batchGemm returns the GEMM of n images (N = n*OH*OW, gemmPacked.imgN = OH*OW) over the
// packed weights pa; its source reads in directly or, unless direct, t (len >=
// n*inputLen()), which fillBatch must fill first.
func (s ConvShape) batchGemm(n int, in []float32, inStride int, pa, bias, out []float32, outStride int, t []float32, ep epilogue, impl isa) gemmPacked {
	g := s.gemm()
	ohw := g.n
	g.n = n * ohw
	switch {
	case s.maskedPack(n, impl):
		g.src = s.maskedSource(in)
	case s.stride2Pack(impl):
		g.src = s.stride2Source(in)
	default:
		g.src = s.source(in, t)
	}
	if s.readsInput(g.src) {
		g.src.t, g.src.tStride = in[:(n-1)*inStride+s.C*s.H*s.W], inStride
	} else {
		g.src.t, g.src.tStride = t[:n*s.inputLen()], s.inputLen()
	}
	g.src.imgN = ohw
	g.a, g.c, g.ldc, g.imgN, g.cStride = pa, out[:(n-1)*outStride+g.m*ohw], ohw, ohw, outStride
	g.relu, g.isa = ep.relu, impl
	g.accumulate, g.addBias = ep.add, ep.add && bias != nil
	if bias != nil {
		g.bias = bias[:g.m]
	}
	return g
}

// conv2DBatch is Conv2DPackedBatch with the kernels to use.
func conv2DBatch(s ConvShape, n int, in []float32, inStride int, pa, bias, out []float32, outStride int, scratch []float32, ep epilogue, threads int, impl isa) {
	if ep.add && s.winograd() {
		panic("kernels: a Winograd convolution cannot add to its output")
	}
	slots := convWorkers(threads)
	if s.winoBatch(n) {
		workers := slots
		if int64(n)*s.MACs() < parallelMinMACs {
			workers = 1
		}
		winoConv(s, s.winoTile(), n, in, inStride, pa, bias, out, outStride, scratch, ep.relu, workers, slots, impl)
		return
	}
	if n == 1 || s.winograd() {
		for i := 0; i < n; i++ {
			conv2D(s, in[i*inStride:], pa, bias, out[i*outStride:], scratch, ep, threads, impl)
		}
		return
	}
	workers := slots
	if int64(n)*s.MACs() < parallelMinMACs {
		workers = 1
	}
	g0 := s.gemm()
	bufLen := g0.bufLen()
	g := s.batchGemm(n, in, inStride, pa, bias, out, outStride, scratch[slots*bufLen:], ep, impl)
	if workers == 1 {
		if !s.readsInput(g.src) {
			s.fillBatch(in, inStride, g.src.t, 0, n*s.C, impl)
		}
		g.run(0, g.m, 0, g.n, scratch[:bufLen])
		return
	}
	conv2DParallel(s, n, in, inStride, g, workers, scratch[:workers*bufLen])
}
