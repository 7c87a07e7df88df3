package figure

import (
	"math"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/metric"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
)

// robustnessRecord builds a robustness record whose condition c has task accuracies acc[c] and, when
// the model has auxiliary tasks, a k = 1 rejection report with the given rejection rate.
func robustnessRecord(training string, aux []string, acc map[string][]float64, rejected map[string]float64) *experiment.Record {
	spec := experiment.ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Aux: aux, Training: training, Seed: 1}
	res := experiment.RobustnessResults{Tasks: append([]string{"main"}, aux...), N: 100}
	for _, name := range []string{"clean", "pgd-targeted", "pgd", "cw", "adaptive"} {
		a, ok := acc[name]
		if !ok {
			continue
		}
		c := experiment.Condition{Name: name, TaskAccuracy: a}
		if len(aux) > 0 {
			split := reject.Split{N: 100, Accuracy: a[0], AcceptedAccuracy: a[0] + 0.01, RobustAccuracy: a[0] + rejected[name], RejectionRate: rejected[name]}
			c.Rejection = []reject.Report{{MinConflicts: 1, Adversarial: split}, {MinConflicts: 2, Adversarial: reject.Split{Accuracy: 0.5}}}
		}
		res.Conditions = append(res.Conditions, c)
	}
	return &experiment.Record{Kind: experiment.RobustnessKind, Name: spec.Name(), Config: spec, Results: res}
}

// TestAuxMeanInterval: the mean of two Wilson intervals at level 0.975 each, against values computed
// from the closed form outside metric (z = 2.2414 from Python's statistics.NormalDist).
func TestAuxMeanInterval(t *testing.T) {
	for _, c := range []struct {
		name   string
		accs   []float64
		n      int
		lo, hi float64 // NaN: no interval
	}{
		{"two tasks", []float64{0.9, 0.8}, 100, 75.47566366942331, 91.17584061328036},
		{"no images", []float64{0.9, 0.8}, 0, math.NaN(), math.NaN()},
		{"not a count", []float64{0.905, 0.8}, 100, math.NaN(), math.NaN()},
	} {
		lo, hi := auxMeanInterval(c.accs, c.n)
		if math.IsNaN(c.lo) {
			if !math.IsNaN(lo) || !math.IsNaN(hi) {
				t.Errorf("%s: [%v, %v], want none", c.name, lo, hi)
			}
			continue
		}
		if math.Abs(lo-c.lo) > 1e-6 || math.Abs(hi-c.hi) > 1e-6 {
			t.Errorf("%s: [%v, %v], want [%v, %v]", c.name, lo, hi, c.lo, c.hi)
		}
	}
}

func TestRobustnessBars(t *testing.T) {
	single := robustnessRecord("natural", []string{}, map[string][]float64{"clean": {0.92}, "pgd": {0.07}, "cw": {0.222}}, nil)
	multi := robustnessRecord("natural", []string{"category", "region"}, map[string][]float64{
		"clean": {0.918, 1, 0.986}, "pgd": {0.07, 0.73, 0.69}, "cw": {0.196, 0.98, 0.92}, "adaptive": {0.274, 0.5, 0.4},
	}, map[string]float64{"clean": 0.008, "pgd": 0.02, "cw": 0.13, "adaptive": 0.118})
	// Records may hold pointers (a caller decoding JSON itself) as well as values (the Read and LoadOr functions).
	spec, res := multi.Config.(experiment.ModelSpec), multi.Results.(experiment.RobustnessResults)
	multiPtr := &experiment.Record{Kind: multi.Kind, Name: multi.Name, Config: &spec, Results: &res}

	fig, err := RobustnessBars("main head", []*experiment.Record{single, multiPtr}, nil, "main")
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 700, 500)
	for _, want := range []string{"natural, main only", "natural, main+category+region", "92.0", "91.8", "22.2", "27.4", "adaptive", "untargeted", "main-task accuracy (%, with 95% Wilson intervals)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("main: SVG lacks %q", want)
		}
	}
	if strings.Contains(svg, "targeted<") && !strings.Contains(svg, "untargeted") {
		t.Error("a condition no record has is drawn")
	}
	// The auxiliary panel averages the auxiliary heads and leaves out the single-task model.
	fig, err = RobustnessBars("aux heads", []*experiment.Record{single, multi}, func(s experiment.ModelSpec) string { return "M:" + s.Training }, "aux")
	if err != nil {
		t.Fatal(err)
	}
	_, svg = savedPNG(t, fig, 500, 500)
	for _, want := range []string{"M:natural", "99.3", "71.0", "95.0", "45.0", "mean auxiliary-task accuracy (%, 95% intervals)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("aux: SVG lacks %q", want)
		}
	}
	if _, err := RobustnessBars("none", []*experiment.Record{single}, nil, "aux"); err == nil {
		t.Error("aux bars of a single-task model accepted")
	}
	if _, err := RobustnessBars("bad head", []*experiment.Record{single}, nil, "region"); err == nil {
		t.Error("head \"region\" accepted")
	}
	wrong := &experiment.Record{Kind: "model", Name: "m", Config: spec, Results: experiment.ModelResults{}}
	if _, err := RobustnessBars("wrong kind", []*experiment.Record{wrong}, nil, "main"); err == nil {
		t.Error("a model record accepted as a robustness record")
	}
}

func TestRejectionAndAdaptiveBars(t *testing.T) {
	multi := robustnessRecord("pgd-at", []string{"category"}, map[string][]float64{
		"clean": {0.8, 0.95}, "pgd-targeted": {0.6, 0.9}, "pgd": {0.5, 0.9}, "adaptive": {0.4, 0.7},
	}, map[string]float64{"clean": 0.01, "pgd-targeted": 0.2, "pgd": 0.1, "adaptive": 0.05})
	fig, err := RejectionBars("rejection", multi, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 700, 500)
	// pgd-targeted: accuracy 60, accepted 61, robust 80, rejected 20.
	for _, want := range []string{"without rejection", "accepted inputs only", "rejection rate", "60.0", "61.0", "80.0", "20.0", "1.0"} {
		if !strings.Contains(svg, want) {
			t.Errorf("rejection: SVG lacks %q", want)
		}
	}
	if _, err := RejectionBars("k = 3", multi, 3); err == nil {
		t.Error("a k without reports accepted")
	}
	single := robustnessRecord("natural", []string{}, map[string][]float64{"clean": {0.9}, "pgd": {0.1}}, nil)
	if _, err := RejectionBars("single", single, 1); err == nil {
		t.Error("rejection bars of a single-task model accepted")
	}

	fig, err = AdaptiveBars("adaptive", []*experiment.Record{single, multi}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, svg = savedPNG(t, fig, 900, 500)
	// Rejection 20 vs 5; robust accuracy 80 vs 45.
	for _, want := range []string{"gray-box PGD targeted", "adaptive (white-box)", "20.0", "5.0", "80.0", "45.0", "main+category"} {
		if !strings.Contains(svg, want) {
			t.Errorf("adaptive: SVG lacks %q", want)
		}
	}
	if strings.Contains(svg, "main only") {
		t.Error("the single-task model, which has no adaptive attack, is drawn")
	}
	if _, err := AdaptiveBars("none", []*experiment.Record{single}, nil); err == nil {
		t.Error("adaptive bars without any adaptive condition accepted")
	}
}

func directionsRecord() *experiment.Record {
	spec := experiment.ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Aux: []string{"category"}, Training: "natural", Seed: 1}
	res := experiment.DirectionsResults{Tasks: []string{"main", "category"}, CleanAccuracy: []float64{0.9, 0.99}}
	for _, eps := range []float64{0.05, 0.1, 0.2} {
		for i, d := range []string{"Single(0)", "Single(1)", "DGBA"} {
			arp := 100 * eps * float64(i+1)
			res.Runs = append(res.Runs, experiment.DirectionRun{Direction: d, Eps: eps, TaskARP: []float64{arp + 1, arp - 1}, ARP: arp})
		}
	}
	return &experiment.Record{Kind: experiment.DirectionsKind, Name: spec.Name(), Config: &spec, Results: &res}
}

func TestARPOverEpsAndHeatmap(t *testing.T) {
	rec := directionsRecord()
	fig, err := ARPOverEps("ARP", rec)
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 900, 500)
	for _, want := range []string{"Single(main)", "Single(category)", "DGBA", ">0.05<", ">0.2<", "ARP (%)"} {
		if !strings.Contains(svg, want) {
			t.Errorf("lines: SVG lacks %q", want)
		}
	}
	// At eps 0.1 (the nearest budget to 0.11): Single(1) has ARP 20, task ARPs 21 and 19.
	fig, err = TaskARPHeatmap("", rec, 0.11)
	if err != nil {
		t.Fatal(err)
	}
	_, svg = savedPNG(t, fig, 500, 400)
	for _, want := range []string{"eps 0.1", "Single(category)", "mean (ARP)", ">21.0<", ">19.0<", ">20.0<", ">31.0<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("heatmap: SVG lacks %q", want)
		}
	}
	if strings.Contains(svg, ">41.0<") {
		t.Error("the heatmap shows a run of another budget")
	}
	empty := &experiment.Record{Kind: experiment.DirectionsKind, Config: experiment.ModelSpec{}, Results: experiment.DirectionsResults{}}
	if _, err := ARPOverEps("empty", empty); err == nil {
		t.Error("a record without runs accepted")
	}
}

func TestDirectionLabel(t *testing.T) {
	tasks := []string{"main", "category"}
	for in, want := range map[string]string{"Single(0)": "Single(main)", "Single(1)": "Single(category)", "Single(7)": "Single(7)", "WGD(paper)": "WGD(paper)", "DGBA": "DGBA"} {
		if got := DirectionLabel(in, tasks); got != want {
			t.Errorf("DirectionLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModelSeries(t *testing.T) {
	spec := experiment.ModelSpec{Dataset: "fashion-mnist", Aux: []string{"category"}, Training: "mp-at"}
	res := experiment.ModelResults{Curve: run("x", 0.5, "main", "category").Curve}
	series, err := ModelSeries(nil, &experiment.Record{Kind: "model", Config: spec, Results: res}, &experiment.Record{Kind: "model", Config: &spec, Results: &res})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].Label != "mp-at, main+category" || len(series[1].Curve.Step) != 3 {
		t.Fatalf("series %+v", series)
	}
	if _, err := ModelSeries(nil, robustnessRecord("natural", nil, map[string][]float64{"clean": {1}}, nil)); err == nil {
		t.Error("a robustness record accepted as a model record")
	}
	if math.IsNaN(mean([]float64{1, 2})) || !math.IsNaN(mean(nil)) {
		t.Error("mean")
	}
}

func TestModelLabels(t *testing.T) {
	s := experiment.ModelSpec{Aux: []string{"category", "region"}, Training: "pgd-at"}
	if got := ModelLabel(s); got != "pgd-at, main+category+region" {
		t.Errorf("ModelLabel = %q", got)
	}
	if got := ComboOf(experiment.ModelSpec{Aux: []string{}}); got != "main only" {
		t.Errorf("ComboOf(main only) = %q", got)
	}
	if got := TrainingOf(s); got != "pgd-at" {
		t.Errorf("TrainingOf = %q", got)
	}
}

func TestWilsonPercent(t *testing.T) {
	for _, c := range []struct{ k, n int }{{0, 0}, {5, 0}, {-1, 10}, {11, 10}} {
		if lo, hi := wilsonPercent(c.k, c.n); !math.IsNaN(lo) || !math.IsNaN(hi) {
			t.Errorf("wilsonPercent(%d, %d) = [%v, %v], want no interval", c.k, c.n, lo, hi)
		}
	}
	lo, hi := wilsonPercent(60, 100)
	l, h := metric.Wilson(60, 100, 0.95)
	if lo != 100*l || hi != 100*h || !(lo < 60 && 60 < hi) {
		t.Errorf("wilsonPercent(60, 100) = [%v, %v], want 100 x [%v, %v] around 60", lo, hi, l, h)
	}
}
