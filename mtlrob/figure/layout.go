package figure

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Combine lays single-panel figures (GroupedBars, LinesOverEps, Heatmap, ...) out as one figure of
// cols columns, row by row, with title over the whole grid. Every panel keeps its own title, legend
// and colour scale; the size is the sum of the widest row's panel widths by the sum of each row's
// tallest panel, plus room for the title. Figures of several panels are rejected.
func Combine(title string, cols int, figs ...*Figure) (*Figure, error) {
	if len(figs) == 0 {
		return nil, fmt.Errorf("figure: combine %q: no figures", title)
	}
	if cols <= 0 {
		return nil, fmt.Errorf("figure: combine %q: %d columns", title, cols)
	}
	cols = min(cols, len(figs))
	var panels [][]*plot.Plot
	var width, height vg.Length
	for lo := 0; lo < len(figs); lo += cols {
		var row []*plot.Plot
		var w, h vg.Length
		for _, f := range figs[lo:min(lo+cols, len(figs))] {
			if f == nil || len(f.Panels) != 1 || len(f.Panels[0]) != 1 || f.Panels[0][0] == nil {
				return nil, fmt.Errorf("figure: combine %q: want single-panel figures", title)
			}
			row = append(row, f.Panels[0][0])
			w += f.Width
			h = max(h, f.Height)
		}
		panels = append(panels, row)
		width, height = max(width, w), height+h
	}
	if title != "" {
		height += 0.4 * vg.Inch
	}
	return &Figure{Title: title, Panels: panels, Width: width, Height: height}, nil
}

// sideLegend draws a plot with its legend outside the data area, on the right: the frame that
// GroupedBars and LinesOverEps return, so that no legend ever covers a bar or a line. The frame is
// a plot with hidden axes whose one plotter draws the inner plot and, beside it, the legend (top
// aligned with the inner data area) and an optional extra panel (a colour scale).
type sideLegend struct {
	inner  *plot.Plot
	legend plot.Legend
	width  vg.Length // of the legend column
	// side, when set, is drawn in the legend column over the inner plot's data height (a colour bar).
	side *plot.Plot
}

// framed returns the frame plot around inner with legend drawn to its right (inner's own legend is
// not drawn), or inner itself when the legend is empty and there is no side panel. The legend
// column is as wide as the legend's widest entry.
func framed(inner *plot.Plot, legend plot.Legend, side *plot.Plot, sideWidth vg.Length) *plot.Plot {
	s := &sideLegend{inner: inner, legend: legend, side: side, width: sideWidth}
	// Rectangle measures the entries' text only: a zero canvas will do.
	lw := legend.Rectangle(draw.Canvas{}).Size().X
	if lw == 0 && side == nil {
		return inner
	}
	s.width = max(s.width, lw+0.3*vg.Inch)
	inner.Legend = plot.NewLegend() // drawn by the frame instead
	frame := plot.New()
	frame.HideAxes()
	frame.Add(s)
	return frame
}

// Plot implements plot.Plotter.
func (s *sideLegend) Plot(c draw.Canvas, _ *plot.Plot) {
	c = draw.Crop(c, 0.05*vg.Inch, -0.05*vg.Inch, 0.05*vg.Inch, -0.08*vg.Inch) // a margin all round
	main := c
	main.Max.X -= s.width
	s.inner.Draw(main)
	data := s.inner.DataCanvas(main)
	col := c
	col.Min.X = main.Max.X + 0.1*vg.Inch
	col.Max.Y = data.Max.Y
	if s.side != nil {
		sc := col
		sc.Min.Y = data.Min.Y
		s.side.Draw(sc)
		return
	}
	s.legend.Top, s.legend.Left = true, true
	s.legend.Draw(col)
}

// withMargin returns a frame that draws p with the small margin all round that framed figures have
// (ImageGrid's title otherwise touches the top edge).
func withMargin(p *plot.Plot) *plot.Plot {
	frame := plot.New()
	frame.HideAxes()
	frame.Add(&sideLegend{inner: p, legend: plot.NewLegend()})
	return frame
}
