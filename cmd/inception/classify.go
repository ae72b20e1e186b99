package main

import (
	"context"
	"fmt"
	"github.com/inception-cli/inception/internal/head"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/pipeline"
	"github.com/inception-cli/inception/internal/preprocess"
	"github.com/inception-cli/inception/models"
)

type classifyOptions struct {
	IO  *IOStreams
	Ctx context.Context

	Inputs []string
	head   *head.Head
	netFlags
	inputFlags
	Crops      int
	Head       string
	TopK       int
	Threshold  float64
	LabelsOnly bool
	Format     string
	Output     string
	Resume     bool
	Shard      string
}

var formats = []string{"text", "json", "jsonl", "csv", "tsv"}

func newCmdClassify(ios *IOStreams, runF func(*classifyOptions) error) *cobra.Command {
	opts := &classifyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "classify [flags] IMAGE|DIR|- ...",
		Short: "Print the top classes of each image",
		Long: `classify labels images: files, directories (walked recursively, image extensions only, in lexical
order) and "-" for paths read from standard input (one per line, or NUL-separated with -0). Results come
in input order, one record per image; an image that cannot be read gets a record with "error" and the
run carries on. Exit status: 0 all labelled, 1 some failed, 2 usage error, 3 weights problem,
130 interrupted (the batch in flight is finished and the output left valid).`,
		Example: `  inception classify cat.jpg --weights bvlc_googlenet.caffemodel
  inception classify photos/ --arch v4 --weights inception_v4.safetensors --format csv --output labels.csv
  find . -name '*.jpg' -print0 | inception classify -0 - --format jsonl --output labels.jsonl --resume
  inception classify photos/ --shard 3/8 --output labels-3.jsonl   # one of 8 parallel jobs
  inception classify cat.jpg --arch v4,irv2:3                       # ensemble, probabilities averaged 1:3`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			opts.Ctx = cmd.Context()
			h, err := loadHeadFlag(cmd, opts.Head, &opts.netFlags)
			if err != nil {
				return err
			}
			opts.head = h
			if !cmd.Flags().Changed("format") {
				opts.Format = defaultFormat(opts, ios)
			}
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return classifyRun(opts)
		},
	}
	f := cmd.Flags()
	opts.netFlags.register(cmd, true)
	opts.inputFlags.register(cmd)
	registerCrops(cmd, &opts.Crops)
	cmd.Flags().StringVar(&opts.Head, "head", "", "classify with a head trained by 'inception train-head' (its labels; its network and weights unless --arch/--weights say otherwise)")
	f.IntVar(&opts.TopK, "top-k", 5, "classes per image")
	f.Float64Var(&opts.Threshold, "threshold", 0, "drop classes whose probability is below this")
	f.BoolVar(&opts.LabelsOnly, "labels-only", false, "print only the class names, one line per image (tab-separated), in input order")
	f.StringVar(&opts.Format, "format", "text", "output: text, json (one array), jsonl (an object per line), csv or tsv (a row per class); default text on a terminal, jsonl otherwise")
	f.StringVarP(&opts.Output, "output", "o", "", "append records to this file (jsonl, csv or tsv) instead of standard output")
	f.BoolVar(&opts.Resume, "resume", false, "with --output: skip the images the file already has records for")
	f.StringVar(&opts.Shard, "shard", "", "process only shard i of n (i/n, 0-based), chosen by a stable hash of each path")
	return cmd
}

// defaultFormat is text for a person at a terminal and JSON Lines for a script or a file; an --output
// file named *.csv or *.tsv gets that format.
func defaultFormat(opts *classifyOptions, ios *IOStreams) string {
	if opts.Output != "" {
		switch strings.ToLower(filepath.Ext(opts.Output)) {
		case ".csv":
			return "csv"
		case ".tsv":
			return "tsv"
		}
		return "jsonl"
	}
	if ios.OutTTY {
		return "text"
	}
	return "jsonl"
}

func (o *classifyOptions) validate() error {
	switch {
	case o.TopK < 1:
		return usageErrorf("--top-k must be at least 1, got %d", o.TopK)
	case o.Threshold < 0 || o.Threshold > 1:
		return usageErrorf("--threshold must be between 0 and 1, got %g", o.Threshold)
	case !contains(formats, o.Format):
		return usageErrorf("--format must be one of %s, got %q", strings.Join(formats, ", "), o.Format)
	case o.Output != "" && (o.Format == "json" || o.Format == "text"):
		return usageErrorf("--output appends records, so it takes --format jsonl, csv or tsv, not %s", o.Format)
	case o.Resume && o.Output == "":
		return usageErrorf("--resume needs --output FILE: it skips the images that file already has")
	case o.LabelsOnly && o.Format != "text" && o.Format != "jsonl":
		return usageErrorf("--labels-only prints plain lines; it does not combine with --format %s", o.Format)
	}
	if err := checkCrops(o.Crops); err != nil {
		return err
	}
	if err := o.netFlags.validate(); err != nil {
		return err
	}
	if o.Shard != "" {
		if _, err := pipeline.ParseShard(o.Shard); err != nil {
			return usageErrorf("--shard: %w", err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// presetFlags are the preprocessing flags classify and preprocess share.
type presetFlags struct {
	Name          string  `json:"preprocess,omitempty"`
	Size          int     `json:"size,omitempty"`
	CropPct       float64 `json:"crop_pct,omitempty"`
	Interpolation string  `json:"interpolation,omitempty"`
}

func (pf *presetFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&pf.Name, "preprocess", "", "preprocessing preset: "+strings.Join(preprocess.PresetNames(), ", ")+" (default: the recipe the weights were published with)")
	f.IntVar(&pf.Size, "size", 0, "input size in pixels (default: the preset's)")
	f.Float64Var(&pf.CropPct, "crop-pct", 0, "centre-crop fraction: the image is resized to size/crop-pct, then cropped (default: the preset's)")
	f.StringVar(&pf.Interpolation, "interpolation", "", "resampling filter: nearest, bilinear, bicubic or lanczos (default: the preset's)")
}

func (pf *presetFlags) validate() error {
	if pf.Size < 0 || pf.CropPct < 0 || pf.CropPct > 1 {
		return usageErrorf("--size must be positive and --crop-pct in (0, 1]")
	}
	return nil
}

// choosePreset picks the preprocessing: --preprocess if given, else the recipe the weight set was
// published with (its manifest), else the one the graph's weights are usually trained with; then the
// single-parameter flags override it.
func choosePreset(v *model.Variant, man *models.Manifest, pf presetFlags) (preprocess.Preset, error) {
	var (
		p   preprocess.Preset
		err error
	)
	switch {
	case pf.Name != "":
		if p, err = preprocess.LookupPreset(pf.Name, 0); err != nil {
			return p, usageErrorf("--preprocess: %w", err)
		}
	case man != nil:
		mp := man.Preprocess
		p, err = preprocess.NewPreset(preprocess.Params{Preset: mp.Preset, Size: mp.Size, ResizeSize: mp.ResizeSize,
			CropPct: mp.CropPct, Interpolation: mp.Interpolation, ResizeMode: mp.ResizeMode, Mean: mp.Mean[:],
			Std: mp.Std[:], ChannelOrder: mp.ChannelOrder, Range: mp.Range, TransformInput: mp.TransformInput})
		if err != nil {
			return p, &modelDataError{fmt.Errorf("weight set %s: %w", man.Name, err)}
		}
	default:
		name := "keras"
		if v.Name == "v1" || v.Name == "v2" {
			name = "caffe"
		}
		if p, err = preprocess.LookupPreset(name, 0); err != nil {
			return p, err
		}
	}
	p, err = p.With(preprocess.Overrides{Size: pf.Size, CropPct: pf.CropPct, Interpolation: pf.Interpolation})
	if err != nil {
		return p, usageErrorf("%w", err)
	}
	return p, nil
}

func classifyRun(opts *classifyOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	items, err := opts.expand(opts.IO, opts.Inputs)
	if err != nil {
		return err
	}
	if opts.Shard != "" {
		shard, _ := pipeline.ParseShard(opts.Shard)
		items = shard.Select(items)
	}
	if opts.Resume {
		done, err := pipeline.Done(opts.Output, opts.Format)
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		items = pipeline.Skip(items, done)
	}

	ens, err := loadEnsemble(ctx, opts.IO, opts.Arch, opts.Weights, opts.Preset, opts.Crops, opts.Threads)
	if err != nil {
		return err
	}
	if opts.head != nil {
		if err := ens.useHead(opts.head, opts.Head); err != nil {
			return err
		}
	}
	classes := ens.classes

	out, closeOut, err := openOutput(opts)
	if err != nil {
		return err
	}
	rw := newRecordWriter(out, opts.Format, opts.LabelsOnly, opts.Output != "" && fileHasData(opts.Output))
	probs := make([]float32, len(classes))
	failed, runErr := runBatch(ctx, opts.IO, opts.inputFlags, items, ens.config(opts.netFlags),
		func(r pipeline.Result) error {
			rec := Record{File: r.Path, Arch: ens.arch, Weights: ens.weights}
			if r.Err != nil {
				rec.Error = errorText(r.Path, r.Err)
			} else {
				ens.probs(r.Out, probs)
				rec.Top = topK(probs, opts.TopK, opts.Threshold, classes)
			}
			return rw.write(rec)
		})
	closeErr := rw.close()
	if err := closeOut(); closeErr == nil {
		closeErr = err
	}
	switch {
	case runErr != nil:
		return runErr
	case closeErr != nil:
		return fmt.Errorf("write %s: %w", outputName(opts), closeErr)
	case failed > 0:
		return &partialError{failed: failed, total: len(items)}
	}
	return nil
}

// errorText is err without the leading "path: " that decoders put there, for records that name the
// file in their own field.
func errorText(path string, err error) string {
	return oneLine(strings.TrimPrefix(err.Error(), path+": "))
}

func outputName(opts *classifyOptions) string {
	if opts.Output != "" {
		return opts.Output
	}
	return "standard output"
}

// openOutput returns where records go: standard output, or the --output file opened for appending.
func openOutput(opts *classifyOptions) (io.Writer, func() error, error) {
	if opts.Output == "" {
		return opts.IO.Out, func() error { return nil }, nil
	}
	f, err := os.OpenFile(opts.Output, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("--output: %w", err)
	}
	return f, f.Close, nil
}

func fileHasData(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}

// progress draws "[  120/1000]  14.2 img/s  ETA 1m02s" on a terminal, at most ten times a second.
type progress struct {
	w     io.Writer
	on    bool
	total int
	n     int
	start time.Time
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, on bool, total int) *progress {
	return &progress{w: w, on: on && total > 1, total: total, start: time.Now()}
}

func (p *progress) step() {
	p.n++
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && p.n < p.total {
		return
	}
	p.last = now
	rate := float64(p.n) / now.Sub(p.start).Seconds()
	eta := time.Duration(float64(p.total-p.n)/rate) * time.Second
	fmt.Fprintf(p.w, "\r[%*d/%d] %6.1f img/s  ETA %-10s", len(fmt.Sprint(p.total)), p.n, p.total, rate, eta.Round(time.Second))
	p.drawn = true
}

func (p *progress) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
