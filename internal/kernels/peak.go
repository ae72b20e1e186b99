package kernels

import (
	"runtime"
	"sync"
	"time"
)

// fmaPeakFunc runs a register-only multiply-add loop of n iterations and returns the flops
// it did (a multiply-add counts 2).
type fmaPeakFunc func(n int) float64

// peakSink keeps fmaPeakF32Generic's result alive.
var peakSink float32

// fmaPeakF32Generic runs n iterations of 8 independent scalar multiply-adds (16 flops):
//
//	for range n {
//		for i := 0; i < 8; i++ {
//			acc[i] = acc[i]*x + y
//		}
//	}
func fmaPeakF32Generic(n int) float64 {
	x, y := float32(0.999), float32(1e-3)
	var c0, c1, c2, c3, c4, c5, c6, c7 float32
	for range n {
		c0 = c0*x + y
		c1 = c1*x + y
		c2 = c2*x + y
		c3 = c3*x + y
		c4 = c4*x + y
		c5 = c5*x + y
		c6 = c6*x + y
		c7 = c7*x + y
	}
	peakSink = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7
	return float64(n) * 16
}

// MeasurePeakGFLOPS measures the machine's float32 multiply-add peak in GFLOP/s over about
// d with threads goroutines (values < 1 mean 1), each locked to an OS thread and running the
// active "fmapeak" kernel, that of the widest ISA in use (with AVX-512: 24 independent zmm
// VFMADD231PS chains; with AVX2: 12 ymm ones; no memory access).
// It is the ceiling the GEMM kernels are judged against; the result moves with the clock
// speed (turbo, thermal state, other load).
func MeasurePeakGFLOPS(d time.Duration, threads int) float64 {
	threads = max(threads, 1)
	run := activeKernel("fmapeak").(fmaPeakFunc)
	const chunk = 1 << 16 // ~0.1 ms per call with AVX2: short enough to stop close to d
	run(chunk)            // warm up (and let the clock ramp)
	flops := make([]float64, threads)
	var wg sync.WaitGroup
	start := time.Now()
	for t := range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for time.Since(start) < d {
				flops[t] += run(chunk)
			}
		})
	}
	wg.Wait()
	var total float64
	for _, f := range flops {
		total += f
	}
	return total / time.Since(start).Seconds() / 1e9
}
