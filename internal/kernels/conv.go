package kernels

import "sync"

// ConvShape describes a 2-D convolution of one CHW image.
type ConvShape struct {
	C, H, W                int // input channels, height, width
	O                      int // output channels
	KH, KW                 int // kernel height, width (any: 1x1, 3x3, 5x5, 7x7, 1x7, 7x1, 1x3, 3x1...)
	SH, SW                 int // strides
	PadT, PadL, PadB, PadR int // zero padding, may be asymmetric
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

// maxConvThreads caps the goroutines one Conv2D call uses; ScratchLen reserves a B strip for each.
const maxConvThreads = 16

// parallelMinMACs is the size below which Conv2D stays serial: a goroutine start and join
// costs a few µs, i.e. tens of thousands of MACs at scalar speed. A var so tests can lower it.
var parallelMinMACs int64 = 1 << 20

// ScratchLen returns the float32s of scratch Conv2D needs for this shape: one packed
// min(C*KH*KW, 256)×8 B strip per worker, for up to 16 workers (at most 128 KiB).
func (s ConvShape) ScratchLen() int {
	return maxConvThreads * convStripLen(s)
}

func convStripLen(s ConvShape) int {
	return min(s.C*s.KH*s.KW, kcBlock) * gemmNR
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
// It is computed as out = w · im2col(in), with the im2col matrix never materialised: strips of it
// are gathered into scratch as the GEMM needs them. Accumulation is float32.
//
// threads is the number of goroutines to use (values < 1 mean 1, at most 16): the output
// columns (pixels) are split between them in 8-column strips, so results do not depend on
// threads. Shapes under about 1M MACs run serially on the calling goroutine.
func Conv2D(s ConvShape, in, w, bias, out, scratch []float32, relu bool, threads int) {
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
	k := s.C * s.KH * s.KW
	n := oh * ow
	if len(in) < s.C*s.H*s.W {
		panic("kernels: Conv2D in too short")
	}
	if len(w) < s.O*k {
		panic("kernels: Conv2D w too short")
	}
	if bias != nil && len(bias) < s.O {
		panic("kernels: Conv2D bias too short")
	}
	if len(out) < s.O*n {
		panic("kernels: Conv2D out too short")
	}
	stripLen := convStripLen(s)
	if len(scratch) < maxConvThreads*stripLen {
		panic("kernels: Conv2D scratch too short")
	}

	src := bSource{b: in[:s.C*s.H*s.W], ldb: n}
	if !(s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PadT == 0 && s.PadL == 0 && s.PadB == 0 && s.PadR == 0) {
		src.im2col = true
		src.h, src.w, src.kh, src.kw = s.H, s.W, s.KH, s.KW
		src.sh, src.sw, src.padT, src.padL, src.ow = s.SH, s.SW, s.PadT, s.PadL, ow
	}
	w = w[:s.O*k]
	out = out[:s.O*n]
	if bias != nil {
		bias = bias[:s.O]
	}

	strips := (n + gemmNR - 1) / gemmNR
	workers := min(max(threads, 1), maxConvThreads, strips)
	if s.MACs() < parallelMinMACs {
		workers = 1
	}
	if workers == 1 {
		gemmColumns(s.O, k, w, k, &src, 0, n, out, n, bias, false, relu, scratch[:stripLen])
		return
	}
	conv2DParallel(workers, strips, s.O, k, w, src, n, out, bias, relu, scratch, stripLen)
}

// conv2DParallel runs gemmColumns on workers goroutines (the last on the caller's), each on a
// contiguous range of 8-column strips with its own B strip in scratch. It is a separate
// function so that only this path pays for the heap-allocated closure state.
func conv2DParallel(workers, strips, m, k int, w []float32, src bSource, n int, out, bias []float32,
	relu bool, scratch []float32, stripLen int) {
	var wg sync.WaitGroup
	for t := range workers {
		j0 := strips * t / workers * gemmNR
		j1 := min(strips*(t+1)/workers*gemmNR, n)
		buf := scratch[t*stripLen : (t+1)*stripLen]
		if t == workers-1 {
			gemmColumns(m, k, w, k, &src, j0, j1, out, n, bias, false, relu, buf)
			break
		}
		wg.Go(func() {
			gemmColumns(m, k, w, k, &src, j0, j1, out, n, bias, false, relu, buf)
		})
	}
	wg.Wait()
}
