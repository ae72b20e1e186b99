package eval

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// TopK is the k of the "top-5" accuracy. With fewer than TopK classes it counts the top
// min(TopK, K), so every prediction is a top-5 hit.
const TopK = 5

// Metrics accumulates the accuracy of a K-class classifier over labelled images. Not safe for
// concurrent use; Add in any order gives the same Report.
type Metrics struct {
	k          int
	n          int
	top1, top5 int
	count      []int // images per true class
	hit1, hit5 []int // per true class
	confusions map[[2]int]int
}

// NewMetrics returns empty Metrics for k ≥ 1 classes.
func NewMetrics(k int) *Metrics {
	if k < 1 {
		panic(fmt.Sprintf("eval: NewMetrics(%d): need at least one class", k))
	}
	return &Metrics{k: k, count: make([]int, k), hit1: make([]int, k), hit5: make([]int, k), confusions: map[[2]int]int{}}
}

// Add records one image of class trueIdx with the classifier's K class probabilities (or any
// scores: only their order matters). A class ranks above another if its score is higher, or equal
// and its index lower; NaN ranks below every number. The image is a top-1 hit if trueIdx ranks
// first and a top-5 hit if it ranks among the first TopK; a top-1 miss counts one confusion
// (trueIdx, the first-ranked class). Add panics if len(probs) != K or trueIdx is out of range.
func (m *Metrics) Add(trueIdx int, probs []float32) {
	if len(probs) != m.k || trueIdx < 0 || trueIdx >= m.k {
		panic(fmt.Sprintf("eval: Metrics.Add(%d, %d scores) for %d classes", trueIdx, len(probs), m.k))
	}
	pt := score(probs[trueIdx])
	rank, pred := 0, 0
	for j, p := range probs {
		s := score(p)
		if s > pt || (s == pt && j < trueIdx) {
			rank++
		}
		if s > score(probs[pred]) {
			pred = j
		}
	}
	m.n++
	m.count[trueIdx]++
	if rank == 0 {
		m.top1++
		m.hit1[trueIdx]++
	} else {
		m.confusions[[2]int{trueIdx, pred}]++
	}
	if rank < TopK {
		m.top5++
		m.hit5[trueIdx]++
	}
}

// score orders NaN below every number.
func score(p float32) float64 {
	if p != p {
		return math.Inf(-1)
	}
	return float64(p)
}

// Report is the accuracy so far, ready for encoding/json. Fractions are in [0, 1]; they are 0
// when N is 0.
type Report struct {
	N           int     `json:"n"`
	Top1        float64 `json:"top1"`
	Top5        float64 `json:"top5"`
	Top1Correct int     `json:"top1_correct"`
	Top5Correct int     `json:"top5_correct"`
	// Confused lists every (true, predicted) pair of top-1 mistakes, by count descending, then true
	// index, then predicted index.
	Confused []Confusion `json:"confused"`
	// PerClass has one entry per class with at least one image, by class index.
	PerClass []ClassAccuracy `json:"per_class"`
}

// Confusion counts the images of class True whose top-1 prediction was Predicted.
type Confusion struct {
	True          int    `json:"true"`
	Predicted     int    `json:"predicted"`
	Count         int    `json:"count"`
	TrueName      string `json:"true_name,omitempty"`
	PredictedName string `json:"predicted_name,omitempty"`
}

// ClassAccuracy is the accuracy on the N images of one true class.
type ClassAccuracy struct {
	Class       int     `json:"class"`
	Name        string  `json:"name,omitempty"`
	N           int     `json:"n"`
	Top1        float64 `json:"top1"`
	Top5        float64 `json:"top5"`
	Top1Correct int     `json:"top1_correct"`
	Top5Correct int     `json:"top5_correct"`
}

// Report returns the figures accumulated so far; it does not change m.
func (m *Metrics) Report() Report {
	r := Report{N: m.n, Top1: frac(m.top1, m.n), Top5: frac(m.top5, m.n), Top1Correct: m.top1, Top5Correct: m.top5,
		Confused: []Confusion{}, PerClass: []ClassAccuracy{}}
	for pair, c := range m.confusions {
		r.Confused = append(r.Confused, Confusion{True: pair[0], Predicted: pair[1], Count: c})
	}
	slices.SortFunc(r.Confused, func(a, b Confusion) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.True, b.True), cmp.Compare(a.Predicted, b.Predicted))
	})
	for i, n := range m.count {
		if n > 0 {
			r.PerClass = append(r.PerClass, ClassAccuracy{Class: i, N: n, Top1: frac(m.hit1[i], n), Top5: frac(m.hit5[i], n),
				Top1Correct: m.hit1[i], Top5Correct: m.hit5[i]})
		}
	}
	return r
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// SetNames fills the name fields from names, indexed by class (indices beyond names stay empty).
func (r *Report) SetNames(names []string) {
	name := func(i int) string {
		if i < len(names) {
			return names[i]
		}
		return ""
	}
	for i := range r.Confused {
		r.Confused[i].TrueName, r.Confused[i].PredictedName = name(r.Confused[i].True), name(r.Confused[i].Predicted)
	}
	for i := range r.PerClass {
		r.PerClass[i].Name = name(r.PerClass[i].Class)
	}
}

// Rows shown by WriteText.
const (
	textConfused = 10
	textPerClass = 20
)

// WriteText renders r for a terminal, naming class i by names[i] (or "#i" beyond names): the
// totals, the 10 most confused pairs, and the per-class accuracy of every class when at most 20
// have images, else of the 20 with the lowest top-1 (ties by index).
func (r Report) WriteText(w io.Writer, names []string) error {
	name := func(i int) string {
		if i < len(names) && names[i] != "" {
			return names[i]
		}
		return fmt.Sprintf("#%d", i)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "images  %d\n", r.N)
	fmt.Fprintf(&b, "top-1   %6.2f%%  (%d)\n", 100*r.Top1, r.Top1Correct)
	fmt.Fprintf(&b, "top-5   %6.2f%%  (%d)\n", 100*r.Top5, r.Top5Correct)

	if len(r.Confused) > 0 {
		shown := r.Confused[:min(len(r.Confused), textConfused)]
		fmt.Fprintf(&b, "\nmost confused (images: true → predicted), %d of %d pairs:\n", len(shown), len(r.Confused))
		for _, c := range shown {
			fmt.Fprintf(&b, "  %5d  %s → %s\n", c.Count, name(c.True), name(c.Predicted))
		}
	}

	rows := slices.Clone(r.PerClass)
	title := "per class"
	if len(rows) > textPerClass {
		slices.SortStableFunc(rows, func(a, b ClassAccuracy) int { return cmp.Compare(a.Top1, b.Top1) })
		rows = rows[:textPerClass]
		title = fmt.Sprintf("per class (the %d of %d with the lowest top-1)", textPerClass, len(r.PerClass))
	}
	if len(rows) > 0 {
		width := 5
		for _, c := range rows {
			width = max(width, utf8.RuneCountInString(name(c.Class)))
		}
		width = min(width, 32)
		fmt.Fprintf(&b, "\n%s:\n  %-*s  %7s  %7s  %6s\n", title, width, "class", "top-1", "top-5", "images")
		for _, c := range rows {
			n := name(c.Class)
			if utf8.RuneCountInString(n) > width {
				n = string([]rune(n)[:width-1]) + "…"
			}
			pad := width - utf8.RuneCountInString(n)
			fmt.Fprintf(&b, "  %s%s  %6.1f%%  %6.1f%%  %6d\n", n, strings.Repeat(" ", pad), 100*c.Top1, 100*c.Top5, c.N)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
