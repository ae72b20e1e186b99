package kernels

import (
	"strings"
	"testing"
)

func TestImplementations(t *testing.T) {
	t.Logf("useAVX2=%t forceGeneric=%t", useAVX2, forceGeneric)
	active := map[string]int{}
	ops := map[string]bool{}
	for _, im := range Implementations() {
		t.Logf("%-10s %-22s active=%t", im.Op, im.Name, im.Active)
		ops[im.Op] = true
		if im.Active {
			active[im.Op]++
		}
		if forceGeneric && im.Active && !strings.HasSuffix(im.Name, "Generic") {
			t.Errorf("INCEPTION_KERNELS=generic but %s is active for %s", im.Name, im.Op)
		}
	}
	for op := range ops {
		if active[op] != 1 {
			t.Errorf("op %s has %d active implementations, want 1", op, active[op])
		}
	}
	for _, e := range kernelTable {
		if e.fn == nil || e.available == nil {
			t.Errorf("kernelTable entry %s/%s has a nil fn or available", e.op, e.name)
		}
	}
}
