package experiment

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/task"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// Env is where experiments run and what they write: the backend, the results directory (records,
// committed) and the cache directory (checkpoints, never committed).
type Env struct {
	Backend     compute.Backend
	BackendLine string
	ResultsDir  string
	CacheDir    string
	Quiet       bool // no progress bars
	// Context, when set and done, ends a training in LoadOrTrain after its current step, with a checkpoint
	// of that step in the cache that the next LoadOrTrain of the same model resumes; the error is then a
	// *training.InterruptedError (errors.Is training.ErrInterrupted). RunGrid stops between cells too.
	Context context.Context
}

// CacheEnv names the environment variable for the checkpoint cache; default .cache at the repository root.
const CacheEnv = "MTLROB_CACHE_DIR"

// CacheDir returns $MTLROB_CACHE_DIR, else .cache beside figures/ at the repository root.
func CacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	fig, err := FiguresDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(fig), ".cache"), nil
}

// Trainings are the training methods a ModelSpec can name.
var Trainings = []string{"natural", "pgd-at", "mp-at", "fat-single", "fat-total", "fat-dgba"}

// ModelSpec names a trained model: dataset, architecture, task combination, training method, budget, seed.
type ModelSpec struct {
	Dataset  string   `json:"dataset"`
	Arch     string   `json:"arch"` // arch.ByName; "" = lenet
	Aux      []string `json:"aux"`  // auxiliary tasks beside the main task; empty = main only
	Training string   `json:"training"`
	Budget   Budget   `json:"budget"`
	Seed     int64    `json:"seed"`
	// Maps are self-defined tasks that are not built in (e.g. the candidates of the task search): a name
	// in Aux that is the Name of one of Maps is that map, any other name a built-in task of the dataset.
	// Empty for the built-in combinations, whose records therefore keep their JSON.
	Maps []task.Map `json:"maps,omitempty"`
}

// TaskSet returns the task set the spec trains: the dataset's main task and the auxiliary tasks of Aux,
// in order, taken from Maps or else from the dataset's built-in tasks.
func (s ModelSpec) TaskSet() (task.Set, error) {
	if len(s.Maps) == 0 {
		// Empty Aux (nil or not) is the main task alone, as Name says; Tasks reads nil as every task.
		return Tasks(s.Dataset, append([]string{}, s.Aux...))
	}
	builtin, err := task.ForDataset(s.Dataset)
	if err != nil {
		return task.Set{}, err
	}
	out := task.Set{Main: builtin.Main}
	for _, name := range s.Aux {
		i := slices.IndexFunc(s.Maps, func(m task.Map) bool { return m.Name == name })
		if i < 0 {
			sel, err := builtin.Select(name)
			if err != nil {
				return task.Set{}, err
			}
			out.Aux = append(out.Aux, sel.Aux...)
			continue
		}
		out.Aux = append(out.Aux, s.Maps[i])
	}
	if err := out.Validate(); err != nil {
		return task.Set{}, fmt.Errorf("experiment: %s: %w", s.Name(), err)
	}
	return out, nil
}

// Name identifies the model, e.g. "fashion-mnist_lenet_main+category_pgd-at_standard_seed1".
func (s ModelSpec) Name() string {
	a := s.Arch
	if a == "" {
		a = "lenet"
	}
	return fmt.Sprintf("%s_%s_%s_%s_%s_seed%d", s.Dataset, a, strings.Join(append([]string{task.MainName}, s.Aux...), "+"),
		s.Training, s.Budget.Name, s.Seed)
}

// ModelKind is the Kind of model records.
const ModelKind = "model"

// ModelResults is the Results part of a model record.
type ModelResults struct {
	Net          string          `json:"net"` // arch.Net.String(): layout and parameter count
	Tasks        []string        `json:"tasks"`
	TrainConfig  training.Config `json:"train_config"`
	TrainAttack  string          `json:"train_attack,omitempty"`
	Curve        training.Curve  `json:"curve"`
	Final        training.Scores `json:"final"`          // last weights, whole test subset
	Best         *training.Best  `json:"best,omitempty"` // the selected checkpoint (adversarial trainings)
	StepSeconds  float64         `json:"step_seconds"`
	TrainSeconds float64         `json:"train_seconds"`
	// Failed says why the run is a failed run (empty when it learned): see ChanceCheck.
	Failed string `json:"failed,omitempty"`
}

// ErrFailedRun is the error of a model whose training ended at chance accuracy: its record is written
// (with ModelResults.Failed) so that the failure is on file, but it is never evaluated or shown as a
// result.
var ErrFailedRun = errors.New("failed run: the model did not learn")

// ChanceCheck says why a model whose main task scored correct of n test images is a failed run, or ""
// when it learned: a run fails when its accuracy is not above chance, 1/classes, at the 99.9% level (the
// Wilson interval's lower end at that level is at or below chance; classes are balanced in every
// registered test split). A run at 10% on MNIST (loss 2.30 = ln 10) fails; any model that learned passes.
func ChanceCheck(correct, n, classes int) string {
	if n == 0 {
		return "no test images"
	}
	lo, _ := metric.Wilson(correct, n, 0.999)
	if chance := 1 / float64(classes); lo <= chance {
		return fmt.Sprintf("main-task test accuracy %d/%d = %.3f is not above chance (%.3f) at the 99.9%% level", correct, n,
			float64(correct)/float64(n), chance)
	}
	return ""
}

// Model is a trained model ready for evaluation.
type Model struct {
	Spec   ModelSpec
	Net    *arch.Net
	Tasks  task.Set
	Store  *model.Store
	Record *Record
	Test   *datasets.Dataset // the budget's test subset
}

// TrainAttack is the attack of adversarial training for a dataset: PGD-k (k = Budget.TrainPGDSteps, 7 by
// default as 001 uses for its 32x32 datasets) with Madry's step 2.5 eps / k and a random start.
func TrainAttack(dataset string, b Budget) (attack.PGD, error) {
	th, err := attack.ThreatFor(dataset)
	if err != nil {
		return attack.PGD{}, err
	}
	k := b.TrainPGDSteps
	return attack.PGD{Eps: th.Eps, Steps: k, Alpha: 2.5 * th.Eps / float64(k), LastIterate: true}, nil
}

// LoadOrTrain returns the model spec names: the weights from the checkpoint cache when its record and
// checkpoint exist, else a training run (resumable: an interrupted run continues from its last checkpoint),
// whose record it writes under ResultsDir/model/. Adversarially trained models are the best checkpoint by
// adversarial accuracy on a test probe (001 §IV-B); natural ones the last.
func LoadOrTrain(env Env, spec ModelSpec) (*Model, error) {
	set, err := spec.TaskSet()
	if err != nil {
		return nil, err
	}
	trainDS, testDS, err := Data(spec.Dataset, spec.Budget, spec.Seed)
	if err != nil {
		return nil, err
	}
	net, err := Net(spec.Arch, set, [3]int{trainDS.Height, trainDS.Width, trainDS.Channels})
	if err != nil {
		return nil, err
	}
	m := &Model{Spec: spec, Net: net, Tasks: set, Test: testDS}
	recPath := RecordPath(env.ResultsDir, &Record{Kind: ModelKind, Name: spec.Name()})
	ckptDir := filepath.Join(env.CacheDir, "models", spec.Name())
	finalDir := filepath.Join(ckptDir, "final")

	var stored ModelSpec
	var res ModelResults
	rec := &Record{Config: &stored, Results: &res}
	recompute := false // a record is on file but is not used: its cached checkpoints are of that run
	switch err := ReadJSON(recPath, rec); {
	case err == nil:
		recompute = true
		rec.Config, rec.Results = stored, res
		use, err := useStored(rec, reflect.DeepEqual(stored, spec), spec.Budget.Name, env.BackendLine)
		if err != nil {
			return nil, err
		}
		store := model.NewStore()
		if use && res.Failed != "" {
			return nil, fmt.Errorf("experiment: %s: %w: %s", spec.Name(), ErrFailedRun, res.Failed)
		}
		if ok, err := training.Restore(store, finalDir); use && err == nil && ok {
			m.Store, m.Record = store, rec
			return m, nil
		}
		// Stale under the recompute policy, or its weights are not cached here (a fresh clone): train.
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w (remove the file to recompute it)", err)
	}

	cfg := training.Config{Steps: spec.Budget.Steps, BatchSize: spec.Budget.BatchSize, Seed: spec.Seed,
		EvalEvery: spec.Budget.EvalEvery, EvalExamples: spec.Budget.EvalExamples, CheckpointDir: ckptDir, Quiet: env.Quiet,
		Context: env.Context}
	var step training.Step
	var trainAttack string
	switch spec.Training {
	case "natural":
		spec.Budget.optimise(&cfg, cfg.Steps)
		step = training.NaturalStep(net, nil)
	case "pgd-at", "mp-at", "fat-single", "fat-total", "fat-dgba":
		pgd, err := TrainAttack(spec.Dataset, spec.Budget)
		if err != nil {
			return nil, err
		}
		cfg.Steps, cfg.EvalEvery = spec.Budget.AdvSteps, spec.Budget.AdvEvalEvery
		firstDecay := spec.Budget.optimise(&cfg, cfg.Steps)
		probe, err := testDS.Head(min(spec.Budget.SelectExamples, testDS.N))
		if err != nil {
			return nil, err
		}
		gray := attack.GrayBox(net)
		cfg.Select = &training.Selection{
			Name: fmt.Sprintf("%s main-task accuracy on %d test examples", pgd.Name(), probe.N),
			From: firstDecay, MaxTestLossRise: spec.Budget.MaxTestLossRise,
			Score: func(store *model.Store) (float64, error) {
				s, err := training.EvaluateAdversarial(env.Backend, store, net, set, probe, pgd, gray, 100, spec.Seed)
				return s.Accuracy[0], err
			},
		}
		switch spec.Training {
		case "pgd-at":
			step = training.AdversarialStep("pgd-at", net, pgd, gray, nil)
			trainAttack = pgd.Name() + " gray-box (001 Eq. 6-7)"
		case "mp-at":
			mp := attack.MP{Base: pgd}
			step = training.MPStep(net, mp)
			trainAttack = mp.Name()
		default:
			// Friendly adversarial training (004 §4.3, Zhang et al. 2020): the early-stopped PGD with the
			// budget's eps, step and steps, and tau 2, the final tau of FAT.py's schedule (held fixed here).
			// fat-single attacks the main head through the gray-box view; fat-total and fat-dgba attack
			// every head, white-box. The checkpoint is selected as for pgd-at.
			fat := attack.FAT{Eps: pgd.Eps, Alpha: pgd.Alpha, Steps: pgd.Steps, Tau: 2, Direction: attack.Single(0)}
			victim, view := gray, "gray-box"
			if spec.Training != "fat-single" {
				victim, view = attack.WhiteBox(net), "white-box"
				fat.Direction = attack.Total{}
				if spec.Training == "fat-dgba" {
					fat.Direction = attack.DGBA{}
				}
			}
			step = training.AdversarialStep(spec.Training, net, fat, victim, nil)
			trainAttack = fat.Name() + " " + view + " (FAT, 004 §4.3)"
		}
	default:
		return nil, fmt.Errorf("experiment: unknown training %q: want one of %v", spec.Training, Trainings)
	}
	cfg.Identity = map[string]string{"model": spec.Name(), "budget": spec.Budget.Name, "train attack": trainAttack}
	if fp, err := CodeFingerprint(env.BackendLine); err == nil {
		// An interrupted run continues only under the code that started it.
		cfg.Identity["code"] = fp.Code
	}
	// The checkpoint directory is the cache's: checkpoints of a run this one does not continue (the
	// stored record's, when it is recomputed; another code's or configuration's) are removed, never
	// resumed, so that a recomputed record is computed afresh.
	if _, err := os.Stat(ckptDir); recompute && err == nil {
		if err := clearCheckpoints(env, ckptDir, "its record is recomputed"); err != nil {
			return nil, err
		}
	}
	store := model.NewStore()
	out, err := training.Train(env.Backend, store, net, set, trainDS, testDS, cfg, step)
	if errors.Is(err, training.ErrForeignCheckpoints) {
		if err := clearCheckpoints(env, ckptDir, err.Error()); err != nil {
			return nil, err
		}
		store = model.NewStore()
		out, err = training.Train(env.Backend, store, net, set, trainDS, testDS, cfg, step)
	}
	if err != nil {
		return nil, err
	}
	if out.Best != nil { // evaluate the selected checkpoint, as 001 does
		store = model.NewStore()
		if ok, err := training.Restore(store, filepath.Join(ckptDir, "best")); err != nil || !ok {
			return nil, fmt.Errorf("experiment: %s: restoring the best checkpoint: %v", spec.Name(), err)
		}
	}
	if err := saveFinal(store, finalDir); err != nil {
		return nil, err
	}
	out.Config.CheckpointDir = RelativePaths(out.Config.CheckpointDir) // no machine paths in committed records
	rec = &Record{Kind: ModelKind, Name: spec.Name(), Provenance: NewProvenance(spec.Seed, env.BackendLine), Config: spec,
		Results: ModelResults{Net: net.String(), Tasks: out.Tasks, TrainConfig: out.Config, TrainAttack: trainAttack,
			Curve: out.Curve, Final: out.Final, Best: out.Best, StepSeconds: out.StepSeconds, TrainSeconds: out.Seconds},
		Seconds: out.Seconds}
	res = rec.Results.(ModelResults)
	if len(out.Final.Accuracy) > 0 {
		res.Failed = ChanceCheck(int(out.Final.Accuracy[0]*float64(out.Final.N)+0.5), out.Final.N, len(set.Main.ClassNames))
		rec.Results = res
	}
	if err := WriteJSON(recPath, rec); err != nil {
		return nil, err
	}
	if res.Failed != "" {
		return nil, fmt.Errorf("experiment: %s: %w: %s", spec.Name(), ErrFailedRun, res.Failed)
	}
	m.Store, m.Record = store, rec
	return m, nil
}

// clearCheckpoints empties the cached checkpoint directory dir of a model, saying why unless env.Quiet.
// It holds dir's lock while it does (training.LockDir), so a run training there now is never cut
// short: its lock makes this fail, naming it.
func clearCheckpoints(env Env, dir, why string) error {
	unlock, err := training.LockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if !env.Quiet {
		fmt.Fprintf(os.Stderr, "experiment: removing the cached checkpoints in %s (%s): training afresh\n", dir, why)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("experiment: clearing cached checkpoints: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "lock" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("experiment: clearing cached checkpoints: %w", err)
		}
	}
	return nil
}

// saveFinal writes the evaluated weights as the single checkpoint of dir.
func saveFinal(store *model.Store, dir string) error {
	c, err := training.NewCheckpointer(store, dir, 1)
	if err != nil {
		return err
	}
	return c.Save()
}
