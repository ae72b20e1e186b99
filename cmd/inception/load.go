package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/inception-cli/inception/internal/preprocess"
	"os"
	"strings"

	"github.com/inception-cli/inception/internal/cache"
	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/weights"
	"github.com/inception-cli/inception/models"
)

// loaded is a network bound to its weights, with where they came from and the preprocessing they expect.
type loaded struct {
	Model   *model.Model
	Weights string // what records call the weights: the set name, or the file path
	Preset  preprocess.Preset
}

// loadOptions say how to prepare a loaded network.
type loadOptions struct {
	Threads int
	Preset  presetFlags // preprocessing overrides; the weights are packed for the resulting input size
	Keep    bool        // keep the unpacked weights (export reads them)
}

// newCache builds the download cache from the environment, drawing its progress bar on ErrOut when that
// is a terminal.
func newCache(ios *IOStreams) (*cache.Cache, error) {
	c, err := cache.FromEnv()
	if err != nil {
		return nil, &modelDataError{err}
	}
	c.Progress, c.Terminal = ios.ErrOut, ios.ErrTTY
	return c, nil
}

// loadModel resolves --arch and --weights and binds the weights:
//   - --weights naming an existing file loads that file (.caffemodel, .safetensors or .pth), choosing
//     between the graphs of the arch family by the file's keys (v1: BVLC Caffe or torchvision BN);
//   - --weights naming a published set (see `inception models`) loads that set;
//   - no --weights loads the arch's default set.
//
// A published set is taken from $INCEPTION_WEIGHTS_PATH or the cache, or downloaded into the cache and
// verified. Failures are model-data errors (exit 3); an unknown arch is a usage error.
func loadModel(ctx context.Context, ios *IOStreams, arch, weightsArg string, o loadOptions) (*loaded, error) {
	v, err := model.Lookup(arch)
	if err != nil {
		return nil, usageErrorf("--arch: %w", err)
	}
	if weightsArg != "" && isFile(weightsArg) {
		return bindFile(v, weightsArg, nil, o)
	}
	var man *models.Manifest
	if weightsArg == "" {
		if reason, none := models.NoPublishedWeights(v.Arch); none {
			return nil, &modelDataError{fmt.Errorf("no weights for %s: %s (in the %s keys)", v.Arch, reason, v.Reference)}
		}
		d, ok := models.Default(v.Arch)
		if !ok {
			return nil, &modelDataError{fmt.Errorf("no default weights for %s: pass --weights FILE or a set from 'inception models'", v.Arch)}
		}
		man = d
	} else {
		m, err := models.Lookup(weightsArg)
		if err != nil {
			return nil, &modelDataError{fmt.Errorf("--weights %s: no such file, and %v", weightsArg, err)}
		}
		man = m
	}
	if man.Arch != v.Arch {
		return nil, usageErrorf("--weights %s is a set for --arch %s, not %s", man.Name, man.Arch, v.Arch)
	}
	c, err := newCache(ios)
	if err != nil {
		return nil, err
	}
	paths, err := c.Fetch(ctx, man)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, &modelDataError{err}
	}
	gv, err := model.Lookup(man.Graph)
	if err != nil {
		return nil, &modelDataError{fmt.Errorf("weight set %s: %w", man.Name, err)}
	}
	return bindFile(gv, paths[0], man, o)
}

// bindFile reads a weight file and binds it to variant v (or, for a file given by path, to the graph of
// v's family its keys fit), renaming key prefixes per the manifest's key map, with the weights packed for
// the input size of the chosen preprocessing.
func bindFile(v *model.Variant, path string, man *models.Manifest, o loadOptions) (*loaded, error) {
	f, err := weights.Open(path)
	if err != nil {
		return nil, &modelDataError{err}
	}
	defer f.Close() // binding copies (and folds) the weights, so a mapped file can go
	var src model.Source = f
	if man != nil && len(man.KeyMap) > 0 {
		src = renamed(f, man.KeyMap)
	}
	v = model.ForWeights(v, src.Names())
	preset, err := choosePreset(v, man, o.Preset)
	if err != nil {
		return nil, err
	}
	m := model.New(v)
	if _, err := m.FeatureShape(preset.Size, preset.Size); err != nil {
		return nil, usageErrorf("--size %d is too small for %s: %w", preset.Size, v.Name, err)
	}
	m.Threads, m.PackFor, m.KeepWeights = o.Threads, []int{preset.Size}, o.Keep
	if err := m.Load(src); err != nil {
		return nil, &modelDataError{fmt.Errorf("%s: %w", path, err)}
	}
	l := &loaded{Model: m, Weights: path, Preset: preset}
	if man != nil {
		l.Weights = man.Name
	}
	return l, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// renamedSource presents a weight file with checkpoint key prefixes replaced per a manifest's key map
// (first match wins), passing Release through so binding can still drop each tensor's pages once read.
type renamedSource struct {
	f     *weights.File
	names []string
	from  map[string]string // new name -> name in the file
}

func renamed(f *weights.File, keyMap []models.KeyRename) *renamedSource {
	r := &renamedSource{f: f, from: map[string]string{}}
	for _, name := range f.Names() {
		to := name
		for _, k := range keyMap {
			if strings.HasPrefix(name, k.From) {
				to = k.To + strings.TrimPrefix(name, k.From)
				break
			}
		}
		r.names = append(r.names, to)
		r.from[to] = name
	}
	return r
}

func (r *renamedSource) Names() []string { return r.names }

func (r *renamedSource) Tensor(name string) ([]int, []float32, bool) {
	from, ok := r.from[name]
	if !ok {
		return nil, nil, false
	}
	return r.f.Tensor(from)
}

func (r *renamedSource) Release(name string) {
	if from, ok := r.from[name]; ok {
		r.f.Release(from)
	}
}
