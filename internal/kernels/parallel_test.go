package kernels

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// TestParallelFor checks that the ranges cover every index once, for any thread count.
func TestParallelFor(t *testing.T) {
	for _, threads := range []int{0, 1, 2, 3, 4} {
		for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
			t.Run(fmt.Sprintf("threads=%d/n=%d", threads, n), func(t *testing.T) {
				hits := make([]atomic.Int32, n)
				ParallelFor(threads, n, func(lo, hi int) {
					if lo < 0 || hi > n || lo >= hi {
						t.Errorf("range [%d, %d) of %d", lo, hi, n)
						return
					}
					for i := lo; i < hi; i++ {
						hits[i].Add(1)
					}
				})
				for i := range hits {
					if h := hits[i].Load(); h != 1 {
						t.Fatalf("index %d run %d times", i, h)
					}
				}
			})
		}
	}
}
