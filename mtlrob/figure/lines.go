package figure

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Line is one curve of LinesOverEps: a name for the legend and one value per budget (NaN = no
// point there).
type Line struct {
	Name   string
	Values []float64
	// Lo and Hi, when not nil, are an interval per value (e.g. a 95% bootstrap interval), drawn as an
	// error bar; a NaN end leaves that point without one.
	Lo, Hi []float64
}

// markers are the point shapes of LinesOverEps, in line order, so that lines stay apart in grey
// print too.
var markers = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PlusGlyph{}, draw.CrossGlyph{},
	draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{},
}

// LinesOverEps draws one line with markers per entry of lines over the attack budgets eps (e.g. ARP
// against eps, one line per attack direction, as 004 Table 4 in a figure): the x axis is
// logarithmic with a tick at every budget (004's budgets double from one to the next), labelled
// "eps"; the y axis is labelled ylabel and starts at 0 unless a value is negative. Colours follow
// SeriesColor and markers change from line to line; the legend stands to the right of the axes. A line
// with intervals (Lo, Hi) gets an error bar at each point, and is then dodged a little along eps.
// eps must be positive and increasing, and every line needs one value per budget.
func LinesOverEps(title string, eps []float64, lines []Line, ylabel string) (*Figure, error) {
	p, legend, err := linesPlot(title, eps, lines, ylabel)
	if err != nil {
		return nil, err
	}
	width := max(6.2*vg.Inch, p.Title.TextStyle.Width(title)+0.4*vg.Inch) // the title is centred over the axes
	return Single(framed(p, legend, nil, 0), width+legendWidth(legend), 4.2*vg.Inch), nil
}

// linesPlot is LinesOverEps without the frame.
func linesPlot(title string, eps []float64, lines []Line, ylabel string) (*plot.Plot, plot.Legend, error) {
	fail := func(format string, args ...any) (*plot.Plot, plot.Legend, error) {
		return nil, plot.Legend{}, fmt.Errorf(format, args...)
	}
	if len(eps) == 0 || len(lines) == 0 {
		return fail("figure: lines %q: %d budgets and %d lines: want at least one of each", title, len(eps), len(lines))
	}
	for i, e := range eps {
		if !(e > 0) || (i > 0 && e <= eps[i-1]) {
			return fail("figure: lines %q: budgets %v: want positive and increasing", title, eps)
		}
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = "eps (L∞ budget)", ylabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = epsTicks(eps)
	p.Add(plotter.NewGrid())
	legend := sideLegendStyle()
	lo, hi := 0.0, math.Inf(-1)
	for i, l := range lines {
		if len(l.Values) != len(eps) {
			return fail("figure: lines %q: line %q has %d values for %d budgets", title, l.Name, len(l.Values), len(eps))
		}
		if (l.Lo == nil) != (l.Hi == nil) || (l.Lo != nil && (len(l.Lo) != len(eps) || len(l.Hi) != len(eps))) {
			return fail("figure: lines %q: line %q has %d and %d interval ends for %d budgets", title, l.Name, len(l.Lo), len(l.Hi), len(eps))
		}
		// With intervals, the lines are dodged apart along the (log) eps axis so that their error bars do
		// not hide one another: line i of n moves by 2^(0.04 (i - (n-1)/2)).
		dodge := 1.0
		if l.Lo != nil {
			dodge = math.Pow(2, 0.04*(float64(i)-float64(len(lines)-1)/2))
		}
		var xy plotter.XYs
		var bars epsErrorBars
		for j, v := range l.Values {
			if math.IsInf(v, 0) {
				return fail("figure: lines %q: line %q has an infinite value", title, l.Name)
			}
			if !math.IsNaN(v) {
				xy = append(xy, plotter.XY{X: eps[j] * dodge, Y: v})
				lo, hi = math.Min(lo, v), math.Max(hi, v)
				if l.Lo != nil && !math.IsNaN(l.Lo[j]) && !math.IsNaN(l.Hi[j]) {
					bars = append(bars, epsErrorBar{x: eps[j] * dodge, y: v, lo: l.Lo[j], hi: l.Hi[j]})
					lo, hi = math.Min(lo, l.Lo[j]), math.Max(hi, l.Hi[j])
				}
			}
		}
		if len(xy) == 0 {
			return fail("figure: lines %q: line %q has no values", title, l.Name)
		}
		line, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fail("figure: lines %q: %w", title, err)
		}
		line.Color, pts.Color = SeriesColor(i), SeriesColor(i)
		line.Width = vg.Points(1.5)
		pts.Shape, pts.Radius = markers[i%len(markers)], vg.Points(3.2)
		p.Add(line, pts)
		if len(bars) > 0 {
			eb, err := plotter.NewYErrorBars(bars)
			if err != nil {
				return fail("figure: lines %q: line %q: %w", title, l.Name, err)
			}
			eb.Color, eb.Width, eb.CapWidth = SeriesColor(i), vg.Points(1), vg.Points(4)
			p.Add(eb)
		}
		legend.Add(l.Name, line, pts)
	}
	span := math.Max(hi-lo, 1e-9)
	p.Y.Min, p.Y.Max = lo, hi+0.05*span
	if lo < 0 {
		p.Y.Min = lo - 0.05*span
	}
	// Room left and right of the first and last budget, on the log axis.
	p.Y.Tick.Marker = niceTicks{}
	p.X.Min, p.X.Max = eps[0]/math.Pow(2, 0.3), eps[len(eps)-1]*math.Pow(2, 0.3)
	return p, legend, nil
}

// epsErrorBar is one point's interval in LinesOverEps.
type epsErrorBar struct{ x, y, lo, hi float64 }

// epsErrorBars implements plotter.XYer and plotter.YErrorer for plotter.NewYErrorBars.
type epsErrorBars []epsErrorBar

func (b epsErrorBars) Len() int                        { return len(b) }
func (b epsErrorBars) XY(i int) (float64, float64)     { return b[i].x, b[i].y }
func (b epsErrorBars) YError(i int) (float64, float64) { return b[i].y - b[i].lo, b[i].hi - b[i].y }

// epsTicks puts a labelled tick at each budget, written with at most three significant digits.
type epsTicks []float64

// Ticks implements plot.Ticker.
func (t epsTicks) Ticks(_, _ float64) []plot.Tick {
	ticks := make([]plot.Tick, len(t))
	for i, e := range t {
		ticks[i] = plot.Tick{Value: e, Label: strconv.FormatFloat(e, 'g', 3, 64)}
	}
	return ticks
}
