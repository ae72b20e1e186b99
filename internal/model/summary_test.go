package model

import (
	"math"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
)

// TestSummaryTotals: the summary's rows add up to the published counts that TestCounts checks, block by
// block shapes chain, and the last feature row is the shape FeatureShape reports.
func TestSummaryTotals(t *testing.T) {
	for _, v := range Variants() {
		m := New(v)
		rows, err := m.Summary(v.Size, v.Size)
		if err != nil {
			t.Fatal(err)
		}
		var params, macs int64
		for _, r := range rows {
			params += r.Params
			macs += r.MACs
		}
		wantMACs, _ := m.MACs(v.Size, v.Size)
		var wantParams int64
		for _, p := range m.Params() {
			if p.Role != roleBNMean && p.Role != roleBNVar {
				wantParams += int64(prod(p.Shape))
			}
		}
		if params != wantParams || macs != wantMACs {
			t.Errorf("%s: summary totals %d params / %d MACs, model %d / %d", v.Name, params, macs, wantParams, wantMACs)
		}
		feat, _ := m.FeatureShape(v.Size, v.Size)
		last := rows[len(rows)-1]
		if last.Out.C != m.Classes() || last.Kind != "linear" {
			t.Errorf("%s: last row %+v", v.Name, last)
		}
		pool := rows[len(rows)-1-len(m.net.Head)]
		if pool.Kind != "global avg pool" || pool.Out.C != feat.C {
			t.Errorf("%s: pooling row %+v, features %s", v.Name, pool, feat)
		}
		if prev := rows[len(rows)-2-len(m.net.Head)]; prev.Out != feat {
			t.Errorf("%s: last block gives %s, features are %s", v.Name, prev.Out, feat)
		}
	}
	// Named rows carry the reference keys; nested repeats are listed one block at a time.
	rows, _ := New(irv2).Summary(299, 299)
	names := map[string]Block{}
	for _, r := range rows {
		names[r.Name] = r
	}
	if b, ok := names["repeat_1.19"]; !ok || b.Out != (Shape{1088, 17, 17}) || b.Kind != "residual ×0.10" {
		t.Errorf("irv2 repeat_1.19: %+v (present %v)", b, ok)
	}
	if b := names["block8"]; b.Kind != "residual ×1.00 no ReLU" {
		t.Errorf("irv2 block8: %+v", b)
	}
	rows, _ = New(v3).Summary(299, 299)
	for _, r := range rows {
		if r.Name == "Mixed_6b" && (r.Out != (Shape{768, 17, 17}) || r.Kind != "mixed 4 branches") {
			t.Errorf("v3 Mixed_6b: %+v", r)
		}
	}
}

// TestRunOutputs: the pooled features are the average of the feature maps, the logits are the head applied
// to them, and each image's class-activation map averages to its logit.
func TestRunOutputs(t *testing.T) {
	for _, v := range []*Variant{v1BN, irv1} { // irv1's head is two linear layers with a folded BN
		const n, size = 2, 139
		m := fillModel(t, v, "outputs", func(m *Model) { m.PackFor = []int{size} })
		x := fill.Tensor("outputs", "x", []int{n, 3, size, size}, "input")
		fs, err := m.FeatureShape(size, size)
		if err != nil {
			t.Fatal(err)
		}
		o := Outputs{Logits: make([]float32, n*m.Classes()), Pooled: make([]float32, n*fs.C), Features: make([]float32, n*fs.Len())}
		if err := m.Run(x, n, size, size, o); err != nil {
			t.Fatal(err)
		}
		logits := make([]float32, n*m.Classes())
		if err := m.ForwardRaw(x, n, size, size, logits); err != nil {
			t.Fatal(err)
		}
		hw := fs.H * fs.W
		cam := make([]float32, hw)
		for i := 0; i < n; i++ {
			f := o.Features[i*fs.Len() : (i+1)*fs.Len()]
			for c := 0; c < fs.C; c++ {
				var s float64
				for _, v := range f[c*hw : (c+1)*hw] {
					s += float64(v)
				}
				if got := o.Pooled[i*fs.C+c]; math.Abs(s/float64(hw)-float64(got)) > 1e-5*(1+math.Abs(s/float64(hw))) {
					t.Fatalf("%s image %d channel %d: pooled %v, mean of maps %v", v.Name, i, c, got, s/float64(hw))
				}
			}
			for _, k := range []int{0, 17, m.Classes() - 1} {
				l := logits[i*m.Classes()+k]
				if o.Logits[i*m.Classes()+k] != l {
					t.Fatalf("%s: Run's logit differs from ForwardRaw's", v.Name)
				}
				if err := m.ClassMap(f, fs, k, cam); err != nil {
					t.Fatal(err)
				}
				var s float64
				for _, v := range cam {
					s += float64(v)
				}
				if mean := s / float64(hw); math.Abs(mean-float64(l)) > 1e-4*(1+math.Abs(float64(l))) {
					t.Errorf("%s image %d class %d: map mean %v, logit %v", v.Name, i, k, mean, l)
				}
			}
		}
		if err := m.ClassMap(o.Features[:fs.Len()], fs, m.Classes(), cam); err == nil {
			t.Errorf("%s: no error for a class out of range", v.Name)
		}
		if err := m.Run(x, n, size, size, Outputs{Pooled: make([]float32, fs.C)}); err == nil {
			t.Errorf("%s: no error for a pooled buffer of the wrong size", v.Name)
		}
	}
}
