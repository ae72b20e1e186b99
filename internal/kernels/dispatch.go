package kernels

import "os"

// forceGeneric is set by INCEPTION_KERNELS=generic: every op then uses its …Generic version.
var forceGeneric = os.Getenv("INCEPTION_KERNELS") == "generic"

// forceAVX2 is set by INCEPTION_KERNELS=avx2: the AVX-512 kernels are then not used (the
// AVX2 ones are, if the CPU has them), so that one machine can test and time both.
var forceAVX2 = os.Getenv("INCEPTION_KERNELS") == "avx2"

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

// kernelTable lists every implementation compiled into this binary: the assembly kernels of
// this architecture (archKernels, in gemm_amd64.go), available when the CPU has their ISA and
// INCEPTION_KERNELS is not "generic", then the portable ones.
var kernelTable = append(archKernels[:len(archKernels):len(archKernels)], []kernelEntry{
	{op: "gemm", name: "gemmF32_6x16Generic", available: &always, fn: isaGeneric},
	{op: "gemv", name: "gemvF32_48Generic", available: &always, fn: isaGeneric},
	{op: "packb", name: "packB16F32Generic", available: &always, fn: isaGeneric},
	{op: "packmasked", name: "packB32MaskedF32Generic", available: &always, fn: isaGeneric},
	{op: "packs2", name: "packB16S2F32Generic", available: &always, fn: isaGeneric},
	{op: "unzip2", name: "unzip2F32Generic", available: &always, fn: isaGeneric},
	{op: "wino23", name: "wino23F32Generic", available: &always, fn: isaGeneric},
	{op: "wino43", name: "wino43F32Generic", available: &always, fn: isaGeneric},
	{op: "wino27", name: "wino27F32Generic", available: &always, fn: isaGeneric},
	{op: "wino25", name: "wino25F32Generic", available: &always, fn: isaGeneric},
	{op: "fmapeak", name: "fmaPeakF32Generic", available: &always, fn: fmaPeakFunc(fmaPeakF32Generic)},
	{op: "dot", name: "dotF32Generic", available: &always, fn: dotF32Generic},
	{op: "relu", name: "reluF32Generic", available: &always, fn: reluF32Generic},
	{op: "addscaled", name: "addScaledF32Generic", available: &always, fn: addScaledF32Generic},
	{op: "maxpool", name: "maxPool2DF32Generic", available: &always, fn: poolFunc(maxPool2DF32Generic)},
	{op: "avgpool", name: "avgPool2DF32Generic", available: &always, fn: avgPoolFunc(avgPool2DF32Generic)},
	{op: "lrn", name: "lrnF32Generic", available: &always, fn: lrnF32Generic},
}...)

// activeKernel returns the fn of the first available entry of op in kernelTable.
func activeKernel(op string) any {
	for _, e := range kernelTable {
		if e.op == op && *e.available {
			return e.fn
		}
	}
	panic("kernels: no implementation of " + op)
}

// gemmActive is the implementation of the GEMM engine's kernels (micro-kernels, B packers, the
// stride-2 input split or gather and the Winograd transforms: the "gemm", "packb", "packmasked",
// "packs2", "unzip2", "wino23", "wino43", "wino27" and "wino25" ops go together) that every GEMM and
// convolution uses, chosen once.
var gemmActive = activeKernel("gemm").(isa)

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
