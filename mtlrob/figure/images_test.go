package figure

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

func TestHWCImage(t *testing.T) {
	gray, err := HWCImage([]float32{0, 0.5, 1, 2}, 2, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint8{0, 128, 255, 255} { // 2 is clipped to 1
		if got := gray.(*image.Gray).GrayAt(i%2, i/2).Y; got != want {
			t.Errorf("gray pixel %d = %d, want %d", i, got, want)
		}
	}
	rgb, err := HWCImage([]float32{1, 0, 0, 0, 0, 1}, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := color.RGBAModel.Convert(rgb.At(1, 0)).(color.RGBA); got != (color.RGBA{0, 0, 255, 255}) {
		t.Errorf("second RGB pixel = %v, want blue", got)
	}
	if _, err := HWCImage(make([]float32, 8), 2, 2, 2); err == nil {
		t.Error("2 channels accepted")
	}
	if _, err := HWCImage(make([]float32, 3), 2, 2, 1); err == nil {
		t.Error("wrong length accepted")
	}
}

func TestAuxClassSamplesFollowTheMap(t *testing.T) {
	ds := testkit.GreyClasses()
	m := task.Map{Name: "pairs", SourceClasses: ds.ClassNames, TargetClasses: []string{"ab", "cd"}, Table: []int{0, 0, 1, 1}}
	rows, err := AuxClassSamples(ds, m, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Label != "ab" || rows[1].Label != "cd" {
		t.Fatalf("rows %q, want one per auxiliary class", []string{rows[0].Label, rows[1].Label})
	}
	for c, r := range rows {
		if len(r.Tiles) != 5 {
			t.Fatalf("row %q has %d tiles, want 5", r.Label, len(r.Tiles))
		}
		seen := map[string]bool{}
		for _, tile := range r.Tiles {
			y := strings.Index("abcd", tile.Caption)
			if y < 0 || m.Table[y] != c {
				t.Errorf("row %q holds a %q image: P(%q) is not %q", r.Label, tile.Caption, tile.Caption, r.Label)
			}
			// The image must be one of that class: its pixels are y/3.
			if got, want := tile.Image.(*image.Gray).GrayAt(0, 0).Y, uint8(float32(y)/3*255+0.5); got != want {
				t.Errorf("a %q tile has pixel %d, want %d: the caption does not match the image", tile.Caption, got, want)
			}
			seen[tile.Caption] = true
		}
		if len(seen) != 2 {
			t.Errorf("row %q shows classes %v, want both of its main classes", r.Label, seen)
		}
	}
	// A class with too few samples stops short instead of repeating images.
	rows, err = AuxClassSamples(ds, m, 20, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rows[0].Tiles); n != 12 {
		t.Fatalf("asked for 20, 12 images available: got %d tiles", n)
	}
	if _, err := AuxClassSamples(ds, task.Map{Name: "x", SourceClasses: []string{"a", "b", "c"}, TargetClasses: []string{"0", "1"}, Table: []int{0, 1, 1}}, 3, 1); err == nil {
		t.Fatal("a map of 3 classes was accepted for a dataset of 4")
	}
	random := task.Map{Name: "r", SourceClasses: ds.ClassNames, TargetClasses: []string{"0", "1"}, Table: []int{0, 1, 1, 0}}
	if rows, err := AuxClassSamples(ds, random, 2, 1); err != nil || rows[1].Label != "class 1" {
		t.Fatalf("numbered classes: %v, %v; want the row labelled \"class 1\"", rows, err)
	}
}

func TestImageGridWritesPNGAndSVG(t *testing.T) {
	ds := testkit.GreyClasses()
	m := task.Map{Name: "pairs", SourceClasses: ds.ClassNames, TargetClasses: []string{"first pair", "second pair"}, Table: []int{0, 0, 1, 1}}
	rows, err := AuxClassSamples(ds, m, 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	fig, err := ImageGrid("toy grid", rows)
	if err != nil {
		t.Fatal(err)
	}
	// 6 tiles of 0.72 in plus labels at 150 dpi; 2 rows.
	_, svg := savedPNG(t, fig, 700, 250)
	for _, want := range []string{"toy grid", "first pair", "second pair", ">a<", "<image"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if _, err := ImageGrid("empty", []GridRow{{Label: "x"}}); err == nil {
		t.Error("a grid without images was accepted")
	}
	if _, err := ImageGrid("nil", []GridRow{{Label: "x", Tiles: []Tile{{Caption: "c"}}}}); err == nil {
		t.Error("a tile without an image was accepted")
	}
}

func TestTaskMaps(t *testing.T) {
	set, err := task.ForDataset("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	fig, err := TaskMaps("Fashion-MNIST tasks", set)
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 500, 500)
	for _, want := range []string{"Fashion-MNIST tasks", "category", "region", "K_m = 4", "Ankle boot", "feet or none", "footwear"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if _, err := TaskMaps("main only", task.Set{Main: set.Main}); err == nil {
		t.Error("a set without auxiliary tasks was accepted")
	}
	broken := set
	broken.Aux = []task.Map{set.Aux[0]}
	broken.Aux[0].Table = []int{0}
	if _, err := TaskMaps("broken", broken); err == nil {
		t.Error("an invalid set was accepted")
	}
}
