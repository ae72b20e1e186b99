package head

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// task is a synthetic classification problem: n examples of c features with classes y.
type task struct {
	x      []float32
	n, c   int
	y      []int
	labels []string
}

func classLabels(k int) []string {
	l := make([]string, k)
	for i := range l {
		l[i] = fmt.Sprintf("class%d", i)
	}
	return l
}

// clusters has k Gaussian clusters of m examples each in c dimensions: class means drawn from
// N(0, sep²) per feature, unit-variance noise, then every feature shifted and scaled by its own
// offset and factor (spanning three decades), as pooled CNN features are.
func clusters(k, m, c int, sep float64, seed uint64) task {
	r := rand.New(rand.NewPCG(seed, 1))
	means := make([]float64, k*c)
	for i := range means {
		means[i] = sep * r.NormFloat64()
	}
	scale, off := make([]float64, c), make([]float64, c)
	for j := range scale {
		scale[j] = math.Pow(10, 3*r.Float64()-1.5)
		off[j] = 5 * r.NormFloat64()
	}
	t := task{n: k * m, c: c, labels: classLabels(k)}
	for range m {
		for i := range k {
			for j := range c {
				t.x = append(t.x, float32(off[j]+scale[j]*(means[i*c+j]+r.NormFloat64())))
			}
			t.y = append(t.y, i)
		}
	}
	return t
}

// rotatedTeacher labels n standard-normal vectors u in c dimensions by argmax of a random linear
// teacher T·u and observes them as x = D·Q·u + o: a random rotation Q, so that the class boundaries
// lie along no feature axis, then a per-feature scale D (three decades) and offset o. Examples
// within a margin of a boundary are dropped so that a few hundred examples determine it.
func rotatedTeacher(k, n, c int, seed uint64) task {
	r := rand.New(rand.NewPCG(seed, 2))
	teacher := make([]float64, k*c)
	for i := range teacher {
		teacher[i] = r.NormFloat64()
	}
	q := randomRotation(c, r)
	scale, off := make([]float64, c), make([]float64, c)
	for j := range scale {
		scale[j] = math.Pow(10, 3*r.Float64()-1.5)
		off[j] = 5 * r.NormFloat64()
	}
	t := task{c: c, labels: classLabels(k)}
	u, s := make([]float64, c), make([]float64, k)
	for t.n < n {
		for j := range u {
			u[j] = r.NormFloat64()
		}
		for i := range s {
			s[i] = 0
			for j := range c {
				s[i] += teacher[i*c+j] * u[j]
			}
		}
		sorted := slices.Clone(s)
		slices.Sort(sorted)
		if sorted[k-1]-sorted[k-2] < 0.5*math.Sqrt(float64(c)) {
			continue
		}
		for a := range c {
			var v float64
			for b := range c {
				v += q[a*c+b] * u[b]
			}
			t.x = append(t.x, float32(off[a]+scale[a]*v))
		}
		t.y = append(t.y, slices.Index(s, sorted[k-1]))
		t.n++
	}
	return t
}

// randomRotation returns a random c×c orthogonal matrix (Gram-Schmidt on Gaussian rows).
func randomRotation(c int, r *rand.Rand) []float64 {
	q := make([]float64, c*c)
	for i := range c {
		row := q[i*c : (i+1)*c]
		for j := range row {
			row[j] = r.NormFloat64()
		}
		for p := range i {
			prev := q[p*c : (p+1)*c]
			var d float64
			for j := range row {
				d += row[j] * prev[j]
			}
			for j := range row {
				row[j] -= d * prev[j]
			}
		}
		var norm float64
		for _, v := range row {
			norm += v * v
		}
		for j := range row {
			row[j] /= math.Sqrt(norm)
		}
	}
	return q
}

func (t task) accuracy(h *Head) float64 {
	idx := make([]int, t.n)
	for i := range idx {
		idx[i] = i
	}
	acc, _ := accuracy(h, t.x, t.y, idx)
	return acc
}

func TestTrainSolvesSyntheticTasks(t *testing.T) {
	tests := []struct {
		name string
		task task
	}{
		{"4 clusters in 64-d", clusters(4, 80, 64, 0.45, 1)},
		{"rotated 3-class teacher in 32-d", rotatedTeacher(3, 400, 32, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := tt.task
			k := len(tk.labels)
			chance := 1 / float64(k)
			zero := &Head{W: make([]float32, k*tk.c), B: make([]float32, k), Labels: tk.labels}
			r := rand.New(rand.NewPCG(9, 9))
			random := &Head{W: make([]float32, k*tk.c), B: make([]float32, k), Labels: tk.labels}
			for i := range random.W {
				random.W[i] = float32(r.NormFloat64() * 0.01)
			}
			for _, u := range []struct {
				name string
				h    *Head
			}{{"zero", zero}, {"random", random}} {
				if acc := tk.accuracy(u.h); acc > chance+0.15 {
					t.Errorf("untrained %s head: accuracy %.3f, want near chance %.3f (the task is too easy)", u.name, acc, chance)
				}
			}

			_, rep, err := Train(tk.x, tk.n, tk.c, tk.y, tk.labels, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if rep.ValAccuracy < 0.9 {
				t.Errorf("validation accuracy %.3f, want ≥ 0.9; epochs %+v", rep.ValAccuracy, rep.Epochs)
			}
			if rep.ValN == 0 || rep.ValN+rep.TrainN != tk.n {
				t.Errorf("split %d + %d, want a validation split of %d examples", rep.TrainN, rep.ValN, tk.n)
			}
			if rep.BestEpoch < 1 || rep.BestEpoch > len(rep.Epochs) {
				t.Errorf("best epoch %d of %d", rep.BestEpoch, len(rep.Epochs))
			}
			if got := rep.ValAccuracy * float64(rep.ValN); math.Abs(got-float64(rep.ValCorrect)) > 1e-9 {
				t.Errorf("val accuracy %v of %d is not %d correct", rep.ValAccuracy, rep.ValN, rep.ValCorrect)
			}
			t.Logf("val %.3f after %d epochs (best %d); train %.3f", rep.ValAccuracy, len(rep.Epochs), rep.BestEpoch, rep.TrainAccuracy)
		})
	}
}

// cnnLike imitates pooled Inception features: k classes of m examples in c non-negative features
// (a ReLU of a shared per-feature base, a class direction of size sep and unit-scale noise, ×3).
func cnnLike(k, m, c int, sep float64, seed uint64) task {
	r := rand.New(rand.NewPCG(seed, 7))
	base, dirs := make([]float64, c), make([]float64, k*c)
	for j := range base {
		base[j] = 0.3*r.NormFloat64() + 0.1
	}
	for i := range dirs {
		dirs[i] = r.NormFloat64()
	}
	t := task{c: c, labels: classLabels(k)}
	for range m {
		for i := range k {
			for j := range c {
				v := base[j] + sep*dirs[i*c+j] + 0.5*r.NormFloat64()
				t.x = append(t.x, float32(3*math.Max(0, v)))
			}
			t.y = append(t.y, i)
			t.n++
		}
	}
	return t
}

// TestDefaultsConverge trains with DefaultConfig on a task shaped like Inception-v3 features
// (C = 2048) and checks that the validation loss settles well within the epoch budget.
func TestDefaultsConverge(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 2048-d features; skipped under -short")
	}
	tk := cnnLike(10, 30, 2048, 0.1, 3)
	cfg := DefaultConfig()
	cfg.Patience = 0
	_, rep, err := Train(tk.x, tk.n, tk.c, tk.y, tk.labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ValAccuracy < 0.9 {
		t.Errorf("validation accuracy %.3f, want ≥ 0.9", rep.ValAccuracy)
	}
	first, mid, last := rep.Epochs[0], rep.Epochs[14], rep.Epochs[len(rep.Epochs)-1]
	if !(last.TrainLoss < first.TrainLoss) {
		t.Errorf("train loss went from %.3f to %.3f", first.TrainLoss, last.TrainLoss)
	}
	if d := math.Abs(last.ValLoss - mid.ValLoss); d > 0.02 {
		t.Errorf("validation loss moved by %.3f between epochs 15 and 30 (%.3f → %.3f): not settled", d, mid.ValLoss, last.ValLoss)
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	tk := clusters(3, 30, 16, 0.4, 4)
	cfg := DefaultConfig()
	cfg.Epochs = 5
	a, ra, err := Train(tk.x, tk.n, tk.c, tk.y, tk.labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, rb, _ := Train(tk.x, tk.n, tk.c, tk.y, tk.labels, cfg)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ra, rb) {
		t.Errorf("two runs with seed %d differ", cfg.Seed)
	}
	cfg.Seed++
	c, _, _ := Train(tk.x, tk.n, tk.c, tk.y, tk.labels, cfg)
	if reflect.DeepEqual(a.W, c.W) {
		t.Errorf("seeds %d and %d gave identical weights", cfg.Seed-1, cfg.Seed)
	}
}

// TestLossGradient compares the analytic gradient of the label-smoothed loss with central
// differences at a random point.
func TestLossGradient(t *testing.T) {
	const k, c, eps = 4, 5, 0.1
	r := rand.New(rand.NewPCG(5, 5))
	z := make([]float32, 6*c)
	for i := range z {
		z[i] = float32(r.NormFloat64())
	}
	y := []int{0, 3, 1, 1, 2, 3}
	batch := []int{5, 0, 2, 3}
	m := newModel(k, c)
	for i := range m.p {
		m.p[i] = r.NormFloat64()
	}
	grad := make([]float64, len(m.p))
	loss := m.lossGrad(z, y, batch, eps, grad)
	scratch := make([]float64, len(m.p))
	if l2 := m.lossGrad(z, y, batch, eps, scratch); l2 != loss {
		t.Fatalf("loss not reproducible: %v then %v", loss, l2)
	}
	const h = 1e-6
	for i := range m.p {
		p := m.p[i]
		m.p[i] = p + h
		up := m.lossGrad(z, y, batch, eps, scratch)
		m.p[i] = p - h
		down := m.lossGrad(z, y, batch, eps, scratch)
		m.p[i] = p
		if want := (up - down) / (2 * h); math.Abs(grad[i]-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("d loss/d p[%d] = %.9f, central difference %.9f", i, grad[i], want)
		}
	}
	// With smoothing the minimum is at p = t, not at the one-hot target: the loss of a perfectly
	// confident correct prediction is larger than that of the smoothed target distribution.
	m.logits = []float64{50, 0, 0, 0}
	confident := m.lossOf(0, eps)
	m.logits = []float64{math.Log(1 - eps + eps/k), math.Log(eps / k), math.Log(eps / k), math.Log(eps / k)}
	smoothed := m.lossOf(0, eps)
	if !(smoothed < confident) {
		t.Errorf("loss at the smoothed target %.4f is not below the confident one %.4f", smoothed, confident)
	}
}

func TestSplitIsStratified(t *testing.T) {
	// class 0: 10 examples, class 1: 3, class 2: 1, class 3: 2.
	var y []int
	for i, m := range []int{10, 3, 1, 2} {
		for range m {
			y = append(y, i)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	train, val, rep := split(y, 4, 0.2, rng)
	wantVal := []int{2, 1, 0, 0} // round(2), round(0.6), min(round(0.2), 0), round(0.4)
	if !reflect.DeepEqual(rep.ValCounts, wantVal) {
		t.Errorf("val counts %v, want %v", rep.ValCounts, wantVal)
	}
	if !reflect.DeepEqual(rep.TrainCounts, []int{8, 2, 1, 2}) {
		t.Errorf("train counts %v, want [8 2 1 2]", rep.TrainCounts)
	}
	if len(train)+len(val) != len(y) || rep.TrainN != len(train) || rep.ValN != len(val) {
		t.Errorf("split %d + %d of %d", len(train), len(val), len(y))
	}
	seen := map[int]bool{}
	for _, i := range append(slices.Clone(train), val...) {
		if seen[i] {
			t.Errorf("example %d in both splits", i)
		}
		seen[i] = true
	}
	if !slices.IsSorted(train) || !slices.IsSorted(val) {
		t.Errorf("splits not in input order: %v %v", train, val)
	}
	_, val, _ = split([]int{0, 1, 1}, 2, 0.9, rng)
	if !reflect.DeepEqual(val, []int{1}) && !reflect.DeepEqual(val, []int{2}) {
		t.Errorf("frac 0.9 of a 2-example class: val %v, want one example of class 1", val)
	}
}

func TestFoldMatchesStandardisedModel(t *testing.T) {
	tk := clusters(3, 10, 6, 0.5, 8)
	idx := make([]int, tk.n)
	for i := range idx {
		idx[i] = i
	}
	mean, scale := standardiser(tk.x, tk.c, idx)
	m := newModel(3, tk.c)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range m.p {
		m.p[i] = r.NormFloat64()
	}
	h := m.fold(mean, scale, tk.labels)
	got := make([]float32, 3)
	for i := range tk.n {
		z := make([]float32, tk.c)
		for j := range z {
			z[j] = float32((float64(tk.x[i*tk.c+j]) - mean[j]) * scale[j])
		}
		m.forward(z, 0)
		h.Logits(tk.x[i*tk.c:(i+1)*tk.c], 1, got)
		for j, want := range m.logits {
			if math.Abs(float64(got[j])-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Fatalf("example %d class %d: folded logit %v, standardised %v", i, j, got[j], want)
			}
		}
	}
}

func TestEarlyStopKeepsBestWeights(t *testing.T) {
	tk := clusters(4, 40, 64, 0.3, 6)
	cfg := DefaultConfig()
	cfg.LearningRate, cfg.Epochs, cfg.Patience = 0.3, 40, 3 // a rate that overfits
	h, rep, err := Train(tk.x, tk.n, tk.c, tk.y, tk.labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	best := rep.Epochs[rep.BestEpoch-1]
	for _, e := range rep.Epochs {
		if e.ValAccuracy > best.ValAccuracy || (e.ValAccuracy == best.ValAccuracy && e.ValLoss < best.ValLoss) {
			t.Errorf("epoch %d (%.3f, %.3f) beats the best epoch %d (%.3f, %.3f)", e.Epoch, e.ValAccuracy, e.ValLoss, best.Epoch, best.ValAccuracy, best.ValLoss)
		}
	}
	if !rep.EarlyStop || len(rep.Epochs) != rep.BestEpoch+cfg.Patience {
		t.Errorf("ran %d epochs with best %d and patience %d, early stop %v", len(rep.Epochs), rep.BestEpoch, cfg.Patience, rep.EarlyStop)
	}
	if math.Abs(rep.ValAccuracy-best.ValAccuracy) > 1e-9 {
		t.Errorf("returned head's validation accuracy %.4f, best epoch's %.4f", rep.ValAccuracy, best.ValAccuracy)
	}
	if h == nil {
		t.Fatal("no head")
	}
}

func TestTrainWithoutValidation(t *testing.T) {
	tk := clusters(2, 5, 4, 1, 2)
	cfg := DefaultConfig()
	cfg.ValFraction, cfg.Epochs = 0, 3
	_, rep, err := Train(tk.x, tk.n, tk.c, tk.y, tk.labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ValN != 0 || rep.TrainN != tk.n || rep.BestEpoch != 3 || len(rep.Epochs) != 3 {
		t.Errorf("report %+v: want all %d examples in training and 3 epochs", rep, tk.n)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	ok := func() ([]float32, int, int, []int, []string, Config) {
		return slices.Clone(x), 3, 2, []int{0, 1, 1}, []string{"a", "b"}, DefaultConfig()
	}
	tests := []struct {
		name string
		edit func(x *[]float32, n, c *int, y *[]int, labels *[]string, cfg *Config)
		want string
	}{
		{"one class", func(_ *[]float32, _, _ *int, y *[]int, l *[]string, _ *Config) {
			*l = []string{"a"}
			*y = []int{0, 0, 0}
		}, "at least 2 classes"},
		{"short x", func(x *[]float32, _, _ *int, _ *[]int, _ *[]string, _ *Config) { *x = (*x)[:5] }, "features hold 5 values, want 3×2"},
		{"short y", func(_ *[]float32, _, _ *int, y *[]int, _ *[]string, _ *Config) { *y = (*y)[:2] }, "2 class indices for 3 examples"},
		{"bad index", func(_ *[]float32, _, _ *int, y *[]int, _ *[]string, _ *Config) { (*y)[2] = 2 }, "example 2 has class index 2"},
		{"empty class", func(_ *[]float32, _, _ *int, y *[]int, _ *[]string, _ *Config) { *y = []int{0, 0, 0} }, `class "b" has no examples`},
		{"duplicate label", func(_ *[]float32, _, _ *int, _ *[]int, l *[]string, _ *Config) { *l = []string{"a", "a"} }, `both "a"`},
		{"NaN feature", func(x *[]float32, _, _ *int, _ *[]int, _ *[]string, _ *Config) { (*x)[3] = float32(math.NaN()) }, "example 1 feature 1 is NaN"},
		{"zero config", func(_ *[]float32, _, _ *int, _ *[]int, _ *[]string, cfg *Config) { *cfg = Config{} }, "must be ≥ 1"},
		{"val fraction 1", func(_ *[]float32, _, _ *int, _ *[]int, _ *[]string, cfg *Config) { cfg.ValFraction = 1 }, "validation fraction"},
		{"NaN rate", func(_ *[]float32, _, _ *int, _ *[]int, _ *[]string, cfg *Config) { cfg.LearningRate = math.NaN() }, "learning rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, n, c, y, labels, cfg := ok()
			tt.edit(&x, &n, &c, &y, &labels, &cfg)
			_, _, err := Train(x, n, c, y, labels, cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "train head: ") {
				t.Errorf("Train = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
