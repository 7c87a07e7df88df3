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
	// Each backend is compared with the float64 value within its float32 rounding bound (derived in
	// tinyReference, for any summation order), so the two agree within the sum of their bounds.
	exact, bound := tinyReference()
	if len(got) != len(exact) {
		t.Fatalf("XLA gave %d values, the reference %d", len(got), len(exact))
	}
	maxDiff, worst := 0.0, 0.0 // worst: the largest error of a sum (not x²) relative to its bound
	squares := 2 * 8 * 8 * 3
	for i := range got {
		for _, v := range []struct {
			name string
			x    float32
		}{{"XLA", got[i]}, {"Go", want[i]}} {
			if d := math.Abs(float64(v.x) - exact[i]); d > bound[i] {
				t.Errorf("value %d: %s %g, float64 %g: off by %.3g, over its rounding bound %.3g (XLA %g, Go %g)",
					i, v.name, v.x, exact[i], d, bound[i], got[i], want[i])
			} else if i >= squares {
				worst = max(worst, d/bound[i])
			}
		}
		maxDiff = max(maxDiff, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("%d values agree; largest difference between the backends %.3g; largest error of a sum %.2g of its rounding bound", len(got), maxDiff, worst)
}

// tinyInputs are the input and kernel of tinyComputation.
func tinyInputs() (xs, ks []float32) {
	xs = make([]float32, 2*8*8*3)
	for i := range xs {
		xs[i] = float32(i%7)/7 - 0.3
	}
	ks = make([]float32, 3*3*3*4)
	for i := range ks {
		ks[i] = float32(i%5)/5 - 0.4
	}
	return xs, ks
}

// tinyReference returns tinyComputation's values computed in float64 from the same float32 inputs,
// and for each a bound on the rounding error of a float32 computation of it, valid for any summation
// order and FMA use (a backend's kernels choose those by CPU: AVX-512, AVX2).
//
// Derivation (u = 2^-24). x² is one correctly rounded product: |error| <= u x². The other values are
// sums of products: to first order (dropping u² terms) a value is off by sum_r c_r delta_r over its
// roundings r, |delta_r| <= u, c_r = (the rounded result) * d(value)/d(result). With each delta of mean
// zero given the earlier ones (Higham and Mary's probabilistic model, SIAM J. Sci. Comput. 41(5), 2019)
// Azuma-Hoeffding gives |error| <= lambda u ||c||_2 with probability 1 - 2 exp(-lambda²/2), 4e-22 for
// lambda = 10. A sum of n products rounds n products (squares adding up to at most A², A the sum of
// the |terms|) and n-1 partial sums (each at most A in any order), all with the same d(value)/d(result),
// so it adds at most (n+1) A² (d value/d sum)² to ||c||². Here y = conv(x, k) has n = 27 terms; the
// loss sum y² has 512 (the squares are its terms); d loss/dx = convT(2y, k) has 36 and d loss/dk =
// sum over positions of 2y x has 128 (2y is exact); and each y_j's own error reaches the loss with
// factor 2y_j, d loss/dx_i with 2k and d loss/dk_m with 2x. The worst case, n u A, would be 23 times
// the loss's bound; the 1e-5 relative tolerance this replaced was below it.
func tinyReference() (exact, bound []float64) {
	const lambda = 10
	u := math.Ldexp(1, -24)
	xs, ks := tinyInputs()
	const nb, h, w, ci, co = 2, 8, 8, 3, 4
	xAt := func(b, i, j, c int) float64 {
		if i < 0 || i >= h || j < 0 || j >= w {
			return 0
		}
		return float64(xs[((b*h+i)*w+j)*ci+c])
	}
	kAt := func(di, dj, c, o int) float64 { return float64(ks[((di*3+dj)*ci+c)*co+o]) }
	y, yAbs := make([]float64, nb*h*w*co), make([]float64, nb*h*w*co) // y and its sum of |terms|
	at := func(b, i, j, o int) int { return ((b*h+i)*w+j)*co + o }
	for b := range nb {
		for i := range h {
			for j := range w {
				for o := range co {
					for di := range 3 {
						for dj := range 3 {
							for c := range ci {
								t := xAt(b, i+di-1, j+dj-1, c) * kAt(di, dj, c, o)
								y[at(b, i, j, o)] += t
								yAbs[at(b, i, j, o)] += math.Abs(t)
							}
						}
					}
				}
			}
		}
	}
	for _, x := range xs { // x²
		exact = append(exact, float64(x)*float64(x))
		bound = append(bound, u*float64(x)*float64(x))
	}
	loss, sq := 0.0, 0.0 // the loss, and ||c||² of its rounding errors
	for i, v := range y {
		loss += v * v
		sq += 4 * v * v * 28 * yAbs[i] * yAbs[i]
	}
	sq += 513 * loss * loss
	exact = append(exact, loss)
	bound = append(bound, lambda*u*math.Sqrt(sq))
	// d loss/dx[b,i,j,c] = sum over the outputs (b,i-di+1,j-dj+1,o) it feeds of 2y k[di,dj,c,o].
	for b := range nb {
		for i := range h {
			for j := range w {
				for c := range ci {
					g, gAbs, sq := 0.0, 0.0, 0.0
					for di := range 3 {
						for dj := range 3 {
							p, q := i-di+1, j-dj+1
							if p < 0 || p >= h || q < 0 || q >= w {
								continue
							}
							for o := range co {
								k, yj := kAt(di, dj, c, o), y[at(b, p, q, o)]
								g += 2 * yj * k
								gAbs += math.Abs(2 * yj * k)
								sq += 4 * k * k * 28 * yAbs[at(b, p, q, o)] * yAbs[at(b, p, q, o)]
							}
						}
					}
					exact = append(exact, g)
					bound = append(bound, lambda*u*math.Sqrt(sq+37*gAbs*gAbs))
				}
			}
		}
	}
	// d loss/dk[di,dj,c,o] = sum over the outputs (b,i,j,o) of 2y x[b,i+di-1,j+dj-1,c].
	for di := range 3 {
		for dj := range 3 {
			for c := range ci {
				for o := range co {
					g, gAbs, sq := 0.0, 0.0, 0.0
					for b := range nb {
						for i := range h {
							for j := range w {
								x, yj := xAt(b, i+di-1, j+dj-1, c), y[at(b, i, j, o)]
								g += 2 * yj * x
								gAbs += math.Abs(2 * yj * x)
								sq += 4 * x * x * 28 * yAbs[at(b, i, j, o)] * yAbs[at(b, i, j, o)]
							}
						}
					}
					exact = append(exact, g)
					bound = append(bound, lambda*u*math.Sqrt(sq+129*gAbs*gAbs))
				}
			}
		}
	}
	return exact, bound
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
	xs, ks := tinyInputs()
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
