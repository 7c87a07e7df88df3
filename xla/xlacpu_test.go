package xla

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestXLACPUPlugin runs a tiny computation (a square, and a convolution with
// its gradients) on the XLA CPU plugin that `make xla-cpu` puts in .xla/,
// chosen with MTLROB_BACKEND=xla:cpu, and compares it with the pure-Go
// backend. It skips when .xla/ has no plugin.
func TestXLACPUPlugin(t *testing.T) {
	cwd, _ := os.Getwd()
	root := repoRoot(cwd)
	local := Discover(Roots{Dirs: []string{filepath.Join(root, ".xla")}})
	if !haveCgo {
		t.Skip("built without cgo: XLA plugins cannot be loaded, XLA CPU test skipped")
	}
	if root == "" || len(local.CPU) == 0 {
		t.Skip("no XLA CPU plugin in .xla/ at the repository root (`make xla-cpu` installs one): XLA CPU test skipped")
	}
	t.Setenv(EnvXLADir, "")

	if len(Discover(DefaultRoots()).CUDA) == 0 {
		t.Setenv(EnvBackend, "")
		b, desc, err := New()
		if err != nil {
			t.Fatal(err)
		}
		b.Finalize()
		if !strings.HasPrefix(desc, "xla:cpu (plugin "+local.CPU[0]) {
			t.Errorf("with no CUDA plugin and no choice, New() = %q, want the plugin in .xla/", desc)
		}
	}

	t.Setenv(EnvBackend, "xla:cpu")
	xb, desc, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer xb.Finalize()
	if want := "xla:cpu (plugin " + local.CPU[0] + ", PJRT v"; !strings.HasPrefix(desc, want) {
		t.Errorf("description = %q, want prefix %q", desc, want)
	}
	gb, gdesc, err := openCandidate(Candidate{Kind: Go})
	if err != nil {
		t.Fatal(err)
	}
	defer gb.Finalize()

	got, xFirst, xNext := tinyComputation(t, xb)
	want, gFirst, gNext := tinyComputation(t, gb)
	t.Logf("%s: first call (with compilation) %v, then %v per call", desc, xFirst, xNext)
	t.Logf("%s: first call (with compilation) %v, then %v per call", gdesc, gFirst, gNext)
	if len(got) != len(want) {
		t.Fatalf("XLA gave %d values, Go %d", len(got), len(want))
	}
	maxDiff := 0.0
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if d > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Errorf("value %d: XLA %g, Go %g (difference %g)", i, got[i], want[i], d)
		}
		maxDiff = max(maxDiff, d)
	}
	t.Logf("%d values agree; largest difference %.3g", len(got), maxDiff)
}

// tinyComputation returns x², and a convolution's loss Σy² with its
// gradients with respect to the input and the kernel, flattened; and the
// durations of the first call (compilation included) and of later calls.
func tinyComputation(t *testing.T, b compute.Backend) (out []float32, first, next time.Duration) {
	t.Helper()
	exec, err := NewExec(b, func(x, k *Node) []*Node {
		x = Identity(x)
		y := Convolve(x, k).PadSame().Done()
		loss := ReduceAllSum(Mul(y, y))
		grads := Gradient(loss, x, k)
		return []*Node{Mul(x, x), loss, grads[0], grads[1]}
	})
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]float32, 2*8*8*3)
	for i := range xs {
		xs[i] = float32(i%7)/7 - 0.3
	}
	ks := make([]float32, 3*3*3*4)
	for i := range ks {
		ks[i] = float32(i%5)/5 - 0.4
	}
	const runs = 20
	for i := range runs + 1 {
		start := time.Now()
		results, err := exec.Call(tensors.FromFlatDataAndDimensions(xs, 2, 8, 8, 3), tensors.FromFlatDataAndDimensions(ks, 3, 3, 3, 4))
		if err != nil {
			t.Fatal(err)
		}
		out = out[:0]
		for _, r := range results {
			out = append(out, tensors.MustCopyFlatData[float32](r)...)
		}
		if i == 0 {
			first = time.Since(start)
		} else {
			next += time.Since(start)
		}
	}
	return out, first, next / runs
}
