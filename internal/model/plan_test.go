package model

import (
	"fmt"
	"slices"
	"testing"
	"unsafe"
)

func addr(s []float32) uintptr { return uintptr(unsafe.Pointer(&s[0])) }

// TestPlanPlacement checks bufPool.place on the plans of every variant (one image on one and two
// threads, a batch of three on one thread, whose large maps run image by image in a prefix plan): no
// two buffers that may be in use at once share memory; and for one image on one thread, the region
// (all activations and scratch) is within the memory budget beyond the weights, 1.5 times the
// two largest activations, and no more than 5% above the most memory held at any one time (at most
// 1.5% for all of them, in the best of place's four orders). On two threads, the
// buffers of branches running side by side may not share memory even when their spans of events do
// not overlap, so that sum is no bound.
func TestPlanPlacement(t *testing.T) {
	for _, v := range variants {
		m := fillModel(t, v, "plan")
		for _, c := range []struct{ n, threads int }{{1, 1}, {1, 2}, {3, 1}} {
			t.Run(fmt.Sprintf("%s/n%d/threads%d", v.Name, c.n, c.threads), func(t *testing.T) {
				p, err := m.compile(c.n, v.Size, v.Size, c.threads)
				if err != nil {
					t.Fatal(err)
				}
				pools := []*bufPool{p.pool}
				if p.prefix != nil {
					pools = append(pools, p.prefix.pool)
				}
				for _, pool := range pools {
					checkPlacement(t, pool, c.threads == 1)
				}
				if c.n == 1 && c.threads == 1 {
					var acts []int
					for _, b := range p.pool.bufs {
						if !b.scratch {
							acts = append(acts, b.n)
						}
					}
					slices.Sort(acts)
					budget := 1.5 * float64(acts[len(acts)-1]+acts[len(acts)-2])
					if end := regionEnd(p.pool); float64(end) > budget {
						t.Errorf("region of %.1f MB, over 1.5 × the two largest activations (%.1f MB)", float64(end)*4/1e6, budget*4/1e6)
					}
				}
			})
		}
	}
}

func checkPlacement(t *testing.T, pool *bufPool, tight bool) {
	t.Helper()
	end, peak := 0, 0
	for i, a := range pool.bufs {
		b0 := pool.bufs[0]
		if len(a.data) != a.n || addr(a.data)-addr(b0.data) != 4*uintptr(a.off-b0.off) {
			t.Fatalf("buffer %d (%d floats at %d) is not at its place in the region", i, a.n, a.off)
		}
		end = max(end, a.off+a.n)
		for _, b := range pool.bufs[:i] {
			// In use at once: held over overlapping spans of events, or taken by sibling branches that
			// run side by side (spelled out here rather than through buffer.conflicts, which this checks).
			siblings := a.par != nil && a.par == b.par && a.branch != b.branch
			if (siblings || a.from < b.to && b.from < a.to) && a.off < b.off+b.n && b.off < a.off+a.n {
				t.Fatalf("buffers of %d floats at %d (events %d–%d) and %d at %d (%d–%d) overlap", a.n, a.off, a.from, a.to, b.n, b.off, b.from, b.to)
			}
		}
	}
	for e := 1; e <= pool.events; e++ {
		held := 0
		for _, b := range pool.bufs {
			if b.from <= e && e < b.to {
				held += b.n
			}
		}
		peak = max(peak, held)
	}
	if tight && float64(end) > 1.05*float64(peak) {
		t.Errorf("region of %.1f MB for at most %.1f MB held at once", float64(end)*4/1e6, float64(peak)*4/1e6)
	}
	t.Logf("region %.1f MB, at most %.1f MB held at once", float64(end)*4/1e6, float64(peak)*4/1e6)
}

// regionEnd returns the end of the highest buffer of a placed pool, in float32s.
func regionEnd(pool *bufPool) int {
	end := 0
	for _, b := range pool.bufs {
		end = max(end, b.off+b.n)
	}
	return end
}
