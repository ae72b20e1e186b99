package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync/atomic"
	"unsafe"
)

// liveMappings counts the file mappings made by mapFile and not yet
// released by unmapFile; tests use it to check that nothing leaks.
var liveMappings atomic.Int64

// errNoMap means the file cannot be mapped here; callers read it instead.
var errNoMap = errors.New("memory mapping unavailable")

// littleEndian is whether float32 values in memory have the little-endian
// layout of safetensors, so that F32 data can be used in place.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// f32View returns b as float32s without copying, or ok=false when b's start
// is not 4-byte aligned. len(b) must be a multiple of 4.
func f32View(b []byte) (v []float32, ok bool) {
	if len(b) == 0 {
		return []float32{}, true
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if uintptr(p)%unsafe.Alignof(float32(0)) != 0 {
		return nil, false
	}
	return unsafe.Slice((*float32)(p), len(b)/4), true
}

// aliases reports whether d points into m.
func aliases(m []byte, d []float32) bool {
	if len(m) == 0 || len(d) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(d)))
	return p >= lo && p < lo+uintptr(len(m))
}

// openFile opens path for reading. For a file that is not regular (a pipe, a
// device) it returns the whole contents in all and a nil fd; otherwise the
// open fd, which the caller closes, and its size.
func openFile(path string) (fd *os.File, size int64, all []byte, err error) {
	fd, err = os.Open(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read %s: %w", path, err)
	}
	fi, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, 0, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		defer fd.Close()
		all, err := io.ReadAll(fd)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("read %s: %w", path, err)
		}
		return nil, 0, all, nil
	}
	return fd, fi.Size(), nil, nil
}

// mapOrRead returns the first size bytes of the regular file fd: mapped
// (mapped true; unmapFile releases them) or, where mapping is unavailable,
// read into memory. A mapped file is checked to still be size bytes long, as
// touching a mapped page past its end raises SIGBUS.
func mapOrRead(path string, fd *os.File, size int64) (b []byte, mapped bool, err error) {
	b, err = mapFile(fd, size)
	if err != nil {
		if size > math.MaxInt {
			return nil, false, formatErrorf(path, "file of %d bytes is too large for this machine", size)
		}
		b = make([]byte, size)
		if _, err := fd.ReadAt(b, 0); err != nil {
			return nil, false, readError(path, err)
		}
		return b, false, nil
	}
	if fi, err := fd.Stat(); err != nil || fi.Size() != size {
		unmapFile(b)
		return nil, false, formatErrorf(path, "file changed size while being read")
	}
	return b, true, nil
}
