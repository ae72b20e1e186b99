package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/model"
)

type summaryOptions struct {
	IO     *IOStreams
	Arch   string
	Size   int
	Format string
}

func newCmdSummary(ios *IOStreams, runF func(*summaryOptions) error) *cobra.Command {
	opts := &summaryOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Show a network block by block: output shape, parameters and multiply-adds",
		Long: `summary lists the network of --arch block by block, like Keras' model.summary(): each top-level block
of the feature extractor under its reference name (Inception-ResNet repeats one block at a time), then
global pooling and the classifier, with the output shape, the learned parameters (weights, biases, batch
norm scale and shift) and the multiply-adds for one image. The totals are the published counts. No
weights are needed.`,
		Example: `  inception summary --arch v3
  inception summary --arch irv2 --format json | jq '.blocks[] | select(.macs > 200000000)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Size < 0 {
				return usageErrorf("--size must not be negative")
			}
			if err := checkFormat(opts.Format); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return summaryRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Arch, "arch", "v1", "network: v1 (BVLC GoogLeNet), v1-bn (torchvision GoogLeNet), v2, v3, v4, irv1, irv2 or an alias")
	f.IntVar(&opts.Size, "size", 0, "input size in pixels (default: the arch's native size)")
	f.StringVar(&opts.Format, "format", "text", "output format: text or json")
	return cmd
}

// SummaryBlock is one row of the summary as JSON.
type SummaryBlock struct {
	Name   string `json:"name,omitempty"`
	Kind   string `json:"kind"`
	Shape  [3]int `json:"shape"` // C, H, W
	Params int64  `json:"params"`
	MACs   int64  `json:"macs"`
}

// Summary is the whole summary as JSON.
type Summary struct {
	Arch   string         `json:"arch"`
	Size   int            `json:"size"`
	Blocks []SummaryBlock `json:"blocks"`
	Params int64          `json:"params"`
	MACs   int64          `json:"macs"`
}

func summaryRun(opts *summaryOptions) error {
	v, err := model.Lookup(opts.Arch)
	if err != nil {
		return usageErrorf("--arch: %w", err)
	}
	size := opts.Size
	if size == 0 {
		size = v.Size
	}
	rows, err := model.New(v).Summary(size, size)
	if err != nil {
		return usageErrorf("--size %d: %w", size, err)
	}
	s := Summary{Arch: v.Name, Size: size}
	for _, r := range rows {
		s.Blocks = append(s.Blocks, SummaryBlock{Name: r.Name, Kind: r.Kind, Shape: [3]int{r.Out.C, r.Out.H, r.Out.W}, Params: r.Params, MACs: r.MACs})
		s.Params += r.Params
		s.MACs += r.MACs
	}
	if opts.Format == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	w := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(opts.IO.Out, "%s (%s), %d×%d input\n\n", v.Name, v.Description, size, size)
	fmt.Fprintf(w, "block\tkind\toutput\t%14s\t%17s\n", "params", "MACs")
	for _, b := range s.Blocks {
		name := b.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%d×%d×%d\t%14s\t%17s\n", name, b.Kind, b.Shape[0], b.Shape[1], b.Shape[2], thousands(b.Params), thousands(b.MACs))
	}
	fmt.Fprintf(w, "total\t\t\t%14s\t%17s\n", thousands(s.Params), thousands(s.MACs))
	if err := w.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(opts.IO.Out, "\n%.2f M parameters, %.2f GMACs per image\n", float64(s.Params)/1e6, float64(s.MACs)/1e9)
	return err
}

// thousands formats n with comma separators: 23,834,568.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}
