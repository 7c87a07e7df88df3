package xla

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	root := t.TempDir()
	cu1 := touch(t, root, "sp/jax_plugins/xla_cuda13/xla_cuda_plugin.so")
	cu2 := touch(t, root, "d/pjrt_c_api_cuda_plugin.so")
	cp1 := touch(t, root, ".xla/pjrt_c_api_cpu_plugin.so")
	other := touch(t, root, "custom/my_plugin.so")
	found := Plugins{CUDA: []string{cu1, cu2}, CPU: []string{cp1}}
	missing := filepath.Join(root, "missing/pjrt_c_api_cpu_plugin.so")

	auto := Choice{Candidates: []Candidate{{Kind: CUDA, Plugin: cu1}, {Kind: CUDA, Plugin: cu2}, {Kind: CPU, Plugin: cp1}, {Kind: Go}}}
	one := func(c Candidate) Choice { return Choice{Explicit: true, Candidates: []Candidate{c}} }
	tests := []struct {
		setting string
		found   Plugins
		want    Choice
		config  string // of the first candidate
		err     string // a substring of the error; "" for none
	}{
		{setting: "", found: found, want: auto, config: "xla:" + cu1},
		{setting: " auto ", found: found, want: auto, config: "xla:" + cu1},
		{setting: "", want: Choice{Candidates: []Candidate{{Kind: Go}}}, config: "go"},
		{setting: "go", found: found, want: one(Candidate{Kind: Go}), config: "go"},
		{setting: "go:parallelism=2", found: found, want: one(Candidate{Kind: Go, Options: "parallelism=2"}), config: "go:parallelism=2"},
		{setting: "go:parallelism=1,ops_sequential", found: found, want: one(Candidate{Kind: Go, Options: "parallelism=1,ops_sequential"}), config: "go:parallelism=1,ops_sequential"},
		{setting: "xla:cuda", found: found, want: one(Candidate{Kind: CUDA, Plugin: cu1}), config: "xla:" + cu1},
		{setting: "xla:cuda,preallocate=true", found: found, want: one(Candidate{Kind: CUDA, Plugin: cu1, Options: "preallocate=true"}), config: "xla:" + cu1 + ",preallocate=true"},
		{setting: "xla:cpu", found: found, want: one(Candidate{Kind: CPU, Plugin: cp1}), config: "xla:" + cp1},
		{setting: cp1, want: one(Candidate{Kind: CPU, Plugin: cp1}), config: "xla:" + cp1},
		{setting: "xla:" + cu2 + ",noshared_buffers", want: one(Candidate{Kind: CUDA, Plugin: cu2, Options: "noshared_buffers"}), config: "xla:" + cu2 + ",noshared_buffers"},
		{setting: other, want: one(Candidate{Kind: XLA, Plugin: other}), config: "xla:" + other},

		{setting: "xla:cuda", found: Plugins{CPU: []string{cp1}}, err: "no XLA CUDA plugin found (found CUDA plugins: none; CPU plugins: " + cp1 + ";"},
		{setting: "xla:cpu", found: Plugins{CUDA: []string{cu1}}, err: "no XLA CPU plugin found"},
		{setting: "cuda", found: found, err: "unknown backend (found CUDA plugins: " + cu1 + ", " + cu2 + "; CPU plugins: " + cp1 + ";"},
		{setting: "tpu", found: found, err: "unknown backend"},
		{setting: "xla:rocm", found: found, err: "unknown backend"},
		{setting: "xla", found: found, err: "unknown backend"},
		{setting: "gpu", found: found, err: "valid settings:"},
		{setting: missing, found: found, err: "no plugin file at " + missing},
		{setting: filepath.Join(root, "d"), found: found, err: "unknown backend"},
		{setting: "d/pjrt_c_api_cuda_plugin.so", found: found, err: "unknown backend"},
		{setting: "go:parallelism=0", found: found, err: `go option parallelism="0": want a whole number >= 1`},
		{setting: "go:parallelism=-3", found: found, err: `go option parallelism="-3": want a whole number >= 1`},
		{setting: "go:parallelism=two", found: found, err: `go option parallelism="two": want a whole number >= 1`},
		{setting: "go:parallelism=", found: found, err: `go option parallelism="": want a whole number >= 1`},
		{setting: "go:ops_sequential,num_executors=0", found: found, err: `go option num_executors="0": want a whole number >= 1`},
	}
	for _, tc := range tests {
		t.Run(tc.setting, func(t *testing.T) {
			got, err := Choose(tc.setting, tc.found)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Choose(%q) error = %v, want it to contain %q", tc.setting, err, tc.err)
				}
				if !strings.Contains(err.Error(), EnvBackend) {
					t.Errorf("error %q does not name %s", err, EnvBackend)
				}
				return
			}
			if err != nil {
				t.Fatalf("Choose(%q): %v", tc.setting, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Choose(%q) =\n%+v\nwant\n%+v", tc.setting, got, tc.want)
			}
			if c := got.Candidates[0].Config(); c != tc.config {
				t.Errorf("Config() = %q, want %q", c, tc.config)
			}
		})
	}
}
