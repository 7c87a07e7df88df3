package attack

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// PGD is L∞ projected gradient descent (Madry et al., ICLR 2018), as 001 uses it (advertorch's
// LinfPGDAttack):
//
//	x_0 = clip(x + U(-eps, eps), 0, 1)  (random start; NoRandomStart: x_0 = x)
//	x_{t+1} = Proj(x_t + alpha * sign(g_t))
//
// with g_t the Direction's combination of the per-task gradients at x_t (descended when
// targeted) and Proj the projection onto the L∞ eps-ball around x, then onto [0,1]. DGBA-PGD is
// PGD{Direction: DGBA{}} (004 §3.3); WGD is PGD{Direction: WGD{}} (003). With Restarts > 1 each
// restart draws a new start and the per-sample strongest result is kept.
//
// The result is, per sample, the strongest of the iterates x_1..x_k (most attacked tasks fooled,
// then highest objective; as APGD does), so more steps or restarts are never weaker on the same
// seed; LastIterate returns x_k as advertorch and torchattacks do.
//
// Settings of 001 (ThreatFor(dataset).PGD()): MNIST eps 0.3, 40 steps, alpha 0.01; SVHN, GTSRB,
// CIFAR10, Tiny ImageNet eps 8/255, 7 steps, alpha 2/255; targeted rule target = (y+1) mod K
// (NextClass).
//
// Shapes: x is [batch, ...] in [0,1]; labels are integer [batch] per task. The result has x's shape
// and dtype and satisfies ||x' - x||_inf <= eps and x' in [0,1].
//
// Example (the gray-box attack of 001 Eq. 4, and the targeted variant):
//
//	xAdv := attack.PGD{Eps: 0.3, Alpha: 0.01, Steps: 40}.Perturb(scope, attack.GrayBox(net), x, labels)
//	pgdT := attack.PGD{Eps: 0.3, Alpha: 0.01, Steps: 40, Target: attack.NextClass}
type PGD struct {
	// Eps is the L∞ budget; zero is a valid budget and returns x.
	Eps float64
	// Alpha is the step size. Default 2.5 * Eps / Steps (Madry et al.).
	Alpha float64
	// Steps is the number of iterations. Default 40 (001's MNIST setting).
	Steps int
	// Restarts is the number of random restarts, keeping the per-sample strongest. Default 1.
	Restarts int
	// NoRandomStart starts from x instead of a uniform point of the ball.
	NoRandomStart bool
	// Loss is CE (default) or DLR.
	Loss Loss
	// Direction combines the per-task gradients. Default Single(0).
	Direction Direction
	// Target, when set, makes the attack targeted (e.g. NextClass). Default untargeted.
	Target Target
	// LastIterate returns the last iterate x_k instead of the per-sample strongest one.
	LastIterate bool
}

func (a PGD) engine() *engine {
	steps := orInt(a.Steps, 40)
	e := &engine{kind: "PGD-Linf", norm: Linf, eps: a.Eps, alpha: orFloat(a.Alpha, 2.5*a.Eps/float64(steps)),
		nSteps: steps, nRounds: orInt(a.Restarts, 1), start: initUniform, stepper: signStep{},
		dir: orDir(a.Direction), loss: a.Loss, target: a.Target, lastIterate: a.LastIterate}
	if a.NoRandomStart {
		e.start = initZero
	}
	e.check()
	return e
}

// Name describes the configuration.
func (a PGD) Name() string { return a.engine().name() }

// Perturb builds the attack into the graph of x; see Attack.
func (a PGD) Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	return perturb(a.engine(), s, v, x, labels)
}

func (a PGD) program(Victim) program { return a.engine() }

func (a PGD) directed(d Direction) Attack { a.Direction = d; return a }

// PGDL2 is L2 projected gradient descent: the engine with the L2 step x + alpha * g/||g||_2 (per
// sample) and the projection onto the L2 ball (then [0,1]). The random start is torchattacks'
// PGDL2 one: a Gaussian direction scaled to radius r * eps, r ~ U(0,1). Otherwise as PGD.
//
// Shapes: as PGD; the result satisfies ||x' - x||_2 <= eps per sample and x' in [0,1].
//
// Example:
//
//	xAdv := attack.PGDL2{Eps: 2, Alpha: 0.1, Steps: 40, Direction: attack.Total{}}.Perturb(scope, attack.WhiteBox(net), x, labels)
type PGDL2 struct {
	// Eps is the L2 budget; zero is a valid budget and returns x.
	Eps float64
	// Alpha is the step size. Default 2.5 * Eps / Steps.
	Alpha float64
	// Steps is the number of iterations. Default 40.
	Steps int
	// Restarts is the number of random restarts, keeping the per-sample strongest. Default 1.
	Restarts int
	// NoRandomStart starts from x.
	NoRandomStart bool
	// Loss is CE (default) or DLR.
	Loss Loss
	// Direction combines the per-task gradients. Default Single(0).
	Direction Direction
	// Target, when set, makes the attack targeted. Default untargeted.
	Target Target
	// LastIterate returns the last iterate instead of the per-sample strongest one.
	LastIterate bool
}

func (a PGDL2) engine() *engine {
	e := PGD(a).engine()
	e.kind, e.norm, e.stepper = "PGD-L2", L2, l2Step{}
	return e
}

// Name describes the configuration.
func (a PGDL2) Name() string { return a.engine().name() }

// Perturb builds the attack into the graph of x; see Attack.
func (a PGDL2) Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	return perturb(a.engine(), s, v, x, labels)
}

func (a PGDL2) program(Victim) program { return a.engine() }

func (a PGDL2) directed(d Direction) Attack { a.Direction = d; return a }
