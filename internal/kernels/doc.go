// Package kernels holds the numeric kernels of the inference engine: convolution (through a
// cache-blocked, register-tiled GEMM over an implicit im2col matrix), pooling, LRN,
// activations, a fully connected layer, softmax and channel copies.
//
// Kernels work on raw []float32 tensors in CHW layout for one image; the caller loops over
// the batch and passes sub-slices. They do not allocate or return errors: bad arguments
// panic with a message starting "kernels: ". Only the Conv2D driver starts goroutines
// (when asked to via its threads argument).
//
// Each kernel has a portable Go version named …Generic. Optional SIMD versions are added
// next to it and registered in kernelTable; Implementations reports which one is active.
// Setting INCEPTION_KERNELS=generic forces the portable versions.
package kernels
