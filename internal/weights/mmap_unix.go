//go:build unix

package weights

import (
	"math"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// canMap is whether mapFile can map files here.
const canMap = true

// mapFile maps the first size bytes of fd, which must be a regular file of
// that size. The mapping is private copy-on-write: the file is opened
// read-only and never changes, but a caller that writes to a Tensor's Data
// gets its own copy of the page instead of a crash.
func mapFile(fd *os.File, size int64) ([]byte, error) {
	if size <= 0 || size > math.MaxInt {
		return nil, errNoMap
	}
	b, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return nil, errNoMap
	}
	liveMappings.Add(1)
	return b, nil
}

// unmapFile releases a mapping made by mapFile.
func unmapFile(b []byte) error {
	liveMappings.Add(-1)
	return unix.Munmap(b)
}

// dropPages tells the kernel the whole pages inside b are not needed now:
// they leave the resident set. In a private read-only-in-practice file
// mapping, touching them again reads them back from the file; in memory of
// the process's own (a decoded copy), they read as zeros.
func dropPages(b []byte) {
	page := uintptr(os.Getpagesize())
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	hi := lo + uintptr(len(b))
	start, end := (lo+page-1)&^(page-1), hi&^(page-1)
	if end <= start {
		return
	}
	_ = unix.Madvise(b[start-lo:end-lo], unix.MADV_DONTNEED) // advice: nothing to do if refused
}
