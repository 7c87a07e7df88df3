package figure

import (
	"fmt"
	"math"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ScatterGroup is one coloured set of points of ScatterFit (e.g. the candidates of one family).
type ScatterGroup struct {
	Name string
	X, Y []float64
}

// ScatterFit draws the points of every group (colour SeriesColor and a marker per group, legend to the
// right) and the least-squares line y = a + b x fitted to all points together, over their x range; the
// title gets a second line with Pearson's r and Spearman's rho and their two-sided p-values over all
// points (metric.CorrelateProxy), the form of 003 Table 3. It needs at least 3 points in all, finite
// values, and neither coordinate constant.
func ScatterFit(title, xlabel, ylabel string, groups []ScatterGroup) (*Figure, error) {
	var xs, ys []float64
	for _, g := range groups {
		if len(g.X) != len(g.Y) {
			return nil, fmt.Errorf("figure: scatter %q: group %q has %d x and %d y values: want pairs", title, g.Name, len(g.X), len(g.Y))
		}
		xs, ys = append(xs, g.X...), append(ys, g.Y...)
	}
	c, err := metric.CorrelateProxy(xlabel, xs, ys)
	if err != nil {
		return nil, fmt.Errorf("figure: scatter %q: %w", title, err)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s\nr = %.2f (p = %.2g), rho = %.2f (p = %.2g), n = %d", title, c.PearsonR, c.PearsonP, c.SpearmanRho, c.SpearmanP, c.N)
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{}
	p.Add(plotter.NewGrid())
	legend := sideLegendStyle()

	// Least squares over all points.
	mx, my := meanOf(xs), meanOf(ys)
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	slope := sxy / sxx
	lo, hi := minMax(xs)
	fit, err := plotter.NewLine(plotter.XYs{{X: lo, Y: my + slope*(lo-mx)}, {X: hi, Y: my + slope*(hi-mx)}})
	if err != nil {
		return nil, fmt.Errorf("figure: scatter %q: %w", title, err)
	}
	fit.Color, fit.Width, fit.Dashes = SeriesColor(len(groups)), vg.Points(1.2), []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(fit)
	for i, g := range groups {
		if len(g.X) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(g.X))
		for k := range g.X {
			xy[k] = plotter.XY{X: g.X[k], Y: g.Y[k]}
		}
		pts, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, fmt.Errorf("figure: scatter %q: %w", title, err)
		}
		pts.Color, pts.Shape, pts.Radius = SeriesColor(i), markers[i%len(markers)], vg.Points(4)
		p.Add(pts)
		legend.Add(g.Name, pts)
	}
	legend.Add("least-squares fit", fit)
	// Room around the points.
	ylo, yhi := minMax(ys)
	padX, padY := 0.08*math.Max(hi-lo, 1e-9), 0.1*math.Max(yhi-ylo, 1e-9)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo-padX, hi+padX, ylo-padY, yhi+padY
	return Single(framed(p, legend, nil, 0), 4.6*vg.Inch+legendWidth(legend), 3.8*vg.Inch), nil
}

// SearchOf returns the spec and results of a task-search record.
func SearchOf(rec *experiment.Record) (experiment.SearchSpec, experiment.SearchResults, error) {
	spec, ok1 := experiment.As[experiment.SearchSpec](rec.Config)
	res, ok2 := experiment.As[experiment.SearchResults](rec.Results)
	if !ok1 || !ok2 {
		return spec, res, fmt.Errorf("figure: record %s (%s) is not a task-search record", rec.Name, rec.Kind)
	}
	return spec, res, nil
}

// ProxyTitles are the axis labels of the task-search proxies.
var ProxyTitles = map[string]string{
	metric.ProxyCleanAccuracy:  "short-run clean accuracy",
	metric.ProxyGradientCosine: "main/aux input-gradient cosine",
	metric.ProxyVulnerability:  "short-run relative vulnerability",
	metric.ProxyAgreement:      "short-run clean agreement (k = 1)",
}

// ProxyScatters draws, for a task-search record, one ScatterFit panel per proxy that has a correlation
// in the record: the proxy after the short run (x) against the PGD-AT model's main-task robust accuracy
// under the evaluation PGD (y, %), points coloured by candidate family (hand-made baselines included,
// except those the generators found again: each partition counts once, as in the record's
// correlations), laid out two panels a row.
func ProxyScatters(title string, rec *experiment.Record) (*Figure, error) {
	_, res, err := SearchOf(rec)
	if err != nil {
		return nil, err
	}
	families := []string{experiment.FamilyRandom, experiment.FamilyGroup, experiment.FamilySeparate, experiment.FamilyBuiltin}
	var panels []*Figure
	for _, corr := range res.Correlations {
		var groups []ScatterGroup
		for _, fam := range families {
			g := ScatterGroup{Name: fam}
			for _, c := range res.Candidates {
				v, ok := c.Proxies[corr.Proxy]
				if c.Family != fam || !ok || c.RobustAccuracy == nil || c.SameAs != "" {
					continue
				}
				g.X, g.Y = append(g.X, v), append(g.Y, 100**c.RobustAccuracy)
			}
			groups = append(groups, g)
		}
		xl := ProxyTitles[corr.Proxy]
		if xl == "" {
			xl = corr.Proxy
		}
		f, err := ScatterFit(corr.Proxy, xl, "robust accuracy (%)", groups)
		if err != nil {
			return nil, err
		}
		panels = append(panels, f)
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("figure: proxy scatters %q: record %s has no correlations", title, rec.Name)
	}
	return Combine(title, 2, panels...)
}

// SearchBars draws the main-task accuracy, clean and under the evaluation PGD (%), of every trained
// candidate of a task-search record, in decreasing order of robust accuracy, with the main-task-only
// model first: the search's answer to "which self-defined task helps".
func SearchBars(title string, rec *experiment.Record) (*Figure, error) {
	_, res, err := SearchOf(rec)
	if err != nil {
		return nil, err
	}
	type row struct {
		name          string
		clean, robust float64
	}
	var rows []row
	for _, c := range res.Candidates {
		if c.RobustAccuracy != nil && c.CleanAccuracy != nil {
			name := c.Map.Name
			if c.Family == experiment.FamilyBuiltin {
				name += " (001)" // a twin of a searched candidate (SameAs) shows as a bar of the same height
			}
			rows = append(rows, row{name, 100 * *c.CleanAccuracy, 100 * *c.RobustAccuracy})
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("figure: search bars %q: record %s has no trained candidate", title, rec.Name)
	}
	for i := 1; i < len(rows); i++ { // insertion sort, stable, by robust accuracy descending
		for j := i; j > 0 && rows[j].robust > rows[j-1].robust; j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	if res.MainOnly.Failed == "" { // a failed run is never a result
		rows = append([]row{{"main only", 100 * res.MainOnly.CleanAccuracy, 100 * res.MainOnly.RobustAccuracy}}, rows...)
	}
	groups := make([]string, len(rows))
	values := [][]float64{make([]float64, len(rows)), make([]float64, len(rows))}
	for i, r := range rows {
		groups[i], values[0][i], values[1][i] = r.name, r.clean, r.robust
	}
	return GroupedBarsRange(title, groups, []string{"clean", "PGD (gray-box)"}, values, "main-task accuracy (%)", 0, 100)
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func minMax(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}
