package experiment

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/attack/attacktest"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// toyModel is the attacktest network (three heads of 4, 3 and 2 classes on 4x4x1 inputs) as an
// experiment Model, with n random test images labelled by the network itself (clean accuracy 100%
// on every head), on the pure-Go backend.
func toyModel(t *testing.T, n int, seed int64) (*Model, Env, [][]int32) {
	t.Helper()
	backend := testbackends.Go(t)
	am := attacktest.NewModel(t, backend, seed)
	r := rand.New(rand.NewPCG(uint64(seed), 11))
	images := make([]float32, n*16)
	for i := range images {
		images[i] = r.Float32()
	}
	preds, err := attacktest.Predict(backend, am.Store, am.Net, tensors.FromFlatDataAndDimensions(append([]float32(nil), images...), n, 4, 4, 1))
	if err != nil {
		t.Fatal(err)
	}
	test := &datasets.Dataset{Name: "toy", Split: "test", Images: images, Labels: preds[0], N: n, Height: 4, Width: 4, Channels: 1,
		ClassNames: []string{"a", "b", "c", "d"}}
	if err := test.Validate(); err != nil {
		t.Fatal(err)
	}
	m := &Model{Spec: ModelSpec{Dataset: "toy", Arch: "toy", Budget: tiny, Seed: seed}, Net: am.Net, Store: am.Store, Test: test}
	return m, Env{Backend: backend, BackendLine: "go", Quiet: true}, preds
}

// mainCorrect returns whether the main head is right on each image.
func mainCorrect(preds, labels [][]int32) []bool {
	ok := make([]bool, len(labels[0]))
	for i := range ok {
		ok[i] = preds[0][i] == labels[0][i]
	}
	return ok
}

// TestWorstCaseIsPerImageAND: the worst-case predictions count the main task correct on an image
// exactly when it is correct on the clean image and every attack, run on its own over all images,
// leaves it correct (a per-image AND); the other heads are read on the image of the first attack
// that fools the main head. The attacks here have no random start, so a run over all images is the
// independent truth the subset runs of worstCase must reproduce (batch invariance).
func TestWorstCaseIsPerImageAND(t *testing.T) {
	const n = 48
	m, env, labels := toyModel(t, n, 5)
	clean := make([][]int32, len(labels))
	for i := range labels {
		clean[i] = append([]int32(nil), labels[i]...)
	}
	// One image the main head gets wrong on clean inputs: wrong in the worst case whatever happens.
	labels[0] = append([]int32(nil), labels[0]...)
	labels[0][5] = (labels[0][5] + 1) % 4
	const eps = 0.1
	atks := []attack.Attack{
		attack.PGD{Eps: eps, Alpha: eps / 4, Steps: 1, NoRandomStart: true}, // weak on purpose
		attack.APGD{Eps: eps, Steps: 6, NoRandomStart: true},
		attack.APGD{Eps: eps, Steps: 6, Loss: attack.DLR, Target: attack.NextClass, NoRandomStart: true},
	}
	gray := attack.GrayBox(m.Net)
	got, err := m.worstCase(env, m.Test, labels, clean, atks, gray, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := mainCorrect(clean, labels)
	var each [][][]int32
	onlyLater, onlyThird := 0, 0 // images the first attack (the first two) leaves correct and a later one fools
	for a, atk := range atks {
		adv, err := m.attackImages(env, m.Test, atk, gray, labels, 1)
		if err != nil {
			t.Fatal(err)
		}
		preds, err := m.predict(env, adv, n)
		if err != nil {
			t.Fatal(err)
		}
		each = append(each, preds)
		ok := mainCorrect(preds, labels)
		for i := range want {
			if want[i] && !ok[i] && a > 0 && mainCorrect(each[0], labels)[i] {
				onlyLater++
			}
			if want[i] && !ok[i] && a == 2 {
				onlyThird++
			}
			want[i] = want[i] && ok[i]
		}
	}
	if onlyLater == 0 || onlyThird == 0 {
		t.Fatalf("control: %d images survive the first attack and fall to a later one, %d survive two and fall to the third: "+
			"want some of each, or the test cannot tell the AND from fewer attacks", onlyLater, onlyThird)
	}
	gotOK := mainCorrect(got, labels)
	robust := 0
	for i := range want {
		if gotOK[i] != want[i] {
			t.Errorf("image %d: worst case main correct %v, want %v (clean %v, per attack %v %v %v)", i, gotOK[i], want[i],
				clean[0][i] == labels[0][i], each[0][0][i] == labels[0][i], each[1][0][i] == labels[0][i], each[2][0][i] == labels[0][i])
		}
		if want[i] {
			robust++
		}
		// The other heads come from the first attack that fooled the main head, else the clean image.
		src := clean
		if clean[0][i] == labels[0][i] {
			for _, p := range each {
				if p[0][i] != labels[0][i] {
					src = p
					break
				}
			}
		}
		for task := range got {
			if got[task][i] != src[task][i] {
				t.Errorf("image %d, task %d: prediction %d, want %d (the first fooling attack's)", i, task, got[task][i], src[task][i])
			}
		}
	}
	if gotOK[5] {
		t.Error("an image misclassified on clean input counts as correct in the worst case")
	}
	worst, _ := metric.Accuracy(got[0], labels[0])
	for a, p := range each {
		if acc, _ := metric.Accuracy(p[0], labels[0]); worst > acc {
			t.Errorf("worst-case accuracy %.3f above attack %d's %.3f", worst, a, acc)
		}
	}
	t.Logf("%d images: %d robust in the worst case, %d fooled only by a later attack, %d only by the third", n, robust, onlyLater, onlyThird)
}

// TestWorstCaseAttacks: the configuration follows the budget (restarts, APGD steps; zeros mean 1
// restart and the PGD's steps) and the threat model (eps, step), with CE and targeted DLR APGD.
func TestWorstCaseAttacks(t *testing.T) {
	th, err := Budgets["quick"].Threat("mnist")
	if err != nil {
		t.Fatal(err)
	}
	atks := WorstCaseAttacks(th, Budgets["quick"])
	pgd, ok0 := atks[0].(attack.PGD)
	ce, ok1 := atks[1].(attack.APGD)
	dlr, ok2 := atks[2].(attack.APGD)
	if len(atks) != 3 || !ok0 || !ok1 || !ok2 {
		t.Fatalf("attacks %v: want PGD, APGD, APGD", atks)
	}
	if pgd.Eps != 0.3 || pgd.Alpha != 0.01 || pgd.Steps != 10 || pgd.Restarts != 2 || pgd.Target != nil {
		t.Errorf("PGD %+v: want MNIST eps 0.3, step 0.01, the quick budget's 10 steps and 2 restarts, untargeted", pgd)
	}
	if ce.Eps != 0.3 || ce.Steps != 10 || ce.Loss != attack.CE || ce.Target != nil {
		t.Errorf("APGD-CE %+v", ce)
	}
	if dlr.Eps != 0.3 || dlr.Steps != 10 || dlr.Loss != attack.DLR || dlr.Target == nil {
		t.Errorf("APGD-DLR %+v: want targeted", dlr)
	}
	th, _ = tiny.Threat("fashion-mnist")
	atks = WorstCaseAttacks(th, tiny) // tiny sets neither field
	if p := atks[0].(attack.PGD); p.Restarts != 1 || p.Steps != tiny.EvalPGDSteps {
		t.Errorf("tiny budget PGD %+v: want 1 restart of %d steps", p, tiny.EvalPGDSteps)
	}
	if a := atks[1].(attack.APGD); a.Steps != tiny.EvalPGDSteps {
		t.Errorf("tiny budget APGD steps %d, want the PGD's %d", a.Steps, tiny.EvalPGDSteps)
	}
}

// TestBudgetThreat: standard and paper run the threat model's own PGD (MNIST 40 steps,
// Fashion-MNIST 20, the 32x32 sets 7) and CW search steps; quick caps them (at 10 PGD steps, so
// the 32x32 sets keep their 7); eps and step are never changed.
func TestBudgetThreat(t *testing.T) {
	for _, tc := range []struct {
		budget, dataset string
		steps, search   int
	}{
		{"standard", "mnist", 40, 5}, {"standard", "fashion-mnist", 20, 5}, {"standard", "cifar10", 7, 5},
		{"paper", "mnist", 40, 5}, {"quick", "mnist", 10, 2}, {"quick", "fashion-mnist", 10, 2}, {"quick", "svhn", 7, 2},
	} {
		b := Budgets[tc.budget]
		th, err := b.Threat(tc.dataset)
		if err != nil {
			t.Fatal(err)
		}
		base, _ := attack.ThreatFor(tc.dataset)
		if th.Steps != tc.steps || th.CWSearchSteps != tc.search || th.Eps != base.Eps || th.Alpha != base.Alpha || th.CWIterations != b.CWIterations {
			t.Errorf("%s budget, %s: %+v, want PGD-%d, %d CW search steps of %d iterations, eps %v step %v",
				tc.budget, tc.dataset, th, tc.steps, tc.search, b.CWIterations, base.Eps, base.Alpha)
		}
		pgd, _, _, err := EvalAttacks(tc.dataset, b)
		if err != nil || pgd.Steps != tc.steps || pgd.Eps != base.Eps || pgd.Alpha != base.Alpha {
			t.Errorf("%s budget, %s: EvalAttacks PGD %+v, %v", tc.budget, tc.dataset, pgd, err)
		}
	}
	if _, err := Budgets["standard"].Threat("tiny-imagenet"); err == nil || !strings.Contains(err.Error(), "tinyimagenet") {
		t.Errorf("unknown dataset: error %v, want one listing tinyimagenet", err)
	}
	for _, tc := range []struct{ attack, n, want int }{{0, 700, 700}, {200, 700, 200}, {200, 50, 50}} {
		if got := (Budget{AttackExamples: tc.attack}).attackExamples(tc.n); got != tc.want {
			t.Errorf("AttackExamples %d of %d test examples: %d, want %d", tc.attack, tc.n, got, tc.want)
		}
	}
}

func checkByName(t *testing.T, s *Sanity, name string) SanityCheck {
	t.Helper()
	for _, c := range s.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no sanity check %q in %+v", name, s)
	return SanityCheck{}
}

// TestRunSanity: on the toy network every check passes with the numbers it claims (eps 0 has the
// clean accuracy exactly; accuracy falls with eps and steps; eps 1 fools about every image); as a
// negative control, a network whose main head ignores its input (a constant prediction, the
// extreme of gradient masking: no attack can change it) fails the large-eps check and only it.
func TestRunSanity(t *testing.T) {
	const n = 40
	m, env, labels := toyModel(t, n, 9)
	th := attack.ThreatModel{Eps: 0.1, Alpha: 0.025, Steps: 5}
	s, err := m.RunSanity(env, m.Test, labels, labels, th, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.N != n || len(s.Checks) != 4 {
		t.Fatalf("sanity %+v: want 4 checks on %d images", s, n)
	}
	for _, c := range s.Checks {
		t.Log(c)
		if !c.Pass {
			t.Errorf("check failed on the toy network: %s", c)
		}
		if len(c.Eps) != len(c.Accuracy) || len(c.Steps) != len(c.Accuracy) {
			t.Errorf("%s: %d eps, %d steps for %d accuracies", c.Name, len(c.Eps), len(c.Steps), len(c.Accuracy))
		}
	}
	z := checkByName(t, s, "eps-zero")
	if z.Accuracy[0] != 1 || z.Accuracy[1] != 1 {
		t.Errorf("eps-zero %v: want clean and eps-0 accuracy 1 (labels are the network's predictions)", z.Accuracy)
	}
	sw := checkByName(t, s, "eps-monotone")
	if want := []float64{0, 0.025, 0.05, 0.1, 0.2}; len(sw.Eps) != 5 || math.Abs(sw.Eps[3]-want[3]) > 1e-12 || math.Abs(sw.Eps[4]-want[4]) > 1e-12 {
		t.Errorf("eps sweep %v, want %v", sw.Eps, want)
	}
	if sw.Accuracy[4] >= sw.Accuracy[0] {
		t.Errorf("eps sweep accuracies %v: the attack at 2 eps should fool some image of the toy network", sw.Accuracy)
	}
	if st := checkByName(t, s, "steps-monotone"); st.Steps[1] != 10 || st.Accuracy[0] != sw.Accuracy[3] {
		t.Errorf("steps check %+v: want 5 then 10 steps, the first at eps equal to the sweep's", st)
	}
	if tol := checkByName(t, s, "large-eps").Tolerance; math.Abs(tol-2.0/n) > 1e-12 {
		t.Errorf("large-eps tolerance %v, want 2 images of %d", tol, n)
	}
	if len(s.Failed()) != 0 {
		t.Errorf("Failed() = %v", s.Failed())
	}

	// Negative control: zero the main head's weights, so it predicts the argmax of its bias for
	// every input; label every image with that class.
	for v := range m.Store.IterVariables() {
		if strings.Contains(v.Path(), "/head_main") {
			data := make([]float32, v.Shape().Size())
			if strings.HasSuffix(v.Path(), "biases") {
				data[2] = 1
			}
			if err := v.SetValue(tensors.FromFlatDataAndDimensions(data, v.Shape().Dimensions...)); err != nil {
				t.Fatal(err)
			}
		}
	}
	clean, err := m.predict(env, m.Test.Images, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range clean[0] {
		if clean[0][i] != clean[0][0] {
			t.Fatalf("control: the zeroed main head predicts %v, want one class", clean[0])
		}
	}
	const2 := [][]int32{clean[0], labels[1], labels[2]}
	s, err = m.RunSanity(env, m.Test, const2, clean, th, 1)
	if err != nil {
		t.Fatal(err)
	}
	failed := s.Failed()
	if len(failed) != 1 || failed[0].Name != "large-eps" || failed[0].Accuracy[0] != 1 {
		t.Errorf("constant main head: failed %v, want large-eps alone at accuracy 1", failed)
	}
	if !strings.Contains(failed[0].String(), "large-eps FAILED") {
		t.Errorf("summary %q", failed[0].String())
	}
}

// TestSanityFailureIsRendered: a robustness record whose sanity check failed is marked in Table 2,
// Table 3 and the rejection table, a note says which check with its numbers, and the sanity table
// has its row; a record that passed, and one that predates the checks, are not marked.
func TestSanityFailureIsRendered(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	passed := &Sanity{N: 100, Checks: []SanityCheck{
		{Name: "eps-zero", Eps: []float64{0, 0}, Steps: []int{0, 10}, Accuracy: []float64{0.9, 0.9}, Pass: true},
		{Name: "eps-monotone", Eps: []float64{0, 0.025, 0.05, 0.1, 0.2}, Steps: []int{10, 10, 10, 10, 10}, Accuracy: []float64{0.9, 0.5, 0.3, 0.1, 0.02}, Tolerance: 0.02, Pass: true},
		{Name: "steps-monotone", Eps: []float64{0.1, 0.1}, Steps: []int{10, 20}, Accuracy: []float64{0.1, 0.09}, Tolerance: 0.02, Pass: true},
		{Name: "large-eps", Eps: []float64{1}, Steps: []int{10}, Accuracy: []float64{0}, Tolerance: 0.02, Pass: true},
	}}
	failed := &Sanity{N: 100, Checks: append([]SanityCheck(nil), passed.Checks...)}
	failed.Checks[3] = SanityCheck{Name: "large-eps", Eps: []float64{1}, Steps: []int{10}, Accuracy: []float64{0.37}, Tolerance: 0.02}
	for _, r := range []struct {
		aux    []string
		sanity *Sanity
	}{{[]string{}, passed}, {[]string{"category"}, failed}, {[]string{"region"}, nil}} {
		spec := ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Aux: r.aux, Training: "pgd-at", Budget: tiny, Seed: 1}
		conds := []Condition{{Name: "clean", TaskAccuracy: []float64{0.9, 0.95}}, {Name: "pgd", TaskAccuracy: []float64{0.5, 0.6}},
			{Name: "pgd-targeted", TaskAccuracy: []float64{0.5, 0.6}}, {Name: "cw", TaskAccuracy: []float64{0.5, 0.6}},
			{Name: "worst-case", TaskAccuracy: []float64{0.4, 0.5}}}
		if len(r.aux) > 0 {
			conds = append(conds, Condition{Name: "adaptive", TaskAccuracy: []float64{0.5, 0.6}})
		}
		if len(r.aux) == 0 {
			for i := range conds {
				conds[i].TaskAccuracy = conds[i].TaskAccuracy[:1]
			}
		}
		res := RobustnessResults{Model: "lenet", Tasks: append([]string{"main"}, r.aux...), N: 100, Conditions: conds, Sanity: r.sanity}
		rec := &Record{Kind: RobustnessKind, Name: spec.Name(), Config: spec, Results: res}
		if err := WriteJSON(RecordPath(dir, rec), rec); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := ReadRobustness(dir)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := Table2(recs, "fashion-mnist", "pgd-at")
	if err != nil {
		t.Fatal(err)
	}
	md := t2.Markdown()
	for _, want := range []string{"| main+category †", "| main only |", "| main+region |", "worst case", "large-eps FAILED", "0.370 at eps 1/PGD-10"} {
		if !strings.Contains(md, want) {
			t.Errorf("Table 2 lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "main only †") || strings.Contains(md, "main+region †") {
		t.Errorf("a passing or unchecked record is marked:\n%s", md)
	}
	if v, err := t2.At("main+category †", "worst case"); err != nil || v != 40 {
		t.Errorf("worst case cell %v, %v: want 40", v, err)
	}
	all, err := RenderTables(dir, out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pgd-at, main+category †", "sanity checks of the evaluation", "accuracy at eps 1 (%)"} {
		if !strings.Contains(all, want) {
			t.Errorf("rendered tables lack %q:\n%s", want, all)
		}
	}
	csv, err := os.ReadFile(filepath.Join(out, "sanity_fashion-mnist_tiny_seed1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(csv); !strings.Contains(got, `"pgd-at, main+category †",0.00,-8.00,-1.00,37.00,1.00`) || strings.Contains(got, "main+region") {
		t.Errorf("sanity CSV (rows for the two checked records only):\n%s", got)
	}
}
