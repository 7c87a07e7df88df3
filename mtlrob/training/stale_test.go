package training

import (
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
)

// TestEvaluatorSeesUpdatedWeights pins down why run() compiles a fresh Evaluator for every
// measurement: an Evaluator compiled once and called again after more training steps must see the
// new weights. With gomlx v0.28.16 on the pure-Go backend a reused model.Exec does not (it keeps
// returning the outputs of the weights it first ran with); the test records that and checks that a
// fresh Evaluator does see the change.
func TestEvaluatorSeesUpdatedWeights(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	net := toyNet(t, set)
	store := model.NewStore()
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	cfg := Config{Steps: 1, BatchSize: 16, LearningRate: 0.05, Seed: 5, Quiet: true}
	if _, err := Natural(backend, store, net, set, trainDS, testDS, cfg); err != nil {
		t.Fatal(err)
	}
	reused, err := NewEvaluator(backend, store, net, set, 8)
	if err != nil {
		t.Fatal(err)
	}
	before, err := reused.Evaluate(testDS)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Steps = 30
	if _, err := Natural(backend, store, net, set, trainDS, testDS, cfg); err != nil {
		t.Fatal(err)
	}
	fresh, err := NewEvaluator(backend, store, net, set, 8)
	if err != nil {
		t.Fatal(err)
	}
	after, err := fresh.Evaluate(testDS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Loss[0] >= before.Loss[0] {
		t.Fatalf("fresh evaluator: main loss %.5f after 29 more steps, %.5f before: it must see the trained weights", after.Loss[0], before.Loss[0])
	}
	again, err := reused.Evaluate(testDS)
	if err != nil {
		t.Fatal(err)
	}
	if again.Loss[0] == before.Loss[0] {
		t.Logf("reused evaluator still reports the old loss %.5f (fresh: %.5f): the stale-executable issue is present", again.Loss[0], after.Loss[0])
	} else if again.Loss[0] != after.Loss[0] {
		t.Errorf("reused evaluator reports %.5f, fresh %.5f", again.Loss[0], after.Loss[0])
	}
}
