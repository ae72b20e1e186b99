package cache

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inception-cli/inception/models"
)

// payload is the test weight file: 1 MB of pseudo-random bytes.
var payload = func() []byte {
	b := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// testManifest describes payload as a one-file set served from urls.
func testManifest(urls ...string) *models.Manifest {
	sum := sha256.Sum256(payload)
	return &models.Manifest{
		Name: "test.set", Arch: "v3", Graph: "v3", Format: models.FormatSafetensors,
		Files: []models.File{{Name: "weights.safetensors", URLs: urls, Size: int64(len(payload)),
			SHA256: hex.EncodeToString(sum[:])}},
	}
}

// recorder counts requests and remembers their Range headers.
type recorder struct {
	mu     sync.Mutex
	ranges []string
	paths  []string
}

func (rec *recorder) note(r *http.Request) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.ranges = append(rec.ranges, r.Header.Get("Range"))
	rec.paths = append(rec.paths, r.URL.Path)
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.ranges)
}

// serve starts a server that records each request, then calls h.
func serve(t *testing.T, h http.HandlerFunc) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.note(r)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// content serves b with Range support (206 for ranges, 200 otherwise).
func content(b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "w", time.Time{}, bytes.NewReader(b))
	}
}

// fullBody ignores Range and always answers 200 with b.
func fullBody(b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b)
	}
}

// slowBody answers 200 with b in ten pieces, pausing between them.
func slowBody(b []byte, pause time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		step := len(b) / 10
		for i := 0; i < len(b); i += step {
			w.Write(b[i:min(i+step, len(b))])
			w.(http.Flusher).Flush()
			time.Sleep(pause)
		}
	}
}

func newCache(t *testing.T) *Cache {
	t.Helper()
	return &Cache{Dir: t.TempDir()}
}

// checkDone asserts that the set's cache directory holds exactly the final file, with payload in it.
func checkDone(t *testing.T, c *Cache, m *models.Manifest, path string) {
	t.Helper()
	if want := c.Path(m, m.Files[0]); path != want {
		t.Errorf("path = %s, want %s", path, want)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("file content differs from payload (%d bytes, want %d)", len(got), len(payload))
	}
	if left := leftovers(t, c, m); len(left) > 0 {
		t.Errorf("leftover files: %v", left)
	}
}

// leftovers lists the set directory's entries other than the final file.
func leftovers(t *testing.T, c *Cache, m *models.Manifest) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(c.Dir, m.Name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != m.Files[0].Name {
			out = append(out, e.Name())
		}
	}
	return out
}

func fetchOne(t *testing.T, c *Cache, m *models.Manifest) (string, error) {
	t.Helper()
	paths, err := c.Fetch(context.Background(), m)
	if err != nil {
		return "", err
	}
	if len(paths) != 1 {
		t.Fatalf("%d paths, want 1", len(paths))
	}
	return paths[0], nil
}

func TestFetch(t *testing.T) {
	srv, rec := serve(t, content(payload))
	c := newCache(t)
	m := testManifest(srv.URL + "/w")
	path, err := fetchOne(t, c, m)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, c, m, path)
	if p, ok := c.Cached(m, m.Files[0]); !ok || p != path {
		t.Errorf("Cached = %s, %v; want %s, true", p, ok, path)
	}
	// A second Fetch is served from the cache.
	if _, err := fetchOne(t, c, m); err != nil {
		t.Fatal(err)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestChecksumMismatch(t *testing.T) {
	bad := bytes.Clone(payload)
	bad[len(bad)/2] ^= 1
	badSrv, badRec := serve(t, content(bad))
	goodSrv, goodRec := serve(t, content(payload))

	t.Run("falls through to the next URL", func(t *testing.T) {
		c := newCache(t)
		m := testManifest(badSrv.URL+"/w", goodSrv.URL+"/w")
		path, err := fetchOne(t, c, m)
		if err != nil {
			t.Fatal(err)
		}
		checkDone(t, c, m, path)
		if badRec.count() != 1 || goodRec.count() != 1 {
			t.Errorf("requests bad %d good %d, want 1 and 1", badRec.count(), goodRec.count())
		}
	})
	t.Run("alone it fails and leaves nothing", func(t *testing.T) {
		c := newCache(t)
		m := testManifest(badSrv.URL + "/w")
		_, err := fetchOne(t, c, m)
		if !errors.Is(err, ErrChecksum) {
			t.Fatalf("err = %v, want one matching ErrChecksum", err)
		}
		var de *DownloadError
		if !errors.As(err, &de) {
			t.Fatalf("err is %T, want *DownloadError", err)
		}
		if !strings.Contains(err.Error(), "sha256 mismatch") {
			t.Errorf("err = %v, want it to say sha256 mismatch", err)
		}
		if left := leftovers(t, c, m); len(left) > 0 {
			t.Errorf("leftover files: %v", left)
		}
		if _, err := os.Stat(c.Path(m, m.Files[0])); !os.IsNotExist(err) {
			t.Errorf("final file exists after a mismatch")
		}
	})
	t.Run("announced size mismatch", func(t *testing.T) {
		shortSrv, _ := serve(t, content(payload[:1000]))
		c := newCache(t)
		m := testManifest(shortSrv.URL + "/w")
		_, err := fetchOne(t, c, m)
		var ce *ChecksumError
		if !errors.As(err, &ce) || ce.Kind != "size" {
			t.Fatalf("err = %v, want a size ChecksumError", err)
		}
		if left := leftovers(t, c, m); len(left) > 0 {
			t.Errorf("leftover files: %v", left)
		}
	})
}

func TestNotFoundThenMirror(t *testing.T) {
	missing, missRec := serve(t, http.NotFound)
	good, goodRec := serve(t, content(payload))
	c := newCache(t)
	m := testManifest(missing.URL+"/w", good.URL+"/w")
	path, err := fetchOne(t, c, m)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, c, m, path)
	if missRec.count() != 1 || goodRec.count() != 1 {
		t.Errorf("requests 404 %d good %d, want 1 and 1", missRec.count(), goodRec.count())
	}
}

// TestResume cuts the connection half way through the first response, then checks that the next Fetch
// asks for the rest with a Range request and completes the file.
func TestResume(t *testing.T) {
	half := len(payload) / 2
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			content(payload)(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		w.Write(payload[:half])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	})
	c := newCache(t)
	m := testManifest(srv.URL + "/w")
	if _, err := fetchOne(t, c, m); err == nil {
		t.Fatal("first Fetch succeeded through a cut connection")
	}
	fi, err := os.Stat(c.Path(m, m.Files[0]) + ".part")
	if err != nil {
		t.Fatalf("no .part after a cut: %v", err)
	}
	if fi.Size() == 0 || fi.Size() > int64(half) {
		t.Fatalf(".part has %d bytes, want 1..%d", fi.Size(), half)
	}
	if _, err := os.Stat(c.Path(m, m.Files[0])); !os.IsNotExist(err) {
		t.Fatal("final file exists after a cut")
	}
	path, err := fetchOne(t, c, m)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, c, m, path)
	want := []string{"", fmt.Sprintf("bytes=%d-", fi.Size())}
	if !slices.Equal(rec.ranges, want) {
		t.Errorf("Range headers %q, want %q", rec.ranges, want)
	}
}

func TestResumeServerIgnoresRange(t *testing.T) {
	srv, rec := serve(t, fullBody(payload))
	c := newCache(t)
	m := testManifest(srv.URL + "/w")
	part := c.Path(m, m.Files[0]) + ".part"
	os.MkdirAll(filepath.Dir(part), 0o755)
	if err := os.WriteFile(part, bytes.Repeat([]byte("x"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := fetchOne(t, c, m)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, c, m, path)
	if want := []string{"bytes=1000-"}; !slices.Equal(rec.ranges, want) {
		t.Errorf("Range headers %q, want %q", rec.ranges, want)
	}
}

// TestResumeBadPart resumes onto a .part whose bytes are wrong: the whole-file check fails and the URL is
// retried from byte 0.
func TestResumeBadPart(t *testing.T) {
	srv, rec := serve(t, content(payload))
	c := newCache(t)
	m := testManifest(srv.URL + "/w")
	part := c.Path(m, m.Files[0]) + ".part"
	os.MkdirAll(filepath.Dir(part), 0o755)
	if err := os.WriteFile(part, bytes.Repeat([]byte("x"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := fetchOne(t, c, m)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, c, m, path)
	if want := []string{"bytes=1000-", ""}; !slices.Equal(rec.ranges, want) {
		t.Errorf("Range headers %q, want %q", rec.ranges, want)
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	srv, rec := serve(t, slowBody(payload, 10*time.Millisecond))
	dir := t.TempDir()
	m := testManifest(srv.URL + "/w")
	const n = 4
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := &Cache{Dir: dir} // separate values, shared directory, as separate runs would have
			var p []string
			p, errs[i] = c.Fetch(context.Background(), m)
			if len(p) == 1 {
				paths[i] = p[0]
			}
		})
	}
	wg.Wait()
	c := &Cache{Dir: dir}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		checkDone(t, c, m, paths[i])
	}
	if got := rec.count(); got != 1 {
		t.Errorf("%d requests, want 1 (the others must wait for the lock and find the file)", got)
	}
}

// helperEnv carries the helper process's job: a JSON manifest and the cache directory.
const helperEnv = "INCEPTION_CACHE_TEST_HELPER"

// TestHelperFetch is not a test: TestConcurrentProcesses runs the test binary again with helperEnv set,
// and this function then does one Fetch and exits.
func TestHelperFetch(t *testing.T) {
	job := os.Getenv(helperEnv)
	if job == "" {
		t.Skip("helper process for TestConcurrentProcesses")
	}
	var m models.Manifest
	if err := json.Unmarshal([]byte(job), &m); err != nil {
		t.Fatal(err)
	}
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	c.Progress, c.Terminal = os.Stderr, true // the parent reports whether this process had to wait
	if _, err := c.Fetch(context.Background(), &m); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	srv, rec := serve(t, slowBody(payload, 20*time.Millisecond))
	dir := t.TempDir()
	m := testManifest(srv.URL + "/w")
	job, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFetch$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+string(job), EnvCache+"="+dir,
			EnvWeightsPath+"=", EnvMirror+"=")
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		}
		if strings.Contains(outs[i].String(), "waiting for another download") {
			t.Logf("process %d waited for the other's lock", i)
		}
	}
	c := &Cache{Dir: dir}
	checkDone(t, c, m, c.Path(m, m.Files[0]))
	if got := rec.count(); got != 1 {
		t.Errorf("%d requests, want 1 (the other process must wait for the lock and find the file)", got)
	}
}

func TestWeightsPath(t *testing.T) {
	srv, rec := serve(t, content(payload))
	m := testManifest(srv.URL + "/w")
	f := m.Files[0]
	repack := []byte("a repack: not the published bytes")

	t.Run("flat and per-set layouts, no request", func(t *testing.T) {
		empty, flat, nested := t.TempDir(), t.TempDir(), t.TempDir()
		os.WriteFile(filepath.Join(flat, f.Name), repack, 0o644)
		os.MkdirAll(filepath.Join(nested, m.Name), 0o755)
		os.WriteFile(filepath.Join(nested, m.Name, f.Name), repack, 0o644)
		for _, tc := range []struct{ list, want string }{
			{strings.Join([]string{empty, flat}, string(os.PathListSeparator)), filepath.Join(flat, f.Name)},
			{strings.Join([]string{"", nested, flat}, string(os.PathListSeparator)), filepath.Join(nested, m.Name, f.Name)},
		} {
			t.Setenv(EnvCache, t.TempDir())
			t.Setenv(EnvWeightsPath, tc.list)
			c, err := FromEnv()
			if err != nil {
				t.Fatal(err)
			}
			path, err := fetchOne(t, c, m)
			if err != nil {
				t.Fatal(err)
			}
			if path != tc.want {
				t.Errorf("path = %s, want %s", path, tc.want)
			}
		}
		if n := rec.count(); n != 0 {
			t.Errorf("%d requests, want none", n)
		}
	})
	t.Run("shared file name is not taken flat", func(t *testing.T) {
		// Every timm set in the registry ships model.safetensors: a bare one cannot say whose it is.
		shared := testManifest(srv.URL + "/w")
		shared.Files[0].Name = "model.safetensors"
		flat := t.TempDir()
		os.WriteFile(filepath.Join(flat, "model.safetensors"), repack, 0o644)
		c := &Cache{Dir: t.TempDir(), WeightsPath: []string{flat}}
		path, err := fetchOne(t, c, shared)
		if err != nil {
			t.Fatal(err)
		}
		if path != c.Path(shared, shared.Files[0]) {
			t.Errorf("path = %s, want the downloaded cache file", path)
		}
	})
}

func TestMirror(t *testing.T) {
	origin, originRec := serve(t, content(payload))
	mirror, mirrorRec := serve(t, content(payload))
	t.Setenv(EnvCache, t.TempDir())
	t.Setenv(EnvWeightsPath, "")
	t.Setenv(EnvMirror, mirror.URL+"/models/")
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	m := testManifest(origin.URL + "/w")
	path, err := fetchOne(t, c, m)
	if err != nil {
		t.Fatal(err)
	}
	checkDone(t, c, m, path)
	if want := []string{"/models/test.set/weights.safetensors"}; !slices.Equal(mirrorRec.paths, want) {
		t.Errorf("mirror saw %q, want %q", mirrorRec.paths, want)
	}
	if n := originRec.count(); n != 0 {
		t.Errorf("origin saw %d requests, want none", n)
	}
}

func TestCancelKeepsPart(t *testing.T) {
	started := make(chan struct{})
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		w.Write(payload[:4096])
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	})
	c := newCache(t)
	m := testManifest(srv.URL + "/w")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		time.Sleep(20 * time.Millisecond) // let the client write what arrived
		cancel()
	}()
	_, err := c.Fetch(ctx, m)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	final := c.Path(m, m.Files[0])
	if _, err := os.Stat(final); !os.IsNotExist(err) {
		t.Error("final file exists after cancel")
	}
	fi, err := os.Stat(final + ".part")
	if err != nil || fi.Size() == 0 {
		t.Errorf(".part missing or empty after cancel: %v", err)
	}
	if _, err := os.Stat(final + ".lock"); !os.IsNotExist(err) {
		t.Error(".lock left after cancel")
	}
}

func TestStall(t *testing.T) {
	defer func(d time.Duration) { stallTimeout = d }(stallTimeout)
	stallTimeout = 200 * time.Millisecond
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
		w.Write(payload[:100])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	c := newCache(t)
	_, err := fetchOne(t, c, testManifest(srv.URL+"/w"))
	if err == nil || !strings.Contains(err.Error(), "no data for") {
		t.Errorf("err = %v, want a stall error", err)
	}
}

func TestOfflineError(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/w"
	dead.Close()
	missing, _ := serve(t, http.NotFound)
	c := newCache(t)
	m := testManifest(deadURL, missing.URL+"/w")
	_, err := fetchOne(t, c, m)
	var de *DownloadError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v (%T), want *DownloadError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{deadURL, missing.URL + "/w", "404", c.Path(m, m.Files[0]), "--weights FILE"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
	if _, err := os.Stat(c.Path(m, m.Files[0])); !os.IsNotExist(err) {
		t.Error("final file exists after failure")
	}
}

func TestProgress(t *testing.T) {
	srv, _ := serve(t, content(payload))
	for _, terminal := range []bool{false, true} {
		var out bytes.Buffer
		c := &Cache{Dir: t.TempDir(), Progress: &out, Terminal: terminal}
		if _, err := fetchOne(t, c, testManifest(srv.URL+"/w")); err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if !terminal && got != "" {
			t.Errorf("not a terminal, printed %q", got)
		}
		if terminal && (!strings.Contains(got, "100%") || !strings.Contains(got, "1.0 MB / 1.0 MB") ||
			!strings.Contains(got, "weights.safetensors [")) {
			t.Errorf("terminal progress %q lacks name, bar, bytes or 100%%", got)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvCache, "")
	t.Setenv(EnvWeightsPath, "")
	t.Setenv(EnvMirror, "")
	xdg := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", xdg)
	t.Setenv("HOME", xdg)
	c, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := os.UserCacheDir()
	if want := filepath.Join(base, "inception"); c.Dir != want {
		t.Errorf("default Dir = %s, want %s", c.Dir, want)
	}
	if c.WeightsPath != nil || c.Mirror != "" {
		t.Errorf("WeightsPath %q Mirror %q, want none", c.WeightsPath, c.Mirror)
	}

	dir := t.TempDir()
	sep := string(os.PathListSeparator)
	t.Setenv(EnvCache, dir)
	t.Setenv(EnvWeightsPath, "/a"+sep+sep+"/b"+sep)
	t.Setenv(EnvMirror, "https://mirror.example/inception/")
	if c, err = FromEnv(); err != nil {
		t.Fatal(err)
	}
	if c.Dir != dir || !slices.Equal(c.WeightsPath, []string{"/a", "/b"}) || c.Mirror != "https://mirror.example/inception" {
		t.Errorf("got Dir %s WeightsPath %q Mirror %s", c.Dir, c.WeightsPath, c.Mirror)
	}
	m := &models.Manifest{Name: "s"}
	if got, want := c.Path(m, models.File{Name: "f.pth"}), filepath.Join(dir, "s", "f.pth"); got != want {
		t.Errorf("Path = %s, want %s", got, want)
	}
	if got := c.urls(m, models.File{Name: "f.pth"}); !slices.Equal(got, []string{"https://mirror.example/inception/s/f.pth"}) {
		t.Errorf("mirror URLs = %q", got)
	}

	for _, bad := range []string{"mirror.example", "ftp://mirror.example", "https://"} {
		t.Setenv(EnvMirror, bad)
		if _, err := FromEnv(); err == nil {
			t.Errorf("%s=%q accepted", EnvMirror, bad)
		}
	}
}

func TestVerify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	data := []byte("hello weights")
	os.WriteFile(path, data, 0o644)
	s256 := sha256.Sum256(data)
	s1 := sha1.Sum(data)
	good256, good1 := hex.EncodeToString(s256[:]), hex.EncodeToString(s1[:])
	for _, tc := range []struct {
		name string
		f    models.File
		kind string // "" = passes
	}{
		{"nothing recorded", models.File{}, ""},
		{"all good", models.File{Size: int64(len(data)), SHA256: good256, SHA256Prefix: good256[:8], SHA1: good1}, ""},
		{"size", models.File{Size: 3}, "size"},
		{"sha256", models.File{SHA256: strings.Repeat("0", 64)}, "sha256"},
		{"prefix", models.File{SHA256Prefix: "00000000"}, "sha256 prefix"},
		{"sha1", models.File{SHA1: strings.Repeat("0", 40)}, "sha1"},
	} {
		err := Verify(path, tc.f)
		var ce *ChecksumError
		switch {
		case tc.kind == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.kind != "" && (!errors.As(err, &ce) || ce.Kind != tc.kind || !errors.Is(err, ErrChecksum)):
			t.Errorf("%s: err = %v, want a %s ChecksumError", tc.name, err, tc.kind)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in           string
		first, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 100-199/*", 100, -1, true},
		{"bytes */200", -1, 200, true},
		{"bytes */*", 0, 0, false},
		{"bytes 100-199/150", 0, 0, false},
		{"bytes 200-100/300", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"bytes 1-2", 0, 0, false},
		{"", 0, 0, false},
	} {
		first, total, ok := parseContentRange(tc.in)
		if ok != tc.ok || (ok && (first != tc.first || total != tc.total)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, %v", tc.in, first, total, ok, tc.first, tc.total, tc.ok)
		}
	}
}

func TestLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	release, err := acquire(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var waited atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	if _, err := acquire(ctx, path, func() { waited.Store(true) }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second acquire: err = %v, want deadline exceeded", err)
	}
	if !waited.Load() {
		t.Error("waiting callback not called")
	}
	release()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("lock file left after release")
	}
	release2, err := acquire(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	release2()
}
