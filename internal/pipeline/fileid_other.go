//go:build !unix

package pipeline

import "io/fs"

// idOf has no portable identity to offer; the walk relies on its depth limit instead.
func idOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }
