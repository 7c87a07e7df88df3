package attack_test

import (
	"sync"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/attack/attacktest"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

type trainedToy struct {
	m      *attacktest.Model
	labels [][]int32
}

var (
	toyOnce sync.Once
	toyM    *trainedToy
	toyErr  error
)

// trainedToyModel trains (once per test binary) a 2-head MLP on the quadrant problem with the
// training package, and returns it with 64 test images and their true labels.
func trainedToyModel(t *testing.T) *trainedToy {
	t.Helper()
	toyOnce.Do(func() {
		set := testkit.QuadrantTasks(t)
		net := testkit.MLP(t, 16, set.Names(), set.Sizes())
		backend := testbackends.Go(t)
		store := model.NewStore()
		train, test := testkit.Quadrants(512, 1, "train"), testkit.Quadrants(64, 2, "test")
		if _, err := training.Natural(backend, store, net, set, train, test,
			training.Config{Steps: 150, BatchSize: 32, LearningRate: 0.03, Seed: 1, EvalEvery: 150, Quiet: true}); err != nil {
			toyErr = err
			return
		}
		labels, err := set.Labels(test.Labels)
		if err != nil {
			toyErr = err
			return
		}
		m := &attacktest.Model{Backend: backend, Store: store, Net: net,
			X: tensors.FromFlatDataAndDimensions(test.Images, test.N, 4, 4, 1)}
		for _, l := range labels {
			m.Labels = append(m.Labels, tensors.FromFlatDataAndDimensions(l, len(l)))
		}
		toyM = &trainedToy{m: m, labels: labels}
	})
	if toyErr != nil {
		t.Fatal(toyErr)
	}
	if toyM == nil { // a helper's t.Fatal ended the setup in an earlier test
		t.Fatal("the toy model's setup failed in an earlier test")
	}
	return toyM
}

// correct returns per sample whether the main head is right on adv (nil: the clean batch).
func (ty *trainedToy) correct(t *testing.T, adv []float32) []bool {
	t.Helper()
	x := ty.m.X
	if adv != nil {
		x = tensors.FromFlatDataAndDimensions(adv, ty.m.X.Shape().Dimensions...)
	}
	preds, err := attacktest.Predict(ty.m.Backend, ty.m.Store, ty.m.Net, x)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]bool, len(preds[0]))
	for i, p := range preds[0] {
		out[i] = p == ty.labels[0][i]
	}
	return out
}

func accuracy(c []bool) float64 {
	n := 0
	for _, ok := range c {
		if ok {
			n++
		}
	}
	return float64(n) / float64(len(c))
}

// TestAttacksOnTrainedToy: on a naturally trained network, an unbounded attack (PGD with eps 1,
// CW) drives main accuracy to ~0; eps 0 leaves it unchanged; FGSM is weaker than PGD at the same
// budget; and PGD with more steps or restarts is never weaker, sample by sample, on the same seed.
func TestAttacksOnTrainedToy(t *testing.T) {
	ty := trainedToyModel(t)
	gray := attack.GrayBox(ty.m.Net)
	clean := accuracy(ty.correct(t, nil))
	if clean < 0.9 {
		t.Fatalf("clean accuracy %.3f of the trained toy model, want >= 0.9", clean)
	}
	acc := func(a attack.Attack) []bool {
		return ty.correct(t, runAttack(t, ty.m, gray, a, attack.LoopAuto))
	}
	if got := accuracy(acc(attack.PGD{Eps: 0, Steps: 5})); got != clean {
		t.Errorf("eps 0: accuracy %.3f, clean %.3f", got, clean)
	}
	for _, a := range []attack.Attack{
		attack.PGD{Eps: 1, Alpha: 0.1, Steps: 20},
		attack.CW{MaxIterations: 100, LearningRate: 0.1},
	} {
		if got := accuracy(acc(a)); got > 0.02 {
			t.Errorf("%s (unbounded): accuracy %.3f, want ~0", a.Name(), got)
		}
	}
	const eps = 0.25
	fgsm, pgd := accuracy(acc(attack.FGSM{Eps: eps})), accuracy(acc(attack.PGD{Eps: eps, Alpha: 0.025, Steps: 20}))
	t.Logf("clean %.3f, FGSM %.3f, PGD-20 %.3f at eps %g", clean, fgsm, pgd, eps)
	if !(pgd < fgsm && fgsm < clean) {
		t.Errorf("accuracy clean %.3f, FGSM %.3f, PGD-20 %.3f: want clean > FGSM > PGD", clean, fgsm, pgd)
	}
	apgd := accuracy(acc(attack.APGD{Eps: eps, Steps: 20}))
	apgdDLR := accuracy(acc(attack.APGD{Eps: eps, Steps: 20, Loss: attack.DLR}))
	t.Logf("APGD-CE-20 %.3f, APGD-DLR-20 %.3f at eps %g", apgd, apgdDLR, eps)
	if apgd > pgd || apgdDLR > fgsm {
		t.Errorf("APGD-CE %.3f weaker than PGD-20 %.3f, or APGD-DLR %.3f weaker than FGSM %.3f", apgd, pgd, apgdDLR, fgsm)
	}
	weaker := func(name string, a, b []bool) {
		for i := range a {
			if b[i] && !a[i] {
				t.Errorf("%s: sample %d fooled by the weaker attack but not by the stronger", name, i)
			}
		}
	}
	few, more := acc(attack.PGD{Eps: eps, Alpha: 0.05, Steps: 2}), acc(attack.PGD{Eps: eps, Alpha: 0.05, Steps: 8})
	weaker("steps 2 vs 8", few, more)
	one, four := acc(attack.PGD{Eps: eps, Alpha: 0.04, Steps: 5, Restarts: 1}), acc(attack.PGD{Eps: eps, Alpha: 0.04, Steps: 5, Restarts: 4})
	weaker("restarts 1 vs 4", one, four)
	t.Logf("eps %g: PGD-2 %.3f, PGD-8 %.3f, PGD-5 %.3f, PGD-5 with 4 restarts %.3f", eps, accuracy(few), accuracy(more), accuracy(one), accuracy(four))
	if !(accuracy(more) < accuracy(few) && accuracy(four) < accuracy(one)) {
		t.Errorf("more steps or restarts fooled no extra sample: the monotonicity check above is vacuous")
	}
}
