// Package figure draws the workbench's figures with gonum.org/v1/plot and writes each one as PNG
// and SVG. A figure is always rendered from result records (training curves, evaluation records),
// never from typed-in numbers.
package figure

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is a grid of aligned panels (rows x columns; nil panels stay empty) of a given size, with
// an optional title over the whole grid.
type Figure struct {
	Title         string
	Panels        [][]*plot.Plot
	Width, Height vg.Length
}

// Single wraps one plot as a figure, at least as wide as the plot's title (centred over it, a longer title
// would be cut off at both ends).
func Single(p *plot.Plot, width, height vg.Length) *Figure {
	if p.Title.Text != "" {
		width = max(width, p.Title.TextStyle.Width(p.Title.Text)+0.4*vg.Inch)
	}
	return &Figure{Panels: [][]*plot.Plot{{p}}, Width: width, Height: height}
}

// draw renders the figure on a canvas.
func (f *Figure) draw(c vg.CanvasSizer) {
	dc := draw.New(c)
	if f.Title != "" {
		sty := textStyle(13, draw.XCenter)
		sty.YAlign = draw.YTop
		top := dc.Max.Y - vg.Millimeter*2
		dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: top}, f.Title)
		dc.Max.Y = top - sty.Height(f.Title) - vg.Millimeter*2
	}
	rows := len(f.Panels)
	cols := 0
	for _, r := range f.Panels {
		cols = max(cols, len(r))
	}
	if rows == 1 && cols == 1 {
		f.Panels[0][0].Draw(dc)
		return
	}
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	panels := make([][]*plot.Plot, rows)
	for i := range panels {
		panels[i] = make([]*plot.Plot, cols)
		copy(panels[i], f.Panels[i])
	}
	canvases := plot.Align(panels, t, dc)
	for i := range panels {
		for j, p := range panels[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// Save writes dir/name.png (at 150 dpi) and dir/name.svg and returns their paths. Each file is written
// to a temporary name first and renamed, so an interrupted run never leaves a half-written figure.
func (f *Figure) Save(dir, name string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("figure: %w", err)
	}
	png := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(150))}
	f.draw(png)
	svg := vgsvg.New(f.Width, f.Height)
	f.draw(svg)
	var paths []string
	for _, out := range []struct {
		ext    string
		canvas io.WriterTo
	}{{".png", png}, {".svg", svg}} {
		path := filepath.Join(dir, name+out.ext)
		if err := writeAtomic(path, out.canvas); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// writeAtomic writes w to path through a temporary file in the same directory and a rename.
func writeAtomic(path string, w io.WriterTo) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("figure: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := w.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("figure: writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("figure: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("figure: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("figure: %w", err)
	}
	return nil
}
