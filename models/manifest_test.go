package models

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestAllManifestsValid(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 10 {
		t.Fatalf("%d manifests, want at least 10", len(all))
	}
	names := map[string]bool{}
	for _, m := range all {
		if names[m.Name] {
			t.Errorf("duplicate name %s", m.Name)
		}
		names[m.Name] = true
		if err := m.Validate(); err != nil {
			t.Error(err)
		}
		for _, f := range m.Files {
			if !f.Verified() && f.Size == 0 && f.ChecksumNote == "" {
				t.Errorf("%s/%s: neither checksum, size nor note", m.Name, f.Name)
			}
		}
	}
	// Every embedded file parses on its own as well (All could hide a file it skipped).
	entries, err := manifests.ReadDir("manifests")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(all) {
		t.Errorf("%d files in manifests/, %d manifests", len(entries), len(all))
	}
}

func TestEveryArchHasDefaultOrReason(t *testing.T) {
	for _, arch := range Archs {
		m, hasDefault := Default(arch)
		reason, none := NoPublishedWeights(arch)
		switch {
		case hasDefault && none:
			t.Errorf("%s: default %s and no-weights note", arch, m.Name)
		case !hasDefault && !none:
			t.Errorf("%s: no default and no no-weights note", arch)
		case hasDefault && m.Arch != arch:
			t.Errorf("Default(%s) = %s of arch %s", arch, m.Name, m.Arch)
		case none && reason == "":
			t.Errorf("%s: empty no-weights reason", arch)
		}
	}
	if _, ok := NoPublishedWeights("irv1"); !ok {
		t.Error("irv1 should be marked as having no published weights")
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"v1", "googlenet.bvlc"},
		{"v2", "bninception"},
		{"v3", "inception_v3.tv_in1k"},
		{"v4", "inception_v4.tf_in1k"},
		{"irv2", "inception_resnet_v2.tf_in1k"},
		{"v1-bn", "googlenet.tv"},
		{"Inception_V3.TF_in1k", "inception_v3.tf_in1k"},
		{"inception_resnet_v2.tf_ens_adv_in1k", "inception_resnet_v2.tf_ens_adv_in1k"},
		{"inception_v3.tv", "inception_v3.tv"},
	} {
		got, err := Lookup(tc.query)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tc.query, err)
			continue
		}
		if got.Name != tc.want {
			t.Errorf("Lookup(%q) = %s, want %s", tc.query, got.Name, tc.want)
		}
	}
	if _, err := Lookup("irv1"); err == nil || !strings.Contains(err.Error(), "no published ImageNet weights") {
		t.Errorf("Lookup(irv1) error = %v, want the no-weights reason", err)
	}
	if _, err := Lookup("resnet50"); err == nil || !strings.Contains(err.Error(), "googlenet.bvlc") {
		t.Errorf("Lookup(resnet50) error = %v, want a list of known names", err)
	}
}

func TestLookupReturnsCopy(t *testing.T) {
	a, err := Lookup("v4")
	if err != nil {
		t.Fatal(err)
	}
	a.Files[0].URLs[0] = "http://evil.example/x"
	a.Files[0].Name = "x"
	b, _ := Lookup("v4")
	if b.Files[0].URLs[0] == "http://evil.example/x" || b.Files[0].Name == "x" {
		t.Error("Lookup result aliases the registry")
	}
}

// TestPublishedFacts pins facts taken from the publishers, so an edit that changes one is deliberate.
func TestPublishedFacts(t *testing.T) {
	for _, tc := range []struct {
		name, file, sha1, prefix string
		top1, top5               float64
	}{
		{"googlenet.bvlc", "bvlc_googlenet.caffemodel", "405fc5acd08a3bb12de8ee5e23a96bec22f08204", "", 68.7, 88.9},
		{"googlenet.tv", "googlenet-1378be20.pth", "", "1378be20", 69.778, 89.530},
		{"inception_v3.tv", "inception_v3_google-0cc3c7bd.pth", "", "0cc3c7bd", 77.294, 93.450},
		{"bninception", "bn_inception-52deb4733.pth", "", "52deb4733", 73.524, 91.562},
		{"inception_v4.tf_in1k", "model.safetensors", "", "", 80.156, 94.968},
		{"inception_resnet_v2.tf_in1k", "model.safetensors", "", "", 80.462, 95.308},
	} {
		m, err := Lookup(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		f := m.Files[0]
		if f.Name != tc.file || f.SHA1 != tc.sha1 || f.SHA256Prefix != tc.prefix || m.Top1 != tc.top1 || m.Top5 != tc.top5 {
			t.Errorf("%s: file %s sha1 %q prefix %q top %v/%v, want %s %q %q %v/%v",
				tc.name, f.Name, f.SHA1, f.SHA256Prefix, m.Top1, m.Top5, tc.file, tc.sha1, tc.prefix, tc.top1, tc.top5)
		}
		// torch.hub names files "<name>-<sha256 prefix>.pth"; the recorded prefix must be that suffix.
		if tc.prefix != "" && !strings.HasSuffix(f.Name, "-"+tc.prefix+".pth") {
			t.Errorf("%s: prefix %s is not the file name's hash suffix", tc.name, tc.prefix)
		}
	}
}

func TestPreprocessResizeTo(t *testing.T) {
	for _, tc := range []struct {
		name string
		want int
	}{{"googlenet.bvlc", 256}, {"inception_v3.tv", 342}, {"inception_v4.tf_in1k", 341}, {"inception_resnet_v2.tf_in1k", 333}} {
		m, err := Lookup(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Preprocess.ResizeTo(); got != tc.want {
			t.Errorf("%s: ResizeTo = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// validJSON is a minimal valid manifest that the rejection cases below break one field at a time.
const validJSON = `{
  "name": "test.set", "arch": "v3", "graph": "v3", "format": "safetensors",
  "files": [{"name": "model.safetensors", "urls": ["https://example.com/model.safetensors"],
             "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}],
  "classes": 1000, "labels": "imagenet1k",
  "preprocess": {"preset": "timm", "size": 299, "crop_pct": 0.875, "resize_mode": "shorter",
                 "interpolation": "bicubic", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                 "channel_order": "RGB", "range": "0-1"},
  "source": "test"
}`

func TestParseManifestRejects(t *testing.T) {
	if _, err := ParseManifest([]byte(validJSON)); err != nil {
		t.Fatalf("valid manifest rejected: %v", err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown field", `"source": "test"`, `"source": "test", "colour": 1`, "unknown field"},
		{"missing name", `"name": "test.set",`, ``, "name"},
		{"arch name as set name", `"name": "test.set"`, `"name": "v4"`, "--arch name"},
		{"bad arch", `"arch": "v3"`, `"arch": "v5"`, "arch"},
		{"graph of other arch", `"graph": "v3"`, `"graph": "v1-bn"`, "graph"},
		{"bad format", `"format": "safetensors"`, `"format": "onnx"`, "format"},
		{"format/extension mismatch", `"format": "safetensors"`, `"format": "pth"`, ".pth file"},
		{"no urls", `"urls": ["https://example.com/model.safetensors"]`, `"urls": []`, "no urls"},
		{"ftp url", `https://example.com/model.safetensors"]`, `ftp://example.com/m"]`, "url"},
		{"relative url", `https://example.com/model.safetensors"]`, `/model.safetensors"]`, "url"},
		{"path in file name", `"name": "model.safetensors"`, `"name": "../model.safetensors"`, "base name"},
		{"short sha256", `"sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`, `"sha256": "0123"`, "sha256"},
		{"upper-case sha256", `"sha256": "0123456789abcdef`, `"sha256": "0123456789ABCDEF`, "sha256"},
		{"non-hex sha256", `"sha256": "0123456789abcdef`, `"sha256": "0123456789abcdeg`, "sha256"},
		{"no checksum, no note", `"sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`, `"size": 10`, "checksum_note"},
		{"bad sha1", `"sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`, `"sha1": "xyz", "checksum_note": "n"`, "sha1"},
		{"prefix disagrees", `"sha256": "0123`, `"sha256_prefix": "ffffffff", "sha256": "0123`, "prefix"},
		{"1001 classes without offset", `"classes": 1000`, `"classes": 1001`, "label_offset"},
		{"bad labels", `"labels": "imagenet1k"`, `"labels": "coco"`, "labels"},
		{"unknown preset", `"preset": "timm"`, `"preset": "opencv"`, "preset"},
		{"both resize and crop", `"crop_pct": 0.875`, `"crop_pct": 0.875, "resize_size": 320`, "exactly one"},
		{"neither resize nor crop", `"crop_pct": 0.875,`, ``, "exactly one"},
		{"zero std", `"std": [0.5, 0.5, 0.5]`, `"std": [0.5, 0, 0.5]`, "std"},
		{"short mean", `"mean": [0.5, 0.5, 0.5]`, `"mean": [0.5]`, "3 numbers"},
		{"long std", `"std": [0.5, 0.5, 0.5]`, `"std": [0.5, 0.5, 0.5, 0.5]`, "3 numbers"},
		{"bad channel order", `"RGB"`, `"RGBA"`, "channel_order"},
		{"bad range", `"range": "0-1"`, `"range": "0-100"`, "range"},
		{"bad interpolation", `"bicubic"`, `"lanczos"`, "interpolation"},
		{"accuracy without source", `"source": "test"`, `"source": "test", "top1": 77`, "top_source"},
		{"top5 below top1", `"source": "test"`, `"source": "test", "top1": 77, "top5": 70, "top_source": "x"`, "top5"},
		{"no source", `"source": "test"`, `"source": ""`, "source"},
		{"trailing data", `"source": "test"
}`, `"source": "test"
} {}`, "trailing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(validJSON, tc.old, tc.new, 1)
			if in == validJSON {
				t.Fatalf("test case does not change the manifest (%q not found)", tc.old)
			}
			_, err := ParseManifest([]byte(in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCheckRegistry(t *testing.T) {
	base, err := All()
	if err != nil {
		t.Fatal(err)
	}
	two := slices.Clone(base)
	for i := range two {
		if two[i].Name == "inception_v3.tf_in1k" {
			two[i].Default = true
		}
	}
	if err := checkRegistry(two); err == nil || !strings.Contains(err.Error(), "exactly one default") {
		t.Errorf("two v3 defaults: err = %v", err)
	}
	dup := append(slices.Clone(base), base[0])
	if err := checkRegistry(dup); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate: err = %v", err)
	}
	var noV2 []Manifest
	for _, m := range base {
		if m.Arch != "v2" {
			noV2 = append(noV2, m)
		}
	}
	if err := checkRegistry(noV2); err == nil || !strings.Contains(err.Error(), "arch v2") {
		t.Errorf("v2 without sets or note: err = %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	entries, err := manifests.ReadDir("manifests")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		b, err := manifests.ReadFile("manifests/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(validJSON))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"name":"x","files":[{"urls":["http://"]}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			if m != nil {
				t.Fatal("non-nil manifest with an error")
			}
			return
		}
		// Whatever parses must validate, and survive a round trip unchanged.
		if err := m.Validate(); err != nil {
			t.Fatalf("parsed manifest fails Validate: %v", err)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("round trip rejected: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, m2)
		}
	})
}
