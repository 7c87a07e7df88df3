package figure

import (
	"math"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// run makes a series for the given heads whose accuracy grows from base with the step.
func run(label string, base float64, tasks ...string) Series {
	sc := func(acc float64) training.Scores {
		s := training.Scores{Tasks: tasks, N: 100}
		for range tasks {
			s.Loss = append(s.Loss, 1-acc)
			s.Accuracy = append(s.Accuracy, acc)
		}
		return s
	}
	c := training.Curve{Step: []int{50, 100, 150}}
	for i := range c.Step {
		c.Train = append(c.Train, sc(base+0.05*float64(i)+0.01))
		c.Test = append(c.Test, sc(base+0.05*float64(i)))
	}
	return Series{Label: label, Curve: c, Final: sc(base + 0.1)}
}

func toyRuns() []Series {
	return []Series{
		run("main only", 0.70, "main"),
		run("main+category", 0.72, "main", "category"),
		run("main+region", 0.71, "main", "region"),
		run("main+category+region", 0.73, "main", "category", "region"),
	}
}

func TestHeadComparison(t *testing.T) {
	fig, err := HeadComparison("toy", "main", toyRuns())
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 1500, 600)
	for _, want := range []string{"toy: main head, accuracy", "main only", "main+category+region", "test", "train"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// Only the runs with the head are drawn.
	fig, err = HeadComparison("toy", "region", toyRuns())
	if err != nil {
		t.Fatal(err)
	}
	if _, svg := savedPNG(t, fig, 1500, 600); strings.Contains(svg, "main+category<") || strings.Contains(svg, "main only") {
		t.Error("the region figure lists runs that have no region head")
	}
	if _, err := HeadComparison("toy", "parity", toyRuns()); err == nil || !strings.Contains(err.Error(), "parity") {
		t.Errorf("a head no run has: error %v", err)
	}
	if _, err := HeadComparison("toy", "main", []Series{{Label: "empty"}}); err == nil {
		t.Error("a run without curve points was accepted")
	}
}

func TestHeadsComparison(t *testing.T) {
	fig, err := HeadsComparison("toy heads", toyRuns())
	if err != nil {
		t.Fatal(err)
	}
	if len(fig.Panels) != 2 || len(fig.Panels[0]) != 3 {
		t.Fatalf("panels %dx%d, want 2 rows (accuracy, loss) x 3 heads", len(fig.Panels), len(fig.Panels[0]))
	}
	_, svg := savedPNG(t, fig, 1500, 900)
	for _, want := range []string{"toy heads", "main head: test accuracy", "category head: test loss", "region head: test accuracy"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestFinalAccuracy(t *testing.T) {
	fig, err := FinalAccuracy("toy final", toyRuns())
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 900, 600)
	// Final accuracies are base+0.1: each value written over its bar, once per head that has it.
	for want, n := range map[string]int{"0.800": 1, "0.820": 2, "0.810": 2, "0.830": 3} {
		if got := strings.Count(svg, ">"+want+"<"); got != n {
			t.Errorf("value %s appears %d times, want %d", want, got, n)
		}
	}
	if _, err := FinalAccuracy("none", nil); err == nil {
		t.Error("no runs accepted")
	}
	if _, err := FinalAccuracy("no final", []Series{{Label: "x"}}); err == nil {
		t.Error("a run without final scores was accepted")
	}
}

func TestNaturalSeries(t *testing.T) {
	tasks := []string{"main", "region"}
	sc := training.Scores{Tasks: tasks, Loss: []float64{1, 1}, Accuracy: []float64{0.5, 0.5}, N: 1}
	rec := &experiment.Record{Name: "r", Results: experiment.NaturalResults{Tasks: tasks, Final: sc,
		Curve: training.Curve{Step: []int{1}, Train: []training.Scores{sc}, Test: []training.Scores{sc}}}}
	s, err := NaturalSeries(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 1 || s[0].Label != "main+region" || s[0].Final.N != 1 {
		t.Fatalf("series %+v", s)
	}
	if _, err := NaturalSeries(&experiment.Record{Name: "raw", Results: map[string]any{}}); err == nil {
		t.Fatal("a record read without types was accepted")
	}
}

// TestAccuracyBars: each test-accuracy point of a curve gets the Wilson interval of its count over the
// point's examples; a curve without example counts gets none.
func TestAccuracyBars(t *testing.T) {
	c := training.Curve{Step: []int{10, 20}, Test: []training.Scores{
		{Tasks: []string{"main"}, Accuracy: []float64{0.9}, N: 100},
		{Tasks: []string{"main"}, Accuracy: []float64{0.5}, N: 100},
	}}
	eb, err := accuracyBars(c, 0, RunColor(0))
	if err != nil || eb == nil {
		t.Fatalf("bars %v, error %v", eb, err)
	}
	for i, k := range []int{90, 50} {
		lo, hi := metric.Wilson(k, 100, 0.95)
		y := float64(k) / 100
		if dlo, dhi := eb.YErrors[i].Low, eb.YErrors[i].High; math.Abs(dlo-(y-lo)) > 1e-12 || math.Abs(dhi-(hi-y)) > 1e-12 {
			t.Errorf("point %d: error bar -%v/+%v, want -%v/+%v", i, dlo, dhi, y-lo, hi-y)
		}
	}
	c.Test[1].N = 0
	if eb, err := accuracyBars(c, 0, RunColor(0)); err != nil || eb != nil {
		t.Errorf("a curve without counts: bars %v, error %v; want none", eb, err)
	}
}
