// Package reject implements the rejection module of 001 (Hyun & Park, IEEE
// Access 2024, §III-D, Eq. 8): a multi-task classifier with self-defined
// auxiliary tasks P_m refuses to answer when its heads contradict each
// other, i.e. when the main prediction, mapped through P_m, differs from the
// prediction of auxiliary head m:
//
//	R(x) = 1 (reject)  if P_m(f_0(x)) != f_m(x) for some m,  0 otherwise.
//
// The module here generalises Eq. 8 with a strictness parameter k
// (docs/algorithms.md §8): reject when at least k of the M auxiliary
// heads contradict the main head; k = 1 is the paper's rule. 001 notes that
// "as the number of auxiliary tasks increases, the criteria for rejection
// can be adjusted": k is that knob.
//
// The core is host-side and pure: it takes per-task predicted classes for a
// set of inputs (from any trained multi-head model; Predict computes them
// for an arch.Net) and the task.Set whose maps define the tasks, and returns
// per-input decisions and the Report of 001 §IV-E (rejection rates, accuracy
// on accepted inputs, Fig. 3/4).
package reject

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// Module is the rejection module for one task set.
type Module struct {
	// Tasks are the main task and the auxiliary maps P_m, in the order of the
	// prediction rows the methods take (row 0 main, row m auxiliary task m).
	Tasks task.Set
	// MinConflicts is k: an input is rejected when at least k auxiliary heads
	// contradict the main head. 0 means 1, the rule of 001 Eq. 8; it must
	// not exceed the number of auxiliary tasks.
	MinConflicts int
}

// New returns the module for tasks that rejects an input when at least
// minConflicts of its auxiliary heads contradict the main head (0 means 1,
// 001 Eq. 8). tasks must be valid and have at least one auxiliary task, and
// minConflicts must not exceed their number.
func New(tasks task.Set, minConflicts int) (Module, error) {
	if err := tasks.Validate(); err != nil {
		return Module{}, fmt.Errorf("reject: %w", err)
	}
	m := Module{Tasks: tasks, MinConflicts: minConflicts}
	if err := m.check(); err != nil {
		return Module{}, err
	}
	return m, nil
}

// threshold is k with the zero value resolved.
func (m Module) threshold() int {
	if m.MinConflicts == 0 {
		return 1
	}
	return m.MinConflicts
}

func (m Module) check() error {
	M := len(m.Tasks.Aux)
	if M == 0 {
		return fmt.Errorf("reject: task set %q has no auxiliary task: the rejection module compares the main head with auxiliary heads", m.Tasks.Main.Name)
	}
	if k := m.MinConflicts; k < 0 || k > M {
		return fmt.Errorf("reject: MinConflicts %d: want 0 (meaning 1) to %d, the number of auxiliary tasks", k, M)
	}
	K := len(m.Tasks.Main.ClassNames)
	for _, a := range m.Tasks.Aux {
		if len(a.Table) != K {
			return fmt.Errorf("reject: map %q has %d table entries for %d main classes: want one per main class", a.Name, len(a.Table), K)
		}
	}
	return nil
}

// checkPreds validates preds[t][i] against the task set and returns n.
func (m Module) checkPreds(preds [][]int32) (int, error) {
	if err := m.check(); err != nil {
		return 0, err
	}
	T := 1 + len(m.Tasks.Aux)
	if len(preds) != T {
		return 0, fmt.Errorf("reject: predictions for %d tasks, task set %v has %d: want one row per task, main first", len(preds), m.Tasks.Names(), T)
	}
	n := len(preds[0])
	names, sizes := m.Tasks.Names(), m.Tasks.Sizes()
	for t, row := range preds {
		if len(row) != n {
			return 0, fmt.Errorf("reject: task %q has %d predictions and task %q has %d: want one per input for every task", names[t], len(row), names[0], n)
		}
		for i, p := range row {
			if p < 0 || int(p) >= sizes[t] {
				return 0, fmt.Errorf("reject: task %q: prediction[%d] = %d: want a class in [0, %d)", names[t], i, p, sizes[t])
			}
		}
	}
	return n, nil
}

// Conflicts returns, for every input i, the number of auxiliary heads m
// with P_m(preds[0][i]) != preds[m][i]. preds[t][i] is task t's predicted
// class for input i (argmax of its logits), rows in task order.
func (m Module) Conflicts(preds [][]int32) ([]int, error) {
	n, err := m.checkPreds(preds)
	if err != nil {
		return nil, err
	}
	out := make([]int, n)
	for a, aux := range m.Tasks.Aux {
		for i, p := range preds[0] {
			if int32(aux.Table[p]) != preds[1+a][i] {
				out[i]++
			}
		}
	}
	return out, nil
}

// Decide returns R(x_i) for every input: true = reject, when at least
// MinConflicts auxiliary heads contradict the main head (001 Eq. 8 for
// MinConflicts 0 or 1). Layout as in Conflicts.
func (m Module) Decide(preds [][]int32) ([]bool, error) {
	c, err := m.Conflicts(preds)
	if err != nil {
		return nil, err
	}
	k := m.threshold()
	out := make([]bool, len(c))
	for i, v := range c {
		out[i] = v >= k
	}
	return out, nil
}

// Split is what the module does on one set of inputs (clean or adversarial):
// counts, and the rates 001 §IV-E and Fig. 3/4 report. A rate whose
// denominator is zero is NaN (null in JSON).
type Split struct {
	N               int `json:"n"`                // inputs
	Rejected        int `json:"rejected"`         // inputs with R(x) = 1
	Correct         int `json:"correct"`          // main prediction = label, rejection ignored
	AcceptedCorrect int `json:"accepted_correct"` // correct and accepted
	RejectedWrong   int `json:"rejected_wrong"`   // wrong and rejected

	// RejectionRate = Rejected / N (001 §IV-E: 0.44% clean, 4.40%
	// adversarial on average for its naturally trained models).
	RejectionRate float64 `json:"rejection_rate"`
	// Accuracy = Correct / N: main-task accuracy without the module (the
	// blue bars of 001 Fig. 3/4, the values of Table 2).
	Accuracy float64 `json:"accuracy"`
	// AcceptedAccuracy = AcceptedCorrect / (N - Rejected): main-task accuracy
	// on the inputs that pass the module (the red bars of 001 Fig. 3/4). NaN
	// when every input is rejected.
	AcceptedAccuracy float64 `json:"accepted_accuracy"`
	// RobustAccuracy = (AcceptedCorrect + Rejected) / N: accuracy with
	// rejection, a rejected input counted as defended. The figure of merit
	// on adversarial inputs; on clean inputs it counts false rejections as
	// successes, so read AcceptedAccuracy and CorrectRejectedRate there.
	RobustAccuracy float64 `json:"robust_accuracy"`
	// WrongRejectedRate = RejectedWrong / (N - Correct): the share of wrong
	// main predictions the module caught. NaN when none is wrong.
	WrongRejectedRate float64 `json:"wrong_rejected_rate"`
	// CorrectRejectedRate = (Rejected - RejectedWrong) / Correct: the share
	// of correct main predictions the module refused (false rejections). NaN
	// when none is correct.
	CorrectRejectedRate float64 `json:"correct_rejected_rate"`
	// AuxConflictRate[m-1] is the share of inputs on which auxiliary head m
	// contradicts the main head: which heads drive the rejections.
	AuxConflictRate []float64 `json:"aux_conflict_rate"`
	// TaskAccuracy[t] is task t's accuracy on all inputs, task order, main
	// first: the auxiliary entries are the cells of 001 Table 3, whose
	// level decides whether rejection helps (001 §IV-E).
	TaskAccuracy []float64 `json:"task_accuracy"`
}

// Score applies the module to one set of n inputs with main-task labels
// labels[i] and predictions preds[t][i] (layout as in Conflicts) and
// returns the counts and rates. n must be at least 1.
func (m Module) Score(labels []int32, preds [][]int32) (Split, error) {
	rejected, err := m.Decide(preds)
	if err != nil {
		return Split{}, err
	}
	n := len(rejected)
	if len(labels) != n {
		return Split{}, fmt.Errorf("reject: %d labels for %d predictions per task: want one label per input", len(labels), n)
	}
	if n == 0 {
		return Split{}, fmt.Errorf("reject: no inputs")
	}
	perTask, err := m.Tasks.Labels(labels)
	if err != nil {
		return Split{}, fmt.Errorf("reject: %w", err)
	}
	s := Split{N: n, AuxConflictRate: make([]float64, len(m.Tasks.Aux)), TaskAccuracy: make([]float64, len(preds))}
	for i := range n {
		correct := preds[0][i] == labels[i]
		switch {
		case correct && rejected[i]:
			s.Correct++
			s.Rejected++
		case correct:
			s.Correct++
			s.AcceptedCorrect++
		case rejected[i]:
			s.Rejected++
			s.RejectedWrong++
		}
	}
	for t, row := range preds {
		hits := 0
		for i, p := range row {
			if p == perTask[t][i] {
				hits++
			}
		}
		s.TaskAccuracy[t] = float64(hits) / float64(n)
	}
	for a, aux := range m.Tasks.Aux {
		c := 0
		for i, p := range preds[0] {
			if int32(aux.Table[p]) != preds[1+a][i] {
				c++
			}
		}
		s.AuxConflictRate[a] = float64(c) / float64(n)
	}
	s.RejectionRate = ratio(s.Rejected, n)
	s.Accuracy = ratio(s.Correct, n)
	s.AcceptedAccuracy = ratio(s.AcceptedCorrect, n-s.Rejected)
	s.RobustAccuracy = ratio(s.AcceptedCorrect+s.Rejected, n)
	s.WrongRejectedRate = ratio(s.RejectedWrong, n-s.Correct)
	s.CorrectRejectedRate = ratio(s.Rejected-s.RejectedWrong, s.Correct)
	return s, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Report is the module's effect on clean inputs and on their adversarial
// counterparts: the quantities of 001 §IV-E and Fig. 3/4.
type Report struct {
	MinConflicts int      `json:"min_conflicts"` // k as applied (0 resolved to 1)
	Tasks        []string `json:"tasks"`         // task order of the rates
	Clean        Split    `json:"clean"`
	Adversarial  Split    `json:"adversarial"`
}

// Evaluate scores the module on clean inputs and on adversarial inputs
// made from the same examples (so one label slice serves both): clean[t][i]
// and adversarial[t][i] are task t's predictions for example i and its
// adversarial version. For adversarial inputs of a different set, call
// Score twice and fill a Report.
func (m Module) Evaluate(labels []int32, clean, adversarial [][]int32) (Report, error) {
	c, err := m.Score(labels, clean)
	if err != nil {
		return Report{}, fmt.Errorf("%w (clean inputs)", err)
	}
	a, err := m.Score(labels, adversarial)
	if err != nil {
		return Report{}, fmt.Errorf("%w (adversarial inputs)", err)
	}
	return Report{MinConflicts: m.threshold(), Tasks: m.Tasks.Names(), Clean: c, Adversarial: a}, nil
}

// splitJSON overrides the rates that can be NaN with nullable fields:
// encoding/json rejects NaN.
type splitJSON struct {
	plainSplit
	AcceptedAccuracy    *float64 `json:"accepted_accuracy"`
	WrongRejectedRate   *float64 `json:"wrong_rejected_rate"`
	CorrectRejectedRate *float64 `json:"correct_rejected_rate"`
}

type plainSplit Split

// MarshalJSON encodes an undefined (NaN) rate as null.
func (s Split) MarshalJSON() ([]byte, error) {
	return json.Marshal(splitJSON{
		plainSplit:          plainSplit(s),
		AcceptedAccuracy:    nullable(s.AcceptedAccuracy),
		WrongRejectedRate:   nullable(s.WrongRejectedRate),
		CorrectRejectedRate: nullable(s.CorrectRejectedRate),
	})
}

// UnmarshalJSON decodes what MarshalJSON writes (null becomes NaN).
func (s *Split) UnmarshalJSON(data []byte) error {
	var j splitJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*s = Split(j.plainSplit)
	s.AcceptedAccuracy = fromNullable(j.AcceptedAccuracy)
	s.WrongRejectedRate = fromNullable(j.WrongRejectedRate)
	s.CorrectRejectedRate = fromNullable(j.CorrectRejectedRate)
	return nil
}

func nullable(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func fromNullable(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}
