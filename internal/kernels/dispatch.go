package kernels

import "os"

// forceGeneric is set by INCEPTION_KERNELS=generic: every op then uses its …Generic version.
var forceGeneric = os.Getenv("INCEPTION_KERNELS") == "generic"

// always is the availability flag of the portable implementations.
var always = true

// kernelEntry registers one implementation of an op. Within an op, entries are listed in
// order of preference; the first available one is active. fn is the implementation itself,
// so that tests and benchmarks can run every available entry of an op.
type kernelEntry struct {
	op, name  string
	available *bool
	fn        any
}

// kernelTable lists every implementation compiled into this binary. A SIMD kernel goes
// before the generic entry of its op, with available pointing at e.g. a useAVX2 &&
// !forceGeneric flag set next to its stubs.
var kernelTable = []kernelEntry{
	{op: "gemm", name: "gemmF32_1x8Generic", available: &always, fn: gemmF32_1x8Generic},
	{op: "dot", name: "dotF32Generic", available: &always, fn: dotF32Generic},
	{op: "relu", name: "reluF32Generic", available: &always, fn: reluF32Generic},
	{op: "addscaled", name: "addScaledF32Generic", available: &always, fn: addScaledF32Generic},
	{op: "maxpool", name: "maxPool2DF32Generic", available: &always, fn: maxPool2DF32Generic},
	{op: "avgpool", name: "avgPool2DF32Generic", available: &always, fn: avgPool2DF32Generic},
	{op: "lrn", name: "lrnF32Generic", available: &always, fn: lrnF32Generic},
}

// Impl describes one compiled kernel implementation, for `inception version --kernels`.
type Impl struct {
	Op, Name string
	Active   bool // the implementation this process uses for Op
}

// Implementations lists every compiled kernel implementation in table order, marking the
// active one of each op (the first available entry of that op).
func Implementations() []Impl {
	impls := make([]Impl, 0, len(kernelTable))
	seen := make(map[string]bool)
	for _, e := range kernelTable {
		active := *e.available && !seen[e.op]
		if active {
			seen[e.op] = true
		}
		impls = append(impls, Impl{Op: e.op, Name: e.name, Active: active})
	}
	return impls
}
