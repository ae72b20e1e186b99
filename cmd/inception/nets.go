package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/inception-cli/inception/internal/head"
	"github.com/spf13/cobra"
	"os"
	"strconv"
	"strings"

	"github.com/inception-cli/inception/internal/kernels"
	"github.com/inception-cli/inception/internal/pipeline"
	"github.com/inception-cli/inception/models"
)

// member is one network of a run: an --arch entry ("v4", or "irv2:3" for a weighted ensemble member)
// with its --weights entry.
type member struct {
	arch    string
	weight  float64
	weights string
}

// parseMembers splits --arch and --weights into ensemble members. --arch is a comma-separated list of
// archs, each optionally followed by ":weight"; --weights is empty (every member's default set), one
// entry (a single network), or one entry per member, in the same order.
func parseMembers(arch, weights string) ([]member, error) {
	var ms []member
	for _, a := range strings.Split(arch, ",") {
		a = strings.TrimSpace(a)
		m := member{arch: a, weight: 1}
		if name, w, ok := strings.Cut(a, ":"); ok {
			f, err := strconv.ParseFloat(w, 64)
			if err != nil || !(f > 0) || f > 1e6 {
				return nil, usageErrorf("--arch %s: the weight after ':' must be a positive number", a)
			}
			m.arch, m.weight = name, f
		}
		if m.arch == "" {
			return nil, usageErrorf("--arch %q: empty network name", arch)
		}
		ms = append(ms, m)
	}
	if weights != "" {
		ws := strings.Split(weights, ",")
		if len(ws) == 1 && len(ms) > 1 {
			return nil, usageErrorf("--weights names one set for %d networks: give one entry per --arch entry, comma-separated", len(ms))
		}
		if len(ws) != len(ms) {
			return nil, usageErrorf("--weights has %d entries for %d --arch entries", len(ws), len(ms))
		}
		for i := range ms {
			ms[i].weights = strings.TrimSpace(ws[i])
		}
	}
	return ms, nil
}

// registerCrops adds --crops, the papers' multi-crop evaluation.
func registerCrops(cmd *cobra.Command, crops *int) {
	cmd.Flags().IntVar(crops, "crops", 1, "views per image, probabilities averaged: 1 (centre crop), 10 (corners, centre and their mirrors),\n144 (GoogLeNet's 4 scales × 3 squares × 6 crops × 2 mirrors)")
}

func checkCrops(crops int) error {
	if crops != 1 && crops != 10 && crops != 144 {
		return usageErrorf("--crops must be 1, 10 or 144, got %d", crops)
	}
	return nil
}

// ensemble is the networks of a run with their preprocessing, and how their outputs become one
// probability vector: softmax per view, averaged over an image's crops, then over the members by weight
// (the Inception-v4 paper's ensembles average probabilities the same way).
type ensemble struct {
	head    *head.Head // a trained head replacing the classifier (train-head), or nil
	nets    []pipeline.Net
	weight  []float64 // normalised to sum 1
	classes []models.Class
	arch    string // for records: "v3", or "v4+irv2×3"
	weights string // for records: the sets or files, '+'-joined
}

// loadEnsemble loads every member of --arch/--weights with its preprocessing (the shared preset flags
// apply to all) and checks that they agree on the classes.
func loadEnsemble(ctx context.Context, ios *IOStreams, arch, weights string, pf presetFlags, crops, threads int) (*ensemble, error) {
	ms, err := parseMembers(arch, weights)
	if err != nil {
		return nil, err
	}
	classes, err := models.ImageNetClasses()
	if err != nil {
		return nil, err
	}
	e := &ensemble{classes: classes}
	var archs, sets []string
	var total float64
	for _, mb := range ms {
		l, err := loadModel(ctx, ios, mb.arch, mb.weights, loadOptions{Threads: threads, Preset: pf})
		if err != nil {
			return nil, err
		}
		m, preset := l.Model, l.Preset
		if err := preset.CheckCrops(max(crops, 1)); err != nil {
			return nil, usageErrorf("--crops %d with %s: %w", crops, m.Variant.Name, err)
		}
		if m.Classes() != len(classes) {
			return nil, &modelDataError{fmt.Errorf("%s has %d classes; only the 1000 ImageNet classes are known", l.Weights, m.Classes())}
		}
		e.nets = append(e.nets, pipeline.Net{Model: m, Preset: preset, Crops: crops})
		e.weight = append(e.weight, mb.weight)
		total += mb.weight
		name := m.Variant.Name
		if mb.weight != 1 {
			name += "×" + strconv.FormatFloat(mb.weight, 'g', -1, 64)
		}
		archs, sets = append(archs, name), append(sets, l.Weights)
	}
	for i := range e.weight {
		e.weight[i] /= total
	}
	e.arch, e.weights = strings.Join(archs, "+"), strings.Join(sets, "+")
	return e, nil
}

// useHead replaces the network's classifier by a trained head: the classes become the head's labels and
// the pooled features are what the run needs.
func (e *ensemble) useHead(h *head.Head, path string) error {
	if len(e.nets) != 1 {
		return usageErrorf("--head %s: a head goes on one network, not an ensemble", path)
	}
	m, size := e.nets[0].Model, e.nets[0].Preset.Size
	fs, err := m.FeatureShape(size, size)
	if err != nil {
		return err
	}
	if h.Features() != fs.C {
		return &modelDataError{fmt.Errorf("--head %s: trained on %d features, but %s gives %d (trained with --arch %s --weights %s)",
			path, h.Features(), m.Variant.Name, fs.C, h.Meta[metaArch], h.Meta[metaWeights])}
	}
	if w := h.Meta[metaWeights]; w != "" && !sameWeights(w, e.weights) {
		return &modelDataError{fmt.Errorf("--head %s: trained on features of %s, not %s", path, w, e.weights)}
	}
	e.head = h
	e.classes = make([]models.Class, len(h.Labels))
	for i, l := range h.Labels {
		e.classes[i] = models.Class{Index: i, Label: l}
	}
	e.weights += "+" + path
	return nil
}

// config is the pipeline configuration that runs the ensemble.
func (e *ensemble) config(n netFlags) pipeline.Config {
	return pipeline.Config{Nets: e.nets, Features: e.head != nil, BatchSize: n.BatchSize, Workers: n.Workers}
}

// Head metadata that train-head records and classify --head reads.
const (
	metaArch       = "arch"
	metaWeights    = "weights"
	metaPreprocess = "preprocess_flags" // the preprocessing flags given to train-head, as JSON
)

// probs combines one image's outputs (one per network) into class probabilities in dst.
func (e *ensemble) probs(out []pipeline.Output, dst []float32) {
	clear(dst)
	k := len(dst)
	p := make([]float32, k)
	if e.head != nil {
		o := out[0]
		crops := len(o.Pooled) / e.head.Features()
		ps := make([]float32, crops*k)
		e.head.Probs(o.Pooled, crops, ps)
		for c := 0; c < crops; c++ {
			for j, v := range ps[c*k : (c+1)*k] {
				dst[j] += v / float32(crops)
			}
		}
		return
	}
	for i, o := range out {
		crops := len(o.Logits) / k
		w := float32(e.weight[i] / float64(crops))
		for c := 0; c < crops; c++ {
			kernels.Softmax(o.Logits[c*k:(c+1)*k], p)
			for j, v := range p {
				dst[j] += w * v
			}
		}
	}
}

// loadHeadFlag reads --head FILE for the commands that classify: it loads the head and, unless --arch or
// --weights are given, takes the network and weights the head was trained on from its metadata.
func loadHeadFlag(cmd *cobra.Command, path string, n *netFlags) (*head.Head, error) {
	if path == "" {
		return nil, nil
	}
	h, err := head.Load(path)
	if err != nil {
		return nil, &modelDataError{err}
	}
	if a := h.Meta[metaArch]; a != "" && !cmd.Flags().Changed("arch") {
		n.Arch = a
	}
	if w := h.Meta[metaWeights]; w != "" && !cmd.Flags().Changed("weights") {
		n.Weights = w
	}
	// The preprocessing flags the head was trained with, unless given again.
	if pf := h.Meta[metaPreprocess]; pf != "" {
		var t presetFlags
		if err := json.Unmarshal([]byte(pf), &t); err != nil {
			return nil, &modelDataError{fmt.Errorf("--head %s: %s: %w", path, metaPreprocess, err)}
		}
		fl := cmd.Flags()
		if !fl.Changed("preprocess") {
			n.Preset.Name = t.Name
		}
		if !fl.Changed("size") {
			n.Preset.Size = t.Size
		}
		if !fl.Changed("crop-pct") {
			n.Preset.CropPct = t.CropPct
		}
		if !fl.Changed("interpolation") {
			n.Preset.Interpolation = t.Interpolation
		}
	}
	return h, nil
}

// classNames returns the display name of each class: ImageNet's first synonym, or a head's label.
func classNames(classes []models.Class) []string {
	names := make([]string, len(classes))
	for i, c := range classes {
		names[i] = c.Name()
		if c.WNID == "" { // a head's own label, kept whole
			names[i] = c.Label
		}
	}
	return names
}

// sameWeights reports whether two --weights values name the same weights: the same set, or the same file.
func sameWeights(a, b string) bool {
	if a == b {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
