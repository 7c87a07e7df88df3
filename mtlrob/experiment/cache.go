package experiment

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"

	"github.com/gomlx/compute"
)

// NaturalKind is the Kind of the records RunNatural returns.
const NaturalKind = "natural-training"

// ReadNatural reads a natural-training record written by WriteJSON, with its Config decoded as a
// NaturalSpec and its Results as NaturalResults (the types RunNatural puts there). Unknown fields
// and a record of another kind are errors naming the file.
func ReadNatural(path string) (*Record, error) {
	var (
		spec NaturalSpec
		res  NaturalResults
	)
	rec := Record{Config: &spec, Results: &res}
	if err := ReadJSON(path, &rec); err != nil {
		return nil, err
	}
	if rec.Kind != NaturalKind {
		return nil, fmt.Errorf("experiment: %s: a %q record, want %q", path, rec.Kind, NaturalKind)
	}
	rec.Config, rec.Results = spec, res
	return &rec, nil
}

// NaturalPath is where the record of the run that spec names lives under resultsDir:
// resultsDir/natural-training/<spec.Name>.json.
func NaturalPath(resultsDir string, spec NaturalSpec) (string, error) {
	set, err := Tasks(spec.Dataset, spec.Aux)
	if err != nil {
		return "", err
	}
	return RecordPath(resultsDir, &Record{Kind: NaturalKind, Name: spec.Name(set)}), nil
}

// LoadOrRunNatural returns the record of the natural training run that spec names: the one stored
// under resultsDir when it was made with the same configuration (SameNaturalRun), else a new run's,
// which it writes there (atomically) before returning it. A stored record of another configuration
// (e.g. a budget preset whose training fields changed) or one that cannot be decoded (written by an
// older version of the workbench) is replaced. With a nil backend it never trains: a missing or
// outdated record is an error. The record's Config is a NaturalSpec and its Results a NaturalResults,
// as for RunNatural; the trained weights are not kept.
func LoadOrRunNatural(resultsDir string, backend compute.Backend, backendLine string, spec NaturalSpec) (*Record, error) {
	path, err := NaturalPath(resultsDir, spec)
	if err != nil {
		return nil, err
	}
	var why string
	switch rec, err := ReadNatural(path); {
	case err == nil:
		same := SameNaturalRun(rec.Config.(NaturalSpec), spec)
		use, err := useStored(rec, same, spec.Budget.Name, backendLine)
		if err != nil {
			return nil, err
		}
		if use {
			return rec, nil
		}
		why = "its record was made with another configuration"
		if same {
			why = "its record was made by other code (see mtlrob stale)"
		}
	case errors.Is(err, fs.ErrNotExist):
		why = "no record"
	default:
		why = fmt.Sprintf("its record cannot be read (%v)", err)
	}
	if backend == nil {
		return nil, fmt.Errorf("experiment: %s: %s, and no backend to compute it with", filepath.Base(path), why)
	}
	rec, _, err := RunNatural(backend, backendLine, spec)
	if err != nil {
		return nil, err
	}
	if err := WriteJSON(path, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// LoadOrRunNaturals is LoadOrRunNatural for each spec in turn; it stops at the first error.
func LoadOrRunNaturals(resultsDir string, backend compute.Backend, backendLine string, specs []NaturalSpec) ([]*Record, error) {
	recs := make([]*Record, 0, len(specs))
	for _, spec := range specs {
		rec, err := LoadOrRunNatural(resultsDir, backend, backendLine, spec)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// SameNaturalRun reports whether two specs describe the same run: the same dataset, resolved task
// list, architecture and seed, and the same budget as far as natural training reads it (the budget's
// name, subset sizes, steps, batch size and curve points; the attack and adversarial-training fields
// do not change a natural run). Checkpointing and progress output do not count.
func SameNaturalRun(a, b NaturalSpec) bool {
	ta, erra := Tasks(a.Dataset, a.Aux)
	tb, errb := Tasks(b.Dataset, b.Aux)
	if erra != nil || errb != nil {
		return false
	}
	return a.Dataset == b.Dataset && a.arch() == b.arch() && a.Seed == b.Seed &&
		reflect.DeepEqual(ta.Names(), tb.Names()) && naturalBudget(a.Budget) == naturalBudget(b.Budget)
}

// naturalBudget is the part of a budget that RunNatural reads (Data and the training config).
func naturalBudget(b Budget) [12]any {
	return [12]any{b.Name, b.TrainExamples, b.TestExamples, b.Steps, b.BatchSize, b.EvalEvery, b.EvalExamples,
		b.Optimizer, b.LearningRate, b.Momentum, b.WeightDecay, b.LRDecayAt}
}
