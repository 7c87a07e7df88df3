package figure

import (
	"fmt"
	"image"
	"image/color"
	"strconv"

	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/task"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Tile is one image of an image grid with its caption (e.g. its main-task class).
type Tile struct {
	Image   image.Image
	Caption string
}

// GridRow is one row of an image grid: a label drawn on its left (e.g. an auxiliary class) and its
// tiles, left to right.
type GridRow struct {
	Label string
	Tiles []Tile
}

// Sizes of an image grid's parts.
const (
	gridTile    = 0.72 * vg.Inch // side of a tile's square cell
	gridCaption = 0.17 * vg.Inch // caption band under each tile
	gridTitle   = 0.45 * vg.Inch // title band
	gridPad     = 0.12 * vg.Inch // outer padding
)

// ImageGrid draws rows of images, each row labelled on its left and each image captioned below. The
// figure's size follows from the number of rows and of columns (the longest row), with square
// tiles of about 0.7 inch. It needs at least one tile.
func ImageGrid(title string, rows []GridRow) (*Figure, error) {
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r.Tiles))
		for j, t := range r.Tiles {
			if t.Image == nil || t.Image.Bounds().Empty() {
				return nil, fmt.Errorf("figure: image grid %q: row %q, tile %d has no image", title, r.Label, j)
			}
		}
	}
	if cols == 0 {
		return nil, fmt.Errorf("figure: image grid %q: no images", title)
	}
	g := &imageGrid{rows: rows, cols: cols, label: textStyle(10, draw.XRight), caption: textStyle(7, draw.XCenter)}
	for _, r := range rows {
		g.labelWidth = max(g.labelWidth, g.label.Width(r.Label))
	}
	g.labelWidth += 0.12 * vg.Inch
	p := plot.New()
	p.Title.Text = title
	p.HideAxes()
	p.Add(g)
	width := 2*gridPad + g.labelWidth + vg.Length(cols)*gridTile
	height := 2*gridPad + gridTitle + vg.Length(len(rows))*(gridTile+gridCaption)
	return Single(p, max(width, 4*vg.Inch), height), nil
}

// imageGrid is the plotter behind ImageGrid: it lays the tiles out in its own canvas coordinates.
type imageGrid struct {
	rows           []GridRow
	cols           int
	label, caption text.Style
	labelWidth     vg.Length
}

// Plot implements plot.Plotter.
func (g *imageGrid) Plot(c draw.Canvas, _ *plot.Plot) {
	r := c.Rectangle
	cellW := (r.Size().X - g.labelWidth) / vg.Length(g.cols)
	cellH := r.Size().Y / vg.Length(len(g.rows))
	side := min(cellW, cellH-gridCaption) * 0.92
	for i, row := range g.rows {
		top := r.Max.Y - vg.Length(i)*cellH
		imgTop := top - (cellH-gridCaption-side)/2
		c.FillText(g.label, vg.Point{X: r.Min.X + g.labelWidth - 0.12*vg.Inch, Y: imgTop - side/2}, row.Label)
		for j, t := range row.Tiles {
			x0 := r.Min.X + g.labelWidth + vg.Length(j)*cellW + (cellW-side)/2
			rect := vg.Rectangle{Min: vg.Point{X: x0, Y: imgTop - side}, Max: vg.Point{X: x0 + side, Y: imgTop}}
			c.DrawImage(rect, t.Image)
			c.FillText(g.caption, vg.Point{X: x0 + side/2, Y: imgTop - side - 0.03*vg.Inch}, t.Caption)
		}
	}
}

// textStyle is the figures' plain text style at the given size and horizontal alignment, vertically
// centred (captions hang below their point).
func textStyle(size vg.Length, xAlign text.XAlignment) text.Style {
	s := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, size), XAlign: xAlign, YAlign: draw.YCenter,
		Handler: plot.DefaultTextHandler}
	if xAlign == draw.XCenter {
		s.YAlign = draw.YTop
	}
	return s
}

// HWCImage converts an image stored as Height*Width*Channels float32 values in [0,1] (HWC, as in
// datasets.Dataset) to an image.Image: gray for one channel, RGB for three. Values outside [0,1]
// are clipped.
func HWCImage(pix []float32, h, w, ch int) (image.Image, error) {
	if h <= 0 || w <= 0 || len(pix) != h*w*ch {
		return nil, fmt.Errorf("figure: image of %d values is not %dx%dx%d", len(pix), h, w, ch)
	}
	u8 := func(v float32) uint8 { return uint8(min(max(v, 0), 1)*255 + 0.5) }
	switch ch {
	case 1:
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i, v := range pix {
			img.Pix[i] = u8(v)
		}
		return img, nil
	case 3:
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < h*w; i++ {
			img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = u8(pix[3*i]), u8(pix[3*i+1]), u8(pix[3*i+2]), 255
		}
		return img, nil
	}
	return nil, fmt.Errorf("figure: images with %d channels: want 1 or 3", ch)
}

// AuxClassSamples returns the rows of an image grid that shows what an auxiliary task asks a
// network to see: one row per auxiliary class c of m, labelled with c's name, holding perRow samples
// of ds whose main class is in the preimage P_m^{-1}(c) (001 §III-B, y^m = P_m(y)), captioned with
// their main class. A row cycles through its main classes in order, so that each of them appears
// when there is room. The samples are drawn at random with seed; m's source classes must be ds's.
func AuxClassSamples(ds *datasets.Dataset, m task.Map, perRow int, seed int64) ([]GridRow, error) {
	if m.K() != ds.NumClasses() {
		return nil, fmt.Errorf("figure: map %q has %d source classes, dataset %s has %d", m.Name, m.K(), ds.Name, ds.NumClasses())
	}
	if perRow <= 0 {
		return nil, fmt.Errorf("figure: %d samples per row: want at least 1", perRow)
	}
	byClass := make([][]int, ds.NumClasses())
	for i, y := range ds.Labels {
		byClass[y] = append(byClass[y], i)
	}
	rng := datasets.NewRand(seed)
	for _, idx := range byClass {
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	next := make([]int, ds.NumClasses())
	rows := make([]GridRow, m.Km())
	for c := range rows {
		rows[c].Label = m.TargetClasses[c]
		if _, err := strconv.Atoi(rows[c].Label); err == nil {
			rows[c].Label = "class " + rows[c].Label // a random map's classes are numbers
		}
		group := m.Group(c)
		for j := 0; len(rows[c].Tiles) < perRow && j < perRow*len(group); j++ {
			y := group[j%len(group)]
			if next[y] >= len(byClass[y]) {
				continue
			}
			i := byClass[y][next[y]]
			next[y]++
			img, err := HWCImage(ds.Image(i), ds.Height, ds.Width, ds.Channels)
			if err != nil {
				return nil, err
			}
			rows[c].Tiles = append(rows[c].Tiles, Tile{Image: img, Caption: ds.ClassNames[y]})
		}
		if len(rows[c].Tiles) == 0 {
			return nil, fmt.Errorf("figure: map %q: auxiliary class %q has no samples in %s/%s", m.Name, m.TargetClasses[c], ds.Name, ds.Split)
		}
	}
	return rows, nil
}
