package models

import "testing"

func TestImageNetClasses(t *testing.T) {
	cs, err := ImageNetClasses()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1000 {
		t.Fatalf("%d classes, want 1000", len(cs))
	}
	for _, tc := range []struct {
		i          int
		wnid, name string
	}{{0, "n01440764", "tench"}, {285, "n02124075", "Egyptian cat"}, {967, "n07920052", "espresso"}, {999, "n15075141", "toilet tissue"}} {
		if c := cs[tc.i]; c.Index != tc.i || c.WNID != tc.wnid || c.Name() != tc.name {
			t.Errorf("class %d = %+v (%q), want %s %q", tc.i, c, c.Name(), tc.wnid, tc.name)
		}
	}
}

func TestParseSynsetsRejectsJunk(t *testing.T) {
	if _, err := parseSynsets("n01440764 tench\nnot a line\n"); err == nil {
		t.Error("no error for a malformed line")
	}
}
