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
}

// Budgets are the presets by name.
var Budgets = map[string]Budget{
	"quick":    {Name: "quick", TrainExamples: 10000, TestExamples: 2000, Steps: 200, BatchSize: 64, EvalEvery: 50, EvalExamples: 500},
	"standard": {Name: "standard", TrainExamples: 0, TestExamples: 0, Steps: 3000, BatchSize: 64, EvalEvery: 300, EvalExamples: 1000},
	"paper":    {Name: "paper", TrainExamples: 0, TestExamples: 0, Steps: 60000, BatchSize: 50, EvalEvery: 2000, EvalExamples: 2000},
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
