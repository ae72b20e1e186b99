package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/npy"
	"github.com/inception-cli/inception/internal/preprocess"
	"github.com/inception-cli/inception/models"
)

type preprocessOptions struct {
	IO       *IOStreams
	Image    string
	Arch     string
	Weights  string
	Preset   presetFlags
	Out      string
	NoOrient bool
}

func newCmdPreprocess(ios *IOStreams, runF func(*preprocessOptions) error) *cobra.Command {
	opts := &preprocessOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "preprocess IMAGE --out FILE.npy",
		Short: "Write the exact input tensor the network would see, as a NumPy .npy file",
		Long: `preprocess decodes IMAGE and applies the preprocessing classify would use with the same --arch,
--weights and --preprocess flags, and writes the NCHW float32 tensor [1,3,size,size] as a .npy file, so
it can be held against a Python pipeline (numpy.load). No weights are loaded.`,
		Example: `  inception preprocess cat.jpg --weights inception_v4.tf_in1k --out x.npy
  inception preprocess cat.jpg --preprocess torchvision --size 299 --out x.npy`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Image = args[0]
			if opts.Out == "" {
				return usageErrorf("--out FILE.npy is required")
			}
			if err := opts.Preset.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return preprocessRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Arch, "arch", "v1", "network whose default weight set's recipe to use")
	f.StringVar(&opts.Weights, "weights", "", "a published weight set whose recipe to use (a file path uses the arch's usual preset)")
	opts.Preset.register(cmd)
	f.StringVarP(&opts.Out, "out", "o", "", "the .npy file to write")
	f.BoolVar(&opts.NoOrient, "no-orient", false, "ignore EXIF orientation")
	return cmd
}

func preprocessRun(opts *preprocessOptions) error {
	v, err := model.Lookup(opts.Arch)
	if err != nil {
		return usageErrorf("--arch: %w", err)
	}
	var man *models.Manifest
	switch {
	case opts.Preset.Name != "":
	case opts.Weights != "" && isFile(opts.Weights):
	case opts.Weights != "":
		if man, err = models.Lookup(opts.Weights); err != nil {
			return usageErrorf("--weights %s: %w", opts.Weights, err)
		}
	default:
		man, _ = models.Default(v.Arch)
	}
	if man != nil {
		if v, err = model.Lookup(man.Graph); err != nil {
			return err
		}
	}
	p, err := choosePreset(v, man, opts.Preset)
	if err != nil {
		return err
	}
	img, err := preprocess.Decode(opts.Image, preprocess.DecodeOptions{NoOrient: opts.NoOrient})
	if err != nil {
		return err
	}
	x := make([]float32, 3*p.Size*p.Size)
	p.Into(img, x)
	return writeFileAtomic(opts.Out, func(w io.Writer) error { return npy.Write(w, []int{1, 3, p.Size, p.Size}, x) })
}

// writeFileAtomic writes path through write into a temporary file in the same directory, renamed into
// place once complete, so a failed or interrupted write never leaves a partial file behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".inception-*"+filepath.Ext(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
