package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/task"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// NaturalSpec names a natural multi-task training run.
type NaturalSpec struct {
	Dataset string   `json:"dataset"` // registry name, e.g. "fashion-mnist"
	Aux     []string `json:"aux"`     // auxiliary tasks trained beside the main task, in order; nil = every built-in one
	Arch    string   `json:"arch"`    // "lenet" (default)
	Budget  Budget   `json:"budget"`
	Seed    int64    `json:"seed"`
	// CheckpointDir, when set, makes the run resumable (see training.Config.CheckpointDir).
	CheckpointDir string `json:"-"`
	// Quiet turns the progress bar off.
	Quiet bool `json:"-"`
}

// Name identifies the run, e.g. "natural_fashion-mnist_lenet_main+category+region_quick_seed1".
func (s NaturalSpec) Name(tasks task.Set) string {
	return fmt.Sprintf("natural_%s_%s_%s_%s_seed%d", s.Dataset, s.arch(), strings.Join(tasks.Names(), "+"), s.Budget.Name, s.Seed)
}

func (s NaturalSpec) arch() string {
	if s.Arch == "" {
		return "lenet"
	}
	return s.Arch
}

// NaturalResults is the Results part of a natural-training record.
type NaturalResults struct {
	Tasks       []string        `json:"tasks"`
	Final       training.Scores `json:"final"`
	Curve       training.Curve  `json:"curve"`
	StartStep   int             `json:"start_step"`
	StepSeconds float64         `json:"step_seconds"`
	TrainConfig training.Config `json:"train_config"`
}

// Data loads the train and test splits of a dataset, reduced to the budget's class-balanced subsets.
func Data(name string, b Budget, seed int64) (trainDS, testDS *datasets.Dataset, err error) {
	load := func(split string, n int) (*datasets.Dataset, error) {
		ds, err := datasets.Load(name, split)
		if err != nil {
			return nil, err
		}
		if n == 0 || n >= ds.N {
			return ds, nil
		}
		return ds.Stratified(n/len(ds.ClassNames), seed)
	}
	if trainDS, err = load("train", b.TrainExamples); err != nil {
		return nil, nil, err
	}
	if testDS, err = load("test", b.TestExamples); err != nil {
		return nil, nil, err
	}
	return trainDS, testDS, nil
}

// Tasks returns the built-in task set of a dataset restricted to the named auxiliary tasks (all when nil).
func Tasks(dataset string, aux []string) (task.Set, error) {
	set, err := task.ForDataset(dataset)
	if err != nil {
		return task.Set{}, err
	}
	if aux == nil {
		return set, nil
	}
	return set.Select(aux...)
}

// Net builds the named architecture (arch.ByName; "" means lenet) with one head per task of set, for
// inputs of the given shape (height, width, channels).
func Net(name string, set task.Set, input [3]int) (*arch.Net, error) {
	if name == "" {
		name = "lenet"
	}
	return arch.ByName(name, set.Names(), set.Sizes(), input)
}

// RunNatural trains a model naturally as spec says and returns its record and the trained weights.
func RunNatural(backend compute.Backend, backendLine string, spec NaturalSpec) (*Record, *model.Store, error) {
	return RunNaturalContext(context.Background(), backend, backendLine, spec)
}

// InterruptDir is where a run without a checkpoint directory keeps the checkpoint of its interruption:
// <cache>/interrupted/<name>; "" when the cache directory is unknown.
func InterruptDir(name string) string {
	cache, err := CacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "interrupted", name)
}

// RunNaturalContext is RunNatural ended early when ctx is done (see training.Config.Context): the error
// is then a *training.InterruptedError naming the checkpoint to resume from, spec.CheckpointDir or,
// without one, InterruptDir(spec.Name(...)).
func RunNaturalContext(ctx context.Context, backend compute.Backend, backendLine string, spec NaturalSpec) (*Record, *model.Store, error) {
	set, err := Tasks(spec.Dataset, spec.Aux)
	if err != nil {
		return nil, nil, err
	}
	trainDS, testDS, err := Data(spec.Dataset, spec.Budget, spec.Seed)
	if err != nil {
		return nil, nil, err
	}
	net, err := Net(spec.Arch, set, [3]int{trainDS.Height, trainDS.Width, trainDS.Channels})
	if err != nil {
		return nil, nil, err
	}
	cfg := training.Config{
		Steps: spec.Budget.Steps, BatchSize: spec.Budget.BatchSize, Seed: spec.Seed,
		EvalEvery: spec.Budget.EvalEvery, EvalExamples: spec.Budget.EvalExamples,
		CheckpointDir: spec.CheckpointDir, Quiet: spec.Quiet, Context: ctx,
		Identity: map[string]string{"experiment": spec.Name(set), "budget": spec.Budget.Name},
	}
	if spec.CheckpointDir == "" {
		cfg.InterruptDir = InterruptDir(spec.Name(set))
	}
	spec.Budget.optimise(&cfg, cfg.Steps)
	store := model.NewStore()
	res, err := training.Natural(backend, store, net, set, trainDS, testDS, cfg)
	if err != nil {
		return nil, nil, err
	}
	rec := &Record{
		Kind: "natural-training", Name: spec.Name(set),
		Provenance: NewProvenance(spec.Seed, backendLine),
		Config:     spec,
		Results: NaturalResults{Tasks: res.Tasks, Final: res.Final, Curve: res.Curve, StartStep: res.StartStep,
			StepSeconds: res.StepSeconds, TrainConfig: res.Config},
		Seconds: res.Seconds,
	}
	return rec, store, nil
}

// RecordPath is where a record of the given kind and name lives under a results directory.
func RecordPath(resultsDir string, r *Record) string {
	return filepath.Join(resultsDir, r.Kind, r.Name+".json")
}
