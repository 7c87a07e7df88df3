package arch

// Op checks: every backend op the library relies on, and its gradient, compared with an
// independent truth (central finite differences in float64, or the backend's native op)
// on tiny shapes. They also pin down the pure-Go backend traps listed in architecture.md.

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatalf("pure-Go backend: %v", err)
	}
	return b
}

// operand is a float64 input of an op check.
type operand struct {
	dims []int
	data []float64
}

func randomOperand(r *rand.Rand, dims ...int) operand {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = r.Float64()*2 - 1
	}
	return operand{dims: dims, data: data}
}

func (o operand) tensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), o.data...), o.dims...)
}

// checkGradient compares the graph gradient of the scalar sum(fn(inputs) * probe) with respect to
// every input against central finite differences. probe is a fixed random tensor that makes every
// output element matter with a different weight.
func checkGradient(t *testing.T, backend compute.Backend, fn func(in []*Node) *Node, inputs ...operand) {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	var probe []float64
	objective := func(in []*Node) *Node {
		out := fn(in)
		if probe == nil {
			probe = randomOperand(r, out.Shape().Dimensions...).data
		}
		p := Const(out.Graph(), tensors.FromFlatDataAndDimensions(probe, out.Shape().Dimensions...))
		return ReduceAllSum(Mul(out, p))
	}
	valueExec, err := NewExec(backend, func(in []*Node) *Node { return objective(in) })
	if err != nil {
		t.Fatal(err)
	}
	gradExec, err := NewExec(backend, func(in []*Node) []*Node {
		ids := make([]*Node, len(in))
		for i, x := range in {
			ids[i] = Identity(x) // never differentiate w.r.t. a parameter node directly
		}
		return Gradient(objective(ids), ids...)
	})
	if err != nil {
		t.Fatal(err)
	}
	args := func(ops []operand) []any {
		a := make([]any, len(ops))
		for i, o := range ops {
			a[i] = o.tensor()
		}
		return a
	}
	grads, err := gradExec.Call(args(inputs)...)
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	for i, in := range inputs {
		got := tensors.MustCopyFlatData[float64](grads[i])
		for j := range in.data {
			perturbed := func(delta float64) float64 {
				ops := append([]operand(nil), inputs...)
				d := append([]float64(nil), in.data...)
				d[j] += delta
				ops[i] = operand{dims: in.dims, data: d}
				out, err := valueExec.Call(args(ops)...)
				if err != nil {
					t.Fatal(err)
				}
				return tensors.MustCopyFlatData[float64](out[0])[0]
			}
			want := (perturbed(h) - perturbed(-h)) / (2 * h)
			if math.Abs(got[j]-want) > 1e-5*(1+math.Abs(want)) {
				t.Fatalf("input %d element %d: gradient %.9g, finite difference %.9g", i, j, got[j], want)
			}
		}
	}
}

func TestOpGradientsMatchFiniteDifferences(t *testing.T) {
	backend := goBackend(t)
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		fn     func(in []*Node) *Node
		inputs []operand
	}{
		{"Im2Col conv SAME", func(in []*Node) *Node { return Conv2DWith(in[0], in[1], Same) },
			[]operand{randomOperand(r, 2, 5, 5, 2), randomOperand(r, 3, 3, 2, 3)}},
		{"Im2Col conv VALID 5x5 kernel", func(in []*Node) *Node { return Conv2DWith(in[0], in[1], Valid) },
			[]operand{randomOperand(r, 1, 6, 6, 1), randomOperand(r, 5, 5, 1, 2)}},
		{"native Convolve", func(in []*Node) *Node { return Convolve(in[0], in[1]).PadSame().Done() },
			[]operand{randomOperand(r, 1, 4, 4, 2), randomOperand(r, 3, 3, 2, 2)}},
		{"MaxPool2D reshape+ReduceMax", func(in []*Node) *Node { return MaxPool2D(in[0], 2) },
			[]operand{randomOperand(r, 2, 4, 6, 3)}},
		{"native MaxPool", func(in []*Node) *Node { return MaxPool(in[0]).Window(2).Done() },
			[]operand{randomOperand(r, 1, 4, 4, 2)}},
		{"dense MatMul + bias", func(in []*Node) *Node { return Add(MatMul(in[0], in[1]), ExpandLeftToRank(in[2], 2)) },
			[]operand{randomOperand(r, 3, 4), randomOperand(r, 4, 5), randomOperand(r, 5)}},
		{"ReLU", func(in []*Node) *Node { return activation.Relu(in[0]) },
			[]operand{randomOperand(r, 4, 5)}},
		{"per-sample cross-entropy", func(in []*Node) *Node {
			labels := Const(in[0].Graph(), []int32{0, 2, 1})
			return CrossEntropy(in[0], labels)
		}, []operand{randomOperand(r, 3, 4)}},
		{"Pad", func(in []*Node) *Node {
			return Pad(in[0], ScalarZero(in[0].Graph(), dtypes.Float64), compute.PadAxis{Start: 1, End: 2}, compute.PadAxis{Start: 0, End: 1})
		}, []operand{randomOperand(r, 2, 3)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkGradient(t, backend, tc.fn, tc.inputs...) })
	}
}

// TestIm2ColConvEqualsNativeConvolve: the workaround computes the same function as the backend's own
// convolution (in float64, to rounding).
func TestIm2ColConvEqualsNativeConvolve(t *testing.T) {
	backend := goBackend(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name    string
		x, w    operand
		padding Padding
	}{
		{"SAME 5x5", randomOperand(r, 2, 7, 7, 3), randomOperand(r, 5, 5, 3, 4), Same},
		{"SAME 3x3", randomOperand(r, 1, 6, 5, 2), randomOperand(r, 3, 3, 2, 3), Same},
		{"VALID 3x3", randomOperand(r, 2, 6, 6, 2), randomOperand(r, 3, 3, 2, 2), Valid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := CallOnceN(backend, func(x, w *Node) (*Node, *Node) {
				native := Convolve(x, w)
				if tc.padding == Same {
					native = native.PadSame()
				} else {
					native = native.NoPadding()
				}
				return Conv2DWith(x, w, tc.padding), native.Done()
			}, tc.x.tensor(), tc.w.tensor())
			if err != nil {
				t.Fatal(err)
			}
			ours, theirs := tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
			if !out[0].Shape().Equal(out[1].Shape()) {
				t.Fatalf("shapes differ: im2col %s, native %s", out[0].Shape(), out[1].Shape())
			}
			for i := range ours {
				if math.Abs(ours[i]-theirs[i]) > 1e-12 {
					t.Fatalf("element %d: im2col %g, native %g", i, ours[i], theirs[i])
				}
			}
		})
	}
}

// TestMaxPool2DEqualsNativeMaxPool: the reshape formulation equals the native pooling.
func TestMaxPool2DEqualsNativeMaxPool(t *testing.T) {
	backend := goBackend(t)
	x := randomOperand(rand.New(rand.NewPCG(5, 6)), 2, 6, 4, 3)
	out, err := CallOnceN(backend, func(x *Node) (*Node, *Node) {
		return MaxPool2D(x, 2), MaxPool(x).Window(2).Done()
	}, x.tensor())
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
	if !out[0].Shape().Equal(out[1].Shape()) {
		t.Fatalf("shapes differ: ours %s, native %s", out[0].Shape(), out[1].Shape())
	}
	for i := range ours {
		if ours[i] != theirs[i] {
			t.Fatalf("element %d: ours %g, native %g", i, ours[i], theirs[i])
		}
	}
}

// TestGradientThroughStopGradientTrap pins down the pure-Go backend trap: the gradient with respect
// to a StopGradient node is silently zero, and wrapping the input in Identity is the workaround
// every attack in this workbench uses. If GoMLX ever changes this, the test says so.
func TestGradientThroughStopGradientTrap(t *testing.T) {
	backend := goBackend(t)
	out, err := CallOnceN(backend, func(x *Node) (*Node, *Node) {
		stopped := StopGradient(x)
		trap := Gradient(ReduceAllSum(Square(stopped)), stopped)[0]
		id := Identity(StopGradient(x))
		fixed := Gradient(ReduceAllSum(Square(id)), id)[0]
		return trap, fixed
	}, []float64{1, -2, 3})
	if err != nil {
		t.Fatal(err)
	}
	trap, fixed := tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
	want := []float64{2, -4, 6}
	for i := range want {
		if fixed[i] != want[i] {
			t.Errorf("Identity workaround: gradient[%d] = %g, want %g", i, fixed[i], want[i])
		}
	}
	if trap[0] != 0 || trap[1] != 0 || trap[2] != 0 {
		t.Logf("the StopGradient trap is gone in this GoMLX version: gradient = %v (the Identity workaround stays harmless)", trap)
	}
}
