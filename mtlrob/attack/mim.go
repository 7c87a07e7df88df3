package attack

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// MIM is the Momentum Iterative Method (Dong et al., CVPR 2018), L∞: momentum on the
// L1-normalised direction,
//
//	m_{t+1} = Decay * m_t + g_t / ||g_t||_1,   x_{t+1} = Proj(x_t + alpha * sign(m_{t+1}))
//
// with g_t the Direction's combination of the per-task gradients, from x_0 = x. Like PGD it
// returns the per-sample strongest iterate unless LastIterate is set.
//
// Shapes: as PGD; the result satisfies ||x' - x||_inf <= eps and x' in [0,1].
//
// Example:
//
//	xAdv := attack.MIM{Eps: 0.3, Steps: 10}.Perturb(scope, attack.GrayBox(net), x, labels)
type MIM struct {
	// Eps is the L∞ budget; zero is a valid budget and returns x.
	Eps float64
	// Alpha is the step size. Default Eps / Steps (Dong et al.).
	Alpha float64
	// Steps is the number of iterations. Default 10 (Dong et al., torchattacks).
	Steps int
	// Decay is the momentum factor mu. Default 1.0.
	Decay float64
	// Loss is CE (default) or DLR.
	Loss Loss
	// Direction combines the per-task gradients. Default Single(0).
	Direction Direction
	// Target, when set, makes the attack targeted. Default untargeted.
	Target Target
	// LastIterate returns the last iterate instead of the per-sample strongest one.
	LastIterate bool
}

func (a MIM) engine() *engine {
	steps := orInt(a.Steps, 10)
	e := &engine{kind: "MIM", norm: Linf, eps: a.Eps, alpha: orFloat(a.Alpha, a.Eps/float64(steps)), nSteps: steps,
		nRounds: 1, start: initZero, stepper: momentumStep{decay: orFloat(a.Decay, 1)}, dir: orDir(a.Direction),
		loss: a.Loss, target: a.Target, lastIterate: a.LastIterate}
	e.check()
	return e
}

// Name describes the configuration.
func (a MIM) Name() string { return a.engine().name() }

// Perturb builds the attack into the graph of x; see Attack.
func (a MIM) Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	return perturb(a.engine(), s, v, x, labels)
}

func (a MIM) program(Victim) program { return a.engine() }

func (a MIM) directed(d Direction) Attack { a.Direction = d; return a }
