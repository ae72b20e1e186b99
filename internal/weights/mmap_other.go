//go:build !unix

package weights

import "os"

// canMap is whether mapFile can map files here.
const canMap = false

// mapFile is unavailable here; ReadSafetensors reads the file instead.
func mapFile(fd *os.File, size int64) ([]byte, error) { return nil, errNoMap }

// unmapFile is never reached without mapFile.
func unmapFile(b []byte) error { return nil }

// dropPages leaves the pages alone where there is no madvise.
func dropPages([]byte) {}
