// Package xla picks the compute backend that mtlrob runs on: an XLA PJRT
// plugin when one is installed, else GoMLX's pure-Go backend. It never
// downloads anything.
//
// # Contract
//
// [New] (and its cached form [Default], and [MustBackend]) returns a
// compute.Backend and a one-line description. The choice is, in order:
//
//  1. An explicit $MTLROB_BACKEND: "go" or "go:<gobackend options>" (e.g.
//     "go:parallelism=2"), "xla:cuda", "xla:cpu", or an absolute plugin path
//     "/abs/plugin.so" (also "xla:/abs/plugin.so"); XLA settings may end in
//     go-xla options, "xla:cuda,preallocate=true". A setting that is unknown,
//     names a kind with no plugin found, names a missing file, or fails to
//     open is an error that says what was found. "" and "auto" mean no choice.
//  2. Else an XLA CUDA plugin: go-xla's own (pjrt_c_api_cuda_plugin.so in its
//     search directories) or JAX's (jax_plugins/xla_cuda*/xla_cuda_plugin.so
//     in a Python site-packages, as pip's jax-cuda12-pjrt/jax-cuda13-pjrt
//     install it). It is skipped when no NVIDIA device is visible.
//  3. Else an XLA CPU plugin: $MTLROB_XLA_DIR, then .xla/ at the repository
//     root (where `make xla-cpu` puts it), then go-xla's directories.
//  4. Else the pure-Go backend, github.com/gomlx/compute/gobackend.
//
// In 2 and 3 a plugin that fails to open is passed over and the description
// says why, e.g. "go (pure Go, simd=on, parallelism=4); xla:cpu failed
// (plugin /x/pjrt_c_api_cpu_plugin.so): ...". [DefaultRoots] lists every
// directory searched; [Discover] only looks at file names, so it is cheap.
//
// The description always states simd=on or simd=off ([SIMD]): the pure-Go
// backend is 7-30x slower when the binary was not built with
// GOEXPERIMENT=simd. For the Go backend it also gives the parallelism.
//
// # Environment
//
//   - MTLROB_BACKEND: the explicit choice above ([EnvBackend], [Settings]).
//   - MTLROB_XLA_DIR: a directory searched first for plugin files ([EnvXLADir]).
//   - GOMLX_NO_AUTO_INSTALL: New sets it to 1, so go-xla never downloads.
//   - GOMLX_BACKEND: ignored. It configures compute.New, which this package
//     does not call; mtlrob code gets its backend from this package only.
//   - PJRT_PLUGIN_LIBRARY_PATH, LD_LIBRARY_PATH, VIRTUAL_ENV, CONDA_PREFIX,
//     PYTHONPATH, PYENV_ROOT: more places to search (see [DefaultRoots]).
//
// Loading XLA plugins needs cgo; a binary built with CGO_ENABLED=0 reports
// any plugin as failing to open and uses the pure-Go backend.
package xla
