package figure

import (
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// TestBarsMakeRoomForTheTitle: a title longer than the bars need widens the figure, so that it is not cut
// off at both ends.
func TestBarsMakeRoomForTheTitle(t *testing.T) {
	groups, series, values := []string{"a", "b"}, []string{"s"}, [][]float64{{1, 2}}
	short, err := GroupedBars("short", groups, series, values, "y")
	if err != nil {
		t.Fatal(err)
	}
	title := strings.Repeat("a long title over a small figure, ", 6)
	long, err := GroupedBars(title, groups, series, values, "y")
	if err != nil {
		t.Fatal(err)
	}
	p := plot.New()
	if need := p.Title.TextStyle.Width(title); long.Width <= short.Width || long.Width < need {
		t.Errorf("figure width %v for a title %v wide (short title: %v)", long.Width, need, short.Width)
	}
}
