package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/npy"
	"github.com/inception-cli/inception/internal/pipeline"
)

type embedOptions struct {
	IO     *IOStreams
	Inputs []string
	netFlags
	inputFlags
	Output string
	L2     bool
}

func newCmdEmbed(ios *IOStreams, runF func(*embedOptions) error) *cobra.Command {
	opts := &embedOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "embed [flags] IMAGE|DIR|- ...",
		Short: "Print each image's pooled feature vector, for search and clustering",
		Long: `embed runs the network up to its global average pooling and prints that feature vector (the input of
the classifier: 1024 values for GoogLeNet, 2048 for v3, 1536 for v4 and IRv2) for each image.

Standard output, or an --output file not ending in .npy, gets JSON Lines in input order:
  {"file":"a.jpg","arch":"v3","weights":"inception_v3.tv_in1k","dim":2048,"embedding":[...]}
and a failed image gets {"file":...,"error":"..."}. An --output ending in .npy gets one float32 array
of shape [images, dim] holding the images that succeeded, in input order, with their paths one per line
in the file beside it with the extension .txt (emb.npy, emb.txt), both written only when the run ends.`,
		Example: `  inception embed photos/ --arch v3 > embeddings.jsonl
  inception embed photos/ --arch v3 --l2 --output embeddings.npy   # also writes embeddings.txt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = args
			if err := opts.netFlags.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return embedRun(cmd, opts)
		},
	}
	opts.netFlags.register(cmd, false)
	opts.inputFlags.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "write to this file instead of standard output: .npy for one array, else JSON Lines")
	f.BoolVar(&opts.L2, "l2", false, "scale each vector to unit length (cosine similarity becomes a dot product)")
	return cmd
}

// Embedding is one JSON Lines record of embed.
type Embedding struct {
	File      string    `json:"file"`
	Arch      string    `json:"arch,omitempty"`
	Weights   string    `json:"weights,omitempty"`
	Dim       int       `json:"dim,omitempty"`
	Embedding []float32 `json:"embedding,omitempty"`
	Error     string    `json:"error,omitempty"`
}

func embedRun(cmd *cobra.Command, opts *embedOptions) error {
	ctx := cmd.Context()
	items, err := opts.expand(opts.IO, opts.Inputs)
	if err != nil {
		return err
	}
	ens, err := loadEnsemble(ctx, opts.IO, opts.Arch, opts.Weights, opts.Preset, 1, opts.Threads)
	if err != nil {
		return err
	}
	net := ens.nets[0]
	asNPY := strings.EqualFold(filepath.Ext(opts.Output), ".npy")
	var (
		out      io.Writer = opts.IO.Out
		closeOut           = func() error { return nil }
		bw       *bufio.Writer
	)
	if opts.Output != "" && !asNPY {
		f, err := os.Create(opts.Output)
		if err != nil {
			return fmt.Errorf("--output: %w", err)
		}
		bw = bufio.NewWriter(f)
		out, closeOut = bw, func() error {
			if err := bw.Flush(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}
	}
	enc := json.NewEncoder(out)
	var (
		rows  []float32
		paths []string
		dim   int
	)
	failed, runErr := runBatch(ctx, opts.IO, opts.inputFlags, items, pipeline.Config{Nets: ens.nets, Features: true, BatchSize: opts.BatchSize, Workers: opts.Workers},
		func(r pipeline.Result) error {
			rec := Embedding{File: r.Path}
			if r.Err != nil {
				rec.Error = errorText(r.Path, r.Err)
			} else {
				v := r.Out[0].Pooled
				if opts.L2 {
					normalizeL2(v)
				}
				dim = len(v)
				if asNPY {
					rows, paths = append(rows, v...), append(paths, r.Path)
					return nil
				}
				rec.Arch, rec.Weights, rec.Dim, rec.Embedding = net.Model.Variant.Name, ens.weights, len(v), v
			}
			if asNPY {
				return nil
			}
			return enc.Encode(rec)
		})
	closeErr := closeOut()
	if runErr != nil {
		return runErr
	}
	if closeErr != nil {
		return fmt.Errorf("write %s: %w", opts.Output, closeErr)
	}
	if asNPY {
		if err := writeFileAtomic(opts.Output, func(w io.Writer) error { return npy.Write(w, []int{len(paths), dim}, rows) }); err != nil {
			return err
		}
		list := strings.TrimSuffix(opts.Output, filepath.Ext(opts.Output)) + ".txt"
		if err := writeFileAtomic(list, func(w io.Writer) error {
			for _, p := range paths {
				if _, err := fmt.Fprintln(w, p); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &partialError{failed: failed, total: len(items)}
	}
	return nil
}

// normalizeL2 scales v to unit Euclidean length (a zero vector stays zero).
func normalizeL2(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	k := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= k
	}
}
