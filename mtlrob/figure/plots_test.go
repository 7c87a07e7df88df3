package figure

import (
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
)

// tallestRun returns the height in pixels of the tallest vertical run of pixels of colour col in img,
// and its column: the height of the tallest bar drawn in that colour.
func tallestRun(img image.Image, col color.Color) (height, x int) {
	want := color.RGBAModel.Convert(col).(color.RGBA)
	b := img.Bounds()
	for px := b.Min.X; px < b.Max.X; px++ {
		run := 0
		for py := b.Min.Y; py < b.Max.Y; py++ {
			if color.RGBAModel.Convert(img.At(px, py)).(color.RGBA) == want {
				run++
				if run > height {
					height, x = run, px
				}
			} else {
				run = 0
			}
		}
	}
	return height, x
}

func TestGroupedBarsHeightsFollowTheValues(t *testing.T) {
	groups := []string{"clean", "PGD\ntargeted", "CW-L2"}
	series := []string{"natural", "pgd-at"}
	values := [][]float64{{80, 20, 10}, {40, 10, math.NaN()}}
	fig, err := GroupedBars("toy bars", groups, series, values, "accuracy (%)")
	if err != nil {
		t.Fatal(err)
	}
	img, svg := savedPNG(t, fig, 700, 500)
	// The tallest bar of each series is its first: 80 and 40, so the first is twice as tall.
	h0, x0 := tallestRun(img, SeriesColor(0))
	h1, x1 := tallestRun(img, SeriesColor(1))
	if h1 == 0 || math.Abs(float64(h0)/float64(h1)-2) > 0.03 {
		t.Errorf("bars of 80 and 40 are %d and %d pixels tall, want a ratio of 2", h0, h1)
	}
	if x1 <= x0 {
		t.Errorf("the second series' bar (x=%d) is not right of the first's (x=%d)", x1, x0)
	}
	for _, want := range []string{"toy bars", "accuracy (%)", "natural", "pgd-at", "80.0", "10.0", "targeted", "CW-L2"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(svg, "NaN") {
		t.Error("a missing value was written as NaN")
	}
	for name, bad := range map[string]func() error{
		"no groups":    func() error { _, err := GroupedBars("x", nil, series, nil, ""); return err },
		"series count": func() error { _, err := GroupedBars("x", groups, series, values[:1], ""); return err },
		"group count":  func() error { _, err := GroupedBars("x", groups, series, [][]float64{{1, 2, 3}, {1}}, ""); return err },
		"all missing": func() error {
			_, err := GroupedBars("x", groups[:1], series[:1], [][]float64{{math.NaN()}}, "")
			return err
		},
		"infinite value": func() error {
			_, err := GroupedBars("x", groups[:1], series[:1], [][]float64{{math.Inf(1)}}, "")
			return err
		},
	} {
		if bad() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGroupedBarsNegativeValues(t *testing.T) {
	fig, err := GroupedBars("drops", []string{"a", "b"}, []string{"s"}, [][]float64{{-5, 10}}, "change")
	if err != nil {
		t.Fatal(err)
	}
	p, _, _, err := groupedBarsPlot("drops", []string{"a", "b"}, []string{"s"}, [][]float64{{-5, 10}}, "change", math.NaN(), math.NaN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fig.PNG(50); err != nil {
		t.Fatal(err)
	}
	if p.Y.Min >= -5 || p.Y.Max <= 10 {
		t.Errorf("y axis [%g, %g] does not hold -5 and 10 with room", p.Y.Min, p.Y.Max)
	}
}

func TestLinesOverEps(t *testing.T) {
	eps := []float64{0.0125, 0.025, 0.05, 0.1, 0.2}
	lines := []Line{
		{Name: "Single(main)", Values: []float64{3, 10, 27, 48, 55}},
		{Name: "DGBA", Values: []float64{1, 5, 25, 80, math.NaN()}},
	}
	fig, err := LinesOverEps("toy ARP", eps, lines, "ARP (%)")
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 900, 500)
	for _, want := range []string{"toy ARP", "ARP (%)", "eps", "Single(main)", "DGBA", ">0.0125<", ">0.2<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	p, _, err := linesPlot("toy ARP", eps, lines, "ARP (%)")
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min != 0 || p.Y.Max < 80 {
		t.Errorf("y axis [%g, %g], want from 0 to above 80", p.Y.Min, p.Y.Max)
	}
	if p.X.Min >= eps[0] || p.X.Max <= eps[4] {
		t.Errorf("x axis [%g, %g] cuts off a budget", p.X.Min, p.X.Max)
	}
	// Intervals: the y axis holds the highest end (95 > every value), a NaN end draws no bar.
	withCI := []Line{
		{Name: "Single(main)", Values: []float64{3, 10, 27, 48, 55}, Lo: []float64{1, 8, 24, 44, 50}, Hi: []float64{5, 12, 30, 52, 60}},
		{Name: "DGBA", Values: []float64{1, 5, 25, 80, math.NaN()}, Lo: []float64{0, 3, math.NaN(), 70, math.NaN()}, Hi: []float64{2, 7, math.NaN(), 95, math.NaN()}},
	}
	if p, _, err = linesPlot("toy ARP", eps, withCI, "ARP (%)"); err != nil {
		t.Fatal(err)
	}
	if p.Y.Max < 95 {
		t.Errorf("y axis [%g, %g] cuts off the interval end 95", p.Y.Min, p.Y.Max)
	}
	if fig, err = LinesOverEps("toy ARP", eps, withCI, "ARP (%)"); err != nil {
		t.Fatal(err)
	}
	savedPNG(t, fig, 900, 500)
	for name, bad := range map[string]func() error{
		"decreasing eps": func() error {
			_, err := LinesOverEps("x", []float64{0.2, 0.1}, []Line{{Name: "a", Values: []float64{1, 2}}}, "")
			return err
		},
		"zero eps": func() error {
			_, err := LinesOverEps("x", []float64{0, 0.1}, []Line{{Name: "a", Values: []float64{1, 2}}}, "")
			return err
		},
		"short line": func() error {
			_, err := LinesOverEps("x", eps, []Line{{Name: "a", Values: []float64{1}}}, "")
			return err
		},
		"empty line": func() error {
			_, err := LinesOverEps("x", eps[:1], []Line{{Name: "a", Values: []float64{math.NaN()}}}, "")
			return err
		},
		"no lines": func() error { _, err := LinesOverEps("x", eps, nil, ""); return err },
		"short interval": func() error {
			_, err := LinesOverEps("x", eps[:2], []Line{{Name: "a", Values: []float64{1, 2}, Lo: []float64{0}, Hi: []float64{2, 3}}}, "")
			return err
		},
		"lo without hi": func() error {
			_, err := LinesOverEps("x", eps[:2], []Line{{Name: "a", Values: []float64{1, 2}, Lo: []float64{0, 1}}}, "")
			return err
		},
	} {
		if bad() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
}

func TestHeatColorsRunFromPaleToDark(t *testing.T) {
	m := heatColors()
	m.SetMin(0)
	m.SetMax(100)
	prev := 2.0
	for v := 0.0; v <= 100; v += 10 {
		c, err := m.At(v)
		if err != nil {
			t.Fatal(err)
		}
		if l := luminance(c); l >= prev {
			t.Errorf("luminance at %g is %.3f, not below %.3f at %g", v, l, prev, v-10)
		} else {
			prev = l
		}
	}
	lo, _ := m.At(0)
	below, _ := m.At(-50)
	hi, _ := m.At(100)
	above, _ := m.At(1e6)
	if lo != below || hi != above {
		t.Error("values outside the scale do not take its end colours")
	}
	if luminance(lo) < 0.85 || luminance(hi) > 0.25 {
		t.Errorf("ends have luminance %.2f and %.2f: want pale and dark", luminance(lo), luminance(hi))
	}
	if readableOn(hi) != color.White || readableOn(lo) != color.Black {
		t.Error("cell text is not white on dark and black on pale cells")
	}
	if _, err := m.At(math.NaN()); err == nil {
		t.Error("NaN has a colour")
	}
}

func TestHeatmap(t *testing.T) {
	rows := []string{"Single(main)", "Single(category)", "DGBA"}
	cols := []string{"main", "category", "mean (ARP)"}
	values := [][]float64{{92.2, 23.6, 57.9}, {79.7, 81.6, 80.7}, {87.8, math.NaN(), 87.8}}
	fig, err := Heatmap("toy heatmap", rows, cols, values, HeatmapScale{Min: 0, Max: 100, Label: "drop (%)"})
	if err != nil {
		t.Fatal(err)
	}
	img, svg := savedPNG(t, fig, 600, 400)
	for _, want := range []string{"toy heatmap", "Single(category)", "mean (ARP)", "drop (%)", "92.2", "23.6", "–"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	// The cell of 92.2 is drawn in the map's colour for 92.2.
	m := heatColors()
	m.SetMin(0)
	m.SetMax(100)
	c, _ := m.At(92.2)
	if h, _ := tallestRun(img, c); h < 20 {
		t.Errorf("no cell in the colour of 92.2 (tallest run %d pixels)", h)
	}
	// The first row is on top.
	p, _, _, _, err := heatmapPlot("toy heatmap", rows, cols, values, HeatmapScale{Min: 0, Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	ticks := p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max)
	top := ticks[0]
	for _, tk := range ticks {
		if tk.Value > top.Value {
			top = tk
		}
	}
	if top.Label != "Single(main)" {
		t.Errorf("top row is %q, want the first row Single(main)", top.Label)
	}
	if _, err := Heatmap("x", rows, cols, values[:2], HeatmapScale{}); err == nil {
		t.Error("missing row accepted")
	}
	if _, err := Heatmap("x", rows[:1], cols, [][]float64{{1, 2}}, HeatmapScale{}); err == nil {
		t.Error("short row accepted")
	}
	if _, err := Heatmap("x", rows[:1], cols[:1], [][]float64{{math.NaN()}}, HeatmapScale{}); err == nil {
		t.Error("all-missing heatmap accepted")
	}
}

func TestCombine(t *testing.T) {
	a, err := GroupedBars("a", []string{"g"}, []string{"s"}, [][]float64{{1}}, "y")
	if err != nil {
		t.Fatal(err)
	}
	b, err := LinesOverEps("b", []float64{0.1, 0.2}, []Line{{Name: "l", Values: []float64{1, 2}}}, "y")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Combine("both", 1, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Panels) != 2 || len(c.Panels[0]) != 1 {
		t.Fatalf("one column of two: got %d rows of %d", len(c.Panels), len(c.Panels[0]))
	}
	if c.Width != max(a.Width, b.Width) || c.Height <= a.Height+b.Height {
		t.Errorf("size %v x %v from %v x %v and %v x %v", c.Width, c.Height, a.Width, a.Height, b.Width, b.Height)
	}
	_, svg := savedPNG(t, c, 600, 900)
	for _, want := range []string{">both<", ">a<", ">b<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if _, err := Combine("x", 1); err == nil {
		t.Error("no figures accepted")
	}
	if _, err := Combine("x", 2, a, c); err == nil {
		t.Error("a multi-panel figure accepted")
	}
}

func TestGroupedBarsRange(t *testing.T) {
	p, _, _, err := groupedBarsPlot("acc", []string{"a"}, []string{"s"}, [][]float64{{40}}, "%", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Min != 0 || p.Y.Max < 100 || p.Y.Max > 110 {
		t.Errorf("a 0-100 axis runs over [%g, %g]", p.Y.Min, p.Y.Max)
	}
	// A value beyond the range widens it rather than being cut.
	p, _, _, err = groupedBarsPlot("acc", []string{"a"}, []string{"s"}, [][]float64{{140}}, "%", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if p.Y.Max < 140 {
		t.Errorf("a value of 140 on an axis up to %g", p.Y.Max)
	}
	if _, err := GroupedBarsRange("acc", []string{"a"}, []string{"s"}, [][]float64{{40}}, "%", 0, 100); err != nil {
		t.Fatal(err)
	}
}
