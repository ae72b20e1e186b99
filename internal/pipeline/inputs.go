// Package pipeline labels many images: it expands the command line's inputs (files, directories,
// paths read from stdin) into a deterministic list, selects a shard, skips what an earlier run already
// labelled, and runs decoding and preprocessing in parallel ahead of the network, in bounded memory,
// delivering results in input order.
package pipeline

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Item is one input to label: a path, or an error that makes it fail without being read (a missing file,
// an unreadable directory). Failed items still get a record, so nothing is lost silently.
type Item struct {
	Path string
	Err  error
}

// ImageExtensions are the file name extensions a directory walk picks up (lower case, with the dot).
var ImageExtensions = []string{".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

// ExpandOptions control Expand.
type ExpandOptions struct {
	Stdin io.Reader // read when an input is "-"
	NUL   bool      // stdin paths are NUL-separated (find -print0) rather than one per line
	// NoRecurse limits a directory to its own files.
	NoRecurse bool
}

// Expand turns inputs into items, in input order. A file is taken as it is (whatever its extension);
// a directory contributes its image files, walked in lexical order, recursively unless NoRecurse,
// following symbolic links to directories but never into a directory already on the current path (a
// symlink loop) or visited before; "-" reads paths from Stdin.
func Expand(inputs []string, opts ExpandOptions) ([]Item, error) {
	var items []Item
	for _, in := range inputs {
		if in == "-" {
			if opts.Stdin == nil {
				return nil, errors.New("input -: no standard input")
			}
			paths, err := readPaths(opts.Stdin, opts.NUL)
			if err != nil {
				return nil, fmt.Errorf("read paths from standard input: %w", err)
			}
			for _, p := range paths {
				items = expandOne(items, p, opts)
			}
			continue
		}
		items = expandOne(items, in, opts)
	}
	return items, nil
}

func readPaths(r io.Reader, nul bool) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	if nul {
		sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
			if i := bytes.IndexByte(data, 0); i >= 0 {
				return i + 1, data[:i], nil
			}
			if atEOF && len(data) > 0 {
				return len(data), data, nil
			}
			return 0, nil, nil
		})
	}
	var out []string
	for sc.Scan() {
		p := sc.Text()
		if !nul {
			p = strings.TrimRight(p, "\r")
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out, sc.Err()
}

func expandOne(items []Item, path string, opts ExpandOptions) []Item {
	fi, err := os.Stat(path)
	if err != nil {
		return append(items, Item{Path: path, Err: fileError(err)})
	}
	if !fi.IsDir() {
		return append(items, Item{Path: path})
	}
	w := walker{opts: opts, seen: map[fileID]bool{}}
	w.walk(path, fi, 0)
	return append(items, w.items...)
}

// fileError strips the path from an os error: records name the file themselves.
func fileError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type walker struct {
	opts  ExpandOptions
	seen  map[fileID]bool
	items []Item
}

// maxDepth bounds the walk where directories have no identity to detect loops with.
const maxDepth = 256

func (w *walker) walk(dir string, fi fs.FileInfo, depth int) {
	if depth > maxDepth {
		w.items = append(w.items, Item{Path: dir, Err: fmt.Errorf("directory nesting deeper than %d", maxDepth)})
		return
	}
	if id, ok := idOf(fi); ok {
		if w.seen[id] {
			return // a symlink loop or a second link to a directory already walked
		}
		w.seen[id] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		w.items = append(w.items, Item{Path: dir, Err: fileError(err)})
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		isDir := e.IsDir()
		var info fs.FileInfo
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := os.Stat(p)
			if err != nil {
				if isImage(p) {
					w.items = append(w.items, Item{Path: p, Err: fileError(err)}) // a dangling link
				}
				continue
			}
			isDir, info = target.IsDir(), target
		}
		if isDir {
			if w.opts.NoRecurse {
				continue
			}
			if info == nil {
				if info, err = e.Info(); err != nil {
					w.items = append(w.items, Item{Path: p, Err: fileError(err)})
					continue
				}
			}
			w.walk(p, info, depth+1)
			continue
		}
		if isImage(p) {
			w.items = append(w.items, Item{Path: p})
		}
	}
}

func isImage(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	for _, e := range ImageExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

type fileID struct{ dev, ino uint64 }
