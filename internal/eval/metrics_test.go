package eval

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMetricsRanking(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name       string
		true_      int
		probs      []float32
		top1, top5 bool
		pred       int
	}{
		{"clear hit", 2, []float32{.1, .2, .7, 0, 0, 0, 0}, true, true, 2},
		{"second", 0, []float32{.3, .4, .1, .1, .1, 0, 0}, false, true, 1},
		{"sixth", 6, []float32{.3, .2, .2, .1, .1, 0.05, 0.04}, false, false, 0},
		{"tie won by lower index", 1, []float32{0, .5, .5, 0, 0, 0, 0}, true, true, 1},
		{"tie lost to lower index", 2, []float32{0, .5, .5, 0, 0, 0, 0}, false, true, 1},
		// Seven equal scores: the true class 5 ranks sixth, behind indices 0–4.
		{"all equal", 5, []float32{1, 1, 1, 1, 1, 1, 1}, false, false, 0},
		{"all equal, index 4", 4, []float32{1, 1, 1, 1, 1, 1, 1}, false, true, 0},
		{"NaN true score", 3, []float32{.1, .1, .1, nan, .1, .1, .1}, false, false, 0},
		{"NaN elsewhere", 3, []float32{nan, .1, .1, .5, .1, .1, .1}, true, true, 3},
		{"NaN first, predicted", 1, []float32{nan, .1, .9, .5, .1, .1, .1}, false, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(7)
			m.Add(tt.true_, tt.probs)
			r := m.Report()
			if (r.Top1Correct == 1) != tt.top1 || (r.Top5Correct == 1) != tt.top5 {
				t.Errorf("top-1 %v top-5 %v, want %v %v", r.Top1Correct == 1, r.Top5Correct == 1, tt.top1, tt.top5)
			}
			if !tt.top1 {
				want := []Confusion{{True: tt.true_, Predicted: tt.pred, Count: 1}}
				if !reflect.DeepEqual(r.Confused, want) {
					t.Errorf("confused %+v, want %+v", r.Confused, want)
				}
			}
		})
	}
}

func TestMetricsFewerClassesThanTopK(t *testing.T) {
	m := NewMetrics(3)
	m.Add(0, []float32{0, .3, .7})
	r := m.Report()
	if r.Top1 != 0 || r.Top5 != 1 {
		t.Errorf("top1 %v top5 %v, want 0 and 1 (top-5 of 3 classes is every class)", r.Top1, r.Top5)
	}
}

// sampleReport adds 10 images over 4 classes (class 3 has none).
func sampleMetrics() *Metrics {
	m := NewMetrics(6)
	add := func(true_, pred int) {
		p := make([]float32, 6)
		p[pred] = 1
		m.Add(true_, p)
	}
	add(0, 0)
	add(0, 1)
	add(0, 1)
	add(1, 1)
	add(1, 0)
	add(2, 4)
	add(2, 5)
	add(5, 5)
	add(5, 4)
	add(0, 0)
	return m
}

func TestMetricsReport(t *testing.T) {
	m := sampleMetrics()
	r := m.Report()
	if r.N != 10 || r.Top1Correct != 4 || r.Top1 != 0.4 {
		t.Errorf("N %d top1 %d (%v), want 10, 4 (0.4)", r.N, r.Top1Correct, r.Top1)
	}
	// Scores are one-hot, so ties put the lower indices next: with 6 classes top-5 misses only
	// when the true class is index 5 and loses to the one-hot winner and indices 0–3.
	if r.Top5Correct != 9 {
		t.Errorf("top5 correct %d, want 9", r.Top5Correct)
	}
	wantConfused := []Confusion{
		{True: 0, Predicted: 1, Count: 2},
		{True: 1, Predicted: 0, Count: 1},
		{True: 2, Predicted: 4, Count: 1},
		{True: 2, Predicted: 5, Count: 1},
		{True: 5, Predicted: 4, Count: 1},
	}
	if !reflect.DeepEqual(r.Confused, wantConfused) {
		t.Errorf("confused %+v\nwant %+v", r.Confused, wantConfused)
	}
	wantPerClass := []ClassAccuracy{
		{Class: 0, N: 4, Top1: 0.5, Top5: 1, Top1Correct: 2, Top5Correct: 4},
		{Class: 1, N: 2, Top1: 0.5, Top5: 1, Top1Correct: 1, Top5Correct: 2},
		{Class: 2, N: 2, Top1: 0, Top5: 1, Top1Correct: 0, Top5Correct: 2},
		{Class: 5, N: 2, Top1: 0.5, Top5: 0.5, Top1Correct: 1, Top5Correct: 1},
	}
	if !reflect.DeepEqual(r.PerClass, wantPerClass) {
		t.Errorf("per class %+v\nwant %+v", r.PerClass, wantPerClass)
	}
	if again := m.Report(); !reflect.DeepEqual(again, r) {
		t.Error("a second Report differs")
	}

	empty := NewMetrics(2).Report()
	b, err := json.Marshal(empty)
	if err != nil || string(b) != `{"n":0,"top1":0,"top5":0,"top1_correct":0,"top5_correct":0,"confused":[],"per_class":[]}` {
		t.Errorf("empty report JSON %s, %v", b, err)
	}
}

func TestMetricsOrderIndependent(t *testing.T) {
	type ex struct {
		y int
		p []float32
	}
	var xs []ex
	for i := range 40 {
		p := make([]float32, 5)
		for j := range p {
			p[j] = float32((i*7+j*3)%5) / 5
		}
		xs = append(xs, ex{i % 5, p})
	}
	a, b := NewMetrics(5), NewMetrics(5)
	for i := range xs {
		a.Add(xs[i].y, xs[i].p)
		b.Add(xs[len(xs)-1-i].y, xs[len(xs)-1-i].p)
	}
	if !reflect.DeepEqual(a.Report(), b.Report()) {
		t.Error("reports depend on the order of Add")
	}
}

func TestMetricsAddPanics(t *testing.T) {
	for _, f := range []func(m *Metrics){
		func(m *Metrics) { m.Add(0, []float32{1}) },
		func(m *Metrics) { m.Add(2, []float32{1, 0}) },
		func(m *Metrics) { m.Add(-1, []float32{1, 0}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(NewMetrics(2))
		}()
	}
}

func TestReportJSONAndNames(t *testing.T) {
	r := sampleMetrics().Report()
	r.SetNames([]string{"tabby", "tiger cat", "Egyptian cat"})
	if r.Confused[0].TrueName != "tabby" || r.Confused[0].PredictedName != "tiger cat" || r.Confused[4].TrueName != "" {
		t.Errorf("names %+v", r.Confused)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, r) {
		t.Errorf("JSON round trip: %v\n%+v\n%+v", err, back, r)
	}
}

func TestWriteTextGolden(t *testing.T) {
	tests := []struct {
		name  string
		build func() Report
		names []string
	}{
		{"small", func() Report { return sampleMetrics().Report() }, []string{"tabby", "tiger cat", "a very long class name that will be cut short here", "", "", "Persian cat"}},
		{"many classes", func() Report {
			m := NewMetrics(30)
			for i := range 30 {
				for j := range 3 {
					p := make([]float32, 30)
					p[(i+j*(i%4))%30] = 1 // class i is right on its first image, and on all three when i%4 == 0
					m.Add(i, p)
				}
			}
			return m.Report()
		}, nil},
		{"empty", func() Report { return NewMetrics(3).Report() }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.build().WriteText(&buf, tt.names); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "_")+".txt")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("WriteText:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}
