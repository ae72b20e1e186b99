package eval

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFolders(t *testing.T) {
	root := t.TempDir()
	src := Folders{Root: root}
	tests := []struct {
		path, want, err string
	}{
		{filepath.Join(root, "tabby", "x.jpg"), "tabby", ""},
		{filepath.Join(root, "n02123045", "2024", "deep", "x.jpg"), "n02123045", ""},
		{filepath.Join(root, "golden retriever", "..", "Egyptian cat", "y.png"), "Egyptian cat", ""},
		{filepath.Join(root, "x.jpg"), "", "directly in"},
		{filepath.Join(filepath.Dir(root), "elsewhere", "x.jpg"), "", "not under"},
		{filepath.Join(root, "..", "x.jpg"), "", "not under"},
	}
	for _, tt := range tests {
		got, err := src.Class(tt.path)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Class(%s) = %q, %v; want an error naming the file and containing %q", tt.path, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Class(%s) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	// A relative root and relative paths work too.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, root)
	if err != nil {
		t.Skip(err)
	}
	if got, err := (Folders{Root: rel}).Class(filepath.Join(root, "tabby", "x.jpg")); err != nil || got != "tabby" {
		t.Errorf("relative root: %q, %v", got, err)
	}
}

func TestFilePrefix(t *testing.T) {
	tests := []struct {
		path, want, err string
	}{
		{"val/n02123045_123.JPEG", "n02123045", ""},
		{"tabby_3.jpg", "tabby", ""},
		{"/data/golden_retriever_12.png", "golden_retriever", ""},
		{"tabby_cat_0001", "tabby_cat", ""},
		{"tabby.jpg", "", "no <class>_ prefix"},
		{"_3.jpg", "", "no <class>_ prefix"},
		{"ILSVRC2012_val_00000001.JPEG", "", "use a labels file"},
	}
	for _, tt := range tests {
		got, err := FilePrefix{}.Class(tt.path)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Class(%s) = %q, %v; want an error naming the file and containing %q", tt.path, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Class(%s) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
}

func writeLabels(t *testing.T, text string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "labels.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestReadLabelsFileFormats(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "abs dir", "z.jpg")
	tests := []struct {
		name, text string
		want       map[string]string // path relative to the file's dir (or absolute) → class
	}{
		{"tab", "# comment\n\nsub dir/a.jpg\tEgyptian cat\nb.jpg\ttabby\r\n", map[string]string{"sub dir/a.jpg": "Egyptian cat", "b.jpg": "tabby"}},
		{"csv with header", "path,class\na.jpg,\"tabby, tabby cat\"\n  # indented comment\nb.jpg, n02123045\n", map[string]string{"a.jpg": "tabby, tabby cat", "b.jpg": "n02123045"}},
		{"csv without header", "a.jpg,281\n", map[string]string{"a.jpg": "281"}},
		{"space", "ILSVRC2012_val_00000001.JPEG 65\nmy photos/c.jpg  tabby\n", map[string]string{"ILSVRC2012_val_00000001.JPEG": "65", "my photos/c.jpg": "tabby"}},
		{"header in another case", "Filename\tLabel\nx.png\tcat\n", map[string]string{"x.png": "cat"}},
		{"absolute path", abs + "\ttabby\n", map[string]string{abs: "tabby"}},
		{"repeated same class", "a.jpg tabby\na.jpg tabby\n", map[string]string{"a.jpg": "tabby"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, path := writeLabels(t, tt.text)
			l, err := ReadLabelsFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range l.Entries() {
				got[e.Path] = e.Class
			}
			want := map[string]string{}
			for p, c := range tt.want {
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				want[p] = c
				if cls, err := l.Class(p); err != nil || cls != c {
					t.Errorf("Class(%s) = %q, %v; want %q", p, cls, err, c)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("entries %v, want %v", got, want)
			}
		})
	}
}

func TestLabelsFileBareNamesMatchAnywhere(t *testing.T) {
	_, path := writeLabels(t, "ILSVRC2012_val_00000001.JPEG 65\nsub/x.jpg 3\n")
	l, err := ReadLabelsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(t.TempDir(), "val", "ILSVRC2012_val_00000001.JPEG")
	if got, err := l.Class(elsewhere); err != nil || got != "65" {
		t.Errorf("bare name in another folder: %q, %v; want 65", got, err)
	}
	other := filepath.Join(t.TempDir(), "x.jpg") // listed with a directory: no base-name match
	if _, err := l.Class(other); err == nil || !strings.Contains(err.Error(), "not listed in "+path) || !strings.Contains(err.Error(), other) {
		t.Errorf("Class(%s) = %v, want a not-listed error naming both files", other, err)
	}
}

func TestReadLabelsFileErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"empty", "# only a comment\n\n", "no path-class lines"},
		{"one field", "a.jpg\n", `:1: want "path class"`},
		{"three tab fields", "a.jpg\ttabby\textra\n", ":1: want 2 fields"},
		{"csv three fields", "a.jpg,tabby\nb.jpg,tabby,3\n", ":2: want 2 fields"},
		{"empty class", "a.jpg\t \n", ":1: empty path or class"},
		{"bad csv", "a.jpg,\"tabby\n", ":1: bad CSV"},
		{"conflict", "a.jpg tabby\n# x\na.jpg tiger\n", `:3: a.jpg has class "tiger" but line 1 gave it "tabby"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path := writeLabels(t, tt.text)
			_, err := ReadLabelsFile(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ReadLabelsFile = %v, want one line naming %s and containing %q", err, path, tt.want)
			}
		})
	}
	missing := filepath.Join(t.TempDir(), "none.txt")
	if _, err := ReadLabelsFile(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}

func TestResolvePaths(t *testing.T) {
	root := t.TempDir()
	r := NewLabelResolver([]string{"cat", "dog"})
	paths := []string{filepath.Join(root, "dog", "1.jpg"), filepath.Join(root, "Cat", "2.jpg")}
	got, err := Resolve(paths, Folders{Root: root}, r)
	if err != nil || !reflect.DeepEqual(got, []int{1, 0}) {
		t.Errorf("Resolve = %v, %v; want [1 0]", got, err)
	}
	bad := append(paths, filepath.Join(root, "bird", "3.jpg"))
	_, err = Resolve(bad, Folders{Root: root}, r)
	if err == nil || err.Error() != bad[2]+`: unknown class "bird"` {
		t.Errorf("Resolve = %v, want the file and the unknown class", err)
	}
	_, err = Resolve([]string{filepath.Join(root, "x.jpg")}, Folders{Root: root}, r)
	if err == nil || !strings.Contains(err.Error(), "directly in") {
		t.Errorf("Resolve = %v, want the source's error", err)
	}
}
