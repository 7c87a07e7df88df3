package experiment

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/training"
	"github.com/mtlrob/mtlrob/xla"

	"github.com/mtlrob/mtlrob/internal/slowtest"
)

// tiny is a budget small enough for a unit test: a few steps of everything.
var tiny = Budget{Name: "tiny", TrainExamples: 200, TestExamples: 100, Steps: 6, BatchSize: 20, EvalEvery: 3, EvalExamples: 50,
	AdvSteps: 4, AdvEvalEvery: 2, TrainPGDSteps: 2, SelectExamples: 50,
	AttackExamples: 100, EvalPGDSteps: 3, CWSearchSteps: 1, CWIterations: 3, DirectionSteps: 2}

func testEnv(t *testing.T) Env {
	t.Helper()
	backend, line, err := xla.Default()
	if err != nil {
		t.Fatal(err)
	}
	return Env{Backend: backend, BackendLine: line, ResultsDir: t.TempDir(), CacheDir: t.TempDir(), Quiet: true}
}

// TestRobustnessCellRecordsAndSkips runs one robustness cell end to end on Fashion-MNIST (PGD-AT, two
// tasks), checks the record's invariants, that a second run reads the record instead of recomputing it,
// and that the tables render from it.
func TestRobustnessCellRecordsAndSkips(t *testing.T) {
	slowtest.Require(t, "trains a LeNet adversarially and runs every attack of a robustness record (minutes)")
	env := testEnv(t)
	spec := ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Aux: []string{"category"}, Training: "pgd-at", Budget: tiny, Seed: 1}
	rec, err := Cell{Model: spec, Analysis: "robustness"}.Run(env)
	if err != nil {
		t.Fatal(err)
	}
	res := rec.Results.(RobustnessResults)
	var names []string
	acc := map[string][]float64{}
	for _, c := range res.Conditions {
		names = append(names, c.Name)
		acc[c.Name] = c.TaskAccuracy
		for _, a := range c.TaskAccuracy {
			if a < 0 || a > 1 || math.IsNaN(a) {
				t.Fatalf("condition %s: accuracy %v outside [0,1]", c.Name, c.TaskAccuracy)
			}
		}
		if len(c.Rejection) != 1 || c.Rejection[0].MinConflicts != 1 {
			t.Fatalf("condition %s: rejection reports %+v, want one for k = 1 (one auxiliary task)", c.Name, c.Rejection)
		}
	}
	if got := strings.Join(names, ","); got != "clean,pgd,pgd-targeted,cw,worst-case,adaptive" {
		t.Fatalf("conditions %s", got)
	}
	if acc["pgd"][0] > acc["clean"][0]+0.02 {
		t.Errorf("PGD main accuracy %.3f above clean %.3f", acc["pgd"][0], acc["clean"][0])
	}
	// The worst case includes PGD (with restarts) and needs the clean image right: never above clean,
	// and above PGD at most by the two images a different random start can flip.
	if w := acc["worst-case"][0]; w > acc["clean"][0] || w > acc["pgd"][0]+2.0/float64(res.N) {
		t.Errorf("worst-case main accuracy %.3f above clean %.3f or PGD %.3f", w, acc["clean"][0], acc["pgd"][0])
	}
	if res.Sanity == nil || len(res.Sanity.Checks) != 4 || res.Sanity.N != min(SanityExamples, res.N) {
		t.Fatalf("sanity %+v: want the 4 checks on %d images", res.Sanity, min(SanityExamples, res.N))
	}
	for _, c := range res.Sanity.Checks {
		t.Log(c)
	}
	if c := res.Sanity.Checks[0]; c.Name != "eps-zero" || !c.Pass || c.Accuracy[0] != c.Accuracy[1] {
		t.Errorf("eps-zero check %s: PGD at eps 0 must have the clean accuracy", c)
	}
	path := RecordPath(env.ResultsDir, rec)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Cell{Model: spec, Analysis: "robustness"}.Run(env)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !after.ModTime().Equal(before.ModTime()) || again.Seconds != rec.Seconds {
		t.Fatalf("the second run recomputed the cell (record rewritten)")
	}
	md, err := RenderTables(env.ResultsDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"main+category", "PGD untargeted", "+reject"} {
		if !strings.Contains(md, want) {
			t.Errorf("tables lack %q:\n%s", want, md)
		}
	}
}

func TestEpsScale(t *testing.T) {
	got, err := EpsScale("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.0125, 0.025, 0.05, 0.1, 0.2}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("EpsScale(fashion-mnist) = %v, want %v", got, want)
		}
	}
	if c, _ := EpsScale("cifar10"); math.Abs(c[3]-8.0/255) > 1e-12 {
		t.Fatalf("cifar10 eps %v, want 8/255 at the fourth budget", c)
	}
	if _, err := EpsScale("imagenet"); err == nil {
		t.Fatal("unknown dataset accepted")
	}
}

// SelectCells keeps the cells whose model name contains -only's value; one that matches nothing is
// an error listing the nearest parts of the names, instead of an empty selection.
func TestSelectCells(t *testing.T) {
	cells := PaperGrid(Budgets["quick"], 1)
	for _, tc := range []struct {
		only  string
		n     int    // cells selected when no error
		close string // substring of the error; "" for none
	}{
		{only: "", n: len(cells)},
		{only: "mnist_lenet_main+parity+prime", n: 3},
		{only: "fashoin", close: `matches none of the 16 cells' model names (e.g. fashion-mnist_lenet_main_natural_quick_seed1); close matches: "fashion"`},
		{only: "categroy", close: `close matches: "category"`},
		{only: "mp_at", close: `"mp-at"`},
		{only: "qqqqqqqqqqqq", close: "close matches: none"},
	} {
		got, err := SelectCells(cells, tc.only)
		if tc.close != "" {
			if err == nil || !strings.Contains(err.Error(), `-only "`+tc.only+`"`) || !strings.Contains(err.Error(), tc.close) {
				t.Errorf("SelectCells(%q) error = %v, want it to contain %q", tc.only, err, tc.close)
			}
			continue
		}
		if err != nil || len(got) != tc.n {
			t.Errorf("SelectCells(%q) = %d cells, %v; want %d", tc.only, len(got), err, tc.n)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"fashoin", "fashion", 2}, {"kitten", "sitting", 3}, {"pgd-at", "pgd-at", 0}} {
		if d := editDistance(tc.a, tc.b); d != tc.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, d, tc.d)
		}
	}
}

// TestRunGridStopsWhenInterrupted: a grid whose context is done stops before its next cell, with an error
// that is training.ErrInterrupted and carries the cause (the signal), and computes nothing.
func TestRunGridStopsWhenInterrupted(t *testing.T) {
	cause := errors.New("signal: interrupt")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	env := Env{ResultsDir: t.TempDir(), CacheDir: t.TempDir(), Quiet: true, Context: ctx}
	cells := []Cell{{Model: ModelSpec{Dataset: "fashion-mnist", Arch: "smallcnn", Aux: []string{}, Training: "natural", Budget: tiny, Seed: 1}, Analysis: "model"}}
	recs, err := RunGrid(env, cells, io.Discard)
	if !errors.Is(err, training.ErrInterrupted) || !errors.Is(err, cause) || len(recs) != 0 {
		t.Fatalf("RunGrid on a done context: %d records, error %v; want none and an interruption carrying its cause", len(recs), err)
	}
	if entries, _ := os.ReadDir(env.CacheDir); len(entries) != 0 {
		t.Errorf("the cache holds %d entries: a cell started", len(entries))
	}
}
