// Package fill regenerates the deterministic "splitmix-fill-v1" tensors that the reference fixtures in
// testdata/golden were computed from, so a Go forward pass can be checked against torchvision, timm and
// the other references without any downloaded weights.
//
// seed(name) = FNV-1a-64(salt+name); a splitmix64 stream from that seed gives u_i = (next>>40)·2⁻²⁴ for
// element i (row-major, PyTorch layout); the value depends on the tensor's role, computed in float64 and
// rounded once to float32.
package fill

import (
	"fmt"
	"math"
)

// Seed is FNV-1a-64 of salt+name.
func Seed(salt, name string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, b := range []byte(salt + name) {
		h ^= uint64(b)
		h *= 0x100000001b3
	}
	return h
}

// Stream is a splitmix64 generator.
type Stream struct{ state uint64 }

// NewStream starts a splitmix64 stream at state seed.
func NewStream(seed uint64) *Stream { return &Stream{state: seed} }

// Next returns the next 64-bit output.
func (s *Stream) Next() uint64 {
	s.state += 0x9E3779B97F4A7C15
	z := s.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// U returns the next uniform value in [0, 1) with 24 bits: (Next()>>40)·2⁻²⁴.
func (s *Stream) U() float64 { return float64(s.Next()>>40) * (1.0 / (1 << 24)) }

// Tensor returns the fill of the tensor called name with the given shape and role. Roles are the fixture
// files' names: conv_weight, linear_weight ((2u-1)·sqrt(6/fan_in), fan_in = prod(shape[1:])), conv_bias,
// linear_bias, bn_bias, bn_running_mean ((2u-1)·0.1), bn_weight, bn_running_var (0.5+u), input (2u-1).
func Tensor(salt, name string, shape []int, role string) []float32 {
	n, fanIn := 1, 1
	for i, d := range shape {
		n *= d
		if i > 0 {
			fanIn *= d
		}
	}
	var f func(u float64) float64
	switch role {
	case "conv_weight", "linear_weight":
		a := math.Sqrt(6 / float64(fanIn))
		f = func(u float64) float64 { return (2*u - 1) * a }
	case "conv_bias", "linear_bias", "bn_bias", "bn_running_mean":
		f = func(u float64) float64 { return (2*u - 1) * 0.1 }
	case "bn_weight", "bn_running_var":
		f = func(u float64) float64 { return 0.5 + u }
	case "input":
		f = func(u float64) float64 { return 2*u - 1 }
	default:
		panic(fmt.Sprintf("fill: unknown role %q", role))
	}
	s := NewStream(Seed(salt, name))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(f(s.U()))
	}
	return out
}
