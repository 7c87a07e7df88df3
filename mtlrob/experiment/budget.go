package experiment

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// Budget is a compute preset: how much data, how many steps and how strong the attacks of every
// experiment are. quick is what CI runs (minutes on 2 cores); standard is what the committed
// figures come from; paper approaches the papers' settings and needs a GPU or days of CPU.
type Budget struct {
	Name string `json:"name"`
	// TrainExamples and TestExamples are class-balanced subsets of the dataset (0 = all of it).
	TrainExamples int `json:"train_examples"`
	TestExamples  int `json:"test_examples"`
	// Steps and BatchSize of natural training; EvalEvery steps between two learning-curve points,
	// measured on EvalExamples training and test examples.
	Steps        int `json:"steps"`
	BatchSize    int `json:"batch_size"`
	EvalEvery    int `json:"eval_every"`
	EvalExamples int `json:"eval_examples"`
	// Adversarial training: AdvSteps optimizer steps with a PGD-TrainPGDSteps attack, curve points (and
	// checkpoint selection by PGD accuracy on SelectExamples test examples) every AdvEvalEvery steps.
	AdvSteps       int `json:"adv_steps"`
	AdvEvalEvery   int `json:"adv_eval_every"`
	TrainPGDSteps  int `json:"train_pgd_steps"`
	SelectExamples int `json:"select_examples"`
	// Evaluation: the first AttackExamples examples of the test subset (0 = all of it), PGD-EvalPGDSteps,
	// CW-L2 with CWSearchSteps binary-search steps of CWIterations Adam iterations. A step count is a cap
	// on the dataset's threat model's own (attack.ThreatFor: 001's PGD-40 for MNIST, PGD-7 for the 32x32
	// sets, PGD-20 for Fashion-MNIST; CW's 5 search steps of 10000 iterations), and zero means no cap:
	// the threat model's count (see Threat).
	AttackExamples int `json:"attack_examples"`
	EvalPGDSteps   int `json:"eval_pgd_steps"`
	CWSearchSteps  int `json:"cw_search_steps"`
	CWIterations   int `json:"cw_iterations"`
	// The worst-case condition of robustness records (in the spirit of AutoAttack): the evaluation PGD
	// with EvalRestarts random restarts (0 = 1), APGD-CE and targeted APGD-DLR with APGDSteps steps each
	// (0 = the evaluation PGD's step count).
	EvalRestarts int `json:"eval_restarts,omitempty"`
	APGDSteps    int `json:"apgd_steps,omitempty"`
	// DirectionSteps is the number of I-FGSM steps of the attack-direction comparison (004).
	DirectionSteps int `json:"direction_steps"`
	// HeavyExamples caps the images of the expensive analyses: CW-L2 and the worst case of a robustness
	// record, the direction comparison and the vulnerability analysis run on the first HeavyExamples of
	// the attack set (0 = all of it). Clean, PGD, targeted PGD and the adaptive attack always run on the
	// whole attack set.
	HeavyExamples int `json:"heavy_examples,omitempty"`
	// The optimiser of natural and adversarial training: "" or "adam" is Adam at its default learning
	// rate (training.Config); "sgd" is SGD with Momentum and WeightDecay at LearningRate, multiplied by
	// 0.1 after every LRDecayAt of the run's steps (001 §IV-A: SGD, lr 0.1, x0.1 every 50 epochs).
	Optimizer    string  `json:"optimizer,omitempty"`
	LearningRate float64 `json:"learning_rate,omitempty"`
	Momentum     float64 `json:"momentum,omitempty"`
	WeightDecay  float64 `json:"weight_decay,omitempty"`
	LRDecayAt    float64 `json:"lr_decay_at,omitempty"`
	// MaxTestLossRise is the checkpoint-selection condition of adversarial training (training.Selection,
	// 001 §IV-B): the selected point has the best PGD accuracy among those from the first learning-rate
	// decay on whose main test loss is at most 1 + MaxTestLossRise times the lowest so far (0: no condition).
	MaxTestLossRise float64 `json:"max_test_loss_rise,omitempty"`
}

// optimise sets cfg's optimiser from the budget for a run of steps steps, and returns the step of the
// first learning-rate decay (0 when there is none).
func (b Budget) optimise(cfg *training.Config, steps int) int {
	if b.Optimizer == "" {
		return 0
	}
	cfg.Optimizer, cfg.LearningRate, cfg.Momentum, cfg.WeightDecay = b.Optimizer, b.LearningRate, b.Momentum, b.WeightDecay
	if b.LRDecayAt > 0 {
		cfg.LRDecayEvery, cfg.LRDecayFactor = max(1, int(b.LRDecayAt*float64(steps)+0.5)), 0.1
	}
	return cfg.LRDecayEvery
}

// Budgets are the presets by name.
var Budgets = map[string]Budget{
	"quick": {Name: "quick", TrainExamples: 10000, TestExamples: 2000, Steps: 200, BatchSize: 64, EvalEvery: 50, EvalExamples: 500,
		AdvSteps: 60, AdvEvalEvery: 30, TrainPGDSteps: 3, SelectExamples: 100,
		AttackExamples: 200, EvalPGDSteps: 10, CWSearchSteps: 2, CWIterations: 20, DirectionSteps: 5,
		EvalRestarts: 2, APGDSteps: 10},
	// standard trains to convergence at CPU scale (about 5 epochs natural and 6 epochs of PGD-7
	// adversarial training of Fashion-MNIST at batch 128) with 001's optimiser, SGD with momentum 0.9,
	// its schedule scaled from 200-300 epochs with decays every 50 to decays after 40% and 80% of the
	// steps; lr 0.05 (001's 0.1 halved for batch 128 without batch normalisation), weight decay 5e-4.
	// It evaluates on the whole test set; CW and the worst case on its first 1000 images.
	"standard": {Name: "standard", TrainExamples: 0, TestExamples: 0, Steps: 2400, BatchSize: 128, EvalEvery: 300, EvalExamples: 1000,
		AdvSteps: 2800, AdvEvalEvery: 350, TrainPGDSteps: 7, SelectExamples: 500,
		AttackExamples: 0, EvalPGDSteps: 0, CWSearchSteps: 0, CWIterations: 50, DirectionSteps: 10,
		EvalRestarts: 3, APGDSteps: 100, HeavyExamples: 1000,
		Optimizer: "sgd", LearningRate: 0.05, Momentum: 0.9, WeightDecay: 5e-4, LRDecayAt: 0.4, MaxTestLossRise: 0.1},
	"paper": {Name: "paper", TrainExamples: 0, TestExamples: 0, Steps: 60000, BatchSize: 50, EvalEvery: 2000, EvalExamples: 2000,
		AdvSteps: 60000, AdvEvalEvery: 2000, TrainPGDSteps: 40, SelectExamples: 1000,
		AttackExamples: 0, EvalPGDSteps: 0, CWSearchSteps: 0, CWIterations: 1000, DirectionSteps: 10,
		EvalRestarts: 5, APGDSteps: 100},
}

// Threat returns the dataset's threat model (attack.ThreatFor) as the budget evaluates it: the
// budget's EvalPGDSteps, CWSearchSteps and CWIterations cap the threat model's step counts, and a
// zero one leaves it as it is. So standard and paper run 001's PGD (MNIST PGD-40, the 32x32 sets
// PGD-7; Fashion-MNIST PGD-20); quick runs PGD-10 on MNIST and Fashion-MNIST and 001's PGD-7 on the
// 32x32 sets; standard caps CW at 50 iterations per search step, paper at 1000, quick at 2 search
// steps of 20. Eps and the step size are never changed.
func (b Budget) Threat(dataset string) (attack.ThreatModel, error) {
	th, err := attack.ThreatFor(dataset)
	if err != nil {
		return th, err
	}
	limit := func(v *int, budget int) {
		if budget > 0 {
			*v = min(*v, budget)
		}
	}
	limit(&th.Steps, b.EvalPGDSteps)
	limit(&th.CWSearchSteps, b.CWSearchSteps)
	limit(&th.CWIterations, b.CWIterations)
	return th, nil
}

// heavyExamples is the number of test examples of the expensive analyses (CW and the worst case of
// robustness records, the direction comparison and the vulnerability analysis): HeavyExamples when it
// is set and below AttackExamples, else AttackExamples (0 = the whole test subset).
func (b Budget) heavyExamples() int {
	if b.HeavyExamples > 0 && (b.AttackExamples == 0 || b.HeavyExamples < b.AttackExamples) {
		return b.HeavyExamples
	}
	return b.AttackExamples
}

// attackExamples is the number of test examples the attacks of a record run on, out of a test
// subset of n: AttackExamples, or all n when it is 0 (or larger than n).
func (b Budget) attackExamples(n int) int {
	if b.AttackExamples <= 0 {
		return n
	}
	return min(b.AttackExamples, n)
}

// BudgetEnv is the environment variable that names the budget when none is given.
const BudgetEnv = "MTLROB_BUDGET"

// BudgetByName returns the named preset; an empty name means $MTLROB_BUDGET, else "standard".
func BudgetByName(name string) (Budget, error) {
	if name == "" {
		name = os.Getenv(BudgetEnv)
	}
	if name == "" {
		name = "standard"
	}
	b, ok := Budgets[name]
	if !ok {
		names := make([]string, 0, len(Budgets))
		for n := range Budgets {
			names = append(names, n)
		}
		sort.Strings(names)
		return Budget{}, fmt.Errorf("experiment: unknown budget %q: want one of %s", name, strings.Join(names, ", "))
	}
	return b, nil
}
