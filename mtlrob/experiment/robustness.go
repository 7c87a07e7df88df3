package experiment

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
)

// RobustnessKind is the Kind of robustness records.
const RobustnessKind = "robustness"

// Condition is the model's behaviour on one set of inputs: clean, or adversarial from one attack.
type Condition struct {
	Name string `json:"name"` // "clean", "pgd", "pgd-targeted", "cw", "worst-case", "adaptive"
	// N is the number of images of this condition when it is not the record's (CW and the worst case
	// on the budget's first HeavyExamples images); 0 means the record's N.
	N            int       `json:"n,omitempty"`
	Attack       string    `json:"attack,omitempty"`
	Victim       string    `json:"victim,omitempty"`
	TaskAccuracy []float64 `json:"task_accuracy"`
	// MainCorrect is the main task's per-image outcome, one character per evaluated test image in
	// order ('1' correct, '0' wrong; metric.EncodeOutcomes), so that two models evaluated on the same
	// images can be compared by a paired test (metric.McNemar) from their records alone. Records
	// written before it existed lack it (empty). Decode it with MainOutcomes.
	MainCorrect string `json:"main_correct,omitempty"`
	// Rejection reports the rejection module (001 Eq. 8) on clean inputs and on this condition's inputs,
	// for k = 1 (the paper) and, with two or more auxiliary tasks, k = 2.
	Rejection []reject.Report `json:"rejection,omitempty"`
	Seconds   float64         `json:"seconds"`
}

// MainOutcomes decodes MainCorrect: whether the main task got each evaluated image right, or nil
// (and no error) when the record predates per-image outcomes.
func (c Condition) MainOutcomes() ([]bool, error) {
	if c.MainCorrect == "" {
		return nil, nil
	}
	ok, err := metric.DecodeOutcomes(c.MainCorrect)
	if err != nil {
		return nil, fmt.Errorf("experiment: condition %q: %w", c.Name, err)
	}
	return ok, nil
}

// Images is the number of images of the condition in a record of n images (its own N when set).
func (c Condition) Images(n int) int {
	if c.N > 0 {
		return c.N
	}
	return n
}

// MainAccuracy returns the main-task accuracy of the condition over the record's n images
// (RobustnessResults.N) as a metric.Proportion with its 95% Wilson interval: counted from
// MainCorrect when the record has it (its length must be n and its count agree with
// TaskAccuracy[0]), else recovered from TaskAccuracy[0]
// as accuracy·n correct images (an error when that is not a whole number: the accuracy was not
// measured over n images).
func (c Condition) MainAccuracy(n int) (metric.Proportion, error) {
	ok, err := c.MainOutcomes()
	switch {
	case err != nil:
		return metric.Proportion{}, err
	case ok != nil && len(ok) != n:
		return metric.Proportion{}, fmt.Errorf("experiment: condition %q: %d per-image outcomes for %d images", c.Name, len(ok), n)
	case ok != nil:
		p := metric.ProportionOf(ok)
		if len(c.TaskAccuracy) > 0 && math.Abs(p.Value-c.TaskAccuracy[0]) > 1e-9 {
			return metric.Proportion{}, fmt.Errorf("experiment: condition %q: per-image outcomes give accuracy %g, TaskAccuracy %g", c.Name, p.Value, c.TaskAccuracy[0])
		}
		return p, nil
	case len(c.TaskAccuracy) == 0:
		return metric.Proportion{}, fmt.Errorf("experiment: condition %q: no task accuracies", c.Name)
	}
	k := c.TaskAccuracy[0] * float64(n)
	if math.Abs(k-math.Round(k)) > 1e-6 {
		return metric.Proportion{}, fmt.Errorf("experiment: condition %q: main-task accuracy %g is not a count over %d images", c.Name, c.TaskAccuracy[0], n)
	}
	return metric.NewProportion(int(math.Round(k)), n), nil
}

// RobustnessResults is the Results part of a robustness record.
type RobustnessResults struct {
	Model string   `json:"model"`
	Tasks []string `json:"tasks"`
	N     int      `json:"n"`
	// Threat is the dataset's threat model as the budget ran it (Budget.Threat); records written before
	// attack.ThreatModel hold its eps and alpha only.
	Threat     attack.ThreatModel `json:"threat"`
	Conditions []Condition        `json:"conditions"`
	// Sanity holds the checks of Carlini et al. (2019) run with the record (RunSanity); nil in records
	// written before them.
	Sanity *Sanity `json:"sanity,omitempty"`
}

// Given is the Target of an attack whose labels already are its targets (the host computed them).
func Given(labels *Node, _ int) *Node { return labels }

// EvalAttacks are the attacks of a robustness evaluation, as 001 Table 2 runs them on the main task:
// gray-box PGD untargeted and targeted ((y+1) mod K), gray-box CW-L2, from the dataset's threat model
// as the budget runs it (Budget.Threat: the threat model's step counts unless the budget caps them).
func EvalAttacks(dataset string, b Budget) (pgd, pgdTargeted attack.PGD, cw attack.CW, err error) {
	th, err := b.Threat(dataset)
	if err != nil {
		return
	}
	pgd = th.PGD()
	pgdTargeted = pgd
	pgdTargeted.Target = attack.NextClass
	cw = th.CW()
	return
}

// LoadOrEvaluateRobustness returns the robustness record of the model spec names (reading it when it
// exists with the same spec, else training or loading the model and evaluating it): per-task accuracy on
// clean inputs and under gray-box PGD, targeted PGD and CW-L2, the worst case over stronger attacks
// (WorstCaseAttacks), for multi-task models the rejection module and the adaptive attack against it, and
// the sanity checks of Carlini et al. (2019) (RunSanity, stored as Results.Sanity).
//
// The adaptive attack (a careful reviewer's first question): white-box over every head, targeted, with
// the Total direction; the main head is driven to t = (y+1) mod K and each auxiliary head m to P_m(t), so
// the hidden heads agree with the wrong main prediction and the rejection rule sees no contradiction.
func LoadOrEvaluateRobustness(env Env, spec ModelSpec) (*Record, error) {
	rec, path, err := loadStored[RobustnessResults](env, RobustnessKind, spec)
	if rec != nil || err != nil {
		return rec, err
	}
	start := time.Now()
	m, err := LoadOrTrain(env, spec)
	if err != nil {
		return nil, err
	}
	test, labels, err := m.attackSet(spec.Budget.AttackExamples)
	if err != nil {
		return nil, err
	}
	th, err := spec.Budget.Threat(spec.Dataset)
	if err != nil {
		return nil, err
	}
	pgd, pgdT, cw, err := EvalAttacks(spec.Dataset, spec.Budget)
	if err != nil {
		return nil, err
	}
	out := RobustnessResults{Model: m.Net.String(), Tasks: m.Net.Tasks, N: test.N, Threat: th}
	gray := attack.GrayBox(m.Net)

	clean, err := m.predict(env, test.Images, test.N)
	if err != nil {
		return nil, err
	}
	var modules []reject.Module
	for k := 1; k <= min(2, len(m.Tasks.Aux)); k++ {
		mod, err := reject.New(m.Tasks, k)
		if err != nil {
			return nil, err
		}
		modules = append(modules, mod)
	}
	// A view of the attack set: the whole of it, or its first Budget.HeavyExamples images for CW and the
	// worst case.
	type view struct {
		test   *datasets.Dataset
		labels [][]int32
		clean  [][]int32
	}
	full := view{test, labels, clean}
	heavy := full
	if h := spec.Budget.HeavyExamples; h > 0 && h < test.N {
		sub, err := test.Head(h)
		if err != nil {
			return nil, err
		}
		heavy = view{test: sub}
		for t := range labels {
			heavy.labels = append(heavy.labels, labels[t][:h])
			heavy.clean = append(heavy.clean, clean[t][:h])
		}
	}
	// record completes c with the accuracies and rejection reports of the predictions preds on the
	// view v of the attack set, and appends it.
	record := func(v view, c Condition, preds [][]int32, t0 time.Time) error {
		var err error
		if c.TaskAccuracy, err = metric.TaskAccuracies(preds, v.labels); err != nil {
			return err
		}
		mainOK, err := metric.Outcomes(preds[0], v.labels[0])
		if err != nil {
			return err
		}
		c.MainCorrect = metric.EncodeOutcomes(mainOK)
		if v.test.N != test.N {
			c.N = v.test.N
		}
		for _, mod := range modules {
			r, err := mod.Evaluate(v.test.Labels, v.clean, preds)
			if err != nil {
				return err
			}
			c.Rejection = append(c.Rejection, r)
		}
		c.Seconds = time.Since(t0).Seconds()
		out.Conditions = append(out.Conditions, c)
		return nil
	}
	condition := func(v view, name string, atk attack.Attack, victim attack.Victim, runLabels [][]int32) error {
		t0 := time.Now()
		c := Condition{Name: name}
		preds := v.clean
		if atk != nil {
			c.Attack, c.Victim = atk.Name(), victim.String()
			adv, err := m.attackImages(env, v.test, atk, victim, runLabels, spec.Seed)
			if err != nil {
				return err
			}
			if preds, err = m.predict(env, adv, v.test.N); err != nil {
				return err
			}
		}
		return record(v, c, preds, t0)
	}
	if err := condition(full, "clean", nil, attack.Victim{}, nil); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		atk  attack.Attack
		v    view
	}{{"pgd", pgd, full}, {"pgd-targeted", pgdT, full}, {"cw", cw, heavy}} {
		if err := condition(c.v, c.name, c.atk, gray, c.v.labels); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	worst := WorstCaseAttacks(th, spec.Budget)
	wc, err := m.worstCase(env, heavy.test, heavy.labels, heavy.clean, worst, gray, spec.Seed)
	if err != nil {
		return nil, err
	}
	if err := record(heavy, Condition{Name: "worst-case", Attack: worstCaseName(worst), Victim: gray.String()}, wc, t0); err != nil {
		return nil, err
	}
	if len(m.Tasks.Aux) > 0 {
		targets := make([][]int32, len(labels))
		targets[0] = attack.NextClassLabels(test.Labels, len(m.Tasks.Main.ClassNames))
		for i, aux := range m.Tasks.Aux {
			if targets[i+1], err = aux.Apply(targets[0]); err != nil {
				return nil, err
			}
		}
		adaptive := attack.PGD{Eps: th.Eps, Alpha: th.Alpha, Steps: th.Steps, Direction: attack.Total{}, Target: Given}
		if err := condition(full, "adaptive", adaptive, attack.WhiteBox(m.Net), targets); err != nil {
			return nil, err
		}
	}
	if out.Sanity, err = m.RunSanity(env, test, labels, clean, th, spec.Seed); err != nil {
		return nil, err
	}
	rec = &Record{Kind: RobustnessKind, Name: spec.Name(), Provenance: NewProvenance(spec.Seed, env.BackendLine),
		Config: spec, Results: out, Seconds: time.Since(start).Seconds()}
	return rec, WriteJSON(path, rec)
}

// predict returns the per-task predictions of the model on n images.
func (m *Model) predict(env Env, images []float32, n int) ([][]int32, error) {
	s := m.Test
	return reject.Predict(env.Backend, m.Store, m.Net, images, n, s.Height, s.Width, s.Channels, 100)
}

// attackImages runs atk against victim on every example of ds, with labels[t] the labels (or targets)
// of task t, and returns the adversarial images.
func (m *Model) attackImages(env Env, ds *datasets.Dataset, atk attack.Attack, victim attack.Victim, labels [][]int32, seed int64) ([]float32, error) {
	runner, err := attack.NewRunner(env.Backend, m.Store, victim, atk)
	if err != nil {
		return nil, err
	}
	runner.Seed = seed
	const batch = 100
	size := ds.ImageSize()
	adv := make([]float32, 0, len(ds.Images))
	for lo := 0; lo < ds.N; lo += batch {
		n := min(batch, ds.N-lo)
		x := tensors.FromFlatDataAndDimensions(append([]float32(nil), ds.Images[lo*size:(lo+n)*size]...), n, ds.Height, ds.Width, ds.Channels)
		ls := make([]*tensors.Tensor, len(labels))
		for t, l := range labels {
			ls[t] = tensors.FromFlatDataAndDimensions(append([]int32(nil), l[lo:lo+n]...), n)
		}
		out, err := runner.Run(x, ls)
		if err != nil {
			return nil, fmt.Errorf("experiment: %s: %w", m.Spec.Name(), err)
		}
		adv = append(adv, tensors.MustCopyFlatData[float32](out)...)
		out.FinalizeAll()
	}
	return adv, nil
}

// attackSet returns the first n test examples of the model's dataset (all of them when n is 0, as
// Budget.AttackExamples says, or when there are fewer) and their labels for every task: the examples
// every attack of a record runs on.
func (m *Model) attackSet(n int) (*datasets.Dataset, [][]int32, error) {
	k := m.Test.N
	if n > 0 && n < k {
		k = n
	}
	test, err := m.Test.Head(k)
	if err != nil {
		return nil, nil, err
	}
	labels, err := m.Tasks.Labels(test.Labels)
	if err != nil {
		return nil, nil, err
	}
	return test, labels, nil
}

// loadStored reads the record of kind for spec under env.ResultsDir into results (a pointer). It returns
// the record when it exists, was made with the same spec and its code fingerprint is current; nil when
// it is missing, or stale under the "recompute" policy (StaleEnv), to be recomputed; the stale record,
// with its Stale reasons, under the "keep" policy; and an error when it exists but cannot be read (never
// silently overwritten).
func loadStored[R any](env Env, kind string, spec ModelSpec) (*Record, string, error) {
	path := RecordPath(env.ResultsDir, &Record{Kind: kind, Name: spec.Name()})
	var stored ModelSpec
	var res R
	rec := &Record{Config: &stored, Results: &res}
	switch err := ReadJSON(path, rec); {
	case err == nil:
		rec.Config, rec.Results = stored, res
		use, err := usable(env, rec, stored, spec)
		if err != nil || !use {
			return nil, path, err
		}
		return rec, path, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, path, fmt.Errorf("%w (remove the file to recompute it)", err)
	}
	return nil, path, nil
}

// usable decides whether a stored record of spec is used (see useStored).
func usable(env Env, rec *Record, stored, spec ModelSpec) (bool, error) {
	return useStored(rec, reflect.DeepEqual(stored, spec), spec.Budget.Name, env.BackendLine)
}
