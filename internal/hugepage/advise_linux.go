//go:build linux

package hugepage

import "golang.org/x/sys/unix"

// advise asks for b (whole huge pages, huge page aligned, zeroed and not yet written by its
// user) to be backed by huge pages: MADV_HUGEPAGE marks the range (THP in "madvise" mode needs
// it; in "always" mode it changes nothing), then MADV_DONTNEED drops the small pages the runtime
// may have faulted in while zeroing reused heap memory, so that the first writes fault in huge
// pages. Dropped anonymous pages read as zeros, so b's contents do not change. Errors (THP
// compiled out, "never" mode) leave ordinary pages, which are just as correct.
func advise(b []byte) {
	if unix.Madvise(b, unix.MADV_HUGEPAGE) != nil {
		return
	}
	_ = unix.Madvise(b, unix.MADV_DONTNEED)
}

// discard drops b's pages (whole base pages, page aligned) from the resident set.
func discard(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
