package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/cache"
	"github.com/inception-cli/inception/internal/head"
	"github.com/inception-cli/inception/internal/pipeline"
)

type trainHeadOptions struct {
	IO  *IOStreams
	Dir string
	netFlags
	inputFlags
	labelFlags
	Out      string
	NoCache  bool
	Format   string
	Epochs   int
	LR       float64
	Val      float64
	Patience int
	Seed     uint64
}

func newCmdTrainHead(ios *IOStreams, runF func(*trainHeadOptions) error) *cobra.Command {
	opts := &trainHeadOptions{IO: ios}
	def := head.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "train-head [flags] DIR --out HEAD.safetensors",
		Short: "Teach a network new labels from a few examples: train only a new final layer",
		Long: `train-head learns new classes from a folder of labelled examples (DIR/<label>/*.jpg, or the other label
sources of 'inception eval'): the network computes each image's pooled features once (cached, so a second
run over the same folder does not run it again), and only a new linear layer is trained on them, with the
Inception-v3 paper's recipe: RMSProp (decay 0.9, epsilon 1.0), learning rate 0.045 decayed by 0.94 every
two epochs, label smoothing 0.1. A stratified --val share of each class is held out; the epoch with the
best validation accuracy is kept. The result is a small safetensors file that 'classify --head' and
'eval --head' use with its own label names; it records the network and weights it was trained on.`,
		Example: `  inception train-head pets/ --arch v3 --out pets.safetensors
  inception classify --head pets.safetensors new-photos/`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if err := opts.netFlags.validate(); err != nil {
				return err
			}
			if err := checkFormat(opts.Format); err != nil {
				return err
			}
			switch {
			case opts.Out == "":
				return usageErrorf("--out FILE is required: where the trained head goes")
			case opts.Epochs < 1 || !(opts.LR > 0) || opts.Val < 0 || opts.Val >= 1 || opts.Patience < 0:
				return usageErrorf("--epochs must be at least 1, --lr positive, --val in [0, 1), --patience not negative")
			}
			if err := opts.labelFlags.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return trainHeadRun(cmd, opts)
		},
	}
	opts.netFlags.register(cmd, false)
	opts.inputFlags.register(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "write the trained head here (.safetensors)")
	opts.labelFlags.register(cmd, "each example's label")
	f.BoolVar(&opts.NoCache, "no-cache", false, "compute every image's features again instead of reading the feature cache")
	f.StringVar(&opts.Format, "format", "text", "report: text or json")
	f.IntVar(&opts.Epochs, "epochs", def.Epochs, "passes over the training examples")
	f.Float64Var(&opts.LR, "lr", def.LearningRate, "base learning rate (decayed ×0.94 every 2 epochs)")
	f.Float64Var(&opts.Val, "val", def.ValFraction, "share of each class held out for validation (0: none)")
	f.IntVar(&opts.Patience, "patience", def.Patience, "stop after this many epochs without a better validation accuracy (0: run every epoch)")
	f.Uint64Var(&opts.Seed, "seed", def.Seed, "seed of the validation split and the shuffles")
	return cmd
}

// TrainHeadResult is train-head's JSON report.
type TrainHeadResult struct {
	Out     string   `json:"out"`
	Arch    string   `json:"arch"`
	Weights string   `json:"weights"`
	Labels  []string `json:"labels"`
	Failed  int      `json:"failed"`
	Cached  int      `json:"cached"` // images whose features came from the cache
	head.Report
}

func trainHeadRun(cmd *cobra.Command, opts *trainHeadOptions) error {
	ctx := cmd.Context()
	items, err := opts.expand(opts.IO, []string{opts.Dir})
	if err != nil {
		return err
	}
	src, err := opts.source(opts.Dir)
	if err != nil {
		return err
	}
	// The labels are the distinct class names, sorted; each image's class is its index among them.
	names := make([]string, len(items))
	for i, it := range items {
		if names[i], err = src.Class(it.Path); err != nil {
			return usageErrorf("%w", err)
		}
	}
	labels := slices.Compact(slices.Sorted(slices.Values(names)))
	if len(labels) < 2 {
		return usageErrorf("%s: %d label(s) found; a classifier needs at least two", opts.Dir, len(labels))
	}
	class := make(map[string]int, len(items))
	for i, it := range items {
		class[it.Path], _ = slices.BinarySearch(labels, names[i])
	}

	ens, err := loadEnsemble(ctx, opts.IO, opts.Arch, opts.Weights, opts.Preset, 1, opts.Threads)
	if err != nil {
		return err
	}
	net := ens.nets[0]
	fs, err := net.Model.FeatureShape(net.Preset.Size, net.Preset.Size)
	if err != nil {
		return err
	}
	weightsID := ens.weights
	if isFile(ens.weights) {
		if abs, err := filepath.Abs(ens.weights); err == nil {
			weightsID = abs
		}
	}
	var fc *head.FeatureCache
	if !opts.NoCache {
		if c, err := cache.FromEnv(); err == nil {
			fc = &head.FeatureCache{Dir: filepath.Join(c.Dir, "features")}
		}
	}
	modelID := fmt.Sprintf("%s|%s|%s|%+v", net.Model.Variant.Name, weightsID, fileStamp(weightsID), net.Preset)

	// Features: from the cache where it has them, from the network for the rest.
	feats := map[string][]float32{}
	keys := map[string]head.FeatureKey{}
	var todo []pipeline.Item
	for _, it := range items {
		k, err := head.NewFeatureKey(modelID, it.Path)
		if err == nil {
			keys[it.Path] = k
			if v, ok := fc.Get(k); ok && len(v) == fs.C {
				feats[it.Path] = v
				continue
			}
		}
		todo = append(todo, it)
	}
	cached := len(feats)
	warned := false
	cfg := ens.config(opts.netFlags)
	cfg.Features = true
	failed, runErr := runBatch(ctx, opts.IO, opts.inputFlags, todo, cfg, func(r pipeline.Result) error {
		if r.Err != nil {
			return nil
		}
		v := append([]float32(nil), r.Out[0].Pooled...)
		feats[r.Path] = v
		if k, ok := keys[r.Path]; ok {
			if err := fc.Put(k, v); err != nil && !warned {
				fmt.Fprintf(opts.IO.ErrOut, "inception: feature cache: %s (carrying on without it)\n", oneLine(err.Error()))
				warned = true
			}
		}
		return nil
	})
	if runErr != nil {
		return runErr
	}

	var x []float32
	var y []int
	for _, it := range items {
		if v, ok := feats[it.Path]; ok {
			x, y = append(x, v...), append(y, class[it.Path])
		}
	}
	for k, l := range labels {
		if !slices.Contains(y, k) {
			return usageErrorf("label %q has no readable example", l)
		}
	}
	tc := head.DefaultConfig()
	tc.Epochs, tc.LearningRate, tc.ValFraction, tc.Patience, tc.Seed = opts.Epochs, opts.LR, opts.Val, opts.Patience, opts.Seed
	if tc.ValFraction == 0 {
		tc.Patience = 0
	}
	if !opts.Quiet {
		tc.Progress = func(e head.EpochStats) {
			fmt.Fprintf(opts.IO.ErrOut, "epoch %3d  lr %.4f  train loss %.4f acc %5.1f%%  val loss %.4f acc %5.1f%%\n",
				e.Epoch, e.LearningRate, e.TrainLoss, 100*e.TrainAccuracy, e.ValLoss, 100*e.ValAccuracy)
		}
	}
	h, rep, err := head.Train(x, len(y), fs.C, y, labels, tc)
	if err != nil {
		return err
	}
	pf, _ := json.Marshal(opts.Preset)
	h.Meta = map[string]string{metaArch: net.Model.Variant.Name, metaWeights: weightsID, metaPreprocess: string(pf),
		"preset": net.Preset.Name, "size": fmt.Sprint(net.Preset.Size), "features": fmt.Sprint(fs.C), "trained_on": opts.Dir}
	if err := h.Save(opts.Out); err != nil {
		return err
	}
	res := TrainHeadResult{Out: opts.Out, Arch: net.Model.Variant.Name, Weights: weightsID, Labels: labels, Failed: failed, Cached: cached, Report: rep}
	if opts.Format == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(opts.IO.Out, "%d labels, %d training and %d validation images (%d features from the cache)\n",
			len(labels), rep.TrainN, rep.ValN, cached)
		fmt.Fprintf(opts.IO.Out, "epoch %d of %d kept: training accuracy %.1f%%", rep.BestEpoch, len(rep.Epochs), 100*rep.TrainAccuracy)
		if rep.ValN > 0 {
			fmt.Fprintf(opts.IO.Out, ", validation accuracy %.1f%% (%d of %d)", 100*rep.ValAccuracy, rep.ValCorrect, rep.ValN)
		}
		fmt.Fprintf(opts.IO.Out, "\nwrote %s\n", opts.Out)
	}
	if failed > 0 {
		return &partialError{failed: failed, total: len(items)}
	}
	return nil
}

// fileStamp is a weight file's size and modification time, so cached features of a replaced file are not
// reused; empty for a published set (its name pins its checksum).
func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d@%s", fi.Size(), fi.ModTime().UTC().Format(time.RFC3339Nano))
}
