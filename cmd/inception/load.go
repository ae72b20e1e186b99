package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/inception-cli/inception/internal/cache"
	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/weights"
	"github.com/inception-cli/inception/models"
)

// loaded is a network bound to its weights, with where they came from.
type loaded struct {
	Model    *model.Model
	Manifest *models.Manifest // the published set, or nil for a file given by path
	Weights  string           // what records call the weights: the set name, or the file path
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
func loadModel(ctx context.Context, ios *IOStreams, arch, weightsArg string, threads int) (*loaded, error) {
	v, err := model.Lookup(arch)
	if err != nil {
		return nil, usageErrorf("--arch: %w", err)
	}
	if weightsArg != "" && isFile(weightsArg) {
		m, err := bindFile(v, weightsArg, nil, threads)
		if err != nil {
			return nil, err
		}
		return &loaded{Model: m, Weights: weightsArg}, nil
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
	m, err := bindFile(gv, paths[0], man.KeyMap, threads)
	if err != nil {
		return nil, err
	}
	return &loaded{Model: m, Manifest: man, Weights: man.Name}, nil
}

// bindFile reads a weight file and binds it to variant v (or, for a file given by path, to the graph of
// v's family its keys fit), renaming key prefixes per keyMap.
func bindFile(v *model.Variant, path string, keyMap []models.KeyRename, threads int) (*model.Model, error) {
	f, err := weights.Open(path)
	if err != nil {
		return nil, &modelDataError{err}
	}
	defer f.Close() // binding copies (and folds) the weights, so a mapped file can go
	var src model.Source = f
	if len(keyMap) > 0 {
		src = renamed(f, keyMap)
	}
	v = model.ForWeights(v, src.Names())
	m := model.New(v)
	m.Threads = threads
	if err := m.Load(src); err != nil {
		return nil, &modelDataError{fmt.Errorf("%s: %w", path, err)}
	}
	return m, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// renamed presents src with checkpoint key prefixes replaced per keyMap (first match wins).
func renamed(src model.Source, keyMap []models.KeyRename) model.MapSource {
	out := model.MapSource{}
	for _, name := range src.Names() {
		to := name
		for _, r := range keyMap {
			if strings.HasPrefix(name, r.From) {
				to = r.To + strings.TrimPrefix(name, r.From)
				break
			}
		}
		shape, data, _ := src.Tensor(name)
		out[to] = model.Tensor{Shape: shape, Data: data}
	}
	return out
}
