// Package transfer is the transferability experiment (004 §5 and its Appendix E.3, issue 17 item 2):
// adversarial examples crafted white-box on one model, a source, and evaluated on the others, the
// targets, for the main task and every auxiliary head, per attack direction (Single-x, Total,
// SignTotal, WGD, DGBA).
//
// The models are the spec's (default: the main task alone and main with every built-in auxiliary
// task, each trained naturally and with gray-box PGD-AT), loaded or trained by experiment.LoadOrTrain.
// Each source is attacked with the dataset's evaluation PGD (experiment.Budget.Threat) with each
// direction, white-box on every head it has; every model then classifies the adversarial images. The
// record holds, per direction, source and target head, the accuracy with its 95% Wilson interval, the
// per-image outcomes, the exact McNemar test against the target's clean outcomes on the same images,
// and, for the Single-x attacks, 004 §5's task transferability (metric.Transferability): the mean ARP
// of the tasks x was not, over the ARP of x. On the diagonal (source = target) the attack is white-box;
// off it, a transfer (black-box) attack.
//
// Records are of kind Kind, at <results>/transfer/<Spec.Name>.json, with a code fingerprint rooted at
// this package (FingerprintRoot): changing it makes its records stale, not those of package experiment.
// Tables (table.go) only render records and are left out of the fingerprint.
package transfer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// Kind is the Kind of transfer records.
const Kind = "transfer"

// FingerprintRoot is the package the code fingerprint of transfer records is rooted at (see
// experiment.CodeFingerprintAt): package experiment's dependencies and this package.
const FingerprintRoot = datasets.ModulePath + "/mtlrob/transfer"

// The attack directions a Spec can name (Spec.Directions).
const (
	// Single is Single(main), 004 §3.1's Single-x on the main task.
	Single = "single"
	// SingleAux is Single(x) for every auxiliary task x of a multi-task source (none on a main-only one).
	SingleAux = "single-aux"
	// Total is the gradient of the sum of the task losses.
	Total = "total"
	// SignTotal is the sum of the per-task gradient signs.
	SignTotal = "signtotal"
	// WGD is 003's weighted gradient direction, the paper's variant (attack.WGDPaper).
	WGD = "wgd"
	// DGBA is 004's dynamic gradient balancing direction.
	DGBA = "dgba"
)

// DirectionNames are the names Spec.Directions accepts, in the order runs are made.
var DirectionNames = []string{Single, SingleAux, Total, SignTotal, WGD, DGBA}

// Spec is a transfer experiment: the models (every one is a source and a target), the directions, and
// the images attacked.
type Spec struct {
	Dataset string            `json:"dataset"`
	Arch    string            `json:"arch"`
	Budget  experiment.Budget `json:"budget"`
	Seed    int64             `json:"seed"`
	// Models are the sources and targets, each of the spec's dataset, architecture, budget and seed.
	Models []experiment.ModelSpec `json:"models"`
	// Directions are names of DirectionNames.
	Directions []string `json:"directions"`
	// Examples is the number of test images attacked: the first Examples of the budget's test subset.
	// Zero means the budget's HeavyExamples (the expensive analyses' share of the attack set), or its
	// AttackExamples when that is smaller or HeavyExamples is unset.
	Examples int `json:"examples,omitempty"`
}

// DefaultSpec is the transfer experiment of a dataset, architecture, budget and seed: the main task
// alone and the main task with every built-in auxiliary task of the dataset (for Fashion-MNIST
// main+category+region), each trained naturally and with gray-box PGD-AT (natural models first), and
// every direction of DirectionNames. Call Validate on the result (the dataset and architecture are not
// checked here, beyond having built-in tasks).
func DefaultSpec(dataset, archName string, b experiment.Budget, seed int64) (Spec, error) {
	set, err := task.ForDataset(dataset)
	if err != nil {
		return Spec{}, fmt.Errorf("transfer: spec.Dataset %q: %w", dataset, err)
	}
	aux := make([]string, len(set.Aux))
	for i, m := range set.Aux {
		aux[i] = m.Name
	}
	combos := [][]string{{}}
	if len(aux) > 0 {
		combos = append(combos, aux)
	}
	s := Spec{Dataset: dataset, Arch: archName, Budget: b, Seed: seed, Directions: slices.Clone(DirectionNames)}
	for _, training := range []string{"natural", "pgd-at"} {
		for _, c := range combos {
			s.Models = append(s.Models, experiment.ModelSpec{Dataset: dataset, Arch: archName, Aux: slices.Clone(c),
				Training: training, Budget: b, Seed: seed})
		}
	}
	return s, nil
}

// Name identifies the experiment: "<dataset>_<arch>_<budget>_seed<k>", e.g.
// "fashion-mnist_smallcnn_standard_seed1" (the record's name and its figure's suffix).
func (s Spec) Name() string {
	return fmt.Sprintf("%s_%s_%s_seed%d", s.Dataset, s.Arch, s.Budget.Name, s.Seed)
}

// FigureName is the file name (without extension) of the experiment's figure:
// "transfer_<dataset>_<arch>_<budget>_seed<k>".
func (s Spec) FigureName() string { return Kind + "_" + s.Name() }

// Validate checks the spec; the error names the field (e.g. "spec.Models[2].Seed") and what it wants.
func (s Spec) Validate() error {
	fail := func(format string, args ...any) error { return fmt.Errorf("transfer: "+format, args...) }
	if _, err := attack.ThreatFor(s.Dataset); err != nil {
		return fail("spec.Dataset %q: %v", s.Dataset, err)
	}
	if _, err := task.ForDataset(s.Dataset); err != nil {
		return fail("spec.Dataset %q: %v", s.Dataset, err)
	}
	if s.Arch == "" {
		return fail("spec.Arch is empty: want one of %s", strings.Join(arch.Names(), ", "))
	}
	if _, err := arch.ByName(s.Arch, []string{task.MainName}, []int{10}, [3]int{28, 28, 1}); err != nil {
		return fail("spec.Arch %q: %v", s.Arch, err)
	}
	if s.Budget.Name == "" {
		return fail("spec.Budget has no name: want a preset of experiment.Budgets")
	}
	if s.Examples < 0 {
		return fail("spec.Examples %d: want >= 0 (0: the budget's HeavyExamples)", s.Examples)
	}
	if len(s.Models) < 2 {
		return fail("spec.Models has %d models: want at least 2 (a source and another target)", len(s.Models))
	}
	names := map[string]int{}
	for i, m := range s.Models {
		field := fmt.Sprintf("spec.Models[%d]", i)
		switch {
		case m.Dataset != s.Dataset:
			return fail("%s.Dataset %q: want the spec's %q (every model classifies the same images)", field, m.Dataset, s.Dataset)
		case m.Arch != s.Arch:
			return fail("%s.Arch %q: want the spec's %q", field, m.Arch, s.Arch)
		case m.Seed != s.Seed:
			return fail("%s.Seed %d: want the spec's %d", field, m.Seed, s.Seed)
		case !sameJSON(m.Budget, s.Budget):
			return fail("%s.Budget %q: want the spec's budget %q, field for field (the test subset depends on it)", field, m.Budget.Name, s.Budget.Name)
		case !slices.Contains(experiment.Trainings, m.Training):
			return fail("%s.Training %q: want one of %s", field, m.Training, strings.Join(experiment.Trainings, ", "))
		}
		if _, err := m.TaskSet(); err != nil {
			return fail("%s.Aux %q: %v", field, m.Aux, err)
		}
		label := Label(m)
		if j, ok := names[label]; ok {
			return fail("%s is spec.Models[%d] again (%s): want distinct models", field, j, label)
		}
		names[label] = i
	}
	if len(s.Directions) == 0 {
		return fail("spec.Directions is empty: want some of %s", strings.Join(DirectionNames, ", "))
	}
	for i, d := range s.Directions {
		if !slices.Contains(DirectionNames, d) {
			return fail("spec.Directions[%d] %q: want one of %s", i, d, strings.Join(DirectionNames, ", "))
		}
		if slices.Index(s.Directions, d) != i {
			return fail("spec.Directions[%d] %q is listed twice", i, d)
		}
	}
	return nil
}

// examples is the number of test images attacked out of a test subset of n (see Spec.Examples).
func (s Spec) examples(n int) int {
	k := s.Examples
	if k == 0 {
		b := s.Budget
		k = b.AttackExamples
		if b.HeavyExamples > 0 && (k == 0 || b.HeavyExamples < k) {
			k = b.HeavyExamples
		}
	}
	if k <= 0 || k > n {
		return n
	}
	return k
}

// Label names a model in the record, its tables and figure: its task combination and training,
// "main only, natural", "main+category+region, pgd-at".
func Label(m experiment.ModelSpec) string {
	return experiment.ComboLabel(append([]string{task.MainName}, m.Aux...)) + ", " + m.Training
}

// sameJSON reports whether a and b encode to the same JSON: equality of configurations as records
// store them (a nil and an empty list, which JSON tells apart, still differ).
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}
