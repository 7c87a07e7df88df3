// Package training trains multi-task networks with hard parameter sharing: natural training with
// the multi-task loss of 001 Eq. 3, on GoMLX's trainer, with seeded data order, a progress bar,
// learning curves per head and checkpoints that a later run resumes from.
package training

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ui/commandline"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// Config of a training run. The zero value of each field means the default in its comment.
type Config struct {
	// Steps is the number of optimizer steps the run ends at (a resumed run continues up to it). Default 1000.
	Steps int `json:"steps"`
	// BatchSize of training batches. Default 50, the authors' MNIST code.
	BatchSize int `json:"batch_size"`
	// Optimizer is "adam" (default) or "sgd".
	Optimizer string `json:"optimizer"`
	// LearningRate; default 1e-3 for Adam (the authors' code uses 1e-4 with many more epochs) and 0.1 for SGD (001 §IV-A).
	LearningRate float64 `json:"learning_rate"`
	// Momentum of "sgd" (default 0.9), WeightDecay its L2 weight decay (default 0), and the step decay of
	// its learning rate: times LRDecayFactor (default 0.1) every LRDecayEvery steps (default 0: constant).
	// 001 §IV-A: lr 0.1, x0.1 every 50 epochs. See MomentumSGD.
	Momentum      float64 `json:"momentum,omitempty"`
	WeightDecay   float64 `json:"weight_decay,omitempty"`
	LRDecayEvery  int     `json:"lr_decay_every,omitempty"`
	LRDecayFactor float64 `json:"lr_decay_factor,omitempty"`
	// TaskWeights are the w_m of the multi-task loss sum_m w_m L_m (001 Eq. 3), in task order. Default: all 1.
	TaskWeights []float64 `json:"task_weights,omitempty"`
	// Seed fixes the initial weights and the data order. A run is a pure function of its seed and config.
	Seed int64 `json:"seed"`
	// EvalEvery is the number of steps between two points of the learning curves. Default Steps/10.
	EvalEvery int `json:"eval_every"`
	// EvalExamples is how many training and test examples (the first ones) each curve point is measured on. Default 1000.
	EvalExamples int `json:"eval_examples"`
	// CheckpointDir, when set, receives GoMLX checkpoints (every curve point and at the end); a run whose
	// directory already holds one resumes from the latest.
	CheckpointDir string `json:"checkpoint_dir,omitempty"`
	// KeepCheckpoints is how many checkpoints are kept. Default 2.
	KeepCheckpoints int `json:"keep_checkpoints"`
	// Augment is the data augmentation applied to training batches (datasets.DefaultAugmenter(name) gives
	// the paper's per-dataset choice: crop+flip for CIFAR10 and Tiny ImageNet). Default: none.
	Augment datasets.Augmenter `json:"augment"`
	// Select, when set, scores the model at every curve point (e.g. adversarial accuracy on a test probe,
	// as 001 §IV-B selects its checkpoints); the best-scoring weights are kept as a separate checkpoint
	// in CheckpointDir/best and the Result says from which step they come.
	Select *Selection `json:"select,omitempty"`
	// Quiet turns the progress bar off.
	Quiet bool `json:"-"`
	// Identity holds entries the caller adds to the identity a checkpoint directory records of its run
	// (e.g. the experiment's name and budget), beside those Train derives itself: the training and test
	// data (name, size, SHA-256), the tasks with their label maps, the network and the step's Name. A run
	// whose identity or configuration differs from the directory's is refused (see CheckpointDir).
	Identity map[string]string `json:"-"`
	// Context, when set, ends the run early once it is done (the command cancels it on SIGINT or
	// SIGTERM): Train checks it after every step, saves a checkpoint of the current step (into
	// CheckpointDir, else InterruptDir) and returns an *InterruptedError. Nil: never done.
	Context context.Context `json:"-"`
	// InterruptDir, used only when CheckpointDir is empty, is where an interrupted run keeps its
	// checkpoint (replacing any there) so that it can be resumed with CheckpointDir = InterruptDir.
	// Empty: the work of an interrupted run without CheckpointDir is lost.
	InterruptDir string `json:"-"`
}

// ErrInterrupted is wrapped by the error of a run ended by its Context (see InterruptedError).
var ErrInterrupted = errors.New("training interrupted")

// InterruptedError is the error of a run ended by its Config.Context. It wraps ErrInterrupted and the
// context's cause (context.Canceled, or the cause given to context.WithCancelCause).
type InterruptedError struct {
	Step  int    // the global step the run had reached, that of the checkpoint kept
	Steps int    // the step the run was to end at
	Dir   string // the checkpoint directory to resume from; "" when no checkpoint was kept
	// Temporary says that Dir is Config.InterruptDir: the run had no CheckpointDir.
	Temporary bool
	Cause     error
}

func (e *InterruptedError) Error() string {
	if e.Dir == "" {
		return fmt.Sprintf("training: interrupted at step %d of %d (%v); no checkpoint kept", e.Step, e.Steps, e.Cause)
	}
	kind := "checkpoint"
	if e.Temporary {
		kind = "temporary checkpoint"
	}
	return fmt.Sprintf("training: interrupted at step %d of %d (%v); %s of step %d in %s", e.Step, e.Steps, e.Cause, kind, e.Step, e.Dir)
}

// Unwrap returns ErrInterrupted and the cause.
func (e *InterruptedError) Unwrap() []error { return []error{ErrInterrupted, e.Cause} }

// Selection is a checkpoint-selection criterion: higher Score is better. 001 §IV-B selects "a
// checkpoint that exhibited the best adversarial accuracy within the range where the training loss had
// sufficiently converged without a consistent increase in the test loss": From and MaxTestLossRise
// state that range. A curve point is eligible when its step is at least From (the training loss has
// converged: e.g. the first learning-rate decay) and the main task's test loss there is at most
// (1 + MaxTestLossRise) times the lowest test loss of the curve so far (no consistent increase: robust
// overfitting raises it); zero values make every point eligible. When no point is eligible the last
// one is kept, and Best says so.
type Selection struct {
	Name            string                                    `json:"name"` // e.g. "PGD-7 main accuracy on 500 test examples"
	Score           func(store *model.Store) (float64, error) `json:"-"`
	From            int                                       `json:"from,omitempty"`
	MaxTestLossRise float64                                   `json:"max_test_loss_rise,omitempty"`
}

// eligible says whether the curve's last point may be selected (see Selection).
func (s *Selection) eligible(c Curve) bool {
	n := len(c.Step)
	if n == 0 || c.Step[n-1] < s.From {
		return false
	}
	if s.MaxTestLossRise <= 0 {
		return true
	}
	lowest := c.Test[0].Loss[0]
	for _, t := range c.Test {
		lowest = min(lowest, t.Loss[0])
	}
	return c.Test[n-1].Loss[0] <= (1+s.MaxTestLossRise)*lowest
}

// Best is the selected checkpoint: the step of the curve point with the highest selection score.
type Best struct {
	Name  string  `json:"name"`
	Step  int     `json:"step"`
	Score float64 `json:"score"`
	// Fallback is set when no curve point was eligible (Selection) and the last one was kept.
	Fallback bool `json:"fallback,omitempty"`
}

// withDefaults returns the config with every zero field replaced by its default.
func (c Config) withDefaults(numTasks int) (Config, error) {
	if c.Steps == 0 {
		c.Steps = 1000
	}
	if c.BatchSize == 0 {
		c.BatchSize = 50
	}
	if c.Optimizer == "" {
		c.Optimizer = "adam"
	}
	if c.LearningRate == 0 {
		c.LearningRate = map[string]float64{"adam": 1e-3, "sgd": 0.1}[c.Optimizer]
	}
	if c.Optimizer == "sgd" {
		if c.Momentum == 0 {
			c.Momentum = 0.9
		}
		if c.LRDecayFactor == 0 {
			c.LRDecayFactor = 0.1
		}
	}
	if c.TaskWeights == nil {
		c.TaskWeights = make([]float64, numTasks)
		for i := range c.TaskWeights {
			c.TaskWeights[i] = 1
		}
	}
	if c.EvalEvery == 0 {
		c.EvalEvery = max(1, c.Steps/10)
	}
	if c.EvalExamples == 0 {
		c.EvalExamples = 1000
	}
	if c.KeepCheckpoints == 0 {
		c.KeepCheckpoints = 2
	}
	switch {
	case c.Steps < 0 || c.BatchSize < 0 || c.EvalEvery < 0 || c.EvalExamples < 0:
		return c, fmt.Errorf("training: config: steps %d, batch size %d, eval every %d, eval examples %d: want non-negative values",
			c.Steps, c.BatchSize, c.EvalEvery, c.EvalExamples)
	case c.Optimizer != "adam" && c.Optimizer != "sgd":
		return c, fmt.Errorf("training: config: optimizer %q: want \"adam\" or \"sgd\"", c.Optimizer)
	case len(c.TaskWeights) != numTasks:
		return c, fmt.Errorf("training: config: %d task weights for %d tasks", len(c.TaskWeights), numTasks)
	case c.LearningRate <= 0:
		return c, fmt.Errorf("training: config: learning rate %g: want > 0", c.LearningRate)
	}
	return c, nil
}

// Curve holds the learning curves: per-head scores on fixed train and test subsets at regular steps.
type Curve struct {
	Step  []int    `json:"step"`
	Train []Scores `json:"train"`
	Test  []Scores `json:"test"`
	// Selection holds Config.Select's score at each point, when set.
	Selection []float64 `json:"selection,omitempty"`
}

// Result of a training run.
type Result struct {
	Tasks     []string `json:"tasks"`
	Config    Config   `json:"config"`
	Curve     Curve    `json:"curve"`
	Final     Scores   `json:"final"`          // on the whole test set, with the last weights
	Best      *Best    `json:"best,omitempty"` // with Config.Select
	StartStep int      `json:"start_step"`     // > 0 when the run resumed from a checkpoint
	// Seconds is the wall time of the run, StepSeconds the median time of one training step.
	Seconds     float64 `json:"seconds"`
	StepSeconds float64 `json:"step_seconds"`
}

// MultiTaskLoss returns sum_m w_m mean_batch CE(logits_m, labels_m), the loss of 001 Eq. 3. nil weights
// mean w_m = 1 for every task.
func MultiTaskLoss(weights []float64, labels, logits []*Node) *Node {
	if weights == nil {
		weights = make([]float64, len(logits))
		for i := range weights {
			weights[i] = 1
		}
	}
	if len(labels) != len(logits) || len(weights) != len(logits) {
		panic(fmt.Sprintf("training: MultiTaskLoss: %d weights, %d labels, %d logits: want one of each per task",
			len(weights), len(labels), len(logits)))
	}
	var total *Node
	for t := range logits {
		l := MulScalar(ReduceAllMean(arch.CrossEntropy(logits[t], labels[t])), weights[t])
		if total == nil {
			total = l
		} else {
			total = Add(total, l)
		}
	}
	return total
}

// Step defines what one training step optimises: the model function the GoMLX trainer runs on a batch
// (inputs [images], one label tensor per task) and the loss it minimises. Natural training, gray-box
// PGD adversarial training, MP and FAT differ only in their Step.
type Step struct {
	Name    string        // "natural", ...
	ModelFn train.ModelFn // returns the logits the loss is computed on
	LossFn  train.LossFn
}

// NaturalStep trains on the clean batch with the multi-task loss of 001 Eq. 3 (weights w_m, task order).
func NaturalStep(net *arch.Net, weights []float64) Step {
	return Step{
		Name:    "natural",
		ModelFn: func(s *model.Scope, _ any, inputs []*Node) []*Node { return net.Logits(s, inputs[0]) },
		LossFn:  func(labels, logits []*Node) *Node { return MultiTaskLoss(weights, labels, logits) },
	}
}

// Natural trains net on trainDS with the multi-task loss (001 Eq. 3) over every task of tasks, whose
// order must match net.Tasks. The weights live in store: call it on a fresh store, or on a store
// restored from a checkpoint (Config.CheckpointDir does this for you) to continue.
func Natural(backend compute.Backend, store *model.Store, net *arch.Net, tasks task.Set, trainDS, testDS *datasets.Dataset, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults(len(net.Tasks))
	if err != nil {
		return nil, err
	}
	return Train(backend, store, net, tasks, trainDS, testDS, cfg, NaturalStep(net, cfg.TaskWeights))
}

// NewTrainer returns the GoMLX trainer for step with cfg's optimizer; a TrainStep call runs one step.
// It seeds the store's initialisers with cfg.Seed.
func NewTrainer(backend compute.Backend, store *model.Store, cfg Config, step Step) (*train.Trainer, error) {
	cfg, err := cfg.withDefaults(len(cfg.TaskWeights))
	if err != nil {
		return nil, err
	}
	store.SetParam(model.ParamInitialSeed, cfg.Seed)
	var opt optimizer.Interface
	switch cfg.Optimizer {
	case "adam":
		opt = optimizer.Adam().LearningRate(cfg.LearningRate).Done()
	case "sgd":
		opt = MomentumSGD{LearningRate: cfg.LearningRate, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay,
			DecayEvery: cfg.LRDecayEvery, DecayFactor: cfg.LRDecayFactor}
	}
	return train.NewTrainer(backend, store, step.ModelFn, step.LossFn, opt, nil, nil), nil
}

func checkTasks(net *arch.Net, tasks task.Set) error {
	names, sizes := tasks.Names(), tasks.Sizes()
	if len(names) != len(net.Tasks) {
		return fmt.Errorf("training: network %s has %d heads, task set has %d tasks %v", net, len(net.Tasks), len(names), names)
	}
	for i := range names {
		if names[i] != net.Tasks[i] || sizes[i] != net.Classes[i] {
			return fmt.Errorf("training: head %d of %s is %s:%d, task set has %s:%d", i, net, net.Tasks[i], net.Classes[i], names[i], sizes[i])
		}
	}
	return tasks.Validate()
}

// Train runs the training loop shared by every kind of training, with step deciding what each step
// trains on: seeded data order, learning curves, checkpoints, resume. cfg.TaskWeights must be set
// (one per task) or nil for all ones.
func Train(backend compute.Backend, store *model.Store, net *arch.Net, tasks task.Set, trainDS, testDS *datasets.Dataset,
	cfg Config, step Step) (*Result, error) {
	if err := checkTasks(net, tasks); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults(len(net.Tasks))
	if err != nil {
		return nil, err
	}
	ctx := cfg.Context
	if ctx == nil {
		ctx = context.Background()
	}
	identity := runIdentity(net, tasks, trainDS, testDS, step, cfg.Identity)
	start := time.Now()
	store.SetParam(model.ParamInitialSeed, cfg.Seed)
	var ckpt *Checkpointer
	var best *bestKeeper
	var prevBest *Best
	var curve Curve
	if cfg.CheckpointDir != "" {
		unlock, err := LockDir(cfg.CheckpointDir)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if curve, err = resume(store, cfg, identity); err != nil {
			return nil, err
		}
		if ckpt, err = NewCheckpointer(store, cfg.CheckpointDir, cfg.KeepCheckpoints); err != nil {
			return nil, err
		}
		if cfg.Select != nil {
			if best, prevBest, err = newBestKeeper(store, cfg.CheckpointDir); err != nil {
				return nil, err
			}
		}
	}
	trainer, err := NewTrainer(backend, store, cfg, step)
	if err != nil {
		return nil, err
	}
	loop := train.NewLoop(trainer)
	if !cfg.Quiet {
		commandline.AttachProgressBar(loop)
	}

	// A fresh Evaluator per measurement: with gomlx v0.28.16 on the pure-Go backend, a model.Exec compiled
	// before further training steps keeps returning the old weights' outputs (see
	// TestEvaluatorSeesUpdatedWeights). Compiling the small evaluation graph costs about a second.
	const evalBatch = 250
	evaluate := func(ds *datasets.Dataset) (Scores, error) {
		e, err := NewEvaluator(backend, store, net, tasks, evalBatch)
		if err != nil {
			return Scores{}, err
		}
		return e.Evaluate(ds)
	}
	trainProbe, err := trainDS.Head(min(cfg.EvalExamples, trainDS.N))
	if err != nil {
		return nil, err
	}
	testProbe, err := testDS.Head(min(cfg.EvalExamples, testDS.N))
	if err != nil {
		return nil, err
	}
	res := &Result{Tasks: net.Tasks, Config: cfg, Curve: curve, StartStep: int(optimizer.GetGlobalStep(store)), Best: prevBest}
	measure := func(step int) error {
		if len(res.Curve.Step) > 0 && res.Curve.Step[len(res.Curve.Step)-1] == step {
			return nil
		}
		tr, err := evaluate(trainProbe)
		if err != nil {
			return err
		}
		te, err := evaluate(testProbe)
		if err != nil {
			return err
		}
		res.Curve.Step = append(res.Curve.Step, step)
		res.Curve.Train = append(res.Curve.Train, tr)
		res.Curve.Test = append(res.Curve.Test, te)
		if ckpt != nil {
			if err := ckpt.Save(); err != nil {
				return fmt.Errorf("training: saving checkpoint in %s: %w", cfg.CheckpointDir, err)
			}
		}
		if cfg.Select != nil {
			score, err := cfg.Select.Score(store)
			if err != nil {
				return fmt.Errorf("training: checkpoint selection %q: %w", cfg.Select.Name, err)
			}
			res.Curve.Selection = append(res.Curve.Selection, score)
			ok := cfg.Select.eligible(res.Curve)
			last := step >= cfg.Steps && (res.Best == nil || res.Best.Fallback)
			if (ok && (res.Best == nil || res.Best.Fallback || score > res.Best.Score)) || (!ok && last) {
				res.Best = &Best{Name: cfg.Select.Name, Step: step, Score: score, Fallback: !ok}
				if best != nil {
					if err := best.save(*res.Best); err != nil {
						return err
					}
				}
			}
		}
		if ckpt != nil {
			return saveRunState(cfg.CheckpointDir, cfg, identity, res.Curve)
		}
		return nil
	}
	// Curve points at the global steps that are multiples of EvalEvery (so a run resumed from any step
	// measures where an uninterrupted one does), then the interrupt check.
	stepNow := res.StartStep
	loop.OnStep("curves and interrupts", 0, func(*train.Loop, []*tensors.Tensor) error {
		stepNow++
		if stepNow%cfg.EvalEvery == 0 {
			if err := measure(stepNow); err != nil {
				return err
			}
		}
		if afterStepForTest != nil {
			afterStepForTest(stepNow)
		}
		return ctx.Err()
	})

	data := &stream{ds: trainDS, tasks: tasks, batch: cfg.BatchSize, seed: cfg.Seed, store: store, augment: cfg.Augment}
	if res.StartStep < cfg.Steps {
		if _, err := loop.RunToGlobalStep(data, cfg.Steps); err != nil {
			if ctx.Err() != nil {
				return nil, interrupted(ctx, store, cfg, identity, ckpt, res.Curve)
			}
			return nil, fmt.Errorf("training: %s on %s: %w", net, data.Name(), err)
		}
		res.StepSeconds = loop.MedianTrainStepDuration().Seconds()
	}
	if err := measure(int(optimizer.GetGlobalStep(store))); err != nil {
		return nil, err
	}
	final, err := evaluate(testDS)
	if err != nil {
		return nil, err
	}
	res.Final = final
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// afterStepForTest, when set (by tests), is called after every training step with the global step.
var afterStepForTest func(step int)

// resume prepares cfg.CheckpointDir (locked by the caller) for the run: it checks run.json against the
// run's configuration and identity (checkRunState), writes it for a fresh directory, restores the
// newest intact checkpoint into store (setting aside, and reporting on stderr, the unreadable newer
// ones) and checks the seed stored in it. It returns the stored curve up to the restored step.
func resume(store *model.Store, cfg Config, identity map[string]string) (Curve, error) {
	dir := cfg.CheckpointDir
	st, err := checkRunState(dir, cfg, identity)
	if err != nil {
		return Curve{}, err
	}
	if st == nil {
		return Curve{}, saveRunState(dir, cfg, identity, Curve{})
	}
	r, err := RestoreLatest(store, dir)
	if err != nil || r.Name == "" {
		return Curve{}, err
	}
	ckptPath := filepath.Join(dir, r.Name)
	if seed, ok := store.GetParam(model.ParamInitialSeed); ok && fmt.Sprint(seed) != fmt.Sprint(cfg.Seed) {
		return Curve{}, fmt.Errorf("training: checkpoint %s: seed %v there, %d now; use another checkpoint directory, or remove this one to start afresh",
			ckptPath, seed, cfg.Seed)
	}
	if len(r.Skipped) > 0 {
		moved, err := setAside(r)
		if err != nil {
			return Curve{}, err
		}
		fmt.Fprintf(os.Stderr, "%s (the unreadable ones are set aside as %v)\n", r.Message(), moved)
	}
	return curveUpTo(filepath.Join(dir, runStateFile), st.Curve, int(optimizer.GetGlobalStep(store)))
}

// interrupted keeps a checkpoint of the store's current step after ctx ended the run, in the run's
// checkpoint directory (ckpt) or else in cfg.InterruptDir, and returns the *InterruptedError saying
// where. A failure to keep it is part of the returned error.
func interrupted(ctx context.Context, store *model.Store, cfg Config, identity map[string]string, ckpt *Checkpointer, curve Curve) error {
	step := int(optimizer.GetGlobalStep(store))
	ie := &InterruptedError{Step: step, Steps: cfg.Steps, Cause: context.Cause(ctx)}
	if ckpt == nil && cfg.InterruptDir != "" {
		unlock, err := LockDir(cfg.InterruptDir)
		if err != nil {
			return errors.Join(ie, err)
		}
		defer unlock()
		if err := clearRun(cfg.InterruptDir); err != nil {
			return errors.Join(ie, err)
		}
		if ckpt, err = NewCheckpointer(store, cfg.InterruptDir, 1); err != nil {
			return errors.Join(ie, err)
		}
		cfg.CheckpointDir, ie.Temporary = cfg.InterruptDir, true
	}
	if ckpt == nil {
		return ie
	}
	if n := len(curve.Step); n == 0 || curve.Step[n-1] != step || ie.Temporary { // a curve point's checkpoint is already saved
		if err := ckpt.Save(); err != nil {
			return errors.Join(ie, err)
		}
		if err := saveRunState(ckpt.Dir, cfg, identity, curve); err != nil {
			return errors.Join(ie, err)
		}
	}
	ie.Dir = ckpt.Dir
	return ie
}

// clearRun removes the run state and checkpoints of dir (an earlier interrupted run's), keeping its lock.
func clearRun(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("training: %w", err)
	}
	for _, e := range entries {
		if e.Name() == lockFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("training: clearing %s: %w", dir, err)
		}
	}
	return nil
}
