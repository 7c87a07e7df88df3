package experiment

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/attack"
)

// Budget is a compute preset: how much data, how many steps and how strong the attacks of every
// experiment are. quick is what CI runs (minutes on 2 cores); standard is what the committed
// figures come from; paper approaches the papers' settings and needs a GPU or days of CPU.
type Budget struct {
	Name string `json:"name"`
	// TrainExamples and TestExamples are class-balanced subsets of the dataset (0 = all of it).
	TrainExamples int `json:"train_examples"`
	TestExamples  int `json:"test_examples"`
	// Steps and BatchSize of natural training; EvalEvery steps between two learning-curve points,
	// measured on EvalExamples training and test examples.
	Steps        int `json:"steps"`
	BatchSize    int `json:"batch_size"`
	EvalEvery    int `json:"eval_every"`
	EvalExamples int `json:"eval_examples"`
	// Adversarial training: AdvSteps optimizer steps with a PGD-TrainPGDSteps attack, curve points (and
	// checkpoint selection by PGD accuracy on SelectExamples test examples) every AdvEvalEvery steps.
	AdvSteps       int `json:"adv_steps"`
	AdvEvalEvery   int `json:"adv_eval_every"`
	TrainPGDSteps  int `json:"train_pgd_steps"`
	SelectExamples int `json:"select_examples"`
	// Evaluation: the first AttackExamples examples of the test subset (0 = all of it), PGD-EvalPGDSteps,
	// CW-L2 with CWSearchSteps binary-search steps of CWIterations Adam iterations. A step count is a cap
	// on the dataset's threat model's own (attack.ThreatFor: 001's PGD-40 for MNIST, PGD-7 for the 32x32
	// sets, PGD-20 for Fashion-MNIST; CW's 5 search steps of 10000 iterations), and zero means no cap:
	// the threat model's count (see Threat).
	AttackExamples int `json:"attack_examples"`
	EvalPGDSteps   int `json:"eval_pgd_steps"`
	CWSearchSteps  int `json:"cw_search_steps"`
	CWIterations   int `json:"cw_iterations"`
	// The worst-case condition of robustness records (in the spirit of AutoAttack): the evaluation PGD
	// with EvalRestarts random restarts (0 = 1), APGD-CE and targeted APGD-DLR with APGDSteps steps each
	// (0 = the evaluation PGD's step count).
	EvalRestarts int `json:"eval_restarts,omitempty"`
	APGDSteps    int `json:"apgd_steps,omitempty"`
	// DirectionSteps is the number of I-FGSM steps of the attack-direction comparison (004).
	DirectionSteps int `json:"direction_steps"`
}

// Budgets are the presets by name.
var Budgets = map[string]Budget{
	"quick": {Name: "quick", TrainExamples: 10000, TestExamples: 2000, Steps: 200, BatchSize: 64, EvalEvery: 50, EvalExamples: 500,
		AdvSteps: 60, AdvEvalEvery: 30, TrainPGDSteps: 3, SelectExamples: 100,
		AttackExamples: 200, EvalPGDSteps: 10, CWSearchSteps: 2, CWIterations: 20, DirectionSteps: 5,
		EvalRestarts: 2, APGDSteps: 10},
	"standard": {Name: "standard", TrainExamples: 0, TestExamples: 0, Steps: 1200, BatchSize: 64, EvalEvery: 150, EvalExamples: 1000,
		AdvSteps: 500, AdvEvalEvery: 100, TrainPGDSteps: 7, SelectExamples: 300,
		AttackExamples: 0, EvalPGDSteps: 0, CWSearchSteps: 0, CWIterations: 50, DirectionSteps: 10,
		EvalRestarts: 3, APGDSteps: 100},
	"paper": {Name: "paper", TrainExamples: 0, TestExamples: 0, Steps: 60000, BatchSize: 50, EvalEvery: 2000, EvalExamples: 2000,
		AdvSteps: 60000, AdvEvalEvery: 2000, TrainPGDSteps: 40, SelectExamples: 1000,
		AttackExamples: 0, EvalPGDSteps: 0, CWSearchSteps: 0, CWIterations: 1000, DirectionSteps: 10,
		EvalRestarts: 5, APGDSteps: 100},
}

// Threat returns the dataset's threat model (attack.ThreatFor) as the budget evaluates it: the
// budget's EvalPGDSteps, CWSearchSteps and CWIterations cap the threat model's step counts, and a
// zero one leaves it as it is. So standard and paper run 001's PGD (MNIST PGD-40, the 32x32 sets
// PGD-7; Fashion-MNIST PGD-20); quick runs PGD-10 on MNIST and Fashion-MNIST and 001's PGD-7 on the
// 32x32 sets; standard caps CW at 50 iterations per search step, paper at 1000, quick at 2 search
// steps of 20. Eps and the step size are never changed.
func (b Budget) Threat(dataset string) (attack.ThreatModel, error) {
	th, err := attack.ThreatFor(dataset)
	if err != nil {
		return th, err
	}
	limit := func(v *int, budget int) {
		if budget > 0 {
			*v = min(*v, budget)
		}
	}
	limit(&th.Steps, b.EvalPGDSteps)
	limit(&th.CWSearchSteps, b.CWSearchSteps)
	limit(&th.CWIterations, b.CWIterations)
	return th, nil
}

// attackExamples is the number of test examples the attacks of a record run on, out of a test
// subset of n: AttackExamples, or all n when it is 0 (or larger than n).
func (b Budget) attackExamples(n int) int {
	if b.AttackExamples <= 0 {
		return n
	}
	return min(b.AttackExamples, n)
}

// BudgetEnv is the environment variable that names the budget when none is given.
const BudgetEnv = "MTLROB_BUDGET"

// BudgetByName returns the named preset; an empty name means $MTLROB_BUDGET, else "standard".
func BudgetByName(name string) (Budget, error) {
	if name == "" {
		name = os.Getenv(BudgetEnv)
	}
	if name == "" {
		name = "standard"
	}
	b, ok := Budgets[name]
	if !ok {
		names := make([]string, 0, len(Budgets))
		for n := range Budgets {
			names = append(names, n)
		}
		sort.Strings(names)
		return Budget{}, fmt.Errorf("experiment: unknown budget %q: want one of %s", name, strings.Join(names, ", "))
	}
	return b, nil
}
