package model

import (
	"fmt"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
)

// BenchmarkForward times one forward pass of each variant at its native size with the deterministic
// fill, batch 1, on 1 and 2 threads, reporting GFLOP/s from the counted multiply-adds, and the process's
// CPU time per pass (cpu-ms/op): on a machine shared with other work, a single-threaded pass's CPU time
// moves much less than its wall time, which counts the slices the scheduler gave to others.
func BenchmarkForward(b *testing.B) {
	for _, v := range variants {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads%d", v.Name, threads), func(b *testing.B) {
				m := fillModel(b, v, "bench")
				m.Threads = threads
				x := fill.Tensor("bench", "x", []int{1, 3, v.Size, v.Size}, "input")
				out := make([]float32, m.Classes())
				if err := m.ForwardRaw(x, 1, v.Size, v.Size, out); err != nil {
					b.Fatal(err)
				}
				macs, _ := m.MACs(v.Size, v.Size)
				cpu0 := cpuTime()
				for b.Loop() {
					m.ForwardRaw(x, 1, v.Size, v.Size, out)
				}
				b.ReportMetric(2*float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
