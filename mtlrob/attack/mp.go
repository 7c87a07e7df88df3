package attack

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// MP is Mixed Perturbations (000, the follow-up of 001; the authors' MNIST_PGDAT_MTL_MP.py): a
// separate attack against each attacked head i (Base with the Single(i) direction) gives delta_i,
// and the perturbations are mixed with weights drawn once per batch,
//
//	x_MP = x + sum_i w_i delta_i,   w_main = a0 ~ U(Alpha0, 1),   w_aux = (1 - a0) / M for each of the M auxiliary heads.
//
// The authors' code has one auxiliary head (w_aux = 1 - a0); splitting the rest evenly over
// several is the workbench's generalisation. A convex combination of points of the ball (and of
// [0,1]) stays in both, so there is no re-projection. MP is meant to generate adversarial training
// examples; against a victim with the main head only it is Base itself.
//
// Shapes: as Base; the result is within Base's ball around x and in [0,1].
//
// Example (the authors' setting: PGD-40, eps 0.3, step 0.01, random start, alpha0 0.5):
//
//	mp := attack.MP{Base: attack.PGD{Eps: 0.3, Alpha: 0.01, Steps: 40, LastIterate: true}}
//	xMP := mp.Perturb(scope, attack.WhiteBox(net), x, labels)
type MP struct {
	// Base is the attack run against each head: FGSM, PGD, PGDL2, MIM or APGD. Its Direction is
	// replaced by Single(i) for head i. Required.
	Base Attack
	// Alpha0 is the lower end of the main task's weight a0 ~ U(Alpha0, 1). Default 0.5 (000).
	Alpha0 float64
}

type directable interface {
	Attack
	directed(d Direction) Attack
}

func (a MP) alpha0() float64 { return orFloat(a.Alpha0, 0.5) }

// parts returns the per-head attacks, in the order of v.Tasks().
func (a MP) parts(v Victim) []Attack {
	base, ok := a.Base.(directable)
	if !ok {
		panic(fmt.Sprintf("attack: MP: base attack %T does not take a direction: use FGSM, PGD, PGDL2, MIM or APGD", a.Base))
	}
	if a0 := a.alpha0(); a0 < 0 || a0 > 1 {
		panic(fmt.Sprintf("attack: MP: alpha0 %g, want it in [0, 1]", a0))
	}
	tasks := v.Tasks()
	if tasks[0] != 0 {
		panic(fmt.Sprintf("attack: MP needs the main head among the attacked heads, got %v", tasks))
	}
	out := make([]Attack, len(tasks))
	for i, t := range tasks {
		out[i] = base.directed(Single(t))
	}
	return out
}

// mpWeights returns the mixing weights, main head first, for u ~ U(0,1) and n attacked heads.
func mpWeights(alpha0, u float64, n int) []float64 {
	w := make([]float64, n)
	if n == 1 {
		w[0] = 1
		return w
	}
	w[0] = alpha0 + (1-alpha0)*u
	for i := 1; i < n; i++ {
		w[i] = (1 - w[0]) / float64(n-1)
	}
	return w
}

// Name describes the configuration.
func (a MP) Name() string {
	base := "<nil>"
	if a.Base != nil {
		base = a.Base.Name()
	}
	return fmt.Sprintf("MP(alpha0=%g,base=%s)", a.alpha0(), base)
}

// Perturb builds one attack per attacked head into the graph and mixes their results with weights
// drawn from the store's random number generator; see Attack.
func (a MP) Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	parts := a.parts(v)
	g := x.Graph()
	u := s.RandomUniform(g, shapes.Make(x.DType()))
	a0 := AddScalar(MulScalar(u, 1-a.alpha0()), a.alpha0())
	out := x
	for i, p := range parts {
		var w *Node
		switch {
		case len(parts) == 1:
			w = ScalarOne(g, x.DType())
		case i == 0:
			w = a0
		default:
			w = DivScalar(OneMinus(a0), float64(len(parts)-1))
		}
		out = Add(out, Mul(Sub(p.Perturb(s, v, x, labels), x), w))
	}
	return StopGradient(ClipScalar(out, 0, 1))
}

// program is not used: the runner runs MP's parts and mixes them on the host.
func (a MP) program(Victim) program { panic("attack: MP has no single program") }
