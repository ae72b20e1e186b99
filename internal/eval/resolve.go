package eval

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/inception-cli/inception/models"
)

// Resolver maps a class name, as a Source gives it, to a class index of the classifier in use.
// Build one with NewImageNetResolver or NewLabelResolver.
type Resolver struct {
	n        int
	wnid     map[string]int   // lower-case WNID → index (ImageNet)
	numeric  bool             // accept a decimal index (ImageNet)
	exact    map[string]int   // label → index (custom labels)
	names    map[string][]int // normalised synonym or label → ascending indices
	primary  map[string][]int // normalised first synonym → ascending indices (ImageNet)
	describe func(int) string // a class in error messages
}

// UnknownClassError is a name that matches no class.
type UnknownClassError struct {
	Name string
}

func (e *UnknownClassError) Error() string { return fmt.Sprintf("unknown class %q", e.Name) }

// AmbiguousClassError is a name that matches several classes equally well.
type AmbiguousClassError struct {
	Name       string
	Candidates []int    // ascending class indices
	Described  []string // each candidate for a person, e.g. `517 n03126707 "crane"`
	Hint       string   // how to name one of them unambiguously
}

func (e *AmbiguousClassError) Error() string {
	return fmt.Sprintf("ambiguous class %q: %s; %s", e.Name, strings.Join(e.Described, ", "), e.Hint)
}

// normalise folds case and treats '_' and '-' as spaces, collapsing runs of spaces.
func normalise(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return ' '
		}
		return r
	}, strings.ToLower(s))
	return strings.Join(strings.Fields(s), " ")
}

// NewImageNetResolver resolves names against classes (models.ImageNetClasses()), trying in turn:
//  1. a WNID, any case: "n02123045";
//  2. a decimal class index: "281";
//  3. a synonym of a label ("tabby, tabby cat": "tabby", "Tabby_Cat", "tabby-cat"), compared
//     case-insensitively with '_' and '-' read as spaces. A synonym of several classes resolves
//     to the one class whose first synonym it is ("tub" → 876 "tub, vat", not 435 "bathtub, …,
//     tub"); otherwise ("crane", "maillot", "cardigan") it is an *AmbiguousClassError listing the
//     candidates.
//
// A name matching nothing is an *UnknownClassError.
func NewImageNetResolver(classes []models.Class) *Resolver {
	r := &Resolver{n: len(classes), wnid: map[string]int{}, numeric: true, names: map[string][]int{}, primary: map[string][]int{}}
	for i, c := range classes {
		r.wnid[strings.ToLower(c.WNID)] = i
		for j, syn := range strings.Split(c.Label, ",") {
			key := normalise(syn)
			if key == "" {
				continue
			}
			if !slices.Contains(r.names[key], i) {
				r.names[key] = append(r.names[key], i)
			}
			if j == 0 {
				r.primary[key] = append(r.primary[key], i)
			}
		}
	}
	r.describe = func(i int) string { return fmt.Sprintf("%d %s %q", i, classes[i].WNID, classes[i].Label) }
	return r
}

// NewLabelResolver resolves names against a custom head's labels: the exact label, else the one
// label equal to it ignoring case (several are an *AmbiguousClassError). No other spelling is
// accepted.
func NewLabelResolver(labels []string) *Resolver {
	r := &Resolver{n: len(labels), exact: map[string]int{}, names: map[string][]int{}}
	for i, l := range labels {
		if _, dup := r.exact[l]; !dup {
			r.exact[l] = i
		}
		key := strings.ToLower(l)
		r.names[key] = append(r.names[key], i)
	}
	r.describe = func(i int) string { return fmt.Sprintf("%d %q", i, labels[i]) }
	return r
}

// Len returns the number of classes.
func (r *Resolver) Len() int { return r.n }

// Resolve returns the class index name stands for (see the constructors for the rules).
func (r *Resolver) Resolve(name string) (int, error) {
	if r.exact != nil {
		if i, ok := r.exact[name]; ok {
			return i, nil
		}
		return r.pick(name, r.names[strings.ToLower(name)], nil, "use the label's exact spelling")
	}
	if i, ok := r.wnid[strings.ToLower(strings.TrimSpace(name))]; ok {
		return i, nil
	}
	if r.numeric {
		if i, err := strconv.Atoi(strings.TrimSpace(name)); err == nil && i >= 0 && i < r.n {
			return i, nil
		}
	}
	key := normalise(name)
	return r.pick(name, r.names[key], r.primary[key], "name the class by WNID or index")
}

// pick resolves name from its candidates, preferring a unique primary match among several.
func (r *Resolver) pick(name string, candidates, primary []int, hint string) (int, error) {
	switch {
	case len(candidates) == 1:
		return candidates[0], nil
	case len(candidates) == 0:
		return -1, &UnknownClassError{Name: name}
	case len(primary) == 1:
		return primary[0], nil
	}
	e := &AmbiguousClassError{Name: name, Candidates: slices.Clone(candidates), Hint: hint}
	for _, i := range candidates {
		e.Described = append(e.Described, r.describe(i))
	}
	return -1, e
}
