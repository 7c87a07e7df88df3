package experiment

import (
	"strings"
	"testing"
)

func TestChanceCheck(t *testing.T) {
	for _, tc := range []struct {
		name                string
		correct, n, classes int
		failed              bool
	}{
		{"MNIST at chance, as the committed PGD-AT record (10% of 500)", 50, 500, 10, true},
		{"below chance", 10, 500, 10, true},
		{"a little above chance, not significant at 99.9%", 60, 500, 10, true},
		{"clearly above chance", 100, 500, 10, false},
		{"a trained model", 8296, 10000, 10, false},
		{"binary task at 55% of 10000", 5500, 10000, 2, false},
		{"binary task at 51% of 1000", 510, 1000, 2, true},
		{"no images", 0, 0, 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := ChanceCheck(tc.correct, tc.n, tc.classes)
			if (why != "") != tc.failed {
				t.Fatalf("ChanceCheck(%d, %d, %d) = %q, want failed %v", tc.correct, tc.n, tc.classes, why, tc.failed)
			}
			if tc.failed && tc.n > 0 && !strings.Contains(why, "not above chance") {
				t.Errorf("reason %q does not say why", why)
			}
		})
	}
}
