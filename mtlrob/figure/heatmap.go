package figure

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatmapScale fixes a heatmap's colour scale. The zero value spans the data: from min(0, lowest)
// to the highest value.
type HeatmapScale struct {
	Min, Max float64
	Label    string // the colour bar's label, e.g. "ARP (%)"
}

// Heatmap draws values as a grid of coloured cells, rowLabels top to bottom and colLabels left to
// right, each cell holding its value (in black or white, whichever reads better on its colour), with
// a vertical colour bar on the right labelled scale.Label. values[r][c] is row r, column c; a NaN
// cell is drawn light grey with "–". Colours run from pale (scale.Min) to dark red (scale.Max)
// (Moreland's black-body map without its darkest end); values outside the scale take its end
// colours. It is 004 Fig. 1's layout when rows are attacked tasks and columns measured tasks.
func Heatmap(title string, rowLabels, colLabels []string, values [][]float64, scale HeatmapScale) (*Figure, error) {
	p, bar, width, height, err := heatmapPlot(title, rowLabels, colLabels, values, scale)
	if err != nil {
		return nil, err
	}
	return Single(framed(p, plot.NewLegend(), bar, heatBarWidth), width, height), nil
}

// heatBarWidth is the width of a heatmap's colour-bar column.
const heatBarWidth = 1.1 * vg.Inch

// heatmapPlot is Heatmap without the frame: the cells' plot, the colour bar's, and the figure size.
func heatmapPlot(title string, rowLabels, colLabels []string, values [][]float64, scale HeatmapScale) (p, bar *plot.Plot, width, height vg.Length, err error) {
	fail := func(format string, args ...any) (*plot.Plot, *plot.Plot, vg.Length, vg.Length, error) {
		return nil, nil, 0, 0, fmt.Errorf(format, args...)
	}
	if len(rowLabels) == 0 || len(colLabels) == 0 {
		return fail("figure: heatmap %q: %d rows and %d columns: want at least one of each", title, len(rowLabels), len(colLabels))
	}
	if len(values) != len(rowLabels) {
		return fail("figure: heatmap %q: %d rows of values for %d row labels", title, len(values), len(rowLabels))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for r, row := range values {
		if len(row) != len(colLabels) {
			return fail("figure: heatmap %q: row %q has %d values for %d columns", title, rowLabels[r], len(row), len(colLabels))
		}
		for _, v := range row {
			if math.IsInf(v, 0) {
				return fail("figure: heatmap %q: row %q has an infinite value", title, rowLabels[r])
			}
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return fail("figure: heatmap %q: every value is missing (NaN)", title)
	}
	if scale.Min == 0 && scale.Max == 0 {
		scale.Min, scale.Max = math.Min(0, lo), hi
	}
	if !(scale.Max > scale.Min) {
		scale.Max = scale.Min + 1
	}
	cmap := heatColors()
	cmap.SetMin(scale.Min)
	cmap.SetMax(scale.Max)
	h := &heatCells{values: values, cmap: cmap, digits: valueDigits(scale.Max - scale.Min)}
	p = plot.New()
	p.Title.Text = title
	p.Add(h)
	p.NominalX(colLabels...)
	// NominalY counts from the bottom: reverse the rows so the first is on top.
	rev := make([]string, len(rowLabels))
	for i, l := range rowLabels {
		rev[len(rowLabels)-1-i] = l
	}
	p.NominalY(rev...)
	p.X.Tick.Label.Font.Size, p.Y.Tick.Label.Font.Size = vg.Points(10), vg.Points(10)
	p.X.Min, p.X.Max = -0.5, float64(len(colLabels))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(rowLabels))-0.5

	bar = plot.New()
	bar.HideX()
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	bar.Y.Label.Text = scale.Label
	bar.Y.Tick.Label.Font.Size = vg.Points(9)
	bar.Y.Tick.Marker = niceTicks{}
	labelW := vg.Length(0)
	for _, l := range rowLabels {
		labelW = max(labelW, p.Y.Tick.Label.Width(l))
	}
	width = labelW + 0.9*vg.Inch + vg.Length(len(colLabels))*1.05*vg.Inch + heatBarWidth
	height = 1.3*vg.Inch + vg.Length(len(rowLabels))*0.42*vg.Inch
	return p, bar, max(width, 4.5*vg.Inch), max(height, 2.8*vg.Inch), nil
}

// heatColors is the sequential map of Heatmap: Moreland's black-body ramp from white-ish to dark red,
// cut before black so that the darkest cells still show their numbers.
func heatColors() palette.ColorMap {
	c := moreland.BlackBody()
	c.SetMin(0)
	c.SetMax(1)
	// Sample the top 80% of the ramp (reversed: pale = low) into a smooth map.
	var cols []color.Color
	for i := 0; i <= 16; i++ {
		v := 1 - 0.8*float64(i)/16
		col, _ := c.At(v)
		cols = append(cols, col)
	}
	return &stepless{colors: cols}
}

// stepless is a linear interpolation between evenly spaced colours, as a palette.ColorMap; values
// outside [min, max] take the end colours. It is always opaque.
type stepless struct {
	colors   []color.Color
	min, max float64
}

func (s *stepless) At(v float64) (color.Color, error) {
	if math.IsNaN(v) {
		return nil, fmt.Errorf("figure: colour of NaN")
	}
	f := (v - s.min) / (s.max - s.min)
	f = math.Min(math.Max(f, 0), 1) * float64(len(s.colors)-1)
	i := min(int(f), len(s.colors)-2)
	t := f - float64(i)
	a, b := color.RGBAModel.Convert(s.colors[i]).(color.RGBA), color.RGBAModel.Convert(s.colors[i+1]).(color.RGBA)
	mix := func(x, y uint8) uint8 { return uint8(float64(x)*(1-t) + float64(y)*t + 0.5) }
	return color.RGBA{R: mix(a.R, b.R), G: mix(a.G, b.G), B: mix(a.B, b.B), A: 255}, nil
}
func (s *stepless) SetMax(v float64) { s.max = v }
func (s *stepless) SetMin(v float64) { s.min = v }
func (s *stepless) Max() float64     { return s.max }
func (s *stepless) Min() float64     { return s.min }
func (s *stepless) SetAlpha(float64) {}
func (s *stepless) Alpha() float64   { return 1 }
func (s *stepless) Palette(n int) palette.Palette {
	cols := make([]color.Color, n)
	for i := range cols {
		cols[i], _ = s.At(s.min + (s.max-s.min)*float64(i)/float64(max(n-1, 1)))
	}
	return plainPalette(cols)
}

type plainPalette []color.Color

func (p plainPalette) Colors() []color.Color { return p }

// heatCells is the plotter behind Heatmap: cell (r, c) is centred on (c, rows-1-r).
type heatCells struct {
	values [][]float64
	cmap   palette.ColorMap
	digits int
}

// Plot implements plot.Plotter.
func (h *heatCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	rows := len(h.values)
	txt := textStyle(10, draw.XCenter)
	txt.YAlign = draw.YCenter
	for r, row := range h.values {
		y := float64(rows - 1 - r)
		for col, v := range row {
			x0, x1 := trX(float64(col)-0.5), trX(float64(col)+0.5)
			y0, y1 := trY(y-0.5), trY(y+0.5)
			fill := color.Color(color.Gray{Y: 225})
			label := "–"
			if !math.IsNaN(v) {
				fill, _ = h.cmap.At(v)
				label = fmt.Sprintf("%.*f", h.digits, v)
			}
			c.FillPolygon(fill, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			c.StrokeLines(draw.LineStyle{Color: color.White, Width: vg.Points(1.5)},
				[]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}, {X: x0, Y: y0}})
			txt.Color = readableOn(fill)
			c.FillText(txt, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, label)
		}
	}
}

// readableOn is black on light colours and white on dark ones (by relative luminance).
func readableOn(bg color.Color) color.Color {
	r, g, b, _ := bg.RGBA()
	lum := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
	if lum < 0.45 {
		return color.White
	}
	return color.Black
}
