//go:build goexperiment.simd

package xla

// SIMD reports whether this binary was built with GOEXPERIMENT=simd, which the
// pure-Go backend needs for its AVX2/AVX-512 kernels (without it the backend
// silently runs scalar code, about 7-30x slower).
const SIMD = true
