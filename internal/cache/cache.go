// Package cache finds published weight files on disk or downloads them once, verified, into a per-user
// cache: <Dir>/<weight set name>/<file name>.
//
// A download goes to <final>.part next to the final path, under an exclusive lock on <final>.lock, and is
// renamed into place only after its size and digests match the manifest, so the final path never holds a
// partial file. An interrupted download resumes from the .part with an HTTP Range request.
package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/inception-cli/inception/models"
)

// Environment variables read by FromEnv.
const (
	EnvCache       = "INCEPTION_CACHE"        // cache root; default os.UserCacheDir()/inception
	EnvWeightsPath = "INCEPTION_WEIGHTS_PATH" // list of directories (filepath.ListSeparator) searched first
	EnvMirror      = "INCEPTION_MIRROR"       // base URL replacing the publishers' hosts
)

// Cache locates weight files and downloads missing ones. The zero value is not usable; build one with
// FromEnv or fill Dir.
type Cache struct {
	Dir string // cache root: files live at <Dir>/<set name>/<file name>
	// WeightsPath lists directories searched before the cache and before any download, for
	// <dir>/<set name>/<file name> and then <dir>/<file name> (the latter only for file names no other
	// registered set uses: every timm set ships a "model.safetensors"). Files found there are returned
	// without checksum checks: they may be repacks, and the caller validates them by loading them.
	WeightsPath []string
	// Mirror, if set, replaces every publisher URL: files come from <Mirror>/<set name>/<file name> and
	// are verified like any download.
	Mirror   string
	Client   *http.Client // nil means http.DefaultClient (proxies from the environment)
	Progress io.Writer    // progress bar destination; nil for none
	Terminal bool         // Progress is a terminal; without one nothing is printed
}

// FromEnv builds a Cache from $INCEPTION_CACHE, $INCEPTION_WEIGHTS_PATH and $INCEPTION_MIRROR. Progress
// and Terminal are left for the caller, who owns the output streams (see IsTerminal).
func FromEnv() (*Cache, error) {
	c := &Cache{Dir: os.Getenv(EnvCache)}
	if c.Dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("cache directory: %w (set %s)", err, EnvCache)
		}
		c.Dir = filepath.Join(base, "inception")
	}
	if abs, err := filepath.Abs(c.Dir); err == nil {
		c.Dir = abs
	}
	for _, d := range filepath.SplitList(os.Getenv(EnvWeightsPath)) {
		if d != "" {
			c.WeightsPath = append(c.WeightsPath, d)
		}
	}
	if m := os.Getenv(EnvMirror); m != "" {
		u, err := url.Parse(m)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s %q: want an http(s) base URL", EnvMirror, m)
		}
		c.Mirror = strings.TrimRight(m, "/")
	}
	return c, nil
}

// Path is where file f of set m lives in the cache, whether or not it is there yet.
func (c *Cache) Path(m *models.Manifest, f models.File) string {
	return filepath.Join(c.Dir, m.Name, f.Name)
}

// Cached returns a local copy of f without touching the network: first from WeightsPath, then a
// complete file in the cache (right size when the size is published). Cache files are trusted: only a
// verified download or the user puts them there.
func (c *Cache) Cached(m *models.Manifest, f models.File) (path string, ok bool) {
	for _, d := range c.WeightsPath {
		if p := filepath.Join(d, m.Name, f.Name); isFile(p) {
			return p, true
		}
		if p := filepath.Join(d, f.Name); !sharedName(m.Name, f.Name) && isFile(p) {
			return p, true
		}
	}
	p := c.Path(m, f)
	if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && (f.Size == 0 || fi.Size() == f.Size) {
		return p, true
	}
	return "", false
}

// Fetch returns local paths for every file of m, in m.Files order, downloading what Cached does not
// find. Each file's URLs (or the mirror) are tried in order; an HTTP error or a checksum mismatch falls
// through to the next. When ctx ends, the .part file stays for the next Fetch to resume and the error
// wraps ctx.Err(). When every URL fails the error is a *DownloadError.
func (c *Cache) Fetch(ctx context.Context, m *models.Manifest) ([]string, error) {
	if m == nil || len(m.Files) == 0 {
		return nil, errors.New("cache: manifest without files")
	}
	paths := make([]string, 0, len(m.Files))
	for _, f := range m.Files {
		p, err := c.fetchFile(ctx, m, f)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func (c *Cache) fetchFile(ctx context.Context, m *models.Manifest, f models.File) (string, error) {
	if p, ok := c.Cached(m, f); ok {
		return p, nil
	}
	if c.Dir == "" {
		return "", errors.New("cache: no cache directory")
	}
	if f.Name == "" || filepath.Base(f.Name) != f.Name || filepath.Base(m.Name) != m.Name {
		return "", fmt.Errorf("cache: bad set or file name %q/%q", m.Name, f.Name)
	}
	final := c.Path(m, f)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	release, err := acquire(ctx, final+".lock", func() {
		c.say("waiting for another download of %s/%s to finish\n", m.Name, f.Name)
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("download %s/%s: %w", m.Name, f.Name, ctx.Err())
		}
		return "", fmt.Errorf("cache: %w", err)
	}
	defer release()
	// Whoever held the lock before us may have finished the job.
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && (f.Size == 0 || fi.Size() == f.Size) {
		return final, nil
	}
	var tried []Attempt
	for _, u := range c.urls(m, f) {
		err := c.download(ctx, u, final, f)
		if err == nil {
			return final, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("download %s/%s: %w", m.Name, f.Name, ctx.Err())
		}
		tried = append(tried, Attempt{URL: u, Err: err})
	}
	return "", &DownloadError{Set: m.Name, File: f.Name, Path: final, Tried: tried}
}

// urls lists where f can be downloaded from, in order.
func (c *Cache) urls(m *models.Manifest, f models.File) []string {
	if c.Mirror != "" {
		return []string{c.Mirror + "/" + url.PathEscape(m.Name) + "/" + url.PathEscape(f.Name)}
	}
	return f.URLs
}

func (c *Cache) say(format string, args ...any) {
	if c.Terminal && c.Progress != nil {
		fmt.Fprintf(c.Progress, format, args...)
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// sharedName reports whether a registered set other than set has a file called name, which makes a
// bare <dir>/<name> in the weights path ambiguous.
func sharedName(set, name string) bool {
	all, err := models.All()
	if err != nil {
		return false
	}
	for _, m := range all {
		if m.Name == set {
			continue
		}
		for _, f := range m.Files {
			if f.Name == name {
				return true
			}
		}
	}
	return false
}

// ErrChecksum is models.ErrChecksum: errors.Is(err, ErrChecksum) holds for a *ChecksumError and for a
// *DownloadError any of whose attempts failed verification.
var ErrChecksum = models.ErrChecksum

// ChecksumError reports a file whose size or digest differs from its manifest.
type ChecksumError struct {
	File string // file name
	URL  string // where it was downloaded from; "" for a file checked in place
	Kind string // "size", "sha256", "sha256 prefix" or "sha1"
	Want string
	Got  string
}

func (e *ChecksumError) Error() string {
	from := ""
	if e.URL != "" {
		from = " from " + e.URL
	}
	return fmt.Sprintf("%s%s: %s mismatch (want %s, got %s)", e.File, from, e.Kind, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrChecksum) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// HTTPError is a non-success HTTP status.
type HTTPError struct {
	Code   int
	Status string // e.g. "404 Not Found"
}

func (e *HTTPError) Error() string { return "HTTP " + e.Status }

// Attempt is one URL tried by Fetch and why it failed.
type Attempt struct {
	URL string
	Err error
}

// DownloadError reports that no URL of a file worked (offline, removed, or failed verification). Its
// one-line message names every URL tried, the cache path where the file can be placed by hand, and the
// --weights alternative.
type DownloadError struct {
	Set, File string
	Path      string // the cache path the file belongs at
	Tried     []Attempt
}

func (e *DownloadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "download %s/%s failed (", e.Set, e.File)
	for i, a := range e.Tried {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", a.URL, strings.Join(strings.Fields(fmt.Sprint(a.Err)), " "))
	}
	if len(e.Tried) == 0 {
		b.WriteString("no URL")
	}
	fmt.Fprintf(&b, "); put the file at %s or pass --weights FILE", e.Path)
	return b.String()
}

// Unwrap returns the attempts' errors.
func (e *DownloadError) Unwrap() []error {
	errs := make([]error, len(e.Tried))
	for i, a := range e.Tried {
		errs[i] = a.Err
	}
	return errs
}
