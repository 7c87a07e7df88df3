package attack_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/attack/attacktest"
)

func runAttack(t *testing.T, m *attacktest.Model, v attack.Victim, a attack.Attack, loop attack.Loop) []float32 {
	t.Helper()
	r, err := attack.NewRunner(m.Backend, m.Store, v, a)
	if err != nil {
		t.Fatal(err)
	}
	r.Seed, r.Loop = 11, loop
	adv, err := r.Run(m.X, m.Labels)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](adv)
}

// perturbAux replaces the weights of every auxiliary head with new random values.
func perturbAux(t *testing.T, m *attacktest.Model, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	n := 0
	for v := range m.Store.IterVariables() {
		if !strings.Contains(v.Path(), "/head_aux") {
			continue
		}
		data := make([]float32, v.Shape().Size())
		for i := range data {
			data[i] = float32(r.NormFloat64())
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(data, v.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("changed %d auxiliary head variables, want 4 (weights and biases of 2 heads)", n)
	}
}

// TestGrayBoxNeverTouchesAuxiliaryHeads: the gray-box attack's graph holds the backbone and the
// main head only (the auxiliary heads' variables are not in it, so they receive no gradient), and
// changing the auxiliary heads' weights leaves the adversarial example bit-for-bit unchanged;
// as a control, the white-box Total attack's graph does hold them and its result does change.
func TestGrayBoxNeverTouchesAuxiliaryHeads(t *testing.T) {
	m := attacktest.NewModel(t, testbackends.Go(t), 3)
	pgd := attack.PGD{Eps: 0.2, Alpha: 0.05, Steps: 5}
	inGraph := func(v attack.Victim, a attack.Attack) map[string]bool {
		exec, err := model.NewExec(m.Backend, m.Store, func(s *model.Scope, in []*Node) []*Node {
			return []*Node{a.Perturb(s, v, in[0], in[1:])}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer exec.Finalize()
		_, g, err := exec.CallWithGraph(m.X, m.Labels[0], m.Labels[1], m.Labels[2])
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{}
		for v := range m.Store.IterVariables() {
			if v.InUseByGraph(g) {
				used[v.Path()] = true
			}
		}
		return used
	}
	gray := inGraph(attack.GrayBox(m.Net), pgd)
	white := inGraph(attack.WhiteBox(m.Net), attack.PGD{Eps: 0.2, Alpha: 0.05, Steps: 5, Direction: attack.Total{}})
	for v := range m.Store.IterVariables() {
		p := v.Path()
		switch {
		case strings.Contains(p, "/head_aux"):
			if gray[p] {
				t.Errorf("gray-box attack graph uses %s", p)
			}
			if !white[p] {
				t.Errorf("control: white-box Total attack graph does not use %s", p)
			}
		case strings.Contains(p, "/head_main") || strings.Contains(p, "/backbone"):
			if !gray[p] {
				t.Errorf("gray-box attack graph does not use %s", p)
			}
		}
	}

	grayBefore := runAttack(t, m, attack.GrayBox(m.Net), pgd, attack.LoopAuto)
	whiteA := attack.PGD{Eps: 0.2, Alpha: 0.05, Steps: 5, Direction: attack.Total{}}
	whiteBefore := runAttack(t, m, attack.WhiteBox(m.Net), whiteA, attack.LoopAuto)
	perturbAux(t, m, 99)
	grayAfter := runAttack(t, m, attack.GrayBox(m.Net), pgd, attack.LoopAuto)
	whiteAfter := runAttack(t, m, attack.WhiteBox(m.Net), whiteA, attack.LoopAuto)
	for i := range grayBefore {
		if grayBefore[i] != grayAfter[i] {
			t.Fatalf("gray-box adversarial example changed with the auxiliary heads at %d: %v -> %v", i, grayBefore[i], grayAfter[i])
		}
	}
	changed := 0
	for i := range whiteBefore {
		if whiteBefore[i] != whiteAfter[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Error("control: the white-box Total attack did not change with the auxiliary heads")
	}
}

// TestEpsZeroLeavesInputUnchanged: with a zero budget every bounded attack returns x exactly, so
// accuracy is unchanged.
func TestEpsZeroLeavesInputUnchanged(t *testing.T) {
	m := attacktest.NewModel(t, testbackends.Go(t), 4)
	x := tensors.MustCopyFlatData[float32](m.X)
	for _, a := range []attack.Attack{
		attack.FGSM{}, attack.FGSM{Norm: attack.L2}, attack.PGD{Steps: 3}, attack.PGD{Steps: 3, Restarts: 2, Direction: attack.DGBA{}},
		attack.PGDL2{Steps: 3}, attack.MIM{Steps: 3}, attack.APGD{Steps: 5}, attack.APGD{Steps: 5, Loss: attack.DLR},
		attack.MP{Base: attack.PGD{Steps: 3}},
	} {
		got := runAttack(t, m, attack.WhiteBox(m.Net), a, attack.LoopAuto)
		for i := range x {
			if got[i] != x[i] {
				t.Fatalf("%s: x'[%d] = %v, x = %v", a.Name(), i, got[i], x[i])
			}
		}
	}
}

// TestLoopModesAgree: the unrolled executable and the reused step compute the same attack.
func TestLoopModesAgree(t *testing.T) {
	m := attacktest.NewModel(t, testbackends.Go(t), 5)
	for _, a := range []attack.Attack{
		attack.PGD{Eps: 0.2, Alpha: 0.05, Steps: 4, Restarts: 2, Direction: attack.WGD{}},
		attack.APGD{Eps: 0.2, Steps: 8, Direction: attack.DGBA{}},
		attack.MIM{Eps: 0.2, Steps: 4},
		attack.CW{BinarySteps: 2, MaxIterations: 6, LearningRate: 0.05},
	} {
		u := runAttack(t, m, attack.WhiteBox(m.Net), a, attack.LoopUnrolled)
		r := runAttack(t, m, attack.WhiteBox(m.Net), a, attack.LoopReused)
		for i := range u {
			if d := u[i] - r[i]; d > 1e-6 || d < -1e-6 {
				t.Fatalf("%s: unrolled x'[%d] = %v, reused %v", a.Name(), i, u[i], r[i])
			}
		}
	}
}

// TestPerturbInsideAGraph: the graph builder works inside a larger graph (as in adversarial
// training: attack, then evaluate the model on the result) and its result is in the ball.
func TestPerturbInsideAGraph(t *testing.T) {
	m := attacktest.NewModel(t, testbackends.Go(t), 6)
	m.Store.SetParam(model.ParamInitialSeed, int64(6))
	exec, err := model.NewExec(m.Backend, m.Store, func(s *model.Scope, in []*Node) []*Node {
		adv := attack.PGD{Eps: 0.1, Steps: 3}.Perturb(s, attack.GrayBox(m.Net), in[0], in[1:])
		logits := m.Net.Logits(s, adv)
		return []*Node{adv, ArgMax(logits[0], -1)}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call(m.X, m.Labels[0])
	if err != nil {
		t.Fatal(err)
	}
	x, adv := tensors.MustCopyFlatData[float32](m.X), tensors.MustCopyFlatData[float32](out[0])
	for i, d := range attacktest.Distances(x, adv, attacktest.N, attack.Linf) {
		if d > 0.1+1e-6 {
			t.Errorf("sample %d: distance %v > 0.1", i, d)
		}
	}
}

// TestThreatForEveryDataset: every name the dataset registry knows has a threat model with 001
// §IV-C's numbers (Fashion-MNIST: the workbench's documented choice), ThreatFor knows no name the
// registry does not, the PGD and CW built from it carry those numbers, and an unknown name (such as
// the old spelling "tiny-imagenet") is an error that lists every known name.
func TestThreatForEveryDataset(t *testing.T) {
	type want struct {
		eps, alpha float64
		steps      int
		cwLR       float64
	}
	small := want{8.0 / 255, 2.0 / 255, 7, 0.001}
	wants := map[string]want{
		"mnist":         {0.3, 0.01, 40, 0.01},
		"fashion-mnist": {0.1, 0.01, 20, 0.01},
		"cifar10":       {8.0 / 255, 2.0 / 255, 7, 0.01},
		"svhn":          small,
		"gtsrb":         small,
		"tinyimagenet":  small,
	}
	names := datasets.Names()
	if len(names) == 0 {
		t.Fatal("the dataset registry lists no names")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			w, ok := wants[name]
			if !ok {
				t.Fatalf("registered dataset %q has no expected threat model in this test: add 001's numbers", name)
			}
			th, err := attack.ThreatFor(name)
			if err != nil {
				t.Fatal(err)
			}
			if th.Dataset != name || th.Eps != w.eps || th.Alpha != w.alpha || th.Steps != w.steps || th.CWLearningRate != w.cwLR ||
				th.CWSearchSteps != 5 || th.CWInitialConst != 1 || th.CWKappa != 0 || th.CWIterations != 10000 || th.Source == "" {
				t.Errorf("ThreatFor(%q) = %+v, want eps %v alpha %v steps %d, CW lr %v, 5 search steps, c0 1, kappa 0, 10000 iterations, a source",
					name, th, w.eps, w.alpha, w.steps, w.cwLR)
			}
			if p := th.PGD(); !reflect.DeepEqual(p, attack.PGD{Eps: w.eps, Alpha: w.alpha, Steps: w.steps}) {
				t.Errorf("PGD() = %+v", p)
			}
			if c := th.CW(); !reflect.DeepEqual(c, attack.CW{BinarySteps: 5, MaxIterations: 10000, LearningRate: w.cwLR, InitialConst: 1}) {
				t.Errorf("CW() = %+v", c)
			}
		})
	}
	if got := attack.ThreatDatasets(); !slices.Equal(got, names) {
		t.Errorf("ThreatDatasets() = %v, want the registry's names %v", got, names)
	}
	for _, bad := range []string{"tiny-imagenet", "imagenet", ""} {
		_, err := attack.ThreatFor(bad)
		if err == nil {
			t.Errorf("ThreatFor(%q) accepted", bad)
			continue
		}
		for _, name := range names {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("ThreatFor(%q) error %q does not list %q", bad, err, name)
			}
		}
	}
}
