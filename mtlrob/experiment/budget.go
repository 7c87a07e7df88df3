package experiment

import (
	"fmt"
	"os"
	"sort"
	"strings"
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
	// Evaluation: AttackExamples test examples, PGD-EvalPGDSteps, CW-L2 with CWSearchSteps binary-search
	// steps of CWIterations Adam iterations.
	AttackExamples int `json:"attack_examples"`
	EvalPGDSteps   int `json:"eval_pgd_steps"`
	CWSearchSteps  int `json:"cw_search_steps"`
	CWIterations   int `json:"cw_iterations"`
	// DirectionSteps is the number of I-FGSM steps of the attack-direction comparison (004).
	DirectionSteps int `json:"direction_steps"`
}

// Budgets are the presets by name.
var Budgets = map[string]Budget{
	"quick": {Name: "quick", TrainExamples: 10000, TestExamples: 2000, Steps: 200, BatchSize: 64, EvalEvery: 50, EvalExamples: 500,
		AdvSteps: 60, AdvEvalEvery: 30, TrainPGDSteps: 3, SelectExamples: 100,
		AttackExamples: 200, EvalPGDSteps: 10, CWSearchSteps: 2, CWIterations: 20, DirectionSteps: 5},
	"standard": {Name: "standard", TrainExamples: 0, TestExamples: 0, Steps: 1200, BatchSize: 64, EvalEvery: 150, EvalExamples: 1000,
		AdvSteps: 500, AdvEvalEvery: 100, TrainPGDSteps: 7, SelectExamples: 300,
		AttackExamples: 500, EvalPGDSteps: 20, CWSearchSteps: 5, CWIterations: 50, DirectionSteps: 10},
	"paper": {Name: "paper", TrainExamples: 0, TestExamples: 0, Steps: 60000, BatchSize: 50, EvalEvery: 2000, EvalExamples: 2000,
		AdvSteps: 60000, AdvEvalEvery: 2000, TrainPGDSteps: 40, SelectExamples: 1000,
		AttackExamples: 10000, EvalPGDSteps: 20, CWSearchSteps: 5, CWIterations: 1000, DirectionSteps: 10},
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
