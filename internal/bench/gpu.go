package bench

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gomlx/compute"
)

// GPU benchmark (issue 8 item 3): mtlrob on XLA CUDA against PyTorch CUDA (eager) on the same GPU,
// ResNet-18 and WRN-28-10 at 32x32, batch 256, a PGD-10 adversarial training step and PGD-20
// evaluation. `mtlrob bench -gpu` (make bench-gpu) runs it; -cpu-fallback runs the same code path on
// the CPU (pure-Go backend against PyTorch on the CPU) at a tiny size, to check it without a GPU.

// GPUModels are the networks of the GPU benchmark.
var GPUModels = []string{"resnet18", "wrn-28-10"}

// GPUBatch is the batch of the GPU benchmark.
const GPUBatch = 256

// GPUFallback are the settings of the CPU fallback: the GPU benchmark's rows on a tiny WideResNet
// (WRN-10-1) at batch 2, pure-Go backend against PyTorch on the CPU, one repetition.
var GPUFallback = struct {
	Models   []string
	Batch    int
	Backends string
}{Models: []string{"wrn-10-1"}, Batch: 2, Backends: "go"}

// GPUSetting opens XLA's CUDA backend for the GPU benchmark: the PyTorch reference shares the GPU,
// so XLA preallocates 45% of its memory rather than its default 75%.
const GPUSetting = "xla:cuda,preallocate=true,memory_fraction=0.45"

// ErrNoCUDA is wrapped by the error of GPUBackends when XLA's CUDA backend cannot be opened.
var ErrNoCUDA = errors.New("no CUDA")

// GPUBackends opens the Go backends of the GPU benchmark with open (xla.Open): GPUSetting, or with
// cpuFallback "go". Without a GPU the error is one line that says so and how to run the fallback.
func GPUBackends(open func(setting string) (compute.Backend, string, error), cpuFallback bool) ([]Backend, error) {
	name, setting := "xla:cuda", GPUSetting
	if cpuFallback {
		name, setting = GPUFallback.Backends, GPUFallback.Backends
	}
	b, line, err := open(setting)
	if err != nil {
		if cpuFallback {
			return nil, fmt.Errorf("bench -gpu -cpu-fallback: backend %s: %s", name, firstLine(err))
		}
		return nil, fmt.Errorf("bench -gpu: %w: XLA's CUDA backend did not open (%s); run it on a machine with an "+
			"NVIDIA GPU and JAX's CUDA PJRT plugin (jax_plugins/xla_cuda*/xla_cuda_plugin.so), or pass -cpu-fallback",
			ErrNoCUDA, firstLine(err))
	}
	if !cpuFallback && !strings.HasPrefix(line, "xla:cuda") {
		return nil, fmt.Errorf("bench -gpu: %w: %q opened %q, not XLA CUDA", ErrNoCUDA, setting, line)
	}
	return []Backend{{Name: name, Line: line, Backend: b}}, nil
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
