package models

import (
	"embed"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// manifests holds one JSON manifest per published weight set (see Manifest).
//
//go:embed manifests/*.json
var manifests embed.FS

// noWeights says, per --arch family, why no weight set is registered.
var noWeights = map[string]string{
	"irv1": "Inception-ResNet-v1 has no published ImageNet weights: the paper's authors, TF-slim, Keras, " +
		"torchvision and timm release none (the Inception-ResNet-v1 checkpoints that circulate are face " +
		"recognition models, not ImageNet classifiers); pass --weights FILE with your own",
}

var (
	registryOnce sync.Once
	registry     []Manifest
	registryErr  error
)

// All returns every embedded manifest, in Archs order, each family's default first, then by name. The
// registry is parsed and cross-checked once; an error means the binary was built with a bad manifest.
func All() ([]Manifest, error) {
	registryOnce.Do(func() { registry, registryErr = loadRegistry() })
	if registryErr != nil {
		return nil, registryErr
	}
	out := make([]Manifest, len(registry))
	for i := range registry {
		out[i] = registry[i].clone()
	}
	return out, nil
}

// Lookup finds a weight set by its name (case-insensitive), by an --arch name (that family's default set),
// or by a graph name such as "v1-bn" (the family default if it has that graph, else the first set that
// does). The result is a copy the caller may modify.
func Lookup(name string) (*Manifest, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	want := strings.ToLower(strings.TrimSpace(name))
	for i := range all {
		if all[i].Name == want {
			return &all[i], nil
		}
	}
	if m, ok := Default(want); ok {
		return m, nil
	}
	if reason, ok := NoPublishedWeights(want); ok {
		return nil, fmt.Errorf("weights %q: %s", name, reason)
	}
	for i := range all { // all lists defaults first within each family
		if all[i].Graph == want {
			return &all[i], nil
		}
	}
	names := make([]string, 0, len(all))
	for _, m := range all {
		names = append(names, m.Name)
	}
	return nil, fmt.Errorf("unknown weight set %q (known: %s; or an --arch name: %s)",
		name, strings.Join(names, ", "), strings.Join(Archs, ", "))
}

// Default returns the default weight set of an --arch family, or false if the family has none.
func Default(arch string) (*Manifest, bool) {
	all, err := All()
	if err != nil {
		return nil, false
	}
	for i := range all {
		if all[i].Arch == arch && all[i].Default {
			return &all[i], true
		}
	}
	return nil, false
}

// NoPublishedWeights reports whether an --arch family deliberately has no weight set, and why, in one
// sentence fit for `inception models`.
func NoPublishedWeights(arch string) (reason string, ok bool) {
	reason, ok = noWeights[arch]
	return reason, ok
}

func loadRegistry() ([]Manifest, error) {
	entries, err := manifests.ReadDir("manifests")
	if err != nil {
		return nil, err
	}
	var out []Manifest
	for _, e := range entries {
		b, err := manifests.ReadFile("manifests/" + e.Name())
		if err != nil {
			return nil, err
		}
		m, err := ParseManifest(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if want := m.Name + ".json"; e.Name() != want {
			return nil, fmt.Errorf("%s: manifest %s belongs in %s", e.Name(), m.Name, want)
		}
		out = append(out, *m)
	}
	if err := checkRegistry(out); err != nil {
		return nil, err
	}
	order := func(arch string) int { return slices.Index(Archs, arch) }
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Arch != b.Arch {
			return order(a.Arch) < order(b.Arch)
		}
		if a.Default != b.Default {
			return a.Default
		}
		return a.Name < b.Name
	})
	return out, nil
}

// checkRegistry enforces what no single manifest can: unique names, and per family exactly one default
// when it has sets, or an explicit no-weights reason when it has none.
func checkRegistry(ms []Manifest) error {
	var bad []string
	names := map[string]bool{}
	defaults := map[string][]string{}
	sets := map[string]int{}
	for _, m := range ms {
		if names[m.Name] {
			bad = append(bad, fmt.Sprintf("duplicate name %s", m.Name))
		}
		names[m.Name] = true
		sets[m.Arch]++
		if m.Default {
			defaults[m.Arch] = append(defaults[m.Arch], m.Name)
		}
	}
	for _, arch := range Archs {
		_, none := noWeights[arch]
		switch {
		case sets[arch] > 0 && none:
			bad = append(bad, fmt.Sprintf("arch %s has weight sets and a no-weights note", arch))
		case sets[arch] == 0 && !none:
			bad = append(bad, fmt.Sprintf("arch %s has neither a weight set nor a no-weights note", arch))
		case sets[arch] > 0 && len(defaults[arch]) != 1:
			bad = append(bad, fmt.Sprintf("arch %s: want exactly one default, got %v", arch, defaults[arch]))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("models registry: %s", strings.Join(bad, "; "))
	}
	return nil
}

// clone returns a deep copy, so callers cannot alter the registry through slices.
func (m Manifest) clone() Manifest {
	m.Files = slices.Clone(m.Files)
	for i := range m.Files {
		m.Files[i].URLs = slices.Clone(m.Files[i].URLs)
	}
	m.KeyMap = slices.Clone(m.KeyMap)
	return m
}
