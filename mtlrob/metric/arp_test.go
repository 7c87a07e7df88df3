package metric

import (
	"strings"
	"testing"
)

func TestRelativeDrop(t *testing.T) {
	cases := []struct {
		name string
		m    Measurement
		want float64
		err  string
	}{
		{"accuracy drop counts positive", Measurement{Before: 0.8, After: 0.2, HigherIsBetter: true}, 75, ""},
		{"accuracy gain counts negative", Measurement{Before: 0.5, After: 0.6, HigherIsBetter: true}, -20, ""},
		{"loss rise counts positive", Measurement{Before: 0.5, After: 2, HigherIsBetter: false}, 300, ""},
		{"error fall counts negative", Measurement{Before: 4, After: 3}, -25, ""},
		{"unchanged", Measurement{Before: 7, After: 7, HigherIsBetter: true}, 0, ""},
		{"zero before", Measurement{Name: "mIoU", Before: 0, After: 0.1, HigherIsBetter: true}, 0, "measurement mIoU: value 0 before the attack"},
	}
	for _, c := range cases {
		got, err := RelativeDrop(c.m)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !near(got, c.want, 1e-12) {
			t.Errorf("%s: RelativeDrop = %g, %v; want %g", c.name, got, err, c.want)
		}
	}
}

func TestARP(t *testing.T) {
	// Task 0 (segmentation-like): mIoU 0.5 -> 0.25 (50) and pixel accuracy 0.8 -> 0.6 (25): 37.5.
	// Task 1 (depth-like): error 2 -> 3 (50). ARP = (37.5 + 50)/2 = 43.75.
	tasks := [][]Measurement{
		{{Name: "mIoU", Before: 0.5, After: 0.25, HigherIsBetter: true}, {Name: "pixel acc", Before: 0.8, After: 0.6, HigherIsBetter: true}},
		{{Name: "abs err", Before: 2, After: 3}},
	}
	per, err := TaskARPs(tasks)
	if err != nil || !near(per[0], 37.5, 1e-12) || !near(per[1], 50, 1e-12) {
		t.Errorf("TaskARPs = %v, %v; want [37.5 50]", per, err)
	}
	got, err := ARP(tasks)
	if err != nil || !near(got, 43.75, 1e-12) {
		t.Errorf("ARP = %g, %v; want 43.75", got, err)
	}
	// Tasks weigh equally whatever their number of metrics: the task mean comes first.
	if _, err := ARP([][]Measurement{{}}); err == nil || !strings.Contains(err.Error(), "task 0: metric: TaskARP: no metrics") {
		t.Errorf("task without metrics: error %v", err)
	}
	ms, err := AccuracyMeasurements([]float64{0.9, 0.5}, []float64{0.45, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ARP(ms); !near(got, 25, 1e-12) { // (50 + 0)/2
		t.Errorf("ARP of accuracies 0.9->0.45 and 0.5->0.5 = %g, want 25", got)
	}
	if _, err := AccuracyMeasurements([]float64{1}, []float64{1, 2}); err == nil || !strings.Contains(err.Error(), "1 accuracies before and 2 after") {
		t.Errorf("mismatched accuracies: error %v", err)
	}
}

func TestTransferability(t *testing.T) {
	cases := []struct {
		name   string
		arp    []float64
		target int
		want   float64
		err    string
	}{
		// (20 + 10)/2 / 60 = 0.25
		{"by hand", []float64{60, 20, 10}, 0, 0.25, ""},
		{"target in the middle", []float64{20, 40, 20}, 1, 0.5, ""},
		{"full transfer", []float64{30, 30}, 1, 1, ""},
		{"no transfer", []float64{0, 50}, 1, 0, ""},
		{"one task", []float64{10}, 0, 0, "1 tasks"},
		{"bad target", []float64{10, 20}, 2, 0, "target 2"},
		{"zero target", []float64{0, 20}, 0, 0, "ARP 0"},
	}
	for _, c := range cases {
		got, err := Transferability(c.arp, c.target)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !near(got, c.want, 1e-12) {
			t.Errorf("%s: Transferability = %g, %v; want %g", c.name, got, err, c.want)
		}
	}
}
