package ljpeg

const blockSize = 64 // A DCT block is 8x8.

// block holds 64 DCT coefficients in natural (row-major) order.
type block [blockSize]int32

// Fixed-point constants of libjpeg's ISLOW IDCT: FIX(x) = round(x * 2^13).
const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// descale is libjpeg's DESCALE: divide by 2^n, rounding half up.
func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// rangeLimit is libjpeg's post-IDCT range-limit table indexed by
// (sample & 1023): sample+128 clamped to 0..255 for -512 <= sample < 512, with
// the same wrap-around for wilder values (only corrupt data produces them).
func rangeLimit(x int64) uint8 {
	i := x & 1023
	switch {
	case i < 128:
		return uint8(i + 128)
	case i < 512:
		return 255
	case i < 896:
		return 0
	}
	return uint8(i - 896)
}

// idctIslow dequantizes b (natural order) with qt (zig-zag order), computes
// libjpeg-turbo's jpeg_idct_islow (jidctint.c: Loeffler-Ligtenberg-Moschytz
// with 13-bit constants, 2 extra bits between passes) and writes the 8x8
// level-shifted, range-limited samples to dst with the given stride.
//
// Coefficients and quantizers are truncated to 16 bits first, as libjpeg
// stores them (JCOEF and ISLOW_MULT_TYPE are shorts); products and sums are
// 64-bit like JLONG.
func idctIslow(b *block, qt *block, dst []byte, stride int) {
	var in, ws [blockSize]int64
	for zig := 0; zig < blockSize; zig++ {
		n := unzig[zig]
		in[n] = int64(int16(b[n])) * int64(int16(qt[zig]))
	}

	// Pass 1: columns, results scaled up by 2^pass1Bits.
	for c := 0; c < 8; c++ {
		if in[8+c] == 0 && in[16+c] == 0 && in[24+c] == 0 && in[32+c] == 0 &&
			in[40+c] == 0 && in[48+c] == 0 && in[56+c] == 0 {
			dc := int64(int32(in[c] << pass1Bits))
			for r := 0; r < 8; r++ {
				ws[8*r+c] = dc
			}
			continue
		}
		o := idct1D(in[c], in[8+c], in[16+c], in[24+c], in[32+c], in[40+c], in[48+c], in[56+c])
		for r := 0; r < 8; r++ {
			ws[8*r+c] = int64(int32(descale(o[r], constBits-pass1Bits)))
		}
	}

	// Pass 2: rows, remove the pass-1 scaling and the 8x DCT gain.
	for r := 0; r < 8; r++ {
		w := ws[8*r : 8*r+8]
		out := dst[r*stride : r*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := rangeLimit(descale(w[0], pass1Bits+3))
			for x := range out {
				out[x] = v
			}
			continue
		}
		o := idct1D(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7])
		for x := range out {
			out[x] = rangeLimit(descale(o[x], constBits+pass1Bits+3))
		}
	}
}

// idct1D is one 8-point pass of jpeg_idct_islow before descaling; the outputs
// are in natural order and scaled by 2^constBits.
func idct1D(x0, x1, x2, x3, x4, x5, x6, x7 int64) [8]int64 {
	// Even part.
	z1 := (x2 + x6) * fix0_541196100
	tmp2 := z1 + x6*(-fix1_847759065)
	tmp3 := z1 + x2*fix0_765366865
	tmp0 := (x0 + x4) << constBits
	tmp1 := (x0 - x4) << constBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

	// Odd part.
	tmp0, tmp1, tmp2, tmp3 = x7, x5, x3, x1
	z1 = tmp0 + tmp3
	z2 := tmp1 + tmp2
	z3 := tmp0 + tmp2
	z4 := tmp1 + tmp3
	z5 := (z3 + z4) * fix1_175875602
	tmp0 *= fix0_298631336
	tmp1 *= fix2_053119869
	tmp2 *= fix3_072711026
	tmp3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 *= -fix1_961570560
	z4 *= -fix0_390180644
	z3 += z5
	z4 += z5
	tmp0 += z1 + z3
	tmp1 += z2 + z4
	tmp2 += z2 + z3
	tmp3 += z1 + z4

	return [8]int64{
		tmp10 + tmp3, tmp11 + tmp2, tmp12 + tmp1, tmp13 + tmp0,
		tmp13 - tmp0, tmp12 - tmp1, tmp11 - tmp2, tmp10 - tmp3,
	}
}
