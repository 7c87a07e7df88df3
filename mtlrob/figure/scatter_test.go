package figure

import (
	"os"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

func TestScatterFit(t *testing.T) {
	groups := []ScatterGroup{
		{Name: "random", X: []float64{1, 2}, Y: []float64{2, 1}},
		{Name: "confusion-group", X: []float64{3, 4, 5}, Y: []float64{4, 3, 5}},
	}
	fig, err := ScatterFit("toy proxy", "proxy", "robust accuracy (%)", groups)
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 700, 500)
	// x = 1..5, y = 2 1 4 3 5: r = rho = 0.8, p = 0.104 (see metric.TestCorrelateProxy).
	for _, want := range []string{"toy proxy", "r = 0.80 (p = 0.1)", "rho = 0.80", "n = 5", "random", "confusion-group", "least-squares fit", "robust accuracy (%)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	for name, g := range map[string][]ScatterGroup{
		"unpaired":   {{Name: "a", X: []float64{1, 2, 3}, Y: []float64{1, 2}}},
		"two points": {{Name: "a", X: []float64{1, 2}, Y: []float64{1, 2}}},
		"constant":   {{Name: "a", X: []float64{1, 1, 1}, Y: []float64{1, 2, 3}}},
	} {
		if _, err := ScatterFit("x", "p", "y", g); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// toySearch is a task-search record with four trained candidates and one untrained.
func toySearch() *experiment.Record {
	f := func(v float64) *float64 { return &v }
	classes := []string{"a", "b", "c", "d"}
	m := func(name string, table ...int) task.Map {
		return task.Map{Name: name, SourceClasses: classes, TargetClasses: []string{"0", "1"}, Table: table}
	}
	px := func(v, c float64) map[string]float64 {
		return map[string]float64{metric.ProxyVulnerability: v, metric.ProxyCleanAccuracy: c}
	}
	cands := []experiment.SearchCandidate{
		{Map: m("random-k2-0", 0, 1, 0, 1), Family: experiment.FamilyRandom, Proxies: px(1, 0.7), CleanAccuracy: f(0.7), RobustAccuracy: f(0.5)},
		{Map: m("group-k2", 0, 0, 1, 1), Family: experiment.FamilyGroup, Proxies: px(2, 0.72), CleanAccuracy: f(0.71), RobustAccuracy: f(0.42)},
		{Map: m("separate-k2", 0, 1, 1, 0), Family: experiment.FamilySeparate, Proxies: px(1.5, 0.69), CleanAccuracy: f(0.69), RobustAccuracy: f(0.47)},
		{Map: m("random-k2-3", 1, 0, 0, 0), Family: experiment.FamilyRandom, Proxies: px(3, 0.6)},
		{Map: m("category", 0, 0, 0, 1), Family: experiment.FamilyBuiltin, Proxies: px(1.2, 0.75), CleanAccuracy: f(0.72), RobustAccuracy: f(0.52)},
	}
	var corr []metric.ProxyCorrelation
	for _, p := range []string{metric.ProxyCleanAccuracy, metric.ProxyVulnerability} {
		var x, y []float64
		for _, c := range cands {
			if c.RobustAccuracy != nil {
				x, y = append(x, c.Proxies[p]), append(y, *c.RobustAccuracy)
			}
		}
		c, _ := metric.CorrelateProxy(p, x, y)
		corr = append(corr, c)
	}
	return &experiment.Record{Kind: experiment.TaskSearchKind, Name: "toy_lenet_quick_seed1",
		Config:  experiment.SearchSpec{Dataset: "toy", Budget: experiment.Budgets["quick"], Seed: 1},
		Results: experiment.SearchResults{Candidates: cands, Correlations: corr, Best: "random-k2-0", MainOnly: experiment.MainOnlyResult{CleanAccuracy: 0.75, RobustAccuracy: 0.48}}}
}

func TestSearchFigures(t *testing.T) {
	rec := toySearch()
	fig, err := ProxyScatters("toy search", rec)
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 1200, 500)
	for _, want := range []string{"toy search", "short-run clean accuracy", "short-run relative vulnerability", "hand-made", "n = 4"} {
		if !strings.Contains(svg, want) {
			t.Errorf("proxy scatters SVG lacks %q", want)
		}
	}
	bars, err := SearchBars("toy bars", rec)
	if err != nil {
		t.Fatal(err)
	}
	_, svg = savedPNG(t, bars, 600, 400)
	// main only first, then by robust accuracy: category (52), random-k2-0 (50), separate (47), group (42).
	order := []string{"main only", "category (001)", "random-k2-0", "separate-k2", "group-k2"}
	last := -1
	for _, name := range order {
		i := strings.Index(svg, ">"+name+"<")
		if i < 0 || i < last {
			t.Errorf("bars SVG: %q missing or out of order %v", name, order)
		}
		last = i
	}
	if dir := os.Getenv("MTLROB_FIGURE_PREVIEW"); dir != "" { // for looking at the figures by eye
		fig.Save(dir, "toy_proxies")
		bars.Save(dir, "toy_bars")
	}
	if _, err := ProxyScatters("x", &experiment.Record{Kind: "model"}); err == nil {
		t.Error("a model record: accepted")
	}
}
