// Package eval measures a classifier's accuracy on a labelled folder (`inception eval DIR`): a
// Source names each image's true class, a Resolver turns that name into a class index of the
// classifier in use (ImageNet's 1000 classes or a custom head's labels), and Metrics accumulates
// top-1/top-5 accuracy, per-class accuracy and the most confused pairs.
package eval

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A Source names the true class of an image file. Errors are one line naming the file.
type Source interface {
	Class(path string) (string, error)
}

// Folders names each file after the first-level folder it sits in under Root:
// Root/tabby/x.jpg and Root/tabby/2024/x.jpg are both "tabby". A file directly in Root or outside
// it is an error. Paths are compared after filepath.Abs; symbolic links are not resolved.
type Folders struct {
	Root string
}

// Class implements Source.
func (f Folders) Class(path string) (string, error) {
	root, err := filepath.Abs(f.Root)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s: not under %s, so no class folder", path, f.Root)
	}
	class, rest, ok := strings.Cut(rel, string(filepath.Separator))
	if !ok || rest == "" {
		return "", fmt.Errorf("%s: directly in %s, not in a class folder", path, f.Root)
	}
	return class, nil
}

// FilePrefix names each file by the prefix of its base name: the name without its extension, up
// to its last '_'. n02123045_123.JPEG is "n02123045", tabby_3.jpg is "tabby" and
// golden_retriever_12.png is "golden_retriever" (a Resolver treats '_' as a space). A name without
// a '_' after its first character is an error. ImageNet's own validation files
// (ILSVRC2012_val_00000001.JPEG) carry no class in their names: they need a LabelsFile, and the
// error says so.
type FilePrefix struct{}

// Class implements Source.
func (FilePrefix) Class(path string) (string, error) {
	base := filepath.Base(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if strings.HasPrefix(stem, "ILSVRC") && strings.Contains(stem, "_val_") {
		return "", fmt.Errorf("%s: ImageNet validation file names carry no class: use a labels file", path)
	}
	i := strings.LastIndexByte(stem, '_')
	if i <= 0 {
		return "", fmt.Errorf("%s: file name has no <class>_ prefix", path)
	}
	return stem[:i], nil
}

// LabelEntry is one line of a labels file.
type LabelEntry struct {
	Path  string // absolute and cleaned
	Class string
	Line  int // 1-based line number in the labels file
}

// LabelsFile is a labels file read by ReadLabelsFile.
type LabelsFile struct {
	Path    string
	entries []LabelEntry
	byPath  map[string]int // LabelEntry.Path → index in entries
	byBase  map[string]int // base name of an entry written as a bare file name → index in entries
}

// headerNames are first-column names that mark a first line as a header and not an entry.
var headerNames = map[string]bool{
	"path": true, "file": true, "filename": true, "file_name": true, "filepath": true,
	"image": true, "image_path": true, "image_id": true, "imageid": true, "img": true,
}

// ReadLabelsFile reads a file of image-to-class lines. Blank lines and lines starting with '#'
// are skipped. The first other line decides the separator for the whole file: a tab if it has one
// ("path<TAB>class"), else a comma if it has one (CSV, "path,class", with CSV quoting), else the
// last run of spaces ("path class": the class cannot contain spaces, the path can). Every line has
// exactly a path and a non-empty class. A first line whose path column is a name like "path",
// "file", "filename" or "image" (any case) is a header and is skipped. Paths are absolute or
// relative to the labels file's directory. A path listed twice must have the same class.
func ReadLabelsFile(path string) (*LabelsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels file: %w", err) // *PathError names the file
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("labels file %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	l := &LabelsFile{Path: path, byPath: map[string]int{}, byBase: map[string]int{}}
	sep := byte(0)
	for i, line := range strings.Split(string(b), "\n") {
		n := i + 1
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		first := sep == 0
		if first {
			switch {
			case strings.Contains(line, "\t"):
				sep = '\t'
			case strings.Contains(line, ","):
				sep = ','
			default:
				sep = ' '
			}
		}
		p, class, err := splitLabelLine(line, sep)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if first && headerNames[strings.ToLower(p)] {
			continue
		}
		full := p
		if !filepath.IsAbs(full) {
			full = filepath.Join(dir, full)
		}
		full = filepath.Clean(full)
		if j, ok := l.byPath[full]; ok {
			if prev := l.entries[j]; prev.Class != class {
				return nil, fmt.Errorf("%s:%d: %s has class %q but line %d gave it %q", path, n, p, class, prev.Line, prev.Class)
			}
			continue
		}
		l.byPath[full] = len(l.entries)
		if !strings.ContainsAny(p, `/\`) {
			l.byBase[p] = len(l.entries)
		}
		l.entries = append(l.entries, LabelEntry{Path: full, Class: class, Line: n})
	}
	if len(l.entries) == 0 {
		return nil, fmt.Errorf("%s: no path-class lines", path)
	}
	return l, nil
}

// splitLabelLine splits one labels-file line into path and class with separator sep.
func splitLabelLine(line string, sep byte) (path, class string, err error) {
	var fields []string
	switch sep {
	case '\t':
		fields = strings.Split(line, "\t")
	case ',':
		r := csv.NewReader(strings.NewReader(line))
		r.TrimLeadingSpace = true
		if fields, err = r.Read(); err != nil {
			return "", "", fmt.Errorf("bad CSV: %v", err)
		}
	default:
		line = strings.TrimSpace(line)
		i := strings.LastIndexAny(line, " \t")
		if i < 0 {
			return "", "", fmt.Errorf("want \"path class\", got %q", line)
		}
		fields = []string{line[:i], line[i+1:]}
	}
	if len(fields) != 2 {
		return "", "", fmt.Errorf("want 2 fields (path and class), got %d in %q", len(fields), line)
	}
	path, class = strings.TrimSpace(fields[0]), strings.TrimSpace(fields[1])
	if path == "" || class == "" {
		return "", "", fmt.Errorf("empty path or class in %q", line)
	}
	return path, class, nil
}

// Entries returns the file's entries in file order (duplicates once), e.g. to evaluate exactly
// the images a labels file lists.
func (l *LabelsFile) Entries() []LabelEntry {
	return append([]LabelEntry(nil), l.entries...)
}

// Class implements Source: the class of the entry whose path is path (after filepath.Abs),
// or else of the entry written as the bare file name filepath.Base(path), so that a list such as
// "ILSVRC2012_val_00000001.JPEG 65" labels the images wherever the folder is.
func (l *LabelsFile) Class(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if i, ok := l.byPath[abs]; ok {
		return l.entries[i].Class, nil
	}
	if i, ok := l.byBase[filepath.Base(abs)]; ok {
		return l.entries[i].Class, nil
	}
	return "", fmt.Errorf("%s: not listed in %s", path, l.Path)
}

// Resolve returns the class index of each of paths: src names its class and r resolves the name.
// The first failure is returned as one line naming the file and the cause.
func Resolve(paths []string, src Source, r *Resolver) ([]int, error) {
	out := make([]int, len(paths))
	for i, p := range paths {
		name, err := src.Class(p)
		if err != nil {
			return nil, err
		}
		if out[i], err = r.Resolve(name); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	return out, nil
}
