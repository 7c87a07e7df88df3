package experiment

import (
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

func TestModelSpecTaskSet(t *testing.T) {
	set, _ := task.ForDataset("fashion-mnist")
	custom, err := task.Random("mine", set.Main.Classes(), 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	spec := ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Aux: []string{"mine", "region"}, Training: "pgd-at",
		Budget: Budgets["quick"], Seed: 1, Maps: []task.Map{custom}}
	got, err := spec.TaskSet()
	if err != nil {
		t.Fatal(err)
	}
	if names := got.Names(); !slices.Equal(names, []string{"main", "mine", "region"}) || !slices.Equal(got.Aux[0].Table, custom.Table) {
		t.Errorf("TaskSet names %v, aux0 %v: want main, mine (the custom map), region", names, got.Aux[0].Table)
	}
	if spec.Name() != "fashion-mnist_lenet_main+mine+region_pgd-at_quick_seed1" {
		t.Errorf("Name() = %s", spec.Name())
	}
	// A spec without Maps encodes exactly as before the field existed, and a spec with Maps round-trips.
	plain := spec
	plain.Maps, plain.Aux = nil, []string{"category"}
	data, _ := json.Marshal(plain)
	if strings.Contains(string(data), "maps") {
		t.Errorf("a spec without custom maps encodes %s: want no maps field", data)
	}
	data, _ = json.Marshal(spec)
	var back ModelSpec
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, spec) {
		t.Errorf("round trip of a spec with maps: %v, %+v", err, back)
	}
	spec.Aux = []string{"nope"}
	if _, err := spec.TaskSet(); err == nil || !strings.Contains(err.Error(), `no auxiliary task "nope"`) {
		t.Errorf("unknown task: error %v", err)
	}
}

func TestExistingModelRecordsStillRead(t *testing.T) {
	dir, err := ResultsDir()
	if err != nil {
		t.Skip(err)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, ModelKind, "*.json"))
	for _, p := range paths {
		var spec ModelSpec
		var res ModelResults
		if err := ReadJSON(p, &Record{Config: &spec, Results: &res}); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func fp(v float64) *float64 { return &v }

func TestRankAndSelect(t *testing.T) {
	cands := []SearchCandidate{
		{Map: task.Map{Name: "a"}, Proxies: map[string]float64{metric.ProxyVulnerability: 3}},
		{Map: task.Map{Name: "b"}, Proxies: map[string]float64{metric.ProxyVulnerability: 1}},
		{Map: task.Map{Name: "c"}, Proxies: map[string]float64{}}, // no value: last
		{Map: task.Map{Name: "d"}, Proxies: map[string]float64{metric.ProxyVulnerability: 2}},
		{Map: task.Map{Name: "e"}, Proxies: map[string]float64{metric.ProxyVulnerability: 5}},
		{Map: task.Map{Name: "f"}, Proxies: map[string]float64{metric.ProxyVulnerability: 4}},
	}
	rankCandidates(cands, metric.ProxyVulnerability) // lower is better
	var ranks []int
	for _, c := range cands {
		ranks = append(ranks, c.Rank)
	}
	if want := []int{2, 0, 5, 1, 4, 3}; !slices.Equal(ranks, want) {
		t.Errorf("ranks %v, want %v", ranks, want)
	}
	// Top 2 (ranks 0, 1 = b, d), then 2 spread over ranks 2..5: the first and the last (a, c).
	selectCandidates(cands, 2, 2)
	var sel []string
	for _, c := range cands {
		sel = append(sel, c.Selected)
	}
	if want := []string{"spread", "top", "spread", "top", "", ""}; !slices.Equal(sel, want) {
		t.Errorf("selection %q, want %q", sel, want)
	}
	// Higher is better for clean accuracy.
	cands[0].Proxies[metric.ProxyCleanAccuracy], cands[1].Proxies[metric.ProxyCleanAccuracy] = 0.9, 0.8
	rankCandidates(cands, metric.ProxyCleanAccuracy)
	if cands[0].Rank != 0 || cands[1].Rank != 1 {
		t.Errorf("clean-accuracy ranks %d, %d: want 0, 1", cands[0].Rank, cands[1].Rank)
	}
}

func TestCanonicalPartition(t *testing.T) {
	if canonicalPartition([]int{2, 2, 0, 1}) != canonicalPartition([]int{0, 0, 1, 2}) {
		t.Error("relabelled partitions differ")
	}
	if canonicalPartition([]int{0, 1, 0}) == canonicalPartition([]int{0, 0, 1}) {
		t.Error("different partitions are equal")
	}
}

func TestSearchCorrelationsAndComparison(t *testing.T) {
	v := metric.ProxyVulnerability
	cands := []SearchCandidate{
		{Map: task.Map{Name: "r1"}, Family: FamilyRandom, Proxies: map[string]float64{v: 1}, CleanAccuracy: fp(0.7), RobustAccuracy: fp(0.50)},
		{Map: task.Map{Name: "r2"}, Family: FamilyGroup, Proxies: map[string]float64{v: 2}, CleanAccuracy: fp(0.7), RobustAccuracy: fp(0.40)},
		{Map: task.Map{Name: "r3"}, Family: FamilySeparate, Proxies: map[string]float64{v: 3}, CleanAccuracy: fp(0.7), RobustAccuracy: fp(0.45)},
		{Map: task.Map{Name: "untrained"}, Family: FamilyRandom, Proxies: map[string]float64{v: 9}},
		// a selected candidate whose PGD-AT ended at chance: on file, never a result
		{Map: task.Map{Name: "failed"}, Family: FamilySeparate, Proxies: map[string]float64{v: 0.5}, Selected: "top", Model: "m", Failed: "failed run"},
		{Map: task.Map{Name: "twin"}, Family: FamilyBuiltin, SameAs: "r2", Proxies: map[string]float64{v: 2}, CleanAccuracy: fp(0.7), RobustAccuracy: fp(0.40)},
		{Map: task.Map{Name: "category"}, Family: FamilyBuiltin, Proxies: map[string]float64{v: 4}, CleanAccuracy: fp(0.7), RobustAccuracy: fp(0.55)},
	}
	corr, err := correlations(cands)
	if err != nil {
		t.Fatal(err)
	}
	// Only the vulnerability proxy has values; the twin of r2 counts once; x = 1 2 3 4, y = 50 40 45 55
	// (hand: r = 0.4, rho = 0.4).
	if len(corr) != 1 || corr[0].Proxy != v || corr[0].N != 4 || abs(corr[0].PearsonR-0.4) > 1e-9 || abs(corr[0].SpearmanRho-0.4) > 1e-9 {
		t.Errorf("correlations %+v, want one row for %s, n 4, r = rho = 0.4", corr, v)
	}
	if b := bestCandidate(cands); b != "r1" {
		t.Errorf("best %q, want r1 (hand-made tasks excluded)", b)
	}
	rec := &Record{Kind: TaskSearchKind, Name: "x", Config: SearchSpec{Dataset: "fashion-mnist", Budget: Budgets["quick"], Seed: 1},
		Results: SearchResults{Candidates: cands, Best: "r1", Correlations: corr, MainOnly: MainOnlyResult{CleanAccuracy: 0.8, RobustAccuracy: 0.52}}}
	tab, err := SearchComparison(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"main only (search)", "main+twin (001, search)", "main+category (001, search)", "main+r1 (best searched)"}; !slices.Equal(tab.Rows, want) {
		t.Errorf("rows %q, want %q", tab.Rows, want)
	}
	// a = 0.525 on 200 examples: 2 sqrt(2 * 0.525 * 0.475 / 200) = 9.99 points.
	if got := SearchVerdict(tab, 200); !strings.HasPrefix(got, "no: main+category (001, search) is 5.0 points more robust") ||
		!strings.HasSuffix(got, "within two standard errors (10.0 points on 200 examples)") {
		t.Errorf("verdict %q", got)
	}
	ct, err := SearchCandidatesTable(rec)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(ct.Rows, "failed (confusion-separate, FAILED run)"); i < 0 {
		t.Errorf("candidates table rows %q: no FAILED row", ct.Rows)
	} else if c, r := ct.Cells[i][len(ct.Columns)-2], ct.Cells[i][len(ct.Columns)-1]; !math.IsNaN(c) || !math.IsNaN(r) {
		t.Errorf("failed candidate shows accuracies %v / %v, want none", c, r)
	}
	// Robustness records of the same dataset, budget and seed are rows only for the search's architecture:
	// the same combination trained on another net would repeat a row name and answer another question.
	robust := func(arch string, pgd float64) *Record {
		return &Record{Kind: RobustnessKind, Name: arch, Config: ModelSpec{Dataset: "fashion-mnist", Arch: arch, Aux: []string{"category"},
			Training: "pgd-at", Budget: Budgets["quick"], Seed: 1},
			Results: RobustnessResults{Conditions: []Condition{{Name: "clean", TaskAccuracy: []float64{0.7}}, {Name: "pgd", TaskAccuracy: []float64{pgd}}}}}
	}
	rec.Config = SearchSpec{Dataset: "fashion-mnist", Arch: "lenet", Budget: Budgets["quick"], Seed: 1}
	if tab, err = SearchComparison(rec, []*Record{robust("", 0.48), robust("smallcnn", 0.6)}); err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(tab.Rows, "main+category (robustness record)"); i < 0 || tab.Cells[i][1] != 48 || len(tab.Rows) != 5 {
		t.Errorf("rows %q cells %v: want the lenet record's row alone (PGD 48%%)", tab.Rows, tab.Cells)
	}
	// A failed main-only model is not a row either.
	res := rec.Results.(SearchResults)
	res.MainOnly = MainOnlyResult{Model: "m", Failed: "failed run"}
	rec.Results = res
	if tab, err = SearchComparison(rec, nil); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(tab.Rows, "main only (search)") {
		t.Errorf("rows %q: a failed main-only model is shown as a result", tab.Rows)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestSearchSpecCheck(t *testing.T) {
	spec, err := NewSearchSpec("fashion-mnist", Budgets["quick"], 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.check(); err != nil {
		t.Errorf("quick preset: %v", err)
	}
	if spec.Name() != "fashion-mnist_lenet_quick_seed1" {
		t.Errorf("Name() = %s", spec.Name())
	}
	bad := spec
	bad.Size.Top, bad.Size.Spread = 1, 1
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), "size.top 1 + size.spread 1") {
		t.Errorf("two trained candidates: error %v", err)
	}
	bad = spec
	bad.PrimaryProxy = "luck"
	if err := bad.check(); err == nil || !strings.Contains(err.Error(), `primary_proxy "luck"`) {
		t.Errorf("unknown proxy: error %v", err)
	}
	if _, err := NewSearchSpec("fashion-mnist", Budget{Name: "tiny"}, 1); err == nil {
		t.Error("budget without sizes: want an error")
	}
}
