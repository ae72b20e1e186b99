package model

import (
	"fmt"
	"sort"
	"strings"
)

// Variant is one network graph the tool can run, with the facts the loader and the command line need.
type Variant struct {
	Name        string   // canonical name, e.g. "v3"
	Arch        string   // the --arch family: v1, v2, v3, v4, irv1, irv2
	Description string   // one line for listings
	Reference   string   // whose keys and semantics it follows
	Aliases     []string // other names users type
	Size        int      // native input size (square)
	Classes     int
	// Ignore lists key prefixes a checkpoint may carry that inference does not use (auxiliary classifiers).
	Ignore []string
	net    func() *Net
}

var variants = []*Variant{v1BVLC, v1BN, v2, v3, v4, irv1, irv2}

// Variants lists every network graph, in --arch order.
func Variants() []*Variant { return variants }

// Lookup resolves an --arch name or alias, case-insensitively, ignoring '-', '_' and spaces.
func Lookup(name string) (*Variant, error) {
	want := normalise(name)
	for _, v := range variants {
		if normalise(v.Name) == want {
			return v, nil
		}
		for _, a := range v.Aliases {
			if normalise(a) == want {
				return v, nil
			}
		}
	}
	var names []string
	for _, v := range variants {
		names = append(names, v.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown architecture %q (known: %s)", name, strings.Join(names, ", "))
}

func normalise(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("-", "", "_", "", " ", "", ".", "").Replace(s)
}

// ForWeights picks between the graphs of one --arch family by the keys a checkpoint carries: v1 has the
// original BVLC graph (Caffe layer names) and torchvision's batch-norm graph. It returns v unchanged when
// the family has one graph or the keys fit v.
func ForWeights(v *Variant, names []string) *Variant {
	has := make(map[string]bool, len(names))
	for _, n := range names {
		has[n] = true
	}
	for _, cand := range variants {
		if cand.Arch != v.Arch {
			continue
		}
		first := New(cand).params[0].key
		if has[first] {
			return cand
		}
	}
	return v
}
