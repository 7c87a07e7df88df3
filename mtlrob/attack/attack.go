package attack

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Attack is an adversarial attack on a multi-task network. Every attack of the package is a value
// type with exported configuration fields whose zero values mean the documented defaults, and two
// entry points:
//
//   - Perturb builds the attack into a graph (e.g. inside an adversarial-training step): it returns
//     the adversarial batch with its gradient stopped, and draws its random start from the store's
//     random number generator.
//   - NewRunner compiles it once for a (store, victim) pair and runs it host-side on batches, with
//     a seeded random start.
type Attack interface {
	// Name describes the attack and its configuration, for records.
	Name() string
	// Perturb builds the attack on the victim into the graph of x ([batch, ...], values in [0,1]).
	// labels are integer [batch] nodes indexed by task (those of hidden heads are not read). It
	// panics on an invalid configuration, as graph-building functions do.
	Perturb(s *model.Scope, v Victim, x *Node, labels []*Node) *Node
	// program returns the attack as a state machine for the runner.
	program(v Victim) program
}

// Compile-time checks.
var (
	_ Attack = FGSM{}
	_ Attack = PGD{}
	_ Attack = PGDL2{}
	_ Attack = MIM{}
	_ Attack = FAT{}
	_ Attack = APGD{}
	_ Attack = CW{}
	_ Attack = MP{}
)

// perturb is the graph builder shared by the attacks written as programs.
func perturb(p program, s *model.Scope, v Victim, x *Node, labels []*Node) *Node {
	c := newCtx(s, v, x, labels, p.targetRule())
	adv, _, _ := unrolled(c, p, storeRandom(s, x.Graph()))
	return StopGradient(adv)
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func orDir(d Direction) Direction {
	if d == nil {
		return Single(0)
	}
	return d
}
