package figure

import (
	"strings"
	"testing"
)

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 100, "0 20 40 60 80 100"},
		{0, 75, "0 20 40 60"},
		{0, 18.7, "0 5 10 15"},
		{0, 1.06, "0.00 0.25 0.50 0.75 1.00"},
		{-12, 30, "-10 0 10 20 30"},
		{0, 0.11, "0.000 0.025 0.050 0.075 0.100"},
	} {
		var labels []string
		for _, tk := range (niceTicks{}).Ticks(c.lo, c.hi) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if got := strings.Join(labels, " "); got != c.want {
			t.Errorf("ticks of [%g, %g]: %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
}
