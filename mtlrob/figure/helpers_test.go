package figure

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"testing"
)

// savedPNG saves fig into a temporary directory and returns the decoded PNG and the SVG text; it fails
// when the PNG is smaller than minW x minH pixels.
func savedPNG(t *testing.T, fig *Figure, minW, minH int) (image.Image, string) {
	t.Helper()
	paths, err := fig.Save(t.TempDir(), "fig")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", paths[0], err)
	}
	if b := img.Bounds(); b.Dx() < minW || b.Dy() < minH {
		t.Fatalf("PNG is %dx%d, want at least %dx%d", b.Dx(), b.Dy(), minW, minH)
	}
	svg, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("%s is not an SVG", paths[1])
	}
	return img, string(svg)
}

func TestPNGAtAnotherResolution(t *testing.T) {
	fig, err := HeadComparison("toy", "main", toyRuns())
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG(100)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1100 || b.Dy() != 440 {
		t.Fatalf("an 11x4.4 inch figure at 100 dpi is %dx%d pixels, want 1100x440", b.Dx(), b.Dy())
	}
	if _, err := fig.PNG(0); err == nil {
		t.Fatal("0 dpi accepted")
	}
}
