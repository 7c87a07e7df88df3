package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// The PyTorch reference must be the fastest a user would get on the machine (issue 18 item 1). Debian's
// python3-torch links libblas.so.3, which the system's alternatives resolve; where both
// libopenblas0-pthread and libopenblas0-openmp are installed the alternative stays on the pthread build,
// whose attack rows run up to 1.5x slower. So the driver pins the OpenMP build for the reference process
// only (its LD_LIBRARY_PATH, never the system's alternatives), the reference reports which BLAS it
// actually loaded and its threads, and Run refuses to report ratios against a reference that is
// misconfigured, unless Config.AllowReference gives a reason, which the table records.

// openMPBLASSubdir is Debian's directory of the OpenMP OpenBLAS build (package libopenblas0-openmp),
// under /usr/lib/<multiarch>/; it holds libblas.so.3, liblapack.so.3 and libopenblas.so.0.
const openMPBLASSubdir = "openblas-openmp"

// multiarch is Debian's library triplet for the Go architecture.
var multiarch = map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu",
	"ppc64le": "powerpc64le-linux-gnu", "s390x": "s390x-linux-gnu", "riscv64": "riscv64-linux-gnu"}

// openMPBLASDir returns the directory of Debian's OpenMP OpenBLAS under root ("/" on a real system), as
// an absolute path on the machine rooted at root, or "" when it is not installed (no libblas.so.3 there).
func openMPBLASDir(root string) string {
	var cands []string
	if m, ok := multiarch[runtime.GOARCH]; ok {
		cands = append(cands, filepath.Join("usr/lib", m, openMPBLASSubdir))
	}
	if ms, _ := filepath.Glob(filepath.Join(root, "usr/lib/*-linux-gnu", openMPBLASSubdir)); len(ms) > 0 {
		for _, m := range ms {
			rel, _ := filepath.Rel(root, m)
			cands = append(cands, rel)
		}
	}
	for _, rel := range cands {
		if st, err := os.Stat(filepath.Join(root, rel, "libblas.so.3")); err == nil && !st.IsDir() {
			return filepath.Join(root, rel)
		}
	}
	return ""
}

// torchEnv is the environment of the PyTorch reference process: base (the driver's own), with the
// reference's threads and device, and on the CPU the OpenMP OpenBLAS pinned when blasDir (from
// openMPBLASDir) is not "": blasDir first on LD_LIBRARY_PATH, OMP_WAIT_POLICY=PASSIVE unless the
// caller set a policy (PyTorch's OpenMP threads then sleep, rather than spin, while the Go side runs
// its repetitions). OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are set to threads on the CPU, so that
// torch, OpenMP and OpenBLAS agree on the cores used.
func torchEnv(base []string, blasDir string, threads int, device string) []string {
	env := slices.Clone(base)
	set := func(k, v string) {
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
		env = append(env, k+"="+v)
	}
	get := func(k string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], k+"="); ok {
				return v, true
			}
		}
		return "", false
	}
	set("MTLROB_BENCH_THREADS", strconv.Itoa(threads))
	set("MTLROB_BENCH_DEVICE", device)
	set("PYTHONUNBUFFERED", "1")
	if device != "cpu" {
		return env
	}
	set("OMP_NUM_THREADS", strconv.Itoa(threads))
	set("OPENBLAS_NUM_THREADS", strconv.Itoa(threads))
	if blasDir == "" {
		return env
	}
	path := []string{blasDir}
	if old, ok := get("LD_LIBRARY_PATH"); ok {
		for _, d := range strings.Split(old, ":") {
			if d != "" && filepath.Clean(d) != filepath.Clean(blasDir) {
				path = append(path, d)
			}
		}
	}
	set("LD_LIBRARY_PATH", strings.Join(path, ":"))
	if _, ok := get("OMP_WAIT_POLICY"); !ok {
		set("OMP_WAIT_POLICY", "PASSIVE")
	}
	return env
}

// blasRaw is the "blas" object of torchref.py's ready line (see blas_report there).
type blasRaw struct {
	Maps           []string          `json:"maps"`  // BLAS, LAPACK and OpenMP libraries mapped into the process
	Sgemm          string            `json:"sgemm"` // the file whose sgemm_ torch calls (dladdr), "" when not found
	TorchThreads   int               `json:"torch_threads"`
	InteropThreads int               `json:"interop_threads"`
	MKL            bool              `json:"mkl"`
	Env            map[string]string `json:"env"`
	OpenBLAS       *blasOpenBLAS     `json:"openblas"`
	OMPThreads     *int              `json:"omp_threads"` // omp_get_max_threads() of the loaded OpenMP runtime
	Error          string            `json:"error"`
}

// blasOpenBLAS is what the loaded OpenBLAS says of itself (through ctypes, as threadpoolctl asks it).
type blasOpenBLAS struct {
	Path     string `json:"path"`
	Config   string `json:"config"`   // openblas_get_config(): "OpenBLAS 0.3.21 ... USE_OPENMP SkylakeX MAX_THREADS=64"
	Core     string `json:"core"`     // openblas_get_corename(): the kernels in use, e.g. "SkylakeX", "Haswell", "Zen"
	Parallel int    `json:"parallel"` // openblas_get_parallel(): 0 serial, 1 pthreads, 2 OpenMP
	Threads  int    `json:"threads"`  // openblas_get_num_threads()
}

// Reference describes the PyTorch reference's BLAS and threads, as the reference itself reported them.
type Reference struct {
	// BLAS names the build, e.g. "OpenBLAS 0.3.21, OpenMP build, SkylakeX kernels"; Kind is one of
	// openblas-openmp, openblas-pthread, openblas-serial, openblas (threading unknown), mkl, blis,
	// netlib (the unoptimised reference BLAS) and unknown; Library is the loaded library's path.
	BLAS      string   `json:"blas"`
	Kind      string   `json:"blas_kind"`
	Library   string   `json:"blas_library,omitempty"`
	Libraries []string `json:"libraries,omitempty"`
	// Threads: torch's intra-op and inter-op threads, OpenBLAS's threads and OpenMP's max threads
	// (0: not known), and Want, the threads asked for (the cores used).
	TorchThreads   int `json:"torch_threads"`
	InteropThreads int `json:"interop_threads"`
	BLASThreads    int `json:"blas_threads,omitempty"`
	OMPThreads     int `json:"omp_threads,omitempty"`
	Want           int `json:"threads_wanted"`
	// Env holds the variables that steer the BLAS as the reference saw them (LD_LIBRARY_PATH,
	// OMP_WAIT_POLICY, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, ...).
	Env map[string]string `json:"env,omitempty"`
	// OpenMPDir is Debian's OpenMP OpenBLAS directory on this machine ("" when not installed).
	OpenMPDir string `json:"openmp_blas_dir,omitempty"`
	// Problems are what makes the reference unfair (each says how to fix it); AllowedBecause is the
	// reason given with -allow-reference when the table was recorded despite them.
	Problems       []string `json:"problems,omitempty"`
	AllowedBecause string   `json:"allowed_because,omitempty"`
	Error          string   `json:"error,omitempty"`
}

// newReference names the build in raw and lists the problems of a reference that should run want threads
// on a machine with cores cores, where Debian's OpenMP OpenBLAS is openMPDir ("" when absent).
func newReference(raw blasRaw, want, cores int, openMPDir string) Reference {
	r := Reference{Libraries: raw.Maps, TorchThreads: raw.TorchThreads, InteropThreads: raw.InteropThreads,
		Want: want, Env: raw.Env, OpenMPDir: openMPDir, Error: raw.Error}
	if raw.OMPThreads != nil {
		r.OMPThreads = *raw.OMPThreads
	}
	r.Kind, r.BLAS, r.Library = blasBuild(raw)
	if raw.OpenBLAS != nil {
		r.BLASThreads = raw.OpenBLAS.Threads
	}
	r.Problems = referenceProblems(r, cores)
	return r
}

// blasBuild names the BLAS torch uses from what the reference loaded: MKL when torch has it (it then
// uses MKL for its products), else OpenBLAS by its own report (threading mode, version, kernels) or
// by the directory it was loaded from, else BLIS, else the netlib reference BLAS.
func blasBuild(raw blasRaw) (kind, name, lib string) {
	if raw.MKL {
		return "mkl", "Intel MKL (linked into torch)", firstMatch(raw.Maps, "libmkl")
	}
	if ob := raw.OpenBLAS; ob != nil {
		kind = "openblas"
		switch {
		case ob.Parallel == 2 || strings.Contains(ob.Config, "USE_OPENMP"):
			kind = "openblas-openmp"
		case ob.Parallel == 1:
			kind = "openblas-pthread"
		case ob.Parallel == 0:
			kind = "openblas-serial"
		}
		version := "OpenBLAS"
		if f := strings.Fields(ob.Config); len(f) >= 2 && f[0] == "OpenBLAS" {
			version = f[0] + " " + f[1]
		}
		name = version + ", " + threading(kind) + " build"
		if ob.Core != "" {
			name += ", " + ob.Core + " kernels"
		}
		return kind, name, ob.Path
	}
	paths := raw.Maps
	if raw.Sgemm != "" {
		paths = append([]string{raw.Sgemm}, paths...)
	}
	if lib = firstMatchDir(paths, "openblas"); lib != "" {
		dir, base := filepath.Base(filepath.Dir(lib)), filepath.Base(lib)
		kind = "openblas"
		switch {
		case dir == "openblas-openmp" || strings.HasPrefix(base, "libopenblaso"):
			kind = "openblas-openmp"
		case dir == "openblas-pthread":
			kind = "openblas-pthread"
		case dir == "openblas-serial":
			kind = "openblas-serial"
		}
		return kind, "OpenBLAS, " + threading(kind) + " build", lib
	}
	if lib = firstMatch(paths, "libblis"); lib != "" {
		return "blis", "BLIS", lib
	}
	if lib = firstMatch(paths, "libblas.so"); lib != "" {
		return "netlib", "reference BLAS (netlib, unoptimised)", lib
	}
	return "unknown", "unknown (no BLAS library among the reference's mappings, torch without MKL)", ""
}

func threading(kind string) string {
	switch kind {
	case "openblas-openmp":
		return "OpenMP"
	case "openblas-pthread":
		return "pthreads"
	case "openblas-serial":
		return "serial (single-threaded)"
	}
	return "threading unknown"
}

// firstMatch is the first path whose file name contains sub, or "".
func firstMatch(paths []string, sub string) string {
	for _, p := range paths {
		if strings.Contains(filepath.Base(p), sub) {
			return p
		}
	}
	return ""
}

// firstMatchDir is the first path whose file name or directory name contains sub, or "".
func firstMatchDir(paths []string, sub string) string {
	for _, p := range paths {
		if strings.Contains(filepath.Base(p), sub) || strings.Contains(filepath.Base(filepath.Dir(p)), sub) {
			return p
		}
	}
	return ""
}

// referenceProblems lists what makes r an unfair reference on a machine with cores cores, each with its fix.
func referenceProblems(r Reference, cores int) []string {
	var ps []string
	if r.Error != "" {
		ps = append(ps, "the reference could not report its BLAS ("+r.Error+")")
	}
	switch r.Kind {
	case "openblas-pthread", "openblas-serial", "openblas":
		if r.OpenMPDir != "" {
			ps = append(ps, fmt.Sprintf("PyTorch loaded the %s OpenBLAS (%s) although the OpenMP build is installed (%s): "+
				"something overrides the library path the driver sets (LD_PRELOAD, or a torch that bundles its own BLAS); "+
				"unset it, or use Debian's python3-torch (/usr/bin/python3)", threading(r.Kind), r.Library, r.OpenMPDir))
		} else {
			ps = append(ps, fmt.Sprintf("PyTorch runs on the %s OpenBLAS (%s) and the faster OpenMP build is not installed: "+
				"apt-get install libopenblas0-openmp (make bench does); the driver then pins it for PyTorch", threading(r.Kind), r.Library))
		}
	case "netlib":
		ps = append(ps, fmt.Sprintf("PyTorch runs on the unoptimised reference BLAS (%s): apt-get install libopenblas0-openmp "+
			"(make bench does); the driver then pins it for PyTorch", r.Library))
	case "unknown":
		ps = append(ps, "could not tell which BLAS PyTorch uses (no BLAS library among its mappings and torch has no MKL): "+
			"use Debian's python3-torch (/usr/bin/python3) with libopenblas0-openmp")
	}
	var builds []string
	for _, p := range r.Libraries {
		if d := filepath.Base(filepath.Dir(p)); strings.HasPrefix(d, "openblas-") && !slices.Contains(builds, d) {
			builds = append(builds, d)
		}
	}
	if len(builds) > 1 {
		ps = append(ps, fmt.Sprintf("PyTorch mapped OpenBLAS libraries of several builds (%s): something loads one of them "+
			"besides the library path the driver sets (LD_PRELOAD?); unset it", strings.Join(builds, ", ")))
	}
	if r.Want < cores {
		ps = append(ps, fmt.Sprintf("the reference was asked for %d threads on a %d-core machine, while mtlrob uses every core: "+
			"leave Config.Threads at 0 (one thread per core)", r.Want, cores))
	}
	if r.TorchThreads != r.Want {
		ps = append(ps, fmt.Sprintf("torch runs %d intra-op threads, want %d (the cores used): torch.set_num_threads did not "+
			"take; check OMP_NUM_THREADS and the torch build", r.TorchThreads, r.Want))
	}
	if r.BLASThreads > 0 && r.BLASThreads != r.Want {
		ps = append(ps, fmt.Sprintf("OpenBLAS runs %d threads, want %d (the cores used): unset OPENBLAS_NUM_THREADS/GOTO_NUM_THREADS, "+
			"or check the OpenBLAS build's MAX_THREADS", r.BLASThreads, r.Want))
	}
	if r.OMPThreads > 0 && r.OMPThreads != r.Want {
		ps = append(ps, fmt.Sprintf("OpenMP allows %d threads, want %d (the cores used): unset OMP_NUM_THREADS/OMP_THREAD_LIMIT",
			r.OMPThreads, r.Want))
	}
	return ps
}

// checkReference is nil for a reference without problems, or for one with problems when allow gives
// a reason (recorded in r); otherwise one line naming every problem and the way out.
func checkReference(r *Reference, allow string) error {
	if len(r.Problems) == 0 {
		return nil
	}
	if allow != "" {
		r.AllowedBecause = allow
		return nil
	}
	return fmt.Errorf("bench: the PyTorch reference is misconfigured, so ratios against it would flatter mtlrob: %s. "+
		"Fix it, or pass -allow-reference REASON to record the table against it anyway (the reason and the problems go into the table)",
		strings.Join(r.Problems, "; "))
}

// Line is the reference's BLAS and threads in one line, as the log and the table print them.
func (r Reference) Line() string {
	var b strings.Builder
	b.WriteString(r.BLAS)
	if r.Library != "" {
		fmt.Fprintf(&b, " (%s)", r.Library)
	}
	fmt.Fprintf(&b, "; threads: torch %d (inter-op %d)", r.TorchThreads, r.InteropThreads)
	if r.BLASThreads > 0 {
		fmt.Fprintf(&b, ", BLAS %d", r.BLASThreads)
	}
	if r.OMPThreads > 0 {
		fmt.Fprintf(&b, ", OpenMP %d", r.OMPThreads)
	}
	for _, k := range []string{"LD_LIBRARY_PATH", "LD_PRELOAD", "OMP_WAIT_POLICY"} {
		if v, ok := r.Env[k]; ok {
			fmt.Fprintf(&b, "; %s=%s", k, v)
		}
	}
	return b.String()
}
