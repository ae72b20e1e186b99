package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/eval"
	"github.com/inception-cli/inception/internal/head"
	"github.com/inception-cli/inception/internal/pipeline"
)

type evalOptions struct {
	IO   *IOStreams
	Dir  string
	head *head.Head
	netFlags
	inputFlags
	labelFlags
	Crops  int
	Head   string
	Format string
}

func newCmdEval(ios *IOStreams, runF func(*evalOptions) error) *cobra.Command {
	opts := &evalOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "eval [flags] DIR",
		Short: "Measure top-1/top-5 accuracy on a folder of labelled images",
		Long: `eval classifies every image under DIR and compares with its true class, printing top-1 and top-5
accuracy, the most confused class pairs and the per-class accuracy.

The true class comes from (--label-from):
  folder  the first-level folder under DIR: DIR/tabby/1.jpg is "tabby" (the default when DIR has sub-folders)
  prefix  the file name up to its last '_': n02123045_17.JPEG is n02123045, tabby_3.jpg is "tabby"
  --labels FILE  lines "path<TAB>class", "path,class" (CSV) or "path class", paths relative to FILE
A class is a WordNet id (n02123045), a class index, or any of the class's names (tabby, Egyptian cat,
golden_retriever), case and '_' / '-' ignored; with --head, one of the head's labels.

--crops 10 and 144 are the multi-crop evaluations of the papers (probabilities averaged over the crops);
--arch a,b:w evaluates an ensemble. Unreadable images are reported, left out of the figures, and make the
exit status 1.`,
		Example: `  inception eval val/ --arch v3                      # val/<wnid or class name>/*.JPEG
  inception eval imagenet-val/ --labels val.tsv --arch v4,irv2:3 --crops 10
  inception eval pets/ --head pets.safetensors --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if err := checkCrops(opts.Crops); err != nil {
				return err
			}
			if err := opts.netFlags.validate(); err != nil {
				return err
			}
			if err := checkFormat(opts.Format); err != nil {
				return err
			}
			if err := opts.labelFlags.validate(cmd); err != nil {
				return err
			}
			h, err := loadHeadFlag(cmd, opts.Head, &opts.netFlags)
			if err != nil {
				return err
			}
			opts.head = h
			if runF != nil {
				return runF(opts)
			}
			return evalRun(cmd, opts)
		},
	}
	opts.netFlags.register(cmd, true)
	opts.inputFlags.register(cmd)
	registerCrops(cmd, &opts.Crops)
	f := cmd.Flags()
	f.StringVar(&opts.Head, "head", "", "evaluate a head trained by 'inception train-head' (its labels)")
	opts.labelFlags.register(cmd, "the true class")
	f.StringVar(&opts.Format, "format", "text", "output: text or json")
	return cmd
}

// EvalResult is eval's JSON output: the figures, and what produced them.
type EvalResult struct {
	Arch    string `json:"arch"`
	Weights string `json:"weights"`
	Crops   int    `json:"crops"`
	Failed  int    `json:"failed"`
	eval.Report
}

func evalRun(cmd *cobra.Command, opts *evalOptions) error {
	ctx := cmd.Context()
	items, err := opts.expand(opts.IO, []string{opts.Dir})
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return usageErrorf("%s: no images", opts.Dir)
	}
	src, err := opts.source(opts.Dir)
	if err != nil {
		return err
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
	resolver := eval.NewImageNetResolver(ens.classes)
	if opts.head != nil {
		resolver = eval.NewLabelResolver(opts.head.Labels)
	}
	paths := make([]string, len(items))
	for i, it := range items {
		paths[i] = it.Path
	}
	truth, err := eval.Resolve(paths, src, resolver)
	if err != nil {
		return usageErrorf("%w", err)
	}
	index := make(map[string]int, len(items))
	for i, p := range paths {
		index[p] = truth[i]
	}

	metrics := eval.NewMetrics(len(ens.classes))
	probs := make([]float32, len(ens.classes))
	failed, runErr := runBatch(ctx, opts.IO, opts.inputFlags, items, ens.config(opts.netFlags), func(r pipeline.Result) error {
		if r.Err == nil {
			ens.probs(r.Out, probs)
			metrics.Add(index[r.Path], probs)
		}
		return nil
	})
	if runErr != nil {
		return runErr
	}
	rep := metrics.Report()
	names := classNames(ens.classes)
	if opts.Format == "json" {
		rep.SetNames(names)
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(EvalResult{Arch: ens.arch, Weights: ens.weights, Crops: max(opts.Crops, 1), Failed: failed, Report: rep}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(opts.IO.Out, "%s (%s), %d crop(s) per image\n", ens.arch, ens.weights, max(opts.Crops, 1))
		if err := rep.WriteText(opts.IO.Out, names); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &partialError{failed: failed, total: len(items)}
	}
	return nil
}

// labelFlags say where each image's class comes from, for eval and train-head.
type labelFlags struct {
	Labels    string
	LabelFrom string
}

func (l *labelFlags) register(cmd *cobra.Command, what string) {
	f := cmd.Flags()
	f.StringVar(&l.Labels, "labels", "", "file of path→class lines instead of folder or file names")
	f.StringVar(&l.LabelFrom, "label-from", "", "where "+what+" is: folder or prefix (default: folder if DIR has sub-folders)")
}

func (l *labelFlags) validate(cmd *cobra.Command) error {
	switch {
	case l.Labels != "" && cmd.Flags().Changed("label-from"):
		return usageErrorf("--labels and --label-from exclude each other")
	case l.LabelFrom != "" && l.LabelFrom != "folder" && l.LabelFrom != "prefix":
		return usageErrorf("--label-from must be folder or prefix, got %q", l.LabelFrom)
	}
	return nil
}

// source picks where the classes come from: --labels, --label-from, or by dir's layout (folder labels
// when it has sub-folders, else file-name prefixes).
func (l *labelFlags) source(dir string) (eval.Source, error) {
	if l.Labels != "" {
		f, err := eval.ReadLabelsFile(l.Labels)
		if err != nil {
			return nil, usageErrorf("--labels: %w", err)
		}
		return f, nil
	}
	from := l.LabelFrom
	if from == "" {
		from = "prefix"
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, usageErrorf("%w", err)
		}
		for _, e := range entries {
			if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
				from = "folder"
				break
			}
		}
	}
	if from == "folder" {
		return eval.Folders{Root: dir}, nil
	}
	return eval.FilePrefix{}, nil
}
