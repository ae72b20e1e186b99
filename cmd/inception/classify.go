package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/kernels"
	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/preprocess"
	"github.com/inception-cli/inception/models"
)

type classifyOptions struct {
	IO  *IOStreams
	Ctx context.Context

	Images     []string
	Arch       string
	Weights    string
	Preprocess string
	Size       int
	TopK       int
	Format     string
	Threads    int
	NoOrient   bool
	MaxPixels  int64
}

func newCmdClassify(ios *IOStreams, runF func(*classifyOptions) error) *cobra.Command {
	opts := &classifyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "classify [flags] IMAGE...",
		Short: "Print the top classes of each image",
		Example: `  inception classify cat.jpg --weights bvlc_googlenet.caffemodel
  inception classify *.jpg --arch v4 --weights inception_v4.safetensors --format json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Images = args
			opts.Ctx = cmd.Context()
			if opts.TopK < 1 {
				return usageErrorf("--top-k must be at least 1, got %d", opts.TopK)
			}
			if opts.Format != "text" && opts.Format != "json" {
				return usageErrorf("--format must be text or json, got %q", opts.Format)
			}
			if opts.Size < 0 {
				return usageErrorf("--size must be positive, got %d", opts.Size)
			}
			if runF != nil {
				return runF(opts)
			}
			return classifyRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Arch, "arch", "v1", "network: v1 (GoogLeNet), v2 (BN-Inception), v3, v4, irv1, irv2, or an alias such as inception-v3")
	f.StringVar(&opts.Weights, "weights", "", "weight file: a .caffemodel, or a .safetensors with the reference's keys")
	f.StringVar(&opts.Preprocess, "preprocess", "", "preprocessing preset: caffe or keras (default: the one the arch's weights were trained with)")
	f.IntVar(&opts.Size, "size", 0, "input size in pixels (default: the preset's)")
	f.IntVar(&opts.TopK, "top-k", 5, "number of classes to print per image")
	f.StringVar(&opts.Format, "format", "text", "output format: text or json")
	f.IntVar(&opts.Threads, "threads", 0, "threads for the network (default: all cores)")
	f.BoolVar(&opts.NoOrient, "no-orient", false, "ignore EXIF orientation")
	f.Int64Var(&opts.MaxPixels, "max-pixels", 0, "refuse images with more pixels than this (default: PIL's 89,478,485)")
	return cmd
}

// defaultPreset is the preprocessing each graph's published weights were trained with, among the presets
// the tool has.
func defaultPreset(v *model.Variant) string {
	switch v.Name {
	case "v1", "v2":
		return "caffe"
	default:
		return "keras"
	}
}

// Prediction is one class of an image's top-k.
type Prediction struct {
	Index int     `json:"index"`
	WNID  string  `json:"wnid,omitempty"`
	Label string  `json:"label"`
	Prob  float32 `json:"prob"`
}

// Result is the classification of one image, as printed by --format json.
type Result struct {
	File    string       `json:"file"`
	Arch    string       `json:"arch"`
	Weights string       `json:"weights"`
	Top     []Prediction `json:"top"`
}

func classifyRun(opts *classifyOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	m, err := loadModel(opts.Arch, opts.Weights, opts.Threads)
	if err != nil {
		return err
	}
	presetName := opts.Preprocess
	if presetName == "" {
		presetName = defaultPreset(m.Variant)
	}
	preset, err := preprocess.LookupPreset(presetName, opts.Size)
	if err != nil {
		return usageErrorf("--preprocess: %w", err)
	}
	classes, err := models.ImageNetClasses()
	if err != nil {
		return err
	}
	if m.Classes() != len(classes) {
		return &modelDataError{fmt.Errorf("%s has %d classes; only the 1000 ImageNet classes are known", opts.Weights, m.Classes())}
	}

	out := newResultWriter(opts.IO.Out, opts.Format)
	x := make([]float32, 3*preset.Size*preset.Size)
	logits := make([]float32, m.Classes())
	probs := make([]float32, m.Classes())
	failed := 0
	for _, path := range opts.Images {
		if ctx.Err() != nil {
			out.close()
			return ctx.Err()
		}
		img, err := preprocess.Decode(path, preprocess.DecodeOptions{NoOrient: opts.NoOrient, MaxPixels: opts.MaxPixels})
		if err != nil {
			failed++
			fmt.Fprintln(opts.IO.ErrOut, "inception: "+oneLine(err.Error()))
			continue
		}
		preset.Into(img, x)
		if err := m.ForwardRaw(x, 1, preset.Size, preset.Size, logits); err != nil {
			out.close()
			return err
		}
		kernels.Softmax(logits, probs)
		r := Result{File: path, Arch: m.Variant.Name, Weights: opts.Weights, Top: topK(probs, opts.TopK, classes)}
		if err := out.write(r); err != nil {
			return err
		}
	}
	if err := out.close(); err != nil {
		return err
	}
	if failed > 0 {
		return &partialError{failed: failed, total: len(opts.Images)}
	}
	return nil
}

// topK returns the k most probable classes, most probable first; ties keep the lower index first.
func topK(probs []float32, k int, classes []models.Class) []Prediction {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	k = min(k, len(idx))
	top := make([]Prediction, k)
	for i, j := range idx[:k] {
		top[i] = Prediction{Index: j, WNID: classes[j].WNID, Label: classes[j].Label, Prob: probs[j]}
	}
	return top
}

// resultWriter prints results as they come: a text block per image, or the elements of one JSON array
// (closed even when the run is interrupted, so the output stays valid).
type resultWriter struct {
	w      io.Writer
	format string
	n      int
	err    error
}

func newResultWriter(w io.Writer, format string) *resultWriter {
	return &resultWriter{w: w, format: format}
}

func (rw *resultWriter) write(r Result) error {
	if rw.err != nil {
		return rw.err
	}
	if rw.format == "json" {
		b, err := json.MarshalIndent(r, "  ", "  ")
		if err != nil {
			return err
		}
		sep := "[\n  "
		if rw.n > 0 {
			sep = ",\n  "
		}
		_, rw.err = fmt.Fprintf(rw.w, "%s%s", sep, b)
	} else {
		_, rw.err = fmt.Fprintf(rw.w, "%s\n", filepath.ToSlash(r.File))
		for _, p := range r.Top {
			if rw.err == nil {
				_, rw.err = fmt.Fprintf(rw.w, "  %7.4f  %4d  %s\n", p.Prob, p.Index, p.Label)
			}
		}
	}
	rw.n++
	return rw.err
}

func (rw *resultWriter) close() error {
	if rw.format == "json" && rw.err == nil {
		if rw.n == 0 {
			_, rw.err = fmt.Fprint(rw.w, "[]\n")
		} else {
			_, rw.err = fmt.Fprint(rw.w, "\n]\n")
		}
	}
	return rw.err
}
