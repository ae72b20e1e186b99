//go:build !amd64 || purego

package kernels

// archKernels is empty without amd64 assembly (other architectures, or the purego tag):
// every op uses its portable version.
var archKernels []kernelEntry

// gemm6x16 computes a 6×16 tile of C: see gemmF32_6x16Generic.
func (k isa) gemm6x16(kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	gemmF32_6x16Generic(kc, a, b, c, ldc, bias, flags)
}

// gemmWide computes a (6*np)×(16*ns) tile of C: see gemmTiles6x16.
func (k isa) gemmWide(np, ns, kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	k.gemmTiles6x16(np, ns, kc, a, b, c, ldc, bias, flags)
}

// gemv48 computes one column of up to 8 A panels: see gemvF32_48Generic.
func (k isa) gemv48(kc int, a []float32, np int, b, out []float32) {
	gemvF32_48Generic(kc, a, np, b, out)
}

// gemm64 is never called without AVX-512.
func (k isa) gemm64(mr, kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	panic("kernels: 6×64 tiles need AVX-512")
}

// gemm6x8 computes a 6×8 tile of C: see gemmF32_6x8Generic.
func (k isa) gemm6x8(kc int, a, b, c []float32, ldc int, bias []float32, flags int) {
	gemmF32_6x8Generic(kc, a, b, c, ldc, bias, flags)
}

// packContig packs kc rows of a B strip of consecutive columns: see packB16ContigF32Generic.
func (k isa) packContig(kc int, t []float32, koff []int, d int, dst []float32) {
	packB16ContigF32Generic(kc, t, koff, d, dst)
}

// packSegs packs kc rows of a B strip made of runs: see packB16SegsF32Generic.
func (k isa) packSegs(kc int, t []float32, koff []int, segs []packSeg, dst []float32) {
	packB16SegsF32Generic(kc, t, koff, segs, dst)
}

// packMasked packs kc rows of a pair of B strips with masked loads: see
// packB32MaskedF32Generic.
func (k isa) packMasked(kc int, t []float32, koff []int, d0, d1 int, masks []uint16, nr, r0 int, dst []float32) {
	packB32MaskedF32Generic(kc, t, koff, d0, d1, masks, nr, r0, dst)
}

// packS2 packs kc rows of a B strip of a stride-2 source: see packB16S2F32Generic.
func (k isa) packS2(kc int, t []float32, koff []int, segs []s2Seg, dst []float32) {
	packB16S2F32Generic(kc, t, koff, segs, dst)
}

// unzip2 splits pairs into even and odd elements: see unzip2F32Generic.
func (k isa) unzip2(even, odd, src []float32) {
	unzip2F32Generic(even, odd, src)
}

// wino23Input computes a row of Winograd input transforms: see wino23InputF32Generic.
func (k isa) wino23Input(src []float32, wp int, dst []float32, ve, n int) {
	wino23InputF32Generic(src, wp, dst, ve, n)
}

// wino23Output computes a row of Winograd output transforms: see wino23OutputF32Generic.
func (k isa) wino23Output(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	wino23OutputF32Generic(m, me, out, ldo, ncols, nrows, bias, relu)
}

// maxRowF32AVX2 is never called without amd64 assembly (no AVX2 pooling is registered).
func maxRowF32AVX2(d, r []float32) { panic("kernels: no AVX2") }

// maxRowS2F32AVX2 is never called without amd64 assembly.
func maxRowS2F32AVX2(d, r []float32) { panic("kernels: no AVX2") }

// addRowF32AVX2 is never called without amd64 assembly.
func addRowF32AVX2(d, r []float32) { panic("kernels: no AVX2") }

// addRowS2F32AVX2 is never called without amd64 assembly.
func addRowS2F32AVX2(d, r []float32) { panic("kernels: no AVX2") }

// maxRows3F32AVX2 is never called without amd64 assembly.
func maxRows3F32AVX2(d, r0, r1, r2 []float32, nrows int) { panic("kernels: no AVX2") }

// maxRows3FastF32AVX2 is never called without amd64 assembly.
func maxRows3FastF32AVX2(d, r0, r1, r2 []float32) { panic("kernels: no AVX2") }

// maxRows3FastS2F32AVX2 is never called without amd64 assembly.
func maxRows3FastS2F32AVX2(d, r0, r1, r2 []float32) { panic("kernels: no AVX2") }

// anyNaNF32AVX2 is never called without amd64 assembly.
func anyNaNF32AVX2(x []float32) bool { panic("kernels: no AVX2") }

// maxRows3S2F32AVX2 is never called without amd64 assembly.
func maxRows3S2F32AVX2(d, r0, r1, r2 []float32, nrows int) { panic("kernels: no AVX2") }

// addRows3F32AVX2 is never called without amd64 assembly.
func addRows3F32AVX2(d, r0, r1, r2 []float32, nrows int) { panic("kernels: no AVX2") }

// addRows3S2F32AVX2 is never called without amd64 assembly.
func addRows3S2F32AVX2(d, r0, r1, r2 []float32, nrows int) { panic("kernels: no AVX2") }

// divRowF32AVX2 is never called without amd64 assembly.
func divRowF32AVX2(d, r []float32) { panic("kernels: no AVX2") }

// maxPool3x3S2F32AVX2 is never called without amd64 assembly.
func maxPool3x3S2F32AVX2(d []float32, ds, dp int, r []float32, o1, o2, rs, rp, planes, rows, n int, edge, clip bool) bool {
	panic("kernels: no AVX2")
}

// copyRowsF32AVX2 is never called without amd64 assembly.
func copyRowsF32AVX2(dst []float32, dstStride int, src []float32, srcStride int, rows, cols int) {
	panic("kernels: no AVX2")
}

// wino43Input computes a row of F(4×4, 3×3) input transforms: see wino43InputF32Generic.
func (k isa) wino43Input(src []float32, wp int, dst []float32, ve, n int) {
	wino43InputF32Generic(src, wp, dst, ve, n)
}

// wino43Output computes a row of F(4×4, 3×3) output transforms: see wino43OutputF32Generic.
func (k isa) wino43Output(m []float32, me int, out []float32, ldo, ncols, nrows int, bias float32, relu bool) {
	wino43OutputF32Generic(m, me, out, ldo, ncols, nrows, bias, relu)
}
