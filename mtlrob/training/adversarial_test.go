package training

import (
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
)

// TestGrayBoxPGDTrainingBuysRobustness: on the toy problem, gray-box PGD adversarial training (001 Eq. 6-7)
// must give a model whose main-task accuracy under the same PGD attack is clearly higher than that of
// the naturally trained model with the same seed and steps, while both stay accurate on clean data.
func TestGrayBoxPGDTrainingBuysRobustness(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	net := toyNet(t, set)
	trainDS, testDS := testkit.Quadrants(512, 1, "train"), testkit.Quadrants(128, 2, "test")
	cfg := Config{Steps: 300, BatchSize: 32, LearningRate: 0.02, EvalEvery: 100, Seed: 3, Quiet: true}
	pgd := attack.PGD{Eps: 0.25, Steps: 10, Alpha: 0.05}

	natural := model.NewStore()
	if _, err := Natural(backend, natural, net, set, trainDS, testDS, cfg); err != nil {
		t.Fatal(err)
	}
	robust := model.NewStore()
	res, err := Train(backend, robust, net, set, trainDS, testDS, cfg, AdversarialStep("pgd-at", net, pgd, attack.GrayBox(net), nil))
	if err != nil {
		t.Fatal(err)
	}
	advNat, err := EvaluateAdversarial(backend, natural, net, set, testDS, pgd, attack.GrayBox(net), 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	advRob, err := EvaluateAdversarial(backend, robust, net, set, testDS, pgd, attack.GrayBox(net), 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("main accuracy under PGD: natural %.3f, PGD-AT %.3f (clean PGD-AT %.3f)", advNat.Accuracy[0], advRob.Accuracy[0], res.Final.Accuracy[0])
	if res.Final.Accuracy[0] < 0.8 {
		t.Errorf("PGD-AT clean accuracy %.3f, want >= 0.8 on the toy problem", res.Final.Accuracy[0])
	}
	if advRob.Accuracy[0] < advNat.Accuracy[0]+0.2 {
		t.Errorf("adversarial accuracy: PGD-AT %.3f vs natural %.3f: adversarial training must buy at least 20 points",
			advRob.Accuracy[0], advNat.Accuracy[0])
	}
}

// TestBestCheckpointIsKept: with a selection criterion the best-scoring curve point's weights are kept in
// <dir>/best, and restoring them reproduces that score exactly.
func TestBestCheckpointIsKept(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	net := toyNet(t, set)
	trainDS, testDS := testkit.Quadrants(256, 1, "train"), testkit.Quadrants(64, 2, "test")
	pgd := attack.PGD{Eps: 0.25, Steps: 5, Alpha: 0.1}
	score := func(store *model.Store) (float64, error) {
		s, err := EvaluateAdversarial(backend, store, net, set, testDS, pgd, attack.GrayBox(net), 64, 1)
		return s.Accuracy[0], err
	}
	dir := t.TempDir()
	cfg := Config{Steps: 60, BatchSize: 32, LearningRate: 0.02, EvalEvery: 20, Seed: 3, Quiet: true, CheckpointDir: dir,
		Select: &Selection{Name: "PGD-5 main accuracy", Score: score}}
	res, err := Train(backend, model.NewStore(), net, set, trainDS, testDS, cfg, AdversarialStep("pgd-at", net, pgd, attack.GrayBox(net), nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Best == nil || len(res.Curve.Selection) != 3 {
		t.Fatalf("best %+v, selection curve %v: want a best point among 3", res.Best, res.Curve.Selection)
	}
	for i, s := range res.Curve.Selection {
		if s > res.Best.Score || (s == res.Best.Score && res.Curve.Step[i] < res.Best.Step) {
			t.Fatalf("curve point %d (step %d) scores %.4f, best is %+v", i, res.Curve.Step[i], s, res.Best)
		}
	}
	restored := model.NewStore()
	if ok, err := Restore(restored, filepath.Join(dir, "best")); err != nil || !ok {
		t.Fatalf("restoring the best checkpoint: %v %v", ok, err)
	}
	again, err := score(restored)
	if err != nil {
		t.Fatal(err)
	}
	if again != res.Best.Score {
		t.Fatalf("restored best checkpoint scores %.4f, recorded %.4f at step %d", again, res.Best.Score, res.Best.Step)
	}
}
