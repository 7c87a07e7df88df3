package xla

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Kind names a backend: the pure-Go backend or an XLA PJRT plugin.
type Kind string

const (
	Go   Kind = "go"       // the pure-Go backend (github.com/gomlx/compute/gobackend)
	CPU  Kind = "xla:cpu"  // an XLA PJRT CPU plugin
	CUDA Kind = "xla:cuda" // an XLA PJRT CUDA plugin
	XLA  Kind = "xla"      // another XLA PJRT plugin, named by its path
)

// Candidate is one backend configuration to try.
type Candidate struct {
	Kind Kind
	// Plugin is the plugin's absolute path; empty for [Go].
	Plugin string
	// Options are passed through: for Go, the gobackend configuration
	// ("parallelism=2"; [Choose] refuses a count below 1); for XLA, go-xla's comma-separated
	// options ("preallocate=true,memory_fraction=0.5").
	Options string
}

// Config returns the candidate as a compute.NewWithConfig configuration:
// "go", "go:parallelism=2", "xla:/abs/plugin.so" or "xla:/abs/plugin.so,opts".
func (c Candidate) Config() string {
	if c.Kind == Go {
		if c.Options == "" {
			return "go"
		}
		return "go:" + c.Options
	}
	if c.Options == "" {
		return "xla:" + c.Plugin
	}
	return "xla:" + c.Plugin + "," + c.Options
}

// Choice is the outcome of [Choose]: the candidates to try in order, the
// first that opens wins. An explicit choice has exactly one candidate and
// no fallback.
type Choice struct {
	Explicit   bool
	Candidates []Candidate
	// Required, when set, lists the plugins of $MTLROB_XLA_DIR: a choice that is not explicit must
	// open one of them, and fails (naming the directory) rather than fall back to another backend.
	Required []string
}

// Settings lists the values that [EnvBackend] accepts.
const Settings = `"" or "auto", "go", "go:<options>", "xla:cuda[,<options>]", "xla:cpu[,<options>]", "[xla:]/abs/path/plugin.so[,<options>]"`

// Choose turns a [EnvBackend] setting and the plugins found into a Choice.
//
// An empty setting or "auto" gives every CUDA plugin, then every CPU plugin,
// then the pure-Go backend. "go" or "go:<options>" gives the Go backend;
// "xla:cuda" and "xla:cpu" the first plugin found of that kind; an absolute
// .so path, with or without "xla:", that plugin. Anything else, or a kind
// with no plugin found, or a path that is not a file, or a Go count option
// (parallelism, num_executors) that is not a whole number >= 1, is an error
// that lists every plugin found.
func Choose(setting string, found Plugins) (Choice, error) {
	setting = strings.TrimSpace(setting)
	fail := func(why string) (Choice, error) {
		return Choice{}, fmt.Errorf("xla: %s=%q: %s (found %s; valid settings: %s)", EnvBackend, setting, why, found, Settings)
	}
	explicit := func(c Candidate) (Choice, error) { return Choice{Explicit: true, Candidates: []Candidate{c}}, nil }

	if setting == "" || setting == "auto" {
		var c Choice
		for _, p := range found.CUDA {
			c.Candidates = append(c.Candidates, Candidate{Kind: CUDA, Plugin: p})
		}
		for _, p := range found.CPU {
			c.Candidates = append(c.Candidates, Candidate{Kind: CPU, Plugin: p})
		}
		c.Candidates = append(c.Candidates, Candidate{Kind: Go})
		return c, nil
	}
	if setting == "go" {
		return explicit(Candidate{Kind: Go})
	}
	if opts, ok := strings.CutPrefix(setting, "go:"); ok {
		if err := checkGoOptions(opts); err != nil {
			return fail(err.Error())
		}
		return explicit(Candidate{Kind: Go, Options: opts})
	}

	name, opts, _ := strings.Cut(strings.TrimPrefix(setting, "xla:"), ",")
	switch {
	case name == "cuda" && strings.HasPrefix(setting, "xla:"):
		if len(found.CUDA) == 0 {
			return fail("no XLA CUDA plugin found")
		}
		return explicit(Candidate{Kind: CUDA, Plugin: found.CUDA[0], Options: opts})
	case name == "cpu" && strings.HasPrefix(setting, "xla:"):
		if len(found.CPU) == 0 {
			return fail("no XLA CPU plugin found (make xla-cpu installs one into .xla/)")
		}
		return explicit(Candidate{Kind: CPU, Plugin: found.CPU[0], Options: opts})
	case filepath.IsAbs(name) && strings.HasSuffix(name, ".so"):
		if info, err := os.Stat(name); err != nil || !info.Mode().IsRegular() {
			return fail("no plugin file at " + name)
		}
		return explicit(Candidate{Kind: kindOf(name), Plugin: filepath.Clean(name), Options: opts})
	}
	return fail("unknown backend")
}

// goCountOptions are the options of the pure-Go backend that take a count: each must be a whole
// number of at least 1 (gobackend would accept 0 or a negative number without a word).
var goCountOptions = []string{"parallelism", "num_executors"}

// checkGoOptions refuses a count option of the pure-Go backend's comma-separated options (see
// goCountOptions) whose value is not an integer >= 1, naming the option and the value. Other
// options are left to gobackend, which refuses the unknown ones when it opens.
func checkGoOptions(opts string) error {
	for part := range strings.SplitSeq(opts, ",") {
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		for _, name := range goCountOptions {
			if key != name {
				continue
			}
			if n, err := strconv.Atoi(value); err != nil || n < 1 {
				return fmt.Errorf("go option %s=%q: want a whole number >= 1", name, value)
			}
		}
	}
	return nil
}
