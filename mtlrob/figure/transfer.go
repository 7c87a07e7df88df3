package figure

import (
	"fmt"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/transfer"
)

// TransferHeatmaps draws a transfer record (transfer.LoadOrRun) as one heatmap per attack direction,
// three to a row: the main-task accuracy (%) of every target (columns) on the adversarial images crafted
// on every source (rows), transfer.MainMatrix. The diagonal is the white-box attack; a pale cell off it
// is an attack that transferred. Labels break before the training ("main only" over "natural"). An
// empty title is the record's own, the same wherever the figure is drawn (mtlrob and the notebooks save
// it under one name).
func TransferHeatmaps(title string, rec *experiment.Record) (*Figure, error) {
	res, ok := experiment.As[transfer.Results](rec.Results)
	if !ok {
		return nil, fmt.Errorf("figure: record %q holds %T, want transfer.Results", rec.Name, rec.Results)
	}
	if title == "" {
		spec, ok := experiment.As[transfer.Spec](rec.Config)
		if !ok {
			return nil, fmt.Errorf("figure: record %q holds %T, want transfer.Spec", rec.Name, rec.Config)
		}
		title = fmt.Sprintf("Transfer of adversarial examples: %s, %s, %s budget, seed %d (main-task accuracy, %%, of the target (column) on images crafted on the source (row))",
			spec.Dataset, spec.Arch, spec.Budget.Name, spec.Seed)
	}
	dirs := transfer.Directions(res)
	if len(dirs) == 0 {
		return nil, fmt.Errorf("figure: transfer record %q has no runs", rec.Name)
	}
	var panels []*Figure
	for _, d := range dirs {
		sources, targets, acc, err := transfer.MainMatrix(res, d)
		if err != nil {
			return nil, err
		}
		f, err := Heatmap(d, twoLines(sources, true), twoLines(targets, false), acc,
			HeatmapScale{Min: 0, Max: 100, Label: "target main-task accuracy (%)"})
		if err != nil {
			return nil, err
		}
		panels = append(panels, f)
	}
	return Combine(title, min(3, len(panels)), panels...)
}

// twoLines shortens model labels ("main+category+region, pgd-at") for a heatmap's ticks: on one line
// for rows ("main+category+region pgd-at"), on two for columns, which are narrower.
func twoLines(labels []string, row bool) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		sep := "\n"
		if row {
			sep = " "
		}
		out[i] = strings.Replace(l, ", ", sep, 1)
	}
	return out
}
