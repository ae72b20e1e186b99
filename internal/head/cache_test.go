package head

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// cacheFixture is a cache in a temporary directory and one image file in another.
func cacheFixture(t *testing.T) (*FeatureCache, string) {
	t.Helper()
	img := filepath.Join(t.TempDir(), "cat.jpg")
	if err := os.WriteFile(img, []byte("not really a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &FeatureCache{Dir: filepath.Join(t.TempDir(), "features")}, img
}

func mustKey(t *testing.T, model, path string) FeatureKey {
	t.Helper()
	k, err := NewFeatureKey(model, path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestFeatureCacheHitAndMiss(t *testing.T) {
	c, img := cacheFixture(t)
	k := mustKey(t, "v3/timm", img)
	if _, ok := c.Get(k); ok {
		t.Fatal("hit in an empty cache")
	}
	want := []float32{0, 1.5, -2, 3e-9}
	if err := c.Put(k, want); err != nil {
		t.Fatal(err)
	}
	got, ok := c.Get(mustKey(t, "v3/timm", img))
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("Get = %v, %v; want %v, true", got, ok, want)
	}
	// A relative path to the same file is the same key.
	wd, _ := os.Getwd()
	if rel, err := filepath.Rel(wd, img); err == nil {
		if _, ok := c.Get(mustKey(t, "v3/timm", rel)); !ok {
			t.Errorf("miss for the relative path %s", rel)
		}
	}
	if _, ok := c.Get(mustKey(t, "v1/caffe", img)); ok {
		t.Error("hit for another model")
	}
	if err := c.Put(k, []float32{}); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Get(k); !ok || len(got) != 0 {
		t.Errorf("empty vector: Get = %v, %v", got, ok)
	}
}

func TestFeatureCacheInvalidation(t *testing.T) {
	c, img := cacheFixture(t)
	k := mustKey(t, "v3", img)
	if err := c.Put(k, []float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(img, later, later); err != nil {
		t.Fatal(err)
	}
	k2 := mustKey(t, "v3", img)
	if _, ok := c.Get(k2); ok {
		t.Error("hit after the image's modification time changed")
	}
	if err := c.Put(k2, []float32{3}); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.Get(k2); !ok || !reflect.DeepEqual(got, []float32{3}) {
		t.Errorf("after re-Put: Get = %v, %v", got, ok)
	}
	if _, ok := c.Get(k); ok {
		t.Error("the stale key still hits")
	}
	if err := os.WriteFile(img, []byte("longer content now"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(img, later, later); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(mustKey(t, "v3", img)); ok {
		t.Error("hit after the image's size changed")
	}
}

func TestFeatureCacheCorruptEntriesMiss(t *testing.T) {
	c, img := cacheFixture(t)
	k := mustKey(t, "v3", img)
	if err := c.Put(k, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	path := c.entryPath(k)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-7] ^= 0x40 // inside the last float
	tests := map[string][]byte{
		"empty":     {},
		"magic":     []byte(featMagic),
		"truncated": good[:len(good)-5],
		"flipped":   flipped,
		"garbage":   []byte(strings.Repeat("x", len(good))),
		"appended":  append(append([]byte(nil), good...), 0, 0, 0, 0),
	}
	for name, b := range tests {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, ok := c.Get(k); ok {
			t.Errorf("%s entry: hit with %v", name, got)
		}
	}
	// A directory where the entry should be is a miss too, and Put reports it without panicking.
	os.Remove(path)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(k); ok {
		t.Error("hit on a directory")
	}
	if err := c.Put(k, []float32{1}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Put over a directory = %v, want an error naming %s", err, path)
	}
}

func TestFeatureCacheNil(t *testing.T) {
	var c *FeatureCache
	_, img := cacheFixture(t)
	k := mustKey(t, "v3", img)
	if err := c.Put(k, []float32{1}); err != nil {
		t.Errorf("nil Put = %v", err)
	}
	if _, ok := c.Get(k); ok {
		t.Error("nil cache hit")
	}
}

func TestNewFeatureKeyMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gone.jpg")
	_, err := NewFeatureKey("v3", missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("NewFeatureKey = %v, want an error naming %s", err, missing)
	}
}
