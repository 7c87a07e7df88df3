package attack

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// CW is the Carlini-Wagner L2 attack (Carlini & Wagner, S&P 2017) as 001 ran it (advertorch's
// CarliniWagnerL2Attack): an unbounded, minimum-distortion attack.
//
// It optimises w in tanh space, x' = (tanh(atanh((2x-1)·0.999999) + w) + 1)/2, so x' is always in
// [0,1], minimising per sample
//
//	||x' - x||_2^2 + c · f(x'),  f = max(Z_y - max_{j!=y} Z_j + kappa, 0)   (targeted: max(max_{j!=t} Z_j - Z_t + kappa, 0))
//
// with Adam (betas 0.9, 0.999, eps 1e-8; restarted at w = 0 for every binary-search step) and a
// per-sample binary search over c: after each search step, c moves to the middle of its bracket
// after a success (success: every task of the direction misclassified, or on target, with the kappa
// margin), and is multiplied by 10 after a failure while no success has bracketed it. The result
// is, per sample, the successful iterate with the smallest L2 distortion, or x itself when there is
// none. With several attacked tasks, f_i is the hinge of head i and the gradient of c·f is the
// Direction's combination of the per-task hinge gradients (with respect to w); its objective is
// the one checked for early abort.
//
// Defaults (001 §IV-C): 5 binary-search steps, kappa 0, initial c 1, learning rate 0.01 (MNIST,
// CIFAR10; ThreatFor(dataset).CW() gives 0.001 for SVHN, GTSRB, Tiny ImageNet). The iteration
// count is advertorch's default, 10000 per search step, with its early abort (every MaxIterations/10 iterations, stop
// when the loss did not decrease by a factor 1-1e-6); unlike advertorch, which stops the whole
// batch, a sample stops on its own loss, so a sample's result does not depend on its batch.
// advertorch's "repeat" of the upper bound at the last step (only for >= 10 search steps) is left
// out. 10000 iterations make a CPU run long: set MaxIterations for quick runs.
//
// Shapes: x is [batch, ...] in [0,1]; labels are integer [batch] per task. The result has x's shape
// and dtype and lies in [0,1]; its distance to x is not bounded.
//
// Example:
//
//	cw := attack.CW{MaxIterations: 200}
//	runner, err := attack.NewRunner(backend, store, attack.GrayBox(net), cw)
type CW struct {
	// BinarySteps is the number of binary-search steps over c. Default 5 (001).
	BinarySteps int
	// MaxIterations is the number of Adam iterations per search step. Default 10000 (advertorch).
	MaxIterations int
	// LearningRate of Adam. Default 0.01 (001: MNIST, CIFAR10).
	LearningRate float64
	// InitialConst is the first c. Default 1 (001).
	InitialConst float64
	// Kappa is the confidence margin. Default 0 (001).
	Kappa float64
	// NoAbortEarly runs every iteration.
	NoAbortEarly bool
	// Direction combines the per-task hinge gradients. Default Single(0).
	Direction Direction
	// Target, when set, makes the attack targeted. Default untargeted.
	Target Target
}

type cwProgram struct {
	bss, iters    int
	lr, c0, kappa float64
	abort         bool
	dir           Direction
	target        Target
}

func (a CW) prog() *cwProgram {
	p := &cwProgram{bss: orInt(a.BinarySteps, 5), iters: orInt(a.MaxIterations, 10000), lr: orFloat(a.LearningRate, 0.01),
		c0: orFloat(a.InitialConst, 1), kappa: a.Kappa, abort: !a.NoAbortEarly, dir: orDir(a.Direction), target: a.Target}
	if p.bss < 1 || p.iters < 1 || p.lr <= 0 || p.c0 <= 0 || p.kappa < 0 {
		panic(fmt.Sprintf("attack: CW: %d search steps, %d iterations, lr %g, c0 %g, kappa %g: want positive values (kappa >= 0)",
			p.bss, p.iters, p.lr, p.c0, p.kappa))
	}
	return p
}

// Name describes the configuration.
func (a CW) Name() string {
	p := a.prog()
	target := ""
	if p.target != nil {
		target = ",targeted"
	}
	return fmt.Sprintf("CW-L2(search=%d,iterations=%d,lr=%g,c0=%g,kappa=%g,abort=%t,%s%s)", p.bss, p.iters, p.lr, p.c0, p.kappa, p.abort, p.dir.Name(), target)
}

// maxUnrolledCW bounds the steps Perturb builds into one graph.
const maxUnrolledCW = 5000

// Perturb builds the whole attack, unrolled, into the graph of x; see Attack. It panics when
// BinarySteps × MaxIterations exceeds 5000: use NewRunner, which reuses one compiled step.
func (a CW) Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	p := a.prog()
	if p.steps() > maxUnrolledCW {
		panic(fmt.Sprintf("attack: CW with %d x %d iterations is too long to unroll into a graph: lower MaxIterations or use NewRunner",
			p.bss, p.iters))
	}
	return perturb(p, s, v, x, labels)
}

func (a CW) program(Victim) program { return a.prog() }

func (p *cwProgram) rounds() int        { return 1 }
func (p *cwProgram) targetRule() Target { return p.target }
func (p *cwProgram) steps() int         { return p.bss * p.iters }

// info: inner iteration (1-based, for Adam's bias correction), start of a search step, end of a
// search step, abort check.
const (
	cwIter = iota
	cwOuterStart
	cwOuterEnd
	cwCheck
	cwInfoLen
)

func (p *cwProgram) info(t int) []float64 {
	i := t % p.iters
	v := make([]float64, cwInfoLen)
	v[cwIter] = float64(i + 1)
	if i == 0 {
		v[cwOuterStart] = 1
	}
	if i == p.iters-1 {
		v[cwOuterEnd] = 1
	}
	if every := max(p.iters/10, 1); p.abort && i%every == 0 {
		v[cwCheck] = 1
	}
	return v
}

// skip: after an abort check where no sample is still moving, jump to the last iteration of the
// search step (which then only updates c).
func (p *cwProgram) skip(t int) (check bool, next int) {
	v := p.info(t)
	return v[cwCheck] == 1, (t/p.iters)*p.iters + p.iters - 1
}

// state: w, m, v, c, lo, hi, bestL2, bestAdv, curSuccess, curL2, prevLoss, active, start hinges,
// clean hinges (one per attacked task each).
const (
	cwW = iota
	cwM
	cwV
	cwC
	cwLo
	cwHi
	cwBestL2
	cwBestAdv
	cwCurSucc
	cwCurL2
	cwPrevLoss
	cwActive
	cwLosses
)

const (
	cwBig      = 1e10 // advertorch's CARLINI_L2DIST_UPPER and CARLINI_COEFF_UPPER
	cwUpperChk = 1e9  // advertorch's UPPER_CHECK
)

func (p *cwProgram) atanhX(x *Node) *Node {
	y := MulScalar(AddScalar(MulScalar(x, 2), -1), 0.999999)
	return MulScalar(Log(Div(OnePlus(y), OneMinus(y))), 0.5)
}

func (p *cwProgram) init(c *ctx, _ randomSource) []*Node {
	x := c.x
	g, dt := x.Graph(), x.DType()
	batch := x.Shape().Dimensions[0]
	vec := func(v float64) *Node { return BroadcastToDims(Scalar(g, dt, v), batch) }
	zero := ZerosLike(x)
	st := []*Node{zero, zero, zero, vec(p.c0), vec(0), vec(cwBig), vec(cwBig), x, vec(0), vec(cwBig), vec(cwBig), vec(1)}
	clean := p.hinges(c, x)
	for _, t := range c.tasks {
		st = append(st, clean[t])
	}
	for _, t := range c.tasks {
		st = append(st, clean[t])
	}
	return st
}

func (p *cwProgram) hinges(c *ctx, x *Node) []*Node {
	logits := c.v.Logits(c.s, x)
	out := make([]*Node, len(c.v.Net.Tasks))
	for _, t := range c.tasks {
		out[t] = cwMargin(logits[t], c.labels[t], c.targets[t], p.kappa)
	}
	return out
}

// success is per sample whether every task of the direction is misclassified (or on target) with
// the kappa margin (advertorch's _is_successful on confidence-adjusted logits).
func (p *cwProgram) success(c *ctx, logits []*Node, tasks []int) *Node {
	var ok *Node
	for _, t := range tasks {
		z := logits[t]
		k := z.Shape().Dimensions[1]
		var f *Node
		if tgt := c.targets[t]; tgt != nil {
			adj := Sub(z, MulScalar(OneHot(tgt, k, z.DType()), p.kappa))
			f = Equal(ArgMax(adj, -1, tgt.DType()), tgt)
		} else {
			y := c.labels[t]
			adj := Add(z, MulScalar(OneHot(y, k, z.DType()), p.kappa))
			f = NotEqual(ArgMax(adj, -1, y.DType()), y)
		}
		if ok == nil {
			ok = f
		} else {
			ok = And(ok, f)
		}
	}
	return ok
}

func (p *cwProgram) step(c *ctx, st []*Node, info []*Node) []*Node {
	x := c.x
	g, dt := x.Graph(), x.DType()
	zero := ScalarZero(g, dt)
	T := len(c.tasks)
	flag := func(i int) *Node { return GreaterThan(info[i], zero) }
	outerStart, outerEnd, check := flag(cwOuterStart), flag(cwOuterEnd), flag(cwCheck)
	like := func(v float64, n *Node) *Node { return BroadcastToDims(Scalar(g, dt, v), n.Shape().Dimensions...) }

	// A new search step restarts w and Adam, and its bookkeeping.
	w := Where(outerStart, ZerosLike(st[cwW]), st[cwW])
	m := Where(outerStart, ZerosLike(st[cwM]), st[cwM])
	v := Where(outerStart, ZerosLike(st[cwV]), st[cwV])
	curSucc := Where(outerStart, ZerosLike(st[cwCurSucc]), st[cwCurSucc])
	curL2 := Where(outerStart, like(cwBig, st[cwCurL2]), st[cwCurL2])
	prevLoss := Where(outerStart, like(cwBig, st[cwPrevLoss]), st[cwPrevLoss])
	active := Where(outerStart, OnesLike(st[cwActive]), st[cwActive])
	cc := st[cwC]

	// Evaluate at the current w: hinges, distortion and their gradients with respect to w.
	tasks := p.dir.Tasks(c.tasks)
	win := Identity(w)
	adv := MulScalar(OnePlus(Tanh(Add(win, p.atanhX(x)))), 0.5)
	logits := c.v.Logits(c.s, adv)
	n := len(c.v.Net.Tasks)
	sig := Signals{Grads: make([]*Node, n), Losses: make([]*Node, n), Start: make([]*Node, n), Clean: make([]*Node, n)}
	var start []*Node
	for i, t := range c.tasks {
		sig.Losses[t] = cwMargin(logits[t], c.labels[t], c.targets[t], p.kappa)
		sig.Start[t] = Where(outerStart, sig.Losses[t], st[cwLosses+i])
		sig.Clean[t] = st[cwLosses+T+i]
		start = append(start, sig.Start[t])
	}
	for _, t := range tasks {
		sig.Grads[t] = Gradient(ReduceAllSum(sig.Losses[t]), win)[0]
	}
	l2 := ReduceSum(Square(Sub(adv, x)), axesFrom1(x)...)
	gradDist := Gradient(ReduceAllSum(l2), win)[0]
	loss := Add(l2, Mul(cc, p.dir.Objective(sig)))

	// Keep the smallest successful distortion, in this search step and overall.
	ok := p.success(c, logits, tasks)
	curTake := And(ok, LessThan(l2, curL2))
	curL2 = Where(curTake, l2, curL2)
	curSucc = Where(curTake, OnesLike(curSucc), curSucc)
	bestTake := And(ok, LessThan(l2, st[cwBestL2]))
	bestL2 := Where(bestTake, l2, st[cwBestL2])
	bestAdv := Where(bestTake, adv, st[cwBestAdv])

	// Early abort, per sample.
	stop := And(check, GreaterThan(loss, MulScalar(prevLoss, 1-1e-6)))
	active = Where(stop, ZerosLike(active), active)
	prevLoss = Where(check, loss, prevLoss)

	// Adam on w, for the samples still moving.
	grad := Add(gradDist, Mul(p.dir.Combine(sig), perSampleLike(cc, w)))
	const b1, b2 = 0.9, 0.999
	m2 := Add(MulScalar(m, b1), MulScalar(grad, 1-b1))
	v2 := Add(MulScalar(v, b2), MulScalar(Square(grad), 1-b2))
	it := info[cwIter]
	mhat := Div(m2, OneMinus(Pow(Scalar(g, dt, b1), it)))
	vhat := Div(v2, OneMinus(Pow(Scalar(g, dt, b2), it)))
	w2 := Sub(w, MulScalar(Div(mhat, AddScalar(Sqrt(vhat), 1e-8)), p.lr))
	moving := GreaterThan(active, zero)
	w, m, v = Where(moving, w2, w), Where(moving, m2, m), Where(moving, v2, v)

	// Binary search over c at the end of a search step.
	succ := GreaterThan(curSucc, zero)
	hi := Where(And(outerEnd, succ), Min(st[cwHi], cc), st[cwHi])
	lo := Where(And(outerEnd, LogicalNot(succ)), Max(st[cwLo], cc), st[cwLo])
	mid := MulScalar(Add(lo, hi), 0.5)
	bracketed := LessThan(hi, like(cwUpperChk, hi))
	newC := Where(bracketed, mid, Where(succ, cc, MulScalar(cc, 10)))
	cc = Where(outerEnd, newC, cc)

	out := []*Node{w, m, v, cc, lo, hi, bestL2, bestAdv, curSucc, curL2, prevLoss, active}
	out = append(out, start...)
	return append(out, st[cwLosses+T:]...)
}

// alive is a scalar Bool: whether any sample is still moving.
func (p *cwProgram) alive(st []*Node) *Node {
	return GreaterThan(ReduceAllMax(st[cwActive]), ScalarZero(st[cwActive].Graph(), st[cwActive].DType()))
}

func (p *cwProgram) finish(c *ctx, st []*Node) (adv, fooledN, score *Node) {
	found := LessThan(st[cwBestL2], BroadcastToDims(Scalar(c.x.Graph(), c.x.DType(), cwBig), st[cwBestL2].Shape().Dimensions...))
	adv = Where(found, st[cwBestAdv], c.x)
	nt := float64(len(p.dir.Tasks(c.tasks)))
	fooledN = MulScalar(ConvertDType(found, c.x.DType()), nt)
	score = Where(found, Neg(st[cwBestL2]), ZerosLike(st[cwBestL2]))
	return adv, fooledN, score
}

func axesFrom1(x *Node) []int {
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	return axes
}
