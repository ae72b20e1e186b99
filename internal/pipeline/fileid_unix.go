//go:build unix

package pipeline

import (
	"io/fs"
	"syscall"
)

// idOf returns the device and inode of a directory, to recognise it when a symlink leads back to it.
func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}
