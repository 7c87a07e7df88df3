package xla

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// touch creates empty files (and their directories) under root and returns
// the path of the last one.
func touch(t *testing.T, root string, rels ...string) string {
	t.Helper()
	var p string
	for _, rel := range rels {
		p = filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// under joins root to each relative path.
func under(root string, rels ...string) []string {
	var out []string
	for _, r := range rels {
		out = append(out, filepath.Join(root, r))
	}
	return out
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name          string
		files         []string
		dirs, sites   []string
		cuda, cpu     []string
		symlinkToFrom [2]string // optional: symlink [1] -> [0]
	}{
		{name: "nothing", dirs: []string{"missing"}, sites: []string{"missing-too"}},
		{
			name:  "JAX CUDA plugin in site-packages",
			files: []string{"sp/jax_plugins/xla_cuda13/xla_cuda_plugin.so", "sp/jax_plugins/xla_cuda13/version.py"},
			sites: []string{"sp"},
			cuda:  []string{"sp/jax_plugins/xla_cuda13/xla_cuda_plugin.so"},
		},
		{
			name:  "pip package shipping a CPU plugin",
			files: []string{"sp/lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so", "sp/numpy/core.so"},
			sites: []string{"sp"},
			cpu:   []string{"sp/lammps_jax_pjrt_cpu/pjrt_c_api_cpu_plugin.so"},
		},
		{
			name: "go-xla names in a plugin dir; others ignored",
			files: []string{
				"d/pjrt_c_api_cpu_plugin.so", "d/pjrt_c_api_cuda_plugin.so", "d/pjrt-plugin-cpu.so",
				"d/pjrt_c_api_rocm_plugin.so", "d/libfoo.so", "d/pjrt_c_api_cpu_plugin.so.txt",
			},
			dirs: []string{"d"},
			cuda: []string{"d/pjrt_c_api_cuda_plugin.so"},
			cpu:  []string{"d/pjrt_c_api_cpu_plugin.so", "d/pjrt-plugin-cpu.so"},
		},
		{
			name:  "dirs keep their order, duplicates and symlinks appear once",
			files: []string{"b/pjrt_c_api_cpu_plugin.so", "a/pjrt_c_api_cpu_plugin.so"},
			dirs:  []string{"a", "b", "a", "c"},
			cpu:   []string{"a/pjrt_c_api_cpu_plugin.so", "b/pjrt_c_api_cpu_plugin.so"},
			// c/pjrt_c_api_cpu_plugin.so -> a/pjrt_c_api_cpu_plugin.so
			symlinkToFrom: [2]string{"a/pjrt_c_api_cpu_plugin.so", "c/pjrt_c_api_cpu_plugin.so"},
		},
		{
			name:  "dirs come before site-packages",
			files: []string{"sp/jax_plugins/xla_cuda12/xla_cuda_plugin.so", "d/pjrt_c_api_cuda_plugin.so"},
			dirs:  []string{"d"},
			sites: []string{"sp"},
			cuda:  []string{"d/pjrt_c_api_cuda_plugin.so", "sp/jax_plugins/xla_cuda12/xla_cuda_plugin.so"},
		},
		{
			name:  "a directory with a plugin's name is not a plugin",
			files: []string{"d/pjrt_c_api_cpu_plugin.so/x"},
			dirs:  []string{"d"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			touch(t, root, tc.files...)
			if to, from := tc.symlinkToFrom[0], tc.symlinkToFrom[1]; from != "" {
				if err := os.MkdirAll(filepath.Join(root, filepath.Dir(from)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(root, to), filepath.Join(root, from)); err != nil {
					t.Fatal(err)
				}
			}
			got := Discover(Roots{Dirs: under(root, tc.dirs...), SitePackages: under(root, tc.sites...)})
			if want := under(root, tc.cuda...); !slices.Equal(got.CUDA, want) {
				t.Errorf("CUDA = %q, want %q", got.CUDA, want)
			}
			if want := under(root, tc.cpu...); !slices.Equal(got.CPU, want) {
				t.Errorf("CPU = %q, want %q", got.CPU, want)
			}
		})
	}
}

func TestDiscoverDefaultRootsLayout(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		cwd       string // relative to the temp root
		cuda, cpu []string
	}{
		{
			name: "everything, in preference order",
			env: map[string]string{
				EnvXLADir:                  "{root}/mine",
				"PJRT_PLUGIN_LIBRARY_PATH": "{root}/pjrt1:{root}/pjrt2",
				"VIRTUAL_ENV":              "{root}/venv",
				"PYTHONPATH":               "{root}/pypath",
			},
			cwd: "repo/notebooks/sub",
			cuda: []string{
				"home/.local/lib/go-xla/pjrt_c_api_cuda_plugin.so",
				"venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
				"pypath/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
				"home/.local/lib/python3.11/site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
				"home/.pyenv/versions/3.11.7/lib/python3.11/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
				"sys/usr/local/lib/python3.11/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
				"sys/usr/lib/python3/dist-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
			},
			cpu: []string{
				"mine/pjrt_c_api_cpu_plugin.so",
				"repo/.xla/pjrt_c_api_cpu_plugin.so",
				"pjrt2/pjrt_plugin_cpu.so",
				"sys/usr/local/lib/go-xla/pjrt_c_api_cpu_plugin.so",
				"sys/opt/ldlib/pjrt_c_api_cpu_plugin.so",
			},
		},
		{
			name: "outside the repository and with no env: no .xla, no venv",
			cwd:  "elsewhere/sub",
			cuda: []string{
				"home/.local/lib/go-xla/pjrt_c_api_cuda_plugin.so",
				"home/.local/lib/python3.11/site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
				"home/.pyenv/versions/3.11.7/lib/python3.11/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
				"sys/usr/local/lib/python3.11/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
				"sys/usr/lib/python3/dist-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
			},
			cpu: []string{
				"sys/usr/local/lib/go-xla/pjrt_c_api_cpu_plugin.so",
				"sys/opt/ldlib/pjrt_c_api_cpu_plugin.so",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			touch(t, root,
				"mine/pjrt_c_api_cpu_plugin.so",
				"repo/.xla/pjrt_c_api_cpu_plugin.so",
				"repo/notebooks/sub/keep",
				"pjrt2/pjrt_plugin_cpu.so",
				"home/.local/lib/go-xla/pjrt_c_api_cuda_plugin.so",
				"sys/usr/local/lib/go-xla/pjrt_c_api_cpu_plugin.so",
				"sys/opt/ldlib/pjrt_c_api_cpu_plugin.so",
				"venv/lib/python3.12/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
				"pypath/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
				"home/.local/lib/python3.11/site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
				"home/.pyenv/versions/3.11.7/lib/python3.11/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
				"sys/usr/local/lib/python3.11/dist-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so",
				"sys/usr/lib/python3/dist-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so",
				"elsewhere/sub/keep",
			)
			writeFile(t, filepath.Join(root, "repo/go.mod"), "// mtlrob\nmodule "+ModulePath+"\n\ngo 1.27.0\n")
			writeFile(t, filepath.Join(root, "repo/notebooks/go.mod"), "module example.com/other\n")
			writeFile(t, filepath.Join(root, "elsewhere/go.mod"), "module example.com/elsewhere\n")
			writeFile(t, filepath.Join(root, "sys/etc/ld.so.conf"), "# comment\ninclude /etc/ld.so.conf.d/*.conf\n")
			writeFile(t, filepath.Join(root, "sys/etc/ld.so.conf.d/x.conf"), "/opt/ldlib\n/opt/missing # trailing comment\n")

			getenv := func(k string) string {
				return filepath.FromSlash(strings.ReplaceAll(tc.env[k], "{root}", root))
			}
			got := Discover(rootsFor(getenv, filepath.Join(root, "home"), filepath.Join(root, tc.cwd), filepath.Join(root, "sys")))
			if want := under(root, tc.cuda...); !slices.Equal(got.CUDA, want) {
				t.Errorf("CUDA =\n%q\nwant\n%q", got.CUDA, want)
			}
			if want := under(root, tc.cpu...); !slices.Equal(got.CPU, want) {
				t.Errorf("CPU =\n%q\nwant\n%q", got.CPU, want)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "repo/go.mod"), "module \""+ModulePath+"\"\n")
	writeFile(t, filepath.Join(root, "repo/tools/go.mod"), "module "+ModulePath+"/tools\n")
	writeFile(t, filepath.Join(root, "other/go.mod"), "module example.com/x // "+ModulePath+"\n")
	touch(t, root, "repo/tools/a/b/keep", "other/a/keep")
	tests := []struct{ cwd, want string }{
		{"repo", "repo"},
		{"repo/tools/a/b", "repo"},
		{"other/a", ""},
	}
	for _, tc := range tests {
		want := ""
		if tc.want != "" {
			want = filepath.Join(root, tc.want)
		}
		if got := repoRoot(filepath.Join(root, tc.cwd)); got != want {
			t.Errorf("repoRoot(%s) = %q, want %q", tc.cwd, got, want)
		}
	}
}
