package bench

import (
	"maps"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/mtlrob/mtlrob/xla"
)

// environment collects the versions behind a report: Go, GoMLX and its backends, GOEXPERIMENT=simd,
// the PyTorch reference's (python, torch, CUDA, cuDNN, GPU), and the NVIDIA driver when nvidia-smi
// answers.
func environment(t *torchRef) map[string]string {
	env := map[string]string{"go": runtime.Version(), "goarch": runtime.GOARCH, "simd": onOff(xla.SIMD)}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/gomlx/gomlx", "github.com/gomlx/compute", "github.com/gomlx/go-xla":
				env[d.Path[strings.LastIndex(d.Path, "/")+1:]] = d.Version
			}
		}
	}
	maps.Copy(env, t.Info) // python, torch, and on CUDA cuda, cudnn, gpu, gpus
	if out, err := exec.Command("nvidia-smi", "--query-gpu=name,driver_version,memory.total",
		"--format=csv,noheader").Output(); err == nil {
		if s := strings.TrimSpace(string(out)); s != "" {
			env["nvidia_smi"] = strings.ReplaceAll(s, "\n", " | ")
		}
	}
	return env
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
