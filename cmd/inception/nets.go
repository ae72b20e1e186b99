package main

import (
	"context"
	"fmt"
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

// ensemble is the networks of a run with their preprocessing, and how their outputs become one
// probability vector: softmax per view, averaged over an image's crops, then over the members by weight
// (the Inception-v4 paper's ensembles average probabilities the same way).
type ensemble struct {
	nets    []pipeline.Net
	weight  []float64 // normalised to sum 1
	classes []models.Class
	arch    string // for records: "v3", or "v4+irv2×3"
	weights string // for records: the sets or files, '+'-joined
}

// loadEnsemble loads every member of --arch/--weights with its preprocessing (the shared preset flags
// apply to all) and checks that they agree on the classes.
func loadEnsemble(ctx context.Context, ios *IOStreams, arch, weights string, pf presetFlags, threads int) (*ensemble, error) {
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
		if m.Classes() != len(classes) {
			return nil, &modelDataError{fmt.Errorf("%s has %d classes; only the 1000 ImageNet classes are known", l.Weights, m.Classes())}
		}
		e.nets = append(e.nets, pipeline.Net{Model: m, Preset: preset})
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

// probs combines one image's outputs (one per network) into class probabilities in dst.
func (e *ensemble) probs(out []pipeline.Output, dst []float32) {
	clear(dst)
	k := len(dst)
	p := make([]float32, k)
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
