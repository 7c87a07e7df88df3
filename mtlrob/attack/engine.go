package attack

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Norm is the norm of the threat model's ball around the clean input.
type Norm int

const (
	// Linf bounds max_j |x'_j - x_j| <= eps. The default.
	Linf Norm = iota
	// L2 bounds the per-sample Euclidean norm ||x' - x||_2 <= eps.
	L2
)

func (n Norm) String() string {
	if n == L2 {
		return "L2"
	}
	return "Linf"
}

// ctx is what every piece of an attack's graph needs: the graph's scope, the victim, the clean
// batch and its labels.
type ctx struct {
	s       *model.Scope
	v       Victim
	tasks   []int   // attacked (visible) heads, sorted
	x       *Node   // clean input, [batch, ...]
	labels  []*Node // per task of the network, nil for hidden heads
	targets []*Node // per task: the targets (targeted) or nil (untargeted)
}

func newCtx(s *model.Scope, v Victim, x *Node, labels []*Node, target Target) *ctx {
	c := &ctx{s: s, v: v, tasks: v.Tasks(), x: x, labels: make([]*Node, len(v.Net.Tasks)), targets: make([]*Node, len(v.Net.Tasks))}
	if x.Rank() < 2 {
		panic(fmt.Sprintf("attack: input must be a batch [batch, ...], got shape %s", x.Shape()))
	}
	for _, t := range c.tasks {
		if t >= len(labels) || labels[t] == nil {
			panic(fmt.Sprintf("attack: no labels for attacked head %d (%s): got %d label nodes", t, v.Net.Tasks[t], len(labels)))
		}
		if l := labels[t]; l.Rank() != 1 || l.Shape().Dimensions[0] != x.Shape().Dimensions[0] || !l.DType().IsInt() {
			panic(fmt.Sprintf("attack: labels of head %d have shape %s, want an integer [%d]", t, l.Shape(), x.Shape().Dimensions[0]))
		}
		c.labels[t] = labels[t]
		if target != nil {
			c.targets[t] = target(labels[t], v.Net.Classes[t])
		}
	}
	return c
}

// sign is +1 for an untargeted attack (ascend the loss) and -1 for a targeted one (descend).
func (c *ctx) sign() float64 {
	for _, t := range c.tasks {
		if c.targets[t] != nil {
			return -1
		}
	}
	return 1
}

// evaluation holds the per-task quantities at one iterate, indexed by task (nil when absent).
type evaluation struct {
	losses, fooled, grads []*Node
}

// evaluate runs the visible network on x once and returns the per-sample losses and fooled flags
// of every attacked head, plus the input gradients of the tasks in gradTasks: one backward pass
// per task, each computed once.
func (c *ctx) evaluate(x *Node, loss Loss, gradTasks []int) evaluation {
	n := len(c.v.Net.Tasks)
	ev := evaluation{losses: make([]*Node, n), fooled: make([]*Node, n), grads: make([]*Node, n)}
	xin := Identity(x) // never differentiate with respect to a StopGradient node: it silently gives zeros
	logits := c.v.Logits(c.s, xin)
	for _, t := range c.tasks {
		ev.losses[t] = loss.perSample(logits[t], c.labels[t], c.targets[t])
		ev.fooled[t] = fooled(logits[t], c.labels[t], c.targets[t])
	}
	for _, t := range gradTasks {
		ev.grads[t] = Gradient(ReduceAllSum(ev.losses[t]), xin)[0]
	}
	return ev
}

// fooledCount is the number of the given tasks fooled per sample, as x's dtype, shape [batch].
func fooledCount(ev evaluation, tasks []int) *Node {
	var terms []*Node
	for _, t := range tasks {
		terms = append(terms, ConvertDType(ev.fooled[t], ev.losses[t].DType()))
	}
	return sum(terms)
}

// better reports per sample whether (f, o) beats (bestF, bestO): more fooled tasks first, then a
// higher objective.
func better(f, o, bestF, bestO *Node) *Node {
	return Or(GreaterThan(f, bestF), And(Equal(f, bestF), GreaterThan(o, bestO)))
}

// randomSource draws random values of a shape: uniform in [0, 1) or standard normal.
type randomSource func(shape shapes.Shape, normal bool) *Node

// program is an attack written as a state machine, so that it can be built unrolled into one
// graph (Perturb, and the runner's unrolled mode) or run as a compiled step reused host-side.
type program interface {
	// rounds is the number of independent runs (restarts), merged per sample by their scores.
	rounds() int
	// steps is the number of steps of each round.
	steps() int
	// info returns the static values of step t (flags and counts the step needs), a fixed length.
	info(t int) []float64
	// init builds the state of a round.
	init(c *ctx, rnd randomSource) []*Node
	// step advances the state by one step; info holds the values of info(t) as scalar nodes.
	step(c *ctx, st []*Node, info []*Node) []*Node
	// finish returns the round's adversarial example and its score per sample: the number of
	// attacked tasks fooled and the objective (higher is stronger).
	finish(c *ctx, st []*Node) (adv, fooledN, score *Node)
	// targetRule is the attack's Target (nil: untargeted).
	targetRule() Target
}

// unrolled builds every round and step of p into the current graph and merges the rounds.
func unrolled(c *ctx, p program, rnd randomSource) (adv, fooledN, score *Node) {
	for r := range p.rounds() {
		a, f, s := unrolledRound(c, p, rnd)
		if r == 0 {
			adv, fooledN, score = a, f, s
			continue
		}
		adv, fooledN, score = mergeRounds(a, f, s, adv, fooledN, score)
	}
	return adv, fooledN, score
}

// unrolledRound builds one round (restart) of p, all its steps unrolled.
func unrolledRound(c *ctx, p program, rnd randomSource) (adv, fooledN, score *Node) {
	st := p.init(c, rnd)
	for t := range p.steps() {
		st = p.step(c, st, constInfo(c.x.Graph(), c.x.DType(), p.info(t)))
	}
	return p.finish(c, st)
}

// mergeRounds keeps, per sample, the stronger of two rounds (ties keep the earlier, b).
func mergeRounds(a, fa, sa, b, fb, sb *Node) (adv, f, s *Node) {
	take := better(fa, sa, fb, sb)
	return Where(take, a, b), Where(take, fa, fb), Where(take, sa, sb)
}

func constInfo(g *Graph, dtype dtypes.DType, values []float64) []*Node {
	out := make([]*Node, len(values))
	for i, v := range values {
		out[i] = Scalar(g, dtype, v)
	}
	return out
}

// storeRandom draws from the store's random number generator (a variable updated by the graph),
// which is what an attack built into a training graph needs: fresh noise at every call.
func storeRandom(s *model.Scope, g *Graph) randomSource {
	return func(shape shapes.Shape, normal bool) *Node {
		if normal {
			return s.RandomNormal(g, shape)
		}
		return s.RandomUniform(g, shape)
	}
}

// stateRandom draws from an explicit RNG state node, updated in place: the runner passes a
// state derived from its seed, so that its random starts are exactly reproducible.
func stateRandom(state **Node) randomSource {
	return func(shape shapes.Shape, normal bool) *Node {
		var v *Node
		if normal {
			*state, v = RandomNormal(*state, shape)
		} else {
			*state, v = RandomUniform(*state, shape)
		}
		return v
	}
}

// --- the iterative engine -------------------------------------------------------------------------

// initKind is how the engine picks the first iterate x_0.
type initKind int

const (
	initZero    initKind = iota // x_0 = x
	initUniform                 // uniform in the Linf ball (Madry); for L2, torchattacks' PGDL2 start
	initAPGD                    // APGD's start: x + eps * t / ||t||_inf, t ~ U(-1, 1) (Croce & Hein's code)
)

// engine is the one iterative attack of the package: Init (initKind), Direction, Step (stepper)
// and Project (norm, eps, then [0,1]). FGSM, PGD, PGD-L2, MIM and APGD are configurations of it.
type engine struct {
	kind        string
	norm        Norm
	eps, alpha  float64
	nSteps      int
	nRounds     int
	start       initKind
	stepper     stepper
	dir         Direction
	loss        Loss
	target      Target
	lastIterate bool
}

// stepper is the Step part of the engine: how the combined direction moves the iterate.
type stepper interface {
	name() string
	// state returns the stepper's own initial state.
	state(e *engine, c *ctx, x0 *Node) []*Node
	// move returns the next iterate, already projected, and the stepper's new state.
	move(e *engine, c *ctx, m move) (*Node, []*Node)
	// info returns the stepper's static values for step t of steps (APGD's checkpoints).
	info(t, steps int) (check, window float64)
}

// move is what a stepper sees at one step.
type move struct {
	x      *Node   // current iterate x_t
	d      *Node   // combined direction, already signed: always an ascent direction of obj
	obj    *Node   // objective at x_t (signed: higher is stronger), [batch]
	state  []*Node // the stepper's state
	first  *Node   // scalar: 1 at t = 0
	check  *Node   // scalar: 1 when t is an APGD checkpoint
	window *Node   // scalar: steps since the previous checkpoint
}

const (
	infoFirst = iota
	infoCheck
	infoWindow
	infoLen
)

func (e *engine) rounds() int        { return e.nRounds }
func (e *engine) targetRule() Target { return e.target }
func (e *engine) steps() int         { return e.nSteps }

func (e *engine) info(t int) []float64 {
	v := make([]float64, infoLen)
	if t == 0 {
		v[infoFirst] = 1
	}
	v[infoCheck], v[infoWindow] = e.stepper.info(t, e.nSteps)
	return v
}

// state layout: x, best, bestF, bestO, start losses (one per attacked task), clean losses, stepper state.
const (
	stX = iota
	stBest
	stBestF
	stBestO
	stLosses
)

func (e *engine) dirTasks(c *ctx) []int { return e.dir.Tasks(c.tasks) }

func (e *engine) init(c *ctx, rnd randomSource) []*Node {
	x0 := e.randomStart(c, rnd)
	g, dt := c.x.Graph(), c.x.DType()
	batch := c.x.Shape().Dimensions[0]
	// The start and clean losses cost a forward pass each: skip them for the directions known not
	// to read them (zeros keep the state's layout).
	needStart, needClean := lossNeeds(e.dir)
	n := len(c.v.Net.Tasks)
	clean, start := make([]*Node, n), make([]*Node, n)
	for _, t := range c.tasks {
		clean[t] = BroadcastToDims(ScalarZero(g, dt), batch)
		start[t] = clean[t]
	}
	if needClean || (needStart && e.start == initZero) {
		clean = c.evaluate(c.x, e.loss, nil).losses
		start = clean
	}
	if needStart && e.start != initZero {
		start = c.evaluate(x0, e.loss, nil).losses
	}
	st := []*Node{x0, x0,
		BroadcastToDims(Scalar(g, dt, -1), batch),
		BroadcastToDims(Infinity(g, dt, -1), batch)}
	for _, t := range c.tasks {
		st = append(st, start[t])
	}
	for _, t := range c.tasks {
		st = append(st, clean[t])
	}
	return append(st, e.stepper.state(e, c, x0)...)
}

func (e *engine) randomStart(c *ctx, rnd randomSource) *Node {
	x := c.x
	if e.start == initZero || e.eps == 0 {
		return x
	}
	switch {
	case e.start == initUniform && e.norm == Linf:
		u := rnd(x.Shape(), false)
		return ClipScalar(Add(x, MulScalar(AddScalar(MulScalar(u, 2), -1), e.eps)), 0, 1)
	case e.start == initUniform && e.norm == L2:
		d := rnd(x.Shape(), true)
		r := rnd(shapes.Make(x.DType(), x.Shape().Dimensions[0]), false)
		scale := Div(MulScalar(r, e.eps), MaxScalar(perSampleNorm(d, L2), 1e-12))
		return ClipScalar(Add(x, Mul(d, perSampleLike(scale, d))), 0, 1)
	case e.start == initAPGD && e.norm == Linf:
		t := AddScalar(MulScalar(rnd(x.Shape(), false), 2), -1)
		scale := Div(Scalar(x.Graph(), x.DType(), e.eps), MaxScalar(perSampleNorm(t, Linf), 1e-12))
		return ClipScalar(Add(x, Mul(t, perSampleLike(scale, t))), 0, 1)
	}
	panic(fmt.Sprintf("attack: %s: no random start for norm %s", e.kind, e.norm))
}

// lossNeeds reports whether a direction reads Signals.Start and Signals.Clean; directions the
// package does not know get both.
func lossNeeds(d Direction) (start, clean bool) {
	switch d.(type) {
	case Single, Total, SignTotal, WeightedTotal:
		return false, false
	case WGD:
		return true, false
	case DGBA:
		return false, true
	}
	return true, true
}

// signals assembles the Signals of an evaluation with the start and clean losses of the state.
func (e *engine) signals(c *ctx, ev evaluation, st []*Node) Signals {
	n := len(c.v.Net.Tasks)
	sig := Signals{Grads: ev.grads, Losses: ev.losses, Start: make([]*Node, n), Clean: make([]*Node, n)}
	for i, t := range c.tasks {
		sig.Start[t] = st[stLosses+i]
		sig.Clean[t] = st[stLosses+len(c.tasks)+i]
	}
	return sig
}

func (e *engine) step(c *ctx, st []*Node, info []*Node) []*Node {
	tasks := e.dirTasks(c)
	x := st[stX]
	ev := c.evaluate(x, e.loss, tasks)
	sig := e.signals(c, ev, st)
	sgn := c.sign()
	obj := MulScalar(e.dir.Objective(sig), sgn)
	f := fooledCount(ev, tasks)

	// The strongest iterate is chosen among x_1..x_k: x_0 (the clean input or the random start)
	// is not an attack's output.
	notFirst := Equal(info[infoFirst], ScalarZero(x.Graph(), x.DType()))
	take := And(notFirst, better(f, obj, st[stBestF], st[stBestO]))
	out := append([]*Node(nil), st...)
	out[stBest] = Where(take, x, st[stBest])
	out[stBestF] = Where(take, f, st[stBestF])
	out[stBestO] = Where(take, obj, st[stBestO])

	d := MulScalar(e.dir.Combine(sig), sgn)
	extraAt := stLosses + 2*len(c.tasks)
	next, extra := e.stepper.move(e, c, move{x: x, d: d, obj: obj, state: st[extraAt:],
		first: info[infoFirst], check: info[infoCheck], window: info[infoWindow]})
	out[stX] = next
	return append(out[:extraAt], extra...)
}

func (e *engine) finish(c *ctx, st []*Node) (adv, fooledN, score *Node) {
	tasks := e.dirTasks(c)
	x := st[stX]
	ev := c.evaluate(x, e.loss, nil)
	obj := MulScalar(e.dir.Objective(e.signals(c, ev, st)), c.sign())
	f := fooledCount(ev, tasks)
	if e.lastIterate {
		return x, f, obj
	}
	take := better(f, obj, st[stBestF], st[stBestO])
	return Where(take, x, st[stBest]), Where(take, f, st[stBestF]), Where(take, obj, st[stBestO])
}

// project maps x onto the eps-ball around the clean input, then onto [0,1].
func (e *engine) project(c *ctx, x *Node) *Node {
	x0 := c.x
	switch e.norm {
	case Linf:
		x = Min(Max(x, AddScalar(x0, -e.eps)), AddScalar(x0, e.eps))
	case L2:
		delta := Sub(x, x0)
		n := perSampleNorm(delta, L2)
		factor := MinScalar(Div(Scalar(x.Graph(), x.DType(), e.eps), MaxScalar(n, 1e-12)), 1)
		x = Add(x0, Mul(delta, perSampleLike(factor, delta)))
	}
	return ClipScalar(x, 0, 1)
}

// perSampleNorm is the per-sample norm of x over all but the batch axis, shape [batch].
func perSampleNorm(x *Node, norm Norm) *Node {
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	if norm == Linf {
		return ReduceMax(Abs(x), axes...)
	}
	return Sqrt(ReduceSum(Square(x), axes...))
}

// perSampleL1 is the per-sample L1 norm, shape [batch].
func perSampleL1(x *Node) *Node {
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	return ReduceSum(Abs(x), axes...)
}

func (e *engine) name() string {
	start := map[initKind]string{initZero: "", initUniform: ",random-start", initAPGD: ",random-start"}[e.start]
	if e.eps == 0 {
		start = ""
	}
	last := ""
	if e.lastIterate {
		last = ",last-iterate"
	}
	target := ""
	if e.target != nil {
		target = ",targeted"
	}
	return fmt.Sprintf("%s(eps=%g,alpha=%g,steps=%d,restarts=%d%s,%s,%s,%s%s%s)",
		e.kind, e.eps, e.alpha, e.nSteps, e.nRounds, start, e.stepper.name(), e.dir.Name(), e.loss, target, last)
}

// check validates the configuration (a graph-building error: it panics with a clear message).
func (e *engine) check() {
	switch {
	case e.eps < 0 || math.IsNaN(e.eps):
		panic(fmt.Sprintf("attack: %s: eps %g, want >= 0", e.kind, e.eps))
	case e.alpha < 0:
		panic(fmt.Sprintf("attack: %s: step size %g, want >= 0", e.kind, e.alpha))
	case e.nSteps < 1 || e.nRounds < 1:
		panic(fmt.Sprintf("attack: %s: %d steps and %d restarts, want >= 1", e.kind, e.nSteps, e.nRounds))
	}
	if e.loss == DLR {
		switch e.dir.(type) {
		case DGBA, WGD:
			panic(fmt.Sprintf("attack: %s: the %s direction divides by losses and DLR can be negative: use CE", e.kind, e.dir.Name()))
		}
	}
}

// --- steppers --------------------------------------------------------------------------------------

// signStep is x + alpha * sign(d) (FGSM, PGD-Linf).
type signStep struct{}

func (signStep) name() string                       { return "sign" }
func (signStep) state(*engine, *ctx, *Node) []*Node { return nil }
func (signStep) info(int, int) (float64, float64)   { return 0, 0 }
func (signStep) move(e *engine, c *ctx, m move) (*Node, []*Node) {
	return e.project(c, Add(m.x, MulScalar(Sign(m.d), e.alpha))), nil
}

// l2Step is x + alpha * d / ||d||_2 per sample (PGD-L2, the L2 fast gradient method).
type l2Step struct{}

func (l2Step) name() string                       { return "l2" }
func (l2Step) state(*engine, *ctx, *Node) []*Node { return nil }
func (l2Step) info(int, int) (float64, float64)   { return 0, 0 }
func (l2Step) move(e *engine, c *ctx, m move) (*Node, []*Node) {
	n := AddScalar(perSampleNorm(m.d, L2), 1e-12)
	step := Mul(m.d, perSampleLike(Div(Scalar(m.d.Graph(), m.d.DType(), e.alpha), n), m.d))
	return e.project(c, Add(m.x, step)), nil
}

// momentumStep is MIM's step (Dong et al. 2018, Eq. 6-7): g <- mu g + d / ||d||_1, then
// x + alpha * sign(g).
type momentumStep struct{ decay float64 }

func (s momentumStep) name() string { return fmt.Sprintf("momentum(%g)", s.decay) }
func (momentumStep) state(_ *engine, _ *ctx, x0 *Node) []*Node {
	return []*Node{ZerosLike(x0)}
}
func (momentumStep) info(int, int) (float64, float64) { return 0, 0 }
func (s momentumStep) move(e *engine, c *ctx, m move) (*Node, []*Node) {
	l1 := AddScalar(perSampleL1(m.d), 1e-12)
	g := Add(MulScalar(m.state[0], s.decay), Div(m.d, perSampleLike(l1, m.d)))
	return e.project(c, Add(m.x, MulScalar(Sign(g), e.alpha))), []*Node{g}
}
