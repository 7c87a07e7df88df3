package training

import "testing"

func TestSelectionEligible(t *testing.T) {
	curve := func(steps []int, losses []float64) Curve {
		var c Curve
		for i, s := range steps {
			c.Step = append(c.Step, s)
			c.Test = append(c.Test, Scores{Tasks: []string{"main"}, Loss: []float64{losses[i]}})
		}
		return c
	}
	steps := []int{100, 200, 300, 400}
	for _, tc := range []struct {
		name   string
		sel    Selection
		losses []float64
		want   bool // whether the last point is eligible
	}{
		{"no condition", Selection{}, []float64{1, 0.8, 0.7, 2}, true},
		{"before From", Selection{From: 500}, []float64{1, 0.8, 0.7, 0.6}, false},
		{"at From", Selection{From: 400}, []float64{1, 0.8, 0.7, 0.6}, true},
		{"test loss at its lowest", Selection{MaxTestLossRise: 0.1}, []float64{1, 0.8, 0.7, 0.6}, true},
		{"within 10% of the lowest", Selection{MaxTestLossRise: 0.1}, []float64{1, 0.6, 0.62, 0.65}, true},
		{"risen by more than 10% (robust overfitting)", Selection{MaxTestLossRise: 0.1}, []float64{1, 0.6, 0.65, 0.7}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sel.eligible(curve(steps, tc.losses)); got != tc.want {
				t.Errorf("eligible = %v, want %v", got, tc.want)
			}
		})
	}
	if (&Selection{}).eligible(Curve{}) {
		t.Error("an empty curve has no eligible point")
	}
}
