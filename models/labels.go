// Package models holds the data the binary embeds about published weight sets: one Manifest per set
// (files, URLs, checksums, preprocessing, published accuracy; see All, Lookup and Default) and the
// ImageNet class list they share.
package models

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// imagenet_synsets.txt is BVLC's synset_words.txt: one "wnid label, synonyms" line per ImageNet-1k class,
// in the index order of the 1000-class classifiers (no background class).
//
//go:embed imagenet_synsets.txt
var imagenetSynsets string

// Class is one ImageNet class.
type Class struct {
	Index int
	WNID  string // WordNet id, e.g. n02123045
	Label string // human label with synonyms, e.g. "tabby, tabby cat"
}

// Name is the first synonym of the label ("tabby").
func (c Class) Name() string {
	name, _, _ := strings.Cut(c.Label, ",")
	return name
}

var (
	classesOnce sync.Once
	classes     []Class
	classesErr  error
)

// ImageNetClasses returns the 1000 ImageNet-1k classes in classifier order.
func ImageNetClasses() ([]Class, error) {
	classesOnce.Do(func() { classes, classesErr = parseSynsets(imagenetSynsets) })
	return classes, classesErr
}

func parseSynsets(text string) ([]Class, error) {
	var out []Class
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		wnid, label, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || len(wnid) != 9 || wnid[0] != 'n' {
			return nil, fmt.Errorf("imagenet_synsets.txt line %d: want \"nXXXXXXXX label\", got %q", i+1, line)
		}
		out = append(out, Class{Index: i, WNID: wnid, Label: label})
	}
	return out, nil
}
