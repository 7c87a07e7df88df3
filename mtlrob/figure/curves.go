package figure

import (
	"fmt"
	"image/color"

	"github.com/mtlrob/mtlrob/mtlrob/training"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// TaskColor is the colour of task t in every figure of the workbench (main task first).
func TaskColor(t int) color.Color { return plotutil.Color(t) }

// LearningCurves draws a training run's curves: per-head cross-entropy (left) and accuracy (right)
// against the optimizer step, solid for the test subset (each accuracy point with its 95% Wilson
// interval over the evaluated examples) and dashed for the training subset.
func LearningCurves(title string, c training.Curve) (*Figure, error) {
	if len(c.Step) == 0 {
		return nil, fmt.Errorf("figure: learning curves %q: the curve has no points", title)
	}
	tasks := c.Test[0].Tasks
	loss, acc := plot.New(), plot.New()
	loss.Title.Text, acc.Title.Text = title+": loss per head", title+": accuracy per head"
	loss.X.Label.Text, acc.X.Label.Text = "step", "step"
	loss.Y.Label.Text, acc.Y.Label.Text = "cross-entropy", "accuracy"
	acc.Y.Min, acc.Y.Max = 0, 1
	loss.Y.Min = 0
	for t, name := range tasks {
		for _, split := range []struct {
			scores []training.Scores
			label  string
			dashed bool
		}{{c.Test, "test", false}, {c.Train, "train", true}} {
			lossXY, accXY := make(plotter.XYs, len(c.Step)), make(plotter.XYs, len(c.Step))
			for i, step := range c.Step {
				lossXY[i] = plotter.XY{X: float64(step), Y: split.scores[i].Loss[t]}
				accXY[i] = plotter.XY{X: float64(step), Y: split.scores[i].Accuracy[t]}
			}
			for _, panel := range []struct {
				p  *plot.Plot
				xy plotter.XYs
			}{{loss, lossXY}, {acc, accXY}} {
				l, pts, err := plotter.NewLinePoints(panel.xy)
				if err != nil {
					return nil, fmt.Errorf("figure: learning curves %q: %w", title, err)
				}
				l.Color, pts.Color = TaskColor(t), TaskColor(t)
				l.Width = vg.Points(1.5)
				pts.Shape = draw.CircleGlyph{}
				pts.Radius = vg.Points(2)
				if split.dashed {
					l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
					pts.Shape = draw.RingGlyph{}
				}
				panel.p.Add(l, pts)
				panel.p.Legend.Add(name+" ("+split.label+")", l, pts)
			}
			if !split.dashed {
				eb, err := accuracyBars(c, t, TaskColor(t))
				if err != nil {
					return nil, fmt.Errorf("figure: learning curves %q: %w", title, err)
				}
				if eb != nil {
					acc.Add(eb)
				}
			}
		}
	}
	loss.Legend.Top = true
	acc.Legend.Top, acc.Legend.Left = false, false
	for _, p := range []*plot.Plot{loss, acc} {
		p.Legend.TextStyle.Font.Size = vg.Points(9)
		p.Legend.XOffs = -vg.Points(8) // keep the line samples inside the panel
		p.Add(plotter.NewGrid())
	}
	return &Figure{Panels: [][]*plot.Plot{{loss, acc}}, Width: 11 * vg.Inch, Height: 4.2 * vg.Inch}, nil
}
