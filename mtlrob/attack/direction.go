package attack

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
)

// Signals are what a Direction combines, all at one iterate of an attack. Every slice is indexed
// by the network's task order; entries of tasks that are not attacked (hidden by the victim) are
// nil, and so are the gradients of tasks the direction did not ask for (Direction.Tasks).
type Signals struct {
	// Grads[t] is the gradient of sum_b L_t[b] with respect to the iterate: shape of x. Since samples
	// are independent, row b is the gradient of sample b's own loss.
	Grads []*Node
	// Losses[t] is the per-sample loss L_t at the iterate, shape [batch].
	Losses []*Node
	// Start[t] is the per-sample loss at the initial iterate x_0 of the run (after the random
	// start, when there is one), shape [batch].
	Start []*Node
	// Clean[t] is the per-sample loss at the clean input x, shape [batch].
	Clean []*Node
}

// Direction is how an attack combines the per-task gradients into one ascent direction
// (docs/algorithms.md §6): any gradient-based base attack (FGSM, PGD, PGD-L2, MIM, APGD, CW) takes one,
// so DGBA-PGD is PGD with the DGBA direction. Implementations are pure graph functions and are
// tested on constant nodes.
//
// For a targeted attack the base attack descends along the direction instead of ascending.
type Direction interface {
	// Name identifies the direction in attack names and records, e.g. "Total" or "Single(0)".
	Name() string
	// Tasks returns the tasks whose gradients Combine reads, given the attacked (visible) tasks. They
	// are also the tasks an attack counts as fooled when it picks its strongest iterate. It panics
	// when the direction needs a task the victim hides.
	Tasks(attacked []int) []int
	// Combine returns the direction, shape of x.
	Combine(sig Signals) *Node
	// Objective returns the per-sample value, shape [batch], whose increase the direction pursues.
	// APGD's step-size control and the choice of the strongest iterate and restart use it.
	Objective(sig Signals) *Node
}

// Compile-time checks that every direction satisfies the interface.
var (
	_ Direction = Single(0)
	_ Direction = Total{}
	_ Direction = SignTotal{}
	_ Direction = WeightedTotal(nil)
	_ Direction = WGD{}
	_ Direction = DGBA{}
)

// Single is the Single-x direction (004 §3.1): the gradient of one task's loss, g = grad L_x.
// Single(0) attacks the main task; it is the default direction of every attack and the only
// one that makes sense against a gray-box victim.
type Single int

func (d Single) Name() string { return fmt.Sprintf("Single(%d)", int(d)) }

func (d Single) Tasks(attacked []int) []int {
	if !slices.Contains(attacked, int(d)) {
		panic(fmt.Sprintf("attack: direction %s: task %d is not among the attacked heads %v", d.Name(), int(d), attacked))
	}
	return []int{int(d)}
}

func (d Single) Combine(sig Signals) *Node   { return sig.Grads[d] }
func (d Single) Objective(sig Signals) *Node { return sig.Losses[d] }

// Total is the Total direction (004 §3.1): g = grad sum_i L_i over the attacked tasks, computed
// as the sum of the per-task gradients.
type Total struct{}

func (Total) Name() string                { return "Total" }
func (Total) Tasks(attacked []int) []int  { return slices.Clone(attacked) }
func (Total) Combine(sig Signals) *Node   { return sum(present(sig.Grads)) }
func (Total) Objective(sig Signals) *Node { return sum(present(sig.Losses)) }

// SignTotal is the SignTotal direction (004 §3.1): g = sum_i sign(grad L_i), so that every task
// has the same say whatever the scale of its gradient.
type SignTotal struct{}

func (SignTotal) Name() string               { return "SignTotal" }
func (SignTotal) Tasks(attacked []int) []int { return slices.Clone(attacked) }
func (SignTotal) Combine(sig Signals) *Node {
	gs := present(sig.Grads)
	for i, g := range gs {
		gs[i] = Sign(g)
	}
	return sum(gs)
}
func (SignTotal) Objective(sig Signals) *Node { return sum(present(sig.Losses)) }

// WeightedTotal is the WeightedTOTAL baseline of 004 (appendix, Table 16): fixed task weights,
// g = sum_i w_i grad L_i, objective sum_i w_i L_i. w is indexed by task; tasks beyond len(w) or with
// w_i = 0 are left out. The paper grid-searches weights summing to 1; the sum is not enforced.
type WeightedTotal []float64

func (w WeightedTotal) Name() string {
	parts := make([]string, len(w))
	for i, v := range w {
		parts[i] = fmt.Sprintf("%g", v)
	}
	return "WeightedTotal(" + strings.Join(parts, ",") + ")"
}

func (w WeightedTotal) Tasks(attacked []int) []int {
	var out []int
	for _, t := range attacked {
		if t < len(w) && w[t] != 0 {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		panic(fmt.Sprintf("attack: direction %s gives no attacked task (of %v) a non-zero weight", w.Name(), attacked))
	}
	return out
}

func (w WeightedTotal) weighted(xs []*Node) *Node {
	var terms []*Node
	for t, x := range xs {
		if x != nil && t < len(w) && w[t] != 0 {
			terms = append(terms, MulScalar(x, w[t]))
		}
	}
	return sum(terms)
}

func (w WeightedTotal) Combine(sig Signals) *Node   { return w.weighted(sig.Grads) }
func (w WeightedTotal) Objective(sig Signals) *Node { return w.weighted(sig.Losses) }

// WGDVariant selects between the two published forms of WGD.
type WGDVariant int

const (
	// WGDPaper is 003 Def. 5 and Appendix D: with Ltilde_i(t) = L_i(t)/L_i(0) (batch-mean losses,
	// L_i(0) at the initial iterate), r_i(t) = Ltilde_i(t) / mean_j Ltilde_j(t) and
	// g = sum_i r_i(t) grad L_i(x_t). The weights change at every step.
	WGDPaper WGDVariant = iota
	// WGDCode is the authors' released code: g = grad sum_i L_i(x_t)/L_i(x_0), with the batch-mean
	// losses L_i(x_0) taken once, after the random start. The weights are fixed.
	WGDCode
)

// WGD is the Multi-task Weighted Gradient attack direction of Ghamizi et al. (003, AAAI 2022) in
// either of its two forms (Variant; default WGDPaper). Both normalise by batch-mean losses, as the
// paper and code do, so a sample's perturbation depends on the rest of its batch. The objective
// (for APGD and for picking the strongest iterate) is sum_i L_i / mean_b L_i(x_0) in both forms.
// Use it with the CE loss: it divides by losses.
type WGD struct {
	Variant WGDVariant
}

func (d WGD) Name() string {
	if d.Variant == WGDCode {
		return "WGD(code)"
	}
	return "WGD(paper)"
}

func (WGD) Tasks(attacked []int) []int { return slices.Clone(attacked) }

func (d WGD) Combine(sig Signals) *Node {
	var tasks []int
	for t, g := range sig.Grads {
		if g != nil {
			tasks = append(tasks, t)
		}
	}
	if d.Variant == WGDCode {
		terms := make([]*Node, len(tasks))
		for i, t := range tasks {
			terms[i] = Div(sig.Grads[t], positive(ReduceAllMean(sig.Start[t])))
		}
		return sum(terms)
	}
	ratios := make([]*Node, len(tasks))
	for i, t := range tasks {
		ratios[i] = Div(ReduceAllMean(sig.Losses[t]), positive(ReduceAllMean(sig.Start[t])))
	}
	mean := DivScalar(sum(ratios), float64(len(tasks)))
	terms := make([]*Node, len(tasks))
	for i, t := range tasks {
		terms[i] = Mul(sig.Grads[t], Div(ratios[i], positive(mean)))
	}
	return sum(terms)
}

func (WGD) Objective(sig Signals) *Node {
	var terms []*Node
	for t, l := range sig.Losses {
		if l != nil {
			terms = append(terms, Div(l, positive(ReduceAllMean(sig.Start[t]))))
		}
	}
	return sum(terms)
}

// DGBA is the Dynamic Gradient Balancing direction (004 §3.2, solved in closed form by the relaxed
// LP; the authors' released code): per sample, d = sum_i grad L_i(x_t) / L_i(x_t) with the
// per-sample losses at the current iterate. A sign step (FGSM, PGD, APGD) then moves along sign(d),
// as the paper does; an L2 step normalises d. The objective is 004's relative loss increase
// sum_i (L_i - L_i^clean) / L_i^clean, which DGBA-APGD uses for its step-size checks.
// Use it with the CE loss: it divides by losses (floored at 1e-12).
type DGBA struct{}

func (DGBA) Name() string               { return "DGBA" }
func (DGBA) Tasks(attacked []int) []int { return slices.Clone(attacked) }

func (DGBA) Combine(sig Signals) *Node {
	var terms []*Node
	for t, g := range sig.Grads {
		if g != nil {
			terms = append(terms, Mul(g, perSampleLike(Reciprocal(positive(sig.Losses[t])), g)))
		}
	}
	return sum(terms)
}

func (DGBA) Objective(sig Signals) *Node {
	var terms []*Node
	for t, l := range sig.Losses {
		if l != nil {
			c := positive(sig.Clean[t])
			terms = append(terms, Div(Sub(l, c), c))
		}
	}
	return sum(terms)
}

// positive floors x at 1e-12, so that dividing by a loss never divides by zero.
func positive(x *Node) *Node { return MaxScalar(x, 1e-12) }

// present returns the non-nil nodes of xs.
func present(xs []*Node) []*Node {
	var out []*Node
	for _, x := range xs {
		if x != nil {
			out = append(out, x)
		}
	}
	return out
}

// sum adds nodes of equal shape; it panics on an empty list.
func sum(xs []*Node) *Node {
	if len(xs) == 0 {
		panic("attack: nothing to combine: no attacked task")
	}
	s := xs[0]
	for _, x := range xs[1:] {
		s = Add(s, x)
	}
	return s
}

// perSampleLike reshapes a per-sample [batch] node to [batch, 1, ..., 1] with the rank of like, so
// that it broadcasts over like's other axes.
func perSampleLike(v, like *Node) *Node {
	dims := make([]int, like.Rank())
	for i := range dims {
		dims[i] = 1
	}
	dims[0] = like.Shape().Dimensions[0]
	return Reshape(v, dims...)
}
