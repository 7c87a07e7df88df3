package figure

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette is the qualitative colour cycle of the grouped-bar and line figures (Tableau 10): ten
// colours that stay apart in print and for the common colour-vision deficiencies.
var seriesColors = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

// SeriesColor is the colour of series i in GroupedBars and LinesOverEps (cycling after ten).
func SeriesColor(i int) color.Color { return seriesColors[i%len(seriesColors)] }

// GroupedBars draws values as groups of bars: one group per entry of groups along the x axis (a
// label may hold "\n" to break it), one bar per series in every group, in SeriesColor order, with
// the value written above each bar (turned upright when the bar is narrower than the number). The
// legend, one entry per series, stands to the right of the axes, so it never hides a bar.
//
// values[s][g] is series s in group g; a NaN leaves that bar out (the group keeps its slot). The y
// axis is labelled ylabel and runs from 0 (or the lowest negative value) to a little above the
// highest value, leaving room for the numbers. The figure is about 0.3 inch per bar wide.
func GroupedBars(title string, groups, series []string, values [][]float64, ylabel string) (*Figure, error) {
	return GroupedBarsRange(title, groups, series, values, ylabel, math.NaN(), math.NaN())
}

// GroupedBarsRange is GroupedBars with the value axis running from ymin to ymax (a NaN end is chosen
// from the data, as GroupedBars does), e.g. 0 to 100 for accuracies in %, so that panels side by side
// share a scale. Room for the numbers over the bars is added above ymax.
func GroupedBarsRange(title string, groups, series []string, values [][]float64, ylabel string, ymin, ymax float64) (*Figure, error) {
	return GroupedBarsCI(title, groups, series, values, nil, nil, ylabel, ymin, ymax)
}

// GroupedBarsCI is GroupedBarsRange with an interval per bar, lo[s][g] to hi[s][g] (e.g. the 95% Wilson
// interval of an accuracy), drawn as an error bar with caps; nil lo and hi draw none, a NaN end leaves
// that bar without one. The value is written above the interval.
func GroupedBarsCI(title string, groups, series []string, values, lo, hi [][]float64, ylabel string, ymin, ymax float64) (*Figure, error) {
	if (lo == nil) != (hi == nil) || (lo != nil && (len(lo) != len(values) || len(hi) != len(values))) {
		return nil, fmt.Errorf("figure: bars %q: intervals for %d and %d series of %d", title, len(lo), len(hi), len(values))
	}
	for s := range lo {
		if len(lo[s]) != len(values[s]) || len(hi[s]) != len(values[s]) {
			return nil, fmt.Errorf("figure: bars %q: series %q has %d and %d interval ends for %d values", title, series[s], len(lo[s]), len(hi[s]), len(values[s]))
		}
	}
	p, legend, width, err := groupedBarsPlotCI(title, groups, series, values, lo, hi, ylabel, ymin, ymax)
	if err != nil {
		return nil, err
	}
	return Single(framed(p, legend, nil, 0), width+legendWidth(legend), 4.2*vg.Inch), nil
}

// groupedBarsPlot is GroupedBars without the frame: the plot, its legend and the width of its axes.
func groupedBarsPlot(title string, groups, series []string, values [][]float64, ylabel string, ymin, ymax float64) (*plot.Plot, plot.Legend, vg.Length, error) {
	return groupedBarsPlotCI(title, groups, series, values, nil, nil, ylabel, ymin, ymax)
}

// groupedBarsPlotCI is groupedBarsPlot with the bars' intervals (see GroupedBarsCI).
func groupedBarsPlotCI(title string, groups, series []string, values, ciLo, ciHi [][]float64, ylabel string, ymin, ymax float64) (*plot.Plot, plot.Legend, vg.Length, error) {
	fail := func(format string, args ...any) (*plot.Plot, plot.Legend, vg.Length, error) {
		return nil, plot.Legend{}, 0, fmt.Errorf(format, args...)
	}
	if len(groups) == 0 || len(series) == 0 {
		return fail("figure: bars %q: %d groups and %d series: want at least one of each", title, len(groups), len(series))
	}
	if len(values) != len(series) {
		return fail("figure: bars %q: %d rows of values for %d series", title, len(values), len(series))
	}
	lo, hi, any := 0.0, 0.0, false
	for s, row := range values {
		if len(row) != len(groups) {
			return fail("figure: bars %q: series %q has %d values for %d groups", title, series[s], len(row), len(groups))
		}
		for _, v := range row {
			if math.IsInf(v, 0) {
				return fail("figure: bars %q: series %q has an infinite value", title, series[s])
			}
			if !math.IsNaN(v) {
				lo, hi, any = math.Min(lo, v), math.Max(hi, v), true
			}
		}
	}
	if !any {
		return fail("figure: bars %q: every value is missing (NaN)", title)
	}
	b := &groupedBars{groups: groups, series: series, values: values, lo: ciLo, hi: ciHi, digits: valueDigits(hi - lo)}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid, b)
	p.NominalX(groups...)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	if !math.IsNaN(ymin) {
		lo = math.Min(lo, ymin)
	}
	if !math.IsNaN(ymax) {
		hi = math.Max(hi, ymax)
	}
	span := math.Max(hi-lo, 1e-9)
	p.Y.Min, p.Y.Max = lo, hi+0.08*span
	if lo < 0 {
		p.Y.Min = lo - 0.08*span
	}
	p.Y.Tick.Marker = niceTicks{}
	legend := sideLegendStyle()
	for s, name := range series {
		legend.Add(name, swatch{SeriesColor(s)})
	}
	// A group is 0.3 inch a bar plus a gap, and at least as wide as its label.
	group := vg.Length(0.3*float64(len(series))+0.35) * vg.Inch
	for _, g := range groups {
		group = max(group, p.X.Tick.Label.Width(g)+0.25*vg.Inch)
	}
	// and at least as wide as its title, which is centred over the axes and would be cut off
	width := max(4.5*vg.Inch, 1.2*vg.Inch+vg.Length(len(groups))*group, p.Title.TextStyle.Width(title)+0.4*vg.Inch)
	return p, legend, width, nil
}

// legendWidth is the room a side legend takes (framed adds it to the right of the axes).
func legendWidth(l plot.Legend) vg.Length {
	return l.Rectangle(draw.Canvas{}).Size().X + 0.4*vg.Inch
}

// sideLegendStyle is the legend of GroupedBars and LinesOverEps: 10 pt, entries 3 pt apart.
func sideLegendStyle() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Size = vg.Points(10)
	l.Padding = vg.Points(3)
	return l
}

// valueDigits is the number of decimals of the numbers over the bars: 1 for percentages, more for
// fractions.
func valueDigits(span float64) int {
	switch {
	case span >= 10:
		return 1
	case span >= 1:
		return 2
	}
	return 3
}

// swatch is a legend thumbnail: a filled square of one colour.
type swatch struct{ color color.Color }

// Thumbnail implements plot.Thumbnailer.
func (s swatch) Thumbnail(c *draw.Canvas) {
	side := min(c.Max.Y-c.Min.Y, c.Max.X-c.Min.X)
	x0 := c.Min.X + (c.Max.X-c.Min.X-side)/2
	c.FillPolygon(s.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x0 + side, Y: c.Min.Y}, {X: x0 + side, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
}

// groupedBars is the plotter behind GroupedBars: groups are centred on 0, 1, ... along x.
type groupedBars struct {
	groups, series []string
	values         [][]float64
	// lo and hi, when set, are each bar's interval (e.g. a 95% Wilson interval), drawn as an error bar;
	// a NaN end leaves that bar without one.
	lo, hi [][]float64
	digits int
}

// DataRange implements plot.DataRanger.
func (b *groupedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	ymin, ymax = 0, 0
	for _, row := range b.values {
		for _, v := range row {
			if !math.IsNaN(v) {
				ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
			}
		}
	}
	return -0.5, float64(len(b.groups)) - 0.5, ymin, ymax
}

// Plot implements plot.Plotter.
func (b *groupedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	width := 0.84 / float64(len(b.series)) // of a bar, in data units
	above := textStyle(7, draw.XCenter)
	above.YAlign = draw.YBottom
	upright := textStyle(7, draw.XLeft)
	upright.Rotation = math.Pi / 2
	for g := range b.groups {
		left := float64(g) - 0.42
		for s := range b.series {
			v := b.values[s][g]
			if math.IsNaN(v) {
				continue
			}
			x0, x1 := trX(left+width*float64(s)), trX(left+width*float64(s+1))-vg.Points(0.8)
			y0, y1 := trY(0), trY(v)
			c.FillPolygon(SeriesColor(s), []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			label := fmt.Sprintf("%.*f", b.digits, v)
			top := max(y0, y1) + vg.Points(1.5)
			if b.lo != nil && !math.IsNaN(b.lo[s][g]) && !math.IsNaN(b.hi[s][g]) {
				xm, cap := (x0+x1)/2, min((x1-x0)/4, vg.Points(3))
				ylo, yhi := trY(b.lo[s][g]), trY(b.hi[s][g])
				st := draw.LineStyle{Color: color.Black, Width: vg.Points(0.9)}
				c.StrokeLine2(st, xm, ylo, xm, yhi)
				c.StrokeLine2(st, xm-cap, ylo, xm+cap, ylo)
				c.StrokeLine2(st, xm-cap, yhi, xm+cap, yhi)
				top = max(top, yhi+vg.Points(1.5))
			}
			if above.Width(label) <= x1-x0+vg.Points(2) {
				c.FillText(above, vg.Point{X: (x0 + x1) / 2, Y: top}, label)
			} else {
				c.FillText(upright, vg.Point{X: (x0 + x1) / 2, Y: top}, label)
			}
		}
	}
}
