package attack

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// APGD is Auto-PGD (Croce & Hein, ICML 2020, Algorithm 1), the step-size-free PGD of AutoAttack,
// with the CE or DLR loss, L∞ only, untargeted or targeted.
//
// From a start x_0 = x + eps * t/||t||_inf (t ~ U(-1,1)^d, as in the authors' code) it moves with
// momentum 0.75,
//
//	z = Proj(x_k + eta * sign(g_k)),  x_{k+1} = Proj(x_k + 0.75 (z - x_k) + 0.25 (x_k - x_{k-1}))
//
// (no momentum at the first step), with eta = 2 eps per sample at first. At the checkpoints of the
// authors' code (first after int(0.22 N) steps, then intervals shrinking by int(0.03 N) down to
// int(0.06 N)) a sample's eta is halved and it restarts from its best point when fewer than
// Rho of the steps since the previous checkpoint increased the objective, or when neither eta nor
// the best objective changed since then. The objective is the direction's (the loss for Single,
// 004's relative loss sum_i (L_i - L_i^clean)/L_i^clean for DGBA-APGD). The result is, per sample,
// the strongest iterate (most attacked tasks fooled, then highest objective) over all restarts.
//
// Shapes: x is [batch, ...] in [0,1]; labels are integer [batch] per task. The result has x's shape
// and dtype and satisfies ||x' - x||_inf <= eps and x' in [0,1].
//
// Example (DGBA-APGD against every head):
//
//	adv := attack.APGD{Eps: 8.0 / 255, Direction: attack.DGBA{}}
//	xAdv := adv.Perturb(scope, attack.WhiteBox(net), x, labels)
type APGD struct {
	// Eps is the L∞ budget; zero is a valid budget and returns x.
	Eps float64
	// Steps is the number of iterations N. Default 100 (AutoAttack).
	Steps int
	// Restarts is the number of random restarts, keeping the per-sample strongest. Default 1.
	Restarts int
	// Rho is the fraction of improving steps below which the step size is halved. Default 0.75.
	Rho float64
	// Loss is CE (default) or DLR.
	Loss Loss
	// Direction combines the per-task gradients. Default Single(0).
	Direction Direction
	// Target, when set, makes the attack targeted (e.g. NextClass). Default untargeted.
	Target Target
	// NoRandomStart starts from x instead of the random point.
	NoRandomStart bool
}

func (a APGD) engine() *engine {
	e := &engine{kind: "APGD", norm: Linf, eps: a.Eps, nSteps: orInt(a.Steps, 100), nRounds: orInt(a.Restarts, 1),
		start: initAPGD, stepper: apgdStep{rho: orFloat(a.Rho, 0.75)}, dir: orDir(a.Direction), loss: a.Loss, target: a.Target}
	if a.NoRandomStart {
		e.start = initZero
	}
	e.alpha = 2 * e.eps
	e.check()
	return e
}

// Name describes the configuration, e.g. "APGD(eps=0.1,...,DGBA,CE)".
func (a APGD) Name() string { return a.engine().name() }

// Perturb builds the attack into the graph of x and returns the adversarial batch (with its
// gradient stopped). labels are indexed by task; see Victim.
func (a APGD) Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	return perturb(a.engine(), s, v, x, labels)
}

func (a APGD) program(Victim) program { return a.engine() }

func (a APGD) directed(d Direction) Attack { a.Direction = d; return a }

// apgdStep is APGD's step with momentum and the checkpointed step-size control.
type apgdStep struct{ rho float64 }

func (s apgdStep) name() string { return fmt.Sprintf("apgd(rho=%g)", s.rho) }

// APGD state: xPrev, eta, bestX, bestObj, bestDir, prevObj, increases, objLastCheck, reducedLastCheck.
const (
	apPrev = iota
	apEta
	apBestX
	apBestObj
	apBestDir
	apPrevObj
	apInc
	apObjLast
	apReduced
)

func (apgdStep) state(e *engine, c *ctx, x0 *Node) []*Node {
	g, dt := x0.Graph(), x0.DType()
	batch := x0.Shape().Dimensions[0]
	vec := func(v *Node) *Node { return BroadcastToDims(v, batch) }
	return []*Node{
		x0,
		vec(Scalar(g, dt, 2*e.eps)),
		x0,
		vec(Infinity(g, dt, -1)),
		ZerosLike(x0),
		vec(Infinity(g, dt, -1)),
		vec(ScalarZero(g, dt)),
		vec(Infinity(g, dt, -1)),
		vec(ScalarOne(g, dt)), // AutoAttack starts with reduced_last_check = 1
	}
}

// info marks the checkpoints of AutoAttack's schedule: the first after int(0.22 N) steps, each
// next one after max(previous interval - int(0.03 N), int(0.06 N)) steps (all at least 1).
func (apgdStep) info(t, steps int) (check, window float64) {
	k := max(int(0.22*float64(steps)), 1)
	kMin := max(int(0.06*float64(steps)), 1)
	decr := max(int(0.03*float64(steps)), 1)
	at := 0
	for at+k < steps {
		at += k
		if at == t {
			return 1, float64(k)
		}
		if at > t {
			break
		}
		k = max(k-decr, kMin)
	}
	return 0, 0
}

func (s apgdStep) move(e *engine, c *ctx, m move) (*Node, []*Node) {
	st := m.state
	g, dt := m.x.Graph(), m.x.DType()
	zero := ScalarZero(g, dt)
	isFirst := GreaterThan(m.first, zero)
	isCheck := GreaterThan(m.check, zero)
	x, d, obj := m.x, m.d, m.obj

	inc := Add(st[apInc], ConvertDType(And(LogicalNot(isFirst), GreaterThan(obj, st[apPrevObj])), dt))
	takeBest := GreaterThan(obj, st[apBestObj])
	bestX := Where(takeBest, x, st[apBestX])
	bestDir := Where(takeBest, d, st[apBestDir])
	bestObj := Where(takeBest, obj, st[apBestObj])
	objLast := Where(isFirst, bestObj, st[apObjLast])

	osc := LessOrEqual(inc, MulScalar(m.window, s.rho))
	noImpr := And(Equal(st[apReduced], zero), GreaterOrEqual(objLast, bestObj))
	reduce := And(isCheck, Or(osc, noImpr))
	eta := Where(reduce, MulScalar(st[apEta], 0.5), st[apEta])
	x = Where(reduce, bestX, x)
	d = Where(reduce, bestDir, d)
	reduced := Where(isCheck, ConvertDType(reduce, dt), st[apReduced])
	objLast = Where(isCheck, bestObj, objLast)
	inc = Where(isCheck, ZerosLike(inc), inc)

	a := Where(isFirst, ScalarOne(g, dt), Scalar(g, dt, 0.75))
	z := e.project(c, Add(x, Mul(Sign(d), perSampleLike(eta, d))))
	next := e.project(c, Add(x, Add(Mul(Sub(z, x), a), Mul(Sub(x, st[apPrev]), OneMinus(a)))))
	return next, []*Node{x, eta, bestX, bestObj, bestDir, obj, inc, objLast, reduced}
}
