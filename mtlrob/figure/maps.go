package figure

import (
	"fmt"
	"image/color"

	"github.com/mtlrob/mtlrob/mtlrob/task"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Sizes of a task-map table's parts.
const (
	mapRow    = 0.26 * vg.Inch // height of a main-class row
	mapHeader = 0.5 * vg.Inch  // the header with the task names
	mapMinCol = 0.95 * vg.Inch // narrowest task column
)

// TaskMaps draws the self-defined tasks of a set as a table: one row per main class y (top to
// bottom, in label order), one column per auxiliary task m, each cell holding the name of P_m(y)
// (001 §III-B) on a colour that stands for that auxiliary class, so the groups P_m^{-1}(c) show as
// colour blocks. The header gives each task's name and K_m. The set must be valid.
func TaskMaps(title string, set task.Set) (*Figure, error) {
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("figure: task maps %q: %w", title, err)
	}
	if len(set.Aux) == 0 {
		return nil, fmt.Errorf("figure: task maps %q: the set has no auxiliary task", title)
	}
	t := &mapTable{set: set, label: textStyle(9, draw.XRight), cell: textStyle(8, draw.XCenter), header: textStyle(9, draw.XCenter)}
	t.cell.YAlign, t.header.YAlign = draw.YCenter, draw.YCenter
	for _, name := range set.Main.ClassNames {
		t.labelWidth = max(t.labelWidth, t.label.Width(name))
	}
	t.labelWidth += 0.1 * vg.Inch
	t.colWidth = mapMinCol
	for _, m := range set.Aux {
		t.colWidth = max(t.colWidth, t.header.Width(m.Name)+0.15*vg.Inch, t.header.Width(kmLabel(m))+0.15*vg.Inch)
		for _, c := range m.TargetClasses {
			t.colWidth = max(t.colWidth, t.cell.Width(c)+0.15*vg.Inch)
		}
	}
	p := plot.New()
	p.Title.Text = title
	p.HideAxes()
	p.Add(t)
	width := 2*gridPad + t.labelWidth + vg.Length(len(set.Aux))*t.colWidth
	height := 0.4*vg.Inch + mapHeader + vg.Length(len(set.Main.ClassNames))*mapRow // title, header, rows
	return Single(p, max(width, 4*vg.Inch), height), nil
}

// kmLabel is the second header line of a task column.
func kmLabel(m task.Map) string { return fmt.Sprintf("K_m = %d", m.Km()) }

// mapTable is the plotter behind TaskMaps.
type mapTable struct {
	set                  task.Set
	label, cell, header  text.Style
	labelWidth, colWidth vg.Length
}

// Plot implements plot.Plotter. The table is centred horizontally in the canvas.
func (t *mapTable) Plot(c draw.Canvas, _ *plot.Plot) {
	r := c.Rectangle
	k, nm := len(t.set.Main.ClassNames), len(t.set.Aux)
	left := r.Min.X + (r.Size().X-t.labelWidth-vg.Length(nm)*t.colWidth)/2
	top := r.Max.Y
	x0 := left + t.labelWidth
	for j, m := range t.set.Aux {
		cx := x0 + (vg.Length(j)+0.5)*t.colWidth
		c.FillText(t.header, vg.Point{X: cx, Y: top - mapHeader*0.3}, m.Name)
		c.FillText(t.header, vg.Point{X: cx, Y: top - mapHeader*0.7}, kmLabel(m))
	}
	rowsTop := top - mapHeader
	for y := 0; y < k; y++ {
		yc := rowsTop - (vg.Length(y)+0.5)*mapRow
		c.FillText(t.label, vg.Point{X: x0 - 0.1*vg.Inch, Y: yc}, t.set.Main.ClassNames[y])
		for j, m := range t.set.Aux {
			cls := m.Table[y]
			xl := x0 + vg.Length(j)*t.colWidth
			cell := []vg.Point{
				{X: xl + 1, Y: yc - mapRow/2 + 1}, {X: xl + t.colWidth - 1, Y: yc - mapRow/2 + 1},
				{X: xl + t.colWidth - 1, Y: yc + mapRow/2 - 1}, {X: xl + 1, Y: yc + mapRow/2 - 1},
			}
			c.FillPolygon(lighten(plotutil.Color(cls), 0.55), cell)
			c.FillText(t.cell, vg.Point{X: xl + t.colWidth/2, Y: yc}, m.TargetClasses[cls])
		}
	}
}

// lighten mixes col with white; f = 0 keeps it, 1 gives white.
func lighten(col color.Color, f float64) color.Color {
	r, g, b, _ := col.RGBA()
	mix := func(v uint32) uint8 { return uint8(float64(v>>8)*(1-f) + 255*f + 0.5) }
	return color.RGBA{R: mix(r), G: mix(g), B: mix(b), A: 255}
}
