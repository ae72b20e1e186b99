// Command compare times inception against ONNX Runtime on the same networks, weights and inputs, and
// prints a markdown table (issue "Faster than ONNX Runtime"). bench/compare.sh builds the binaries it
// drives and runs it; see bench/README.md.
//
// For each arch it exports the network with the deterministic fill that `inception bench` uses
// (bench/cmd/onnxexport), checks that ONNX Runtime's logits match inception's to the parity tolerance,
// then for each (batch, threads) runs the two engines alternately, one process each per round, so that
// machine noise hits both alike. Each process does one untimed warm-up pass and then timed passes; the
// number of timed passes is fitted to -budget from the engine's previous round. A cell is the median over
// rounds of each process's median.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

type options struct {
	Archs     []string
	Configs   []config
	Rounds    int
	Budget    time.Duration
	MaxIters  int
	Tol       float64
	ORTSpin   int    // ort.js --spin: ONNX Runtime's intra-op spin-waiting, 1 (its default) or 0
	Inception string // inception binary
	Export    string // onnxexport binary
	Node      string
	ORT       string // bench/ort.js
	Work      string // directory for the exported models
}

// config is one (batch, threads) cell.
type config struct{ batch, threads int }

func main() {
	opts := &options{}
	archs := flag.String("archs", "v1,v3,v4,irv2,v2,irv1", "comma-separated --arch names")
	configs := flag.String("configs", "1x1,1x2,8x2", "comma-separated BATCHxTHREADS cells")
	flag.IntVar(&opts.Rounds, "rounds", 3, "alternating rounds per cell (one process per engine per round)")
	flag.DurationVar(&opts.Budget, "budget", 3*time.Second, "timed work per process; sets the passes after the first round")
	flag.IntVar(&opts.MaxIters, "max-iters", 10, "most timed passes per process")
	flag.Float64Var(&opts.Tol, "tol", 1e-3, "parity tolerance on the logits (absolute)")
	flag.IntVar(&opts.ORTSpin, "ort-spin", 1, "ONNX Runtime worker threads spin while idle: 1 (its default) or 0 (better on a busy machine)")
	flag.StringVar(&opts.Inception, "inception", "", "inception binary (go build ./cmd/inception)")
	flag.StringVar(&opts.Export, "export", "", "onnxexport binary (go build ./bench/cmd/onnxexport)")
	flag.StringVar(&opts.Node, "node", "node", "node executable")
	flag.StringVar(&opts.ORT, "ort", "bench/ort.js", "the ONNX Runtime runner")
	flag.StringVar(&opts.Work, "work", "", "directory for exported models (default: a temporary one, removed)")
	flag.Parse()
	opts.Archs = strings.Split(*archs, ",")
	var err error
	if opts.Configs, err = parseConfigs(*configs); err == nil {
		err = run(opts, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func parseConfigs(s string) ([]config, error) {
	var cs []config
	for _, f := range strings.Split(s, ",") {
		b, t, ok := strings.Cut(f, "x")
		batch, err1 := strconv.Atoi(b)
		threads, err2 := strconv.Atoi(t)
		if !ok || err1 != nil || err2 != nil || batch < 1 || threads < 1 {
			return nil, fmt.Errorf("-configs: %q is not BATCHxTHREADS", f)
		}
		cs = append(cs, config{batch, threads})
	}
	return cs, nil
}

// cell is the outcome of one (arch, batch, threads).
type cell struct {
	arch        string
	config      config
	ours, ort   []float64 // per-process median ms per batch, one per round
	oursIt, oIt []int     // timed passes per process
}

// parity is the ONNX Runtime check of one arch.
type parity struct {
	arch   string
	images int
	diff   float64
	ok     bool
	err    error
}

func run(o *options, stdout, stderr io.Writer) error {
	if o.Inception == "" || o.Export == "" {
		return errors.New("-inception and -export are required (bench/compare.sh sets them)")
	}
	if o.Work == "" {
		dir, err := os.MkdirTemp("", "inception-compare-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.Work = dir
	}
	maxBatch := 1
	for _, c := range o.Configs {
		maxBatch = max(maxBatch, c.batch)
	}
	start := time.Now()
	load0 := loadAvg()
	var cells []cell
	var parities []parity
	ortVersion := ""
	for _, arch := range o.Archs {
		model := filepath.Join(o.Work, arch+".onnx")
		in, logits := filepath.Join(o.Work, arch+".input.bin"), filepath.Join(o.Work, arch+".logits.bin")
		fmt.Fprintf(stderr, "%s: export, inception logits for %d images\n", arch, maxBatch)
		if _, err := output(stderr, o.Export, "-arch", arch, "-o", model, "-n", strconv.Itoa(maxBatch),
			"-input", in, "-logits", logits); err != nil {
			return fmt.Errorf("export %s: %w", arch, err)
		}
		p := parity{arch: arch, images: maxBatch}
		var r ortResult
		r, p.err = runORT(o, stderr, model, in, maxBatch, 2, 0, logits)
		if p.err == nil && r.MaxAbsDiff == nil {
			p.err = errors.New("ort.js reported no parity result")
		}
		if p.err == nil {
			p.diff, p.ok = *r.MaxAbsDiff, *r.MaxAbsDiff <= o.Tol
			ortVersion = r.ORT
		}
		fmt.Fprintf(stderr, "%s: parity with ONNX Runtime: max |Δlogit| %s\n", arch, p.describe(o.Tol))
		parities = append(parities, p)

		for _, c := range o.Configs {
			cl := cell{arch: arch, config: c}
			itOurs, itORT := 1, 1
			for round := 0; round < o.Rounds; round++ {
				ours := func() error {
					ms, err := runOurs(o, stderr, arch, c, itOurs)
					cl.ours, cl.oursIt = append(cl.ours, ms), append(cl.oursIt, itOurs)
					itOurs = o.iters(ms)
					return err
				}
				theirs := func() error {
					r, err := runORT(o, stderr, model, in, c.batch, c.threads, itORT, "")
					cl.ort, cl.oIt = append(cl.ort, r.MSPerBatch), append(cl.oIt, itORT)
					itORT = o.iters(r.MSPerBatch)
					return err
				}
				first, second := ours, theirs
				if round%2 == 1 {
					first, second = theirs, ours
				}
				if err := first(); err != nil {
					return err
				}
				if err := second(); err != nil {
					return err
				}
			}
			fmt.Fprintf(stderr, "%s batch %d threads %d: inception %s ms/batch, ORT %s ms/batch\n",
				arch, c.batch, c.threads, fmtRuns(cl.ours), fmtRuns(cl.ort))
			cells = append(cells, cl)
		}
	}

	fmt.Fprintf(stdout, "inception vs ONNX Runtime %s (onnxruntime-node, CPU EP, graphOptimizationLevel all, sequential, interOp 1, allow_spinning %d)\n\n",
		ortVersion, o.ORTSpin)
	fmt.Fprintf(stdout, "%s, %s/%s, %d CPUs; load average %s at start, %s at end; %s\n",
		cpuName(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), load0, loadAvg(), time.Since(start).Round(time.Second))
	fmt.Fprintf(stdout, "%d alternating rounds per cell, 1 warm-up + timed passes per process (budget %s, passes shown ours/ORT); median of the per-process medians\n\n",
		o.Rounds, o.Budget)
	fmt.Fprintln(stdout, "| arch | batch | threads | inception ms/img | ORT ms/img | ratio (ours/ORT) | passes |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---|")
	for _, c := range cells {
		ours, ort := median(c.ours)/float64(c.config.batch), median(c.ort)/float64(c.config.batch)
		fmt.Fprintf(stdout, "| %s | %d | %d | %.1f | %.1f | %.2f | %s / %s |\n", c.arch, c.config.batch, c.config.threads,
			ours, ort, ours/ort, fmtInts(c.oursIt), fmtInts(c.oIt))
	}
	fmt.Fprintf(stdout, "\nParity (ONNX Runtime logits vs inception's, same fill weights and input, tolerance %g):\n\n", o.Tol)
	fmt.Fprintln(stdout, "| arch | images | max abs diff | ok |")
	fmt.Fprintln(stdout, "|---|---:|---:|---|")
	failed := 0
	for _, p := range parities {
		if !p.ok {
			failed++
		}
		fmt.Fprintf(stdout, "| %s | %d | %s | %v |\n", p.arch, p.images, p.describe(o.Tol), p.ok)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d archs fail parity with ONNX Runtime", failed, len(parities))
	}
	return nil
}

func (p parity) describe(tol float64) string {
	if p.err != nil {
		return "error: " + p.err.Error()
	}
	s := fmt.Sprintf("%.3g", p.diff)
	if !p.ok {
		s += fmt.Sprintf(" > %g", tol)
	}
	return s
}

// iters is the number of timed passes that fit the budget for a pass of ms milliseconds.
func (o *options) iters(ms float64) int {
	if !(ms > 0) {
		return 1
	}
	return max(1, min(o.MaxIters, int(float64(o.Budget.Milliseconds())/ms)))
}

func runOurs(o *options, stderr io.Writer, arch string, c config, iters int) (float64, error) {
	out, err := output(stderr, o.Inception, "bench", "--arch", arch, "--batch", strconv.Itoa(c.batch),
		"--threads", strconv.Itoa(c.threads), "--iters", strconv.Itoa(iters), "--format", "json")
	if err != nil {
		return 0, fmt.Errorf("inception bench %s: %w", arch, err)
	}
	var r struct {
		MedianMS *float64 `json:"median_ms_per_batch"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.MedianMS == nil {
		return 0, fmt.Errorf("inception bench %s: no median_ms_per_batch in %q", arch, out)
	}
	return *r.MedianMS, nil
}

// ortResult is what bench/ort.js prints.
type ortResult struct {
	MSPerBatch float64  `json:"ms_per_batch"`
	MaxAbsDiff *float64 `json:"max_abs_diff"`
	ORT        string   `json:"ort"`
}

func runORT(o *options, stderr io.Writer, model, input string, batch, threads, iters int, check string) (ortResult, error) {
	args := []string{o.ORT, "--model", model, "--input", input, "--batch", strconv.Itoa(batch),
		"--threads", strconv.Itoa(threads), "--iters", strconv.Itoa(iters), "--warmup", "1", "--spin", strconv.Itoa(o.ORTSpin)}
	if check != "" {
		args = append(args, "--check", check, "--tol", strconv.FormatFloat(o.Tol, 'g', -1, 64))
	}
	out, err := output(stderr, o.Node, args...)
	var r ortResult
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		return r, fmt.Errorf("ort.js %s: %w", filepath.Base(model), errors.Join(err, jerr))
	}
	// A parity mismatch exits 1 with a result; the caller reads it.
	var exit *exec.ExitError
	if err != nil && !(check != "" && errors.As(err, &exit) && exit.ExitCode() == 1) {
		return r, fmt.Errorf("ort.js %s: %w", filepath.Base(model), err)
	}
	return r, nil
}

// output runs a command and returns its stdout; its stderr is passed on when it fails.
func output(stderr io.Writer, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var eb bytes.Buffer
	cmd.Stderr = &eb
	out, err := cmd.Output()
	if err != nil {
		stderr.Write(eb.Bytes())
	}
	return out, err
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fmtRuns(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, strconv.FormatFloat(x, 'f', 1, 64))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func fmtInts(xs []int) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, strconv.Itoa(x))
	}
	return strings.Join(parts, ",")
}

// cpuName is the first "model name" of /proc/cpuinfo, or GOARCH where there is none.
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

// loadAvg is the 1-minute load average from /proc/loadavg, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
