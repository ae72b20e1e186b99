package eval

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/inception-cli/inception/models"
)

func imagenet(t *testing.T) *Resolver {
	t.Helper()
	classes, err := models.ImageNetClasses()
	if err != nil {
		t.Fatal(err)
	}
	return NewImageNetResolver(classes)
}

func TestImageNetResolver(t *testing.T) {
	r := imagenet(t)
	tests := []struct {
		name string
		want int
	}{
		{"n02123045", 281},
		{"N02123045", 281},
		{"281", 281},
		{"0", 0},
		{"999", 999},
		{"tabby", 281},
		{"tabby_cat", 281},
		{"Tabby Cat", 281},
		{"tabby-cat", 281},
		{"Egyptian cat", 285},
		{"egyptian_cat", 285},
		{"golden retriever", 207},
		{"great_white_shark", 2},
		{"man-eater", 2},  // a synonym written with a hyphen in the list
		{"man_eater", 2},  // … and with '_'
		{"  tench ", 0},   // spaces around
		{"tub", 876},      // "tub, vat" is named tub first; "bathtub, …, tub" is not
		{"partridge", 86}, // "partridge" vs "ruffed grouse, partridge, …"
		{"n03126707", 517},
		{"517", 517},
	}
	for _, tt := range tests {
		got, err := r.Resolve(tt.name)
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if r.Len() != 1000 {
		t.Errorf("Len = %d", r.Len())
	}
}

func TestImageNetResolverAmbiguous(t *testing.T) {
	r := imagenet(t)
	tests := []struct {
		name       string
		candidates []int
		mention    []string
	}{
		{"crane", []int{134, 517}, []string{"n02012849", "n03126707"}},
		{"Maillot", []int{638, 639}, []string{`"maillot, tank suit"`}},
		{"cardigan", []int{264, 474}, []string{"Cardigan Welsh corgi"}},
		{"panda", []int{387, 388}, []string{"lesser panda", "giant panda"}},
	}
	for _, tt := range tests {
		_, err := r.Resolve(tt.name)
		var amb *AmbiguousClassError
		if !errors.As(err, &amb) {
			t.Errorf("Resolve(%q) = %v, want an *AmbiguousClassError", tt.name, err)
			continue
		}
		if !slices.Equal(amb.Candidates, tt.candidates) {
			t.Errorf("Resolve(%q) candidates %v, want %v", tt.name, amb.Candidates, tt.candidates)
		}
		msg := err.Error()
		for _, m := range append(tt.mention, tt.name, "WNID") {
			if !strings.Contains(msg, m) {
				t.Errorf("Resolve(%q) error %q does not mention %q", tt.name, msg, m)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("error %q is not one line", msg)
		}
	}
}

func TestImageNetResolverUnknown(t *testing.T) {
	r := imagenet(t)
	for _, name := range []string{"1000", "-1", "n99999999", "tabby cat cat", "", "ILSVRC2012_val"} {
		_, err := r.Resolve(name)
		var unk *UnknownClassError
		if !errors.As(err, &unk) || unk.Name != name {
			t.Errorf("Resolve(%q) = %v, want an *UnknownClassError", name, err)
		}
	}
}

func TestLabelResolver(t *testing.T) {
	r := NewLabelResolver([]string{"cat", "Dog", "dog", "golden_retriever", "7"})
	tests := []struct {
		name string
		want int
		err  string
	}{
		{"cat", 0, ""},
		{"CAT", 0, ""},
		{"Dog", 1, ""},
		{"dog", 2, ""},
		{"DOG", -1, `ambiguous class "DOG": 1 "Dog", 2 "dog"; use the label's exact spelling`},
		{"golden_retriever", 3, ""},
		{"golden retriever", -1, `unknown class "golden retriever"`},
		{"7", 4, ""},
		{"4", -1, `unknown class "4"`},
	}
	for _, tt := range tests {
		got, err := r.Resolve(tt.name)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Resolve(%q) = %d, %v; want error %q", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
}
