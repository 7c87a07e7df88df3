package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// searchOf returns the spec and results of a task-search record.
func searchOf(rec *Record) (SearchSpec, SearchResults, error) {
	spec, ok1 := As[SearchSpec](rec.Config)
	res, ok2 := As[SearchResults](rec.Results)
	if !ok1 || !ok2 || rec.Kind != TaskSearchKind {
		return spec, res, fmt.Errorf("experiment: record %s (%s) is not a %s record", rec.Name, rec.Kind, TaskSearchKind)
	}
	return spec, res, nil
}

// SearchCandidatesTable renders a task-search record's candidates: one row per candidate ("name
// (family)"), columns K_m, every proxy, the rank by the primary proxy, and, for trained candidates,
// clean and robust main-task accuracy (%). Untrained cells are missing.
func SearchCandidatesTable(rec *Record) (*metric.Table, error) {
	spec, res, err := searchOf(rec)
	if err != nil {
		return nil, err
	}
	rows := make([]string, len(res.Candidates))
	for i, c := range res.Candidates {
		rows[i] = fmt.Sprintf("%s (%s)", c.Map.Name, c.Family)
	}
	cols := append([]string{"K_m"}, metric.Proxies...)
	cols = append(cols, "rank", "clean %", "PGD %")
	t, err := metric.NewTable(fmt.Sprintf("Task search %s: candidates, proxies after %d natural steps, primary proxy %s", rec.Name, spec.Size.ShortSteps, spec.primary()), rows, cols)
	if err != nil {
		return nil, err
	}
	t.Corner, t.Digits = "candidate", -1 // shortest form of values rounded below
	for i, c := range res.Candidates {
		vals := []float64{float64(c.Map.Km())}
		for _, p := range metric.Proxies {
			v, ok := c.Proxies[p]
			if !ok {
				v = math.NaN()
			}
			vals = append(vals, roundTo(v, 3))
		}
		rank := float64(c.Rank)
		if c.Rank < 0 {
			rank = math.NaN()
		}
		clean, robust := math.NaN(), math.NaN()
		if c.CleanAccuracy != nil && c.RobustAccuracy != nil {
			clean, robust = roundTo(100**c.CleanAccuracy, 1), roundTo(100**c.RobustAccuracy, 1)
		}
		switch {
		case c.Failed != "":
			rows[i] = fmt.Sprintf("%s (%s, FAILED run)", c.Map.Name, c.Family)
			t.Rows[i] = rows[i]
		case c.SameAs != "":
			rows[i] = fmt.Sprintf("%s (%s, = %s)", c.Map.Name, c.Family, c.SameAs)
			t.Rows[i] = rows[i]
		}
		if err := t.SetRow(rows[i], append(vals, rank, clean, robust)); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// SearchCorrelationTable renders a task-search record's proxy correlations as 003 Table 3.
func SearchCorrelationTable(rec *Record) (*metric.Table, error) {
	_, res, err := searchOf(rec)
	if err != nil {
		return nil, err
	}
	if len(res.Correlations) == 0 {
		return nil, fmt.Errorf("experiment: %s: no proxy correlations (fewer than 3 trained candidates?)", rec.Name)
	}
	spec, _, _ := searchOf(rec)
	steps := res.Threat.Steps // the PGD the search ran; records made before it was stored: the budget's
	if steps == 0 {
		steps = spec.Budget.EvalPGDSteps
	}
	t, err := metric.ProxyTable(fmt.Sprintf("Proxies vs main-task accuracy under gray-box PGD-%d after PGD-AT (%s)", steps, rec.Name), res.Correlations)
	if err != nil {
		return nil, err
	}
	t.Digits = -1
	for r := range t.Cells {
		for c, v := range t.Cells[r] {
			if strings.HasPrefix(t.Columns[c], "p") {
				t.Cells[r][c] = roundSig(v, 2)
			} else {
				t.Cells[r][c] = roundTo(v, 3)
			}
		}
	}
	return t, nil
}

// roundTo rounds v to the given number of decimals.
func roundTo(v float64, decimals int) float64 {
	f := math.Pow(10, float64(decimals))
	return math.Round(v*f) / f
}

// roundSig rounds v to the given number of significant digits.
func roundSig(v float64, digits int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	return roundTo(v, digits-1-int(math.Floor(math.Log10(math.Abs(v)))))
}

// SearchComparison compares the search's best task with the hand-made ones at the same dataset, budget
// and seed: rows for the main task alone, each hand-made task and the best searched task as the search
// trained them (single auxiliary task each), then every PGD-AT robustness record of the same dataset,
// architecture, budget and seed among robustness (e.g. ReadRobustness; the hand-made combinations of 001 Table 2,
// with their "pgd" condition, which is the same attack on the same test examples); columns clean and
// PGD main-task accuracy (%) and the PGD difference to the best searched task (points).
func SearchComparison(rec *Record, robustness []*Record) (*metric.Table, error) {
	spec, res, err := searchOf(rec)
	if err != nil {
		return nil, err
	}
	type row struct {
		name          string
		clean, robust float64
	}
	var rows []row
	if res.MainOnly.Failed == "" { // a failed run is never a result
		rows = append(rows, row{"main only (search)", res.MainOnly.CleanAccuracy, res.MainOnly.RobustAccuracy})
	}
	var best *SearchCandidate
	for i, c := range res.Candidates {
		if c.RobustAccuracy == nil || c.CleanAccuracy == nil {
			continue
		}
		if c.Family == FamilyBuiltin {
			rows = append(rows, row{fmt.Sprintf("main+%s (001, search)", c.Map.Name), *c.CleanAccuracy, *c.RobustAccuracy})
		} else if c.Map.Name == res.Best {
			best = &res.Candidates[i]
		}
	}
	if best == nil {
		return nil, fmt.Errorf("experiment: %s: no best searched candidate", rec.Name)
	}
	bestRow := row{fmt.Sprintf("main+%s (best searched)", best.Map.Name), *best.CleanAccuracy, *best.RobustAccuracy}
	rows = append(rows, bestRow)
	for _, r := range robustness {
		ms, rr, err := robustnessOf(r)
		if err != nil {
			return nil, err
		}
		if ms.Dataset != spec.Dataset || archName(ms.Arch) != archName(spec.Arch) || ms.Budget.Name != spec.Budget.Name ||
			ms.Seed != spec.Seed || ms.Training != "pgd-at" || len(ms.Maps) > 0 {
			continue
		}
		clean, pgd := math.NaN(), math.NaN()
		for _, c := range rr.Conditions {
			switch c.Name {
			case "clean":
				clean = c.TaskAccuracy[0]
			case "pgd":
				pgd = c.TaskAccuracy[0]
			}
		}
		rows = append(rows, row{comboOf(ms) + " (robustness record)", clean, pgd})
	}
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.name
	}
	t, err := metric.NewTable(fmt.Sprintf("Best searched task vs hand-made tasks, %s, PGD-AT, %s budget, seed %d", spec.Dataset, spec.Budget.Name, spec.Seed),
		names, []string{"clean %", "PGD %", "PGD - best searched"})
	if err != nil {
		return nil, err
	}
	t.Corner, t.Digits = "model", 1
	for _, r := range rows {
		if err := t.SetRow(r.name, []float64{100 * r.clean, 100 * r.robust, 100 * (r.robust - bestRow.robust)}); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// SearchVerdict says in one sentence whether the best searched task beat every hand-made task and the
// main task alone in a SearchComparison table, by how many points of PGD accuracy, and whether that gap
// exceeds two standard errors of the difference of two independent accuracies measured on n test
// examples (2 sqrt(2 a (1-a) / n) at the mean accuracy a of the two): one seed, so a rough yardstick.
func SearchVerdict(t *metric.Table, n int) string {
	best, rest := math.NaN(), math.Inf(-1)
	var restName string
	for i, name := range t.Rows {
		v := t.Cells[i][1]
		if strings.HasSuffix(name, "(best searched)") {
			best = v
			continue
		}
		if v > rest {
			rest, restName = v, name
		}
	}
	if math.IsNaN(best) || math.IsInf(rest, -1) || n < 1 {
		return "no comparison possible"
	}
	a := (best + rest) / 200
	noise := 100 * 2 * math.Sqrt(2*a*(1-a)/float64(n))
	within := "within"
	if math.Abs(best-rest) > noise {
		within = "beyond"
	}
	yardstick := fmt.Sprintf("%s two standard errors (%.1f points on %d examples)", within, noise, n)
	switch {
	case best > rest:
		return fmt.Sprintf("yes: the best searched task beats the best other model (%s) by %.1f points of PGD accuracy, %s", restName, best-rest, yardstick)
	case best == rest:
		return fmt.Sprintf("tie: the best searched task and %s have the same PGD accuracy (%.1f%%)", restName, best)
	}
	return fmt.Sprintf("no: %s is %.1f points more robust under PGD than the best searched task, %s", restName, rest-best, yardstick)
}
