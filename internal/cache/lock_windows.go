//go:build windows

package cache

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// tryLock takes a non-blocking LockFileEx on the first byte of path; Windows drops it when the process dies.
func tryLock(path string) (release func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, err
	}
	h := windows.Handle(f.Fd())
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
			return nil, false, nil
		}
		return nil, false, &os.PathError{Op: "LockFileEx", Path: path, Err: err}
	}
	if !sameFile(f, path) {
		windows.UnlockFileEx(h, 0, 1, 0, ol)
		f.Close()
		return nil, false, nil
	}
	return func() {
		windows.UnlockFileEx(h, 0, 1, 0, ol)
		f.Close()
		// An open file cannot be removed on Windows: this fails, harmlessly, while another process waits on it.
		os.Remove(path)
	}, true, nil
}

func syncDir(string) {} // NTFS renames need no directory sync
