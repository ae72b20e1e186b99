package kernels

import (
	"fmt"
	"math"
	"testing"
)

var eltSizes = []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 64*17*17 + 3}

func TestReLU(t *testing.T) {
	for _, n := range eltSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := randSlice(newRand(uint64(n)), n)
			want := make([]float64, n)
			for i, v := range x {
				want[i] = max(float64(v), 0)
			}
			got := guarded(n)
			copy(got, x)
			ReLU(got)
			closeTo(t, "x", got, want, make([]float64, n))
			checkGuard(t, "x", got)
		})
	}
}

func TestBiasAct(t *testing.T) {
	for _, sz := range [][2]int{{0, 5}, {1, 1}, {3, 7}, {5, 289}} {
		for _, relu := range []bool{false, true} {
			c, hw := sz[0], sz[1]
			t.Run(fmt.Sprintf("%dx%d/relu=%t", c, hw, relu), func(t *testing.T) {
				r := newRand(uint64(c*hw + 1))
				x, bias := randSlice(r, c*hw), randSlice(r, c)
				want, tol := make([]float64, c*hw), make([]float64, c*hw)
				for i := range want {
					want[i] = float64(x[i]) + float64(bias[i/hw])
					tol[i] = u32 * math.Abs(want[i])
					if relu {
						want[i] = max(want[i], 0)
					}
				}
				got := guarded(c * hw)
				copy(got, x)
				BiasAct(c, hw, got, bias, relu)
				closeTo(t, "x", got, want, tol)
				checkGuard(t, "x", got)
			})
		}
	}
}

func TestAddScaled(t *testing.T) {
	for _, n := range eltSizes {
		for _, relu := range []bool{false, true} {
			for _, alias := range []string{"none", "x", "y"} {
				t.Run(fmt.Sprintf("n=%d/relu=%t/alias=%s", n, relu, alias), func(t *testing.T) {
					r := newRand(uint64(n))
					x, y := randSlice(r, n), randSlice(r, n)
					const scale = 0.17
					want, tol := make([]float64, n), make([]float64, n)
					for i := range want {
						sy := float64(float32(scale)) * float64(y[i])
						want[i] = float64(x[i]) + sy
						tol[i] = 2 * u32 * (math.Abs(float64(x[i])) + math.Abs(sy))
						if relu {
							want[i] = max(want[i], 0)
						}
					}
					got := guarded(n)
					switch alias {
					case "x":
						copy(got, x)
						x = got
					case "y":
						copy(got, y)
						y = got
					}
					AddScaled(got, x, y, scale, relu)
					closeTo(t, "out", got, want, tol)
					checkGuard(t, "out", got)
				})
			}
		}
	}
}

func TestLinear(t *testing.T) {
	tests := []struct{ n, in, out int }{
		{1, 1, 1}, {1, 7, 3}, {2, 17, 5}, {3, 9, 16}, {1, 2048, 1000}, {2, 1536, 1001},
	}
	for _, tt := range tests {
		for _, withBias := range []bool{true, false} {
			t.Run(fmt.Sprintf("n=%d_in=%d_out=%d_bias=%t", tt.n, tt.in, tt.out, withBias), func(t *testing.T) {
				r := newRand(uint64(tt.in))
				x, w := randSlice(r, tt.n*tt.in), randSlice(r, tt.out*tt.in)
				var bias []float32
				if withBias {
					bias = randSlice(r, tt.out)
				}
				want, tol := make([]float64, tt.n*tt.out), make([]float64, tt.n*tt.out)
				for b := range tt.n {
					for o := range tt.out {
						var sum, abs float64
						if bias != nil {
							sum, abs = float64(bias[o]), math.Abs(float64(bias[o]))
						}
						for i := range tt.in {
							v := float64(w[o*tt.in+i]) * float64(x[b*tt.in+i])
							sum += v
							abs += math.Abs(v)
						}
						want[b*tt.out+o], tol[b*tt.out+o] = sum, dotTol(tt.in, abs)
					}
				}
				got := guarded(tt.n * tt.out)
				Linear(tt.n, tt.in, tt.out, x, w, bias, got)
				closeTo(t, "y", got, want, tol)
				checkGuard(t, "y", got)
			})
		}
	}
}

func TestSoftmax(t *testing.T) {
	for _, n := range []int{1, 2, 17, 1000, 1001} {
		for _, alias := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d/alias=%t", n, alias), func(t *testing.T) {
				x := randSlice(newRand(uint64(n)), n)
				for i := range x {
					x[i] *= 60 // logits up to ±60: exp overflows float32 without max subtraction
				}
				x[n/2] = 150
				m := 150.0
				var sum float64
				for _, v := range x {
					sum += math.Exp(float64(v) - m)
				}
				want, tol := make([]float64, n), make([]float64, n)
				for i, v := range x {
					want[i] = math.Exp(float64(v)-m) / sum
					tol[i] = want[i]*2*u32 + 1e-45
				}
				got := guarded(n)
				if alias {
					copy(got, x)
					x = got
				}
				Softmax(x, got)
				closeTo(t, "out", got, want, tol)
				checkGuard(t, "out", got)
			})
		}
	}
}

func TestCopyChannels(t *testing.T) {
	for _, tt := range []struct{ c, hw, dstC, at int }{{1, 1, 1, 0}, {3, 5, 7, 2}, {64, 289, 768, 192}} {
		t.Run(fmt.Sprintf("c=%d_hw=%d_at=%d", tt.c, tt.hw, tt.at), func(t *testing.T) {
			src := randSlice(newRand(uint64(tt.c)), tt.c*tt.hw)
			dst := guarded(tt.dstC * tt.hw)
			CopyChannels(tt.c, tt.hw, dst[tt.at*tt.hw:], src)
			for i, v := range dst {
				inside := i >= tt.at*tt.hw && i < (tt.at+tt.c)*tt.hw
				if inside && v != src[i-tt.at*tt.hw] || !inside && v == v {
					t.Fatalf("dst[%d] = %v (inside copy: %t)", i, v, inside)
				}
			}
			checkGuard(t, "dst", dst)
		})
	}
}

// refLRN is Caffe's LRN across channels in float64.
func refLRN(c, hw, size int, alpha, beta, k float64, in []float32) []float64 {
	out := make([]float64, c*hw)
	pre := (size - 1) / 2
	for ch := range c {
		for i := range hw {
			var sq float64
			for cc := ch - pre; cc < ch-pre+size; cc++ {
				if cc >= 0 && cc < c {
					v := float64(in[cc*hw+i])
					sq += v * v
				}
			}
			out[ch*hw+i] = float64(in[ch*hw+i]) * math.Pow(k+alpha/float64(size)*sq, -beta)
		}
	}
	return out
}

func TestLRN(t *testing.T) {
	tests := []struct {
		c, hw, size       int
		alpha, beta, kval float32
	}{
		{1, 1, 5, 1e-4, 0.75, 1},
		{3, 7, 5, 1e-4, 0.75, 1},
		{17, 13, 5, 0.5, 0.75, 1}, // large alpha: the window sum matters
		{9, 11, 4, 0.3, 0.75, 2},  // even size: window c-1..c+2
		{8, 5, 3, 0.7, 0.5, 1},
		{6, 4, 5, 0.9, 0.6, 0.5},        // general beta: math.Pow
		{64, 56 * 56, 5, 1e-4, 0.75, 1}, // Caffe GoogLeNet norm1
		{10, 600, 9, 0.4, 0.75, 1},      // a window of four channels behind; pixel blocks with a short last one
		{5, 300, 1, 0.4, 0.75, 1},       // nothing behind
		{12, 70, 11, 0.4, 0.75, 1},      // five behind: a ring on the heap
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("c=%d_hw=%d_size=%d_alpha=%g_beta=%g_k=%g", tt.c, tt.hw, tt.size, tt.alpha, tt.beta, tt.kval), func(t *testing.T) {
			in := randSlice(newRand(uint64(tt.c)), tt.c*tt.hw)
			for i := range in {
				in[i] *= 3
			}
			want := refLRN(tt.c, tt.hw, tt.size, float64(tt.alpha), float64(tt.beta), float64(tt.kval), in)
			tol := make([]float64, len(want))
			for i := range tol {
				tol[i] = 16 * u32 * math.Abs(want[i]) // float32 window sum of ≤ size squares, then one rounding
			}
			got := guarded(tt.c * tt.hw)
			LRN(tt.c, tt.hw, tt.size, tt.alpha, tt.beta, tt.kval, in, got)
			closeTo(t, "out", got, want, tol)
			checkGuard(t, "out", got)
			// The bits of the plain loop, channel by channel over whole planes, that the ring replaced.
			plain := lrnPlain(tt.c, tt.hw, tt.size, tt.alpha, tt.beta, tt.kval, in)
			for i := range plain {
				if math.Float32bits(got[i]) != math.Float32bits(plain[i]) {
					t.Fatalf("out[%d] = %v, the plain loop gives %v", i, got[i], plain[i])
				}
			}
			// In place: LRN's bits.
			x := guarded(tt.c * tt.hw)
			copy(x, in)
			LRNInPlace(tt.c, tt.hw, tt.size, tt.alpha, tt.beta, tt.kval, x)
			checkGuard(t, "in place", x)
			for i := range got[:tt.c*tt.hw] {
				if math.Float32bits(x[i]) != math.Float32bits(got[i]) {
					t.Fatalf("in place: x[%d] = %v, LRN gives %v", i, x[i], got[i])
				}
			}
			// Planes 3 apart wider than the pixels normalised, from one of them on: those pixels get
			// LRN's bits, the others stay as they were.
			if tt.hw < 2 {
				return
			}
			stride, off := tt.hw+3, 1
			px := guarded((tt.c-1)*stride + tt.hw)
			for ch := 0; ch < tt.c; ch++ {
				for i := range stride {
					if ch*stride+i < len(px) {
						px[ch*stride+i] = float32(-i)
					}
				}
				copy(px[ch*stride:ch*stride+tt.hw], in[ch*tt.hw:])
			}
			LRNPlanes(tt.c, tt.hw-off, stride, tt.size, tt.alpha, tt.beta, tt.kval, px[off:])
			checkGuard(t, "planes", px)
			// LRN over those pixels alone.
			n := tt.hw - off
			sub, subOut := make([]float32, tt.c*n), make([]float32, tt.c*n)
			for ch := 0; ch < tt.c; ch++ {
				copy(sub[ch*n:], in[ch*tt.hw+off:ch*tt.hw+tt.hw])
			}
			LRN(tt.c, n, tt.size, tt.alpha, tt.beta, tt.kval, sub, subOut)
			for ch := 0; ch < tt.c; ch++ {
				for i := 0; i < stride && ch*stride+i < len(px); i++ {
					want := float32(-i)
					switch {
					case i < off:
						want = in[ch*tt.hw+i]
					case i < tt.hw:
						want = subOut[ch*n+i-off]
					}
					if g := px[ch*stride+i]; math.Float32bits(g) != math.Float32bits(want) {
						t.Fatalf("planes: channel %d pixel %d = %v, want %v", ch, i, g, want)
					}
				}
			}
		})
	}
}

// lrnPlain is LRN as a plain loop, channel by channel over whole planes, each window's squares
// summed in float32 in channel order: the bits LRN's ring gives.
func lrnPlain(c, hw, size int, alpha, beta, k float32, in []float32) []float32 {
	out := make([]float32, c*hw)
	pre := (size - 1) / 2
	coef := float64(alpha) / float64(size)
	for ch := 0; ch < c; ch++ {
		dst := out[ch*hw : ch*hw+hw]
		for cc := max(ch-pre, 0); cc < min(ch-pre+size, c); cc++ {
			for i, v := range in[cc*hw : cc*hw+hw] {
				dst[i] += v * v
			}
		}
		for i, v := range in[ch*hw : ch*hw+hw] {
			dst[i] = float32(float64(v) * powNeg(float64(k)+coef*float64(dst[i]), float64(beta)))
		}
	}
	return out
}

func TestEltwisePanics(t *testing.T) {
	x := make([]float32, 10)
	tests := []struct {
		name string
		f    func()
	}{
		{"addscaled_short_x", func() { AddScaled(x, x[:9], x, 1, false) }},
		{"addscaled_short_y", func() { AddScaled(x, x, x[:9], 1, false) }},
		{"linear_short_x", func() { Linear(2, 5, 1, x[:9], x, nil, x) }},
		{"linear_short_w", func() { Linear(1, 5, 3, x, x, nil, x) }},
		{"linear_short_bias", func() { Linear(1, 5, 2, x, x, x[:1], x) }},
		{"linear_short_y", func() { Linear(2, 5, 2, x, x, nil, x[:3]) }},
		{"softmax_mismatch", func() { Softmax(x, x[:9]) }},
		{"copychannels_short_dst", func() { CopyChannels(2, 5, x[:9], x) }},
		{"copychannels_short_src", func() { CopyChannels(2, 5, x, x[:9]) }},
		{"lrn_short_in", func() { LRN(2, 5, 5, 1, 1, 1, x[:9], make([]float32, 10)) }},
		{"lrn_short_out", func() { LRN(2, 5, 5, 1, 1, 1, x, make([]float32, 9)) }},
		{"lrn_in_place_short", func() { LRNInPlace(2, 5, 5, 1, 1, 1, x[:9]) }},
		{"lrn_planes_short", func() { LRNPlanes(2, 4, 6, 5, 1, 1, 1, x[:9]) }},
		{"lrn_planes_stride", func() { LRNPlanes(2, 5, 4, 5, 1, 1, 1, x) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustPanic(t, tt.f) })
	}
}

// TestDotKernels runs every "dot" implementation against the float64 sum, on lengths
// around its 32-float steps and on the Linear layers' 1536 and 2048.
func TestDotKernels(t *testing.T) {
	for _, e := range kernelTable {
		if e.op != "dot" || !*e.available {
			continue
		}
		dot := e.fn.(func(a, b []float32) float32)
		t.Run(e.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 100, 1536, 2048} {
				r := newRand(uint64(n))
				a, b := randSlice(r, n), randSlice(r, n+3)
				var want, abs float64
				for i := range n {
					want += float64(a[i]) * float64(b[i])
					abs += math.Abs(float64(a[i]) * float64(b[i]))
				}
				got := dot(a, b)
				if d := math.Abs(float64(got) - want); d > dotTol(n, abs) {
					t.Errorf("n=%d: got %v, want %v (error %.3g > %.3g)", n, got, want, d, dotTol(n, abs))
				}
			}
		})
	}
}
