package experiment

import (
	"fmt"
	"time"

	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// DirectionsKind is the Kind of attack-direction comparison records.
const DirectionsKind = "directions"

// EpsScale returns the dataset's budgets of the direction comparison: 004's {1, 2, 4, 8, 16}/255 for the
// 32x32 datasets, scaled for the others so that 8/255 maps to the dataset's eps (0.1 for Fashion-MNIST,
// 0.3 for MNIST).
func EpsScale(dataset string) ([]float64, error) {
	th, err := attack.ThreatFor(dataset)
	if err != nil {
		return nil, err
	}
	scale := th.Eps / (8.0 / 255)
	out := make([]float64, 0, 5)
	for _, e := range []float64{1, 2, 4, 8, 16} {
		out = append(out, e/255*scale)
	}
	return out, nil
}

// Directions returns the attack directions compared on a network with numTasks heads: Single(x) for every
// task, Total, SignTotal, WGD (both variants) and DGBA.
func Directions(numTasks int) []attack.Direction {
	var ds []attack.Direction
	for t := range numTasks {
		ds = append(ds, attack.Single(t))
	}
	return append(ds, attack.Total{}, attack.SignTotal{}, attack.WGD{Variant: attack.WGDPaper}, attack.WGD{Variant: attack.WGDCode}, attack.DGBA{})
}

// DirectionRun is the outcome of one direction at one budget.
type DirectionRun struct {
	Direction    string    `json:"direction"`
	Eps          float64   `json:"eps"`
	TaskAccuracy []float64 `json:"task_accuracy"`
	TaskARP      []float64 `json:"task_arp"` // per task: relative accuracy drop x100
	ARP          float64   `json:"arp"`      // 004 Eq. 10, averaged over tasks
	// TaskCorrect holds, per task, the per-image outcome on the attacked images (metric.EncodeOutcomes:
	// '1' correct), so that two directions can be compared by a paired test on the same images.
	TaskCorrect []string `json:"task_correct,omitempty"`
	Seconds     float64  `json:"seconds"`
}

// DirectionsResults is the Results part of a direction-comparison record.
type DirectionsResults struct {
	Model         string    `json:"model"`
	Tasks         []string  `json:"tasks"`
	N             int       `json:"n"`
	Attack        string    `json:"attack"` // the base attack (direction left out)
	CleanAccuracy []float64 `json:"clean_accuracy"`
	// CleanCorrect holds, per task, the per-image clean outcome (as DirectionRun.TaskCorrect).
	CleanCorrect []string       `json:"clean_correct,omitempty"`
	Runs         []DirectionRun `json:"runs"`
}

// LoadOrCompareDirections returns the direction-comparison record of the model spec names: the white-box
// attack on every head with each of Directions, in 004's I-FGSM form (no random start, step eps/steps,
// Budget.DirectionSteps steps), at every budget of EpsScale, scored by per-task accuracy and ARP.
func LoadOrCompareDirections(env Env, spec ModelSpec) (*Record, error) {
	rec, path, err := loadStored[DirectionsResults](env, DirectionsKind, spec)
	if rec != nil || err != nil {
		return rec, err
	}
	start := time.Now()
	m, err := LoadOrTrain(env, spec)
	if err != nil {
		return nil, err
	}
	epss, err := EpsScale(spec.Dataset)
	if err != nil {
		return nil, err
	}
	test, labels, err := m.attackSet(spec.Budget.heavyExamples())
	if err != nil {
		return nil, err
	}
	clean, err := m.predict(env, test.Images, test.N)
	if err != nil {
		return nil, err
	}
	cleanAcc, err := metric.TaskAccuracies(clean, labels)
	if err != nil {
		return nil, err
	}
	steps := spec.Budget.DirectionSteps
	cleanCorrect, err := encodedOutcomes(clean, labels)
	if err != nil {
		return nil, err
	}
	out := DirectionsResults{Model: m.Net.String(), Tasks: m.Net.Tasks, N: test.N, CleanAccuracy: cleanAcc, CleanCorrect: cleanCorrect,
		Attack: fmt.Sprintf("I-FGSM (PGD-Linf, no random start, step eps/%d, %d steps), white-box on every head", steps, steps)}
	white := attack.WhiteBox(m.Net)
	for _, eps := range epss {
		for _, dir := range Directions(len(m.Net.Tasks)) {
			t0 := time.Now()
			atk := attack.PGD{Eps: eps, Alpha: eps / float64(steps), Steps: steps, NoRandomStart: true, LastIterate: true, Direction: dir}
			adv, err := m.attackImages(env, test, atk, white, labels, spec.Seed)
			if err != nil {
				return nil, err
			}
			preds, err := m.predict(env, adv, test.N)
			if err != nil {
				return nil, err
			}
			acc, err := metric.TaskAccuracies(preds, labels)
			if err != nil {
				return nil, err
			}
			meas, err := metric.AccuracyMeasurements(cleanAcc, acc)
			if err != nil {
				return nil, err
			}
			taskARP, err := metric.TaskARPs(meas)
			if err != nil {
				return nil, err
			}
			arp, err := metric.ARP(meas)
			if err != nil {
				return nil, err
			}
			correct, err := encodedOutcomes(preds, labels)
			if err != nil {
				return nil, err
			}
			out.Runs = append(out.Runs, DirectionRun{Direction: dir.Name(), Eps: eps, TaskAccuracy: acc, TaskARP: taskARP, ARP: arp,
				TaskCorrect: correct, Seconds: time.Since(t0).Seconds()})
		}
	}
	rec = &Record{Kind: DirectionsKind, Name: spec.Name(), Provenance: NewProvenance(spec.Seed, env.BackendLine),
		Config: spec, Results: out, Seconds: time.Since(start).Seconds()}
	return rec, WriteJSON(path, rec)
}

// encodedOutcomes is, per task, the per-image outcome of preds against labels (metric.EncodeOutcomes:
// '1' correct), as direction records store them.
func encodedOutcomes(preds, labels [][]int32) ([]string, error) {
	out := make([]string, len(preds))
	for t := range preds {
		ok, err := metric.Outcomes(preds[t], labels[t])
		if err != nil {
			return nil, err
		}
		out[t] = metric.EncodeOutcomes(ok)
	}
	return out, nil
}
