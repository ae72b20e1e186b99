package model

import (
	"fmt"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
)

// BenchmarkForward times one forward pass of each variant at its native size with the deterministic
// fill, batch 1, on 1 and 2 threads, reporting GFLOP/s from the counted multiply-adds.
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
				for b.Loop() {
					m.ForwardRaw(x, 1, v.Size, v.Size, out)
				}
				b.ReportMetric(2*float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
