package experiment

import (
	"fmt"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// AuxCombinations returns the task combinations of 001 Table 2 for a set with auxiliary tasks
// a_1..a_M, as lists of auxiliary task names: the main task alone (an empty list), the main task
// with each auxiliary task on its own, and, when M >= 2, the main task with all of them.
// For Fashion-MNIST: [], [category], [region], [category region].
func AuxCombinations(set task.Set) [][]string {
	combos := [][]string{{}}
	for _, m := range set.Aux {
		combos = append(combos, []string{m.Name})
	}
	if len(set.Aux) >= 2 {
		all := make([]string, len(set.Aux))
		for i, m := range set.Aux {
			all[i] = m.Name
		}
		combos = append(combos, all)
	}
	return combos
}

// ComboLabel names a task combination as 001 Table 2 does, from its task list:
// "main only", "main+category", "main+category+region".
func ComboLabel(tasks []string) string {
	if len(tasks) <= 1 {
		return "main only"
	}
	return strings.Join(tasks, "+")
}

// CompareSpecs returns one natural-training spec per task combination of AuxCombinations on the
// built-in tasks of dataset, all with the same architecture (lenet), budget and seed, so that the
// runs differ only in the auxiliary heads trained beside the main one (the comparison of 001
// Table 2, natural training).
func CompareSpecs(dataset string, b Budget, seed int64) ([]NaturalSpec, error) {
	set, err := task.ForDataset(dataset)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	var specs []NaturalSpec
	for _, aux := range AuxCombinations(set) {
		specs = append(specs, NaturalSpec{Dataset: dataset, Aux: aux, Budget: b, Seed: seed})
	}
	return specs, nil
}
