package figure

import (
	"bytes"
	"image/png"
	"os"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/training"
)

func TestLearningCurvesWritesPNGAndSVG(t *testing.T) {
	sc := func(l, a float64) training.Scores {
		return training.Scores{Tasks: []string{"main", "aux"}, Loss: []float64{l, l / 2}, Accuracy: []float64{a, a + 0.1}, N: 10}
	}
	c := training.Curve{Step: []int{10, 20}, Train: []training.Scores{sc(1, 0.5), sc(0.5, 0.7)}, Test: []training.Scores{sc(1.1, 0.45), sc(0.6, 0.65)}}
	fig, err := LearningCurves("toy run", c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, err := fig.Save(dir, "curves")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 {
		t.Fatalf("wrote %v, want a PNG and an SVG", paths)
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", paths[0], err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 400 {
		t.Fatalf("PNG is %dx%d, want at least 1000x400 at 150 dpi", b.Dx(), b.Dy())
	}
	svg, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "toy run: accuracy per head", "main (test)", "aux (train)"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if _, err := LearningCurves("empty", training.Curve{}); err == nil || !strings.Contains(err.Error(), "no points") {
		t.Fatalf("empty curve: error %v", err)
	}
}
