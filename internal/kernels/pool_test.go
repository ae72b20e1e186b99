package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestPoolShape(t *testing.T) {
	tests := []struct {
		name         string
		s            PoolShape
		wantH, wantW int
	}{
		{"googlenet_pool1_ceil", PoolShape{C: 1, H: 112, W: 112, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true}, 56, 56},
		{"googlenet_pool1_floor", PoolShape{C: 1, H: 112, W: 112, KH: 3, KW: 3, SH: 2, SW: 2}, 55, 55},
		{"googlenet_pool4_ceil", PoolShape{C: 1, H: 14, W: 14, KH: 2, KW: 2, SH: 2, SW: 2, Ceil: true}, 7, 7},
		{"v3_pool_3x3_s2", PoolShape{C: 1, H: 147, W: 147, KH: 3, KW: 3, SH: 2, SW: 2}, 73, 73},
		{"ceil_last_window_in_pad_dropped", PoolShape{C: 1, H: 5, W: 5, KH: 2, KW: 2, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Ceil: true}, 3, 3},
		{"ceil_extra_window", PoolShape{C: 1, H: 6, W: 7, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true}, 3, 3},
		{"pad_same_s1", PoolShape{C: 1, H: 35, W: 35, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}, 35, 35},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.OutH(); got != tt.wantH {
				t.Errorf("OutH() = %d, want %d", got, tt.wantH)
			}
			if got := tt.s.OutW(); got != tt.wantW {
				t.Errorf("OutW() = %d, want %d", got, tt.wantW)
			}
		})
	}
}

var poolTests = []struct {
	name string
	s    PoolShape
}{
	{"1x1_image_1x1", PoolShape{C: 1, H: 1, W: 1, KH: 1, KW: 1, SH: 1, SW: 1}},
	{"1x1_image_3x3_pad1", PoolShape{C: 2, H: 1, W: 1, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"3x3_s2_floor", PoolShape{C: 3, H: 9, W: 8, KH: 3, KW: 3, SH: 2, SW: 2}},
	{"3x3_s2_ceil", PoolShape{C: 3, H: 8, W: 10, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true}},
	{"3x3_s2_ceil_pad1", PoolShape{C: 2, H: 7, W: 8, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Ceil: true}},
	{"2x2_s2_ceil_pad1_drop", PoolShape{C: 2, H: 5, W: 5, KH: 2, KW: 2, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Ceil: true}},
	{"3x3_s3_ceil_asym", PoolShape{C: 2, H: 11, W: 13, KH: 3, KW: 3, SH: 3, SW: 3, PadT: 1, PadL: 0, PadB: 0, PadR: 1, Ceil: true}},
	{"3x3_s1_pad1", PoolShape{C: 4, H: 17, W: 17, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"1x3_s1_asym", PoolShape{C: 2, H: 5, W: 6, KH: 1, KW: 3, SH: 1, SW: 1, PadL: 1}},
	{"window_is_image", PoolShape{C: 3, H: 7, W: 7, KH: 7, KW: 7, SH: 1, SW: 1}},
	{"5x5_s3_pad2", PoolShape{C: 2, H: 16, W: 14, KH: 5, KW: 5, SH: 3, SW: 3, PadT: 2, PadL: 2, PadB: 2, PadR: 2}},
	// Real layers.
	{"googlenet_maxpool1_ceil", PoolShape{C: 64, H: 112, W: 112, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true}},
	{"v3_Mixed_5b_avg_3x3_s1_pad1", PoolShape{C: 192, H: 35, W: 35, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1}},
	{"v4_Mixed_6a_maxpool_3x3_s2", PoolShape{C: 384, H: 35, W: 35, KH: 3, KW: 3, SH: 2, SW: 2}},
}

func TestMaxPool2D(t *testing.T) {
	for i, tt := range poolTests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			in := randSlice(newRand(uint64(i)), s.C*s.H*s.W)
			want, tol := refPool(s, in, true, false)
			got := guarded(s.C * s.OutH() * s.OutW())
			MaxPool2D(s, in, got)
			closeTo(t, "out", got, want, tol)
			checkGuard(t, "out", got)
		})
	}
}

func TestAvgPool2D(t *testing.T) {
	for i, tt := range poolTests {
		for _, cip := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/count_include_pad=%t", tt.name, cip), func(t *testing.T) {
				s := tt.s
				in := randSlice(newRand(uint64(i)), s.C*s.H*s.W)
				want, tol := refPool(s, in, false, cip)
				got := guarded(s.C * s.OutH() * s.OutW())
				AvgPool2D(s, in, got, cip)
				closeTo(t, "out", got, want, tol)
				checkGuard(t, "out", got)
			})
		}
	}
}

// TestAvgPool2DDivisor pins the divisor rule on a ceil-mode window hanging past the padding:
// 1×3 input [1 2 3], window 2, stride 2, pad 1, ceil: windows [pad,1] and [2,3].
func TestAvgPool2DDivisor(t *testing.T) {
	s := PoolShape{C: 1, H: 1, W: 3, KH: 1, KW: 2, SH: 1, SW: 2, PadL: 1, PadR: 1, Ceil: true}
	in := []float32{1, 2, 3}
	tests := []struct {
		cip  bool
		want []float32
	}{
		{true, []float32{0.5, 2.5}},
		{false, []float32{1, 2.5}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("count_include_pad=%t", tt.cip), func(t *testing.T) {
			got := make([]float32, s.OutH()*s.OutW())
			AvgPool2D(s, in, got, tt.cip)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("AvgPool2D = %v, want %v", got, tt.want)
			}
		})
	}
	// 1×4 input [1 2 3 4], window 3, stride 2, pad 1, ceil: 3 windows; the last covers x=3, the
	// right pad x=4 and x=5 past the padded border, so its divisor is 2, not 3.
	s = PoolShape{C: 1, H: 1, W: 4, KH: 1, KW: 3, SH: 1, SW: 2, PadL: 1, PadR: 1, Ceil: true}
	got := make([]float32, s.OutW())
	AvgPool2D(s, []float32{1, 2, 3, 4}, got, true)
	if want := []float32{1, 3, 2}; fmt.Sprint(got) != fmt.Sprint(want) { // (0+1+2)/3, (2+3+4)/3, (4+0)/2
		t.Errorf("AvgPool2D = %v, want %v", got, want)
	}
}

func TestMaxPool2DNaN(t *testing.T) {
	s := PoolShape{C: 1, H: 2, W: 2, KH: 2, KW: 2, SH: 2, SW: 2}
	got := []float32{0}
	MaxPool2D(s, []float32{1, nan32, 3, 2}, got)
	if !math.IsNaN(float64(got[0])) {
		t.Errorf("MaxPool2D over a NaN = %v, want NaN", got[0])
	}
}

func TestGlobalAvgPool(t *testing.T) {
	for _, tt := range []struct{ c, hw int }{{1, 1}, {3, 7}, {17, 17}, {2048, 64}, {1536, 64}} {
		t.Run(fmt.Sprintf("c=%d_hw=%d", tt.c, tt.hw), func(t *testing.T) {
			in := randSlice(newRand(uint64(tt.c)), tt.c*tt.hw)
			want, tol := make([]float64, tt.c), make([]float64, tt.c)
			for c := range tt.c {
				var sum float64
				for _, v := range in[c*tt.hw : (c+1)*tt.hw] {
					sum += float64(v)
				}
				want[c] = sum / float64(tt.hw)
				tol[c] = math.Abs(want[c]) * u32 * 1.01 // one float32 rounding
			}
			got := guarded(tt.c)
			GlobalAvgPool(tt.c, tt.hw, in, got)
			closeTo(t, "out", got, want, tol)
			checkGuard(t, "out", got)
		})
	}
}

func TestPoolNoAllocs(t *testing.T) {
	s := PoolShape{C: 8, H: 17, W: 17, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Ceil: true}
	in, out := make([]float32, 8*17*17), make([]float32, 8*s.OutH()*s.OutW())
	if n := testing.AllocsPerRun(10, func() { MaxPool2D(s, in, out); AvgPool2D(s, in, out, false) }); n != 0 {
		t.Errorf("pooling allocates %v times per call", n)
	}
}

func TestPoolPanics(t *testing.T) {
	s := PoolShape{C: 2, H: 5, W: 5, KH: 3, KW: 3, SH: 2, SW: 2}
	in, out := make([]float32, 2*25), make([]float32, 2*4)
	tests := []struct {
		name string
		f    func()
	}{
		{"max_short_in", func() { MaxPool2D(s, in[:49], out) }},
		{"max_short_out", func() { MaxPool2D(s, in, out[:7]) }},
		{"avg_short_in", func() { AvgPool2D(s, in[:49], out, true) }},
		{"avg_short_out", func() { AvgPool2D(s, in, out[:7], false) }},
		{"zero_stride", func() { s := s; s.SH = 0; MaxPool2D(s, in, out) }},
		{"window_too_big", func() { s := s; s.KH = 6; MaxPool2D(s, in, out) }},
		{"gap_short_in", func() { GlobalAvgPool(2, 25, in[:49], out) }},
		{"gap_short_out", func() { GlobalAvgPool(2, 25, in, out[:1]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

// TestPoolImplementations runs every registered "maxpool" and "avgpool" implementation on
// the pool shapes (and wider ones, so that the 8-wide row loops have full steps and tails)
// and checks that each gives the bits of the …Generic version, on inputs holding NaNs and
// zeros of both signs (max(-0, +0) is +0, NaN wins); NaN-filled guards catch stray writes.
func TestPoolImplementations(t *testing.T) {
	shapes := []PoolShape{
		{C: 2, H: 9, W: 41, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 2, H: 9, W: 41, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
		{C: 2, H: 8, W: 40, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Ceil: true},
		{C: 1, H: 5, W: 57, KH: 2, KW: 2, SH: 2, SW: 2},
		{C: 1, H: 6, W: 33, KH: 1, KW: 5, SH: 1, SW: 1, PadL: 2, PadR: 2},
		// Chunks of several channels, the last one partial; odd widths; no padding; padding
		// on one side only.
		{C: 41, H: 17, W: 17, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 130, H: 8, W: 8, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 7, H: 35, W: 35, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 9, H: 13, W: 11, KH: 3, KW: 3, SH: 1, SW: 1},
		{C: 9, H: 5, W: 3, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 2, PadL: 2},
		{C: 9, H: 2, W: 1, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		// Stride 2 in chunks of channels: v3's and v4's reduction pools, odd and even sizes,
		// ceil mode dropping or keeping a last window, padding.
		{C: 50, H: 17, W: 17, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 13, H: 35, W: 35, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 3, H: 71, W: 71, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 11, H: 14, W: 14, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
		{C: 11, H: 15, W: 16, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
		{C: 11, H: 28, W: 28, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Ceil: true},
		{C: 5, H: 3, W: 3, KH: 3, KW: 3, SH: 2, SW: 2},
		// A plane poolPlane splits into several chunks of rows, and big stride-2 ones.
		{C: 1, H: 60, W: 300, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
		{C: 1, H: 147, W: 147, KH: 3, KW: 3, SH: 2, SW: 2},
		{C: 1, H: 120, W: 150, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Ceil: true},
	}
	shapes = append(shapes, maxPool3x3S2Shapes...)
	for _, tt := range poolTests {
		shapes = append(shapes, tt.s)
	}
	// Each shape runs on an input with NaNs, and on one without, whose maxima take the kernels
	// for NaN-free planes: there zeros of both signs and negative values make many windows'
	// maximum a zero (ReLU-like inputs, clamped at ±0).
	for i := range 2 * len(shapes) {
		s, withNaN := shapes[i/2], i%2 == 0
		oh, ow := s.OutH(), s.OutW()
		in := randSlice(newRand(uint64(i)), s.C*s.H*s.W)
		for j := range in {
			switch {
			case withNaN && j%23 == 3:
				in[j] = nan32
			case j%23 == 5 || j%23 == 6:
				in[j] = float32(math.Copysign(0, float64(j%2*2-1)))
			case !withNaN && in[j] < 0 && j%3 == 0:
				in[j] = float32(math.Copysign(0, float64(j%2*2-1)))
			}
		}
		name := fmt.Sprintf("%dx%dx%d_k%dx%d_s%d_p%d_ceil=%t_nan=%t", s.C, s.H, s.W, s.KH, s.KW, s.SW, s.PadL, s.Ceil, withNaN)
		same := func(t *testing.T, what string, got, want []float32) {
			t.Helper()
			for j := range want {
				if g, w := got[j], want[j]; math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
					t.Fatalf("%s: out[%d] = %v (%#x), generic gives %v (%#x)", what, j, g, math.Float32bits(g), w, math.Float32bits(w))
				}
			}
			checkGuard(t, what, got[len(want):])
		}
		for _, e := range isaImpls("maxpool") {
			t.Run(e.name+"/"+name, func(t *testing.T) {
				want, got := make([]float32, s.C*oh*ow), guarded(s.C*oh*ow+9)
				maxPool2DF32Generic(s, oh, ow, in, want)
				e.fn.(poolFunc)(s, oh, ow, in, got)
				same(t, "out", got, want)
			})
		}
		for _, e := range isaImpls("avgpool") {
			for _, cip := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/cip=%t", e.name, name, cip), func(t *testing.T) {
					want, got := make([]float32, s.C*oh*ow), guarded(s.C*oh*ow+9)
					avgPool2DF32Generic(s, oh, ow, in, want, cip)
					e.fn.(avgPoolFunc)(s, oh, ow, in, got, cip)
					same(t, "out", got, want)
				})
			}
		}
	}
}

// maxPool3x3S2Shapes are 3×3 stride-2 pools for maxPool3x3S2 (in place, 8 windows a step or 4
// in rows of fewer than 8, the last step overlapping): v1's and v3's layers, rows of 4, 7,
// 8, 9, 16 and 17 windows inside the image, odd and even widths, ceil mode whose last window
// has 2 columns or rows, padding on some sides, and planes of 1 to 4 output rows. Rows of
// fewer than 4 windows take the other kernels.
var maxPool3x3S2Shapes = []PoolShape{
	{C: 3, H: 56, W: 56, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
	{C: 4, H: 28, W: 28, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
	{C: 3, H: 14, W: 14, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
	{C: 2, H: 71, W: 71, KH: 3, KW: 3, SH: 2, SW: 2},
	{C: 3, H: 17, W: 17, KH: 3, KW: 3, SH: 2, SW: 2},
	{C: 130, H: 17, W: 17, KH: 3, KW: 3, SH: 2, SW: 2}, // 3 chunks of planes
	{C: 3, H: 18, W: 18, KH: 3, KW: 3, SH: 2, SW: 2},
	{C: 3, H: 18, W: 18, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
	{C: 2, H: 9, W: 19, KH: 3, KW: 3, SH: 2, SW: 2},
	{C: 2, H: 10, W: 33, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
	{C: 2, H: 11, W: 34, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
	{C: 2, H: 12, W: 35, KH: 3, KW: 3, SH: 2, SW: 2},
	{C: 2, H: 20, W: 37, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1, Ceil: true},
	{C: 2, H: 21, W: 38, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, PadB: 1, PadR: 1},
	{C: 2, H: 21, W: 38, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 2, PadL: 2, PadR: 1, Ceil: true},
	{C: 2, H: 16, W: 41, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadR: 2, Ceil: true},
	{C: 2, H: 3, W: 40, KH: 3, KW: 3, SH: 2, SW: 2},
	{C: 2, H: 4, W: 40, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},
	{C: 2, H: 1, W: 40, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadB: 1},
	{C: 2, H: 6, W: 40, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadB: 1, Ceil: true},
	{C: 2, H: 5, W: 40, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 3, PadL: 3, PadR: 3}, // windows in the padding
	{C: 5, H: 7, W: 9, KH: 3, KW: 3, SH: 2, SW: 2, Ceil: true},                 // rows of 4 windows
	{C: 5, H: 9, W: 15, KH: 3, KW: 3, SH: 2, SW: 2},                            // rows of 7 windows
}

// TestMaxPool3x3S2Specials puts a single NaN, then a single -0 among +0s, at each input
// position in turn, and checks that every "maxpool" implementation gives the bits of
// maxPool2DF32Generic: maxPool3x3S2's kernel computes with VMAXPS, which loses NaNs and may
// return -0 for max(-0, +0), so it must notice every such value it reads and leave the plane
// to the exact kernels.
func TestMaxPool3x3S2Specials(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	for i, s := range maxPool3x3S2Shapes {
		s.C = 2
		oh, ow := s.OutH(), s.OutW()
		for _, sp := range []struct {
			name       string
			background func(r *rand.Rand) float32
			special    float32
		}{
			{"nan", func(r *rand.Rand) float32 { return 2*r.Float32() - 1 }, nan32},
			{"-0", func(r *rand.Rand) float32 { return 0 }, negZero},
		} {
			name := fmt.Sprintf("%dx%d_p%d%d%d%d_ceil=%t/%s", s.H, s.W, s.PadT, s.PadL, s.PadB, s.PadR, s.Ceil, sp.name)
			for _, e := range isaImpls("maxpool") {
				t.Run(e.name+"/"+name, func(t *testing.T) {
					r := newRand(uint64(i))
					in := make([]float32, s.C*s.H*s.W)
					for j := range in {
						in[j] = sp.background(r)
					}
					want, got := make([]float32, s.C*oh*ow), guarded(s.C*oh*ow)
					for j := range in {
						v := in[j]
						in[j] = sp.special
						maxPool2DF32Generic(s, oh, ow, in, want)
						e.fn.(poolFunc)(s, oh, ow, in, got)
						in[j] = v
						for k := range want {
							if g, w := got[k], want[k]; math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
								t.Fatalf("%v at (%d, %d, %d): out[%d] = %v (%#x), generic gives %v (%#x)",
									sp.special, j/(s.H*s.W), j/s.W%s.H, j%s.W, k, g, math.Float32bits(g), w, math.Float32bits(w))
							}
						}
					}
					checkGuard(t, "out", got)
				})
			}
		}
	}
}
