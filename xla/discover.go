package xla

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the module whose root holds the repo-local plugin directory
// .xla/ (see [DefaultRoots]).
const ModulePath = "github.com/mtlrob/mtlrob"

// Plugins lists the XLA PJRT plugin files that [Discover] found: absolute
// paths, most preferred first, without duplicates.
type Plugins struct {
	CUDA []string
	CPU  []string
}

// String lists every plugin found, for error messages.
func (p Plugins) String() string {
	list := func(paths []string) string {
		if len(paths) == 0 {
			return "none"
		}
		return strings.Join(paths, ", ")
	}
	return "CUDA plugins: " + list(p.CUDA) + "; CPU plugins: " + list(p.CPU)
}

// Roots are the directories [Discover] searches, in preference order.
// Directories that do not exist are skipped.
type Roots struct {
	// Dirs hold plugin files directly, named as go-xla expects
	// (pjrt_c_api_<name>_plugin.so, pjrt-plugin-<name>.so, pjrt_plugin_<name>.so)
	// or as JAX names its CUDA plugin (xla_cuda_plugin.so).
	Dirs []string
	// SitePackages are Python site-packages directories. Discover looks there
	// for JAX's CUDA plugin, jax_plugins/xla_cuda*/xla_cuda_plugin.so, and for
	// plugins that a pip package ships, <package>/pjrt_c_api_<name>_plugin.so.
	SitePackages []string
}

var (
	dirPatterns  = []string{"pjrt_c_api_*_plugin.so", "pjrt-plugin-*.so", "pjrt_plugin_*.so", "xla_cuda*_plugin.so"}
	sitePatterns = []string{"jax_plugins/xla_cuda*/xla_cuda_plugin.so", "*/pjrt_c_api_*_plugin.so"}
)

// Discover returns the CUDA and CPU plugins in roots: it only looks at file
// names (nothing is loaded), so it is cheap and never fails. A plugin is CUDA
// when its file name contains "cuda" or "nvidia", CPU when it contains "cpu";
// other plugins (ROCm, TPU) are ignored.
func Discover(r Roots) Plugins {
	var p Plugins
	seen := map[string]bool{}
	search := func(dirs, patterns []string) {
		for _, dir := range dirs {
			if dir == "" {
				continue
			}
			for _, pattern := range patterns {
				matches, _ := filepath.Glob(filepath.Join(dir, pattern))
				for _, m := range matches {
					p.add(m, seen)
				}
			}
		}
	}
	search(r.Dirs, dirPatterns)
	search(r.SitePackages, sitePatterns)
	return p
}

func (p *Plugins) add(path string, seen map[string]bool) {
	if info, err := os.Stat(path); err != nil || !info.Mode().IsRegular() {
		return
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return
	}
	key := path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		key = real
	}
	if seen[key] {
		return
	}
	switch kindOf(path) {
	case CUDA:
		p.CUDA = append(p.CUDA, path)
	case CPU:
		p.CPU = append(p.CPU, path)
	default:
		return
	}
	seen[key] = true
}

// kindOf guesses a plugin's kind from its file name, as go-xla does.
func kindOf(path string) Kind {
	name := strings.ToLower(filepath.Base(path))
	switch {
	case strings.Contains(name, "cuda") || strings.Contains(name, "nvidia"):
		return CUDA
	case strings.Contains(name, "cpu"):
		return CPU
	}
	return XLA
}

// DefaultRoots returns the places where plugins are installed, in this order:
//
//   - Dirs: $MTLROB_XLA_DIR; the repo-local .xla/ at the root of the module
//     [ModulePath], found by walking up from the working directory; the
//     entries of $PJRT_PLUGIN_LIBRARY_PATH; go-xla's own install directories
//     (~/.local/lib/go-xla, /usr/local/lib/go-xla and their gomlx/pjrt
//     predecessors); $LD_LIBRARY_PATH; the directories in /etc/ld.so.conf.
//   - SitePackages: $VIRTUAL_ENV, $CONDA_PREFIX, $PYTHONPATH, the user's
//     ~/.local and pyenv installs, /usr/local/lib/python3*, /usr/lib/python3*
//     and /opt/conda.
func DefaultRoots() Roots {
	home, _ := os.UserHomeDir()
	cwd, _ := os.Getwd()
	return rootsFor(os.Getenv, home, cwd, "/")
}

// rootsFor is DefaultRoots with its inputs made explicit: sys is the
// file-system root under which system directories are looked up.
func rootsFor(getenv func(string) string, home, cwd, sys string) Roots {
	var r Roots
	glob := func(patterns ...string) []string {
		var out []string
		for _, p := range patterns {
			m, _ := filepath.Glob(p)
			out = append(out, m...)
		}
		return out
	}
	list := func(env string) []string { return filepath.SplitList(getenv(env)) }
	s := func(p string) string { return filepath.Join(sys, p) }

	r.Dirs = append(r.Dirs, getenv(EnvXLADir))
	if root := repoRoot(cwd); root != "" {
		r.Dirs = append(r.Dirs, filepath.Join(root, ".xla"))
	}
	r.Dirs = append(r.Dirs, list("PJRT_PLUGIN_LIBRARY_PATH")...)
	if home != "" {
		r.Dirs = append(r.Dirs, filepath.Join(home, ".local/lib/go-xla"), filepath.Join(home, ".local/lib/gomlx/pjrt"))
	}
	r.Dirs = append(r.Dirs, s("usr/local/lib/go-xla"), s("usr/local/lib/gomlx/pjrt"))
	r.Dirs = append(r.Dirs, list("LD_LIBRARY_PATH")...)
	r.Dirs = append(r.Dirs, ldConfDirs(s("etc/ld.so.conf"), sys, 0)...)

	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if prefix := getenv(env); prefix != "" {
			r.SitePackages = append(r.SitePackages, glob(filepath.Join(prefix, "lib/python3*/site-packages"))...)
		}
	}
	r.SitePackages = append(r.SitePackages, list("PYTHONPATH")...)
	if home != "" {
		pyenv := getenv("PYENV_ROOT")
		if pyenv == "" {
			pyenv = filepath.Join(home, ".pyenv")
		}
		r.SitePackages = append(r.SitePackages, glob(
			filepath.Join(home, ".local/lib/python3*/site-packages"),
			filepath.Join(pyenv, "versions/*/lib/python3*/site-packages"))...)
	}
	r.SitePackages = append(r.SitePackages, glob(
		s("usr/local/lib/python3*/site-packages"), s("usr/local/lib/python3*/dist-packages"),
		s("usr/lib/python3*/dist-packages"), s("usr/lib/python3*/site-packages"),
		s("opt/conda/lib/python3*/site-packages"))...)
	return r
}

// repoRoot returns the directory, dir or one of its parents, whose go.mod
// declares [ModulePath], or "" if there is none.
func repoRoot(dir string) string {
	for dir != "" {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for line := range strings.Lines(string(data)) {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == ModulePath {
					return dir
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return ""
}

// ldConfDirs returns the library directories listed in an ld.so.conf file,
// following its include lines (resolved under sys).
func ldConfDirs(file, sys string, depth int) []string {
	f, err := os.Open(file)
	if err != nil || depth > 4 {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "include" {
			pattern := fields[1]
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(file), pattern)
			} else {
				pattern = filepath.Join(sys, pattern)
			}
			includes, _ := filepath.Glob(pattern)
			for _, inc := range includes {
				dirs = append(dirs, ldConfDirs(inc, sys, depth+1)...)
			}
		} else if filepath.IsAbs(line) {
			dirs = append(dirs, filepath.Join(sys, line))
		}
	}
	return dirs
}
