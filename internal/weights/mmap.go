package weights

import (
	"encoding/binary"
	"errors"
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
