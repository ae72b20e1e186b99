package main

import (
	"fmt"

	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/weights"
)

// loadModel resolves arch, reads the weight file at path and binds it, choosing between the graphs of the
// arch family by the file's keys (v1: BVLC Caffe graph or torchvision's batch-norm graph). Failures are
// model-data errors (exit 3).
func loadModel(arch, path string, threads int) (*model.Model, error) {
	v, err := model.Lookup(arch)
	if err != nil {
		return nil, usageErrorf("--arch: %w", err)
	}
	if path == "" {
		return nil, &modelDataError{fmt.Errorf("no weights for %s: pass --weights FILE (a .caffemodel, .safetensors or .pth with the %s keys)", v.Name, v.Reference)}
	}
	f, err := weights.Open(path)
	if err != nil {
		return nil, &modelDataError{err}
	}
	defer f.Close() // binding copies (and folds) the weights, so a mapped file can go
	v = model.ForWeights(v, f.Names())
	m := model.New(v)
	m.Threads = threads
	if err := m.Load(f); err != nil {
		return nil, &modelDataError{fmt.Errorf("%s: %w", path, err)}
	}
	return m, nil
}
