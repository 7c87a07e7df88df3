// Package parity prepares the comparison of mtlrob's attacks with the PyTorch attack libraries the
// papers used (advertorch, which 001 ran, and torchattacks): it takes a trained multi-head model,
// exports its weights, a slice of the test set and mtlrob's own clean logits, runs mtlrob's PGD and
// CW-L2 on the main head at fixed settings and records the per-sample outcomes. The peer side, a
// pytest suite in peers/ beside this file, rebuilds the same network in PyTorch from the exported
// weights, checks that its clean logits agree to 1e-4, runs advertorch's LinfPGDAttack and
// CarliniWagnerL2Attack and torchattacks' PGD and CW at the same settings and asserts that the
// robust accuracies agree within 1 percentage point (make test; make parity writes the table to
// figures/parity/).
//
// Export writes into a directory:
//
//	weights.npz       the model's variables (arch.ExportNPZ): backbone/conv1/weights [5,5,1,32], ...
//	data.npz          images [n,28,28,1] (NHWC, float32 in [0,1]), labels/<task> [n] int32,
//	                  logits/<task> [n,classes] float32 (mtlrob's clean logits, same backend as the attacks),
//	                  grad/main [n,28,28,1] float32: the gradient of the main head's summed cross-entropy
//	                  with respect to the clean images (the direction of every attack's first step)
//	adversarial.npz   the adversarial images of the deterministic runs, by run key
//	mtlrob.json       a Manifest: provenance, configuration and every run's per-sample results
package parity

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
)

// PGDSetting is one L∞ PGD configuration of the comparison.
type PGDSetting struct {
	Eps   float64 `json:"eps"`
	Alpha float64 `json:"alpha"`
	Steps int     `json:"steps"`
}

// CWSetting is the CW-L2 configuration of the comparison: Iterations Adam iterations at the single
// constant InitialConst (torchattacks' CW has no binary search), and SearchSteps binary-search steps
// of SearchIterations iterations each (advertorch's CarliniWagnerL2Attack, the attack 001 ran).
type CWSetting struct {
	LearningRate     float64 `json:"learning_rate"`
	InitialConst     float64 `json:"initial_const"`
	Kappa            float64 `json:"kappa"`
	Iterations       int     `json:"iterations"`
	SearchSteps      int     `json:"search_steps"`
	SearchIterations int     `json:"search_iterations"`
}

// Config is what a parity run computes.
type Config struct {
	// Model is the model attacked (trained, or loaded from the checkpoint cache).
	Model experiment.ModelSpec `json:"model"`
	// N is the number of test images: the first N of the dataset's test split.
	N int `json:"n"`
	// Batch is the attack batch size (the peers use the same, which matters for their batch-level
	// early aborts).
	Batch int `json:"batch"`
	// PGD are the PGD settings; each runs with and without a random start, returning the last
	// iterate (as advertorch and torchattacks do) and mtlrob's default per-sample strongest iterate.
	PGD []PGDSetting `json:"pgd"`
	// Seeds are the seeds of the random starts: one last-iterate run per seed (the peers run as
	// many), and one strongest-iterate run with the first seed.
	Seeds []int64   `json:"seeds"`
	CW    CWSetting `json:"cw"`
	// CleanOnly writes the weights, the images, the clean logits and the input gradients and runs no
	// attack (export -clean-only): enough for the logit and gradient checks, in about a minute.
	CleanOnly bool `json:"clean_only,omitempty"`
}

// DefaultConfig is the comparison of the issue: the quick natural multi-head LeNet on Fashion-MNIST
// (main + category + region), the first 1000 test images, attacks in batches of 100. PGD: eps 0.1,
// step 0.01, 20 steps, and eps 0.03, step 0.003, 20 steps (where this model keeps about 60%
// accuracy, so that the comparison is not one of two near-zero numbers); random starts with seeds
// 1, 2, 3. CW-L2: learning rate 0.01, c = 1, kappa 0; 50 iterations at one c (torchattacks' CW,
// whose default is 50 steps), and 5 search steps of 10 iterations (advertorch's binary search).
func DefaultConfig() Config {
	return Config{
		Model: experiment.ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Aux: []string{"category", "region"},
			Training: "natural", Budget: experiment.Budgets["quick"], Seed: 1},
		N: 1000, Batch: 100,
		PGD:   []PGDSetting{{Eps: 0.1, Alpha: 0.01, Steps: 20}, {Eps: 0.03, Alpha: 0.003, Steps: 20}},
		Seeds: []int64{1, 2, 3},
		CW:    CWSetting{LearningRate: 0.01, InitialConst: 1, Kappa: 0, Iterations: 50, SearchSteps: 5, SearchIterations: 10},
	}
}

// Run is one mtlrob attack run on the N images and its per-sample outcome on the main head.
type Run struct {
	// Key identifies the run's setting, e.g. "pgd/eps=0.1/alpha=0.01/steps=20/rand/last" or
	// "cw/search=5/iterations=20/lr=0.01/c0=1/kappa=0/no-abort"; the peers' runs use the same keys.
	Key  string `json:"key"`
	Kind string `json:"kind"` // "pgd" or "cw"
	// PGD settings.
	Eps         float64 `json:"eps,omitempty"`
	Alpha       float64 `json:"alpha,omitempty"`
	Steps       int     `json:"steps,omitempty"`
	RandomStart bool    `json:"random_start,omitempty"`
	LastIterate bool    `json:"last_iterate,omitempty"`
	// CW settings.
	SearchSteps  int     `json:"search_steps,omitempty"`
	Iterations   int     `json:"iterations,omitempty"`
	LearningRate float64 `json:"learning_rate,omitempty"`
	InitialConst float64 `json:"initial_const,omitempty"`
	Kappa        float64 `json:"kappa"`
	AbortEarly   bool    `json:"abort_early,omitempty"`
	// Seed of the random start (0 when deterministic).
	Seed int64 `json:"seed"`
	// Attack is mtlrob's name of the attack configuration.
	Attack string `json:"attack"`
	// RobustAccuracy is the main-head accuracy on the adversarial images.
	RobustAccuracy float64 `json:"robust_accuracy"`
	// Correct[i]: the main head classifies adversarial image i correctly.
	Correct []bool `json:"correct"`
	// L2 and Linf are the per-sample distortions ||x' - x||.
	L2   []float64 `json:"l2"`
	Linf []float64 `json:"linf"`
	// Adversarial is the array name in adversarial.npz holding the adversarial images ("" when not saved).
	Adversarial string  `json:"adversarial,omitempty"`
	Seconds     float64 `json:"seconds"`
}

// Manifest is mtlrob.json: where the export came from and mtlrob's results.
type Manifest struct {
	Provenance experiment.Provenance `json:"provenance"`
	Config     Config                `json:"config"`
	Model      string                `json:"model"` // the spec's name
	Net        string                `json:"net"`   // arch.Net.String()
	Tasks      []string              `json:"tasks"`
	Classes    []int                 `json:"classes"`
	// CleanAccuracy[t] is task t's accuracy on the N clean images.
	CleanAccuracy []float64 `json:"clean_accuracy"`
	Runs          []Run     `json:"runs"`
	Seconds       float64   `json:"seconds"`
}

// PGDKey is the key of a PGD run.
func PGDKey(s PGDSetting, randomStart, lastIterate bool) string {
	start, iterate := "det", "best"
	if randomStart {
		start = "rand"
	}
	if lastIterate {
		iterate = "last"
	}
	return fmt.Sprintf("pgd/eps=%s/alpha=%s/steps=%d/%s/%s", g(s.Eps), g(s.Alpha), s.Steps, start, iterate)
}

// CWKey is the key of a CW run.
func CWKey(c CWSetting, searchSteps, iterations int, abortEarly bool) string {
	abort := "no-abort"
	if abortEarly {
		abort = "abort"
	}
	return fmt.Sprintf("cw/search=%d/iterations=%d/lr=%s/c0=%s/kappa=%s/%s", searchSteps, iterations,
		g(c.LearningRate), g(c.InitialConst), g(c.Kappa), abort)
}

func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// plan lists mtlrob's runs: per PGD setting, {random start, none} x {last iterate, strongest}
// (random-start last iterates once per seed, the strongest iterate with the first seed); CW at one c without early abort (torchattacks' CW), and with 5
// search steps without and with early abort (advertorch's, abort_early False and True).
func (c Config) plan() []Run {
	var runs []Run
	for _, s := range c.PGD {
		for _, rnd := range []bool{true, false} {
			for _, last := range []bool{true, false} {
				seeds := []int64{0}
				if rnd && last {
					seeds = c.Seeds
				} else if rnd {
					seeds = c.Seeds[:1]
				}
				for _, seed := range seeds {
					runs = append(runs, Run{Key: PGDKey(s, rnd, last), Kind: "pgd", Eps: s.Eps, Alpha: s.Alpha, Steps: s.Steps,
						RandomStart: rnd, LastIterate: last, Seed: seed})
				}
			}
		}
	}
	cw := func(search, iters int, abort bool) Run {
		return Run{Key: CWKey(c.CW, search, iters, abort), Kind: "cw", SearchSteps: search, Iterations: iters,
			LearningRate: c.CW.LearningRate, InitialConst: c.CW.InitialConst, Kappa: c.CW.Kappa, AbortEarly: abort}
	}
	return append(runs, cw(1, c.CW.Iterations, false), cw(c.CW.SearchSteps, c.CW.SearchIterations, false),
		cw(c.CW.SearchSteps, c.CW.SearchIterations, true))
}

// attack returns mtlrob's attack of a run.
func (r Run) attack() attack.Attack {
	if r.Kind == "pgd" {
		return attack.PGD{Eps: r.Eps, Alpha: r.Alpha, Steps: r.Steps, NoRandomStart: !r.RandomStart, LastIterate: r.LastIterate}
	}
	return attack.CW{BinarySteps: r.SearchSteps, MaxIterations: r.Iterations, LearningRate: r.LearningRate,
		InitialConst: r.InitialConst, Kappa: r.Kappa, NoAbortEarly: !r.AbortEarly}
}

// Export loads (or trains) cfg.Model with env, writes the weights, the first cfg.N test images with
// their labels and mtlrob's clean logits, runs every attack of the comparison on the main head
// (gray-box view: backbone and main head) and writes the results to dir (see the package comment).
// Progress lines go to logw.
func Export(env experiment.Env, cfg Config, dir string, logw io.Writer) (*Manifest, error) {
	start := time.Now()
	if cfg.N < 1 || cfg.Batch < 1 || len(cfg.Seeds) == 0 {
		return nil, fmt.Errorf("parity: N %d, batch %d and %d seeds, want all >= 1", cfg.N, cfg.Batch, len(cfg.Seeds))
	}
	m, err := experiment.LoadOrTrain(env, cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	test, err := datasets.Load(cfg.Model.Dataset, "test")
	if err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	if test, err = test.Head(min(cfg.N, test.N)); err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	labels, err := m.Tasks.Labels(test.Labels)
	if err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	net := m.Net
	fmt.Fprintf(logw, "parity: %s (%s), %d test images, backend %s\n", cfg.Model.Name(), net, test.N, env.BackendLine)

	if err := arch.ExportNPZ(m.Store, filepath.Join(dir, "weights.npz")); err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	lg := newLogits(env, m.Store, net, test)
	clean, err := lg.all(test.Images)
	if err != nil {
		return nil, err
	}
	man := &Manifest{Provenance: experiment.NewProvenance(cfg.Model.Seed, env.BackendLine), Config: cfg,
		Model: cfg.Model.Name(), Net: net.String(), Tasks: net.Tasks, Classes: net.Classes}
	data := []arch.NPYArray{{Name: "images", Shape: []int{test.N, test.Height, test.Width, test.Channels}, Data: test.Images}}
	for t, name := range net.Tasks {
		data = append(data, arch.NPYArray{Name: "labels/" + name, Shape: []int{test.N}, Data: labels[t]},
			arch.NPYArray{Name: "logits/" + name, Shape: []int{test.N, net.Classes[t]}, Data: clean[t]})
		man.CleanAccuracy = append(man.CleanAccuracy, accuracy(correct(clean[t], labels[t], net.Classes[t])))
	}
	grad, err := mainGradient(env, m.Store, net, test, labels[0])
	if err != nil {
		return nil, err
	}
	data = append(data, arch.NPYArray{Name: "grad/main", Shape: []int{test.N, test.Height, test.Width, test.Channels}, Data: grad})
	if err := arch.WriteNPZ(filepath.Join(dir, "data.npz"), data); err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	fmt.Fprintf(logw, "parity: clean accuracy %v\n", man.CleanAccuracy)

	var advs []arch.NPYArray
	victim := attack.GrayBox(net)
	runners := map[string]*attack.Runner{}
	var plan []Run
	if !cfg.CleanOnly {
		plan = cfg.plan()
	}
	for _, run := range plan {
		runner := runners[run.Key]
		if runner == nil {
			if runner, err = attack.NewRunner(env.Backend, m.Store, victim, run.attack()); err != nil {
				return nil, fmt.Errorf("parity: %s: %w", run.Key, err)
			}
			runners[run.Key] = runner
		}
		runner.Seed = run.Seed
		t0 := time.Now()
		adv, err := attackAll(runner, test, labels, cfg.Batch)
		if err != nil {
			return nil, fmt.Errorf("parity: %s: %w", run.Key, err)
		}
		run.Seconds = time.Since(t0).Seconds()
		logits, err := lg.main(adv)
		if err != nil {
			return nil, err
		}
		run.Attack = runner.Attack().Name()
		run.Correct = correct(logits, labels[0], net.Classes[0])
		run.RobustAccuracy = accuracy(run.Correct)
		run.L2, run.Linf = distortions(adv, test.Images, test.ImageSize())
		if run.Seed == 0 {
			run.Adversarial = run.Key
			advs = append(advs, arch.NPYArray{Name: run.Key, Shape: []int{test.N, test.Height, test.Width, test.Channels}, Data: adv})
		}
		fmt.Fprintf(logw, "parity: %-58s seed %d  robust accuracy %5.1f%%  (%.1f s)\n", run.Key, run.Seed, 100*run.RobustAccuracy, run.Seconds)
		man.Runs = append(man.Runs, run)
	}
	if err := arch.WriteNPZ(filepath.Join(dir, "adversarial.npz"), advs); err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	man.Seconds = time.Since(start).Seconds()
	if err := experiment.WriteJSON(filepath.Join(dir, "mtlrob.json"), man); err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	return man, nil
}

// attackAll runs the runner over the dataset in batches and returns the adversarial images.
func attackAll(r *attack.Runner, ds *datasets.Dataset, labels [][]int32, batch int) ([]float32, error) {
	size := ds.ImageSize()
	adv := make([]float32, 0, len(ds.Images))
	for lo := 0; lo < ds.N; lo += batch {
		n := min(batch, ds.N-lo)
		x := tensors.FromFlatDataAndDimensions(append([]float32(nil), ds.Images[lo*size:(lo+n)*size]...), n, ds.Height, ds.Width, ds.Channels)
		ls := make([]*tensors.Tensor, len(labels))
		for t, l := range labels {
			ls[t] = tensors.FromFlatDataAndDimensions(append([]int32(nil), l[lo:lo+n]...), n)
		}
		out, err := r.Run(x, ls)
		x.FinalizeAll()
		for _, l := range ls {
			l.FinalizeAll()
		}
		if err != nil {
			return nil, err
		}
		adv = append(adv, tensors.MustCopyFlatData[float32](out)...)
		out.FinalizeAll()
	}
	return adv, nil
}

// mainGradient returns the gradient of the main head's cross-entropy, summed over the batch, with
// respect to the images (gray-box view), in batches of 100.
func mainGradient(env experiment.Env, store *model.Store, net *arch.Net, ds *datasets.Dataset, labels []int32) ([]float32, error) {
	e, err := model.NewExec(env.Backend, store, func(s *model.Scope, x, y *Node) *Node {
		xin := Identity(x) // never differentiate with respect to a StopGradient node
		return Gradient(ReduceAllSum(arch.CrossEntropy(net.GrayBox(s, xin), y)), xin)[0]
	})
	if err != nil {
		return nil, fmt.Errorf("parity: gradient: %w", err)
	}
	defer e.Finalize()
	size := ds.ImageSize()
	var out []float32
	for lo := 0; lo < ds.N; lo += 100 {
		b := min(100, ds.N-lo)
		x := tensors.FromFlatDataAndDimensions(append([]float32(nil), ds.Images[lo*size:(lo+b)*size]...), b, ds.Height, ds.Width, ds.Channels)
		y := tensors.FromFlatDataAndDimensions(append([]int32(nil), labels[lo:lo+b]...), b)
		res, err := e.Call(x, y)
		x.FinalizeAll()
		y.FinalizeAll()
		if err != nil {
			return nil, fmt.Errorf("parity: gradient: %w", err)
		}
		out = append(out, tensors.MustCopyFlatData[float32](res[0])...)
		res[0].FinalizeAll()
	}
	return out, nil
}

// logitsExec computes every head's logits on batches of images.
type logitsExec struct {
	exec          *model.Exec
	ds            *datasets.Dataset
	tasks, batch  int
	classes       []int
	height, width int
}

func newLogits(env experiment.Env, store *model.Store, net *arch.Net, ds *datasets.Dataset) *logitsExec {
	e := model.MustNewExec(env.Backend, store, func(s *model.Scope, x *Node) []*Node { return net.Logits(s, x) })
	return &logitsExec{exec: e, ds: ds, tasks: len(net.Tasks), batch: 100, classes: net.Classes}
}

// all returns, per task, the flat [n, classes] logits of the images.
func (l *logitsExec) all(images []float32) ([][]float32, error) {
	size := l.ds.ImageSize()
	n := len(images) / size
	out := make([][]float32, l.tasks)
	for lo := 0; lo < n; lo += l.batch {
		b := min(l.batch, n-lo)
		x := tensors.FromFlatDataAndDimensions(append([]float32(nil), images[lo*size:(lo+b)*size]...), b, l.ds.Height, l.ds.Width, l.ds.Channels)
		res, err := l.exec.Call(x)
		x.FinalizeAll()
		if err != nil {
			return nil, fmt.Errorf("parity: logits: %w", err)
		}
		for t, r := range res {
			out[t] = append(out[t], tensors.MustCopyFlatData[float32](r)...)
			r.FinalizeAll()
		}
	}
	return out, nil
}

// main returns the main head's logits.
func (l *logitsExec) main(images []float32) ([]float32, error) {
	all, err := l.all(images)
	if err != nil {
		return nil, err
	}
	return all[0], nil
}

// correct reports per sample whether the arg-max of the logits (flat [n, k]) is the label; ties go
// to the first maximum, as numpy's and torch's argmax do.
func correct(logits []float32, labels []int32, k int) []bool {
	out := make([]bool, len(labels))
	for i := range labels {
		row := logits[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		out[i] = int32(best) == labels[i]
	}
	return out
}

func accuracy(ok []bool) float64 {
	n := 0
	for _, v := range ok {
		if v {
			n++
		}
	}
	return float64(n) / float64(len(ok))
}

// distortions returns the per-sample L2 and L∞ norms of adv - x.
func distortions(adv, x []float32, size int) (l2, linf []float64) {
	n := len(x) / size
	l2, linf = make([]float64, n), make([]float64, n)
	for i := range n {
		var s, m float64
		for j := i * size; j < (i+1)*size; j++ {
			d := math.Abs(float64(adv[j]) - float64(x[j]))
			s += d * d
			m = max(m, d)
		}
		l2[i], linf[i] = math.Sqrt(s), m
	}
	return l2, linf
}

// Keys lists the distinct run keys of a manifest, in run order.
func (m *Manifest) Keys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, r := range m.Runs {
		if !seen[r.Key] {
			seen[r.Key] = true
			keys = append(keys, r.Key)
		}
	}
	return keys
}

// String summarises a manifest in one line per run.
func (m *Manifest) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: clean accuracy %v\n", m.Model, m.CleanAccuracy)
	for _, r := range m.Runs {
		fmt.Fprintf(&b, "%-60s seed %d  %5.1f%%\n", r.Key, r.Seed, 100*r.RobustAccuracy)
	}
	return b.String()
}
