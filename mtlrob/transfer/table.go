package transfer

// This file only reads and renders transfer records: it is left out of the code fingerprint
// (experiment.RenderOnlyFiles), so improving a table does not make the records stale.

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// Directions returns the directions of the runs of res: Single(main) first, then the Single-x of the
// auxiliary tasks, then the multi-task directions, each group in the order the runs first have them.
func Directions(res Results) []string {
	type dir struct {
		name string
		rank int
	}
	var ds []dir
	for _, r := range res.Runs {
		if slices.ContainsFunc(ds, func(d dir) bool { return d.name == r.Direction }) {
			continue
		}
		rank := 2
		if r.Attacked != "" {
			rank = 1
			if i := slices.IndexFunc(res.Models, func(m Model) bool { return m.Label == r.Source }); i >= 0 && res.Models[i].Tasks[0] == r.Attacked {
				rank = 0
			}
		}
		ds = append(ds, dir{r.Direction, rank})
	}
	slices.SortStableFunc(ds, func(a, b dir) int { return a.rank - b.rank })
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.name
	}
	return out
}

// runsOf returns the runs of one direction, in source order.
func runsOf(res Results, direction string) []Run {
	var out []Run
	for _, r := range res.Runs {
		if r.Direction == direction {
			out = append(out, r)
		}
	}
	return out
}

// labels returns the models' labels.
func labels(res Results) []string {
	out := make([]string, len(res.Models))
	for i, m := range res.Models {
		out[i] = m.Label
	}
	return out
}

// MainMatrix returns the main-task accuracy (%) of every target (columns, in model order) on the
// adversarial images of every source with a run of direction (rows, in model order): the transfer
// matrix of the figure. An unknown direction is an error listing the known ones.
func MainMatrix(res Results, direction string) (sources, targets []string, acc [][]float64, err error) {
	runs := runsOf(res, direction)
	if len(runs) == 0 {
		return nil, nil, nil, fmt.Errorf("transfer: no run of direction %q: want one of %q", direction, Directions(res))
	}
	targets = labels(res)
	for _, r := range runs {
		row := make([]float64, len(targets))
		for i, name := range targets {
			row[i] = math.NaN()
			if j := slices.IndexFunc(r.Targets, func(t Target) bool { return t.Target == name }); j >= 0 && len(r.Targets[j].Heads) > 0 {
				row[i] = 100 * r.Targets[j].Heads[0].Accuracy.Value
			}
		}
		sources = append(sources, r.Source)
		acc = append(acc, row)
	}
	return sources, targets, acc, nil
}

// headColumn names a target head's column: "<target label>: <task>".
func headColumn(target, task string) string { return target + ": " + task }

// AccuracyTable is the transfer matrix of one direction: a row of clean accuracies, then one row per
// source with a run of the direction; a column per head of every target ("<target>: <task>"); cells
// the accuracy in percent with its 95% Wilson interval. The diagonal (source = target) is the white-box
// attack, the rest transfer.
func AccuracyTable(res Results, direction string) (*metric.Table, error) {
	runs := runsOf(res, direction)
	if len(runs) == 0 {
		return nil, fmt.Errorf("transfer: no run of direction %q: want one of %q", direction, Directions(res))
	}
	var cols []string
	for _, m := range res.Models {
		for _, t := range m.Tasks {
			cols = append(cols, headColumn(m.Label, t))
		}
	}
	rows := []string{"clean"}
	for _, r := range runs {
		rows = append(rows, r.Source)
	}
	t, err := metric.NewTable(fmt.Sprintf("Transfer of %s (PGD, eps %g, %d images): accuracy (%%) of each target head (column) on the images crafted on the source (row)",
		direction, res.Threat.Eps, res.N), rows, cols)
	if err != nil {
		return nil, err
	}
	t.Corner, t.Digits = "source", 1
	set := func(row, target string, h Head) error {
		p := h.Accuracy
		return t.SetInterval(row, headColumn(target, h.Task), 100*p.Value, 100*p.Lo, 100*p.Hi)
	}
	for _, m := range res.Models {
		for _, h := range m.Clean {
			if err := set("clean", m.Label, h); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range runs {
		for _, tg := range r.Targets {
			for _, h := range tg.Heads {
				if err := set(r.Source, tg.Target, h.Head); err != nil {
					return nil, err
				}
			}
		}
		if r.Degenerate != "" {
			t.Notes = append(t.Notes, fmt.Sprintf("%s: %s.", r.Source, r.Degenerate))
		}
	}
	t.Notes = append(t.Notes, "Where the row's source is the column's target the attack is white-box; elsewhere it transfers (black-box). "+
		"Intervals: 95% Wilson.")
	return t, nil
}

// PValueTable holds, per run (row "<direction> on <source>") and target (column), the exact McNemar
// p-value of the target's main-task accuracy on the run's adversarial images against its clean
// accuracy on the same images: whether the transferred attack changed the target's accuracy at all.
func PValueTable(res Results) (*metric.Table, error) {
	var rows []string
	var runs []Run
	for _, d := range Directions(res) {
		for _, r := range runsOf(res, d) {
			rows = append(rows, d+" on "+r.Source)
			runs = append(runs, r)
		}
	}
	cols := labels(res)
	t, err := metric.NewTable(fmt.Sprintf("Transfer: McNemar p-value, main-task accuracy of the target (column) on the images crafted on the source vs on the clean images (%d images)", res.N),
		rows, cols)
	if err != nil {
		return nil, err
	}
	t.Corner, t.PColumns = "run", slices.Clone(cols)
	for i, r := range runs {
		for _, tg := range r.Targets {
			if len(tg.Heads) > 0 {
				if err := t.Set(rows[i], tg.Target, tg.Heads[0].McNemar.P); err != nil {
					return nil, err
				}
			}
		}
	}
	return t, nil
}

// TransferabilityTable holds 004 §5's task transferability of every Single-x run (row "Single(x) on
// <source>") on every target (column) that has task x and another task; nil when there is none.
func TransferabilityTable(res Results) (*metric.Table, error) {
	var rows []string
	var runs []Run
	for _, r := range res.Runs {
		if r.Attacked == "" || !slices.ContainsFunc(r.Targets, func(t Target) bool { return t.Transferability != nil }) {
			continue
		}
		rows = append(rows, r.Direction+" on "+r.Source)
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return nil, nil
	}
	t, err := metric.NewTable("Task transferability of Single-x (004 §5): mean ARP of the target's other tasks / ARP of task x", rows, labels(res))
	if err != nil {
		return nil, err
	}
	t.Corner, t.Digits = "run", 3
	for i, r := range runs {
		for _, tg := range r.Targets {
			if tg.Transferability != nil {
				if err := t.Set(rows[i], tg.Target, *tg.Transferability); err != nil {
					return nil, err
				}
			}
		}
	}
	t.Notes = []string{"Near 0: attacking x leaves the other tasks alone; near 1: the perturbation hurts them as much. " +
		"The diagonal (target = source) is 004's within-model transferability."}
	return t, nil
}

// Tables renders a transfer record: an AccuracyTable per direction, the PValueTable and the
// TransferabilityTable (when any run has one). A stale record's tables say so in a note.
func Tables(rec *experiment.Record) ([]*metric.Table, error) {
	res, ok := experiment.As[Results](rec.Results)
	if !ok {
		return nil, fmt.Errorf("transfer: record %q holds %T, want transfer.Results", rec.Name, rec.Results)
	}
	var out []*metric.Table
	for _, d := range Directions(res) {
		t, err := AccuracyTable(res, d)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	p, err := PValueTable(res)
	if err != nil {
		return nil, err
	}
	out = append(out, p)
	tr, err := TransferabilityTable(res)
	if err != nil {
		return nil, err
	}
	if tr != nil {
		out = append(out, tr)
	}
	if len(rec.Stale) > 0 {
		for _, t := range out {
			t.Notes = append(t.Notes, "STALE: "+strings.Join(rec.Stale, "; ")+" (`mtlrob stale` lists why).")
		}
	}
	return out, nil
}

// Markdown renders Tables as Markdown, one after the other, under a heading naming the record.
func Markdown(rec *experiment.Record) (string, error) {
	ts, err := Tables(rec)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Transfer %s\n\n", rec.Name)
	for _, t := range ts {
		b.WriteString(t.Markdown())
		b.WriteString("\n")
	}
	return b.String(), nil
}
