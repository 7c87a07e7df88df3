package xla

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Fake plugins are empty files: go-xla fails to load them, as it would a
// real plugin that cannot start (a CUDA plugin on a machine without a GPU).
func TestOpenFallsBack(t *testing.T) {
	root := t.TempDir()
	cuda := touch(t, root, "sp/jax_plugins/xla_cuda13/xla_cuda_plugin.so")
	cpu := touch(t, root, ".xla/pjrt_c_api_cpu_plugin.so")
	auto, err := Choose("", Plugins{CUDA: []string{cuda}, CPU: []string{cpu}})
	if err != nil {
		t.Fatal(err)
	}
	goDesc := `^go \(pure Go, simd=` + onOff(SIMD) + `, parallelism=\d+\)`
	tests := []struct {
		name   string
		choice Choice
		gpu    bool
		desc   string // regexp; "" when an error is expected
		err    string
	}{
		{
			name: "no GPU: CUDA skipped, CPU fails, Go", choice: auto, gpu: false,
			desc: goDesc + `; xla:cuda skipped \(plugin ` + regexp.QuoteMeta(cuda) + `\): no NVIDIA device; ` +
				`xla:cpu failed \(plugin ` + regexp.QuoteMeta(cpu) + `\): .+$`,
		},
		{
			name: "GPU: CUDA fails, CPU fails, Go", choice: auto, gpu: true,
			desc: goDesc + `; xla:cuda failed \(plugin ` + regexp.QuoteMeta(cuda) + `\): .+; xla:cpu failed .+$`,
		},
		{
			name: "explicit CUDA is tried without a GPU and fails", gpu: false,
			choice: Choice{Explicit: true, Candidates: []Candidate{{Kind: CUDA, Plugin: cuda}}},
			err:    "xla: opening xla:" + cuda + ": ",
		},
		{
			name: "explicit Go with options", gpu: false,
			choice: Choice{Explicit: true, Candidates: []Candidate{{Kind: Go, Options: "parallelism=1"}}},
			desc:   `^go \(pure Go, simd=` + onOff(SIMD) + `, parallelism=1\)$`,
		},
		{
			name: "explicit Go with a bad option", gpu: false,
			choice: Choice{Explicit: true, Candidates: []Candidate{{Kind: Go, Options: "bogus"}}},
			err:    "xla: opening go:bogus: ",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, desc, err := open(tc.choice, func() bool { return tc.gpu })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer b.Finalize()
			if strings.Contains(desc, "\n") || !regexp.MustCompile(tc.desc).MatchString(desc) {
				t.Errorf("description = %q, want a line matching %q", desc, tc.desc)
			}
			if b.Name() != "Go Backend" {
				t.Errorf("backend = %q, want the Go backend", b.Name())
			}
		})
	}
}

func TestNewFromEnvironment(t *testing.T) {
	t.Setenv(envNoAutoInstall, "")
	tests := []struct {
		setting string
		desc    string // prefix; "" when an error is expected
		err     string
	}{
		{setting: "go", desc: "go (pure Go, simd=" + onOff(SIMD) + ", parallelism="},
		{setting: "go:parallelism=1", desc: "go (pure Go, simd=" + onOff(SIMD) + ", parallelism=1)"},
		{setting: "bogus", err: `MTLROB_BACKEND="bogus": unknown backend (found CUDA plugins:`},
		{setting: "/nonexistent/pjrt_c_api_cpu_plugin.so", err: "no plugin file at /nonexistent/pjrt_c_api_cpu_plugin.so"},
	}
	for _, tc := range tests {
		t.Run(tc.setting, func(t *testing.T) {
			t.Setenv(EnvBackend, tc.setting)
			b, desc, err := New()
			if os.Getenv(envNoAutoInstall) != "1" {
				t.Errorf("New left %s=%q, want 1", envNoAutoInstall, os.Getenv(envNoAutoInstall))
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("New() error = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer b.Finalize()
			if !strings.HasPrefix(desc, tc.desc) {
				t.Errorf("description = %q, want prefix %q", desc, tc.desc)
			}
		})
	}
}

// A set $MTLROB_XLA_DIR is a request for its plugins: a mistyped directory, one without a plugin or
// one whose plugin cannot open is an error naming the variable and the path, never a silent fallback
// to the pure-Go backend. Unset, the usual search and fallback apply.
func TestXLADirMustHoldWorkingPlugin(t *testing.T) {
	root := t.TempDir()
	broken := filepath.Join(root, "broken")
	brokenPlugin := touch(t, broken, "pjrt_c_api_cpu_plugin.so") // empty: go-xla cannot load it
	notDir := touch(t, root, "file")
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		err       []string // substrings of the error; nil for success
	}{
		{name: "mistyped", dir: filepath.Join(root, "nosuchdir"), err: []string{EnvXLADir + `="` + filepath.Join(root, "nosuchdir") + `"`, "no such file"}},
		{name: "a file", dir: notDir, err: []string{EnvXLADir + `="` + notDir + `": not a directory`}},
		{name: "no plugin", dir: empty, err: []string{EnvXLADir + `="` + empty + `" holds no XLA CPU or CUDA plugin`}},
		{name: "broken plugin", dir: broken, err: []string{EnvXLADir + " holds no working plugin", brokenPlugin, "no fallback"}},
		{name: "unset", dir: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBackend, "")
			t.Setenv(EnvXLADir, tc.dir)
			b, desc, err := New()
			if tc.err == nil {
				if err != nil {
					t.Fatalf("New() with %s unset: %v", EnvXLADir, err)
				}
				b.Finalize()
				return
			}
			if err == nil {
				b.Finalize()
				t.Fatalf("New() = %q, want an error", desc)
			}
			for _, want := range tc.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New() error = %v, want it to contain %q", err, want)
				}
			}
		})
	}
}
