package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"

	"github.com/spf13/cobra"

	"github.com/inception-cli/inception/internal/eval"
	"github.com/inception-cli/inception/internal/head"
	"github.com/inception-cli/inception/internal/heatmap"
	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/pipeline"
	"github.com/inception-cli/inception/internal/preprocess"
)

type explainOptions struct {
	IO    *IOStreams
	Image string
	head  *head.Head
	netFlags
	NoOrient bool
	Out      string
	Class    string
	Head     string
	Alpha    float64
	Format   string
}

func newCmdExplain(ios *IOStreams, runF func(*explainOptions) error) *cobra.Command {
	opts := &explainOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "explain [flags] IMAGE --out heat.png",
		Short: "Show where in the photo the evidence for a class is (class-activation map)",
		Long: `explain draws the class-activation map of the top class (or --class) over the photo and saves it as a
PNG: red where the network found the most evidence for the class, blue where the least. Every Inception
variant ends in global average pooling and a linear layer, so the map is exact: the class's weights
applied to the last feature maps at each position, which average to the class's logit. The part of the
photo the network did not see (outside its centre crop) is dimmed.`,
		Example: `  inception explain cat.jpg --arch v3 --out cat-heat.png
  inception explain street.jpg --class "traffic light" --out lights.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Image = args[0]
			if err := opts.netFlags.validate(); err != nil {
				return err
			}
			if err := checkFormat(opts.Format); err != nil {
				return err
			}
			switch {
			case opts.Out == "":
				return usageErrorf("--out FILE.png is required: where the map goes")
			case opts.Alpha < 0 || opts.Alpha > 1:
				return usageErrorf("--alpha must be in [0, 1], got %g", opts.Alpha)
			}
			h, err := loadHeadFlag(cmd, opts.Head, &opts.netFlags)
			if err != nil {
				return err
			}
			opts.head = h
			if runF != nil {
				return runF(opts)
			}
			return explainRun(cmd, opts)
		},
	}
	opts.netFlags.register(cmd, false)
	f := cmd.Flags()
	f.StringVarP(&opts.Out, "out", "o", "", "write the overlay here (PNG)")
	f.StringVar(&opts.Class, "class", "", "class to explain: index, WordNet id or name (default: the top class)")
	f.StringVar(&opts.Head, "head", "", "explain a class of a head trained by 'inception train-head'")
	f.Float64Var(&opts.Alpha, "alpha", heatmap.DefaultAlpha, "opacity of the map over the photo, in [0, 1]")
	f.StringVar(&opts.Format, "format", "text", "report: text, or json with the map itself")
	f.BoolVar(&opts.NoOrient, "no-orient", false, "ignore EXIF orientation")
	return cmd
}

// Explanation is explain's JSON report.
type Explanation struct {
	File    string      `json:"file"`
	Out     string      `json:"out"`
	Arch    string      `json:"arch"`
	Weights string      `json:"weights"`
	Class   Prediction  `json:"class"`
	Map     [][]float32 `json:"map"`  // the class-activation map, rows of the last feature grid
	Peak    [2]int      `json:"peak"` // photo pixel (x, y) at the centre of the map's hottest cell
}

func explainRun(cmd *cobra.Command, opts *explainOptions) error {
	ens, err := loadEnsemble(cmd.Context(), opts.IO, opts.Arch, opts.Weights, opts.Preset, 1, opts.Threads)
	if err != nil {
		return err
	}
	if opts.head != nil {
		if err := ens.useHead(opts.head, opts.Head); err != nil {
			return err
		}
	}
	net := ens.nets[0]
	m, p := net.Model, net.Preset
	img, err := preprocess.Decode(opts.Image, preprocess.DecodeOptions{NoOrient: opts.NoOrient})
	if err != nil {
		return err
	}
	fs, err := m.FeatureShape(p.Size, p.Size)
	if err != nil {
		return err
	}
	x := make([]float32, 3*p.Size*p.Size)
	p.Into(img, x)
	o := model.Outputs{Logits: make([]float32, m.Classes()), Pooled: make([]float32, fs.C), Features: make([]float32, fs.Len())}
	if err := m.Run(x, 1, p.Size, p.Size, o); err != nil {
		return err
	}
	probs := make([]float32, len(ens.classes))
	ens.probs([]pipeline.Output{{Logits: o.Logits, Pooled: o.Pooled}}, probs)

	k := argmax(probs)
	if opts.Class != "" {
		r := eval.NewImageNetResolver(ens.classes)
		if opts.head != nil {
			r = eval.NewLabelResolver(opts.head.Labels)
		}
		if k, err = r.Resolve(opts.Class); err != nil {
			return usageErrorf("--class: %w", err)
		}
	}
	cam := make([]float32, fs.H*fs.W)
	if opts.head != nil {
		headMap(opts.head, o.Features, fs, k, cam)
	} else if err := m.ClassMap(o.Features, fs, k, cam); err != nil {
		return err
	}

	b := img.Bounds()
	rect := p.SourceRect(b.Dx(), b.Dy()).Add(b.Min)
	overlay, err := heatmap.Overlay(img, rect, cam, fs.W, fs.H, heatmap.Options{Alpha: max(opts.Alpha, 1e-9)})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(opts.Out, func(w io.Writer) error { return png.Encode(w, overlay) }); err != nil {
		return err
	}

	c := ens.classes[k]
	rep := Explanation{File: opts.Image, Out: opts.Out, Arch: m.Variant.Name, Weights: ens.weights,
		Class: Prediction{Index: k, WNID: c.WNID, Label: c.Label, Prob: probs[k]}, Peak: peakPixel(cam, fs, rect)}
	for y := 0; y < fs.H; y++ {
		rep.Map = append(rep.Map, cam[y*fs.W:(y+1)*fs.W])
	}
	if opts.Format == "json" {
		return json.NewEncoder(opts.IO.Out).Encode(rep)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "%s: %s (class %d, p=%.3f), strongest at x=%d y=%d → %s\n",
		opts.Image, c.Label, k, probs[k], rep.Peak[0], rep.Peak[1], opts.Out)
	return err
}

// headMap is the class-activation map of a trained head's class k over feature maps f.
func headMap(h *head.Head, f []float32, fs model.Shape, k int, dst []float32) {
	hw := fs.H * fs.W
	row := h.W[k*fs.C : (k+1)*fs.C]
	for p := range dst {
		s := float64(h.B[k])
		for c, w := range row {
			s += float64(w) * float64(f[c*hw+p])
		}
		dst[p] = float32(s)
	}
}

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// peakPixel maps the centre of the map's hottest cell to photo pixels within rect.
func peakPixel(cam []float32, fs model.Shape, rect image.Rectangle) [2]int {
	i := argmax(cam)
	cx, cy := (float64(i%fs.W)+0.5)/float64(fs.W), (float64(i/fs.W)+0.5)/float64(fs.H)
	return [2]int{rect.Min.X + int(cx*float64(rect.Dx())), rect.Min.Y + int(cy*float64(rect.Dy()))}
}
