package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// mirror serves files as $INCEPTION_MIRROR/<set>/<file> and counts the requests.
func mirror(t *testing.T, files map[string]string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		p, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, p)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestPullModelsClassifyByName pulls a published set (timm's inception_v3.tv_in1k, which publishes no
// checksum) from a local mirror, lists it as cached, and classifies with it by name and as the arch's
// default, without downloading again.
func TestPullModelsClassifyByName(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and runs a 95 MB Inception v3; skipped under -short")
	}
	w := writeFillSafetensors(t, "v3")
	srv, requests := mirror(t, map[string]string{"inception_v3.tv_in1k/model.safetensors": w})
	cacheDir := t.TempDir()
	t.Setenv("INCEPTION_CACHE", cacheDir)
	t.Setenv("INCEPTION_MIRROR", srv.URL)
	t.Setenv("INCEPTION_WEIGHTS_PATH", "")

	ios, out, errOut := testIO()
	if code := run(context.Background(), []string{"pull", "inception_v3.tv_in1k"}, ios); code != exitOK {
		t.Fatalf("pull: exit %d: %s", code, errOut)
	}
	want := filepath.Join(cacheDir, "inception_v3.tv_in1k", "model.safetensors")
	if got := strings.TrimSpace(out.String()); got != "inception_v3.tv_in1k\t"+want {
		t.Errorf("pull printed %q, want the cached path %s", got, want)
	}
	if errOut.Len() != 0 {
		t.Errorf("pull wrote to stderr although it is not a terminal: %q", errOut)
	}

	ios, out, _ = testIO()
	if code := run(context.Background(), []string{"models", "--format", "json"}, ios); code != exitOK {
		t.Fatalf("models: exit %d", code)
	}
	var rows []WeightSet
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	found := map[string]WeightSet{}
	for _, r := range rows {
		found[r.Name+"/"+r.Arch] = r
	}
	if r := found["inception_v3.tv_in1k/v3"]; !r.Cached || r.Path != want || !r.Default {
		t.Errorf("models row %+v, want cached at %s", r, want)
	}
	if r := found["inception_v4.tf_in1k/v4"]; r.Cached || r.Top1 == 0 {
		t.Errorf("models row %+v", r)
	}
	if r := found["-/irv1"]; r.Note == "" {
		t.Errorf("models does not say irv1 has no published weights: %+v", rows)
	}

	img := filepath.Join("..", "..", "internal", "preprocess", "testdata", "chelsea.png")
	for _, args := range [][]string{
		{"classify", "--arch", "v3", "--weights", "inception_v3.tv_in1k", "--format", "jsonl", img},
		{"classify", "--arch", "inception-v3", "--format", "jsonl", img},
	} {
		ios, out, errOut = testIO()
		if code := run(context.Background(), args, ios); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var r Record
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Weights != "inception_v3.tv_in1k" || r.Arch != "v3" || len(r.Top) != 5 {
			t.Errorf("%v: record %+v", args, r)
		}
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("the mirror saw %d requests, want 1 (later runs use the cache)", n)
	}
}

// TestWeightsPathOffline runs the default v1 set found in $INCEPTION_WEIGHTS_PATH with no network at all
// (the mirror points at a closed port), and checks the errors of a failed download and of a bad checksum.
func TestWeightsPathOffline(t *testing.T) {
	needShared(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	t.Setenv("INCEPTION_CACHE", t.TempDir())
	t.Setenv("INCEPTION_MIRROR", deadURL)
	t.Setenv("INCEPTION_WEIGHTS_PATH", filepath.Dir(bvlcWeights))

	img := filepath.Join(sharedDir, "images", "chelsea.png")
	ios, out, errOut := testIO()
	if code := run(context.Background(), []string{"classify", "--arch", "v1", "--format", "jsonl", img}, ios); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r Record
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Weights != "googlenet.bvlc" || len(r.Top) == 0 || r.Top[0].Index != 285 {
		t.Errorf("record %+v, want googlenet.bvlc calling it an Egyptian cat", r)
	}

	// Offline with nothing local: one line naming the URL, the cache path and --weights; exit 3.
	t.Setenv("INCEPTION_WEIGHTS_PATH", "")
	ios, _, errOut = testIO()
	code := run(context.Background(), []string{"classify", "--arch", "v1", img}, ios)
	msg := errOut.String()
	if code != exitModelData || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, deadURL) ||
		!strings.Contains(msg, "bvlc_googlenet.caffemodel") || !strings.Contains(msg, "--weights") {
		t.Errorf("offline: exit %d, stderr %q", code, msg)
	}

	// A mirror serving a different file than the publisher's: the SHA-1 check refuses it.
	srv, _ := mirror(t, map[string]string{"googlenet.bvlc/bvlc_googlenet.caffemodel": bvlcWeights})
	t.Setenv("INCEPTION_MIRROR", srv.URL)
	ios, _, errOut = testIO()
	code = run(context.Background(), []string{"pull", "v1"}, ios)
	if code != exitModelData || !strings.Contains(errOut.String(), "sha1 mismatch") {
		t.Errorf("bad checksum: exit %d, stderr %q", code, errOut)
	}
	entries, _ := os.ReadDir(filepath.Join(os.Getenv("INCEPTION_CACHE"), "googlenet.bvlc"))
	for _, e := range entries {
		if e.Name() == "bvlc_googlenet.caffemodel" {
			t.Error("a file that failed its checksum was left in the cache")
		}
	}

	// Inception-ResNet v1 has no published weights: say so.
	ios, _, errOut = testIO()
	if code := run(context.Background(), []string{"classify", "--arch", "irv1", img}, ios); code != exitModelData ||
		!strings.Contains(errOut.String(), "no weights for irv1") {
		t.Errorf("irv1: exit %d, stderr %q", code, errOut)
	}
}
