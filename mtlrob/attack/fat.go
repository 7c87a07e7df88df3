package attack

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// FAT is the early-stopped PGD of friendly adversarial training (Zhang et al., ICML 2020, "Attacks
// which do not kill training make adversarial learning stronger", Alg. 1 and earlystop.py of their
// released code), L∞ and untargeted, with any multi-task Direction: 004 (§4.3, App. E.4) trains
// "FAT Single", "FAT Total" and "FAT DGBA" on FAT{Direction: Single(i)}, Total{} and DGBA{}.
//
// Per sample a counter starts at Tau. At each of the Steps iterations t = 0..Steps-1, at the current
// iterate x_t:
//
//	misclassified, counter = 0:  the sample stops; x_t is its result (frozen from then on)
//	misclassified, counter > 0:  counter -= 1;  x_{t+1} = Proj(x_t + alpha * sign(g_t))
//	correctly classified:        x_{t+1} = Proj(x_t + alpha * sign(g_t))  (counter unchanged)
//
// and a sample that never stops returns x_Steps, which is not checked (as in earlystop.py). x_0 is
// checked: with Tau = 0 a sample misclassified at its start is returned at its start. g_t is the
// Direction's combination of the per-task gradients at x_t and Proj the projection onto the L∞
// eps-ball around x, then onto [0,1]: the steps are PGD's (the same engine; FAT with Tau >= Steps
// is PGD with LastIterate). The result is the frozen or last iterate, never a strongest-iterate
// choice.
//
// Multi-task "misclassified": the sample is misclassified on every task the Direction attacks
// (Direction.Tasks, the tasks the engine counts as fooled): Single(i) stops on head i alone, which
// is Zhang et al.'s rule for a single-task network; Total and DGBA stop once all attacked heads are
// wrong. 004 attacks dense tasks (segmentation, depth, normals) with no misclassification to read,
// so this is the workbench's choice: the examples are the least adversarial ones that reach the
// direction's goal of fooling all the tasks it attacks; stopping at the first wrong head would make
// FAT DGBA's examples attack mostly the weakest head.
//
// Random start: uniform in the eps-ball, clipped to [0,1] (PGD's start; FAT.py's
// "uniform_randominit"); NoRandomStart starts from x, which makes a sample's result independent of
// its batch. Not implemented: FAT.py's per-step Gaussian noise omega * randn (its default omega is
// 0.001) and FAT-for-TRADES' 0.001 * randn start with a KL loss; the loss is CE.
//
// Cost: frozen samples are still computed (the batch keeps its shape). The check builds the same
// forward pass as the step's gradient: XLA merges the two (on the multi-head LeNet at batch 64, XLA
// CPU, FAT-5 took 0.30 s and PGD-5 0.33 s), the pure-Go backend does not (2.0 s vs 1.4 s).
//
// Zhang et al.'s schedule raises tau during training (FAT.py: 0, then 1 after epoch 50, 2 after 90;
// FAT for TRADES up to 3); Tau is a plain field: pass the value of the current phase.
//
// Shapes: x is [batch, ...] in [0,1]; labels are integer [batch] per task. The result has x's shape
// and dtype and satisfies ||x' - x||_inf <= eps and x' in [0,1].
//
// Example (FAT DGBA against every head, FAT.py's CIFAR-10 settings and final tau):
//
//	fat := attack.FAT{Eps: 8.0 / 255, Alpha: 2.0 / 255, Steps: 10, Tau: 2, Direction: attack.DGBA{}}
//	step := training.AdversarialStep("fat-dgba", net, fat, attack.WhiteBox(net), nil)
type FAT struct {
	// Eps is the L∞ budget; zero is a valid budget and returns x.
	Eps float64
	// Alpha is the step size. Default 2.5 * Eps / Steps (as PGD; FAT.py uses 0.007 for eps 0.031 and
	// 10 steps).
	Alpha float64
	// Steps is the maximum number of iterations K. Default 10 (FAT.py).
	Steps int
	// Tau is the number of extra steps a sample takes while misclassified before it stops. Default 0
	// (FAT.py's first phase); it must be >= 0.
	Tau int
	// NoRandomStart starts from x instead of a uniform point of the ball.
	NoRandomStart bool
	// Direction combines the per-task gradients and names the tasks of the stopping rule. Default
	// Single(0).
	Direction Direction
}

func (a FAT) engine() *engine {
	if a.Tau < 0 {
		panic(fmt.Sprintf("attack: FAT: tau %d, want >= 0", a.Tau))
	}
	steps := orInt(a.Steps, 10)
	e := &engine{kind: "FAT-Linf", norm: Linf, eps: a.Eps, alpha: orFloat(a.Alpha, 2.5*a.Eps/float64(steps)),
		nSteps: steps, nRounds: 1, start: initUniform, stepper: earlyStop{tau: a.Tau, inner: signStep{}},
		dir: orDir(a.Direction), lastIterate: true}
	if a.NoRandomStart {
		e.start = initZero
	}
	e.check()
	return e
}

// Name describes the configuration.
func (a FAT) Name() string { return a.engine().name() }

// Perturb builds the attack into the graph of x; see Attack.
func (a FAT) Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	return perturb(a.engine(), s, v, x, labels)
}

func (a FAT) program(Victim) program { return a.engine() }

func (a FAT) directed(d Direction) Attack { a.Direction = d; return a }

// earlyStop is the Step part of FAT: Zhang et al.'s per-sample stopping rule around an inner step.
// Its state is the per-sample counter and stopped flag (x's dtype, [batch]), then the inner
// stepper's state. Stopping is absorbing: a stopped sample's iterate never changes again.
type earlyStop struct {
	tau   int
	inner stepper
}

func (s earlyStop) name() string { return fmt.Sprintf("early-stop(tau=%d)+%s", s.tau, s.inner.name()) }

func (s earlyStop) state(e *engine, c *ctx, x0 *Node) []*Node {
	g, dt := x0.Graph(), x0.DType()
	batch := x0.Shape().Dimensions[0]
	counter := BroadcastToDims(Scalar(g, dt, float64(s.tau)), batch)
	stopped := BroadcastToDims(ScalarZero(g, dt), batch)
	return append([]*Node{counter, stopped}, s.inner.state(e, c, x0)...)
}

func (s earlyStop) info(t, steps int) (float64, float64) { return s.inner.info(t, steps) }

func (s earlyStop) move(e *engine, c *ctx, m move) (*Node, []*Node) {
	counter, stopped := m.state[0], m.state[1]
	g, dt := m.x.Graph(), m.x.DType()
	zero := ScalarZero(g, dt)
	mis := fooledOnAll(c, m.x, e.dirTasks(c))
	stop := Or(GreaterThan(stopped, zero), And(mis, LessOrEqual(counter, zero)))
	counter = Where(And(mis, Not(stop)), AddScalar(counter, -1), counter)
	inner := m
	inner.state = m.state[2:]
	next, innerState := s.inner.move(e, c, inner)
	next = Where(stop, m.x, next)
	return next, append([]*Node{counter, ConvertDType(stop, dt)}, innerState...)
}

// fooledOnAll reports per sample (Bool [batch]) whether the victim at x is fooled on every one of
// tasks. It builds the forward pass exactly as ctx.evaluate does (Identity of x, then the visible
// heads), so that in a step's graph it is the same computation as the gradient's forward pass.
func fooledOnAll(c *ctx, x *Node, tasks []int) *Node {
	logits := c.v.Logits(c.s, Identity(x))
	var all *Node
	for _, t := range tasks {
		f := fooled(logits[t], c.labels[t], c.targets[t])
		if all == nil {
			all = f
		} else {
			all = And(all, f)
		}
	}
	return all
}
