package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/models"
)

type pullOptions struct {
	IO    *IOStreams
	Ctx   context.Context
	Names []string
}

func newCmdPull(ios *IOStreams, runF func(*pullOptions) error) *cobra.Command {
	opts := &pullOptions{IO: ios}
	return &cobra.Command{
		Use:   "pull NAME|ARCH...",
		Short: "Download published weight sets into the cache, verified",
		Long: `pull downloads weight sets (a name from 'inception models', or an --arch name for its default set)
into the cache ($INCEPTION_CACHE, else the user cache directory + /inception), verifying each file's
checksum where the publisher gives one. $INCEPTION_MIRROR replaces the publishers' hosts; files found in
$INCEPTION_WEIGHTS_PATH are used as they are. It prints each file's local path.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names, opts.Ctx = args, cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return pullRun(opts)
		},
	}
}

func pullRun(opts *pullOptions) error {
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var sets []*models.Manifest
	for _, name := range opts.Names {
		m, err := models.Lookup(name)
		if err != nil {
			return usageErrorf("pull %s: %w", name, err)
		}
		sets = append(sets, m)
	}
	c, err := newCache(opts.IO)
	if err != nil {
		return err
	}
	for _, m := range sets {
		paths, err := c.Fetch(ctx, m)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			return &modelDataError{err}
		}
		for _, p := range paths {
			fmt.Fprintf(opts.IO.Out, "%s\t%s\n", m.Name, p)
		}
	}
	return nil
}

type modelsOptions struct {
	IO     *IOStreams
	Format string
}

func newCmdModels(ios *IOStreams, runF func(*modelsOptions) error) *cobra.Command {
	opts := &modelsOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the published weight sets: arch, accuracy, size, and whether they are cached",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(opts.Format); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return modelsRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text or json")
	return cmd
}

// WeightSet is one row of 'inception models'.
type WeightSet struct {
	Name      string  `json:"name"`
	Arch      string  `json:"arch"`
	Graph     string  `json:"graph"`
	Default   bool    `json:"default"`
	Format    string  `json:"format"`
	Top1      float64 `json:"top1,omitempty"`
	Top5      float64 `json:"top5,omitempty"`
	SizeBytes int64   `json:"size_bytes,omitempty"`
	Cached    bool    `json:"cached"`
	Path      string  `json:"path,omitempty"`
	Note      string  `json:"note,omitempty"`
}

func modelsRun(opts *modelsOptions) error {
	all, err := models.All()
	if err != nil {
		return err
	}
	c, err := newCache(opts.IO)
	if err != nil {
		return err
	}
	var rows []WeightSet
	for i := range all {
		m := &all[i]
		r := WeightSet{Name: m.Name, Arch: m.Arch, Graph: m.Graph, Default: m.Default, Format: m.Format, Top1: m.Top1, Top5: m.Top5, Cached: true}
		for _, f := range m.Files {
			r.SizeBytes += max(f.Size, f.ApproxSize)
			p, ok := c.Cached(m, f)
			r.Cached = r.Cached && ok
			if ok && r.Path == "" {
				r.Path = p
			}
		}
		if !r.Cached {
			r.Path = ""
		}
		rows = append(rows, r)
	}
	for _, v := range model.Variants() {
		if reason, none := models.NoPublishedWeights(v.Arch); none && v.Name == v.Arch {
			rows = append(rows, WeightSet{Name: "-", Arch: v.Arch, Graph: v.Name, Note: reason})
		}
	}
	if opts.Format == "json" {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(opts.IO.Out, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tARCH\tTOP-1\tSIZE\tCACHED")
	for _, r := range rows {
		name, top1, size, cached := r.Name, "-", "-", "no"
		if r.Default {
			name += " (default)"
		}
		if r.Top1 > 0 {
			top1 = fmt.Sprintf("%.1f%%", r.Top1)
		}
		if r.SizeBytes > 0 {
			size = fmt.Sprintf("%.0f MB", float64(r.SizeBytes)/1e6)
		}
		if r.Cached {
			cached = "yes"
		}
		if r.Note != "" {
			cached = r.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, r.Arch, top1, size, cached)
	}
	return tw.Flush()
}
