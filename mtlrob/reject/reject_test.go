package reject

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// mnist: main digits, aux1 parity (digit % 2), aux2 prime ({2,3,5,7} -> 1).
func mnist(t testing.TB) task.Set {
	t.Helper()
	s, err := task.ForDataset("mnist")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Names(), []string{"main", "parity", "prime"}) {
		t.Fatalf("mnist tasks %v: the hand-computed cases assume [main parity prime]", s.Names())
	}
	return s
}

func module(t testing.TB, k int) Module {
	t.Helper()
	m, err := New(mnist(t), k)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConflictsAndDecide(t *testing.T) {
	// Main prediction -> (parity, prime) it implies; the aux heads say otherwise on 0, 1 or 2 counts.
	preds := [][]int32{
		{2, 1, 7, 4, 0},
		{0, 0, 0, 0, 0}, // parity head
		{1, 0, 0, 1, 0}, // prime head
	}
	// 2 -> (0,1): agrees. 1 -> (1,0): parity says even, 001 Fig. 1's "1 cannot be even".
	// 7 -> (1,1): both disagree. 4 -> (0,0): prime disagrees. 0 -> (0,0): agrees.
	wantConflicts := []int{0, 1, 2, 1, 0}
	m := module(t, 1)
	got, err := m.Conflicts(preds)
	if err != nil || !slices.Equal(got, wantConflicts) {
		t.Fatalf("Conflicts = %v, %v; want %v", got, err, wantConflicts)
	}
	for _, c := range []struct {
		k    int
		want []bool
	}{
		{0, []bool{false, true, true, true, false}}, // 0 means 1: 001 Eq. 8
		{1, []bool{false, true, true, true, false}},
		{2, []bool{false, false, true, false, false}},
	} {
		got, err := module(t, c.k).Decide(preds)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("k=%d: Decide = %v, %v; want %v", c.k, got, err, c.want)
		}
	}
}

// handLabels/handPreds: six MNIST inputs worked through by hand (k = 1):
//
//	i  label main  parity prime  implied  conflicts  outcome
//	0  1     1     1      0      (1,0)    0          correct, accepted
//	1  2     2     0      0      (0,1)    prime      correct, rejected (false rejection)
//	2  3     5     1      1      (1,1)    0          wrong, accepted (missed)
//	3  4     9     0      0      (1,0)    parity     wrong, rejected (caught)
//	4  7     7     1      1      (1,1)    0          correct, accepted
//	5  8     8     1      0      (0,0)    parity     correct, rejected (false rejection)
var (
	handLabels = []int32{1, 2, 3, 4, 7, 8}
	handPreds  = [][]int32{
		{1, 2, 5, 9, 7, 8},
		{1, 0, 1, 0, 1, 1},
		{0, 0, 1, 0, 1, 0},
	}
)

func TestScoreByHand(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		k    int
		want Split
	}{
		{1, Split{
			N: 6, Rejected: 3, Correct: 4, AcceptedCorrect: 2, RejectedWrong: 1,
			RejectionRate: 3.0 / 6, Accuracy: 4.0 / 6, AcceptedAccuracy: 2.0 / 3, RobustAccuracy: 5.0 / 6,
			WrongRejectedRate: 1.0 / 2, CorrectRejectedRate: 2.0 / 4,
			// parity conflicts on inputs 3 and 5, prime on input 1.
			AuxConflictRate: []float64{2.0 / 6, 1.0 / 6},
			// true parity [1 0 1 0 1 0] vs [1 0 1 0 1 1]; true prime [0 1 1 0 1 0] vs [0 0 1 0 1 0].
			TaskAccuracy: []float64{4.0 / 6, 5.0 / 6, 5.0 / 6},
		}},
		// No input has two conflicts: k = 2 rejects nothing.
		{2, Split{
			N: 6, Rejected: 0, Correct: 4, AcceptedCorrect: 4, RejectedWrong: 0,
			RejectionRate: 0, Accuracy: 4.0 / 6, AcceptedAccuracy: 4.0 / 6, RobustAccuracy: 4.0 / 6,
			WrongRejectedRate: 0, CorrectRejectedRate: 0,
			AuxConflictRate: []float64{2.0 / 6, 1.0 / 6},
			TaskAccuracy:    []float64{4.0 / 6, 5.0 / 6, 5.0 / 6},
		}},
	}
	for _, c := range cases {
		got, err := module(t, c.k).Score(handLabels, handPreds)
		if err != nil {
			t.Fatal(err)
		}
		checkSplit(t, "k="+string(rune('0'+c.k)), got, c.want)
	}
	// Every input rejected: the accuracy on accepted inputs is undefined. Every input correct:
	// the share of wrong predictions caught is undefined.
	allRejected := [][]int32{{1, 2}, {0, 1}, {0, 0}}
	got, err := module(t, 1).Score([]int32{1, 2}, allRejected)
	if err != nil {
		t.Fatal(err)
	}
	checkSplit(t, "all rejected", got, Split{
		N: 2, Rejected: 2, Correct: 2, AcceptedCorrect: 0, RejectedWrong: 0,
		RejectionRate: 1, Accuracy: 1, AcceptedAccuracy: nan, RobustAccuracy: 1,
		WrongRejectedRate: nan, CorrectRejectedRate: 1,
		AuxConflictRate: []float64{1, 0.5}, TaskAccuracy: []float64{1, 0, 0.5},
	})
}

func checkSplit(t *testing.T, name string, got, want Split) {
	t.Helper()
	if got.N != want.N || got.Rejected != want.Rejected || got.Correct != want.Correct ||
		got.AcceptedCorrect != want.AcceptedCorrect || got.RejectedWrong != want.RejectedWrong {
		t.Errorf("%s: counts %+v, want %+v", name, got, want)
	}
	rates := []struct {
		name      string
		got, want float64
	}{
		{"RejectionRate", got.RejectionRate, want.RejectionRate},
		{"Accuracy", got.Accuracy, want.Accuracy},
		{"AcceptedAccuracy", got.AcceptedAccuracy, want.AcceptedAccuracy},
		{"RobustAccuracy", got.RobustAccuracy, want.RobustAccuracy},
		{"WrongRejectedRate", got.WrongRejectedRate, want.WrongRejectedRate},
		{"CorrectRejectedRate", got.CorrectRejectedRate, want.CorrectRejectedRate},
	}
	for i, v := range want.AuxConflictRate {
		rates = append(rates, struct {
			name      string
			got, want float64
		}{"AuxConflictRate[" + string(rune('0'+i)) + "]", at(got.AuxConflictRate, i), v})
	}
	for i, v := range want.TaskAccuracy {
		rates = append(rates, struct {
			name      string
			got, want float64
		}{"TaskAccuracy[" + string(rune('0'+i)) + "]", at(got.TaskAccuracy, i), v})
	}
	for _, r := range rates {
		if !(math.IsNaN(r.want) && math.IsNaN(r.got)) && math.Abs(r.got-r.want) > 1e-15 {
			t.Errorf("%s: %s = %g, want %g", name, r.name, r.got, r.want)
		}
	}
	if len(got.AuxConflictRate) != len(want.AuxConflictRate) || len(got.TaskAccuracy) != len(want.TaskAccuracy) {
		t.Errorf("%s: %d aux conflict rates and %d task accuracies, want %d and %d", name, len(got.AuxConflictRate), len(got.TaskAccuracy), len(want.AuxConflictRate), len(want.TaskAccuracy))
	}
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return math.Inf(1)
}

// TestStricterKRejectsLess: the inputs rejected with k+1 are a subset of those rejected with k,
// on random predictions (a property, independent of any hand case).
func TestStricterKRejectsLess(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200
	preds := [][]int32{make([]int32, n), make([]int32, n), make([]int32, n)}
	for i := range n {
		preds[0][i] = int32(r.IntN(10))
		preds[1][i] = int32(r.IntN(2))
		preds[2][i] = int32(r.IntN(2))
	}
	r1, _ := module(t, 1).Decide(preds)
	r2, _ := module(t, 2).Decide(preds)
	n1, n2 := 0, 0
	for i := range n {
		if r2[i] && !r1[i] {
			t.Fatalf("input %d rejected with k=2 but not with k=1", i)
		}
		if r1[i] {
			n1++
		}
		if r2[i] {
			n2++
		}
	}
	if !(n2 < n1 && n2 > 0) {
		t.Errorf("random predictions: %d rejected with k=1, %d with k=2: want 0 < k=2 count < k=1 count", n1, n2)
	}
}

func TestEvaluateAndJSON(t *testing.T) {
	m := module(t, 0)
	// Clean: the first two hand inputs. Adversarial: the main head fooled on both, the aux
	// heads not (the gray-box setting of 001): input 0 -> 2 implies (0,1) vs (1,0), rejected;
	// input 1 -> 6 implies (0,0) vs (0,1), rejected.
	clean := [][]int32{{1, 2}, {1, 0}, {0, 1}}
	adv := [][]int32{{2, 6}, {1, 0}, {0, 1}}
	rep, err := m.Evaluate([]int32{1, 2}, clean, adv)
	if err != nil {
		t.Fatal(err)
	}
	if rep.MinConflicts != 1 || !slices.Equal(rep.Tasks, []string{"main", "parity", "prime"}) {
		t.Errorf("report header %d %v, want 1 [main parity prime]", rep.MinConflicts, rep.Tasks)
	}
	if rep.Clean.RejectionRate != 0 || rep.Clean.AcceptedAccuracy != 1 || !math.IsNaN(rep.Clean.WrongRejectedRate) {
		t.Errorf("clean split %+v: want nothing rejected, all correct", rep.Clean)
	}
	if rep.Adversarial.Accuracy != 0 || rep.Adversarial.RobustAccuracy != 1 || rep.Adversarial.WrongRejectedRate != 1 || !math.IsNaN(rep.Adversarial.AcceptedAccuracy) {
		t.Errorf("adversarial split %+v: want accuracy 0, every wrong prediction rejected, robust accuracy 1", rep.Adversarial)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("JSON with undefined rates: %v", err)
	}
	for _, want := range []string{`"wrong_rejected_rate":null`, `"accepted_accuracy":null`, `"robust_accuracy":1`, `"min_conflicts":1`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON %s: want %s", data, want)
		}
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	checkSplit(t, "decoded clean", back.Clean, rep.Clean)
	checkSplit(t, "decoded adversarial", back.Adversarial, rep.Adversarial)
	if _, err := m.Evaluate([]int32{1, 2}, clean, [][]int32{{2}, {1}, {0}}); err == nil || !strings.Contains(err.Error(), "2 labels for 1 predictions per task: want one label per input (adversarial inputs)") {
		t.Errorf("adversarial set of another size: error %v", err)
	}
}

func TestErrors(t *testing.T) {
	s := mnist(t)
	if _, err := New(s, 3); err == nil || !strings.Contains(err.Error(), "MinConflicts 3: want 0 (meaning 1) to 2") {
		t.Errorf("k > M: error %v", err)
	}
	if _, err := New(task.Set{Main: s.Main}, 0); err == nil || !strings.Contains(err.Error(), "no auxiliary task") {
		t.Errorf("no auxiliary task: error %v", err)
	}
	m := module(t, 1)
	cases := []struct {
		name  string
		preds [][]int32
		want  string
	}{
		{"rows", [][]int32{{1}, {1}}, "predictions for 2 tasks, task set [main parity prime] has 3"},
		{"lengths", [][]int32{{1, 2}, {1, 0}, {0}}, `task "prime" has 1 predictions and task "main" has 2`},
		{"main class", [][]int32{{10}, {0}, {0}}, `task "main": prediction[0] = 10: want a class in [0, 10)`},
		{"aux class", [][]int32{{1}, {2}, {0}}, `task "parity": prediction[0] = 2: want a class in [0, 2)`},
	}
	for _, c := range cases {
		if _, err := m.Decide(c.preds); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := m.Score([]int32{1}, [][]int32{{1, 2}, {1, 0}, {0, 1}}); err == nil || !strings.Contains(err.Error(), "1 labels for 2 predictions") {
		t.Errorf("labels: error %v", err)
	}
	if _, err := m.Score([]int32{11}, [][]int32{{1}, {1}, {0}}); err == nil || !strings.Contains(err.Error(), "labels[0] = 11") {
		t.Errorf("label out of range: error %v", err)
	}
	if _, err := m.Score(nil, [][]int32{{}, {}, {}}); err == nil || !strings.Contains(err.Error(), "no inputs") {
		t.Errorf("no inputs: error %v", err)
	}
}
