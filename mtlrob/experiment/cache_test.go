package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/training"

	"github.com/mtlrob/mtlrob/internal/slowtest"
	"github.com/mtlrob/mtlrob/internal/testbackends"
)

// tinyBudget trains for two steps on a few hundred examples: enough to exercise the whole path.
var tinyBudget = Budget{Name: "tiny", TrainExamples: 200, TestExamples: 100, Steps: 2, BatchSize: 10, EvalEvery: 1, EvalExamples: 20}

// storedRecord writes a natural-training record for spec with made-up results, as if trained earlier.
func storedRecord(t *testing.T, dir string, spec NaturalSpec) (*Record, string) {
	t.Helper()
	set, err := Tasks(spec.Dataset, spec.Aux)
	if err != nil {
		t.Fatal(err)
	}
	sc := training.Scores{Tasks: set.Names(), Loss: make([]float64, len(set.Names())), Accuracy: make([]float64, len(set.Names())), N: 7}
	rec := &Record{Kind: NaturalKind, Name: spec.Name(set), Provenance: NewProvenance(spec.Seed, ""), Config: spec,
		Results: NaturalResults{Tasks: set.Names(), Final: sc, Curve: training.Curve{Step: []int{1}, Train: []training.Scores{sc}, Test: []training.Scores{sc}}}}
	path := RecordPath(dir, rec)
	if err := WriteJSON(path, rec); err != nil {
		t.Fatal(err)
	}
	return rec, path
}

func TestLoadOrRunNaturalReadsAMatchingRecord(t *testing.T) {
	dir := t.TempDir()
	spec := NaturalSpec{Dataset: "fashion-mnist", Aux: []string{"region"}, Budget: tinyBudget, Seed: 3}
	want, path := storedRecord(t, dir, spec)
	if p, err := NaturalPath(dir, spec); err != nil || p != path {
		t.Fatalf("NaturalPath = %q, %v; want %q", p, err, path)
	}
	// No backend: the record must come from the file.
	spec.Quiet, spec.CheckpointDir = true, "/elsewhere" // not part of the run's identity
	got, err := LoadOrRunNatural(dir, nil, "", spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Config.(NaturalSpec); !ok {
		t.Fatalf("Config is %T, want NaturalSpec", got.Config)
	}
	res, ok := got.Results.(NaturalResults)
	if !ok {
		t.Fatalf("Results is %T, want NaturalResults", got.Results)
	}
	if got.Name != want.Name || res.Final.N != 7 || !reflect.DeepEqual(res.Tasks, []string{"main", "region"}) {
		t.Fatalf("read back %q with %+v", got.Name, res)
	}
	// The same tasks named by alias select the same record.
	alias := spec
	alias.Aux = []string{"aux2"}
	if _, err := LoadOrRunNatural(dir, nil, "", alias); err != nil {
		t.Fatalf("aux2 for region: %v", err)
	}
}

func TestLoadOrRunNaturalRecomputesWhenTheConfigDiffers(t *testing.T) {
	dir := t.TempDir()
	spec := NaturalSpec{Dataset: "fashion-mnist", Aux: []string{"region"}, Budget: tinyBudget, Seed: 3}
	storedRecord(t, dir, spec)
	changed := spec
	changed.Budget.Steps = 3 // same budget name, so the same file: must not be taken as the same run
	_, err := LoadOrRunNatural(dir, nil, "", changed)
	if err == nil || !strings.Contains(err.Error(), "another configuration, and no backend to compute it") {
		t.Fatalf("changed budget without a backend: error %v, want it to need a run", err)
	}
	// Fields that natural training does not read leave the run the same.
	other := spec
	other.Budget.CWIterations, other.Budget.AdvSteps = 999, 999
	if _, err := LoadOrRunNatural(dir, nil, "", other); err != nil {
		t.Fatalf("a budget that differs in attack fields only: %v", err)
	}
	missing := spec
	missing.Seed = 4
	if _, err := LoadOrRunNatural(dir, nil, "", missing); err == nil || !strings.Contains(err.Error(), "no record") {
		t.Fatalf("missing record without a backend: error %v", err)
	}
}

func TestLoadOrRunNaturalReplacesAnUnreadableRecord(t *testing.T) {
	dir := t.TempDir()
	spec := NaturalSpec{Dataset: "fashion-mnist", Aux: []string{}, Budget: tinyBudget, Seed: 1}
	_, path := storedRecord(t, dir, spec)
	if err := os.WriteFile(path, []byte(`{"kind": "natural-training", "name": `), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without a backend it says why it would compute the run; with one it would replace the file.
	_, err := LoadOrRunNatural(dir, nil, "", spec)
	if err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("broken record: error %v, want one that says it cannot be read", err)
	}
	if _, err := ReadNatural(path); err == nil {
		t.Fatal("ReadNatural accepted a truncated record")
	}
	other := &Record{Kind: "attack", Name: "x", Results: map[string]any{}}
	otherPath := filepath.Join(dir, "attack.json")
	if err := WriteJSON(otherPath, other); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadNatural(otherPath); err == nil || !strings.Contains(err.Error(), `"attack" record`) {
		t.Fatalf("ReadNatural of another kind: %v", err)
	}
}

// TestLoadOrRunNaturalTrainsOnceThenReads trains a tiny run on the pure-Go backend, then checks that
// the second call reads the record the first one wrote instead of training again.
func TestLoadOrRunNaturalTrainsOnceThenReads(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network; skipped with -short")
	}
	if _, _, err := Data("fashion-mnist", tinyBudget, 1); err != nil {
		t.Skipf("Fashion-MNIST is not installed (run `make data`): %v", err)
	}
	backend := testbackends.Go(t)
	dir := t.TempDir()
	spec := NaturalSpec{Dataset: "fashion-mnist", Aux: []string{"category"}, Budget: tinyBudget, Seed: 1, Quiet: true}
	first, err := LoadOrRunNatural(dir, backend, "go (test)", spec)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := NaturalPath(dir, spec)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no record written: %v", err)
	}
	second, err := LoadOrRunNatural(dir, nil, "", spec) // nil backend: training again would fail
	if err != nil {
		t.Fatal(err)
	}
	if first.Provenance.Time != second.Provenance.Time || first.Seconds != second.Seconds {
		t.Fatalf("second call did not read the first run's record: %+v vs %+v", first.Provenance, second.Provenance)
	}
	// What was written is what is read back (fields that JSON leaves out, like Quiet, aside).
	a, _ := json.Marshal(first.Results)
	b, _ := json.Marshal(second.Results)
	if string(a) != string(b) {
		t.Fatalf("results changed through JSON:\n%s\n%s", a, b)
	}
}

// TestLoadOrTrainRecomputesAfresh: a stale record is recomputed from scratch, never by resuming the
// cached checkpoints of the run that wrote it (they would hand back its weights), and cached checkpoints
// that cannot be checked (no run.json) are cleared rather than resumed or refused.
func TestLoadOrTrainRecomputesAfresh(t *testing.T) {
	slowtest.Require(t, "trains a network three times")
	env := testEnv(t)
	b := tinyBudget
	b.Steps, b.EvalEvery = 30, 15
	spec := ModelSpec{Dataset: "fashion-mnist", Arch: "smallcnn", Aux: []string{}, Training: "natural", Budget: b, Seed: 1}
	if _, err := LoadOrTrain(env, spec); err != nil {
		t.Fatal(err)
	}
	recPath := RecordPath(env.ResultsDir, &Record{Kind: ModelKind, Name: spec.Name()})
	ckptDir := filepath.Join(env.CacheDir, "models", spec.Name())
	marker := filepath.Join(ckptDir, "marker-of-the-first-run")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// 1. The record goes stale (another code fingerprint): recomputing clears the old run's checkpoints.
	data, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	prov := raw["provenance"].(map[string]any)
	if prov["fingerprint"] == nil {
		t.Skip("no code fingerprint outside the repository")
	}
	prov["fingerprint"].(map[string]any)["code"] = "0000000000000000"
	if data, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadOrTrain(env, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stale run's checkpoint directory was resumed, not cleared (marker: %v)", err)
	}
	res := m.Record.Results.(ModelResults)
	if len(res.Curve.Step) == 0 || res.Curve.Step[0] != 15 {
		t.Errorf("recomputed curve steps %v, want a run from step 0 (first point at 15)", res.Curve.Step)
	}
	// 2. Checkpoints without run.json and no record: cleared and trained afresh, not an error.
	if err := os.Remove(recPath); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ckptDir, "run.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrTrain(env, spec); err != nil {
		t.Fatalf("checkpoints without run.json in the cache: %v", err)
	}
}

// TestLoadOrTrainInterruptedResumes: a LoadOrTrain whose context is done stops with a checkpoint in the
// cache and no record; the next LoadOrTrain resumes it, to the record of an uninterrupted run.
func TestLoadOrTrainInterruptedResumes(t *testing.T) {
	slowtest.Require(t, "trains a network twice")
	b := tinyBudget
	b.Steps, b.EvalEvery = 12, 6
	spec := ModelSpec{Dataset: "fashion-mnist", Arch: "smallcnn", Aux: []string{}, Training: "natural", Budget: b, Seed: 2}
	whole := testEnv(t)
	want, err := LoadOrTrain(whole, spec)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env.Context = ctx
	if _, err := LoadOrTrain(env, spec); !errors.Is(err, training.ErrInterrupted) {
		t.Fatalf("LoadOrTrain on a done context: %v, want an interruption", err)
	}
	if _, err := os.Stat(RecordPath(env.ResultsDir, &Record{Kind: ModelKind, Name: spec.Name()})); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an interrupted run wrote its record (%v)", err)
	}
	env.Context = nil
	got, err := LoadOrTrain(env, spec)
	if err != nil {
		t.Fatal(err)
	}
	w, g := want.Record.Results.(ModelResults), got.Record.Results.(ModelResults)
	if !slices.Equal(w.Final.Accuracy, g.Final.Accuracy) || !slices.Equal(w.Final.Loss, g.Final.Loss) || !slices.Equal(w.Curve.Step, g.Curve.Step) {
		t.Errorf("resumed run: final %v / %v, curve steps %v; uninterrupted: %v / %v, %v", g.Final.Accuracy, g.Final.Loss, g.Curve.Step,
			w.Final.Accuracy, w.Final.Loss, w.Curve.Step)
	}
}
