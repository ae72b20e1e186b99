package models

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"path"
	"strings"
)

// Manifest describes one published weight set: where its files live, how to check them, how to feed the
// network and what it scored. The embedded manifests live in manifests/*.json, one file per set, in the
// JSON form of this struct; ParseManifest is the only way in and rejects anything incomplete.
type Manifest struct {
	Name    string `json:"name"`              // e.g. "inception_v4.tf_in1k"; never an --arch name
	Arch    string `json:"arch"`              // --arch family: v1, v2, v3, v4, irv1, irv2
	Graph   string `json:"graph"`             // network graph within the family, e.g. "v1" (BVLC) or "v1-bn" (torchvision)
	Default bool   `json:"default,omitempty"` // the set `--arch <Arch>` uses
	Format  string `json:"format"`            // FormatCaffeModel, FormatSafetensors or FormatPTH
	Files   []File `json:"files"`
	// KeyMap renames checkpoint key prefixes before binding, applied in order, first match wins.
	KeyMap []KeyRename `json:"key_map,omitempty"`
	// Classes is the classifier width in the file: 1000, or 1001 for TF sets that keep the background class.
	Classes int `json:"classes"`
	// LabelOffset is the logit index of ImageNet class 0: 1 when Classes is 1001 (index 0 = background).
	LabelOffset int        `json:"label_offset,omitempty"`
	Labels      string     `json:"labels"` // label list: "imagenet1k" (ImageNetClasses)
	Preprocess  Preprocess `json:"preprocess"`
	// Top1 and Top5 are the published ImageNet-1k validation accuracies in percent (0 = unpublished).
	Top1      float64 `json:"top1,omitempty"`
	Top5      float64 `json:"top5,omitempty"`
	TopSource string  `json:"top_source,omitempty"` // who measured Top1/Top5, and how
	Source    string  `json:"source"`               // where the rest of this manifest's facts come from
	Notes     string  `json:"notes,omitempty"`
}

// File is one file of a weight set.
type File struct {
	Name string `json:"name"` // base name in the cache and in $INCEPTION_WEIGHTS_PATH
	// URLs are tried in order: the publisher's host first, known mirrors after.
	URLs       []string `json:"urls"`
	Size       int64    `json:"size,omitempty"`        // exact size in bytes, verified; 0 = unpublished
	ApproxSize int64    `json:"approx_size,omitempty"` // rough size in bytes for listings, never verified
	// SHA256 is the full lowercase hex digest; SHA256Prefix the leading hex digits a publisher puts in the
	// file name (torch.hub's "name-<sha256[:8]>.pth" convention); SHA1 a legacy digest (BVLC model zoo).
	// Every one that is set is verified.
	SHA256       string `json:"sha256,omitempty"`
	SHA256Prefix string `json:"sha256_prefix,omitempty"`
	SHA1         string `json:"sha1,omitempty"`
	// ChecksumNote says why SHA256 is missing (required then), e.g. that the publisher gives none.
	ChecksumNote string `json:"checksum_note,omitempty"`
}

// Verified reports whether any digest is recorded, i.e. whether a download can be checked beyond its size.
func (f File) Verified() bool { return f.SHA256 != "" || f.SHA256Prefix != "" || f.SHA1 != "" }

// KeyRename replaces the checkpoint key prefix From with To.
type KeyRename struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Preprocess is the input recipe the published accuracy was measured with: resize (ResizeSize, or
// Size/CropPct when CropPct is set, on the shorter side or both sides), centre-crop Size×Size, scale the
// 0..255 pixel to Range, then per channel (x - Mean[c]) / Std[c] with Mean and Std in ChannelOrder.
type Preprocess struct {
	Preset        string  `json:"preset"` // family of the recipe; see Presets
	Size          int     `json:"size"`   // network input side in pixels
	ResizeSize    int     `json:"resize_size,omitempty"`
	CropPct       float64 `json:"crop_pct,omitempty"` // timm: resize side = floor(Size / CropPct)
	ResizeMode    string  `json:"resize_mode"`        // "shorter" (aspect kept) or "both" (squash to a square)
	Interpolation string  `json:"interpolation"`      // "bilinear", "bicubic" or "nearest" (PIL filters)
	Mean          Vec3    `json:"mean"`
	Std           Vec3    `json:"std"`
	ChannelOrder  string  `json:"channel_order"` // "RGB" or "BGR"
	// Range is the scale of the pixel before Mean/Std: "0-255" (as is), "0-1" (/255) or "-1-1" (/127.5 - 1).
	Range string `json:"range"`
	// TransformInput marks torchvision's googlenet/inception_v3 transform_input: the network itself maps
	// the ImageNet-normalised input to (x-0.5)/0.5 per channel before its first conv.
	TransformInput bool `json:"transform_input,omitempty"`
}

// ResizeTo returns the resize target in pixels: ResizeSize, or floor(Size/CropPct) as timm computes it.
func (p Preprocess) ResizeTo() int {
	if p.CropPct > 0 {
		return int(math.Floor(float64(p.Size) / p.CropPct))
	}
	return p.ResizeSize
}

// Vec3 is a per-channel triple; in JSON it must be an array of exactly three numbers.
type Vec3 [3]float64

// UnmarshalJSON rejects arrays that are not exactly three numbers long (encoding/json would pad or drop).
func (v *Vec3) UnmarshalJSON(b []byte) error {
	var s []float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if len(s) != 3 {
		return fmt.Errorf("want 3 numbers, got %d", len(s))
	}
	copy(v[:], s)
	return nil
}

// Weight file formats.
const (
	FormatCaffeModel  = "caffemodel"
	FormatSafetensors = "safetensors"
	FormatPTH         = "pth" // PyTorch pickle zip (torch.save)
)

// Archs lists the --arch families in display order.
var Archs = []string{"v1", "v2", "v3", "v4", "irv1", "irv2"}

// graphs maps each family to its network graphs (internal/model variant names).
var graphs = map[string][]string{
	"v1": {"v1", "v1-bn"}, "v2": {"v2"}, "v3": {"v3"}, "v4": {"v4"}, "irv1": {"irv1"}, "irv2": {"irv2"},
}

// Presets lists the preprocessing families a manifest may name.
var Presets = []string{"caffe", "cadene", "keras", "tf-slim", "timm", "torchvision"}

// ErrChecksum is matched (errors.Is) by every error reporting a file whose size or digest differs from
// its manifest.
var ErrChecksum = errors.New("checksum mismatch")

// ParseManifest decodes one manifest strictly (unknown fields, trailing data and wrong types are errors)
// and validates it. Errors name the manifest when it has a name and list every problem found.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("manifest: trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks every field and reports all problems in one error.
func (m *Manifest) Validate() error {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }

	if !validName(m.Name) {
		add("name %q: want 1-64 characters of [a-z0-9._-]", m.Name)
	} else if _, isArch := graphs[m.Name]; isArch {
		add("name %q is an --arch name", m.Name)
	}
	if gs, ok := graphs[m.Arch]; !ok {
		add("arch %q: want one of %s", m.Arch, strings.Join(Archs, ", "))
	} else if !contains(gs, m.Graph) {
		add("graph %q: want one of %s for arch %s", m.Graph, strings.Join(gs, ", "), m.Arch)
	}
	ext := map[string]string{FormatCaffeModel: ".caffemodel", FormatSafetensors: ".safetensors", FormatPTH: ".pth"}[m.Format]
	if ext == "" {
		add("format %q: want caffemodel, safetensors or pth", m.Format)
	}
	if len(m.Files) == 0 {
		add("no files")
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		for _, p := range f.problems() {
			add("files[%d] %s: %s", i, f.Name, p)
		}
		if seen[f.Name] {
			add("files[%d]: duplicate name %q", i, f.Name)
		}
		seen[f.Name] = true
		if ext != "" && !strings.HasSuffix(f.Name, ext) {
			add("files[%d] %s: format %s wants a %s file", i, f.Name, m.Format, ext)
		}
	}
	from := map[string]bool{}
	for i, r := range m.KeyMap {
		if r.From == "" || from[r.From] {
			add("key_map[%d]: empty or duplicate from %q", i, r.From)
		}
		from[r.From] = true
	}
	switch {
	case m.Classes != 1000 && m.Classes != 1001:
		add("classes %d: want 1000 or 1001", m.Classes)
	case m.Classes-m.LabelOffset != 1000:
		add("classes %d with label_offset %d: want classes - label_offset = 1000", m.Classes, m.LabelOffset)
	}
	if m.Labels != "imagenet1k" {
		add("labels %q: want imagenet1k", m.Labels)
	}
	for _, p := range m.Preprocess.problems() {
		add("preprocess: %s", p)
	}
	for _, acc := range []struct {
		name string
		v    float64
	}{{"top1", m.Top1}, {"top5", m.Top5}} {
		if !(acc.v >= 0 && acc.v <= 100) {
			add("%s %v: want a percentage", acc.name, acc.v)
		}
	}
	if m.Top1 > 0 && m.Top5 > 0 && m.Top5 < m.Top1 {
		add("top5 %v below top1 %v", m.Top5, m.Top1)
	}
	if (m.Top1 > 0 || m.Top5 > 0) && strings.TrimSpace(m.TopSource) == "" {
		add("top1/top5 without top_source")
	}
	if strings.TrimSpace(m.Source) == "" {
		add("no source")
	}
	if len(bad) > 0 {
		name := m.Name
		if name == "" {
			name = "(unnamed)"
		}
		return fmt.Errorf("manifest %s: %s", name, strings.Join(bad, "; "))
	}
	return nil
}

func (f File) problems() []string {
	var bad []string
	if f.Name == "" || f.Name != path.Base(f.Name) || strings.ContainsAny(f.Name, `/\:`) ||
		f.Name == "." || f.Name == ".." || strings.HasPrefix(f.Name, ".") ||
		strings.HasSuffix(f.Name, ".part") || strings.HasSuffix(f.Name, ".lock") {
		bad = append(bad, "name must be a plain base name, not hidden, not ending in .part or .lock")
	}
	if len(f.URLs) == 0 {
		bad = append(bad, "no urls")
	}
	for _, s := range f.URLs {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			bad = append(bad, fmt.Sprintf("url %q: want an absolute http(s) URL without credentials", s))
		}
	}
	if f.Size < 0 || f.ApproxSize < 0 {
		bad = append(bad, "negative size")
	}
	if !isHex(f.SHA256, 64, 64) {
		bad = append(bad, fmt.Sprintf("sha256 %q: want 64 lowercase hex digits", f.SHA256))
	}
	if !isHex(f.SHA256Prefix, 8, 63) {
		bad = append(bad, fmt.Sprintf("sha256_prefix %q: want 8-63 lowercase hex digits", f.SHA256Prefix))
	}
	if f.SHA256 != "" && f.SHA256Prefix != "" && !strings.HasPrefix(f.SHA256, f.SHA256Prefix) {
		bad = append(bad, "sha256 does not start with sha256_prefix")
	}
	if !isHex(f.SHA1, 40, 40) {
		bad = append(bad, fmt.Sprintf("sha1 %q: want 40 lowercase hex digits", f.SHA1))
	}
	if f.SHA256 == "" && strings.TrimSpace(f.ChecksumNote) == "" {
		bad = append(bad, "no sha256 and no checksum_note saying why")
	}
	return bad
}

func (p Preprocess) problems() []string {
	var bad []string
	if !contains(Presets, p.Preset) {
		bad = append(bad, fmt.Sprintf("preset %q: want one of %s", p.Preset, strings.Join(Presets, ", ")))
	}
	if p.Size < 16 || p.Size > 1024 {
		bad = append(bad, fmt.Sprintf("size %d: want 16-1024", p.Size))
	}
	switch {
	case (p.ResizeSize != 0) == (p.CropPct != 0):
		bad = append(bad, "want exactly one of resize_size and crop_pct")
	case p.CropPct != 0 && !(p.CropPct > 0.1 && p.CropPct <= 1):
		bad = append(bad, fmt.Sprintf("crop_pct %v: want (0.1, 1]", p.CropPct))
	case p.ResizeSize != 0 && (p.ResizeSize < p.Size || p.ResizeSize > 4*p.Size):
		bad = append(bad, fmt.Sprintf("resize_size %d: want size..4*size", p.ResizeSize))
	}
	if p.ResizeMode != "shorter" && p.ResizeMode != "both" {
		bad = append(bad, fmt.Sprintf("resize_mode %q: want shorter or both", p.ResizeMode))
	}
	if !contains([]string{"bilinear", "bicubic", "nearest"}, p.Interpolation) {
		bad = append(bad, fmt.Sprintf("interpolation %q: want bilinear, bicubic or nearest", p.Interpolation))
	}
	for c := range 3 {
		if math.IsNaN(p.Mean[c]) || math.IsInf(p.Mean[c], 0) || !(p.Std[c] > 0) || math.IsInf(p.Std[c], 0) {
			bad = append(bad, fmt.Sprintf("channel %d: mean %v std %v: want finite mean and std > 0", c, p.Mean[c], p.Std[c]))
		}
	}
	if p.ChannelOrder != "RGB" && p.ChannelOrder != "BGR" {
		bad = append(bad, fmt.Sprintf("channel_order %q: want RGB or BGR", p.ChannelOrder))
	}
	if !contains([]string{"0-255", "0-1", "-1-1"}, p.Range) {
		bad = append(bad, fmt.Sprintf("range %q: want 0-255, 0-1 or -1-1", p.Range))
	}
	return bad
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return s[0] != '.' && s[0] != '-'
}

// isHex reports whether s is empty or min..max lowercase hex digits.
func isHex(s string, min, max int) bool {
	if s == "" {
		return true
	}
	if len(s) < min || len(s) > max || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s + s) // doubled so odd lengths (prefixes) decode too
	return err == nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
