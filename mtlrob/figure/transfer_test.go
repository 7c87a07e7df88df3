package figure

import (
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/transfer"
)

// transferRecord is a hand-made transfer record: two models, Single(main) and Total; the main-task
// accuracies are 10x + y percent for source x (1, 2) and target y (1, 2) under Single(main), 50 more under
// Total.
func transferRecord() *experiment.Record {
	models := []transfer.Model{{Label: "main only, natural", Tasks: []string{"main"}},
		{Label: "main+category, pgd-at", Tasks: []string{"main", "category"}}}
	res := transfer.Results{N: 100, Models: models}
	for _, d := range []struct {
		name string
		add  int
	}{{"Single(main)", 0}, {"Total", 50}} {
		for x, src := range models {
			r := transfer.Run{Direction: d.name, Source: src.Label}
			if d.add == 0 {
				r.Attacked = "main"
			}
			for y, tgt := range models {
				k := 10*(x+1) + (y + 1) + d.add
				var hs []transfer.AttackedHead
				for _, task := range tgt.Tasks {
					hs = append(hs, transfer.AttackedHead{Head: transfer.Head{Task: task, Accuracy: metric.NewProportion(k, 100)}})
				}
				r.Targets = append(r.Targets, transfer.Target{Target: tgt.Label, WhiteBox: x == y, Heads: hs})
			}
			res.Runs = append(res.Runs, r)
		}
	}
	return &experiment.Record{Kind: transfer.Kind, Name: "toy", Results: res}
}

func TestTransferHeatmaps(t *testing.T) {
	fig, err := TransferHeatmaps("transfer", transferRecord())
	if err != nil {
		t.Fatal(err)
	}
	if len(fig.Panels) != 1 || len(fig.Panels[0]) != 2 {
		t.Fatalf("panels %d x %d, want one row of two (one per direction)", len(fig.Panels), len(fig.Panels[0]))
	}
	_, svg := savedPNG(t, fig, 800, 300)
	for _, want := range []string{"Single(main)", "Total", ">11.0<", ">22.0<", ">61.0<", ">72.0<", "main only natural", "main-task accuracy"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if _, err := TransferHeatmaps("empty", &experiment.Record{Name: "empty", Results: transfer.Results{}}); err == nil {
		t.Error("a record without runs accepted")
	}
	if _, err := TransferHeatmaps("wrong", &experiment.Record{Name: "wrong", Results: experiment.DirectionsResults{}}); err == nil {
		t.Error("a directions record accepted")
	}
}
