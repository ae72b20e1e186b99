package fill

import "testing"

func TestPublishedVectors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{{"", 0xcbf29ce484222325}, {"a", 0xaf63dc4c8601ec8c}, {"foobar", 0x85944171f73967e8}} {
		if got := Seed("", tc.in); got != tc.want {
			t.Errorf("FNV-1a-64(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
	// Vigna's splitmix64.c, seed 1234567.
	s := NewStream(1234567)
	for i, want := range []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423} {
		if got := s.Next(); got != want {
			t.Errorf("splitmix64 output %d = %d, want %d", i, got, want)
		}
	}
}

func TestSelfCheck(t *testing.T) {
	// ../../internal/model/testdata/golden/README.md: conv.weight [2,3,3,3] starts like this.
	got := Tensor("", "conv.weight", []int{2, 3, 3, 3}, "conv_weight")[:4]
	want := []float32{-0.293337584, 0.150924772, 0.343295008, 0.0994898304}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("conv.weight[%d] = %.9g, want %.9g", i, got[i], want[i])
		}
	}
}

func TestUnknownRolePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for an unknown role")
		}
	}()
	Tensor("", "x", []int{1}, "gamma")
}
