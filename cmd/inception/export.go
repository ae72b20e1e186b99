package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/onnx"
)

type exportOptions struct {
	IO      *IOStreams
	Ctx     context.Context
	Arch    string
	Weights string
	Format  string
	Out     string
	Size    int
	Batch   int
}

func newCmdExport(ios *IOStreams, runF func(*exportOptions) error) *cobra.Command {
	opts := &exportOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "export --arch A [--weights NAME|FILE] --out FILE.onnx",
		Short: "Write the network inception runs, with its weights, as an ONNX model",
		Long: `export writes the exact network classify runs (batch norm folded into the convolutions) as an ONNX
model: opset 13, standard operators only, input "input" [N,3,size,size], outputs "logits" and "prob".
Other runtimes can then serve the same weights, and their outputs can be checked against inception's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			switch {
			case opts.Format != "onnx":
				return usageErrorf("--format: only onnx is supported, got %q", opts.Format)
			case opts.Out == "":
				return usageErrorf("--out FILE.onnx is required")
			case opts.Size < 0 || opts.Batch < 0:
				return usageErrorf("--size and --batch must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return exportRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Arch, "arch", "v1", "network to export")
	f.StringVar(&opts.Weights, "weights", "", "weight file or published set (default: the arch's default set)")
	f.StringVar(&opts.Format, "format", "onnx", "model format: onnx")
	f.StringVarP(&opts.Out, "out", "o", "", "file to write")
	f.IntVar(&opts.Size, "size", 0, "input size (default: the arch's native size)")
	f.IntVar(&opts.Batch, "batch", 0, "fixed batch size (default: a dynamic batch dimension)")
	return cmd
}

func exportRun(opts *exportOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	l, err := loadModel(ctx, opts.IO, opts.Arch, opts.Weights, loadOptions{Keep: true})
	if err != nil {
		return err
	}
	size := opts.Size
	if size == 0 {
		size = l.Model.Variant.Size
	}
	return writeFileAtomic(opts.Out, func(w io.Writer) error {
		if err := onnx.Export(w, l.Model, size, opts.Batch); err != nil {
			return fmt.Errorf("export %s: %w", l.Model.Variant.Name, err)
		}
		return nil
	})
}
