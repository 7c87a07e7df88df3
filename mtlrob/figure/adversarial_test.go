package figure

import (
	"strings"
	"testing"

	_ "github.com/gomlx/compute/gobackend"
)

func TestPerturbationImage(t *testing.T) {
	img, err := perturbationImage([]float32{0.5, 0.5, 0.5, 0.2}, []float32{0.5, 0.6, 0.4, 0.25}, 0.1, 2, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint8{128, 255, 0, 191} { // 0, +s, -s, +s/2
		if got := img.At(i%2, i/2).(interface{ RGBA() (r, g, b, a uint32) }); got != nil {
			r, _, _, _ := got.RGBA()
			if uint8(r>>8) != want {
				t.Errorf("pixel %d = %d, want %d", i, r>>8, want)
			}
		}
	}
	if _, err := perturbationImage([]float32{0.5}, []float32{0.5, 0.5}, 0.1, 1, 1, 1); err == nil {
		t.Error("images of different sizes accepted")
	}
}

func TestAdversarialGrid(t *testing.T) {
	clean := [][]float32{{0, 0.5, 1, 0.5}, {1, 1, 0, 0}}
	run := func(name string, adv [][]float32, pred []string) AdversarialExamples {
		return AdversarialExamples{Name: name, Height: 2, Width: 2, Channels: 1, Clean: clean, Adversarial: adv,
			Labels: []string{"Shirt", "Bag"}, CleanPred: []string{"Shirt", "Bag"}, AdvPred: pred}
	}
	a := run("natural", [][]float32{{0.1, 0.4, 0.9, 0.6}, {0.9, 1, 0.1, 0}}, []string{"Coat", "Bag"})
	b := run("pgd-at", [][]float32{{0, 0.55, 1, 0.45}, {1, 0.95, 0.05, 0}}, []string{"Shirt", "Bag"})
	fig, err := AdversarialGrid("toy adversarial", a, b)
	if err != nil {
		t.Fatal(err)
	}
	_, svg := savedPNG(t, fig, 500, 500)
	// A flipped prediction is in capitals; the perturbation scale is each run's largest |delta|.
	for _, want := range []string{"toy adversarial", "clean x", ">Shirt<", ">COAT<", "natural: δ (±0.1)", "pgd-at: δ (±0.05)", "pgd-at: x+δ"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if n := strings.Count(svg, "<image"); n != 10 {
		t.Errorf("%d images, want 2 clean + 2 runs x 2 rows x 2", n)
	}
	other := run("other", a.Adversarial, a.AdvPred)
	other.Clean = [][]float32{{0, 0, 0, 0}, {1, 1, 0, 0}}
	if _, err := AdversarialGrid("x", a, other); err == nil {
		t.Error("runs on different images accepted")
	}
	short := run("short", a.Adversarial[:1], a.AdvPred)
	if _, err := AdversarialGrid("x", short); err == nil {
		t.Error("a run with a missing adversarial image accepted")
	}
	if _, err := AdversarialGrid("x"); err == nil {
		t.Error("no runs accepted")
	}
}
