package transfer

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
)

// Results is the Results part of a transfer record.
type Results struct {
	// N is the number of test images attacked (the first N of the budget's test subset).
	N int `json:"n"`
	// Threat is the dataset's threat model as the budget runs it (experiment.Budget.Threat).
	Threat attack.ThreatModel `json:"threat"`
	// Attack describes the base attack and how it is run (the direction is each run's).
	Attack string `json:"attack"`
	// Models are the models in the spec's order, each a source and a target, with their clean scores.
	Models []Model `json:"models"`
	// Runs are the attacks, source by source (in Models' order), directions in DirectionNames' order.
	Runs []Run `json:"runs"`
	// Notes say what a reader must know to read the runs (degenerate directions, skipped ones).
	Notes []string `json:"notes,omitempty"`
}

// Model is one model of the experiment and its clean scores on the N images.
type Model struct {
	Label string   `json:"label"` // Label of its spec, e.g. "main+category+region, pgd-at"
	Model string   `json:"model"` // experiment.ModelSpec.Name
	Net   string   `json:"net"`   // arch.Net.String()
	Tasks []string `json:"tasks"`
	Clean []Head   `json:"clean"` // per task, in Tasks' order
}

// Head is one head's score on a set of images.
type Head struct {
	Task string `json:"task"`
	// Accuracy is the head's accuracy with its 95% Wilson interval.
	Accuracy metric.Proportion `json:"accuracy"`
	// Correct is the per-image outcome (metric.EncodeOutcomes: '1' right), for paired tests.
	Correct string `json:"correct"`
}

// Run is one direction's attack on one source, evaluated on every target.
type Run struct {
	// Direction is "Single(<task>)", "Total", "SignTotal", "WGD(paper)" or "DGBA".
	Direction string `json:"direction"`
	// Attacked is the task Single-x attacks (empty for the multi-task directions).
	Attacked string `json:"attacked,omitempty"`
	Source   string `json:"source"` // the source model's Label
	// Attack is the attack's name (attack.PGD.Name: eps, step, steps, direction) and victim.
	Attack string `json:"attack"`
	// Degenerate, when set, says why the run's adversarial images are another direction's: on a
	// main-only source every multi-task direction attacks the main loss alone, as Single(main) does.
	Degenerate string `json:"degenerate,omitempty"`
	// MaxPerturbation is the largest |x' - x| over every pixel of the adversarial images (<= eps).
	MaxPerturbation float64  `json:"max_perturbation"`
	Targets         []Target `json:"targets"` // in Models' order
	Seconds         float64  `json:"seconds"`
}

// Target is how one target model classifies a run's adversarial images.
type Target struct {
	Target string `json:"target"` // the target model's Label
	// WhiteBox is set on the diagonal: the target is the source, the attack white-box.
	WhiteBox bool           `json:"white_box,omitempty"`
	Heads    []AttackedHead `json:"heads"` // per task of the target, in its order
	// Transferability is 004 §5's transferability of a Single-x run on this target (metric.
	// Transferability): the mean ARP of the target's other tasks over the ARP of x. Set for Single-x
	// runs on targets that have task x and another task, when every ARP is defined and ARP-x is not 0.
	Transferability *float64 `json:"transferability,omitempty"`
}

// AttackedHead is one target head's score on the adversarial images, against its clean score.
type AttackedHead struct {
	Head
	// ARP is the head's relative accuracy drop in percent (004 Eq. 10 for one accuracy metric:
	// (clean - adversarial)/clean x 100); absent when the clean accuracy is 0.
	ARP *float64 `json:"arp,omitempty"`
	// McNemar is the exact paired test of the head's clean outcomes (a) against its outcomes on the
	// adversarial images (b), on the same images: Diff = adversarial - clean accuracy, P its p-value.
	McNemar metric.McNemarResult `json:"mcnemar"`
}

// Member is a model of the experiment as Compute takes it: its label in the record and the trained
// model (its network, weights, tasks and test subset).
type Member struct {
	Label string
	Model *experiment.Model
}

// direction is one attack direction of a run on a source.
type direction struct {
	name     string // "Single(main)", "Total", ...
	attacked string // the task of Single-x
	dir      attack.Direction
	key      string // the spec's direction name
}

// directions expands the spec's direction names for a source with tasks (main first).
func directions(names []string, tasks []string) []direction {
	var out []direction
	for _, n := range DirectionNames {
		if !slices.Contains(names, n) {
			continue
		}
		switch n {
		case Single:
			out = append(out, direction{"Single(" + tasks[0] + ")", tasks[0], attack.Single(0), n})
		case SingleAux:
			for t := 1; t < len(tasks); t++ {
				out = append(out, direction{"Single(" + tasks[t] + ")", tasks[t], attack.Single(t), n})
			}
		case Total:
			out = append(out, direction{"Total", "", attack.Total{}, n})
		case SignTotal:
			out = append(out, direction{"SignTotal", "", attack.SignTotal{}, n})
		case WGD:
			d := attack.WGD{Variant: attack.WGDPaper}
			out = append(out, direction{d.Name(), "", d, n})
		case DGBA:
			out = append(out, direction{"DGBA", "", attack.DGBA{}, n})
		}
	}
	return out
}

// Attack is the base attack of the experiment for a spec: the dataset's evaluation PGD as the budget
// runs it (experiment.Budget.Threat: eps, step, steps, one random start), untargeted; each run sets its
// direction.
func Attack(spec Spec) (attack.PGD, attack.ThreatModel, error) {
	th, err := spec.Budget.Threat(spec.Dataset)
	if err != nil {
		return attack.PGD{}, th, fmt.Errorf("transfer: %w", err)
	}
	return th.PGD(), th, nil
}

// AttackSet returns the images the experiment attacks, the first spec's examples of m's test subset,
// and their labels for every task of m.
func AttackSet(spec Spec, m *experiment.Model) (*datasets.Dataset, [][]int32, error) {
	test, err := m.Test.Head(spec.examples(m.Test.N))
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: %w", err)
	}
	labels, err := m.Tasks.Labels(test.Labels)
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: %s: %w", m.Spec.Name(), err)
	}
	return test, labels, nil
}

// Craft attacks ds with atk white-box on every head of m (labels[t]: the labels of m's task t), in
// batches of 100 with a runner seeded with seed, and returns the adversarial images (ds's layout).
func Craft(env experiment.Env, m *experiment.Model, ds *datasets.Dataset, labels [][]int32, atk attack.Attack, seed int64) ([]float32, error) {
	runner, err := attack.NewRunner(env.Backend, m.Store, attack.WhiteBox(m.Net), atk)
	if err != nil {
		return nil, fmt.Errorf("transfer: %s: %w", m.Spec.Name(), err)
	}
	defer runner.Reset()
	runner.Seed = seed
	size := ds.ImageSize()
	adv := make([]float32, 0, len(ds.Images))
	for lo := 0; lo < ds.N; lo += batchSize {
		n := min(batchSize, ds.N-lo)
		x := tensors.FromFlatDataAndDimensions(slices.Clone(ds.Images[lo*size:(lo+n)*size]), n, ds.Height, ds.Width, ds.Channels)
		ls := make([]*tensors.Tensor, len(labels))
		for t, l := range labels {
			ls[t] = tensors.FromFlatDataAndDimensions(slices.Clone(l[lo:lo+n]), n)
		}
		out, err := runner.Run(x, ls)
		if err != nil {
			return nil, fmt.Errorf("transfer: %s: %w", m.Spec.Name(), err)
		}
		adv = append(adv, tensors.MustCopyFlatData[float32](out)...)
		out.FinalizeAll()
	}
	return adv, nil
}

// batchSize is the batch of attacks and predictions.
const batchSize = 100

// predict is the model's predictions for every task (in its order) on n images in the layout of its
// test subset (reject.Predict, in batches of batchSize).
func predict(env experiment.Env, m *experiment.Model, images []float32, n int) ([][]int32, error) {
	ds := m.Test
	p, err := reject.Predict(env.Backend, m.Store, m.Net, images, n, ds.Height, ds.Width, ds.Channels, batchSize)
	if err != nil {
		return nil, fmt.Errorf("transfer: %s: %w", m.Spec.Name(), err)
	}
	return p, nil
}

// MaxPerturbation is the largest |adv - clean| over every value, and an error when adv leaves the
// eps-ball around clean (by more than a float32 rounding) or [0, 1].
func MaxPerturbation(clean, adv []float32, eps float64) (float64, error) {
	if len(clean) != len(adv) {
		return 0, fmt.Errorf("transfer: %d adversarial values for %d clean ones", len(adv), len(clean))
	}
	const tol = 1e-6
	var worst float64
	for i, a := range adv {
		d := math.Abs(float64(a) - float64(clean[i]))
		if d > eps+tol || a < 0 || a > 1 || math.IsNaN(float64(a)) {
			return 0, fmt.Errorf("transfer: adversarial value %d is %g for the clean %g: want it within eps %g and in [0, 1]", i, a, clean[i], eps)
		}
		worst = max(worst, d)
	}
	return worst, nil
}

// scores are one model's per-task outcomes on one set of images.
type scores [][]bool

func outcomes(preds, labels [][]int32) (scores, error) {
	out := make(scores, len(preds))
	for t := range preds {
		ok, err := metric.Outcomes(preds[t], labels[t])
		if err != nil {
			return nil, fmt.Errorf("transfer: task %d: %w", t, err)
		}
		out[t] = ok
	}
	return out, nil
}

func heads(tasks []string, s scores) []Head {
	out := make([]Head, len(tasks))
	for t, name := range tasks {
		out[t] = Head{Task: name, Accuracy: metric.ProportionOf(s[t]), Correct: metric.EncodeOutcomes(s[t])}
	}
	return out
}

// attacked scores a target's heads on adversarial images against its clean outcomes.
func attacked(tasks []string, clean, adv scores) ([]AttackedHead, error) {
	out := make([]AttackedHead, len(tasks))
	for t, name := range tasks {
		mc, err := metric.McNemar(clean[t], adv[t])
		if err != nil {
			return nil, fmt.Errorf("transfer: task %s: %w", name, err)
		}
		h := AttackedHead{Head: Head{Task: name, Accuracy: metric.ProportionOf(adv[t]), Correct: metric.EncodeOutcomes(adv[t])}, McNemar: mc}
		before := metric.ProportionOf(clean[t]).Value
		if d, err := metric.RelativeDrop(metric.Measurement{Name: "accuracy", Before: before, After: h.Accuracy.Value, HigherIsBetter: true}); err == nil {
			h.ARP = &d
		}
		out[t] = h
	}
	return out, nil
}

// TaskTransferability is 004 §5's transferability of a Single-x attack on a target from its heads'
// ARPs (metric.Transferability with x's index): nil when the target lacks task x or another task, or
// when an ARP is undefined or ARP-x is 0.
func TaskTransferability(hs []AttackedHead, x string) *float64 {
	i := slices.IndexFunc(hs, func(h AttackedHead) bool { return h.Task == x })
	if x == "" || i < 0 || len(hs) < 2 {
		return nil
	}
	arps := make([]float64, len(hs))
	for t, h := range hs {
		if h.ARP == nil {
			return nil
		}
		arps[t] = *h.ARP
	}
	v, err := metric.Transferability(arps, i)
	if err != nil {
		return nil
	}
	return &v
}

// Compute runs the experiment on members, every one a source and a target (spec gives the attack, the
// directions, the images and the seed; its Models are not read: LoadOrRun loads them into members). The
// members must share the test subset (the same dataset, budget and seed) and have distinct labels.
func Compute(env experiment.Env, spec Spec, members []Member) (Results, error) {
	if len(members) == 0 {
		return Results{}, errors.New("transfer: Compute: no models")
	}
	seen := map[string]bool{}
	for i, mb := range members {
		if mb.Label == "" || seen[mb.Label] || mb.Model == nil {
			return Results{}, fmt.Errorf("transfer: Compute: member %d (%q): want a model with a distinct, non-empty label", i, mb.Label)
		}
		seen[mb.Label] = true
	}
	base, th, err := Attack(spec)
	if err != nil {
		return Results{}, err
	}
	test, _, err := AttackSet(spec, members[0].Model)
	if err != nil {
		return Results{}, err
	}
	n := test.N
	out := Results{N: n, Threat: th,
		Attack: fmt.Sprintf("PGD-Linf (eps %g, step %g, %d steps, one random start, CE loss, untargeted; the threat model of %s as the %s budget runs it) "+
			"with each direction, white-box on every head of the source (runner seed %d), on the first %d test images; "+
			"every model classifies the adversarial images (a transfer attack off the diagonal)", th.Eps, th.Alpha, th.Steps, spec.Dataset,
			spec.Budget.Name, spec.Seed, n)}

	labels := make([][][]int32, len(members))
	clean := make([]scores, len(members))
	for i, mb := range members {
		ds, l, err := AttackSet(spec, mb.Model)
		if err != nil {
			return Results{}, err
		}
		if ds.N != n || !slices.Equal(ds.Images, test.Images) || !slices.Equal(ds.Labels, test.Labels) {
			return Results{}, fmt.Errorf("transfer: %s: its %d test images are not %s's: want the same dataset, budget and seed",
				mb.Label, ds.N, members[0].Label)
		}
		labels[i] = l
		p, err := predict(env, mb.Model, test.Images, n)
		if err != nil {
			return Results{}, err
		}
		if clean[i], err = outcomes(p, l); err != nil {
			return Results{}, err
		}
		out.Models = append(out.Models, Model{Label: mb.Label, Model: mb.Model.Spec.Name(), Net: mb.Model.Net.String(),
			Tasks: slices.Clone(mb.Model.Net.Tasks), Clean: heads(mb.Model.Net.Tasks, clean[i])})
	}

	for si, src := range members {
		tasks := src.Model.Net.Tasks
		dirs := directions(spec.Directions, tasks)
		var single *Run // the run whose images a degenerate direction shares
		for _, d := range dirs {
			degenerate := len(tasks) == 1 && d.attacked == ""
			if degenerate && single != nil {
				r := *single
				r.Direction, r.Attacked, r.Seconds = d.name, "", 0
				r.Targets = slices.Clone(r.Targets)
				for i := range r.Targets {
					r.Targets[i].Transferability = nil // a measure of Single-x runs
				}
				r.Degenerate = fmt.Sprintf("the source has the main head only: %s attacks its main loss alone, as Single(%s) does; "+
					"the images are Single(%s)'s", d.name, tasks[0], tasks[0])
				out.Runs = append(out.Runs, r)
				continue
			}
			t0 := time.Now()
			atk := base
			atk.Direction = d.dir
			if degenerate {
				atk.Direction = attack.Single(0)
			}
			adv, err := Craft(env, src.Model, test, labels[si], atk, spec.Seed)
			if err != nil {
				return Results{}, err
			}
			worst, err := MaxPerturbation(test.Images, adv, th.Eps)
			if err != nil {
				return Results{}, fmt.Errorf("%w (%s on %s)", err, d.name, src.Label)
			}
			r := Run{Direction: d.name, Attacked: d.attacked, Source: src.Label, MaxPerturbation: worst,
				Attack: atk.Name() + ", " + attack.WhiteBox(src.Model.Net).String()}
			if degenerate {
				r.Degenerate = fmt.Sprintf("the source has the main head only: %s attacks its main loss alone, and is run as Single(%s)", d.name, tasks[0])
			}
			for ti, tgt := range members {
				p, err := predict(env, tgt.Model, adv, n)
				if err != nil {
					return Results{}, err
				}
				s, err := outcomes(p, labels[ti])
				if err != nil {
					return Results{}, err
				}
				hs, err := attacked(tgt.Model.Net.Tasks, clean[ti], s)
				if err != nil {
					return Results{}, fmt.Errorf("%w (%s on %s, target %s)", err, d.name, src.Label, tgt.Label)
				}
				r.Targets = append(r.Targets, Target{Target: tgt.Label, WhiteBox: si == ti, Heads: hs, Transferability: TaskTransferability(hs, d.attacked)})
			}
			r.Seconds = time.Since(t0).Seconds()
			out.Runs = append(out.Runs, r)
			if len(tasks) == 1 {
				single = &r
			}
		}
	}
	if slices.Contains(spec.Directions, SingleAux) && slices.ContainsFunc(members, func(mb Member) bool { return len(mb.Model.Net.Tasks) == 1 }) {
		out.Notes = append(out.Notes, "Single-x of the auxiliary tasks: a main-only source has none, so it has no such run.")
	}
	if slices.ContainsFunc(out.Runs, func(r Run) bool { return r.Degenerate != "" }) {
		out.Notes = append(out.Notes, "On a main-only source every multi-task direction (Total, SignTotal, WGD, DGBA) attacks the main loss "+
			"alone: its runs are Single(main)'s images (degenerate).")
	}
	out.Notes = append(out.Notes, "Transferability (004 §5) is set for Single-x runs on targets with task x and another task: "+
		"mean ARP of the other tasks / ARP of x; on the diagonal it is 004's within-model transferability.")
	return out, nil
}

// LoadOrRun returns the transfer record of spec: the one under env.ResultsDir (transfer/<Name>.json)
// when it was made with the same spec and its code fingerprint (rooted at this package) is current (or,
// under experiment.StaleEnv's "keep" policy, stale and marked so); else a new one, for which every model
// is loaded or trained (experiment.LoadOrTrain) and Compute runs, written there before it is returned. A
// record that exists but cannot be read is an error (never silently overwritten).
func LoadOrRun(env experiment.Env, spec Spec) (*experiment.Record, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	path := Path(env.ResultsDir, spec)
	switch rec, err := Read(path); {
	case err == nil:
		stored, _ := experiment.As[Spec](rec.Config)
		use, err := experiment.UseStored(rec, sameJSON(stored, spec), spec.Budget.Name, env.BackendLine)
		if err != nil {
			return nil, err
		}
		if use {
			return rec, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w (remove the file to recompute it)", err)
	}
	start := time.Now()
	members := make([]Member, len(spec.Models))
	for i, ms := range spec.Models {
		m, err := experiment.LoadOrTrain(env, ms)
		if err != nil {
			return nil, err
		}
		members[i] = Member{Label: Label(ms), Model: m}
	}
	res, err := Compute(env, spec, members)
	if err != nil {
		return nil, err
	}
	rec := &experiment.Record{Kind: Kind, Name: spec.Name(), Provenance: experiment.NewProvenanceAt(FingerprintRoot, spec.Seed, env.BackendLine),
		Config: spec, Results: res, Seconds: time.Since(start).Seconds()}
	return rec, experiment.WriteJSON(path, rec)
}

// Path is where the record of spec lives under resultsDir: resultsDir/transfer/<spec.Name>.json.
func Path(resultsDir string, spec Spec) string {
	return experiment.RecordPath(resultsDir, &experiment.Record{Kind: Kind, Name: spec.Name()})
}

// Read reads a transfer record, its Config a Spec and its Results a Results; unknown fields, a record
// that fails experiment.ValidateRecord and one of another kind are errors naming the file.
func Read(path string) (*experiment.Record, error) {
	return experiment.ReadRecord[Spec, Results](path, Kind)
}

// ReadAll reads every transfer record under resultsDir (resultsDir/transfer/*.json), sorted by file
// name, each marked stale when its code fingerprint is not current (experiment.MarkStale); none is no
// error.
func ReadAll(resultsDir string) ([]*experiment.Record, error) {
	paths, err := filepath.Glob(filepath.Join(resultsDir, Kind, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	sort.Strings(paths)
	var recs []*experiment.Record
	for _, p := range paths {
		rec, err := Read(p)
		if err != nil {
			return nil, err
		}
		experiment.MarkStale(rec)
		recs = append(recs, rec)
	}
	return recs, nil
}
