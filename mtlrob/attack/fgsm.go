package attack

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// FGSM is the Fast Gradient Sign Method (Goodfellow et al., ICLR 2015), one step of the engine:
//
//	x' = Proj(x + eps * sign(g))        (Linf)
//	x' = Proj(x + eps * g / ||g||_2)    (L2: the fast gradient method)
//
// with g the Direction's combination of the per-task gradients at x (descended when targeted).
// DGBA-FGSM is FGSM{Direction: DGBA{}} (004 §3.3). No random start.
//
// Shapes: x is [batch, ...] in [0,1]; labels are integer [batch] per task. The result has x's shape
// and dtype and lies in the eps-ball around x and in [0,1].
//
// Example:
//
//	adv := attack.FGSM{Eps: 0.1}.Perturb(scope, attack.GrayBox(net), x, labels)
type FGSM struct {
	// Eps is the budget (and the step); zero is a valid budget and returns x.
	Eps float64
	// Norm is Linf (default) or L2.
	Norm Norm
	// Loss is CE (default) or DLR.
	Loss Loss
	// Direction combines the per-task gradients. Default Single(0).
	Direction Direction
	// Target, when set, makes the attack targeted (e.g. NextClass). Default untargeted.
	Target Target
}

func (a FGSM) engine() *engine {
	e := &engine{kind: "FGSM-" + a.Norm.String(), norm: a.Norm, eps: a.Eps, alpha: a.Eps, nSteps: 1, nRounds: 1,
		start: initZero, stepper: signStep{}, dir: orDir(a.Direction), loss: a.Loss, target: a.Target}
	if a.Norm == L2 {
		e.stepper = l2Step{}
	}
	e.check()
	return e
}

// Name describes the configuration.
func (a FGSM) Name() string { return a.engine().name() }

// Perturb builds the attack into the graph of x; see Attack.
func (a FGSM) Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	return perturb(a.engine(), s, v, x, labels)
}

func (a FGSM) program(Victim) program { return a.engine() }

func (a FGSM) directed(d Direction) Attack { a.Direction = d; return a }
