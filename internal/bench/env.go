package bench

import (
	"fmt"
	"maps"
	"os"
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

// CPU is the machine's processor as /proc/cpuinfo describes it: ratios differ between CPU families
// (AVX2 only, AVX-512, AMX), so the table states it.
type CPU struct {
	Model      string `json:"model"`
	Cores      int    `json:"cores"`      // runtime.NumCPU: the cores this process may use
	Extensions string `json:"extensions"` // vector extensions, e.g. "AVX, AVX2, FMA, no AVX-512"
}

// readCPU reads /proc/cpuinfo; on a system without it the model and the extensions are "unknown".
func readCPU() CPU {
	text, _ := os.ReadFile("/proc/cpuinfo")
	model, flags := parseCPUInfo(string(text))
	return CPU{Model: model, Cores: numCPU(), Extensions: vectorExtensions(flags)}
}

// parseCPUInfo returns the first processor's model name and its feature flags ("flags" on x86,
// "Features" on ARM); the model is "unknown" when /proc/cpuinfo names none.
func parseCPUInfo(text string) (model string, flags []string) {
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name", "Model Name", "cpu model":
			if model == "" {
				model = v
			}
		case "flags", "Features":
			if flags == nil {
				flags = strings.Fields(v)
			}
		}
	}
	if model == "" {
		model = "unknown"
	}
	return model, flags
}

// vectorExtensions summarises the SIMD extensions among cpuinfo flags: on x86 SSE4.2, AVX, AVX2, FMA,
// AVX-512 with its subsets, AVX-VNNI and AMX (or "no AVX-512" when absent); on ARM NEON, SVE, SVE2, SME.
func vectorExtensions(flags []string) string {
	has := map[string]bool{}
	for _, f := range flags {
		has[f] = true
	}
	var out []string
	add := func(flag, name string) {
		if has[flag] {
			out = append(out, name)
		}
	}
	group := func(name string, members [][2]string) bool {
		var sub []string
		for _, m := range members {
			if has[m[0]] {
				sub = append(sub, m[1])
			}
		}
		if len(sub) > 0 {
			out = append(out, name+" ("+strings.Join(sub, ", ")+")")
		}
		return len(sub) > 0
	}
	if has["asimd"] || has["sve"] { // ARM
		add("asimd", "NEON")
		add("sve", "SVE")
		add("sve2", "SVE2")
		add("sme", "SME")
		add("i8mm", "I8MM")
		add("bf16", "BF16")
		return strings.Join(out, ", ")
	}
	add("sse4_2", "SSE4.2")
	add("avx", "AVX")
	add("avx2", "AVX2")
	add("fma", "FMA")
	if !group("AVX-512", [][2]string{{"avx512f", "F"}, {"avx512cd", "CD"}, {"avx512bw", "BW"}, {"avx512dq", "DQ"},
		{"avx512vl", "VL"}, {"avx512ifma", "IFMA"}, {"avx512vbmi", "VBMI"}, {"avx512_vbmi2", "VBMI2"},
		{"avx512_vnni", "VNNI"}, {"avx512_bf16", "BF16"}, {"avx512_fp16", "FP16"}, {"avx512_bitalg", "BITALG"},
		{"avx512_vpopcntdq", "VPOPCNTDQ"}, {"avx512_vp2intersect", "VP2INTERSECT"}}) && len(out) > 0 {
		out = append(out, "no AVX-512")
	}
	add("avx_vnni", "AVX-VNNI")
	group("AMX", [][2]string{{"amx_tile", "TILE"}, {"amx_bf16", "BF16"}, {"amx_int8", "INT8"}, {"amx_fp16", "FP16"}})
	if len(out) == 0 {
		return "unknown"
	}
	return strings.Join(out, ", ")
}

// Line is the CPU in one line: model, cores, vector extensions.
func (c CPU) Line() string {
	return fmt.Sprintf("%s, %d cores; vector extensions: %s", c.Model, c.Cores, c.Extensions)
}
