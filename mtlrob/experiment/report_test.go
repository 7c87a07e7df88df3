package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/reject"
)

// writeRobustness writes a hand-made robustness record (main accuracy clean and under PGD, rejection
// for k = 1 under PGD) for spec under resultsDir.
func writeRobustness(t *testing.T, resultsDir string, spec ModelSpec, clean, pgd, pgdReject float64) {
	t.Helper()
	res := RobustnessResults{Model: "lenet", Tasks: append([]string{"main"}, spec.Aux...), N: 10, Conditions: []Condition{
		{Name: "clean", TaskAccuracy: []float64{clean}},
		{Name: "pgd", TaskAccuracy: []float64{pgd}, Rejection: []reject.Report{{MinConflicts: 1,
			Adversarial: reject.Split{Accuracy: pgd, RobustAccuracy: pgdReject, RejectionRate: 0.25}}}},
	}}
	rec := &Record{Kind: RobustnessKind, Name: spec.Name(), Config: spec, Results: res}
	if err := WriteJSON(RecordPath(resultsDir, rec), rec); err != nil {
		t.Fatal(err)
	}
}

// TestRenderTablesGroupsByBudgetAndSeed: records of the same models on two budgets render as separate
// tables (one row per model each), named and titled by budget and seed, with the records' numbers.
func TestRenderTablesGroupsByBudgetAndSeed(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	quick, standard := tiny, tiny
	quick.Name, standard.Name = "quick", "standard"
	for _, b := range []struct {
		budget     Budget
		clean, pgd float64
	}{{quick, 0.5, 0.125}, {standard, 0.75, 0.375}} {
		for _, aux := range [][]string{{}, {"category"}} {
			writeRobustness(t, dir, ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Aux: aux, Training: "natural", Budget: b.budget, Seed: 1},
				b.clean, b.pgd, b.pgd+0.25)
		}
	}
	md, err := RenderTables(dir, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"fashion-mnist, natural training, quick budget, seed 1: main-task accuracy (%)",
		"fashion-mnist, natural training, standard budget, seed 1: main-task accuracy (%)",
		"| main+category | 50.00 | 12.50", "| main+category | 75.00 | 37.50",
		"fashion-mnist, standard budget, seed 1: main-task accuracy (%) without and with rejection",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("tables lack %q:\n%s", want, md)
		}
	}
	for _, name := range []string{"table2_natural_fashion-mnist_quick_seed1.csv", "table2_natural_fashion-mnist_standard_seed1.csv",
		"rejection_fashion-mnist_quick_seed1.csv", "tables.md"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	csv, err := os.ReadFile(filepath.Join(out, "rejection_fashion-mnist_standard_seed1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(csv), "62.5") || strings.Count(string(csv), "\n") != 2 {
		t.Errorf("rejection CSV (one multi-task model, robust accuracy 62.5%%):\n%s", csv)
	}
}

func TestAs(t *testing.T) {
	spec := ModelSpec{Dataset: "mnist", Seed: 3}
	for _, tc := range []struct {
		name string
		v    any
		ok   bool
	}{{"value", spec, true}, {"pointer", &spec, true}, {"nil pointer", (*ModelSpec)(nil), false}, {"other type", NaturalSpec{}, false}, {"nil", nil, false}} {
		got, ok := As[ModelSpec](tc.v)
		if ok != tc.ok || (ok && got.Dataset != "mnist") {
			t.Errorf("%s: As = %+v, %v; want ok %v", tc.name, got, ok, tc.ok)
		}
	}
}
