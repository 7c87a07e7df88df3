package bench

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// Excerpts of /proc/cpuinfo: an AVX-512 + AMX Xeon (this project's machine), an AVX2-only EPYC (the
// issue's), an old AVX-only CPU, and an ARM server.
const (
	cpuinfoXeon = `processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Processor
flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx_vnni avx512_bf16 avx512vbmi avx512_vbmi2 avx512_vnni avx512_bitalg avx512_vpopcntdq amx_bf16 avx512_fp16 amx_tile amx_int8

processor	: 1
model name	: Intel(R) Xeon(R) Processor
flags		: fpu sse
`
	cpuinfoEPYC = `processor	: 0
model name	: AMD EPYC 7B13
flags		: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2
`
	cpuinfoAVX = "model name\t: Intel(R) Core(TM) i7-2600 CPU @ 3.40GHz\nflags\t\t: sse4_2 avx\n"
	cpuinfoARM = "processor\t: 0\nBogoMIPS\t: 243.75\nFeatures\t: fp asimd evtstrm aes sha2 crc32 sve i8mm bf16 sve2\n"
)

func TestCPUExtensions(t *testing.T) {
	for _, tc := range []struct {
		name, text, model, ext string
	}{
		{"xeon", cpuinfoXeon, "Intel(R) Xeon(R) Processor", "SSE4.2, AVX, AVX2, FMA, " +
			"AVX-512 (F, CD, BW, DQ, VL, IFMA, VBMI, VBMI2, VNNI, BF16, FP16, BITALG, VPOPCNTDQ), AVX-VNNI, AMX (TILE, BF16, INT8)"},
		{"epyc", cpuinfoEPYC, "AMD EPYC 7B13", "SSE4.2, AVX, AVX2, FMA, no AVX-512"},
		{"avx", cpuinfoAVX, "Intel(R) Core(TM) i7-2600 CPU @ 3.40GHz", "SSE4.2, AVX, no AVX-512"},
		{"arm", cpuinfoARM, "unknown", "NEON, SVE, SVE2, I8MM, BF16"},
		{"empty", "", "unknown", "unknown"},
	} {
		model, flags := parseCPUInfo(tc.text)
		if ext := vectorExtensions(flags); model != tc.model || ext != tc.ext {
			t.Errorf("%s: got %q, %q\nwant %q, %q", tc.name, model, ext, tc.model, tc.ext)
		}
	}
	if c := readCPU(); c.Cores < 1 || c.Model == "" || c.Extensions == "" {
		t.Errorf("readCPU() = %+v", c)
	}
}

// The reports below are what torchref.py's blas_report answers (the first two taken on this machine
// with and without the library-path pin).
func TestBLASBuild(t *testing.T) {
	const (
		omp  = "/usr/lib/x86_64-linux-gnu/openblas-openmp/"
		pthr = "/usr/lib/x86_64-linux-gnu/openblas-pthread/"
	)
	ob := func(path, config string, parallel int) *blasOpenBLAS {
		return &blasOpenBLAS{Path: path, Config: config, Core: "SkylakeX", Parallel: parallel, Threads: 2}
	}
	for _, tc := range []struct {
		name            string
		raw             blasRaw
		kind, blas, lib string
	}{
		{"openmp, ctypes", blasRaw{Maps: []string{omp + "libopenblasp-r0.3.21.so", omp + "libblas.so.3", "/usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0"},
			OpenBLAS: ob(omp+"libopenblasp-r0.3.21.so", "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY USE_OPENMP SkylakeX MAX_THREADS=64", 2)},
			"openblas-openmp", "OpenBLAS 0.3.21, OpenMP build, SkylakeX kernels", omp + "libopenblasp-r0.3.21.so"},
		{"pthread, ctypes", blasRaw{Maps: []string{pthr + "libopenblasp-r0.3.21.so", pthr + "libblas.so.3"},
			OpenBLAS: ob(pthr+"libopenblasp-r0.3.21.so", "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64", 1)},
			"openblas-pthread", "OpenBLAS 0.3.21, pthreads build, SkylakeX kernels", pthr + "libopenblasp-r0.3.21.so"},
		{"serial, ctypes", blasRaw{OpenBLAS: ob("/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0", "OpenBLAS 0.3.21 SkylakeX", 0)},
			"openblas-serial", "OpenBLAS 0.3.21, serial (single-threaded) build, SkylakeX kernels", "/usr/lib/x86_64-linux-gnu/openblas-serial/libopenblas.so.0"},
		{"sgemm provider first", blasRaw{Sgemm: pthr + "libblas.so.3", Maps: []string{omp + "libopenblasp-r0.3.21.so", pthr + "libblas.so.3"}},
			"openblas-pthread", "OpenBLAS, pthreads build", pthr + "libblas.so.3"},
		{"openmp, maps only", blasRaw{Maps: []string{omp + "libblas.so.3", omp + "libopenblasp-r0.3.21.so"}},
			"openblas-openmp", "OpenBLAS, OpenMP build", omp + "libblas.so.3"},
		{"pthread, maps only", blasRaw{Maps: []string{pthr + "libopenblasp-r0.3.21.so"}},
			"openblas-pthread", "OpenBLAS, pthreads build", pthr + "libopenblasp-r0.3.21.so"},
		{"fedora openmp", blasRaw{Maps: []string{"/usr/lib64/libopenblaso.so.0"}}, "openblas-openmp", "OpenBLAS, OpenMP build", "/usr/lib64/libopenblaso.so.0"},
		{"netlib", blasRaw{Maps: []string{"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"}},
			"netlib", "reference BLAS (netlib, unoptimised)", "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"},
		{"blis", blasRaw{Maps: []string{"/usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4", "/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3"}},
			"blis", "BLIS", "/usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so.4"},
		{"pip torch, MKL", blasRaw{MKL: true, Maps: []string{"/venv/torch/lib/libgomp-a34b3233.so.1"}}, "mkl", "Intel MKL (linked into torch)", ""},
		{"nothing", blasRaw{Maps: []string{"/usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0"}}, "unknown", "unknown", ""},
	} {
		kind, blas, lib := blasBuild(tc.raw)
		if kind != tc.kind || !strings.HasPrefix(blas, tc.blas) || lib != tc.lib {
			t.Errorf("%s: got %q, %q, %q\nwant %q, %q, %q", tc.name, kind, blas, lib, tc.kind, tc.blas, tc.lib)
		}
	}
}

// A misconfigured reference is refused with an error naming each problem; -allow-reference records it.
func TestReferenceRefusal(t *testing.T) {
	const ompDir = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
	good := func() blasRaw {
		two := 2
		return blasRaw{Maps: []string{ompDir + "/libopenblasp-r0.3.21.so"}, TorchThreads: 2, InteropThreads: 1, OMPThreads: &two,
			OpenBLAS: &blasOpenBLAS{Path: ompDir + "/libopenblasp-r0.3.21.so", Config: "OpenBLAS 0.3.21 USE_OPENMP", Parallel: 2, Threads: 2}}
	}
	with := func(f func(*blasRaw)) blasRaw { r := good(); f(&r); return r }
	for _, tc := range []struct {
		name        string
		raw         blasRaw
		want, cores int
		openMPDir   string
		problems    []string // substrings, one per expected problem; none: accepted
	}{
		{"openmp, threads = cores", good(), 2, 2, ompDir, nil},
		{"pthread while openmp installed", with(func(r *blasRaw) {
			r.OpenBLAS.Path, r.OpenBLAS.Parallel, r.OpenBLAS.Config = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so", 1, "OpenBLAS 0.3.21"
		}), 2, 2, ompDir, []string{"loaded the pthreads OpenBLAS (/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so) although the OpenMP build is installed"}},
		{"pthread, openmp not installed", with(func(r *blasRaw) { r.OpenBLAS.Parallel, r.OpenBLAS.Config = 1, "OpenBLAS 0.3.21" }),
			2, 2, "", []string{"apt-get install libopenblas0-openmp"}},
		{"serial OpenBLAS", with(func(r *blasRaw) { r.OpenBLAS.Parallel, r.OpenBLAS.Config = 0, "OpenBLAS 0.3.21" }),
			2, 2, ompDir, []string{"serial (single-threaded) OpenBLAS"}},
		{"netlib", blasRaw{Maps: []string{"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"}, TorchThreads: 2},
			2, 2, "", []string{"unoptimised reference BLAS"}},
		{"unknown BLAS", blasRaw{TorchThreads: 2}, 2, 2, "", []string{"could not tell which BLAS"}},
		{"two builds mapped", with(func(r *blasRaw) {
			r.Maps = append(r.Maps, "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3")
		}), 2, 2, ompDir, []string{"several builds (openblas-openmp, openblas-pthread)"}},
		{"torch on 1 thread of 2", with(func(r *blasRaw) { r.TorchThreads = 1 }), 2, 2, ompDir, []string{"torch runs 1 intra-op threads, want 2"}},
		{"asked for 1 thread on 2 cores", with(func(r *blasRaw) {
			one := 1
			r.TorchThreads, r.OpenBLAS.Threads, r.OMPThreads = 1, 1, &one
		}), 1, 2, ompDir, []string{"asked for 1 threads on a 2-core machine"}},
		{"BLAS threads != cores", with(func(r *blasRaw) { r.OpenBLAS.Threads = 1 }), 2, 2, ompDir, []string{"OpenBLAS runs 1 threads, want 2"}},
		{"OpenMP threads != cores", with(func(r *blasRaw) { three := 3; r.OMPThreads = &three }), 2, 2, ompDir, []string{"OpenMP allows 3 threads, want 2"}},
		{"report failed", with(func(r *blasRaw) { r.Error = "OSError: boom" }), 2, 2, ompDir, []string{"could not report its BLAS (OSError: boom)"}},
		{"MKL", blasRaw{MKL: true, TorchThreads: 4}, 4, 4, "", nil},
	} {
		ref := newReference(tc.raw, tc.want, tc.cores, tc.openMPDir)
		if len(ref.Problems) != len(tc.problems) {
			t.Errorf("%s: problems %q, want %d like %q", tc.name, ref.Problems, len(tc.problems), tc.problems)
			continue
		}
		err := checkReference(&ref, "")
		if len(tc.problems) == 0 {
			if err != nil {
				t.Errorf("%s: refused a good reference: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted, want refused", tc.name)
			continue
		}
		msg := err.Error()
		for _, p := range tc.problems {
			if !strings.Contains(msg, p) {
				t.Errorf("%s: error %q lacks %q", tc.name, msg, p)
			}
		}
		if !strings.Contains(msg, "-allow-reference") || strings.Contains(msg, "\n") {
			t.Errorf("%s: want one line naming -allow-reference, got %q", tc.name, msg)
		}
		if err := checkReference(&ref, "quick look"); err != nil || ref.AllowedBecause != "quick look" {
			t.Errorf("%s: -allow-reference: %v, recorded %q", tc.name, err, ref.AllowedBecause)
		}
		rep := &Report{Torch: "1.13", Reference: &ref, CPU: CPU{Model: "m", Cores: 2, Extensions: "AVX2"}}
		if md := rep.Markdown(); !strings.Contains(md, `-allow-reference "quick look" despite:`) || !strings.Contains(md, tc.problems[0]) {
			t.Errorf("%s: table does not record the accepted problems:\n%s", tc.name, md)
		}
	}
}

// The PyTorch process gets the OpenMP OpenBLAS first on its library path when the machine has it
// (fake Debian directories in a temporary root), its threads, and a passive OpenMP wait policy
// unless one was set.
func TestTorchEnv(t *testing.T) {
	arch, ok := multiarch[runtime.GOARCH]
	if !ok {
		arch = "x86_64-linux-gnu"
	}
	withOMP, withoutOMP, emptyOMP := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{filepath.Join(withOMP, "usr/lib", arch, "openblas-openmp"), filepath.Join(withOMP, "usr/lib", arch, "openblas-pthread"),
		filepath.Join(withoutOMP, "usr/lib", arch, "openblas-pthread"), filepath.Join(emptyOMP, "usr/lib", arch, "openblas-openmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(d, emptyOMP) {
			if err := os.WriteFile(filepath.Join(d, "libblas.so.3"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	ompDir := filepath.Join(withOMP, "usr/lib", arch, "openblas-openmp")
	if got := openMPBLASDir(withOMP); got != ompDir {
		t.Fatalf("openMPBLASDir(with) = %q, want %q", got, ompDir)
	}
	for _, root := range []string{withoutOMP, emptyOMP} {
		if got := openMPBLASDir(root); got != "" {
			t.Fatalf("openMPBLASDir(%s) = %q, want none", root, got)
		}
	}
	base := []string{"HOME=/root", "LD_LIBRARY_PATH=/opt/x:" + ompDir, "OMP_NUM_THREADS=1"}
	lookup := func(env []string, k string) (string, int) {
		var v string
		n := 0
		for _, kv := range env {
			if s, ok := strings.CutPrefix(kv, k+"="); ok {
				v, n = s, n+1
			}
		}
		return v, n
	}
	for _, tc := range []struct {
		name, blasDir, device string
		base                  []string
		want                  map[string]string // "" : absent
	}{
		{"openmp present", ompDir, "cpu", base, map[string]string{"LD_LIBRARY_PATH": ompDir + ":/opt/x",
			"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MTLROB_BENCH_THREADS": "2",
			"MTLROB_BENCH_DEVICE": "cpu", "HOME": "/root"}},
		{"openmp present, no path before", ompDir, "cpu", []string{"OMP_WAIT_POLICY=ACTIVE"},
			map[string]string{"LD_LIBRARY_PATH": ompDir, "OMP_WAIT_POLICY": "ACTIVE"}},
		{"openmp absent", openMPBLASDir(withoutOMP), "cpu", base, map[string]string{"LD_LIBRARY_PATH": "/opt/x:" + ompDir,
			"OMP_WAIT_POLICY": "", "OMP_NUM_THREADS": "2"}},
		{"cuda", ompDir, "cuda", base, map[string]string{"LD_LIBRARY_PATH": "/opt/x:" + ompDir, "OMP_WAIT_POLICY": "",
			"OMP_NUM_THREADS": "1", "MTLROB_BENCH_DEVICE": "cuda"}},
	} {
		env := torchEnv(tc.base, tc.blasDir, 2, tc.device)
		for k, want := range tc.want {
			got, n := lookup(env, k)
			if (want == "") != (n == 0) || got != want || n > 1 {
				t.Errorf("%s: %s = %q (%d times), want %q", tc.name, k, got, n, want)
			}
		}
		if !slices.Equal(base, []string{"HOME=/root", "LD_LIBRARY_PATH=/opt/x:" + ompDir, "OMP_NUM_THREADS=1"}) {
			t.Fatalf("%s: torchEnv changed its base: %q", tc.name, base)
		}
	}
}

// On a machine with Debian's OpenMP OpenBLAS, the reference started by the driver loads it, whatever
// the libblas.so.3 alternative points at, and runs one thread per core.
func TestReferenceLoadsOpenMPBLAS(t *testing.T) {
	hasTorch(t)
	dir := openMPBLASDir("/")
	if dir == "" {
		t.Skip("libopenblas0-openmp is not installed")
	}
	torch, err := startTorch("/usr/bin/python3", "torchref.py", numCPU(), "cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer torch.Close()
	ref := newReference(torch.BLAS, numCPU(), numCPU(), torch.OpenMPDir)
	if ref.Kind != "openblas-openmp" || !strings.HasPrefix(ref.Library, dir) || len(ref.Problems) > 0 {
		t.Fatalf("reference: %s, problems %q (want the OpenMP OpenBLAS from %s)", ref.Line(), ref.Problems, dir)
	}
}
