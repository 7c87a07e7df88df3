package experiment

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
)

// writeRobustness writes a hand-made robustness record (main accuracy clean and under PGD, rejection
// for k = 1 under PGD) for spec under resultsDir. It has 8 images: accuracies must be multiples of 1/8
// (counts of correct images), and it predates per-image outcomes (no MainCorrect).
func writeRobustness(t *testing.T, resultsDir string, spec ModelSpec, clean, pgd, pgdReject float64) {
	t.Helper()
	tasks := append([]string{"main"}, spec.Aux...)
	// Every task has the main task's accuracy; the targeted, CW and adaptive conditions that every
	// record holds have PGD's.
	acc := func(a float64) []float64 {
		out := make([]float64, len(tasks))
		for i := range out {
			out[i] = a
		}
		return out
	}
	res := RobustnessResults{Model: "lenet", Tasks: tasks, N: 8, Conditions: []Condition{
		{Name: "clean", TaskAccuracy: acc(clean)},
		{Name: "pgd", TaskAccuracy: acc(pgd), Rejection: []reject.Report{{MinConflicts: 1, Clean: reject.Split{N: 8, Accuracy: clean},
			Adversarial: reject.Split{N: 8, Accuracy: pgd, RobustAccuracy: pgdReject, RejectionRate: 0.25}}}},
		{Name: "pgd-targeted", TaskAccuracy: acc(pgd)},
		{Name: "cw", TaskAccuracy: acc(pgd)},
	}}
	if len(spec.Aux) > 0 {
		res.Conditions = append(res.Conditions, Condition{Name: "adaptive", TaskAccuracy: acc(pgd)})
	}
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
		"fashion-mnist, natural training, lenet, quick budget, seed 1: main-task accuracy (%)",
		"fashion-mnist, natural training, lenet, standard budget, seed 1: main-task accuracy (%)",
		// 95% Wilson intervals of 4/8, 1/8, 6/8, 3/8: scipy.stats.binomtest(k, 8).proportion_ci(0.95, "wilson").
		"| main+category | 50.00 [21.52, 78.48] | 12.50 [2.24, 47.09] | 12.50 [2.24, 47.09] | 12.50 [2.24, 47.09] | – | – | – | – |",
		"| main+category | 75.00 [40.93, 92.85] | 37.50 [13.68, 69.43] | 37.50 [13.68, 69.43] | 37.50 [13.68, 69.43] | – | – | – | – |",
		"predates per-image outcomes",
		"fashion-mnist, lenet, standard budget, seed 1: main-task accuracy (%) without and with rejection",
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

// robustnessRecord is an in-memory robustness record of spec on len(outcomes["clean"]) images with the
// given per-image main-task outcomes per condition ("1" correct, "0" wrong); withOutcomes false drops
// them, as in a record that predates them.
func robustnessRecord(spec ModelSpec, outcomes map[string]string, withOutcomes bool) *Record {
	res := RobustnessResults{Model: "lenet", Tasks: append([]string{"main"}, spec.Aux...), N: len(outcomes["clean"])}
	for _, name := range []string{"clean", "pgd"} {
		s := outcomes[name]
		acc := float64(strings.Count(s, "1")) / float64(len(s))
		c := Condition{Name: name, TaskAccuracy: []float64{acc}}
		if withOutcomes {
			c.MainCorrect = s
		}
		res.Conditions = append(res.Conditions, c)
	}
	return &Record{Kind: RobustnessKind, Name: spec.Name(), Config: spec, Results: res}
}

// TestTable2Statistics: Table2 of a main-only and a multi-task model on the same 20 images shows every
// accuracy with its 95% Wilson interval and the multi-task model's exact McNemar p-value against the
// main-only model per condition; without per-image outcomes the p-values are "–" and a note says why.
func TestTable2Statistics(t *testing.T) {
	mainOnly := ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Training: "natural", Budget: tiny, Seed: 1}
	multi := mainOnly
	multi.Aux = []string{"category"}
	// clean: the multi-task model fixes 3 images and breaks none (b01 0, b10 3);
	// PGD: it breaks image 9 and fixes images 10-17 (b01 1, b10 8).
	ref := map[string]string{"clean": "11111111111111110000", "pgd": "11111111110000000000"}
	mt := map[string]string{"clean": "11111111111111111110", "pgd": "11111111101111111100"}
	recs := []*Record{robustnessRecord(mainOnly, ref, true), robustnessRecord(multi, mt, true)}
	tab, err := Table2(recs, "fashion-mnist", "natural")
	if err != nil {
		t.Fatal(err)
	}
	md := tab.Markdown()
	// Intervals: scipy.stats.binomtest(k, 20).proportion_ci(0.95, "wilson") for k = 16, 10, 19, 17.
	// p-values: scipy.stats.binomtest(0, 3, 0.5).pvalue = 0.25 and binomtest(1, 9, 0.5).pvalue =
	// 0.0390625.
	for _, want := range []string{
		"| Model | clean | PGD untargeted | p clean | p PGD untargeted |",
		"| main only | 80.00 [58.40, 91.93] | 50.00 [29.93, 70.07] | – | – |",
		"| main+category | 95.00 [76.39, 99.11] | 85.00 [63.96, 94.76] | 0.250 | 0.039 |",
		"95% Wilson score interval (Wilson 1927) of the accuracy over the n = 20 test images",
		"exact McNemar test",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Table2 lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "predates") {
		t.Errorf("Table2 of records with per-image outcomes says they predate them:\n%s", md)
	}
	if p, _ := tab.At("main+category", "p PGD untargeted"); math.Abs(p-0.0390625) > 1e-12 {
		t.Errorf("p PGD untargeted = %.17g, want 0.0390625", p)
	}
	csv, err := tab.CSV()
	if err != nil || !strings.HasPrefix(csv, "Model,clean,clean lo,clean hi,PGD untargeted,PGD untargeted lo,PGD untargeted hi,p clean,p PGD untargeted\n") ||
		!strings.Contains(csv, "\nmain only,80.00,58.40,91.93,50.00,29.93,70.07,,\nmain+category,95.00,76.39,99.11,85.00,63.96,94.76,0.2") {
		t.Errorf("CSV = %q, %v", csv, err)
	}

	// The main-only record predates per-image outcomes: intervals still (from the accuracy and n),
	// p-values missing, and the note says why.
	recs[0] = robustnessRecord(mainOnly, ref, false)
	tab, err = Table2(recs, "fashion-mnist", "natural")
	if err != nil {
		t.Fatal(err)
	}
	md = tab.Markdown()
	for _, want := range []string{
		"| main only | 80.00 [58.40, 91.93] | 50.00 [29.93, 70.07] | – | – |",
		"| main+category | 95.00 [76.39, 99.11] | 85.00 [63.96, 94.76] | – | – |",
		"predates per-image outcomes (main_correct)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Table2 with an old record lacks %q:\n%s", want, md)
		}
	}
}

func TestConditionMainAccuracy(t *testing.T) {
	c := Condition{Name: "pgd", TaskAccuracy: []float64{0.75}, MainCorrect: "1101"}
	ok, err := c.MainOutcomes()
	if err != nil || len(ok) != 4 || !ok[0] || ok[2] {
		t.Errorf("MainOutcomes = %v, %v", ok, err)
	}
	if p, err := c.MainAccuracy(4); err != nil || p.K != 3 || p.N != 4 {
		t.Errorf("MainAccuracy(4) = %+v, %v; want 3/4", p, err)
	}
	if _, err := c.MainAccuracy(5); err == nil || !strings.Contains(err.Error(), "4 per-image outcomes for 5 images") {
		t.Errorf("MainAccuracy(5): error %v", err)
	}
	old := Condition{Name: "clean", TaskAccuracy: []float64{0.75}}
	if ok, err := old.MainOutcomes(); ok != nil || err != nil {
		t.Errorf("a record without outcomes: MainOutcomes = %v, %v; want nil, nil", ok, err)
	}
	if p, err := old.MainAccuracy(8); err != nil || p.K != 6 || p.N != 8 {
		t.Errorf("MainAccuracy from the accuracy = %+v, %v; want 6/8", p, err)
	}
	if _, err := old.MainAccuracy(10); err == nil {
		t.Errorf("accuracy 0.75 over 10 images: no error")
	}
	if _, err := (Condition{Name: "x", TaskAccuracy: []float64{0.5}, MainCorrect: "1101"}).MainAccuracy(4); err == nil || !strings.Contains(err.Error(), "TaskAccuracy 0.5") {
		t.Errorf("outcomes that disagree with the accuracy: error %v", err)
	}
	if _, err := (Condition{Name: "x", MainCorrect: "1a"}).MainOutcomes(); err == nil {
		t.Errorf("malformed MainCorrect: no error")
	}
}

// TestRejectionTableStatistics: each rate carries its Wilson interval from the record's counts, and the
// p-value is the exact McNemar test whose only discordant images are the rejected wrong ones.
func TestRejectionTableStatistics(t *testing.T) {
	spec := ModelSpec{Dataset: "fashion-mnist", Aux: []string{"category"}, Training: "pgd-at", Budget: Budgets["quick"], Seed: 1}
	adv := reject.Split{N: 100, Rejected: 10, Correct: 60, AcceptedCorrect: 58, RejectedWrong: 8,
		RejectionRate: 0.10, Accuracy: 0.60, RobustAccuracy: 0.68}
	clean := reject.Split{N: 100, Rejected: 2, Correct: 90, AcceptedCorrect: 89, RejectedWrong: 1, RejectionRate: 0.02, Accuracy: 0.9}
	res := RobustnessResults{Tasks: []string{"main", "category"}, N: 100, Conditions: []Condition{
		{Name: "clean", TaskAccuracy: []float64{0.9, 0.95}, Rejection: []reject.Report{{MinConflicts: 1, Clean: clean, Adversarial: clean}}},
		{Name: "pgd", TaskAccuracy: []float64{0.6, 0.8}, Rejection: []reject.Report{{MinConflicts: 1, Clean: clean, Adversarial: adv}}},
	}}
	tab, err := RejectionTable([]*Record{{Kind: RobustnessKind, Name: spec.Name(), Config: spec, Results: res}}, "fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	row, pgd := "pgd-at, main+category", ConditionTitles["pgd"]
	for _, c := range []struct {
		col  string
		k, n int
	}{{pgd, 60, 100}, {pgd + " +reject", 68, 100}, {pgd + " rejected", 10, 100}, {"clean rejected", 2, 100}} {
		v, err := tab.At(row, c.col)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := metric.Wilson(c.k, c.n, 0.95)
		i, j := slices.Index(tab.Rows, row), slices.Index(tab.Columns, c.col)
		if math.Abs(v-100*float64(c.k)/float64(c.n)) > 1e-9 || math.Abs(tab.Lo[i][j]-100*lo) > 1e-9 || math.Abs(tab.Hi[i][j]-100*hi) > 1e-9 {
			t.Errorf("%s: %v [%v, %v], want %v [%v, %v]", c.col, v, tab.Lo[i][j], tab.Hi[i][j], 100*float64(c.k)/float64(c.n), 100*lo, 100*hi)
		}
	}
	// 8 discordant images all one way: p = 2 * 0.5^8.
	if p, err := tab.At(row, "p "+pgd); err != nil || math.Abs(p-2*math.Pow(0.5, 8)) > 1e-12 {
		t.Errorf("p %v (%v), want %v", p, err, 2*math.Pow(0.5, 8))
	}
	if !slices.Contains(tab.PColumns, "p "+pgd) {
		t.Errorf("p columns %q", tab.PColumns)
	}
}

// TestTable3Intervals: the mean auxiliary accuracy carries the mean of the tasks' Wilson intervals at
// level 1 - 0.05/M (here M = 2: z = 2.2414), values computed independently of metric.Wilson from the
// closed form (Python's statistics.NormalDist for z).
func TestTable3Intervals(t *testing.T) {
	spec := ModelSpec{Dataset: "fashion-mnist", Aux: []string{"category", "region"}, Training: "pgd-at", Budget: Budgets["quick"], Seed: 1}
	res := RobustnessResults{Tasks: []string{"main", "category", "region"}, N: 100, Conditions: []Condition{
		{Name: "clean", TaskAccuracy: []float64{0.7, 0.9, 0.8}},
		{Name: "pgd", TaskAccuracy: []float64{0.5, 0.9, 0.8}},
	}}
	tab, err := Table3([]*Record{{Kind: RobustnessKind, Name: spec.Name(), Config: spec, Results: res}}, "fashion-mnist", "pgd-at")
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{ConditionTitles["clean"], ConditionTitles["pgd"]} {
		i, j := 0, slices.Index(tab.Columns, col)
		if j < 0 || tab.Lo == nil {
			t.Fatalf("columns %q, intervals %v", tab.Columns, tab.Lo)
		}
		if v := tab.Cells[i][j]; math.Abs(v-85) > 1e-9 || math.Abs(tab.Lo[i][j]-75.47566366942331) > 1e-6 || math.Abs(tab.Hi[i][j]-91.17584061328036) > 1e-6 {
			t.Errorf("%s: %v [%v, %v], want 85 [75.4757, 91.1758]", col, v, tab.Lo[i][j], tab.Hi[i][j])
		}
	}
	// An accuracy that is not a count over the record's images is an error, not an interval.
	res.Conditions[0].TaskAccuracy[1] = 0.905
	if _, err := Table3([]*Record{{Kind: RobustnessKind, Name: spec.Name(), Config: spec, Results: res}}, "fashion-mnist", "pgd-at"); err == nil ||
		!strings.Contains(err.Error(), "not a count over 100 images") {
		t.Errorf("accuracy 0.905 over 100 images: error %v", err)
	}
}

// TestARPTableIntervals: with per-image outcomes each ARP cell has a bootstrap interval around it that
// shrinks as the test set grows, and the same record renders the same interval twice.
func TestARPTableIntervals(t *testing.T) {
	spec := ModelSpec{Dataset: "fashion-mnist", Aux: []string{"category"}, Training: "natural", Budget: Budgets["quick"], Seed: 1}
	record := func(n int) *Record {
		clean, adv := make([][]bool, 2), make([][]bool, 2)
		for task := range clean {
			clean[task], adv[task] = make([]bool, n), make([]bool, n)
			for i := range n {
				clean[task][i] = i%10 != 0    // 90% clean accuracy
				adv[task][i] = i%10 >= 5+task // 50% and 40%
			}
		}
		arp := 100 * ((0.9-0.5)/0.9 + (0.9-0.4)/0.9) / 2
		res := DirectionsResults{Tasks: []string{"main", "category"}, N: n, CleanCorrect: []string{metric.EncodeOutcomes(clean[0]), metric.EncodeOutcomes(clean[1])},
			Runs: []DirectionRun{{Direction: "DGBA", Eps: 0.1, ARP: arp, TaskCorrect: []string{metric.EncodeOutcomes(adv[0]), metric.EncodeOutcomes(adv[1])}}}}
		return &Record{Kind: DirectionsKind, Name: spec.Name(), Config: spec, Results: res}
	}
	width := func(n int) float64 {
		tab, err := ARPTable(record(n))
		if err != nil {
			t.Fatal(err)
		}
		v, lo, hi := tab.Cells[0][0], tab.Lo[0][0], tab.Hi[0][0]
		if !(lo < v && v < hi) {
			t.Errorf("n %d: ARP %v outside its interval [%v, %v]", n, v, lo, hi)
		}
		again, _ := ARPTable(record(n))
		if again.Lo[0][0] != lo || again.Hi[0][0] != hi {
			t.Errorf("n %d: the interval changed between two renderings", n)
		}
		return hi - lo
	}
	// The interval's width goes as 1/sqrt(n): 16 times the images, about a quarter of the width.
	if w1, w16 := width(200), width(3200); !(w16 < w1/2.5 && w16 > w1/6) {
		t.Errorf("interval width %v on 200 images, %v on 3200: want about a quarter", w1, w16)
	}
}

// TestVulnerabilityTableWithIntervals: every accuracy cell gets the Wilson interval of its count over the
// record's N examples; an accuracy that is no count over N is an error.
func TestVulnerabilityTableWithIntervals(t *testing.T) {
	spec := ModelSpec{Dataset: "fashion-mnist", Aux: []string{"category"}, Training: "natural", Budget: Budgets["quick"], Seed: 1}
	res := VulnerabilityResults{Tasks: []string{"main", "category"}, N: 200, CleanAccuracy: []float64{0.9, 0.995},
		Sets: []AttackedSet{{Tasks: []int{0}, Label: "main", Vulnerability: 2, TaskAccuracy: []float64{0.1, 0.8},
			RelativeVulnerability: []*float64{nil, nil}}}}
	rec := &Record{Kind: VulnerabilityKind, Name: spec.Name(), Config: spec, Results: res}
	tab, err := VulnerabilityTableWithIntervals(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		row, col string
		k        int
	}{{"clean", "acc main (%)", 180}, {"clean", "acc category (%)", 199}, {"attack on main", "acc main (%)", 20}, {"attack on main", "acc category (%)", 160}} {
		i, j := slices.Index(tab.Rows, c.row), slices.Index(tab.Columns, c.col)
		lo, hi := metric.Wilson(c.k, 200, 0.95)
		if i < 0 || j < 0 || math.Abs(tab.Lo[i][j]-100*lo) > 1e-9 || math.Abs(tab.Hi[i][j]-100*hi) > 1e-9 {
			t.Errorf("%s / %s: interval [%v, %v], want Wilson of %d/200 [%v, %v]", c.row, c.col, tab.Lo[i][j], tab.Hi[i][j], c.k, 100*lo, 100*hi)
		}
	}
	if j := slices.Index(tab.Columns, "E|dL| (Def. 1)"); !math.IsNaN(tab.Lo[1][j]) {
		t.Errorf("the vulnerability got an interval %v; it is a point estimate", tab.Lo[1][j])
	}
	res.Sets[0].TaskAccuracy[0] = 0.1234
	rec.Results = res
	if _, err := VulnerabilityTableWithIntervals(rec); err == nil || !strings.Contains(err.Error(), "not a count over 200") {
		t.Errorf("accuracy 12.34%% over 200: error %v", err)
	}
}

// TestAttackSettingsNote: the note under a robustness table states the attacks' settings from the
// records' threat model and says when the budget capped CW below 001's iterations.
func TestAttackSettingsNote(t *testing.T) {
	mnist, err := attack.ThreatFor("mnist")
	if err != nil {
		t.Fatal(err)
	}
	capped := mnist
	capped.CWIterations = 50
	other := capped
	other.Eps = 0.1
	cases := []struct {
		name    string
		threats []attack.ThreatModel
		want    []string // substrings; nil: the note is empty
		notWant string
	}{
		{"capped", []attack.ThreatModel{capped}, []string{"eps 0.3; PGD-40 with step 0.01", "5 binary-search steps of 50 Adam iterations", "caps CW at 50 of the 10000"}, ""},
		{"as 001", []attack.ThreatModel{mnist}, []string{"5 binary-search steps of 10000 Adam iterations"}, "caps"},
		{"two threat models", []attack.ThreatModel{capped, other}, nil, ""},
		{"none", nil, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := attackSettingsNote(tc.threats)
			if tc.want == nil && got != "" {
				t.Fatalf("note %q, want none", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("note %q lacks %q", got, w)
				}
			}
			if tc.notWant != "" && strings.Contains(got, tc.notWant) {
				t.Errorf("note %q says %q", got, tc.notWant)
			}
		})
	}
}
