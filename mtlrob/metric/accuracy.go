package metric

import (
	"fmt"
	"math"
	"slices"
)

// Accuracy returns the fraction of i with pred[i] == labels[i]. The slices
// must have the same, non-zero length.
func Accuracy(pred, labels []int32) (float64, error) {
	if len(pred) != len(labels) {
		return math.NaN(), fmt.Errorf("metric: Accuracy: %d predictions and %d labels: want one prediction per label", len(pred), len(labels))
	}
	if len(pred) == 0 {
		return math.NaN(), fmt.Errorf("metric: Accuracy: no examples")
	}
	correct := 0
	for i := range pred {
		if pred[i] == labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(pred)), nil
}

// TaskAccuracies returns the accuracy of every task: preds[t] and labels[t]
// are task t's predictions and labels (task order, main task first, as
// task.Set.Labels returns them).
func TaskAccuracies(preds, labels [][]int32) ([]float64, error) {
	if len(preds) != len(labels) {
		return nil, fmt.Errorf("metric: TaskAccuracies: predictions for %d tasks and labels for %d: want the same tasks", len(preds), len(labels))
	}
	out := make([]float64, len(preds))
	for t := range preds {
		a, err := Accuracy(preds[t], labels[t])
		if err != nil {
			return nil, fmt.Errorf("metric: task %d: %w", t, err)
		}
		out[t] = a
	}
	return out, nil
}

// Evaluation is one model's per-task accuracies (fractions in [0, 1], task
// order, main task first) under one evaluation condition: "clean" or an
// attack such as "PGD targeted". It is the unit from which 001 Tables 2 and
// 3 are assembled.
type Evaluation struct {
	Model        string    `json:"model"`     // a row, e.g. "Main+Aux1"
	Condition    string    `json:"condition"` // a column, e.g. "clean", "PGD untargeted"
	TaskAccuracy []float64 `json:"task_accuracy"`
}

// MainAccuracyTable assembles 001 Table 2: one row per model, one column per
// condition (both in order of first appearance in evals), cell = 100 x the
// main-task accuracy (percent, as the paper prints it). Missing
// combinations stay missing; a repeated (model, condition) pair or an
// evaluation without tasks is an error.
func MainAccuracyTable(title string, evals []Evaluation) (*Table, error) {
	return accuracyTable(title, evals, false)
}

// AuxAccuracyTable assembles 001 Table 3: rows, columns and checks as in
// MainAccuracyTable, cell = 100 x the mean accuracy of the auxiliary tasks
// (001: "the values located in the third row represent the average accuracy
// for the two auxiliary tasks"). Models without an auxiliary task (single
// task) have no row.
func AuxAccuracyTable(title string, evals []Evaluation) (*Table, error) {
	return accuracyTable(title, evals, true)
}

func accuracyTable(title string, evals []Evaluation, aux bool) (*Table, error) {
	var rows, cols []string
	for _, e := range evals {
		if len(e.TaskAccuracy) == 0 {
			return nil, fmt.Errorf("metric: %s/%s: no task accuracies: want the main task first", e.Model, e.Condition)
		}
		if aux && len(e.TaskAccuracy) < 2 {
			continue
		}
		if !slices.Contains(rows, e.Model) {
			rows = append(rows, e.Model)
		}
		if !slices.Contains(cols, e.Condition) {
			cols = append(cols, e.Condition)
		}
	}
	t, err := NewTable(title, rows, cols)
	if err != nil {
		return nil, err
	}
	t.Corner = "Model"
	seen := make(map[[2]string]bool)
	for _, e := range evals {
		if aux && len(e.TaskAccuracy) < 2 {
			continue
		}
		key := [2]string{e.Model, e.Condition}
		if seen[key] {
			return nil, fmt.Errorf("metric: table %q: model %q under %q appears twice", title, e.Model, e.Condition)
		}
		seen[key] = true
		v := e.TaskAccuracy[0]
		if aux {
			v = mean(e.TaskAccuracy[1:])
		}
		if err := t.Set(e.Model, e.Condition, 100*v); err != nil {
			return nil, err
		}
	}
	return t, nil
}
