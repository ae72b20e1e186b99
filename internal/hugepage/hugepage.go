// Package hugepage allocates the large float32 buffers of a model (packed weights, activations,
// convolution scratch) so that the kernel backs them with transparent huge pages where it can.
//
// A forward pass streams a few hundred MB of weights and activations through the caches, so every
// 4 KiB page it touches misses the TLB again on every pass, and under a hypervisor each miss is a
// two-level page walk. In 2 MiB pages the same memory takes 512 times fewer entries. Measured on the
// dev box (a VM with THP in "madvise" mode, as Debian and Ubuntu ship it): switching THP to "always"
// made whole forward passes 2–7% faster; with the model's buffers from an Arena (BenchmarkForward at
// one thread, cpu-ms/op, 3 alternated rounds): v2 18.5–20.5 → 18.2–19.3, v3 50.7–51.9 → 49.1–50.8,
// v4 111.1–112.5 → 108.9–110.5, IRv1 59.3–60.3 → 58.1–59.4, IRv2 125.5–126.9 → 123.0–126.2. Leaving
// the packed weights in ordinary pages gave back 1–4% of that.
//
// Go's heap does not ask for huge pages, so Alloc does it for the buffers it returns: on Linux it
// advises the whole huge pages inside them MADV_HUGEPAGE, then MADV_DONTNEED so that memory the
// runtime had already zeroed is faulted in again, as huge pages. Elsewhere, or where THP is off,
// the buffers are ordinary heap memory. Either way they are garbage collected like any slice.
//
// The cost is at start-up: a huge page is zeroed in one fault, and on the dev box some of those
// faults are slow (probably the hypervisor backing the page first; the guest reports no compaction):
// classifying one photo with IRv2 took 0.65–0.72 s in six runs of seven and 0.92 s in the other,
// against 0.73–0.75 s with ordinary pages. The resident set grows by the unused parts of touched
// huge pages (see Arena).
package hugepage

import "unsafe"

// Size is the size of the huge pages the buffers are aligned to: 2 MiB, that of x86-64 and of arm64
// with 4 KiB base pages.
const Size = 2 << 20

// Alloc returns n zeroed float32s of the heap whose whole huge pages (those of the 2 MiB-aligned
// stretch inside them, if any) are advised as huge (advise). Their ends, in the pages they share
// with other objects, stay in ordinary pages.
func Alloc(n int) []float32 {
	s := make([]float32, n)
	if n == 0 {
		return s
	}
	lo := uintptr(unsafe.Pointer(&s[0]))
	a, b := (lo+Size-1)/Size*Size, (lo+uintptr(n)*4)/Size*Size
	if a < b {
		advise(unsafe.Slice((*byte)(unsafe.Pointer(&s[(a-lo)/4])), b-a))
	}
	return s
}

// chunkFloats is the smallest chunk an Arena takes: 32 MiB, of which the unaligned ends (at most a
// huge page each) are not huge.
const chunkFloats = 32 << 20 / 4

// Arena hands out zeroed slices, 64-byte aligned, carved from chunks of Alloc, so that the many
// buffers of a model (its packed weights) share huge pages
// instead of each rounding up to its own. A request goes to the first chunk with room left, or to
// a new chunk of at least its size. Nothing is freed before the whole arena is unreachable. A huge
// page is resident once any of it is written, so what an arena costs beyond its slices is the
// unused part of the pages they touch: at most the page where a chunk's carving stops. Keeping the
// rests of earlier chunks for later, smaller requests, instead of leaving a chunk when one request
// did not fit, took the max RSS of classifying a photo with IRv2 from 304–313 to 303–305 MB (299.5
// with ordinary pages). The zero Arena is ready to use; it is not safe for concurrent use.
type Arena struct {
	rests [][]float32 // the unused tails of the chunks, in the order they were taken
}

// Alloc returns n zeroed float32s.
func (a *Arena) Alloc(n int) []float32 {
	m := (n + 15) &^ 15
	i := 0
	for i < len(a.rests) && len(a.rests[i]) < m {
		i++
	}
	if i == len(a.rests) {
		c := Alloc(max(m, chunkFloats) + 15) // room to align the start to 64 bytes
		if k := int(uintptr(unsafe.Pointer(&c[0])) % 64); k != 0 {
			c = c[(64-k)/4:]
		}
		a.rests = append(a.rests, c)
	}
	s := a.rests[i][:n:n]
	a.rests[i] = a.rests[i][m:]
	return s
}

// Reserve takes a chunk of exactly n float32s (Exact) for the arena's next requests, for an owner
// that knows what it will carve: a chunk that the requests fill to its end leaves no huge page
// partly unused, where each chunk of chunkFloats left up to one (v3's packed weights: 116 MB in four
// chunks, 2.3 MiB more resident than the weights). Requests that do not fit go on as before. n is
// counted as Alloc counts: each request rounded up to 16 float32s.
func (a *Arena) Reserve(n int) {
	if n > 0 {
		a.rests = append(a.rests, Exact(n))
	}
}

// Spare returns the float32s left in the arena's chunks.
func (a *Arena) Spare() int {
	n := 0
	for _, r := range a.rests {
		n += len(r)
	}
	return n
}

// Exact returns n zeroed float32s, 64-byte aligned, for one large buffer that is used whole (a
// forward plan's activations): they end on a huge page boundary, so that its whole huge pages are
// huge and the part before the first boundary ordinary pages, and writing all of it makes just
// its own pages resident. From an Arena, such a buffer starts a chunk and its last huge page is
// resident whole: up to 2 MiB more than the plan, 1–2.6 MiB for those of v4 and IRv2.
func Exact(n int) []float32 {
	if n == 0 {
		return nil
	}
	c := make([]float32, n+Size/4+16)
	lo := uintptr(unsafe.Pointer(&c[0]))
	end := (lo + uintptr(len(c))*4) / Size * Size // a boundary with room for n floats before it
	start := (end - uintptr(n)*4) &^ 63
	s := c[(start-lo)/4:][:n:n]
	if a := (start + Size - 1) / Size * Size; a < end {
		advise(unsafe.Slice((*byte)(unsafe.Pointer(&c[(a-lo)/4])), end-a))
	}
	Discard(c[:(start-lo)/4]) // unused; resident if the runtime zeroed reused memory
	return s
}

// Discard hands the whole pages inside s back to the OS once its contents are no longer needed,
// so that they leave the resident set now rather than when the garbage collector frees s (which,
// in a heap grown by a model's weights, may be never in a short run). s stays valid: its dropped
// pages read as zeros and are faulted in again if written. Binding a model drops the part of its
// fold buffer that the smaller layers still to fold do not need (v3's largest takes 6.2 MB).
func Discard(s []float32) {
	if len(s) == 0 {
		return
	}
	const page = 4096
	lo := uintptr(unsafe.Pointer(&s[0]))
	a, b := (lo+page-1)/page*page, (lo+uintptr(len(s))*4)/page*page
	if a < b {
		discard(unsafe.Slice((*byte)(unsafe.Pointer(&s[(a-lo)/4])), b-a))
	}
}
