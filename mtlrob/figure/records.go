package figure

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
)

// The figures in this file are drawn from experiment records (robustness, directions, model), as
// experiment.LoadOrEvaluateRobustness, LoadOrCompareDirections, LoadOrTrain and the Read functions
// return them: their Config and Results may be values or pointers.

// RobustnessOf returns the spec and results of a robustness record.
func RobustnessOf(rec *experiment.Record) (experiment.ModelSpec, experiment.RobustnessResults, error) {
	spec, ok1 := experiment.As[experiment.ModelSpec](rec.Config)
	res, ok2 := experiment.As[experiment.RobustnessResults](rec.Results)
	if !ok1 || !ok2 {
		return spec, res, fmt.Errorf("figure: record %q (%s) is not a robustness record with a model spec", rec.Name, rec.Kind)
	}
	return spec, res, nil
}

// DirectionsOf returns the spec and results of a direction-comparison record.
func DirectionsOf(rec *experiment.Record) (experiment.ModelSpec, experiment.DirectionsResults, error) {
	spec, ok1 := experiment.As[experiment.ModelSpec](rec.Config)
	res, ok2 := experiment.As[experiment.DirectionsResults](rec.Results)
	if !ok1 || !ok2 {
		return spec, res, fmt.Errorf("figure: record %q (%s) is not a direction-comparison record with a model spec", rec.Name, rec.Kind)
	}
	return spec, res, nil
}

// ModelSeries turns model records (experiment.LoadOrTrain's Model.Record, experiment.ReadModels) into
// series for HeadComparison, HeadsComparison and FinalAccuracy, labelled by label(spec) (nil: the
// training method and the task combination, "pgd-at, main+category+region").
func ModelSeries(label func(experiment.ModelSpec) string, recs ...*experiment.Record) ([]Series, error) {
	if label == nil {
		label = ModelLabel
	}
	out := make([]Series, 0, len(recs))
	for _, r := range recs {
		spec, ok1 := experiment.As[experiment.ModelSpec](r.Config)
		res, ok2 := experiment.As[experiment.ModelResults](r.Results)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("figure: record %q (%s) is not a model record", r.Name, r.Kind)
		}
		out = append(out, Series{Label: label(spec), Curve: res.Curve, Final: res.Final})
	}
	return out, nil
}

// ModelLabel names a model by its training method and task combination: "natural, main only",
// "pgd-at, main+category+region".
func ModelLabel(s experiment.ModelSpec) string {
	return s.Training + ", " + ComboOf(s)
}

// ComboOf names a model by its task combination only: "main only", "main+category+region" (001
// Table 2's rows).
func ComboOf(s experiment.ModelSpec) string {
	return experiment.ComboLabel(append([]string{"main"}, s.Aux...))
}

// TrainingOf names a model by its training method only: "natural", "pgd-at", "mp-at".
func TrainingOf(s experiment.ModelSpec) string { return s.Training }

// conditionOrder is the order of the robustness conditions along a figure's x axis.
var conditionOrder = []string{"clean", "pgd-targeted", "pgd", "cw", "worst-case", "adaptive"}

// conditionLabel is a condition's two-line axis label.
func conditionLabel(name string) string {
	switch name {
	case "pgd-targeted":
		return "PGD\ntargeted"
	case "pgd":
		return "PGD\nuntargeted"
	case "cw":
		return "CW-L2"
	case "worst-case":
		return "worst\ncase"
	case "adaptive":
		return "adaptive\n(white-box)"
	}
	return name
}

// RobustnessBars draws the accuracy of several models under each condition of their robustness
// records (001 Table 2 as bars): one group per condition (clean, gray-box PGD targeted and
// untargeted, CW-L2, and the adaptive white-box attack where a record has it), one bar per record,
// labelled label(spec) (nil: ModelLabel). head "main" plots main-task accuracy (Table 2); "aux" the
// mean accuracy of the auxiliary tasks (Table 3), leaving out models without any. Values are in %.
func RobustnessBars(title string, recs []*experiment.Record, label func(experiment.ModelSpec) string, head string) (*Figure, error) {
	if label == nil {
		label = ModelLabel
	}
	if head != "main" && head != "aux" {
		return nil, fmt.Errorf("figure: robustness bars %q: head %q: want main or aux", title, head)
	}
	var series []string
	var values, los, his [][]float64
	present := map[string]bool{}
	for _, r := range recs {
		spec, res, err := RobustnessOf(r)
		if err != nil {
			return nil, err
		}
		if head == "aux" && len(res.Tasks) < 2 {
			continue
		}
		row, lo, hi := make([]float64, len(conditionOrder)), make([]float64, len(conditionOrder)), make([]float64, len(conditionOrder))
		for i, name := range conditionOrder {
			row[i], lo[i], hi[i] = math.NaN(), math.NaN(), math.NaN()
			for _, c := range res.Conditions {
				if c.Name == name && len(c.TaskAccuracy) > 0 {
					v := c.TaskAccuracy[0]
					if head == "aux" {
						v = mean(c.TaskAccuracy[1:])
						lo[i], hi[i] = auxMeanInterval(c.TaskAccuracy[1:], c.Images(res.N))
					} else if p, err := c.MainAccuracy(c.Images(res.N)); err == nil {
						lo[i], hi[i] = 100*p.Lo, 100*p.Hi // 95% Wilson interval
					}
					row[i], present[name] = 100*v, true
				}
			}
		}
		series, values = append(series, label(spec)), append(values, row)
		los, his = append(los, lo), append(his, hi)
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("figure: robustness bars %q: no record with %s accuracies", title, head)
	}
	// Keep only the conditions some record has.
	var groups []string
	keep := make([]bool, len(conditionOrder))
	for i, name := range conditionOrder {
		if present[name] {
			keep[i] = true
			groups = append(groups, conditionLabel(name))
		}
	}
	for _, rows := range [][][]float64{values, los, his} {
		for s, row := range rows {
			var kept []float64
			for i, v := range row {
				if keep[i] {
					kept = append(kept, v)
				}
			}
			rows[s] = kept
		}
	}
	ylabel := "main-task accuracy (%, with 95% Wilson intervals)"
	if head == "aux" {
		ylabel = "mean auxiliary-task accuracy (%, 95% intervals)"
	}
	return GroupedBarsCI(title, groups, series, values, los, his, ylabel, 0, 100)
}

// auxMeanInterval is a 95% interval, in %, for the mean of the M accuracies accs measured on the same n
// images: the mean of their Wilson intervals at level 1 - 0.05/M each (by the union bound all M cover at
// once with probability at least 95%, and then so does their mean), as experiment.Table3's. NaN ends when
// n is not positive or an accuracy is not a count over n images (the bar gets no error bar).
func auxMeanInterval(accs []float64, n int) (lo, hi float64) {
	if n <= 0 || len(accs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, a := range accs {
		k := a * float64(n)
		if math.Abs(k-math.Round(k)) > 1e-6*float64(n) {
			return math.NaN(), math.NaN()
		}
		l, h := metric.Wilson(int(math.Round(k)), n, 1-0.05/float64(len(accs)))
		lo, hi = lo+100*l/float64(len(accs)), hi+100*h/float64(len(accs))
	}
	return lo, hi
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// RejectionBars draws 001 Fig. 3/4 for one multi-task model from its robustness record: for clean
// inputs and each attack, the main-task accuracy without the rejection module (Split.Accuracy), on
// the inputs the module accepts (AcceptedAccuracy), with rejection counting a rejected input as
// defended (RobustAccuracy), and the rejection rate, all in %, each with its 95% Wilson interval from the
// record's counts, for the rule that rejects at k conflicting auxiliary heads (k = 1 is 001 Eq. 8; k = 2
// needs two auxiliary tasks).
func RejectionBars(title string, rec *experiment.Record, k int) (*Figure, error) {
	_, res, err := RobustnessOf(rec)
	if err != nil {
		return nil, err
	}
	series := []string{"without rejection", "accepted inputs only", "with rejection (rejected = defended)", "rejection rate"}
	values := make([][]float64, len(series))
	lo, hi := make([][]float64, len(series)), make([][]float64, len(series))
	var groups []string
	for _, name := range conditionOrder {
		for _, c := range res.Conditions {
			if c.Name != name {
				continue
			}
			found := false
			for _, r := range c.Rejection {
				if r.MinConflicts != k {
					continue
				}
				found = true
				s := r.Adversarial // for "clean" it equals r.Clean
				counts := [][2]int{{s.Correct, s.N}, {s.AcceptedCorrect, s.N - s.Rejected}, {s.AcceptedCorrect + s.Rejected, s.N}, {s.Rejected, s.N}}
				for i, v := range []float64{s.Accuracy, s.AcceptedAccuracy, s.RobustAccuracy, s.RejectionRate} {
					values[i] = append(values[i], 100*v)
					l, h := wilsonPercent(counts[i][0], counts[i][1])
					lo[i], hi[i] = append(lo[i], l), append(hi[i], h)
				}
			}
			if found {
				groups = append(groups, conditionLabel(name))
			}
		}
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("figure: rejection bars %q: record %q has no rejection report for k = %d (a model without auxiliary tasks has none)", title, rec.Name, k)
	}
	return GroupedBarsCI(title, groups, series, values, lo, hi, "main-task accuracy / rejection rate (%)", 0, 100)
}

// wilsonPercent is the 95% Wilson interval of k/n in %, NaN ends when n is not positive (a record
// without counts: the bar gets no error bar).
func wilsonPercent(k, n int) (lo, hi float64) {
	if n <= 0 || k < 0 || k > n {
		return math.NaN(), math.NaN()
	}
	l, h := metric.Wilson(k, n, 0.95)
	return 100 * l, 100 * h
}

// AdaptiveBars shows what the adaptive attack does to the rejection module (k = 1) across models:
// the rejection rate (left, or top for more than three models) and the main-task accuracy with
// rejection (right, or bottom; a rejected input counted as defended) under gray-box targeted PGD
// and under the adaptive white-box attack, which targets the same class (y+1) mod K but also drives
// every auxiliary head to agree with it. One group per model with auxiliary tasks, labelled
// label(spec) (nil: ModelLabel).
func AdaptiveBars(title string, recs []*experiment.Record, label func(experiment.ModelSpec) string) (*Figure, error) {
	if label == nil {
		label = ModelLabel
	}
	conds := []string{"pgd-targeted", "adaptive"}
	names := []string{"gray-box PGD targeted", "adaptive (white-box)"}
	var groups []string
	rate, robust := make([][]float64, 2), make([][]float64, 2)
	rateLo, rateHi, robustLo, robustHi := make([][]float64, 2), make([][]float64, 2), make([][]float64, 2), make([][]float64, 2)
	for _, r := range recs {
		spec, res, err := RobustnessOf(r)
		if err != nil {
			return nil, err
		}
		got := [2]bool{}
		var splits [2]reject.Split
		for _, c := range res.Conditions {
			i := slices.Index(conds, c.Name)
			if i < 0 {
				continue
			}
			for _, rep := range c.Rejection {
				if rep.MinConflicts == 1 {
					got[i], splits[i] = true, rep.Adversarial
				}
			}
		}
		if !got[0] || !got[1] {
			continue
		}
		groups = append(groups, strings.Replace(label(spec), ", ", "\n", 1))
		for i, s := range splits {
			rate[i], robust[i] = append(rate[i], 100*s.RejectionRate), append(robust[i], 100*s.RobustAccuracy)
			l, h := wilsonPercent(s.Rejected, s.N)
			rateLo[i], rateHi[i] = append(rateLo[i], l), append(rateHi[i], h)
			l, h = wilsonPercent(s.AcceptedCorrect+s.Rejected, s.N)
			robustLo[i], robustHi[i] = append(robustLo[i], l), append(robustHi[i], h)
		}
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("figure: adaptive bars %q: no record has both the targeted PGD and the adaptive attack with rejection", title)
	}
	maxRate := 0.0
	for _, row := range rateHi {
		for _, v := range row {
			if !math.IsNaN(v) {
				maxRate = math.Max(maxRate, v)
			}
		}
	}
	left, err := GroupedBarsCI("rejection rate", groups, names, rate, rateLo, rateHi, "inputs rejected (%, 95% Wilson intervals)", 0, math.Min(100, 1.15*maxRate+1))
	if err != nil {
		return nil, err
	}
	right, err := GroupedBarsCI("main-task accuracy with rejection", groups, names, robust, robustLo, robustHi, "accuracy, rejected = defended (%)", 0, 100)
	if err != nil {
		return nil, err
	}
	cols := 2
	if len(groups) > 3 {
		cols = 1 // six models side by side twice would be two feet wide
	}
	return Combine(title, cols, left, right)
}

// DirectionLabel writes a direction as the figures show it: Single(t) with its task's name,
// "Single(region)"; the others as named.
func DirectionLabel(direction string, tasks []string) string {
	if rest, ok := strings.CutPrefix(direction, "Single("); ok {
		if t, err := strconv.Atoi(strings.TrimSuffix(rest, ")")); err == nil && t >= 0 && t < len(tasks) {
			return "Single(" + tasks[t] + ")"
		}
	}
	return direction
}

// directionGrid arranges a direction-comparison record's runs by direction (in first-seen order) and
// budget (increasing).
func directionGrid(res experiment.DirectionsResults) (dirs []string, eps []float64, runs map[string]map[float64]experiment.DirectionRun) {
	runs = map[string]map[float64]experiment.DirectionRun{}
	for _, r := range res.Runs {
		if !slices.Contains(dirs, r.Direction) {
			dirs = append(dirs, r.Direction)
			runs[r.Direction] = map[float64]experiment.DirectionRun{}
		}
		if !slices.Contains(eps, r.Eps) {
			eps = append(eps, r.Eps)
		}
		runs[r.Direction][r.Eps] = r
	}
	slices.Sort(eps)
	return dirs, eps, runs
}

// ARPOverEps draws 004's comparison of attack directions from a direction-comparison record: ARP
// (004 Eq. 10, the mean over tasks of the relative accuracy drop, %) against eps, one line per
// direction (Single(t) for each task, Total, SignTotal, WGD, DGBA).
func ARPOverEps(title string, rec *experiment.Record) (*Figure, error) {
	_, res, err := DirectionsOf(rec)
	if err != nil {
		return nil, err
	}
	dirs, eps, runs := directionGrid(res)
	if len(dirs) == 0 {
		return nil, fmt.Errorf("figure: ARP over eps %q: record %q has no runs", title, rec.Name)
	}
	// The intervals are the ARP table's: 95% percentile bootstrap over the test images (none for a
	// record without per-image outcomes).
	tab, err := experiment.ARPTable(rec)
	if err != nil {
		return nil, err
	}
	withCI := false
	lines := make([]Line, len(dirs))
	for i, d := range dirs {
		lines[i] = Line{Name: DirectionLabel(d, res.Tasks), Values: make([]float64, len(eps)), Lo: make([]float64, len(eps)), Hi: make([]float64, len(eps))}
		for j, e := range eps {
			lines[i].Values[j], lines[i].Lo[j], lines[i].Hi[j] = math.NaN(), math.NaN(), math.NaN()
			if r, ok := runs[d][e]; ok {
				lines[i].Values[j] = r.ARP
				if r, c := slices.Index(tab.Rows, d), slices.Index(tab.Columns, experiment.EpsLabel(e)); tab.Lo != nil && r >= 0 && c >= 0 &&
					!math.IsNaN(tab.Lo[r][c]) {
					lines[i].Lo[j], lines[i].Hi[j], withCI = tab.Lo[r][c], tab.Hi[r][c], true
				}
			}
		}
	}
	ylabel := "ARP (%), higher = stronger attack"
	if withCI {
		ylabel = "ARP (%, 95% bootstrap intervals), higher = stronger"
	}
	return LinesOverEps(title, eps, lines, ylabel)
}

// nearestEps is the record's budget closest to eps.
func nearestEps(eps []float64, want float64) float64 {
	best := eps[0]
	for _, e := range eps {
		if math.Abs(e-want) < math.Abs(best-want) {
			best = e
		}
	}
	return best
}

// TaskARPHeatmap draws the per-task relative accuracy drop (ARP-t, %) of each direction of a
// direction-comparison record at the budget closest to eps: one row per direction (attacked
// task(s)), one column per measured task, plus the mean (ARP). Its Single(t) rows are 004 Fig. 1: how
// far an attack on one task carries over to the others.
func TaskARPHeatmap(title string, rec *experiment.Record, eps float64) (*Figure, error) {
	_, res, err := DirectionsOf(rec)
	if err != nil {
		return nil, err
	}
	dirs, epss, runs := directionGrid(res)
	if len(dirs) == 0 {
		return nil, fmt.Errorf("figure: task ARP heatmap %q: record %q has no runs", title, rec.Name)
	}
	e := nearestEps(epss, eps)
	rows := make([]string, len(dirs))
	values := make([][]float64, len(dirs))
	for i, d := range dirs {
		rows[i] = DirectionLabel(d, res.Tasks)
		values[i] = make([]float64, len(res.Tasks)+1)
		for j := range values[i] {
			values[i][j] = math.NaN()
		}
		if r, ok := runs[d][e]; ok {
			copy(values[i], r.TaskARP)
			values[i][len(res.Tasks)] = r.ARP
		}
	}
	cols := append(append([]string{}, res.Tasks...), "mean (ARP)")
	if title == "" {
		title = fmt.Sprintf("per-task ARP (%%) at eps %.3g", e)
	}
	return Heatmap(title, rows, cols, values, HeatmapScale{Min: 0, Max: 100, Label: "relative accuracy drop (%)"})
}
