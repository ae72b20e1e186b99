package head

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
)

// FeatureCache keeps the pooled feature vector of each (model, image) pair on disk, so that
// repeated train-head runs over the same folder run the network once per image.
//
// An entry lives at <Dir>/<sha256(model)[:16 hex]>/<sha256(path)[:32 hex]>.feat and holds, little
// endian: the magic "INCFEAT1", the model identity and the image path (each a u32 length and the
// bytes), the image's size and modification time (i64, i64 ns), the vector (u32 count, f32s) and
// a CRC-32 (IEEE) of everything before it. Entries are written to a temporary file and renamed into
// place. An entry that is missing, short, corrupt or recorded for another model, path, size or
// modification time is a miss: the cache never fails a run, at worst it recomputes.
//
// A nil *FeatureCache is valid and always misses (e.g. for --no-cache). Safe for concurrent use by
// several processes; the last writer of an entry wins.
type FeatureCache struct {
	Dir string
}

// FeatureKey identifies one image's features: the model identity (e.g. "v3/timm" plus anything
// that changes the features, such as preprocessing) and the image's absolute path, size and
// modification time as seen when the key was made.
type FeatureKey struct {
	Model   string
	Path    string // absolute, cleaned
	Size    int64
	ModTime int64 // nanoseconds since the Unix epoch
}

// NewFeatureKey stats the image at path and returns its key under model. Make the key before
// computing the features, so that an image changed meanwhile is not stored under its new time.
func NewFeatureKey(model, path string) (FeatureKey, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return FeatureKey{}, fmt.Errorf("feature cache key %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return FeatureKey{}, fmt.Errorf("feature cache key: %w", err) // *PathError names the file
	}
	return FeatureKey{Model: model, Path: abs, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}, nil
}

const featMagic = "INCFEAT1"

// entryPath is where the entry for k lives.
func (c *FeatureCache) entryPath(k FeatureKey) string {
	m := sha256.Sum256([]byte(k.Model))
	p := sha256.Sum256([]byte(k.Path))
	return filepath.Join(c.Dir, hex.EncodeToString(m[:8]), hex.EncodeToString(p[:16])+".feat")
}

// Get returns the cached features for k, or ok = false on any miss (see FeatureCache).
func (c *FeatureCache) Get(k FeatureKey) (feat []float32, ok bool) {
	if c == nil {
		return nil, false
	}
	b, err := os.ReadFile(c.entryPath(k))
	if err != nil || len(b) < len(featMagic)+4 {
		return nil, false
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, false
	}
	want := encodeEntryHeader(k, 0)
	head := want[:len(want)-4] // all but the count
	if !bytes.HasPrefix(body, head) || len(body) < len(want) {
		return nil, false
	}
	n := binary.LittleEndian.Uint32(body[len(head):])
	data := body[len(want):]
	if uint64(len(data)) != 4*uint64(n) {
		return nil, false
	}
	feat = make([]float32, n)
	for i := range feat {
		feat[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return feat, true
}

// Put stores feat under k, replacing any previous entry. An error (e.g. a read-only cache
// directory) names the entry's file; callers should report it as a warning and carry on.
func (c *FeatureCache) Put(k FeatureKey, feat []float32) error {
	if c == nil {
		return nil
	}
	path := c.entryPath(k)
	b := encodeEntryHeader(k, len(feat))
	for _, v := range feat {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("feature cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".*.tmp")
	if err != nil {
		return fmt.Errorf("feature cache: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("feature cache: write %s: %w", path, werr)
	}
	return nil
}

// encodeEntryHeader returns the entry bytes for k up to and including the count n.
func encodeEntryHeader(k FeatureKey, n int) []byte {
	b := make([]byte, 0, len(featMagic)+4+len(k.Model)+4+len(k.Path)+8+8+4+4*n+4)
	b = append(b, featMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(k.Model)))
	b = append(b, k.Model...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(k.Path)))
	b = append(b, k.Path...)
	b = binary.LittleEndian.AppendUint64(b, uint64(k.Size))
	b = binary.LittleEndian.AppendUint64(b, uint64(k.ModTime))
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}
