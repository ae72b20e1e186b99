package main

// End-to-end tests: they build the binary and drive it as a shell script would, with real processes,
// files, pipes and signals.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds cmd/inception once per test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end tests build and run the binary; skipped under -short")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "inception-e2e")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "inception")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// photoDir writes n small PNGs (and, every 97th, a corrupt file with an image extension) into a nested
// directory tree, returning the root, the image paths in the order the tool walks them, and the corrupt ones.
func photoDir(t *testing.T, n int) (root string, all []string, corrupt map[string]bool) {
	t.Helper()
	root = t.TempDir()
	corrupt = map[string]bool{}
	for i := 0; i < n; i++ {
		p := filepath.Join(root, fmt.Sprintf("d%02d", i%10), fmt.Sprintf("img%04d.png", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if i%97 == 5 {
			if err := os.WriteFile(p, []byte("\x89PNG\r\n\x1a\ngarbage"), 0o644); err != nil {
				t.Fatal(err)
			}
			corrupt[p] = true
		} else {
			img := image.NewNRGBA(image.Rect(0, 0, 24+i%7, 20))
			for j := range img.Pix {
				img.Pix[j] = uint8(i*7 + j*13)
			}
			img.Set(0, 0, color.NRGBA{uint8(i), uint8(i >> 8), 0, 255})
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, p)
	}
	sort.Strings(all) // the walk is lexical: d00/img0000, d00/img0010, …
	return root, all, corrupt
}

// records parses JSON Lines output, failing on any line that is not a record.
func records(t *testing.T, b []byte) []Record {
	t.Helper()
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// fastArgs run torchvision's GoogLeNet graph with deterministic weights at 32×32: the pipeline is under
// test here, not the network.
func fastArgs(t *testing.T) []string {
	w := writeFillSafetensors(t, "v1-bn")
	return []string{"classify", "--arch", "v1", "--weights", w, "--preprocess", "keras", "--size", "32"}
}

func runBin(t *testing.T, stdin string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.Bytes(), e.Bytes(), code
}

// TestE2EDirectoryWithCorruptFiles labels a 1000-file tree in which some files are corrupt: every file
// gets exactly one record, in walk order; the corrupt ones carry an error and a stderr line each; the
// summary and exit status say some failed.
func TestE2EDirectoryWithCorruptFiles(t *testing.T) {
	root, all, corrupt := photoDir(t, 1000)
	out, errOut, code := runBin(t, "", append(fastArgs(t), "--batch-size", "8", root)...)
	if code != 1 {
		t.Errorf("exit %d, want 1 (some failed); stderr:\n%s", code, errOut)
	}
	rs := records(t, out)
	if len(rs) != len(all) {
		t.Fatalf("%d records for %d files", len(rs), len(all))
	}
	for i, r := range rs {
		if r.File != all[i] {
			t.Fatalf("record %d is %s, want %s (walk order)", i, r.File, all[i])
		}
		if corrupt[r.File] != (r.Error != "") || corrupt[r.File] == (len(r.Top) == 5) {
			t.Fatalf("%s: error %q, %d classes", r.File, r.Error, len(r.Top))
		}
	}
	lines := strings.Split(strings.TrimSpace(string(errOut)), "\n")
	if len(lines) != len(corrupt)+1 {
		t.Errorf("stderr has %d lines for %d corrupt files:\n%s", len(lines), len(corrupt), errOut)
	}
	if want := fmt.Sprintf("inception: %d of %d images failed", len(corrupt), len(all)); lines[len(lines)-1] != want {
		t.Errorf("last stderr line %q, want %q", lines[len(lines)-1], want)
	}
}

// TestE2EInterruptAndResume interrupts a run writing to --output with SIGINT, checks the file is valid
// and the exit status 130, then resumes: in the end every file has exactly one record.
func TestE2EInterruptAndResume(t *testing.T) {
	root, all, corrupt := photoDir(t, 300)
	// A FIFO stands in for the 152nd image (the 151st is corrupt): the run blocks on it, so the interrupt always lands midway,
	// however fast the machine.
	stuck := all[151]
	if corrupt[stuck] {
		t.Fatalf("%s is one of the corrupt files; pick another", stuck)
	}
	good, err := os.ReadFile(stuck)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(stuck); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(stuck, 0o644); err != nil {
		t.Skipf("no FIFO support here: %v", err)
	}
	outFile := filepath.Join(t.TempDir(), "labels.jsonl")
	args := append(fastArgs(t), "--batch-size", "4", "--output", outFile, root)
	cmd := exec.Command(binary(t), args...)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(outFile)
		if bytes.Count(b, []byte("\n")) >= 20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no progress within 60 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted run: %v, want exit 130; stderr:\n%s", err, errOut.String())
	}
	b, _ := os.ReadFile(outFile)
	first := records(t, b)
	t.Logf("interrupted after %d of %d records", len(first), len(all))
	if len(first) == 0 || len(first) > 151 {
		t.Fatalf("interrupted run wrote %d of %d records, want some and none past the FIFO at 151", len(first), len(all))
	}
	// The resumed run finds a real image where the FIFO was.
	if err := os.Remove(stuck); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stuck, good, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut2, code := runBin(t, "", append(args, "--resume")...)
	if code != 1 { // the corrupt files fail again
		t.Fatalf("resumed run exit %d; stderr:\n%s", code, errOut2)
	}
	b, _ = os.ReadFile(outFile)
	rs := records(t, b)
	count := map[string]int{}
	for _, r := range rs {
		count[r.File]++
	}
	for _, p := range all {
		if count[p] != 1 {
			t.Fatalf("%s has %d records after the resume (first run wrote %d)", p, count[p], len(first))
		}
	}
	if len(rs) != len(all) {
		t.Errorf("%d records for %d files", len(rs), len(all))
	}
}

// TestE2EShards runs three shards as separate processes, as a Slurm array or GNU parallel would, and
// checks that their outputs concatenate into exactly the single run's records.
func TestE2EShards(t *testing.T) {
	root, all, _ := photoDir(t, 120)
	base := fastArgs(t)
	single, _, _ := runBin(t, "", append(base, root)...)
	want := records(t, single)
	dir := t.TempDir()
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cmd := exec.Command(binary(t), append(base, "--shard", fmt.Sprintf("%d/3", i), "--output",
				filepath.Join(dir, fmt.Sprintf("part-%d.jsonl", i)), root)...)
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); ok {
					codes[i] = ee.ExitCode()
				}
			}
		}(i)
	}
	wg.Wait()
	var union []Record
	for i := 0; i < 3; i++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("part-%d.jsonl", i)))
		if err != nil {
			t.Fatal(err)
		}
		part := records(t, b)
		if len(part) == 0 || len(part) == len(all) {
			t.Errorf("shard %d has %d of %d records", i, len(part), len(all))
		}
		union = append(union, part...)
	}
	sort.Slice(union, func(a, b int) bool { return union[a].File < union[b].File })
	if len(union) != len(want) {
		t.Fatalf("shards hold %d records, the single run %d", len(union), len(want))
	}
	for i := range want {
		g, _ := json.Marshal(union[i])
		w, _ := json.Marshal(want[i])
		if !bytes.Equal(g, w) {
			t.Fatalf("record %d differs:\nshards %s\nsingle %s", i, g, w)
		}
	}
}

// TestE2EStdinAndFormats feeds NUL-separated paths on stdin and checks the csv, tsv, labels-only and
// threshold outputs.
func TestE2EStdinAndFormats(t *testing.T) {
	_, all, corrupt := photoDir(t, 12)
	var good []string
	for _, p := range all {
		if !corrupt[p] {
			good = append(good, p)
		}
	}
	stdin := strings.Join(good[:3], "\x00") + "\x00"
	base := fastArgs(t)

	out, errOut, code := runBin(t, stdin, append(base, "-0", "--format", "csv", "--top-k", "2", "-")...)
	if code != 0 {
		t.Fatalf("csv: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1+3*2 || lines[0] != "file,arch,weights,rank,index,wnid,label,prob,error" {
		t.Errorf("csv output:\n%s", out)
	}

	out, _, _ = runBin(t, stdin, append(base, "-0", "--format", "tsv", "-")...)
	if n := strings.Count(string(out), "\n"); n != 1+3*5 || !strings.HasPrefix(string(out), "file\tarch\t") {
		t.Errorf("tsv output has %d lines:\n%s", n, out)
	}

	out, _, _ = runBin(t, stdin, append(base, "-0", "--labels-only", "--top-k", "3", "-")...)
	lines = strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 3 || strings.Count(lines[0], "\t") != 2 || strings.Contains(lines[0], "/") {
		t.Errorf("labels-only output:\n%q", out)
	}

	out, _, _ = runBin(t, stdin, append(base, "-0", "--threshold", "1", "--format", "jsonl", "-")...)
	for _, r := range records(t, out) {
		if len(r.Top) != 0 {
			t.Errorf("--threshold 1 kept %v", r.Top)
		}
	}

	_, errOut, code = runBin(t, "", append(base, "--resume", good[0])...)
	if code != 2 || !strings.Contains(string(errOut), "--resume needs --output") {
		t.Errorf("--resume without --output: exit %d, %s", code, errOut)
	}
}
