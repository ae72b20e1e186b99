package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/inception-cli/inception/models"
)

// Prediction is one class of an image's top-k.
type Prediction struct {
	Index int     `json:"index"`
	WNID  string  `json:"wnid,omitempty"`
	Label string  `json:"label"`
	Prob  float32 `json:"prob"`
}

// Record is the outcome for one image, as printed by every output format: its top classes, or the error
// that stopped it.
type Record struct {
	File    string       `json:"file"`
	Arch    string       `json:"arch"`
	Weights string       `json:"weights"`
	Top     []Prediction `json:"top,omitempty"`
	Error   string       `json:"error,omitempty"`
}

// topK returns up to k classes with probability at least threshold, most probable first; ties keep the
// lower index first.
func topK(probs []float32, k int, threshold float64, classes []models.Class) []Prediction {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	top := make([]Prediction, 0, k)
	for _, j := range idx[:min(k, len(idx))] {
		if float64(probs[j]) < threshold {
			break
		}
		top = append(top, Prediction{Index: j, WNID: classes[j].WNID, Label: classes[j].Label, Prob: probs[j]})
	}
	return top
}

// recordWriter prints records as they come, so a killed run leaves every finished record behind:
// text blocks, the elements of one JSON array (closed on the way out, even when interrupted), JSON Lines,
// or CSV/TSV rows (one per class, or one with the error), or bare labels.
type recordWriter struct {
	w          io.Writer
	format     string
	labelsOnly bool
	header     bool // a CSV/TSV header is still owed
	csv        *csv.Writer
	n          int
	err        error
}

var csvHeader = []string{"file", "arch", "weights", "rank", "index", "wnid", "label", "prob", "error"}

// newRecordWriter returns a writer for format; appending says the destination already holds records,
// so a CSV/TSV header is not repeated.
func newRecordWriter(w io.Writer, format string, labelsOnly, appending bool) *recordWriter {
	rw := &recordWriter{w: w, format: format, labelsOnly: labelsOnly, header: !appending}
	if format == "csv" || format == "tsv" {
		rw.csv = csv.NewWriter(w)
		if format == "tsv" {
			rw.csv.Comma = '\t'
		}
	}
	return rw
}

func (rw *recordWriter) write(r Record) error {
	if rw.err != nil {
		return rw.err
	}
	switch {
	case rw.labelsOnly:
		names := make([]string, len(r.Top))
		for i, p := range r.Top {
			names[i] = models.Class{Label: p.Label}.Name()
		}
		_, rw.err = fmt.Fprintln(rw.w, strings.Join(names, "\t"))
	case rw.format == "json":
		var b []byte
		if b, rw.err = json.MarshalIndent(r, "  ", "  "); rw.err == nil {
			sep := "[\n  "
			if rw.n > 0 {
				sep = ",\n  "
			}
			_, rw.err = fmt.Fprintf(rw.w, "%s%s", sep, b)
		}
	case rw.format == "jsonl":
		var b []byte
		if b, rw.err = json.Marshal(r); rw.err == nil {
			_, rw.err = rw.w.Write(append(b, '\n'))
		}
	case rw.csv != nil:
		if rw.header {
			rw.csv.Write(csvHeader)
			rw.header = false
		}
		if r.Error != "" {
			rw.csv.Write([]string{r.File, r.Arch, r.Weights, "", "", "", "", "", r.Error})
		}
		for i, p := range r.Top {
			rw.csv.Write([]string{r.File, r.Arch, r.Weights, strconv.Itoa(i + 1), strconv.Itoa(p.Index), p.WNID, p.Label,
				strconv.FormatFloat(float64(p.Prob), 'g', -1, 32), ""})
		}
		rw.csv.Flush()
		rw.err = rw.csv.Error()
	default:
		if _, rw.err = fmt.Fprintf(rw.w, "%s\n", r.File); rw.err == nil && r.Error != "" {
			_, rw.err = fmt.Fprintf(rw.w, "  error: %s\n", r.Error)
		}
		for _, p := range r.Top {
			if rw.err == nil {
				_, rw.err = fmt.Fprintf(rw.w, "  %7.4f  %4d  %s\n", p.Prob, p.Index, p.Label)
			}
		}
	}
	rw.n++
	return rw.err
}

func (rw *recordWriter) close() error {
	if rw.format == "json" && !rw.labelsOnly && rw.err == nil {
		if rw.n == 0 {
			_, rw.err = fmt.Fprint(rw.w, "[]\n")
		} else {
			_, rw.err = fmt.Fprint(rw.w, "\n]\n")
		}
	}
	return rw.err
}
