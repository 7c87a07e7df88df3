// Package attacktest is the conformance suite every attack and direction of package attack must
// pass (style rule 5): on a small random multi-task network and random inputs, the adversarial
// batch keeps the input's shape and dtype, lies in the threat model's ball and in [0,1], leaves the
// input tensor unchanged, does not depend on the rest of its batch (when the attack claims so),
// never raises accuracy, fools the network when the budget is large, and is never weaker with more
// steps on the same seed (when the attack claims so).
//
// Usage, from a test:
//
//	m := attacktest.NewModel(t, backend, 1)
//	attacktest.Run(t, m, attacktest.Case{
//		Name:   "PGD",
//		Attack: func(steps int) attack.Attack { return attack.PGD{Eps: 0.2, Alpha: 0.05, Steps: steps} },
//		Eps:    0.2, Monotone: true,
//	})
package attacktest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
)

// Model is a small random multi-task network with a batch on which the suite runs.
type Model struct {
	Backend compute.Backend
	Store   *model.Store
	Net     *arch.Net
	// X is the input batch, [N, 4, 4, 1] float32 in [0,1].
	X *tensors.Tensor
	// Labels are the network's own clean predictions, per task: clean accuracy is 100%.
	Labels []*tensors.Tensor
}

// N is the batch size of the suite's model.
const N = 16

// NewModel returns a random 3-head network (4, 3 and 2 classes; a 16-8 ReLU backbone on 4x4x1
// inputs, weights drawn with the given seed) and a random batch labelled by the network itself.
func NewModel(t testing.TB, backend compute.Backend, seed int64) *Model {
	t.Helper()
	net, err := arch.New("toy", func(s *model.Scope, x *Node) *Node {
		return activation.Relu(arch.Dense(s.In("fc"), arch.Flatten(x), 8))
	}, []string{"main", "aux1", "aux2"}, []int{4, 3, 2})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	data := make([]float32, N*16)
	for i := range data {
		data[i] = r.Float32()
	}
	m := &Model{Backend: backend, Store: store, Net: net, X: tensors.FromFlatDataAndDimensions(data, N, 4, 4, 1)}
	// The weights are drawn on the pure-Go backend and detached from it, so that every backend attacks
	// the same network (each backend has its own random number generator).
	goBackend, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Predict(goBackend, store, net, m.X); err != nil {
		t.Fatal(err)
	}
	for v := range store.IterVariables() {
		if v.HasValue() {
			v.MustValue().ToLocal()
		}
	}
	m.X.ToLocal()
	preds, err := Predict(backend, store, net, m.X)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range preds {
		m.Labels = append(m.Labels, tensors.FromFlatDataAndDimensions(p, len(p)))
	}
	return m
}

// Predict returns the network's predictions per task for the batch x. It compiles a fresh
// executable, so it always sees the store's current weights.
func Predict(backend compute.Backend, store *model.Store, net *arch.Net, x *tensors.Tensor) ([][]int32, error) {
	exec, err := model.NewExec(backend, store, func(s *model.Scope, in []*Node) []*Node {
		logits := net.Logits(s, in[0])
		out := make([]*Node, len(logits))
		for i, l := range logits {
			out[i] = ArgMax(l, -1, dtypes.Int32)
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	outs, err := exec.Call(x)
	if err != nil {
		return nil, err
	}
	preds := make([][]int32, len(outs))
	for i, o := range outs {
		preds[i] = tensors.MustCopyFlatData[int32](o)
	}
	return preds, nil
}

// Case describes an attack for the suite.
type Case struct {
	Name string
	// Attack returns the attack with the given number of steps (one-step attacks ignore it).
	Attack func(steps int) attack.Attack
	// Victim picks the threat model. Default: white-box over every head.
	Victim func(net *arch.Net) attack.Victim
	// Norm and Eps are the ball the result must lie in; Eps < 0 means unbounded (CW).
	Norm attack.Norm
	Eps  float64
	// Tasks are the heads whose accuracy must not rise and whose fooled count must not drop with
	// more steps. Default: the main head.
	Tasks []int
	// Targeted: "fooled" means predicting (y+1) mod K instead of not predicting y.
	Targeted bool
	// BatchInvariant: a sample's result does not depend on the rest of its batch (true for
	// attacks without a random start and without batch statistics such as WGD's or MP's).
	BatchInvariant bool
	// Monotone: with twice the steps (same seed), no sample fools fewer of Tasks.
	Monotone bool
	// MustFool: the attack must fool at least one sample of the batch on Tasks[0].
	MustFool bool
	// Steps used for the main checks. Default 5.
	Steps int
}

func (c Case) victim(net *arch.Net) attack.Victim {
	if c.Victim == nil {
		return attack.WhiteBox(net)
	}
	return c.Victim(net)
}

// Run runs every check of the suite on c as subtests of t.
func Run(t *testing.T, m *Model, c Case) {
	t.Helper()
	steps := c.Steps
	if steps == 0 {
		steps = 5
	}
	tasks := c.Tasks
	if tasks == nil {
		tasks = []int{0}
	}
	v := c.victim(m.Net)
	run := func(a attack.Attack, x *tensors.Tensor, labels []*tensors.Tensor) (*tensors.Tensor, error) {
		r, err := attack.NewRunner(m.Backend, m.Store, v, a)
		if err != nil {
			return nil, err
		}
		r.Seed = 7
		return r.Run(x, labels)
	}
	x := tensors.MustCopyFlatData[float32](m.X)
	adv, err := run(c.Attack(steps), m.X, m.Labels)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}

	t.Run(c.Name+"/shape", func(t *testing.T) {
		if !adv.Shape().Equal(m.X.Shape()) {
			t.Fatalf("result shape %s, input %s", adv.Shape(), m.X.Shape())
		}
	})
	got := tensors.MustCopyFlatData[float32](adv)
	t.Run(c.Name+"/inside-ball", func(t *testing.T) {
		slack := BallSlack(c.Norm, c.Eps, len(x)/N, len(m.Net.Tasks))
		for i, d := range Distances(x, got, N, c.Norm) {
			if c.Eps >= 0 && d > c.Eps+slack {
				t.Errorf("sample %d: ||x'-x||_%s = %.8f > eps %g (+ %.2g float32 rounding)", i, c.Norm, d, c.Eps, slack)
			}
		}
		for j, v := range got {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("x'[%d] = %v outside [0,1]", j, v)
			}
		}
	})
	t.Run(c.Name+"/input-unchanged", func(t *testing.T) {
		now := tensors.MustCopyFlatData[float32](m.X)
		for j := range x {
			if now[j] != x[j] {
				t.Fatalf("input changed at %d: %v -> %v", j, x[j], now[j])
			}
		}
	})
	preds, err := Predict(m.Backend, m.Store, m.Net, adv)
	if err != nil {
		t.Fatal(err)
	}
	labels := make([][]int32, len(m.Labels))
	for i, l := range m.Labels {
		labels[i] = tensors.MustCopyFlatData[int32](l)
	}
	fooledBy := func(preds [][]int32) []int {
		n := make([]int, N)
		for _, task := range tasks {
			for i := range N {
				if c.Targeted {
					if preds[task][i] == (labels[task][i]+1)%int32(m.Net.Classes[task]) {
						n[i]++
					}
				} else if preds[task][i] != labels[task][i] {
					n[i]++
				}
			}
		}
		return n
	}
	t.Run(c.Name+"/accuracy-not-raised", func(t *testing.T) {
		// Labels are the clean predictions: clean accuracy is 100% and cannot be exceeded; what can
		// fail is a result that makes a head predict something other than a class (NaNs).
		for _, task := range tasks {
			for i, p := range preds[task] {
				if p < 0 || int(p) >= m.Net.Classes[task] {
					t.Fatalf("head %d predicts class %d for sample %d", task, p, i)
				}
			}
		}
		if c.MustFool {
			total := 0
			for _, f := range fooledBy(preds) {
				total += f
			}
			if total == 0 {
				t.Errorf("no sample fooled on heads %v: the attack does not attack", tasks)
			}
		}
	})
	if c.BatchInvariant {
		t.Run(c.Name+"/batch-invariant", func(t *testing.T) {
			for _, i := range []int{0, 5, N - 1} {
				xi := tensors.FromFlatDataAndDimensions(append([]float32(nil), x[i*16:(i+1)*16]...), 1, 4, 4, 1)
				var li []*tensors.Tensor
				for _, l := range labels {
					li = append(li, tensors.FromFlatDataAndDimensions([]int32{l[i]}, 1))
				}
				alone, err := run(c.Attack(steps), xi, li)
				if err != nil {
					t.Fatal(err)
				}
				a := tensors.MustCopyFlatData[float32](alone)
				for j := range a {
					if d := math.Abs(float64(a[j] - got[i*16+j])); d > 1e-5 {
						t.Fatalf("sample %d alone differs from in batch at %d: %v vs %v", i, j, a[j], got[i*16+j])
					}
				}
			}
		})
	}
	if c.Monotone {
		t.Run(c.Name+"/more-steps-not-weaker", func(t *testing.T) {
			more, err := run(c.Attack(2*steps), m.X, m.Labels)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := Predict(m.Backend, m.Store, m.Net, more)
			if err != nil {
				t.Fatal(err)
			}
			f1, f2 := fooledBy(preds), fooledBy(p2)
			for i := range N {
				if f2[i] < f1[i] {
					t.Errorf("sample %d: %d heads fooled with %d steps, %d with %d", i, f1[i], steps, f2[i], 2*steps)
				}
			}
		})
	}
}

// BallSlack is how far outside the eps-ball (measured exactly) an attack's float32 result may land
// through rounding alone, for inputs of d values in [0,1] and an attack that mixes at most m results
// (MP mixes one per head), whatever the CPU's kernels. Derivation (u = 2^-24, to first order):
// eps is used as float32, off by at most u eps. The L∞ projection computes the bounds x0 ± eps, each
// rounded by at most u (1+eps); Min, Max and the [0,1] clip are exact (and the clip only moves a value
// toward x0). The L2 projection scales delta = x - x0 (rounded per value) by eps / ||delta||; the
// computed norm of d squares is low by at most (d+1)u relative, the division and the scaling add 3u,
// so the scaled delta has norm at most eps (1 + (d+5)u); adding it to x0 rounds each value by at most
// u (1+eps), sqrt(d) u (1+eps) in L2. MP's mix x + sum_i w_i (p_i - x) (weights summing to 1 within
// 2u) rounds each value at most 3m times by at most u (1+eps). The 1e-6 this replaced was below the
// L2 bound for eps = 1, d = 16.
func BallSlack(norm attack.Norm, eps float64, d, m int) float64 {
	u := math.Ldexp(1, -24)
	perValue := (1 + eps) * u * float64(1+3*m)
	if norm == attack.L2 {
		return eps*float64(d+5)*u + math.Sqrt(float64(d))*perValue
	}
	return eps*u + perValue
}

// Distances returns the per-sample norm of x' - x for n samples of flat data.
func Distances(x, adv []float32, n int, norm attack.Norm) []float64 {
	d := len(x) / n
	out := make([]float64, n)
	for i := range n {
		var acc float64
		for j := i * d; j < (i+1)*d; j++ {
			diff := math.Abs(float64(adv[j]) - float64(x[j]))
			if norm == attack.L2 {
				acc += diff * diff
			} else {
				acc = math.Max(acc, diff)
			}
		}
		if norm == attack.L2 {
			acc = math.Sqrt(acc)
		}
		out[i] = acc
	}
	return out
}

// String is for failure messages.
func (c Case) String() string { return fmt.Sprintf("attacktest.Case(%s)", c.Name) }
