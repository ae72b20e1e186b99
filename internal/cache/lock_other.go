//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package cache

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// Without flock the lock is the existence of the file, created with O_EXCL. A crashed holder cannot
// release it, so the holder refreshes its mtime and a lock untouched for lockStale is taken over: best
// effort, for platforms (plan9, wasip1, solaris, aix, ...) the tool is not released for.
const (
	lockRefresh = 10 * time.Second
	lockStale   = 2 * time.Minute
)

func tryLock(path string) (release func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > lockStale {
			os.Remove(path)
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	f.Close()
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(lockRefresh)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				os.Chtimes(path, now, now)
			}
		}
	}()
	return func() {
		close(stop)
		os.Remove(path)
	}, true, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
