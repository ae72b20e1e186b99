package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/pipeline"
	"github.com/inception-cli/inception/internal/preprocess"
)

// netFlags choose the network and how it runs; the commands that run networks over images share them.
type netFlags struct {
	Arch      string
	Weights   string
	Preset    presetFlags
	BatchSize int
	Threads   int
	Workers   int

	single string // the command's name when --arch must name one network, not an ensemble
}

// register adds the flags; ensembles says whether --arch may list several networks.
func (n *netFlags) register(cmd *cobra.Command, ensembles bool) {
	f := cmd.Flags()
	arch := "network: v1 (GoogLeNet), v2 (BN-Inception), v3, v4 (the accurate choice), irv1, irv2, or an alias such as inception-v3"
	weights := "weight file (.caffemodel, .safetensors, .pth) or published set (see 'inception models'); default: the arch's default set"
	if ensembles {
		arch += ";\na comma-separated list is an ensemble averaging probabilities, each optionally weighted: v4,irv2:3"
		weights += ";\nfor an ensemble, one per --arch entry, comma-separated"
	}
	if !ensembles {
		n.single = cmd.Name()
	}
	f.StringVar(&n.Arch, "arch", "v1", arch)
	f.StringVar(&n.Weights, "weights", "", weights)
	n.Preset.register(cmd)
	f.IntVar(&n.BatchSize, "batch-size", 1, "images per forward pass (an image's crops count one each)")
	f.IntVar(&n.Threads, "threads", 0, "threads for the network (default: all cores)")
	f.IntVar(&n.Workers, "workers", 0, "goroutines decoding images ahead of the network (default: all cores)")
}

func (n *netFlags) validate() error {
	switch {
	case n.single != "" && strings.Contains(n.Arch, ","):
		return usageErrorf("--arch %s: %s takes one network, not an ensemble", n.Arch, n.single)
	case n.BatchSize < 1:
		return usageErrorf("--batch-size must be at least 1, got %d", n.BatchSize)
	case n.Threads < 0 || n.Workers < 0:
		return usageErrorf("--threads and --workers must not be negative")
	}
	return n.Preset.validate()
}

// inputFlags say which files a batch command reads and how it decodes them.
type inputFlags struct {
	Null      bool
	NoRecurse bool
	Quiet     bool
	NoOrient  bool
	MaxPixels int64
}

func (in *inputFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVarP(&in.Null, "null", "0", false, "paths read from standard input are NUL-separated (find -print0)")
	f.BoolVar(&in.NoRecurse, "no-recurse", false, "take only the files directly inside a directory")
	f.BoolVarP(&in.Quiet, "quiet", "q", false, "no progress bar")
	f.BoolVar(&in.NoOrient, "no-orient", false, "ignore EXIF orientation")
	f.Int64Var(&in.MaxPixels, "max-pixels", 0, "refuse images with more pixels than this (default: PIL's 89,478,485)")
}

// expand turns the arguments (files, directories, "-" for paths on standard input) into items.
func (in *inputFlags) expand(ios *IOStreams, args []string) ([]pipeline.Item, error) {
	items, err := pipeline.Expand(args, pipeline.ExpandOptions{Stdin: ios.In, NUL: in.Null, NoRecurse: in.NoRecurse})
	if err != nil {
		return nil, usageErrorf("%w", err)
	}
	return items, nil
}

func (in *inputFlags) decode() preprocess.DecodeOptions {
	return preprocess.DecodeOptions{NoOrient: in.NoOrient, MaxPixels: in.MaxPixels}
}

// garbageBytes bounds the garbage the heap may gather between collections while images run (decoding,
// resizing: a few MB an image), unless GOGC says otherwise. Classifying 40 photos with v3 (static
// build): max RSS 278 MiB at GOGC=100, 180 with 32 MB, 161 with 16, 156 with 8 (one photo: 138), in
// the same time; a collection took about 1 ms of CPU, one every four images with 16 MB.
var garbageBytes uint64 = 16 << 20

// boundGarbage sets the collector to run once the heap grows by about garbageBytes over what was live
// at the last collection, and returns what restores the previous setting. The heap holds the models'
// packed weights (pointer-free, and live for the whole run), and at the default GOGC=100 the garbage
// of decoding grew to as much again before a collection. A user's GOGC is left alone.
func boundGarbage() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	pct := min(100*garbageBytes/max(ms.HeapAlloc, 1), 100)
	old := debug.SetGCPercent(max(int(pct), 1))
	return func() { debug.SetGCPercent(old) }
}

// runBatch runs the pipeline over items with a progress bar on a terminal, reports each failed image on
// one line of ErrOut and hands every result, failed or not, to each, in input order. It returns how many
// images failed.
func runBatch(ctx context.Context, ios *IOStreams, in inputFlags, items []pipeline.Item, cfg pipeline.Config, each func(pipeline.Result) error) (failed int, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg.Decode = in.decode()
	defer boundGarbage()()
	prog := newProgress(ios.ErrOut, ios.ErrTTY && !in.Quiet, len(items))
	err = pipeline.Run(ctx, items, cfg, func(r pipeline.Result) error {
		if r.Err != nil {
			failed++
			prog.clear()
			fmt.Fprintf(ios.ErrOut, "inception: %s: %s\n", r.Path, errorText(r.Path, r.Err))
		}
		prog.step()
		return each(r)
	})
	prog.clear()
	return failed, err
}
