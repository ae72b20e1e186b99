package hugepage

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func addr(s []float32) uintptr { return uintptr(unsafe.Pointer(&s[0])) }

// checkFresh fails t unless s, what Alloc(n) returned, has n zeros.
func checkFresh(t *testing.T, n int, s []float32) {
	t.Helper()
	if len(s) != n || cap(s) < n {
		t.Fatalf("Alloc(%d): len %d cap %d", n, len(s), cap(s))
	}
	for i, v := range s {
		if v != 0 {
			t.Fatalf("Alloc(%d)[%d] = %v, want 0", n, i, v)
		}
	}
}

func TestAlloc(t *testing.T) {
	for _, n := range []int{0, 1, 1000, Size/4 - 1, Size / 4, Size/4 + 1, 3*Size/4 + 5} {
		s := Alloc(n)
		checkFresh(t, n, s)
		checkWritable(t, "Alloc", s)
	}
}

// checkWritable writes every element of s and reads them back.
func checkWritable(t *testing.T, what string, s []float32) {
	t.Helper()
	for i := range s {
		s[i] = float32(i)
	}
	for i, v := range s {
		if v != float32(i) {
			t.Fatalf("%s(%d) lost the write at %d", what, len(s), i)
		}
	}
}

func TestArena(t *testing.T) {
	var a Arena
	sizes := []int{5, 16, 17, 1000, chunkFloats/4 - 1, chunkFloats / 4, chunkFloats/2 + 3, 7, chunkFloats + 5, chunkFloats/4 - 1, 3 * chunkFloats / 4, 1}
	var got [][]float32
	for i, n := range sizes {
		s := a.Alloc(n)
		checkFresh(t, n, s)
		if cap(s) != n {
			t.Fatalf("Alloc(%d): cap %d, which would let an append overwrite the next slice", n, cap(s))
		}
		if addr(s)%64 != 0 {
			t.Errorf("Alloc(%d) at %#x is not 64-byte aligned", n, addr(s))
		}
		for j := range s {
			s[j] = float32(i)
		}
		got = append(got, s)
	}
	// Every slice still holds its own index: none overlaps another.
	for i, s := range got {
		for j, v := range s {
			if v != float32(i) {
				t.Fatalf("slice %d (len %d)[%d] = %v: overwritten by another", i, len(s), j, v)
			}
		}
	}
}

// TestArenaRests: a request that does not fit the current chunk opens a new one, and later requests
// that fit the first chunk's rest are carved from it rather than from the new chunk.
func TestArenaRests(t *testing.T) {
	var a Arena
	first := a.Alloc(chunkFloats / 2)
	big := a.Alloc(chunkFloats) // does not fit the rest of the first chunk
	small := a.Alloc(chunkFloats / 4)
	lo, hi := addr(first), addr(first)+uintptr(chunkFloats+15)*4
	if p := addr(big); p >= lo && p < hi {
		t.Fatalf("a chunk-sized request at %#x lies in the first chunk [%#x, %#x)", p, lo, hi)
	}
	if p := addr(small); p < lo || p >= hi {
		t.Errorf("a request that fits the first chunk's rest went to %#x, outside [%#x, %#x)", p, lo, hi)
	}
}

// TestHugePages checks, where Linux offers transparent huge pages on request, that Alloc's
// memory gets them: the mapping holding a written Alloc reports AnonHugePages in
// /proc/self/smaps.
// TestExact checks that an Exact buffer is zeroed, 64-byte aligned, writable alone and ends within
// 64 bytes before a huge page boundary, so that no huge page it touches holds anything else.
func TestExact(t *testing.T) {
	for _, n := range []int{1, 1000, Size/4 - 1, Size / 4, 3*Size/4 + 5, 5 * Size / 4} {
		s := Exact(n)
		checkFresh(t, n, s)
		if cap(s) != n {
			t.Fatalf("Exact(%d): cap %d", n, cap(s))
		}
		if addr(s)%64 != 0 {
			t.Errorf("Exact(%d) at %#x is not 64-byte aligned", n, addr(s))
		}
		if end := addr(s) + uintptr(n)*4; (Size-end%Size)%Size >= 64 {
			t.Errorf("Exact(%d) ends at %#x, %d bytes before a huge page boundary", n, end, Size-end%Size)
		}
		checkWritable(t, "Exact", s)
	}
}

func TestHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !(strings.Contains(string(mode), "[always]") || strings.Contains(string(mode), "[madvise]")) {
		t.Skipf("transparent huge pages are not available on request here (%q, %v)", mode, err)
	}
	s := Alloc(4 * Size / 4)
	for i := range s {
		s[i] = 1
	}
	kb, err := anonHugeKB((addr(s) + Size - 1) / Size * Size) // the first whole page: advise splits the mapping there
	if err != nil {
		t.Fatal(err)
	}
	if kb < 2*Size/1024 { // of the 4 pages' worth, at least the 3 whole pages inside but one
		t.Errorf("the mapping of a written %d MiB Alloc has %d kB in huge pages, want at least %d", len(s)*4>>20, kb, Size/1024)
	}
}

// anonHugeKB returns the AnonHugePages of the mapping in /proc/self/smaps that holds p.
func anonHugeKB(p uintptr) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		// A mapping's header: "lo-hi perms offset dev inode [path]"; its fields follow as "Name: value".
		if f := strings.Fields(line); len(f) > 0 && !strings.HasSuffix(f[0], ":") {
			lo, hi, _ := strings.Cut(f[0], "-")
			a, err1 := strconv.ParseUint(lo, 16, 64)
			b, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 != nil || err2 != nil {
				return 0, fmt.Errorf("smaps: unexpected line %q", line)
			}
			in = uint64(p) >= a && uint64(p) < b
			continue
		}
		if v, ok := strings.CutPrefix(line, "AnonHugePages:"); ok && in {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, sc.Err()
}
