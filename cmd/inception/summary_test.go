package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestSummaryPublishedCounts: summary's totals are the papers' counts, and the JSON rows add up to them.
func TestSummaryPublishedCounts(t *testing.T) {
	for arch, want := range map[string]string{
		"v1":    "7.00 M parameters, 1.58 GMACs",
		"v1-bn": "6.62 M parameters, 1.50 GMACs",
		"v3":    "23.83 M parameters, 5.71 GMACs",
		"v4":    "42.68 M parameters, 12.25 GMACs",
		"irv2":  "55.84 M parameters, 13.16 GMACs",
	} {
		ios, out, errOut := testIO()
		if code := run(context.Background(), []string{"summary", "--arch", arch}, ios); code != exitOK {
			t.Fatalf("%s: exit %d: %s", arch, code, errOut)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s: summary does not say %q:\n%s", arch, want, out)
		}
		ios, out, _ = testIO()
		if code := run(context.Background(), []string{"summary", "--arch", arch, "--format", "json"}, ios); code != exitOK {
			t.Fatalf("%s json: exit %d", arch, code)
		}
		var s Summary
		if err := json.Unmarshal(out.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		var p, m int64
		for _, b := range s.Blocks {
			p, m = p+b.Params, m+b.MACs
		}
		if p != s.Params || m != s.MACs || len(s.Blocks) < 10 {
			t.Errorf("%s: %d rows add up to %d / %d, totals say %d / %d", arch, len(s.Blocks), p, m, s.Params, s.MACs)
		}
	}
	ios, _, errOut := testIO()
	if code := run(context.Background(), []string{"summary", "--arch", "v3", "--size", "40"}, ios); code != exitUsage || !strings.Contains(errOut.String(), "--size 40") {
		t.Errorf("--size 40: exit %d, %s", code, errOut)
	}
}
