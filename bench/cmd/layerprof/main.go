// Command layerprof times every convolution and pooling layer of a network on its own, with the weights
// packed as the forward pass packs them, and prints where the time goes by kind of layer (1x1, 3x3
// stride 1, 1x7, max 3x3/2, …):
// the share of the multiply-adds, of the time, and the GFLOP/s of each kind, then the slowest layers.
// It answers "which kernel is worth work" before any is written:
//
//	go run ./bench/cmd/layerprof -arch v4 -threads 1
//
// Each layer runs -reps times after a warm-up; its time is the median. Inputs and weights are random:
// the time of a convolution does not depend on the values.
//
// -ort FILE adds ONNX Runtime's time for the same layers, from `node bench/ort.js --profile FILE` on the
// exported network (bench/cmd/onnxexport): its node names are the layers' own, with a suffix for its
// blocked layout ("_nchwc"), and a pool's is its block's followed by "/MaxPool…". ORT's times are in the
// whole network (its input and weights as the pass leaves them in the caches), ours of each layer alone.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inception-cli/inception/internal/kernels"
	"github.com/inception-cli/inception/internal/model"
)

func main() {
	arch := flag.String("arch", "v3", "network (as --arch of inception)")
	threads := flag.Int("threads", 1, "threads per convolution")
	reps := flag.Int("reps", 15, "timed runs of each layer")
	top := flag.Int("top", 12, "slowest layers to list")
	ortFile := flag.String("ort", "", "per-node times of ONNX Runtime on the same network (bench/ort.js --profile)")
	flag.Parse()
	var ort map[string]float64
	if *ortFile != "" {
		var err error
		if ort, err = readORT(*ortFile); err != nil {
			fmt.Fprintln(os.Stderr, "layerprof:", err)
			os.Exit(1)
		}
	}
	if err := run(*arch, *threads, *reps, *top, ort); err != nil {
		fmt.Fprintln(os.Stderr, "layerprof:", err)
		os.Exit(1)
	}
}

type timed struct {
	name  string
	kind  string
	shape string // C×H×W → O
	macs  int64  // 0 for pooling
	t     time.Duration
}

// median runs f once, then reps times, and returns the median time.
func median(reps int, f func()) time.Duration {
	d := make([]time.Duration, reps)
	f()
	for i := range d {
		t0 := time.Now()
		f()
		d[i] = time.Since(t0)
	}
	slices.Sort(d)
	return d[reps/2]
}

// readORT reads bench/ort.js --profile output (name, op, ms per line) into ms by layer name: the name
// without ORT's "_nchwc" suffix, or for a node inside a block ("mixed_6a/MaxPool_nchwc") the block's.
func readORT(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ort := map[string]float64{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want name, op and ms separated by tabs", path, i+1)
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[0], "_nchwc"), "/")
		ort[name] += v
	}
	return ort, nil
}

func run(arch string, threads, reps, top int, ort map[string]float64) error {
	v, err := model.Lookup(arch)
	if err != nil {
		return err
	}
	layers, err := model.New(v).Layers(v.Size, v.Size)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = r.Float32() - 0.5
		}
		return x
	}
	var ts []timed
	for _, l := range layers {
		switch l.Op {
		case model.OpConv:
			s := l.Conv
			in, bias := rnd(s.C*s.H*s.W), rnd(s.O)
			pw := kernels.PackConvWeights(s, rnd(s.O*s.C*s.KH*s.KW))
			out := make([]float32, s.O*s.OutH()*s.OutW())
			scratch := make([]float32, s.PackedScratchLen())
			t := median(reps, func() { kernels.Conv2DPacked(s, in, pw, bias, out, scratch, true, threads) })
			ts = append(ts, timed{l.Name, kind(s), fmt.Sprintf("%d×%d×%d → %d", s.C, s.H, s.W, s.O), s.MACs(), t})
		case model.OpMaxPool, model.OpAvgPool:
			s := l.Pool
			in, out := rnd(s.C*s.H*s.W), make([]float32, s.C*s.OutH()*s.OutW())
			f := func() { kernels.MaxPool2D(s, in, out) }
			k := fmt.Sprintf("max %dx%d", s.KH, s.KW)
			if l.Op == model.OpAvgPool {
				f = func() { kernels.AvgPool2D(s, in, out, l.CountIncludePad) }
				k = fmt.Sprintf("avg %dx%d", s.KH, s.KW)
			}
			if s.SH != 1 {
				k += fmt.Sprintf("/%d", s.SH)
			}
			ts = append(ts, timed{l.Name, k, fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W), 0, median(reps, f)})
		}
	}

	type agg struct {
		kind       string
		macs       int64
		t          time.Duration
		n          int
		ortMs      float64       // ORT's time for the layers it names
		ourMatched time.Duration // ours for the same layers
	}
	byKind := map[string]*agg{}
	var total time.Duration
	var macs int64
	for _, x := range ts {
		a := byKind[x.kind]
		if a == nil {
			a = &agg{kind: x.kind}
			byKind[x.kind] = a
		}
		a.macs += x.macs
		a.t += x.t
		a.n++
		if v, ok := ort[x.name]; ok {
			a.ortMs += v
			a.ourMatched += x.t
		}
		total += x.t
		macs += x.macs
	}
	var ks []*agg
	for _, a := range byKind {
		ks = append(ks, a)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].t > ks[j].t })
	fmt.Printf("%s at %d×%d, %d layers, threads %d: %.1f ms, %.1f GFLOP/s\n\n",
		arch, v.Size, v.Size, len(ts), threads, ms(total), gflops(macs, total))
	vsORT := func(ours time.Duration, ortMs float64) string {
		if ortMs == 0 {
			return " – |"
		}
		return fmt.Sprintf(" %.2f | %.2f |", ortMs, ms(ours)/ortMs)
	}
	head, rule := "", ""
	if ort != nil {
		head, rule = " ORT ms | ours/ORT |", "---:|---:|"
	}
	fmt.Println("| kind | layers | MACs % | time ms | time % | GFLOP/s |" + head)
	fmt.Println("|---|---:|---:|---:|---:|---:|" + rule)
	for _, a := range ks {
		fmt.Printf("| %s | %d | %.1f | %.2f | %.1f | %.0f |", a.kind, a.n,
			100*float64(a.macs)/float64(macs), ms(a.t), 100*float64(a.t)/float64(total), gflops(a.macs, a.t))
		if ort != nil {
			fmt.Print(vsORT(a.ourMatched, a.ortMs))
		}
		fmt.Println()
	}
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].t > ts[j].t })
	fmt.Printf("\nslowest layers:\n\n| layer | C×H×W → O | kind | ms | GFLOP/s |%s\n|---|---|---|---:|---:|%s\n", head, rule)
	for _, x := range ts[:min(top, len(ts))] {
		fmt.Printf("| %s | %s | %s | %.3f | %.0f |", x.name, x.shape, x.kind, ms(x.t), gflops(x.macs, x.t))
		if ort != nil {
			v, ok := ort[x.name]
			if !ok {
				v = 0
			}
			fmt.Print(vsORT(x.t, v))
		}
		fmt.Println()
	}
	return nil
}

// kind names a convolution by its kernel and stride: "3x3", "1x7", "3x3/2".
func kind(s kernels.ConvShape) string {
	k := fmt.Sprintf("%dx%d", s.KH, s.KW)
	if s.SH != 1 || s.SW != 1 {
		k += fmt.Sprintf("/%d", s.SH)
	}
	return k
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func gflops(macs int64, d time.Duration) float64 { return 2 * float64(macs) / d.Seconds() / 1e9 }
