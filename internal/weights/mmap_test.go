package weights

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReadSafetensorsMapped(t *testing.T) {
	dir := t.TempDir()
	f16 := `{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`
	// pad pads a header with spaces so that the data buffer starts at a
	// file offset of rem modulo 4.
	pad := func(h string, rem int) string {
		for (8+len(h))%4 != rem {
			h += " "
		}
		return h
	}
	tests := []struct {
		name      string
		content   []byte
		wantAlias []bool // per tensor, when the platform maps
	}{
		{"aligned F32", nil, []bool{true, true}},
		{"F16 only", buildST(f16, le16(0x3c00, 0xc000)), []bool{false}},
		{"misaligned F32", buildST(pad(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 2), f32le(1, -2)), []bool{false}},
		{"mixed", buildST(pad(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 0), append(le16(0x3c00, 0xc000), f32le(7)...)), []bool{false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "m.safetensors")
			if tt.content == nil {
				if err := WriteSafetensors(path, smallTensors(), map[string]string{"k": "v"}); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ParseSafetensors(path, raw)
			if err != nil {
				t.Fatal(err)
			}

			before := liveMappings.Load()
			got, err := ReadSafetensors(path)
			if err != nil {
				t.Fatal(err)
			}
			checkTensors(t, got, want.Tensors)
			anyAlias := false
			for i, tn := range got.Tensors {
				alias := canMap && littleEndian && tt.wantAlias[i]
				if aliases(got.mapping, tn.Data) != alias {
					t.Errorf("tensor %s: aliases the mapping = %v, want %v", tn.Name, !alias, alias)
				}
				anyAlias = anyAlias || alias
			}
			if wantLive := before + b2i(anyAlias); liveMappings.Load() != wantLive {
				t.Errorf("got %d live mappings, want %d", liveMappings.Load(), wantLive)
			}

			if anyAlias {
				// The mapping is private: writing to Data changes neither the
				// file nor a second reader's view.
				got.Tensors[len(got.Tensors)-1].Data[0] = 12345
				again, err := ReadSafetensors(path)
				if err != nil {
					t.Fatal(err)
				}
				checkTensors(t, again, want.Tensors)
				again.Close()
				if now, _ := os.ReadFile(path); string(now) != string(raw) {
					t.Error("writing to mapped Data changed the file")
				}
			}

			for range 2 {
				if err := got.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if liveMappings.Load() != before {
				t.Errorf("got %d live mappings after Close, want %d", liveMappings.Load(), before)
			}
			for i, tn := range got.Tensors {
				if aliased := canMap && littleEndian && tt.wantAlias[i]; aliased != (tn.Data == nil) {
					t.Errorf("tensor %s after Close: Data nil = %v, want %v", tn.Name, tn.Data == nil, aliased)
				}
			}
		})
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// TestReadSafetensorsTruncatedNotMapped cuts a file at every byte: each cut
// is rejected from the header and the file size alone, before any mapping.
func TestReadSafetensorsTruncatedNotMapped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "full.safetensors")
	if err := WriteSafetensors(path, smallTensors(), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.safetensors")
	before := liveMappings.Load()
	for n := range len(b) {
		if err := os.WriteFile(cut, b[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := ReadSafetensors(cut)
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Path != cut {
			t.Fatalf("cut at %d of %d: got %v, %v, want a *FormatError", n, len(b), f, err)
		}
		if liveMappings.Load() != before {
			t.Fatalf("cut at %d: a mapping was made (or leaked) for a rejected file", n)
		}
	}
}

func TestOpenSafetensorsMapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weights") // no extension: sniffed
	if err := WriteSafetensors(path, smallTensors(), nil); err != nil {
		t.Fatal(err)
	}
	before := liveMappings.Load()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	checkTensors(t, f, smallTensors())
	if want := before + b2i(canMap && littleEndian); liveMappings.Load() != want {
		t.Errorf("got %d live mappings, want %d", liveMappings.Load(), want)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if liveMappings.Load() != before {
		t.Errorf("Close left %d live mappings, want %d", liveMappings.Load(), before)
	}
}

func TestCloseUnmapped(t *testing.T) {
	st := filepath.Join(t.TempDir(), "x.safetensors")
	if err := WriteSafetensors(st, smallTensors(), nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(st)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseSafetensors(st, b)
	if err != nil {
		t.Fatal(err)
	}
	pth, err := ReadPyTorch(filepath.Join("testdata", "tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*File{{}, {Tensors: smallTensors()}, parsed, pth} {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for _, tn := range f.Tensors {
			if tn.Data == nil {
				t.Errorf("Close cleared %s of a File without a mapping", tn.Name)
			}
		}
	}
}

// rssFileKB reads the file-backed part of this process's resident set (Linux), or -1.
func rssFileKB() int { return rssKB("RssFile:") }

// rssKB reads a line of /proc/self/status ("RssAnon:", …) in KB (Linux), or -1.
func rssKB(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

// TestRelease: releasing a mapped tensor takes its pages out of the resident set, and the tensor still
// reads back exactly (the pages come back from the file).
func TestRelease(t *testing.T) {
	const n = 4 << 20 // 16 MiB of float32
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i%1000) - 0.5
	}
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := WriteSafetensors(path, []Tensor{{Name: "w", Shape: []int{n}, Data: data}, {Name: "b", Shape: []int{3}, Data: []float32{1, 2, 3}}}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, w, _ := f.Tensor("w")
	var sum float64 // touch every page
	for _, v := range w {
		sum += float64(v)
	}
	if sum == 0 {
		t.Fatal("sum of the tensor is 0")
	}
	before := rssFileKB()
	f.Release("w")
	f.Release("b")       // smaller than a page: nothing to drop, no harm
	f.Release("missing") // unknown: ignored
	after := rssFileKB()
	if f.mapping != nil && before >= 0 {
		t.Logf("file-backed RSS %d KB -> %d KB", before, after)
		if before-after < 12<<10 {
			t.Errorf("releasing a 16 MiB tensor dropped %d KB of file-backed RSS", before-after)
		}
	}
	_, w, _ = f.Tensor("w")
	if !slices.Equal(w, data) {
		t.Fatal("tensor changed after Release")
	}
	if _, b, _ := f.Tensor("b"); !slices.Equal(b, []float32{1, 2, 3}) {
		t.Fatalf("b = %v", b)
	}
}

// TestReleaseCaffeModel: a caffemodel's tensors are decoded only when read; releasing one drops the
// mapped pages of its blob, the File's reference to the decoded copy and that copy's pages, and it
// reads back exactly.
func TestReleaseCaffeModel(t *testing.T) {
	const n = 4 << 20 // 16 MiB of float32
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i%1000) - 0.5
	}
	path := filepath.Join(t.TempDir(), "big.caffemodel")
	content := encNet(encLayer("conv", "Convolution",
		blobSpec{shape: []int64{n}, data: data}, blobSpec{shape: []int64{3}, data: []float32{1, 2, 3}}))
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	before := liveMappings.Load()
	f, err := ReadCaffeModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := before + b2i(canMap); liveMappings.Load() != want {
		t.Errorf("got %d live mappings, want %d", liveMappings.Load(), want)
	}
	for _, tn := range f.Tensors {
		if tn.Data != nil {
			t.Fatalf("%s decoded before it was read", tn.Name)
		}
	}

	opened := rssFileKB()
	_, w, _ := f.Tensor("conv.weight")
	if !slices.Equal(w, data) {
		t.Fatal("conv.weight read wrong")
	}
	if p, _ := f.Lookup("conv.weight"); &p.Data[0] != &w[0] {
		t.Error("a second read decoded the tensor again instead of keeping the first copy")
	}
	read, anon := rssFileKB(), rssKB("RssAnon:")
	f.Release("conv.weight")
	f.Release("conv.bias") // smaller than a page: nothing to drop, no harm
	f.Release("missing")   // unknown: ignored
	released := rssFileKB()
	if anon >= 0 && canMap { // where madvise gives pages back
		gone := anon - rssKB("RssAnon:")
		t.Logf("anonymous RSS: %d KB given back", gone)
		if gone < 12<<10 {
			t.Errorf("releasing a 16 MiB decoded copy gave back %d KB of anonymous RSS", gone)
		}
	}
	if f.mapping != nil && opened >= 0 {
		t.Logf("file-backed RSS %d KB opened -> %d KB read -> %d KB released", opened, read, released)
		if read-opened < 12<<10 {
			t.Errorf("reading a 16 MiB blob faulted in only %d KB: was it read at Open?", read-opened)
		}
		if read-released < 12<<10 {
			t.Errorf("releasing a 16 MiB blob dropped %d KB of file-backed RSS", read-released)
		}
	}
	if f.Tensors[0].Data != nil {
		t.Error("Release left the decoded copy in Tensors[0].Data")
	}

	// With the caller's copy gone too, nothing holds the decoded copy.
	collected := make(chan struct{})
	runtime.AddCleanup(&w[0], func(c chan struct{}) { close(c) }, collected)
	w = nil
	for i := 0; ; i++ {
		runtime.GC()
		select {
		case <-collected:
		case <-time.After(10 * time.Millisecond):
			if i < 200 {
				continue
			}
			t.Fatal("the released decoded copy was never collected: the File still holds it")
		}
		break
	}

	_, w, _ = f.Tensor("conv.weight")
	if !slices.Equal(w, data) {
		t.Fatal("tensor changed after Release")
	}
	if _, b, _ := f.Tensor("conv.bias"); !slices.Equal(b, []float32{1, 2, 3}) {
		t.Fatalf("b = %v", b)
	}
	for range 2 {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if liveMappings.Load() != before {
		t.Errorf("got %d live mappings after Close, want %d", liveMappings.Load(), before)
	}
	if _, got, _ := f.Tensor("conv.weight"); !slices.Equal(got, data) {
		t.Error("a decoded copy did not survive Close")
	}
}

// TestReadCaffeModelTruncated cuts files at every byte and reads them through ReadCaffeModel: every cut
// is rejected at Open as by ParseCaffeModel (a cut between two layers is a valid shorter net), and no
// mapping outlives a rejected file.
func TestReadCaffeModelTruncated(t *testing.T) {
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.caffemodel")
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"one layer", encNet(encLayer("relu", "ReLU"), encLayer("fc", "InnerProduct",
			blobSpec{shape: []int64{2, 3}, data: seq(6)}, blobSpec{legacy: []int64{1, 1, 1, 2}, data: seq(2)}))},
		{"two layers", encNet(
			encLayer("conv", v1Convolution, blobSpec{legacy: []int64{1, 2, 1, 1}, data: seq(2), unpacked: true}),
			encLayer("fc", v1InnerProduct, blobSpec{legacy: []int64{1, 1, 1, 2}, double: true, data: seq(2)}))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := liveMappings.Load()
			for n := range len(tt.in) + 1 {
				if err := os.WriteFile(cut, tt.in[:n], 0o644); err != nil {
					t.Fatal(err)
				}
				want, wantErr := ParseCaffeModel(cut, tt.in[:n])
				got, err := ReadCaffeModel(cut)
				if wantErr != nil {
					if err == nil || err.Error() != wantErr.Error() {
						t.Fatalf("cut at %d of %d: got %v, want %v", n, len(tt.in), err, wantErr)
					}
				} else if err != nil {
					t.Fatalf("cut at %d of %d: %v", n, len(tt.in), err)
				} else {
					checkTensors(t, got, want.Tensors)
					got.Close()
				}
				if liveMappings.Load() != before {
					t.Fatalf("cut at %d: a mapping leaked", n)
				}
			}
		})
	}
}
