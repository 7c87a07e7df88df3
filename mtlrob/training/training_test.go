package training

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// toyNet is the MLP these tests train on the quadrant problem: 8 hidden units, a head per task of set.
func toyNet(t testing.TB, set task.Set) *arch.Net {
	t.Helper()
	return testkit.MLP(t, 8, set.Names(), set.Sizes())
}

func TestNaturalLearnsAndCurvesMove(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	res, err := Natural(backend, model.NewStore(), toyNet(t, set), set, testkit.Quadrants(256, 1, "train"), testkit.Quadrants(128, 2, "test"),
		Config{Steps: 60, BatchSize: 16, LearningRate: 0.05, EvalEvery: 20, Seed: 3, Quiet: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Curve.Step; len(got) != 3 || got[0] != 20 || got[2] != 60 {
		t.Fatalf("curve steps %v, want [20 40 60]", got)
	}
	first, last := res.Curve.Train[0], res.Curve.Train[len(res.Curve.Train)-1]
	for i, name := range res.Tasks {
		if !(last.Loss[i] < first.Loss[i]) {
			t.Errorf("task %s: training loss went from %.4f (step 20) to %.4f (step 60): the curve must follow training", name, first.Loss[i], last.Loss[i])
		}
		if res.Final.Accuracy[i] < 0.9 {
			t.Errorf("task %s: test accuracy %.3f after training on a separable toy problem, want >= 0.9", name, res.Final.Accuracy[i])
		}
	}
	if res.Final.N != 128 {
		t.Errorf("final evaluation on %d examples, want all 128", res.Final.N)
	}
}

// TestResumeEqualsUninterrupted: a run stopped after 10 steps and resumed from its checkpoint ends
// with exactly the weights of a run that went through without stopping (same seed, same config).
func TestResumeEqualsUninterrupted(t *testing.T) {
	for _, aug := range []datasets.Augmenter{{}, {Pad: 1, Flip: true}} {
		t.Run(fmt.Sprintf("augment %+v", aug), func(t *testing.T) { testResume(t, aug) })
	}
}

func testResume(t *testing.T, aug datasets.Augmenter) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	cfg := func(steps int, dir string) Config {
		return Config{Steps: steps, BatchSize: 16, LearningRate: 0.05, EvalEvery: 5, Seed: 5, Quiet: true, CheckpointDir: dir, Augment: aug}
	}
	straight := model.NewStore()
	whole, err := Natural(backend, straight, toyNet(t, set), set, trainDS, testDS, cfg(20, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, cfg(10, dir)); err != nil {
		t.Fatal(err)
	}
	resumedStore := model.NewStore()
	res, err := Natural(backend, resumedStore, toyNet(t, set), set, trainDS, testDS, cfg(20, dir))
	if err != nil {
		t.Fatal(err)
	}
	if res.StartStep != 10 {
		t.Fatalf("resumed run started at step %d, want 10", res.StartStep)
	}
	// The resumed run's curve holds the points measured before the interruption too, equal to the
	// uninterrupted run's.
	if len(whole.Curve.Step) != 4 {
		t.Fatalf("uninterrupted curve at steps %v, want 4 points", whole.Curve.Step)
	}
	if got, want := fmt.Sprint(res.Curve.Step), fmt.Sprint(whole.Curve.Step); got != want {
		t.Fatalf("resumed curve steps %s, uninterrupted %s", got, want)
	}
	if got, want := fmt.Sprint(res.Curve.Test), fmt.Sprint(whole.Curve.Test); got != want {
		t.Fatalf("resumed test curve %s, uninterrupted %s", got, want)
	}
	sameWeights(t, straight, resumedStore) // bit for bit; the progress display's running averages aside
}

// TestResumeRefusesAnotherConfiguration: checkpoints written with one batch size are not silently
// continued with another; the error names the file and the field.
func TestResumeRefusesAnotherConfiguration(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	dir := t.TempDir()
	cfg := Config{Steps: 4, BatchSize: 16, LearningRate: 0.05, EvalEvery: 2, Seed: 5, Quiet: true, CheckpointDir: dir}
	if _, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Steps = 8 // going further is a resume, not another configuration
	if _, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, cfg); err != nil {
		t.Fatalf("resuming with more steps: %v", err)
	}
	cfg.Steps, cfg.BatchSize = 12, 32
	_, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, cfg)
	if err == nil || !strings.Contains(err.Error(), "run.json") || !strings.Contains(err.Error(), "batch_size: 16 there, 32 now") {
		t.Fatalf("resuming with another batch size: error %v, want one naming run.json and batch_size", err)
	}
}

func TestMultiTaskLossIsWeightedSumOfMeans(t *testing.T) {
	backend := testbackends.Go(t)
	logitsA := [][]float32{{2, 0, 0}, {0, 1, 0}}
	logitsB := [][]float32{{0, 3}, {1, 1}}
	labelsA, labelsB := []int32{0, 2}, []int32{1, 0}
	out, err := CallOnceN(backend, func(la, lb, ya, yb *Node) *Node {
		return MultiTaskLoss([]float64{1, 0.5}, []*Node{ya, yb}, []*Node{la, lb})
	}, logitsA, logitsB, labelsA, labelsB)
	if err != nil {
		t.Fatal(err)
	}
	ce := func(z []float32, y int32) float64 {
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v))
		}
		return math.Log(s) - float64(z[y])
	}
	want := (ce(logitsA[0], 0)+ce(logitsA[1], 2))/2 + 0.5*(ce(logitsB[0], 1)+ce(logitsB[1], 0))/2
	if got := float64(out[0].Value().(float32)); math.Abs(got-want) > 1e-5 {
		t.Fatalf("multi-task loss %.6f, want %.6f", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"optimizer", Config{Optimizer: "rmsprop"}, `optimizer "rmsprop"`},
		{"weights", Config{TaskWeights: []float64{1}}, "1 task weights for 2 tasks"},
		{"negative steps", Config{Steps: -1}, "non-negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Natural(backend, model.NewStore(), toyNet(t, set), set, testkit.Quadrants(32, 1, "train"), testkit.Quadrants(8, 2, "test"), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	other, _ := set.Select()
	if _, err := Natural(backend, model.NewStore(), toyNet(t, set), other, testkit.Quadrants(32, 1, "train"), testkit.Quadrants(8, 2, "test"), Config{}); err == nil ||
		!strings.Contains(err.Error(), "2 heads") {
		t.Fatalf("mismatched task set: error %v, want one naming the head count", err)
	}
}

// TestMomentumSGDMatchesPyTorchRecurrence runs three steps on the loss sum(w*a) + 0.5*sum(w^2) (gradient
// a + w) and compares with the recurrence of torch.optim.SGD(momentum, weight_decay) + StepLR, computed
// here in float64.
func TestMomentumSGDMatchesPyTorchRecurrence(t *testing.T) {
	backend := testbackends.Go(t)
	store := model.NewStore()
	a := []float32{0.5, -1, 2}
	w0 := []float32{1, 2, -3}
	opt := MomentumSGD{LearningRate: 0.1, Momentum: 0.9, WeightDecay: 0.01, DecayEvery: 2, DecayFactor: 0.1}
	trainer := train.NewTrainer(backend, store, func(s *model.Scope, x *Node) *Node {
		w := s.VariableWithValue("w", w0).NodeValue(x.Graph())
		return Add(ReduceAllSum(Mul(w, x)), MulScalar(ReduceAllSum(Square(w)), 0.5))
	}, func(_, pred []*Node) *Node { return pred[0] }, opt, nil, nil)
	for range 3 {
		if _, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{tensors.FromValue(a)}, Labels: []*tensors.Tensor{tensors.FromValue([]float32{0})}}); err != nil {
			t.Fatal(err)
		}
	}
	got := tensors.MustCopyFlatData[float32](store.GetVariable("/w").MustValue())
	for i := range w0 {
		w, v := float64(w0[i]), 0.0
		for step := range 3 {
			g := float64(a[i]) + w + 0.01*w
			if step == 0 {
				v = g
			} else {
				v = 0.9*v + g
			}
			lr := 0.1 * math.Pow(0.1, float64(step/2))
			w -= lr * v
		}
		if math.Abs(float64(got[i])-w) > 1e-5 {
			t.Errorf("w[%d] = %.6f after 3 steps, PyTorch's recurrence gives %.6f", i, got[i], w)
		}
	}
}

// TestInterruptedSaveLeavesLastCheckpoint: a save that died mid-write (a staging directory with a
// truncated data file, as a kill during Save leaves it) must not be what a resumed run loads.
func TestInterruptedSaveLeavesLastCheckpoint(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	dir := t.TempDir()
	cfg := Config{Steps: 10, BatchSize: 16, LearningRate: 0.05, EvalEvery: 5, Seed: 5, Quiet: true, CheckpointDir: dir, KeepCheckpoints: 2}
	store := model.NewStore()
	if _, err := Natural(backend, store, toyNet(t, set), set, testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test"), cfg); err != nil {
		t.Fatal(err)
	}
	names, err := listCheckpoints(dir)
	if err != nil || len(names) != 2 || !strings.HasSuffix(names[1], "step-00000010") {
		t.Fatalf("checkpoints %v (%v): want the 2 most recent, the last at step 10", names, err)
	}
	staging := filepath.Join(dir, ".staging-crash")
	if err := os.MkdirAll(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(staging, "checkpoint-n0000099-step-00000011.bin"), []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	restored := model.NewStore()
	ok, err := Restore(restored, dir)
	if err != nil || !ok {
		t.Fatalf("Restore: %v, %v", ok, err)
	}
	if _, err := os.Stat(staging); !os.IsNotExist(err) {
		t.Errorf("the interrupted save's staging directory is still there")
	}
	v := restored.GetVariable("/backbone/fc/weights")
	if v == nil {
		t.Fatal("restored store lacks /backbone/fc/weights")
	}
	want := tensors.MustCopyFlatData[float32](store.GetVariable("/backbone/fc/weights").MustValue())
	got := tensors.MustCopyFlatData[float32](v.MustValue())
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("restored weight %d = %v, want %v", i, got[i], want[i])
		}
	}
}
