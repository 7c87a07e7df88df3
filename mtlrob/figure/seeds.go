package figure

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// SeedBars draws, for each group along the x axis, one bar per series at the mean over seeds of
// values[s][g] (a slice of per-seed values), an error bar of ± one sample standard deviation across
// seeds, and each seed's value as a dot: the spread the mean hides stays visible. Groups or series
// without values leave their slot empty.
func SeedBars(title string, groups, series []string, values [][][]float64, ylabel string) (*Figure, error) {
	if len(groups) == 0 || len(series) == 0 || len(values) != len(series) {
		return nil, fmt.Errorf("figure: seed bars %q: %d groups, %d series and %d rows of values: want matching non-empty sets",
			title, len(groups), len(series), len(values))
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	// 20 points a bar, narrower when there are so many bars that the axes would pass about 9 inches.
	width := min(vg.Points(20), 9*vg.Inch*0.6/vg.Length(len(groups)*len(series)))
	legend := sideLegendStyle()
	for s, row := range values {
		if len(row) != len(groups) {
			return nil, fmt.Errorf("figure: seed bars %q: series %q has %d groups, want %d", title, series[s], len(row), len(groups))
		}
		means := make(plotter.Values, len(groups))
		var errs plotter.YErrors
		var pts, centres plotter.XYs
		// Series s sits at x = g + shift in data units (groups one unit apart, as NominalX labels them).
		shift := (float64(s) - float64(len(series)-1)/2) * barDataWidth(len(series))
		for g, seeds := range row {
			if len(seeds) == 0 {
				continue // a zero-height bar: the slot stays empty
			}
			m, sd := metric.MeanSD(seeds)
			if math.IsNaN(sd) {
				sd = 0
			}
			means[g] = m
			errs = append(errs, struct{ Low, High float64 }{sd, sd})
			centres = append(centres, plotter.XY{X: float64(g) + shift, Y: m})
			for _, v := range seeds {
				pts = append(pts, plotter.XY{X: float64(g), Y: v})
			}
		}
		bars, err := plotter.NewBarChart(means, width)
		if err != nil {
			return nil, fmt.Errorf("figure: seed bars %q: %w", title, err)
		}
		bars.Color = SeriesColor(s)
		bars.LineStyle.Width = 0
		bars.XMin = shift
		p.Add(bars)
		legend.Add(series[s], swatch{SeriesColor(s)})
		if len(centres) > 0 {
			yeb, err := plotter.NewYErrorBars(&errorBars{XYs: centres, YErrors: errs})
			if err != nil {
				return nil, fmt.Errorf("figure: seed bars %q: %w", title, err)
			}
			yeb.LineStyle.Width = vg.Points(1.2)
			p.Add(yeb)
		}
		for i := range pts {
			pts[i].X += shift
		}
		if len(pts) > 0 {
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle.Shape = draw.CircleGlyph{}
			sc.GlyphStyle.Radius = vg.Points(2)
			p.Add(sc)
		}
	}
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	p.Y.Min = 0
	p.Y.Max *= 1.08 // room above the tallest dot; the legend stands to the right of the axes
	// About one bar width between bars: a unit of x is len(series) bars / 0.6 wide.
	w := max(vg.Length(float64(len(groups)*len(series))/0.6)*width+1.5*vg.Inch, 5*vg.Inch, p.Title.TextStyle.Width(title)+0.4*vg.Inch)
	return Single(framed(p, legend, nil, 0), w+legendWidth(legend), 4*vg.Inch), nil
}

// barDataWidth is the distance between the bars of one group in x-axis data units (groups are one unit
// apart): the series of a group share about 60% of a unit.
func barDataWidth(series int) float64 { return 0.6 / float64(series) }

type errorBars struct {
	plotter.XYs
	plotter.YErrors
}

// HeadlineBars draws the first headline question: main-task accuracy (%) of main-only and multi-task
// PGD-AT under each condition, mean ± sd across seeds with every seed's value.
func HeadlineBars(title string, cmp []experiment.ConditionComparison) (*Figure, error) {
	var groups []string
	values := [][][]float64{{}, {}}
	for _, c := range cmp {
		name := experiment.ConditionTitles[c.Condition]
		if name == "" {
			name = c.Condition
		}
		groups = append(groups, name)
		var a, b []float64
		for _, s := range c.Seeds {
			a, b = append(a, 100*s.A.Value), append(b, 100*s.B.Value)
		}
		values[0], values[1] = append(values[0], a), append(values[1], b)
	}
	return SeedBars(title, groups, []string{"main only", "main+category+region"}, values, "main-task accuracy (%)")
}

// DirectionSeedBars draws the ARP (004 Eq. 10, %) of every attack direction at every eps of the
// direction records of one dataset, architecture and training, mean ± sd over the records' seeds with
// each seed's value: is DGBA's the tallest bar, and by more than the seeds' spread?
func DirectionSeedBars(title string, recs []*experiment.Record, dataset, arch, training string) (*Figure, error) {
	var dirs []string
	var epss []float64
	vals := map[string]map[float64][]float64{}
	for _, r := range recs {
		spec, ok := experiment.As[experiment.ModelSpec](r.Config)
		res, ok2 := experiment.As[experiment.DirectionsResults](r.Results)
		if !ok || !ok2 {
			return nil, fmt.Errorf("figure: record %q is not a direction comparison", r.Name)
		}
		if spec.Dataset != dataset || spec.Arch != arch || spec.Training != training {
			continue
		}
		for _, run := range res.Runs {
			if vals[run.Direction] == nil {
				vals[run.Direction] = map[float64][]float64{}
				dirs = append(dirs, run.Direction)
			}
			if !slices.Contains(epss, run.Eps) {
				epss = append(epss, run.Eps)
			}
			vals[run.Direction][run.Eps] = append(vals[run.Direction][run.Eps], run.ARP)
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("figure: %s: no direction records of %s %s %s", title, dataset, arch, training)
	}
	slices.Sort(epss)
	groups := make([]string, len(epss))
	for i, e := range epss {
		groups[i] = fmt.Sprintf("eps %.3g", e)
	}
	values := make([][][]float64, len(dirs))
	for s, d := range dirs {
		for _, e := range epss {
			values[s] = append(values[s], vals[d][e])
		}
	}
	return SeedBars(title, groups, dirs, values, "ARP (%)")
}
