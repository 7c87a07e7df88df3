package attack_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/internal/slowtest"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/task"
	"github.com/mtlrob/mtlrob/mtlrob/training"
	"github.com/mtlrob/mtlrob/xla"
)

// EnvWriteRecords, set to 1, makes the strength test write its record under
// figures/results/attack-strength/ (go test never writes into the tree otherwise).
const EnvWriteRecords = "MTLROB_WRITE_RECORDS"

// strengthConfig is the configuration part of the attack-strength record.
type strengthConfig struct {
	Dataset       string          `json:"dataset"`
	Tasks         []string        `json:"tasks"`
	Arch          string          `json:"arch"`
	TrainExamples int             `json:"train_examples"`
	TestExamples  int             `json:"test_examples"`
	Training      training.Config `json:"training"`
	Victim        string          `json:"victim"`
	Attacks       []string        `json:"attacks"`
	RunnerSeed    int64           `json:"runner_seed"`
}

// strengthResult is one attack's line of the record.
type strengthResult struct {
	Attack   string    `json:"attack"`
	Name     string    `json:"name"`
	Accuracy []float64 `json:"accuracy"` // per task, on the adversarial test images
	Loss     []float64 `json:"loss"`
	Seconds  float64   `json:"seconds"`
}

// TestStrengthLeNetFashionMNIST is the attack-strength reference (issue item 5): the multi-head
// LeNet (main, category, region) trained naturally on a Fashion-MNIST subset; the gray-box PGD-40
// at eps 0.1 (alpha 0.01, random start) must drive main-task accuracy below 5%, FGSM at the same
// eps must be weaker than PGD (and still hurt), and an unbounded attack (eps 1) must leave ~0.
// It trains on XLA CPU when installed (xla.Default) and takes about two minutes; -short skips it.
// With MTLROB_WRITE_RECORDS=1 it writes figures/results/attack-strength/<name>.json.
func TestStrengthLeNetFashionMNIST(t *testing.T) {
	slowtest.Require(t, "trains a LeNet on Fashion-MNIST (about 2 minutes)")
	start := time.Now()
	backend, desc, err := xla.Default()
	if err != nil {
		t.Fatal(err)
	}
	const seed = 1
	set, err := task.ForDataset("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	net, err := arch.LeNet(set.Names(), set.Sizes())
	if err != nil {
		t.Fatal(err)
	}
	load := func(split string, perClass int) *datasets.Dataset {
		ds, err := datasets.Load("fashion-mnist", split)
		if errors.Is(err, datasets.ErrNotInstalled) {
			t.Skipf("Fashion-MNIST is not installed: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if ds, err = ds.Stratified(perClass, seed); err != nil {
			t.Fatal(err)
		}
		return ds
	}
	trainDS, testDS := load("train", 1000), load("test", 40)
	cfg := training.Config{Steps: 1500, BatchSize: 64, Seed: seed, EvalEvery: 1500, EvalExamples: 200, Quiet: true}
	store := model.NewStore()
	tr, err := training.Natural(backend, store, net, set, trainDS, testDS, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained %s in %.1fs on %s: test accuracy %v", net, time.Since(start).Seconds(), desc, tr.Final.Accuracy)

	evaluator, err := training.NewEvaluator(backend, store, net, set, 128)
	if err != nil {
		t.Fatal(err)
	}
	const runnerSeed = 7
	victim := attack.GrayBox(net)
	attacks := []struct {
		key string
		a   attack.Attack
	}{
		{"fgsm", attack.FGSM{Eps: 0.1}},
		{"pgd40", attack.PGD{Eps: 0.1, Alpha: 0.01, Steps: 40}},
		{"pgd10-unbounded", attack.PGD{Eps: 1, Alpha: 0.1, Steps: 10}},
	}
	results := []strengthResult{{Attack: "clean", Name: "clean"}}
	clean, err := evaluator.Evaluate(testDS)
	if err != nil {
		t.Fatal(err)
	}
	results[0].Accuracy, results[0].Loss = clean.Accuracy, clean.Loss
	for _, at := range attacks {
		t0 := time.Now()
		r, err := attack.NewRunner(backend, store, victim, at.a)
		if err != nil {
			t.Fatal(err)
		}
		r.Seed = runnerSeed
		advDS, err := attackDataset(r, set, testDS)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := evaluator.Evaluate(advDS)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, strengthResult{Attack: at.key, Name: at.a.Name(), Accuracy: sc.Accuracy, Loss: sc.Loss, Seconds: time.Since(t0).Seconds()})
		t.Logf("%-16s main accuracy %.4f (all heads %v) in %.1fs", at.key, sc.Accuracy[0], sc.Accuracy, time.Since(t0).Seconds())
	}
	acc := func(key string) float64 {
		for _, r := range results {
			if r.Attack == key {
				return r.Accuracy[0]
			}
		}
		panic(key)
	}
	if c := acc("clean"); c < 0.75 {
		t.Errorf("clean main accuracy %.3f, want >= 0.75 for a meaningful reference", c)
	}
	// The kernels (XLA's, or the pure-Go backend's AVX-512 or AVX2 ones) change the training trajectory,
	// and with it which of the 400 images PGD-40 leaves correct: 9, 10 and 14 on XLA default, XLA with
	// SSE4.2 kernels and pure Go on AVX2. Taken as a fresh Binomial(400, p) draw with p <= 0.035 (the
	// largest seen), 20 or more (the 0.05 this replaced) has probability 0.07 at that p, 0.008 at the
	// pooled 0.0275; 32 or more (0.08) has 1.7e-5. FGSM (0.13-0.16 on all three) and no attack (0.89)
	// stay far above it, so a weakened PGD still fails.
	if p := acc("pgd40"); p >= 0.08 {
		t.Errorf("PGD-40 at eps 0.1: main accuracy %.4f, want < 0.08", p)
	}
	if f, p, c := acc("fgsm"), acc("pgd40"), acc("clean"); !(f > p && f < c) {
		t.Errorf("main accuracy clean %.4f, FGSM %.4f, PGD-40 %.4f: want clean > FGSM > PGD-40", c, f, p)
	}
	if u := acc("pgd10-unbounded"); u > 0.01 {
		t.Errorf("unbounded PGD: main accuracy %.4f, want ~0", u)
	}

	if os.Getenv(EnvWriteRecords) != "1" {
		return
	}
	names := make([]string, len(attacks))
	for i, at := range attacks {
		names[i] = at.a.Name()
	}
	rec := experiment.Record{
		Kind:       "attack-strength",
		Name:       fmt.Sprintf("fashion-mnist_lenet_%s_graybox_eps0.1_seed%d", joinTasks(set.Names()), seed),
		Provenance: experiment.NewProvenance(seed, desc),
		Config: strengthConfig{Dataset: "fashion-mnist", Tasks: set.Names(), Arch: "lenet", TrainExamples: trainDS.N,
			TestExamples: testDS.N, Training: tr.Config, Victim: victim.String(), Attacks: names, RunnerSeed: runnerSeed},
		Results: results,
		Seconds: time.Since(start).Seconds(),
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "figures", "results", rec.Kind, rec.Name+".json")
	if err := experiment.WriteJSON(path, rec); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

func joinTasks(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += "+"
		}
		s += n
	}
	return s
}

// attackDataset returns a copy of ds whose images are the runner's adversarial examples.
func attackDataset(r *attack.Runner, set task.Set, ds *datasets.Dataset) (*datasets.Dataset, error) {
	out := *ds
	out.Images = make([]float32, 0, len(ds.Images))
	b := datasets.NewBatcher(ds, 128, false, 0, false)
	for {
		images, labels, n, ok := b.Next()
		if !ok {
			break
		}
		perTask, err := set.Labels(labels)
		if err != nil {
			return nil, err
		}
		lt := make([]*tensors.Tensor, len(perTask))
		for i, l := range perTask {
			lt[i] = tensors.FromFlatDataAndDimensions(l, n)
		}
		adv, err := r.Run(tensors.FromFlatDataAndDimensions(images, n, ds.Height, ds.Width, ds.Channels), lt)
		if err != nil {
			return nil, err
		}
		out.Images = append(out.Images, tensors.MustCopyFlatData[float32](adv)...)
	}
	return &out, nil
}

// repoRoot is the directory of the module's go.mod, found upwards from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
