package figure

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

func TestFirstOfEachClass(t *testing.T) {
	ds := toyDataset() // labels cycle 0, 1, 2, 3
	idx, err := firstOfEachClass(ds, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(idx, []int{0, 1, 2}) {
		t.Fatalf("first of classes 0..2 at %v, want [0 1 2]", idx)
	}
	if _, err := firstOfEachClass(ds, 5); err == nil {
		t.Error("5 classes of a 4-class dataset accepted")
	}
	short, _ := ds.Head(2)
	if _, err := firstOfEachClass(short, 3); err == nil {
		t.Error("a class without examples accepted")
	}
}

// toyModel is a linear two-head network (main: the 4 toy classes; pair: {a,b} vs {c,d}) on the 4x4
// toy images, with the random weights of a fresh store.
func toyModel(t *testing.T) (compute.Backend, *experiment.Model) {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	ds := toyDataset()
	set := task.Set{Main: task.Main{Name: "toy", ClassNames: ds.ClassNames},
		Aux: []task.Map{{Name: "pair", SourceClasses: ds.ClassNames, TargetClasses: []string{"ab", "cd"}, Table: []int{0, 0, 1, 1}}}}
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	net, err := arch.New("linear", func(s *model.Scope, x *graph.Node) *graph.Node { return arch.Flatten(x) }, set.Names(), set.Sizes())
	if err != nil {
		t.Fatal(err)
	}
	return b, &experiment.Model{Net: net, Tasks: set, Store: model.NewStore(), Test: ds}
}

func TestAttackExamples(t *testing.T) {
	backend, m := toyModel(t)
	const eps = 0.1
	pgd := attack.PGD{Eps: eps, Alpha: 0.05, Steps: 3}
	ex, err := AttackExamples(backend, m, pgd, attack.GrayBox(m.Net), 3, 1, "toy")
	if err != nil {
		t.Fatal(err)
	}
	if ex.Name != "toy" || ex.Attack != pgd.Name() || ex.Height != 4 || ex.Width != 4 || ex.Channels != 1 {
		t.Fatalf("examples %q of %q, %dx%dx%d", ex.Name, ex.Attack, ex.Height, ex.Width, ex.Channels)
	}
	if !slices.Equal(ex.Labels, []string{"a", "b", "c"}) {
		t.Fatalf("labels %q, want one image of each of the first three classes", ex.Labels)
	}
	for i := range 3 {
		if !slices.Equal(ex.Clean[i], m.Test.Image(i)) {
			t.Errorf("clean image %d is not test image %d", i, i)
		}
		for j, v := range ex.Adversarial[i] {
			if d := math.Abs(float64(v - ex.Clean[i][j])); d > eps+1e-6 || v < 0 || v > 1 {
				t.Fatalf("image %d, value %d: %g from clean %g: outside the eps-ball or [0,1]", i, j, v, ex.Clean[i][j])
			}
		}
	}
	// The predictions are the main head's on the same images.
	var advFlat []float32
	for _, a := range ex.Adversarial {
		advFlat = append(advFlat, a...)
	}
	preds, err := reject.Predict(backend, m.Store, m.Net, advFlat, 3, 4, 4, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range preds[0] {
		if ex.AdvPred[i] != m.Test.ClassNames[p] {
			t.Errorf("adversarial prediction %d is %q, the model says %q", i, ex.AdvPred[i], m.Test.ClassNames[p])
		}
	}
	if _, err := AttackExamples(backend, m, pgd, attack.GrayBox(m.Net), 0, 1, "none"); err == nil {
		t.Error("0 examples accepted")
	}
}

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
