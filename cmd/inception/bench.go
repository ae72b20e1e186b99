package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/kernels"
	"github.com/inception-cli/inception/internal/model"
)

type benchOptions struct {
	IO      *IOStreams
	Arch    string
	Batch   int
	Threads int
	Iters   int
	Size    int
	Format  string
}

func newCmdBench(ios *IOStreams, runF func(*benchOptions) error) *cobra.Command {
	opts := &benchOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time the forward pass with deterministic random weights",
		Long: `bench runs the network of --arch on random inputs with the deterministic splitmix fill as weights
(no weight file needed) and reports the median time per batch, per image, and the GFLOP/s achieved
(2 FLOPs per counted multiply-add of the convolutions and linear layers).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Batch < 1 || opts.Iters < 1 || opts.Threads < 0 || opts.Size < 0 {
				return usageErrorf("--batch and --iters must be at least 1, --threads and --size not negative")
			}
			if err := checkFormat(opts.Format); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return benchRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Arch, "arch", "v1", "network to time")
	f.IntVar(&opts.Batch, "batch", 1, "images per forward pass")
	f.IntVar(&opts.Threads, "threads", 0, "threads (default: all cores)")
	f.IntVar(&opts.Iters, "iters", 5, "timed forward passes, after one warm-up pass")
	f.IntVar(&opts.Size, "size", 0, "input size (default: the arch's native size)")
	f.StringVar(&opts.Format, "format", "text", "output format: text or json")
	return cmd
}

// BenchResult is what bench reports.
type BenchResult struct {
	Arch         string    `json:"arch"`
	Batch        int       `json:"batch"`
	Threads      int       `json:"threads"`
	Size         int       `json:"size"`
	GMACs        float64   `json:"gmacs_per_image"`
	MedianMS     float64   `json:"median_ms_per_batch"`
	MSPerImage   float64   `json:"ms_per_image"`
	ImagesPerSec float64   `json:"images_per_sec"`
	GFLOPS       float64   `json:"gflops"`
	PeakGFLOPS   float64   `json:"peak_gflops"` // measured FMA peak on the same threads
	PeakShare    float64   `json:"peak_share"`  // GFLOPS / PeakGFLOPS
	RunsMS       []float64 `json:"runs_ms"`
}

func benchRun(opts *benchOptions) error {
	v, err := model.Lookup(opts.Arch)
	if err != nil {
		return usageErrorf("--arch: %w", err)
	}
	m := model.New(v)
	m.Threads = opts.Threads
	if m.Threads == 0 {
		m.Threads = runtime.GOMAXPROCS(0)
	}
	size := opts.Size
	if size == 0 {
		size = v.Size
	}
	macs, err := m.MACs(size, size)
	if err != nil {
		return usageErrorf("--size %d: %w", size, err)
	}
	m.PackFor = []int{size}
	src := model.MapSource{}
	for _, p := range m.Params() {
		src[p.Key] = model.Tensor{Shape: p.Shape, Data: fill.Tensor("bench", p.Key, p.Shape, p.Role.String())}
	}
	if err := m.Load(src); err != nil {
		return err
	}
	n := opts.Batch
	x := fill.Tensor("bench", "input", []int{n, 3, size, size}, "input")
	out := make([]float32, n*m.Classes())
	if err := m.ForwardRaw(x, n, size, size, out); err != nil { // warm-up: plans buffers
		return err
	}
	runs := make([]float64, opts.Iters)
	for i := range runs {
		t0 := time.Now()
		if err := m.ForwardRaw(x, n, size, size, out); err != nil {
			return err
		}
		runs[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	sorted := append([]float64(nil), runs...)
	sort.Float64s(sorted)
	med := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		med = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	r := BenchResult{Arch: v.Name, Batch: n, Threads: m.Threads, Size: size, GMACs: float64(macs) / 1e9,
		MedianMS: med, MSPerImage: med / float64(n), ImagesPerSec: float64(n) / (med / 1000),
		GFLOPS: 2 * float64(macs) * float64(n) / (med / 1000) / 1e9, RunsMS: runs,
		PeakGFLOPS: kernels.MeasurePeakGFLOPS(200*time.Millisecond, m.Threads)}
	if r.PeakGFLOPS > 0 {
		r.PeakShare = r.GFLOPS / r.PeakGFLOPS
	}
	if opts.Format == "json" {
		b, _ := json.MarshalIndent(r, "", "  ")
		_, err := fmt.Fprintf(opts.IO.Out, "%s\n", b)
		return err
	}
	_, err = fmt.Fprintf(opts.IO.Out, "%s  batch %d  threads %d  %dx%d  %.2f GMACs/image\n  median %.1f ms/batch  %.1f ms/image  %.2f images/s  %.1f GFLOP/s = %.0f%% of the %.0f GFLOP/s FMA peak  (%d runs)\n",
		r.Arch, r.Batch, r.Threads, size, size, r.GMACs, r.MedianMS, r.MSPerImage, r.ImagesPerSec, r.GFLOPS,
		100*r.PeakShare, r.PeakGFLOPS, len(runs))
	return err
}
