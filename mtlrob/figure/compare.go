package figure

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/training"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one training run as the comparison figures see it: a label (its task combination), its
// learning curves and its final test scores.
type Series struct {
	Label string
	Curve training.Curve
	Final training.Scores
}

// NaturalSeries turns natural-training records (experiment.RunNatural, LoadOrRunNatural) into
// series labelled with their task combination, "main only" or "main+category" (experiment.ComboLabel).
func NaturalSeries(recs ...*experiment.Record) ([]Series, error) {
	out := make([]Series, 0, len(recs))
	for _, r := range recs {
		res, ok := r.Results.(experiment.NaturalResults)
		if !ok {
			return nil, fmt.Errorf("figure: record %q holds %T, want experiment.NaturalResults (read it with experiment.ReadNatural)", r.Name, r.Results)
		}
		out = append(out, Series{Label: experiment.ComboLabel(res.Tasks), Curve: res.Curve, Final: res.Final})
	}
	return out, nil
}

// RunColor is the colour of run i in the comparison figures.
func RunColor(i int) color.Color { return plotutil.Color(i) }

// heads returns the head names of the runs in first-seen order.
func heads(runs []Series) []string {
	var names []string
	for _, r := range runs {
		for _, sc := range r.Curve.Test {
			for _, t := range sc.Tasks {
				if !slices.Contains(names, t) {
					names = append(names, t)
				}
			}
			break
		}
	}
	return names
}

// headIndex is the index of head in a run's task list, or -1.
func headIndex(r Series, head string) int {
	if len(r.Curve.Test) == 0 {
		return -1
	}
	return slices.Index(r.Curve.Test[0].Tasks, head)
}

// curveLine draws one head's metric (loss or accuracy) of one split of a run.
func curveLine(r Series, t int, test, accuracy bool, col color.Color) (*plotter.Line, *plotter.Scatter, error) {
	scores := r.Curve.Train
	if test {
		scores = r.Curve.Test
	}
	xy := make(plotter.XYs, len(r.Curve.Step))
	for i, step := range r.Curve.Step {
		v := scores[i].Loss[t]
		if accuracy {
			v = scores[i].Accuracy[t]
		}
		xy[i] = plotter.XY{X: float64(step), Y: v}
	}
	l, pts, err := plotter.NewLinePoints(xy)
	if err != nil {
		return nil, nil, err
	}
	l.Color, pts.Color = col, col
	l.Width = vg.Points(1.5)
	pts.Shape, pts.Radius = draw.CircleGlyph{}, vg.Points(2)
	if !test {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		pts.Shape = draw.RingGlyph{}
	}
	return l, pts, nil
}

// accuracyBars is the 95% Wilson interval of every test-accuracy point of head t of a curve, over the
// point's Scores.N examples, as error bars in col; nil when the curve records no example counts.
func accuracyBars(c training.Curve, t int, col color.Color) (*plotter.YErrorBars, error) {
	var bars epsErrorBars
	for i, step := range c.Step {
		sc := c.Test[i]
		if sc.N <= 0 {
			return nil, nil
		}
		a := sc.Accuracy[t]
		lo, hi := metric.Wilson(int(math.Round(a*float64(sc.N))), sc.N, 0.95)
		bars = append(bars, epsErrorBar{x: float64(step), y: a, lo: lo, hi: hi})
	}
	eb, err := plotter.NewYErrorBars(bars)
	if err != nil {
		return nil, err
	}
	eb.Color, eb.Width, eb.CapWidth = col, vg.Points(0.8), vg.Points(3)
	return eb, nil
}

// checkRuns rejects runs without curve points or with inconsistent ones.
func checkRuns(title string, runs []Series) error {
	if len(runs) == 0 {
		return fmt.Errorf("figure: %q: no runs", title)
	}
	for _, r := range runs {
		n := len(r.Curve.Step)
		if n == 0 {
			return fmt.Errorf("figure: %q: run %q has no curve points", title, r.Label)
		}
		if len(r.Curve.Test) != n || len(r.Curve.Train) != n {
			return fmt.Errorf("figure: %q: run %q has %d steps, %d test and %d train points", title, r.Label, n, len(r.Curve.Test), len(r.Curve.Train))
		}
	}
	return nil
}

// padAccuracy sets an accuracy axis to the data range with some room below (for the legend) and a
// maximum of at most 1.
func padAccuracy(p *plot.Plot, room float64) {
	lo, hi := p.Y.Min, p.Y.Max
	span := math.Max(hi-lo, 0.02)
	p.Y.Min = math.Max(0, lo-room*span)
	p.Y.Max = math.Min(1, hi+0.05*span)
}

// HeadComparison draws one head's learning curves across runs (001 Table 2's comparison of task
// combinations, as curves): cross-entropy on the left and accuracy on the right against the
// optimizer step, one colour per run, solid for the test subset (each accuracy point with its 95%
// Wilson interval over the evaluated examples) and dashed for the training subset.
// Runs without the head are left out; at least one must have it.
func HeadComparison(title, head string, runs []Series) (*Figure, error) {
	if err := checkRuns(title, runs); err != nil {
		return nil, err
	}
	loss, acc := plot.New(), plot.New()
	loss.Title.Text, acc.Title.Text = title+": "+head+" head, loss", title+": "+head+" head, accuracy"
	loss.X.Label.Text, acc.X.Label.Text = "step", "step"
	loss.Y.Label.Text, acc.Y.Label.Text = "cross-entropy", "accuracy"
	n := 0
	for i, r := range runs {
		t := headIndex(r, head)
		if t < 0 {
			continue
		}
		n++
		for _, test := range []bool{true, false} {
			for _, panel := range []struct {
				p        *plot.Plot
				accuracy bool
			}{{loss, false}, {acc, true}} {
				l, pts, err := curveLine(r, t, test, panel.accuracy, RunColor(i))
				if err != nil {
					return nil, fmt.Errorf("figure: %q: %w", title, err)
				}
				panel.p.Add(l, pts)
				if test {
					panel.p.Legend.Add(r.Label, l, pts)
				}
				if test && panel.accuracy {
					if eb, err := accuracyBars(r.Curve, t, RunColor(i)); err != nil {
						return nil, fmt.Errorf("figure: %q: %w", title, err)
					} else if eb != nil {
						panel.p.Add(eb)
					}
				}
			}
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("figure: %q: no run has a head %q", title, head)
	}
	addSplitKey(loss, acc)
	loss.Y.Min = 0
	padAccuracy(acc, 0.6)
	loss.Legend.Top = true
	acc.Legend.Top, acc.Legend.Left = false, false
	for _, p := range []*plot.Plot{loss, acc} {
		p.Legend.TextStyle.Font.Size = vg.Points(10)
		p.Legend.XOffs = -vg.Points(8) // keep the line samples inside the panel
		p.Add(plotter.NewGrid())
	}
	return &Figure{Panels: [][]*plot.Plot{{loss, acc}}, Width: 11 * vg.Inch, Height: 4.4 * vg.Inch}, nil
}

// addSplitKey adds "test" (solid) and "train" (dashed) entries in grey to the plots' legends.
func addSplitKey(ps ...*plot.Plot) {
	grey := color.Gray{Y: 110}
	solid := plotter.NewFunction(func(float64) float64 { return math.NaN() })
	solid.Color, solid.Width = grey, vg.Points(1.5)
	dashed := plotter.NewFunction(func(float64) float64 { return math.NaN() })
	dashed.Color, dashed.Width, dashed.Dashes = grey, vg.Points(1.5), []vg.Length{vg.Points(4), vg.Points(3)}
	for _, p := range ps {
		p.Legend.Add("test", solid)
		p.Legend.Add("train", dashed)
	}
}

// HeadsComparison draws the test curves of every head across runs: one column per head (in the
// order the runs first name them, main first), accuracy above (each point with its 95% Wilson
// interval) and cross-entropy below, one colour per run, the same in every panel. A head's panels hold the runs that train it.
func HeadsComparison(title string, runs []Series) (*Figure, error) {
	if err := checkRuns(title, runs); err != nil {
		return nil, err
	}
	names := heads(runs)
	accRow, lossRow := make([]*plot.Plot, len(names)), make([]*plot.Plot, len(names))
	for h, head := range names {
		acc, loss := plot.New(), plot.New()
		acc.Title.Text, loss.Title.Text = head+" head: test accuracy", head+" head: test loss"
		acc.X.Label.Text, loss.X.Label.Text = "step", "step"
		acc.Y.Label.Text, loss.Y.Label.Text = "accuracy", "cross-entropy"
		for i, r := range runs {
			t := headIndex(r, head)
			if t < 0 {
				continue
			}
			for _, panel := range []struct {
				p        *plot.Plot
				accuracy bool
			}{{acc, true}, {loss, false}} {
				l, pts, err := curveLine(r, t, true, panel.accuracy, RunColor(i))
				if err != nil {
					return nil, fmt.Errorf("figure: %q: %w", title, err)
				}
				panel.p.Add(l, pts)
				panel.p.Legend.Add(r.Label, l, pts)
				if panel.accuracy {
					if eb, err := accuracyBars(r.Curve, t, RunColor(i)); err != nil {
						return nil, fmt.Errorf("figure: %q: %w", title, err)
					} else if eb != nil {
						panel.p.Add(eb)
					}
				}
			}
		}
		padAccuracy(acc, 0.05)
		loss.Y.Min = 0
		loss.Legend.Top = true
		acc.Legend.Top, acc.Legend.Left = false, false
		acc.Legend.Padding, loss.Legend.Padding = vg.Points(1), vg.Points(1)
		for _, p := range []*plot.Plot{acc, loss} {
			p.Legend.TextStyle.Font.Size = vg.Points(8)
			p.Legend.XOffs = -vg.Points(8) // keep the line samples inside the panel
			p.Add(plotter.NewGrid())
		}
		accRow[h], lossRow[h] = acc, loss
		// Accuracy panels keep only curves: the loss panel below carries the legend.
		acc.Legend = plot.NewLegend()
		acc.Legend.TextStyle.Font.Size = vg.Points(8)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("figure: %q: the runs name no heads", title)
	}
	w := vg.Length(len(names))*3.6*vg.Inch + 0.4*vg.Inch
	return &Figure{Title: title, Panels: [][]*plot.Plot{accRow, lossRow}, Width: w, Height: 7.3 * vg.Inch}, nil
}

// FinalAccuracy draws the runs' final test accuracy as groups of bars: one group per head (main
// first), one bar per run that trains the head, in the run's colour (as in HeadComparison), with the
// run's label written up the bar, its 95% Wilson interval over the run's Final.N test images as an error
// bar, and its value above that. The accuracy axis starts at 0.
func FinalAccuracy(title string, runs []Series) (*Figure, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("figure: %q: no runs", title)
	}
	b := &barGroups{runs: runs}
	for _, r := range runs {
		if r.Final.N == 0 || len(r.Final.Accuracy) != len(r.Final.Tasks) {
			return nil, fmt.Errorf("figure: %q: run %q has no final scores", title, r.Label)
		}
		for _, t := range r.Final.Tasks {
			if !slices.Contains(b.heads, t) {
				b.heads = append(b.heads, t)
			}
		}
	}
	for _, h := range b.heads {
		runs, _ := b.members(h)
		b.widest = max(b.widest, len(runs))
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "final test accuracy (95% Wilson intervals)"
	p.Add(plotter.NewGrid())
	p.Add(b)
	p.NominalX(b.heads...)
	p.X.Tick.Label.Font.Size = vg.Points(11)
	p.Y.Min, p.Y.Max = 0, 1.06
	w := math.Max(5, 1.2+float64(len(b.heads)*b.widest)*0.5)
	return Single(p, vg.Length(w)*vg.Inch, 4.6*vg.Inch), nil
}

// errorBarStyle draws the interval of a bar (as GroupedBarsCI does).
var errorBarStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(0.9)}

// barGroups is the plotter behind FinalAccuracy.
type barGroups struct {
	runs   []Series
	heads  []string
	widest int // the most bars in one group
}

// members returns the indices of the runs that train head, and the head's index in each.
func (b *barGroups) members(head string) (runs, tasks []int) {
	for i, r := range b.runs {
		if t := slices.Index(r.Final.Tasks, head); t >= 0 {
			runs, tasks = append(runs, i), append(tasks, t)
		}
	}
	return runs, tasks
}

// DataRange implements plot.DataRanger: groups are centred on 0, 1, ...
func (b *barGroups) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(len(b.heads)) - 0.5, 0, 1
}

// Plot implements plot.Plotter.
func (b *barGroups) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	value := textStyle(8, draw.XCenter)
	value.YAlign = draw.YBottom
	label := textStyle(8, draw.XLeft)
	label.Rotation = math.Pi / 2
	width := 0.84 / float64(b.widest) // of a bar, in data units
	for h, head := range b.heads {
		runs, tasks := b.members(head)
		left := float64(h) - width*float64(len(runs))/2
		for k, i := range runs {
			acc := b.runs[i].Final.Accuracy[tasks[k]]
			x0, x1 := trX(left+width*float64(k)), trX(left+width*float64(k+1))-vg.Points(1)
			y0, y1 := trY(0), trY(acc)
			c.FillPolygon(RunColor(i), []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			top := y1
			if n := b.runs[i].Final.N; n > 0 {
				// 95% Wilson interval of the accuracy over the run's n test images, with caps.
				lo, hi := metric.Wilson(int(math.Round(acc*float64(n))), n, 0.95)
				xm, cap := (x0+x1)/2, (x1-x0)/4
				ylo, yhi := trY(lo), trY(hi)
				c.StrokeLine2(errorBarStyle, xm, ylo, xm, yhi)
				c.StrokeLine2(errorBarStyle, xm-cap, ylo, xm+cap, ylo)
				c.StrokeLine2(errorBarStyle, xm-cap, yhi, xm+cap, yhi)
				top = max(top, yhi)
			}
			c.FillText(value, vg.Point{X: (x0 + x1) / 2, Y: top + vg.Points(1.5)}, fmt.Sprintf("%.3f", acc))
			c.FillText(label, vg.Point{X: (x0 + x1) / 2, Y: y0 + vg.Points(5)}, b.runs[i].Label)
		}
	}
}
