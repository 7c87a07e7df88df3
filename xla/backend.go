package xla

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

const (
	// EnvBackend names the environment variable with an explicit backend
	// choice; see [Settings] and [Choose].
	EnvBackend = "MTLROB_BACKEND"
	// EnvXLADir names the environment variable with an extra directory to
	// search first for plugins.
	EnvXLADir = "MTLROB_XLA_DIR"
	// envNoAutoInstall stops go-xla from downloading plugins.
	envNoAutoInstall = "GOMLX_NO_AUTO_INSTALL"
)

// New opens the backend chosen by [Choose] from $MTLROB_BACKEND and the
// plugins [Discover] finds in [DefaultRoots], and returns it with a one-line
// description such as "go (pure Go, simd=on, parallelism=4)" or
// "xla:cpu (plugin /abs/.xla/pjrt_c_api_cpu_plugin.so, PJRT v0.115, simd=on)".
//
// It never downloads: it sets GOMLX_NO_AUTO_INSTALL=1 and hands go-xla
// absolute plugin paths. Without an explicit choice a CUDA plugin is skipped
// when no NVIDIA device is visible, and a plugin that fails to open is passed
// over for the next candidate; the description then says so. An explicit
// choice that fails to open is an error. A set $MTLROB_XLA_DIR must hold a
// plugin, and without an explicit choice one of its plugins must open: a
// mistyped directory or a broken plugin there is an error naming it, never a
// fallback to another backend. Each call opens a new backend; see
// [Default] for a shared one.
func New() (compute.Backend, string, error) {
	return Open(os.Getenv(EnvBackend))
}

// Open is [New] with setting in place of $MTLROB_BACKEND (same syntax; "" means no explicit
// choice). Benchmarks use it to open several backends side by side.
func Open(setting string) (compute.Backend, string, error) {
	_ = os.Setenv(envNoAutoInstall, "1")
	required, err := xlaDirPlugins(os.Getenv(EnvXLADir))
	if err != nil {
		return nil, "", err
	}
	choice, err := Choose(setting, Discover(DefaultRoots()))
	if err != nil {
		return nil, "", err
	}
	if !choice.Explicit {
		choice.Required = required
	}
	return open(choice, hasNVIDIADevice)
}

var defaultBackend = sync.OnceValues(func() (opened, error) {
	b, desc, err := New()
	return opened{b, desc}, err
})

type opened struct {
	backend compute.Backend
	desc    string
}

// Default returns the backend of the first call to [New], shared by all
// callers of Default and [MustBackend] in the process.
func Default() (compute.Backend, string, error) {
	o, err := defaultBackend()
	return o.backend, o.desc, err
}

// MustBackend is [Default] for notebooks and commands: it panics with the
// error instead of returning it.
func MustBackend() (compute.Backend, string) {
	b, desc, err := Default()
	if err != nil {
		panic(err)
	}
	return b, desc
}

// open tries the candidates in order; hasGPU tells whether an NVIDIA
// device is visible. When c.Required is set only those plugins are tried,
// and none opening is an error naming $MTLROB_XLA_DIR.
func open(c Choice, hasGPU func() bool) (compute.Backend, string, error) {
	var notes []string
	for _, cand := range c.Candidates {
		if cand.Kind == CUDA && !c.Explicit && !hasGPU() {
			notes = append(notes, fmt.Sprintf("%s skipped (plugin %s): no NVIDIA device", cand.Kind, cand.Plugin))
			continue
		}
		if len(c.Required) > 0 && !slices.Contains(c.Required, cand.Plugin) {
			continue
		}
		b, desc, err := openCandidate(cand)
		if err == nil {
			if len(notes) > 0 {
				desc += "; " + strings.Join(notes, "; ")
			}
			return b, desc, nil
		}
		if c.Explicit {
			return nil, "", fmt.Errorf("xla: opening %s: %w", cand.Config(), err)
		}
		notes = append(notes, fmt.Sprintf("%s failed (plugin %s): %s", cand.Kind, cand.Plugin, firstLine(err)))
	}
	if len(c.Required) > 0 {
		return nil, "", fmt.Errorf("xla: %s holds no working plugin: %s (fix or unset it; no fallback to another backend)",
			EnvXLADir, strings.Join(notes, "; "))
	}
	return nil, "", errors.New("xla: no backend could be opened: " + strings.Join(notes, "; "))
}

// xlaDirPlugins returns the plugins in dir, the value of $MTLROB_XLA_DIR: nil when dir is empty
// (the variable is unset), and an error naming dir when it is not a directory or holds no CPU or
// CUDA plugin file (see [Roots].Dirs for the file names looked for). A set variable is a request
// for its plugins; a mistyped path must not silently select another backend.
func xlaDirPlugins(dir string) ([]string, error) {
	if dir == "" {
		return nil, nil
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("xla: %s=%q: %w (set it to a directory holding an XLA plugin, or unset it)", EnvXLADir, dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("xla: %s=%q: not a directory (set it to a directory holding an XLA plugin, or unset it)", EnvXLADir, dir)
	}
	p := Discover(Roots{Dirs: []string{dir}})
	if len(p.CUDA)+len(p.CPU) == 0 {
		return nil, fmt.Errorf("xla: %s=%q holds no XLA CPU or CUDA plugin (want a file such as pjrt_c_api_cpu_plugin.so; make xla-cpu installs one into .xla/), or unset it",
			EnvXLADir, dir)
	}
	return slices.Concat(p.CUDA, p.CPU), nil
}

var reParallelism = regexp.MustCompile(`parallelism=(-?\d+)`)

func openCandidate(c Candidate) (compute.Backend, string, error) {
	if c.Kind != Go {
		return openPlugin(c)
	}
	b, err := gobackend.New(c.Options)
	if err != nil {
		return nil, "", err
	}
	desc := "go (pure Go, simd=" + onOff(SIMD)
	if m := reParallelism.FindStringSubmatch(b.Description()); m != nil {
		desc += ", parallelism=" + m[1]
	}
	return b, desc + ")", nil
}

// hasNVIDIADevice reports whether an NVIDIA device node is visible.
func hasNVIDIADevice() bool {
	m, _ := filepath.Glob("/dev/nvidia[0-9]*")
	return len(m) > 0
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// firstLine shortens an error to its first line, at most 200 bytes.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
