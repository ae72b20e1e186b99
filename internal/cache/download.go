package cache

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/inception-cli/inception/models"
)

// stallTimeout ends a request that receives no bytes for this long (headers included); a variable so
// tests can shorten it.
var stallTimeout = 60 * time.Second

var errStalled = errors.New("stalled")

// download brings final into existence from one URL: transfer into final.part (resuming what is there),
// verify, fsync, rename. On a checksum mismatch the .part is removed; if it had been resumed the bytes
// from before may be to blame, so the URL is tried once more from zero.
func (c *Cache) download(ctx context.Context, url, final string, f models.File) error {
	part := final + ".part"
	for attempt := 0; ; attempt++ {
		resumed, err := c.transfer(ctx, url, part, f)
		if err != nil {
			if errors.Is(err, ErrChecksum) {
				os.Remove(part)
			}
			return err
		}
		err = verify(part, f)
		if err == nil {
			break
		}
		os.Remove(part)
		var ce *ChecksumError
		if errors.As(err, &ce) {
			ce.URL = url
		}
		if !resumed || attempt > 0 {
			return err
		}
	}
	if err := os.Rename(part, final); err != nil {
		return err
	}
	syncDir(filepath.Dir(final))
	return nil
}

// transfer downloads url into part, continuing after the bytes already there when the server honours a
// Range request (206) and starting over when it ignores it (200). It returns with part complete as far
// as the server is concerned and synced to disk; resumed says whether earlier bytes were kept.
func (c *Cache) transfer(ctx context.Context, url, part string, f models.File) (resumed bool, err error) {
	fh, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	off, err := fh.Seek(0, io.SeekEnd)
	if err != nil {
		return false, err
	}
	if f.Size > 0 && off > f.Size {
		if off, err = restart(fh); err != nil {
			return false, err
		}
	}
	if f.Size > 0 && off == f.Size {
		return true, nil // complete .part left by a run that stopped before the rename: just verify it
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := time.AfterFunc(stallTimeout, func() { cancel(errStalled) })
	defer stall.Stop()

	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		req.Header.Set("User-Agent", "inception (weights download)")
		if off > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
		}
		resp, err := c.client().Do(req)
		if err != nil {
			return false, stallErr(ctx, err)
		}
		total := int64(-1)
		retry := false
		switch {
		case resp.StatusCode == http.StatusPartialContent && off > 0:
			start, tot, ok := parseContentRange(resp.Header.Get("Content-Range"))
			if !ok || start != off {
				retry = true // a range we did not ask for: start over without one
				break
			}
			total, resumed = tot, true
		case resp.StatusCode == http.StatusOK:
			// Either a fresh download or a server that ignores Range: both start at byte 0.
			if off, err = restart(fh); err != nil {
				resp.Body.Close()
				return false, err
			}
			total, resumed = resp.ContentLength, false
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
			// The .part reaches (or passes) the end of the remote file.
			if _, tot, ok := parseContentRange(resp.Header.Get("Content-Range")); ok && tot == off {
				resp.Body.Close()
				return true, fh.Sync()
			}
			retry = true
		default:
			resp.Body.Close()
			return false, &HTTPError{Code: resp.StatusCode, Status: resp.Status}
		}
		if retry {
			resp.Body.Close()
			if try > 0 {
				return false, fmt.Errorf("server answered a range request with %q", resp.Header.Get("Content-Range"))
			}
			if off, err = restart(fh); err != nil {
				return false, err
			}
			continue
		}
		if f.Size > 0 && total >= 0 && total != f.Size {
			resp.Body.Close()
			return false, &ChecksumError{File: f.Name, URL: url, Kind: "size",
				Want: strconv.FormatInt(f.Size, 10), Got: strconv.FormatInt(total, 10)}
		}
		err = c.copyBody(fh, off, total, resp.Body, f.Name, stall)
		resp.Body.Close()
		if err != nil {
			fh.Sync() // keep what arrived for the next resume
			return resumed, stallErr(ctx, err)
		}
		return resumed, fh.Sync()
	}
}

// copyBody writes body into fh from offset off, drawing progress and pushing back the stall timer on
// every read.
func (c *Cache) copyBody(fh *os.File, off, total int64, body io.Reader, name string, stall *time.Timer) error {
	if _, err := fh.Seek(off, io.SeekStart); err != nil {
		return err
	}
	b := c.newBar(name, off, total)
	buf := make([]byte, 256<<10)
	done := off
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			stall.Reset(stallTimeout)
			if _, err := fh.Write(buf[:n]); err != nil {
				b.end()
				return err
			}
			done += int64(n)
			b.update(done)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			b.end()
			return rerr
		}
	}
	b.end()
	if total >= 0 && done != total {
		return fmt.Errorf("got %d of %d bytes: %w", done, total, io.ErrUnexpectedEOF)
	}
	return nil
}

func (c *Cache) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return http.DefaultClient
}

// stallErr replaces the context error of a stalled request by a readable one.
func stallErr(ctx context.Context, err error) error {
	if context.Cause(ctx) == errStalled {
		return fmt.Errorf("no data for %v", stallTimeout)
	}
	return err
}

func restart(fh *os.File) (int64, error) {
	if err := fh.Truncate(0); err != nil {
		return 0, err
	}
	return fh.Seek(0, io.SeekStart)
}

// parseContentRange parses "bytes first-last/total" (total may be "*": -1) and "bytes */total" (first
// is then -1).
func parseContentRange(s string) (first, total int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil || t < 0 {
			return 0, 0, false
		}
		total = t
	}
	if rng == "*" {
		return -1, total, total >= 0
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first || (total >= 0 && last >= total) {
		return 0, 0, false
	}
	return first, total, true
}

// Verify checks the file at path against every size and digest f records, returning a *ChecksumError
// (errors.Is ErrChecksum) on the first mismatch. A file with nothing recorded passes.
func Verify(path string, f models.File) error { return verify(path, f) }

func verify(path string, f models.File) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if f.Size > 0 {
		fi, err := fh.Stat()
		if err != nil {
			return err
		}
		if fi.Size() != f.Size {
			return &ChecksumError{File: f.Name, Kind: "size",
				Want: strconv.FormatInt(f.Size, 10), Got: strconv.FormatInt(fi.Size(), 10)}
		}
	}
	var s256, s1 hash.Hash
	var ws []io.Writer
	if f.SHA256 != "" || f.SHA256Prefix != "" {
		s256 = sha256.New()
		ws = append(ws, s256)
	}
	if f.SHA1 != "" {
		s1 = sha1.New()
		ws = append(ws, s1)
	}
	if len(ws) == 0 {
		return nil
	}
	if _, err := io.Copy(io.MultiWriter(ws...), fh); err != nil {
		return err
	}
	if s256 != nil {
		got := hex.EncodeToString(s256.Sum(nil))
		if f.SHA256 != "" && got != f.SHA256 {
			return &ChecksumError{File: f.Name, Kind: "sha256", Want: f.SHA256, Got: got}
		}
		if !strings.HasPrefix(got, f.SHA256Prefix) {
			return &ChecksumError{File: f.Name, Kind: "sha256 prefix", Want: f.SHA256Prefix, Got: got}
		}
	}
	if s1 != nil {
		if got := hex.EncodeToString(s1.Sum(nil)); got != f.SHA1 {
			return &ChecksumError{File: f.Name, Kind: "sha1", Want: f.SHA1, Got: got}
		}
	}
	return nil
}
