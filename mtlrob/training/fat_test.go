package training

import (
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
)

// TestFATDGBATrainingBuysRobustness: on the toy problem, friendly adversarial training with the DGBA
// direction (004 §4.3: the early-stopped PGD of attack.FAT against every head, white-box) must give a
// model whose accuracy under attack is clearly higher than that of the naturally trained model with
// the same seed and steps, on the main head under gray-box PGD (as TestGrayBoxPGDTrainingBuysRobustness)
// and on every head under white-box DGBA-PGD, while it stays accurate on clean data.
func TestFATDGBATrainingBuysRobustness(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	net := toyNet(t, set)
	trainDS, testDS := testkit.Quadrants(512, 1, "train"), testkit.Quadrants(128, 2, "test")
	cfg := Config{Steps: 300, BatchSize: 32, LearningRate: 0.02, EvalEvery: 100, Seed: 3, Quiet: true}
	fat := attack.FAT{Eps: 0.25, Alpha: 0.05, Steps: 10, Tau: 3, Direction: attack.DGBA{}}
	pgd := attack.PGD{Eps: 0.25, Steps: 10, Alpha: 0.05}
	dgba := attack.PGD{Eps: 0.25, Steps: 10, Alpha: 0.05, Direction: attack.DGBA{}}

	natural := model.NewStore()
	if _, err := Natural(backend, natural, net, set, trainDS, testDS, cfg); err != nil {
		t.Fatal(err)
	}
	robust := model.NewStore()
	res, err := Train(backend, robust, net, set, trainDS, testDS, cfg, AdversarialStep("fat-dgba", net, fat, attack.WhiteBox(net), nil))
	if err != nil {
		t.Fatal(err)
	}
	eval := func(store *model.Store, a attack.Attack, v attack.Victim) []float64 {
		s, err := EvaluateAdversarial(backend, store, net, set, testDS, a, v, 64, 1)
		if err != nil {
			t.Fatal(err)
		}
		return s.Accuracy
	}
	pgdNat, pgdFAT := eval(natural, pgd, attack.GrayBox(net)), eval(robust, pgd, attack.GrayBox(net))
	dgbaNat, dgbaFAT := eval(natural, dgba, attack.WhiteBox(net)), eval(robust, dgba, attack.WhiteBox(net))
	t.Logf("clean accuracy of FAT-DGBA %v; main accuracy under gray-box PGD: natural %.3f, FAT-DGBA %.3f; "+
		"accuracy per head under white-box DGBA-PGD: natural %v, FAT-DGBA %v", res.Final.Accuracy, pgdNat[0], pgdFAT[0], dgbaNat, dgbaFAT)
	for i, a := range res.Final.Accuracy {
		if a < 0.8 {
			t.Errorf("FAT-DGBA clean accuracy of head %d: %.3f, want >= 0.8 on the toy problem", i, a)
		}
	}
	if pgdFAT[0] < pgdNat[0]+0.2 {
		t.Errorf("main accuracy under PGD: FAT-DGBA %.3f vs natural %.3f: FAT must buy at least 20 points", pgdFAT[0], pgdNat[0])
	}
	for i := range dgbaFAT {
		if dgbaFAT[i] < dgbaNat[i]+0.2 {
			t.Errorf("head %d accuracy under DGBA-PGD: FAT-DGBA %.3f vs natural %.3f: FAT must buy at least 20 points", i, dgbaFAT[i], dgbaNat[i])
		}
	}
}
