package figure

import (
	"fmt"
	"image"
	"math"
	"slices"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/advexamples"

	"gonum.org/v1/plot/vg"
)

// AdversarialExamples is what AdversarialGrid draws: package advexamples computes it and keeps it as
// records (advexamples.LoadOrCraft), so that the grid is drawn from records only.
type AdversarialExamples = advexamples.Examples

// AdversarialGrid draws adversarial examples as an image grid (ImageGrid), one column per image: a
// first row of the clean images captioned with their true class, then for each run two rows, the
// perturbation delta = x' - x and the adversarial image x' captioned with the model's prediction
// (upper case when the attack changed a correct prediction into a wrong one). A perturbation is
// shown mid-grey for 0, black for -s and white for +s, with s the run's largest |delta| (about eps
// for an L∞ attack), which the row label gives. Every run must hold the same clean images.
func AdversarialGrid(title string, runs ...AdversarialExamples) (*Figure, error) {
	if len(runs) == 0 || len(runs[0].Clean) == 0 {
		return nil, fmt.Errorf("figure: adversarial grid %q: no examples", title)
	}
	first := runs[0]
	h, w, c := first.Height, first.Width, first.Channels
	clean := GridRow{Label: "clean x"}
	for i, x := range first.Clean {
		img, err := HWCImage(x, h, w, c)
		if err != nil {
			return nil, fmt.Errorf("figure: adversarial grid %q: %w", title, err)
		}
		clean.Tiles = append(clean.Tiles, Tile{Image: img, Caption: first.Labels[i]})
	}
	rows := []GridRow{clean}
	for _, r := range runs {
		n := len(first.Clean)
		if len(r.Clean) != n || len(r.Adversarial) != n || len(r.Labels) != n || len(r.CleanPred) != n || len(r.AdvPred) != n {
			return nil, fmt.Errorf("figure: adversarial grid %q: run %q has %d clean, %d adversarial images, %d labels, %d and %d predictions: want %d of each",
				title, r.Name, len(r.Clean), len(r.Adversarial), len(r.Labels), len(r.CleanPred), len(r.AdvPred), n)
		}
		if r.Height != h || r.Width != w || r.Channels != c {
			return nil, fmt.Errorf("figure: adversarial grid %q: run %q has %dx%dx%d images, want %dx%dx%d", title, r.Name, r.Height, r.Width, r.Channels, h, w, c)
		}
		scale := 0.0
		for i := range n {
			if !slices.Equal(r.Clean[i], first.Clean[i]) {
				return nil, fmt.Errorf("figure: adversarial grid %q: run %q attacks other images than run %q", title, r.Name, first.Name)
			}
			if len(r.Adversarial[i]) != len(r.Clean[i]) {
				return nil, fmt.Errorf("figure: adversarial grid %q: run %q: adversarial image %d has %d values, want %d", title, r.Name, i, len(r.Adversarial[i]), len(r.Clean[i]))
			}
			for j, v := range r.Adversarial[i] {
				scale = math.Max(scale, math.Abs(float64(v-r.Clean[i][j])))
			}
		}
		delta := GridRow{Label: fmt.Sprintf("%s: δ (±%.3g)", r.Name, scale)}
		adv := GridRow{Label: r.Name + ": x+δ"}
		for i := range n {
			dImg, err := perturbationImage(r.Clean[i], r.Adversarial[i], scale, h, w, c)
			if err != nil {
				return nil, err
			}
			aImg, err := HWCImage(r.Adversarial[i], h, w, c)
			if err != nil {
				return nil, err
			}
			caption := r.AdvPred[i]
			if r.CleanPred[i] == r.Labels[i] && r.AdvPred[i] != r.Labels[i] {
				caption = strings.ToUpper(caption)
			}
			delta.Tiles = append(delta.Tiles, Tile{Image: dImg})
			adv.Tiles = append(adv.Tiles, Tile{Image: aImg, Caption: caption})
		}
		rows = append(rows, delta, adv)
	}
	fig, err := ImageGrid(title, rows)
	if err != nil {
		return nil, err
	}
	fig.Panels[0][0] = withMargin(fig.Panels[0][0])
	fig.Height += 0.1 * vg.Inch
	return fig, nil
}

// perturbationImage shows delta = adv - clean as an image: mid-grey for 0, black for -scale and
// white for +scale (clipped beyond), each channel on its own.
func perturbationImage(clean, adv []float32, scale float64, h, w, c int) (image.Image, error) {
	if len(clean) != len(adv) {
		return nil, fmt.Errorf("figure: perturbation of images of %d and %d values", len(clean), len(adv))
	}
	d := make([]float32, len(clean))
	for j, v := range adv {
		d[j] = 0.5
		if scale > 0 {
			d[j] = float32(0.5 + 0.5*float64(v-clean[j])/scale)
		}
	}
	return HWCImage(d, h, w, c)
}
