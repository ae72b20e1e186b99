package preprocess

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// pilFixtures mirrors testdata/pil.json, written by testdata/gen_fixtures.py
// with Debian bookworm's Pillow 9.4.0.
type pilFixtures struct {
	Pillow string `json:"pillow"`
	Decode []struct {
		File      string `json:"file"`
		PILMode   string `json:"pil_mode"`
		NoOrient  bool   `json:"no_orient"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		RGBSHA256 string `json:"rgb_sha256"`
	} `json:"decode"`
	Resize []struct {
		File      string `json:"file"`
		Filter    string `json:"filter"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
		RGBSHA256 string `json:"rgb_sha256"`
		PNG       string `json:"png"`
	} `json:"resize"`
	Keras []struct {
		File      string  `json:"file"`
		Size      int     `json:"size"`
		F32SHA256 string  `json:"f32_sha256"`
		Sum       float64 `json:"sum"`
	} `json:"keras"`
}

var (
	fixturesOnce sync.Once
	fixtures     pilFixtures
	fixturesErr  error
)

// readJSONFixture decodes testdata/name into v.
func readJSONFixture(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
}

func loadFixtures(t testing.TB) *pilFixtures {
	t.Helper()
	fixturesOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join("testdata", "pil.json"))
		if err == nil {
			err = json.Unmarshal(b, &fixtures)
		}
		fixturesErr = err
	})
	if fixturesErr != nil {
		t.Fatalf("load testdata/pil.json: %v", fixturesErr)
	}
	return &fixtures
}

var (
	decodedMu sync.Mutex
	decoded   = map[string]*RGB8{}
)

// decodeFixture decodes testdata/<file> (EXIF orientation applied) to RGB,
// memoised across tests.
func decodeFixture(t testing.TB, file string) *RGB8 {
	t.Helper()
	decodedMu.Lock()
	defer decodedMu.Unlock()
	if m, ok := decoded[file]; ok {
		return m
	}
	img, err := Decode(filepath.Join("testdata", file), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := ToRGB8(img)
	decoded[file] = m
	return m
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
