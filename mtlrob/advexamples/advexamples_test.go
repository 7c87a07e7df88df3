package advexamples

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// toyModel is a linear two-head network (main: the 4 toy classes; pair: {a,b} vs {c,d}) on the 4x4
// toy images, with the random weights of a fresh store.
func toyModel(t *testing.T) (compute.Backend, *experiment.Model) {
	t.Helper()
	ds := testkit.GreyClasses()
	set := task.Set{Main: task.Main{Name: "toy", ClassNames: ds.ClassNames},
		Aux: []task.Map{{Name: "pair", SourceClasses: ds.ClassNames, TargetClasses: []string{"ab", "cd"}, Table: []int{0, 0, 1, 1}}}}
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	net := testkit.LinearNet(t, set.Names(), set.Sizes())
	return testbackends.Go(t), &experiment.Model{Net: net, Tasks: set, Store: model.NewStore(), Test: ds}
}

func TestFirstOfEachClass(t *testing.T) {
	ds := testkit.GreyClasses() // labels cycle 0, 1, 2, 3
	idx, err := FirstOfEachClass(ds, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(idx, []int{0, 1, 2}) {
		t.Fatalf("first of classes 0..2 at %v, want [0 1 2]", idx)
	}
	if _, err := FirstOfEachClass(ds, 5); err == nil {
		t.Error("5 classes of a 4-class dataset accepted")
	}
	short, _ := ds.Head(2)
	if _, err := FirstOfEachClass(short, 3); err == nil {
		t.Error("a class without examples accepted")
	}
}

// TestCraftAndExamples: every adversarial image lies in the eps-ball and [0,1], the predictions are the
// model's own on the stored images, and Examples rebuilds the clean images from the test set alone.
func TestCraftAndExamples(t *testing.T) {
	backend, m := toyModel(t)
	const eps = 0.1
	pgd := attack.PGD{Eps: eps, Alpha: 0.05, Steps: 3}
	res, err := Craft(backend, m, pgd, attack.GrayBox(m.Net), 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Attack != pgd.Name() || res.Height != 4 || res.Width != 4 || res.Channels != 1 || !slices.Equal(res.Indices, []int{0, 1, 2}) {
		t.Fatalf("results of %q, %dx%dx%d, indices %v", res.Attack, res.Height, res.Width, res.Channels, res.Indices)
	}
	if !slices.Equal(res.Labels, []string{"a", "b", "c"}) {
		t.Fatalf("labels %q, want one image of each of the first three classes", res.Labels)
	}
	if res.MaxPerturbation > eps+1e-6 {
		t.Errorf("max perturbation %g > eps %g", res.MaxPerturbation, eps)
	}
	for i, a := range res.Adversarial {
		for j, v := range a {
			if d := math.Abs(float64(v - m.Test.Image(i)[j])); d > eps+1e-6 || v < 0 || v > 1 {
				t.Fatalf("image %d, value %d: %g from clean %g: outside the eps-ball or [0,1]", i, j, v, m.Test.Image(i)[j])
			}
		}
	}
	var advFlat []float32
	for _, a := range res.Adversarial {
		advFlat = append(advFlat, a...)
	}
	preds, err := reject.Predict(backend, m.Store, m.Net, advFlat, 3, 4, 4, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range preds[0] {
		if res.AdvPred[i] != m.Test.ClassNames[p] {
			t.Errorf("adversarial prediction %d is %q, the model says %q", i, res.AdvPred[i], m.Test.ClassNames[p])
		}
	}
	ex, err := ToExamples(res, m.Test, "toy")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !slices.Equal(ex.Clean[i], m.Test.Image(i)) {
			t.Errorf("clean image %d is not test image %d", i, i)
		}
	}
	if _, err := Craft(backend, m, pgd, attack.GrayBox(m.Net), 0, 1); err == nil {
		t.Error("0 examples accepted")
	}
	// Results that do not fit the test set are refused, naming what differs.
	for name, bad := range map[string]func(r *Results){
		"index out of range": func(r *Results) { r.Indices[2] = 99 },
		"another class":      func(r *Results) { r.Labels[0] = "d" },
		"short image":        func(r *Results) { r.Adversarial[1] = r.Adversarial[1][:3] },
		"missing prediction": func(r *Results) { r.AdvPred = r.AdvPred[:2] },
	} {
		r := res
		r.Indices, r.Labels, r.AdvPred = slices.Clone(res.Indices), slices.Clone(res.Labels), slices.Clone(res.AdvPred)
		r.Adversarial = slices.Clone(res.Adversarial)
		bad(&r)
		if _, err := ToExamples(r, m.Test, "toy"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestRecordRoundTrip: a record written and read back gives the same examples; a record of another kind
// and an unreadable one are errors naming the file.
func TestRecordRoundTrip(t *testing.T) {
	backend, m := toyModel(t)
	res, err := Craft(backend, m, attack.PGD{Eps: 0.1, Alpha: 0.05, Steps: 2}, attack.GrayBox(m.Net), 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{Model: experiment.ModelSpec{Dataset: "toy", Training: "natural", Budget: experiment.Budgets["quick"], Seed: 1}, N: 2, Row: "natural"}
	dir := t.TempDir()
	path := Path(dir, spec)
	if want := filepath.Join(dir, Kind, spec.Name()+".json"); path != want {
		t.Fatalf("path %s, want %s", path, want)
	}
	rec := &experiment.Record{Kind: Kind, Name: spec.Name(), Config: spec, Results: res}
	if err := experiment.WriteJSON(path, rec); err != nil {
		t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := experiment.As[Results](back.Results)
	a, err := ToExamples(res, m.Test, "natural")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ToExamples(got, m.Test, "natural")
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Adversarial {
		if !slices.Equal(a.Adversarial[i], b.Adversarial[i]) || !slices.Equal(a.Clean[i], b.Clean[i]) {
			t.Errorf("image %d changed in the round trip", i)
		}
	}
	other := filepath.Join(dir, "other.json")
	rec.Kind = "robustness-ish"
	if err := experiment.WriteJSON(other, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(other); err == nil || !strings.Contains(err.Error(), other) {
		t.Errorf("a record of another kind: error %v, want one naming %s", err, other)
	}
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte(`{"kind": "adversarial-examples", "name": `), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(broken); err == nil || !strings.Contains(err.Error(), broken) {
		t.Errorf("an unreadable record: error %v, want one naming %s", err, broken)
	}
}

func TestSpecValidate(t *testing.T) {
	good := Spec{Model: experiment.ModelSpec{Dataset: "fashion-mnist", Training: "pgd-at"}, N: 10, Row: "PGD-AT"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"no images", func(s *Spec) { s.N = 0 }, "spec.N"},
		{"no row", func(s *Spec) { s.Row = "" }, "spec.Row"},
		{"unknown training", func(s *Spec) { s.Model.Training = "magic" }, "spec.Model.Training"},
	} {
		s := good
		tc.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}
