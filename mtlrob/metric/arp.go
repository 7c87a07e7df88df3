package metric

import (
	"fmt"
	"math"
)

// Measurement is one metric of one task before and after an attack, the unit
// of ARP (004 Eq. 10): M_{i,j,b} and M_{i,j,a} with l_j = 1 when the metric
// is higher-the-better (accuracy, mIoU) and 0 when lower-the-better (loss,
// error, distance).
type Measurement struct {
	Name           string  `json:"name,omitempty"` // e.g. "accuracy"
	Before         float64 `json:"before"`
	After          float64 `json:"after"`
	HigherIsBetter bool    `json:"higher_is_better"`
}

// RelativeDrop returns the sign-adjusted relative change of one metric in
// percent, the summand of 004 Eq. 10: (Before - After)/Before x 100 for a
// higher-the-better metric (accuracy 0.8 -> 0.2 gives 75), (After -
// Before)/Before x 100 for a lower-the-better one (loss 0.5 -> 2 gives 300).
// Positive means the attack degraded the metric. Before = 0 (or a non-finite
// value) is an error.
func RelativeDrop(m Measurement) (float64, error) {
	if math.IsNaN(m.Before) || math.IsInf(m.Before, 0) || math.IsNaN(m.After) || math.IsInf(m.After, 0) {
		return math.NaN(), fmt.Errorf("metric: %s: before %g, after %g: want finite values", m.label(), m.Before, m.After)
	}
	if m.Before == 0 {
		return math.NaN(), fmt.Errorf("metric: %s: value 0 before the attack: the relative change is undefined", m.label())
	}
	d := (m.After - m.Before) / m.Before * 100
	if m.HigherIsBetter {
		d = -d
	}
	return d, nil
}

func (m Measurement) label() string {
	if m.Name == "" {
		return "measurement"
	}
	return "measurement " + m.Name
}

// TaskARP returns the ARP of one task (004 §5's "ARP-x"): the mean
// RelativeDrop over the task's metrics, in percent.
func TaskARP(metrics []Measurement) (float64, error) {
	if len(metrics) == 0 {
		return math.NaN(), fmt.Errorf("metric: TaskARP: no metrics: want at least one per task")
	}
	var s float64
	for _, m := range metrics {
		d, err := RelativeDrop(m)
		if err != nil {
			return math.NaN(), err
		}
		s += d
	}
	return s / float64(len(metrics)), nil
}

// ARP returns the average relative performance drop of 004 Eq. 10 (restated
// in docs/algorithms.md §10.4, the extraction lost the equation):
//
//	ARP = 1/T sum_i 1/N_i sum_j s_j (M_{i,j,b} - M_{i,j,a}) / M_{i,j,b} x 100
//
// with s_j = +1 for a higher-the-better metric and -1 for a lower-the-better
// one: tasks[i] holds task i's N_i metrics, and ARP is the mean of the
// TaskARP values. Higher means a stronger attack (a larger drop).
func ARP(tasks [][]Measurement) (float64, error) {
	per, err := TaskARPs(tasks)
	if err != nil {
		return math.NaN(), err
	}
	return mean(per), nil
}

// TaskARPs returns TaskARP of every task, in order.
func TaskARPs(tasks [][]Measurement) ([]float64, error) {
	if len(tasks) == 0 {
		return nil, fmt.Errorf("metric: ARP: no tasks")
	}
	out := make([]float64, len(tasks))
	for i, ms := range tasks {
		v, err := TaskARP(ms)
		if err != nil {
			return nil, fmt.Errorf("metric: task %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

// AccuracyMeasurements turns per-task accuracies before and after an attack
// (task order) into ARP input with one higher-the-better "accuracy" metric
// per task, the usual case for the workbench's classification tasks.
func AccuracyMeasurements(before, after []float64) ([][]Measurement, error) {
	if len(before) != len(after) {
		return nil, fmt.Errorf("metric: AccuracyMeasurements: %d accuracies before and %d after the attack: want one per task each", len(before), len(after))
	}
	out := make([][]Measurement, len(before))
	for i := range before {
		out[i] = []Measurement{{Name: "accuracy", Before: before[i], After: after[i], HigherIsBetter: true}}
	}
	return out, nil
}

// Transferability returns the attack transferability of Single-x (004 §5):
// the mean ARP of the T-1 tasks the attack did not target divided by the ARP
// of the targeted task,
//
//	(1/(T-1)) sum_{y != x} ARP-y / ARP-x
//
// taskARP[i] is task i's ARP under the Single-x attack (TaskARPs) and target
// is x's index. Near 0: attacking x barely affects the other tasks; near 1:
// the perturbation transfers fully. At least two tasks are needed, and the
// targeted task's ARP must be non-zero.
func Transferability(taskARP []float64, target int) (float64, error) {
	if len(taskARP) < 2 {
		return math.NaN(), fmt.Errorf("metric: Transferability: %d tasks: want at least 2 (a target and another task)", len(taskARP))
	}
	if target < 0 || target >= len(taskARP) {
		return math.NaN(), fmt.Errorf("metric: Transferability: target %d: want a task index in [0, %d)", target, len(taskARP))
	}
	if err := checkFinite("taskARP", taskARP); err != nil {
		return math.NaN(), fmt.Errorf("metric: Transferability: %w", err)
	}
	if taskARP[target] == 0 {
		return math.NaN(), fmt.Errorf("metric: Transferability: the targeted task %d has ARP 0: the ratio is undefined", target)
	}
	var s float64
	for i, v := range taskARP {
		if i != target {
			s += v
		}
	}
	return s / float64(len(taskARP)-1) / taskARP[target], nil
}
