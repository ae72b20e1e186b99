package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/inception-cli/inception/internal/fill"
	"github.com/inception-cli/inception/internal/model"
	"github.com/inception-cli/inception/internal/preprocess"
)

func touch(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func paths(items []Item) []string {
	var out []string
	for _, it := range items {
		s := it.Path
		if it.Err != nil {
			s += " !"
		}
		out = append(out, s)
	}
	return out
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.jpg", "a.PNG", "notes.txt", "sub/c.webp", "sub/deeper/d.tiff", "z/e.gif"} {
		touch(t, filepath.Join(dir, f), nil)
	}
	// A symlink loop and a second link to an already walked directory must not repeat anything.
	if err := os.Symlink(dir, filepath.Join(dir, "sub", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "z"), filepath.Join(dir, "y")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone.jpg"), filepath.Join(dir, "dangling.jpg")); err != nil {
		t.Fatal(err)
	}
	j := func(s string) string { return filepath.Join(dir, s) }
	for _, tc := range []struct {
		name   string
		inputs []string
		opts   ExpandOptions
		want   []string
	}{
		{"directory, sorted, recursive, links followed once", []string{dir}, ExpandOptions{},
			[]string{j("a.PNG"), j("b.jpg"), j("dangling.jpg") + " !", j("sub/c.webp"), j("sub/deeper/d.tiff"), j("y/e.gif")}},
		{"no recursion", []string{dir}, ExpandOptions{NoRecurse: true},
			[]string{j("a.PNG"), j("b.jpg"), j("dangling.jpg") + " !"}},
		{"files as given, any extension, missing ones fail", []string{j("notes.txt"), j("missing.jpg"), j("b.jpg")}, ExpandOptions{},
			[]string{j("notes.txt"), j("missing.jpg") + " !", j("b.jpg")}},
		{"stdin lines", []string{"-"}, ExpandOptions{Stdin: strings.NewReader(j("b.jpg") + "\r\n\n" + j("z") + "\n")},
			[]string{j("b.jpg"), j("z/e.gif")}},
		{"stdin NUL", []string{"-", j("a.PNG")}, ExpandOptions{NUL: true, Stdin: strings.NewReader(j("sub/c.webp") + "\x00" + j("b.jpg"))},
			[]string{j("sub/c.webp"), j("b.jpg"), j("a.PNG")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, err := Expand(tc.inputs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := paths(items); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestShard(t *testing.T) {
	for _, bad := range []string{"", "1", "2/2", "-1/3", "a/b", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	var items []Item
	for i := 0; i < 500; i++ {
		items = append(items, Item{Path: fmt.Sprintf("photos/%04d.jpg", i)})
	}
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		s, err := ParseShard(fmt.Sprintf("%d/4", i))
		if err != nil {
			t.Fatal(err)
		}
		part := s.Select(items)
		if len(part) < 80 || len(part) > 170 {
			t.Errorf("shard %d has %d of 500 items: the hash is not spreading", i, len(part))
		}
		for _, it := range part {
			seen[it.Path]++
		}
	}
	for _, it := range items {
		if seen[it.Path] != 1 {
			t.Fatalf("%s is in %d shards", it.Path, seen[it.Path])
		}
	}
}

func TestDone(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, format, content string
		want                  []string
		wantErr               string
	}{
		{"jsonl with a line cut short", "jsonl", `{"file":"a.jpg","top":[]}` + "\n" + `{"file":"b.jpg","error":"x"}` + "\n" + `{"file":"c.j`, []string{"a.jpg", "b.jpg"}, ""},
		{"jsonl junk", "jsonl", "hello\n", nil, "not a record"},
		{"csv", "csv", "file,arch,weights,rank\na.jpg,v1,w,1\na.jpg,v1,w,2\n\"b,1.jpg\",v1,w,\nc.jpg,v1", []string{"a.jpg", "b,1.jpg"}, ""},
		{"tsv", "tsv", "file\tarch\nd.jpg\tv1\n", []string{"d.jpg"}, ""},
		{"csv without file column", "csv", "name\nx\n", nil, `no "file" column`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			touch(t, p, []byte(tc.content))
			done, err := Done(p, tc.format)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for _, w := range tc.want {
				want[w] = true
			}
			if !reflect.DeepEqual(done, want) {
				t.Errorf("done %v, want %v", done, want)
			}
		})
	}
	if done, err := Done(filepath.Join(dir, "absent.jsonl"), "jsonl"); err != nil || len(done) != 0 {
		t.Errorf("absent file: %v, %v", done, err)
	}
}

// smallModel is torchvision's GoogLeNet graph with the deterministic fill, run at 32×32 for speed.
func smallModel(t testing.TB) (*model.Model, preprocess.Preset) {
	v, err := model.Lookup("v1-bn")
	if err != nil {
		t.Fatal(err)
	}
	m := model.New(v)
	m.PackFor = []int{32} // the keras preset below
	src := model.MapSource{}
	for _, p := range m.Params() {
		src[p.Key] = model.Tensor{Shape: p.Shape, Data: fill.Tensor("pipeline", p.Key, p.Shape, p.Role.String())}
	}
	if err := m.Load(src); err != nil {
		t.Fatal(err)
	}
	m.Threads = 1
	preset, err := preprocess.LookupPreset("keras", 32)
	if err != nil {
		t.Fatal(err)
	}
	return m, preset
}

func writePNG(t *testing.T, path string, shade uint8) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := 0; y < 30; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.RGBA{shade, uint8(x * 6), uint8(y * 8), 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestRunOrderAndBatches labels a mix of good and bad images with several batch sizes and worker counts:
// results come in input order, failures carry their error, and every image gets the logits it gets when
// run alone.
func TestRunOrderAndBatches(t *testing.T) {
	m, preset := smallModel(t)
	dir := t.TempDir()
	var items []Item
	for i := 0; i < 11; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%02d.png", i))
		switch i {
		case 3:
			touch(t, p, []byte("not a png"))
		case 7:
			p = filepath.Join(dir, "missing.png")
			items = append(items, Item{Path: p, Err: os.ErrNotExist})
			continue
		default:
			writePNG(t, p, uint8(i*20))
		}
		items = append(items, Item{Path: p})
	}
	alone := map[string][]float32{}
	for _, it := range items {
		if err := Run(context.Background(), []Item{it}, Config{Nets: []Net{{Model: m, Preset: preset}}}, func(r Result) error {
			alone[r.Path] = logits(r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, bs := range []int{1, 3, 4, 16} {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("batch%d_workers%d", bs, workers), func(t *testing.T) {
				var got []Result
				err := Run(context.Background(), items, Config{Nets: []Net{{Model: m, Preset: preset}}, BatchSize: bs, Workers: workers},
					func(r Result) error { got = append(got, r); return nil })
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(items) {
					t.Fatalf("%d results for %d items", len(got), len(items))
				}
				for i, r := range got {
					if r.Path != items[i].Path {
						t.Fatalf("result %d is %s, want %s", i, r.Path, items[i].Path)
					}
					bad := i == 3 || i == 7
					if bad != (r.Err != nil) || bad != (r.Out == nil) {
						t.Fatalf("%s: err %v, %d logits", r.Path, r.Err, len(r.Out))
					}
					if !bad && !reflect.DeepEqual(logits(r), alone[r.Path]) {
						t.Fatalf("%s: logits in a batch differ from alone", r.Path)
					}
				}
			})
		}
	}
}

// TestRunCancel stops a run midway: Run returns the context's error, results come in order with no gaps,
// and the emitting stops.
func TestRunCancel(t *testing.T) {
	m, preset := smallModel(t)
	dir := t.TempDir()
	var items []Item
	for i := 0; i < 40; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%02d.png", i))
		writePNG(t, p, uint8(i))
		items = append(items, Item{Path: p})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	err := Run(ctx, items, Config{Nets: []Net{{Model: m, Preset: preset}}, BatchSize: 4, Workers: 2}, func(r Result) error {
		got = append(got, r.Path)
		if len(got) == 6 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if len(got) < 6 || len(got) >= len(items) {
		t.Fatalf("%d results after cancelling at 6 of %d", len(got), len(items))
	}
	for i, p := range got {
		if p != items[i].Path {
			t.Fatalf("result %d is %s, want %s", i, p, items[i].Path)
		}
	}
}

// logits is the first network's logits for a result, or nil for a failed item.
func logits(r Result) []float32 {
	if r.Out == nil {
		return nil
	}
	return r.Out[0].Logits
}

// TestRunCropsFeaturesAndNets: with ten crops, pooled features and two networks, each image gets one
// Output per network whose rows are the crops' logits and features, the same as running the network on
// MultiCrop's tensors directly, whatever the batch size.
func TestRunCropsFeaturesAndNets(t *testing.T) {
	m, keras := smallModel(t)
	tv, err := preprocess.LookupPreset("torchvision", 32)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var items []Item
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%d.png", i))
		writePNG(t, p, uint8(40*i+10))
		items = append(items, Item{Path: p})
	}
	fs, _ := m.FeatureShape(32, 32)
	classes := m.Classes()
	for _, bs := range []int{1, 7, 30} {
		var got []Result
		cfg := Config{Nets: []Net{{Model: m, Preset: tv, Crops: 10}, {Model: m, Preset: keras}}, Features: true, BatchSize: bs, Workers: 2}
		if err := Run(context.Background(), items, cfg, func(r Result) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		for i, r := range got {
			if r.Err != nil || len(r.Out) != 2 || len(r.Out[0].Logits) != 10*classes || len(r.Out[0].Pooled) != 10*fs.C ||
				len(r.Out[1].Logits) != classes || len(r.Out[1].Pooled) != fs.C {
				t.Fatalf("batch %d, %s: err %v, %d outputs", bs, r.Path, r.Err, len(r.Out))
			}
			img, err := preprocess.Decode(items[i].Path, preprocess.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, 10*3*32*32)
			if err := tv.MultiCrop(img, 10, x); err != nil {
				t.Fatal(err)
			}
			want := model.Outputs{Logits: make([]float32, 10*classes), Pooled: make([]float32, 10*fs.C)}
			if err := m.Run(x, 10, 32, 32, want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want.Logits, r.Out[0].Logits) || !reflect.DeepEqual(want.Pooled, r.Out[0].Pooled) {
				t.Fatalf("batch %d, %s: crops differ from running MultiCrop's tensors", bs, r.Path)
			}
			one := make([]float32, 3*32*32)
			keras.Into(img, one)
			l := make([]float32, classes)
			if err := m.ForwardRaw(one, 1, 32, 32, l); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l, r.Out[1].Logits) {
				t.Fatalf("batch %d, %s: second network's logits differ", bs, r.Path)
			}
		}
	}
}
