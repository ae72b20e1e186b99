package cache

import (
	"context"
	"os"
	"time"
)

// lockPoll is how often a waiting process retries a held lock.
const lockPoll = 50 * time.Millisecond

// acquire takes the exclusive lock at path (creating the file), waiting until it is free or ctx ends;
// waiting is called once if it has to wait. The returned release removes the lock file and frees the
// lock. Locks exclude other processes and other goroutines of this one alike.
func acquire(ctx context.Context, path string, waiting func()) (release func(), err error) {
	for {
		release, ok, err := tryLock(path)
		if err != nil {
			return nil, err
		}
		if ok {
			return release, nil
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// sameFile reports whether the open lock file f is still the one at path. A holder removes the lock file
// before unlocking, so a process that locked an inode it opened earlier may hold a lock nobody else sees;
// it must let go and start again.
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}
