package experiment

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
	"github.com/mtlrob/mtlrob/mtlrob/task"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// TaskSearchKind is the Kind of task-search records.
const TaskSearchKind = "task-search"

// Candidate families of the task search.
const (
	FamilyBuiltin  = "hand-made"          // a built-in task of 001 Table 1 (task.ForDataset): the baselines
	FamilyRandom   = "random"             // task.Random: a uniformly random surjective map
	FamilyGroup    = "confusion-group"    // task.GroupConfusable
	FamilySeparate = "confusion-separate" // task.SeparateConfusable
)

// SearchSize is how big a task search is: the sizes that sit beside a Budget (kept out of Budget so that
// the model records' budgets keep their JSON).
type SearchSize struct {
	// Candidates is the number N of candidate maps, cycled over the families random, confusion-group and
	// confusion-separate and over the group counts Ks (random maps get a new seed each time; a repeated
	// deterministic map is skipped).
	Candidates int   `json:"candidates"`
	Ks         []int `json:"ks"`
	// ShortSteps is the number of natural training steps of the short runs: the single-task run whose
	// confusion matrix feeds the data-driven generators (twice as long), and each candidate's multi-task
	// run on which the proxies are measured.
	ShortSteps int `json:"short_steps"`
	// ProbeExamples test examples (the ones after the budget's AttackExamples, so the proxies never see
	// the examples robust accuracy is measured on, when the test subset is large enough) measure the
	// proxies; the confusion matrix is measured on the first ConfusionExamples training examples.
	ProbeExamples     int `json:"probe_examples"`
	ConfusionExamples int `json:"confusion_examples"`
	// Top candidates by the primary proxy, plus Spread more spaced evenly along its ranking (for the
	// correlations), are trained with PGD-AT on the budget and their robust accuracy measured.
	Top    int `json:"top"`
	Spread int `json:"spread"`
}

// SearchSizes are the search sizes per budget name. Each trained candidate is one PGD-AT training of the
// budget. quick: 10 candidates with proxies, 8 of them plus the hand-made tasks and the main task alone
// trained; measured 26-27 minutes per dataset from nothing on 2 shared, heavily loaded cores (proxies
// about 50 s a candidate, a quick PGD-AT 1.5-2 minutes), about 6 minutes when the models are cached.
// standard: 12 candidates, 8 trained; estimated (not run) at 80-90 minutes per dataset on 2 cores from
// the standard PGD-AT records. paper: 24 candidates, 16 trained; a GPU.
var SearchSizes = map[string]SearchSize{
	"quick":    {Candidates: 10, Ks: []int{2, 3, 4, 5}, ShortSteps: 60, ProbeExamples: 200, ConfusionExamples: 2000, Top: 3, Spread: 5},
	"standard": {Candidates: 12, Ks: []int{2, 3, 4, 5}, ShortSteps: 200, ProbeExamples: 500, ConfusionExamples: 5000, Top: 3, Spread: 5},
	"paper":    {Candidates: 24, Ks: []int{2, 3, 4, 5, 6}, ShortSteps: 1000, ProbeExamples: 1000, ConfusionExamples: 10000, Top: 4, Spread: 12},
}

// SearchBudgetEnv names the environment variable that chooses the task search's budget. The search
// trains about ten candidates with PGD-AT per dataset, so it has a budget of its own, "quick" unless
// the variable says otherwise, whatever MTLROB_BUDGET chooses for the other experiments: a standard
// search is estimated at 80-90 minutes per dataset on 2 cores (see SearchSizes).
const SearchBudgetEnv = "MTLROB_SEARCH_BUDGET"

// SearchBudget returns the budget SearchBudgetEnv names, "quick" when it is unset.
func SearchBudget() (Budget, error) {
	name := os.Getenv(SearchBudgetEnv)
	if name == "" {
		name = "quick"
	}
	b, err := BudgetByName(name)
	if err != nil {
		return b, fmt.Errorf("%s: %w", SearchBudgetEnv, err)
	}
	return b, nil
}

// SearchSpec names a task search: dataset, architecture, budget (the PGD-AT of the trained candidates and
// the robustness evaluation are the budget's, as for the hand-made tasks' records), seed and sizes.
type SearchSpec struct {
	Dataset string     `json:"dataset"`
	Arch    string     `json:"arch"` // "" = lenet
	Budget  Budget     `json:"budget"`
	Seed    int64      `json:"seed"`
	Size    SearchSize `json:"size"`
	// PrimaryProxy ranks the candidates for training (one of metric.Proxies); "" = relative vulnerability.
	PrimaryProxy string `json:"primary_proxy"`
}

// NewSearchSpec returns the search of a dataset on a budget with the budget's SearchSizes and the default
// primary proxy (relative vulnerability, lower is better).
func NewSearchSpec(dataset string, b Budget, seed int64) (SearchSpec, error) {
	size, ok := SearchSizes[b.Name]
	if !ok {
		return SearchSpec{}, fmt.Errorf("experiment: task search: no SearchSizes for budget %q", b.Name)
	}
	return SearchSpec{Dataset: dataset, Arch: "lenet", Budget: b, Seed: seed, Size: size, PrimaryProxy: metric.ProxyVulnerability}, nil
}

// Name identifies the search, e.g. "fashion-mnist_lenet_quick_seed1".
func (s SearchSpec) Name() string {
	a := s.Arch
	if a == "" {
		a = "lenet"
	}
	return fmt.Sprintf("%s_%s_%s_seed%d", s.Dataset, a, s.Budget.Name, s.Seed)
}

// HigherIsBetter reports whether a larger value of the named proxy should mean a more robust task.
func HigherIsBetter(proxy string) bool { return proxy != metric.ProxyVulnerability }

// SearchCandidate is one candidate auxiliary task of a search: its map, its proxies after the short run,
// and, when it was trained, its PGD-AT model's main-task accuracy clean and under the evaluation PGD.
type SearchCandidate struct {
	Map    task.Map `json:"map"`
	Family string   `json:"family"`
	// SameAs names the earlier candidate with the same partition (a hand-made task the generators found
	// again); such a candidate is reported but left out of the correlations, so no task counts twice.
	SameAs       string             `json:"same_as,omitempty"`
	Proxies      map[string]float64 `json:"proxies"` // by metric.Proxies name; a proxy that was undefined is absent
	ProxySeconds float64            `json:"proxy_seconds"`
	// Rank is the candidate's place by the primary proxy among the searched candidates (0 = best; -1 for
	// the hand-made baselines); Selected is "top", "spread", "baseline" (always trained) or "".
	Rank     int    `json:"rank"`
	Selected string `json:"selected,omitempty"`
	// Model names the PGD-AT model (ModelSpec.Name) of a trained candidate.
	Model          string   `json:"model,omitempty"`
	CleanAccuracy  *float64 `json:"clean_accuracy,omitempty"`
	RobustAccuracy *float64 `json:"robust_accuracy,omitempty"`
	TrainSeconds   float64  `json:"train_seconds,omitempty"`
	// Failed says why a selected candidate's PGD-AT model is a failed run (ErrFailedRun: it ended at
	// chance accuracy); such a candidate has no accuracies and is left out of the correlations and of
	// Best, but stays in the record so that the failure is on file.
	Failed string `json:"failed,omitempty"`
}

// SearchResults is the Results part of a task-search record.
type SearchResults struct {
	// Confusion is the confusion matrix of the short single-task run on the first ConfusionExamples
	// training examples (rows the true class, columns the prediction), ConfusionAccuracy its accuracy there.
	Confusion         [][]float64        `json:"confusion"`
	ConfusionAccuracy float64            `json:"confusion_accuracy"`
	Classes           []string           `json:"classes"`
	Threat            attack.ThreatModel `json:"threat"`
	Attack            string             `json:"attack"`   // the evaluation attack of the robust accuracy (gray-box)
	N                 int                `json:"n"`        // test examples of the robust accuracy
	Training          string             `json:"training"` // "pgd-at"
	Candidates        []SearchCandidate  `json:"candidates"`
	// Correlations are 003 Table 3 for this search: each proxy against the trained candidates' robust
	// accuracy, Pearson and Spearman with p-values.
	Correlations []metric.ProxyCorrelation `json:"correlations"`
	// Best is the searched (not hand-made) trained candidate of highest robust accuracy.
	Best string `json:"best"`
	// MainOnly is the PGD-AT model of the main task alone, evaluated as the candidates are: the reference
	// an auxiliary task must beat to help at all.
	MainOnly MainOnlyResult `json:"main_only"`
}

// MainOnlyResult is the main-task-only reference model of a search.
type MainOnlyResult struct {
	Model          string  `json:"model"`
	CleanAccuracy  float64 `json:"clean_accuracy"`
	RobustAccuracy float64 `json:"robust_accuracy"`
	// Failed says why the main-only model is a failed run (its accuracies are then zero and never shown).
	Failed string `json:"failed,omitempty"`
}

// LoadOrSearchTasks returns the task-search record of spec, reading it when it exists with the same spec
// and else running the search and writing it under ResultsDir/task-search/:
//
//  1. a short single-task natural run (2 ShortSteps) gives the confusion matrix on training examples;
//  2. Candidates maps are generated: seeded random partitions (task.Random), confusable classes grouped
//     (task.GroupConfusable) and separated (task.SeparateConfusable), over the group counts Ks; the
//     dataset's hand-made tasks (001 Table 1, task.ForDataset) join them as baselines;
//  3. each candidate's main+candidate model is trained naturally for ShortSteps, and the proxies of
//     metric.Proxies are measured on ProbeExamples test examples: main-task clean accuracy, main/aux
//     input-gradient cosine, the main task's relative vulnerability under the evaluation PGD (gray-box),
//     and the share of clean inputs the rejection rule (001 Eq. 8, k = 1) accepts;
//  4. the Top searched candidates by the primary proxy and Spread more along its ranking, the baselines
//     and the main task alone are trained with
//     gray-box PGD-AT on the budget (LoadOrTrain, the same training as the hand-made tasks' pgd-at
//     models), and their main-task accuracy is measured clean and under the evaluation PGD of the
//     robustness records (EvalAttacks, gray-box, the first AttackExamples test examples), so it is
//     comparable with the "pgd" condition of those records;
//  5. each proxy is correlated with the robust accuracy over the trained candidates, baselines included
//     (003 RQ4, Table 3).
//
// The searched candidates' model records go to the cache (CacheDir/task-search/results), not to
// ResultsDir: the search's own record holds everything the notebook shows; the baselines' and main-only
// models are the grid's built-in specs and keep their records in ResultsDir/model. Progress lines go to stdout unless
// env.Quiet.
func LoadOrSearchTasks(env Env, spec SearchSpec) (*Record, error) {
	path := RecordPath(env.ResultsDir, &Record{Kind: TaskSearchKind, Name: spec.Name()})
	var stored SearchSpec
	var res SearchResults
	rec := &Record{Config: &stored, Results: &res}
	switch err := ReadJSON(path, rec); {
	case err == nil:
		rec.Config, rec.Results = stored, res
		if use, err := useStored(rec, reflect.DeepEqual(stored, spec), spec.Budget.Name, env.BackendLine); err != nil || use {
			return rec, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w (remove the file to recompute it)", err)
	}
	if err := spec.check(); err != nil {
		return nil, err
	}
	start := time.Now()
	logf := func(format string, args ...any) {
		if !env.Quiet {
			fmt.Fprintf(os.Stdout, "task search %s [%s] %s\n", spec.Name(), time.Since(start).Round(time.Second), fmt.Sprintf(format, args...))
		}
	}
	s, err := newSearcher(env, spec)
	if err != nil {
		return nil, err
	}
	out := SearchResults{Classes: s.main.Main.ClassNames, Threat: s.threat, Attack: s.pgd.Name() + " gray-box", Training: "pgd-at",
		N: spec.Budget.attackExamples(s.testDS.N)}

	// 1. The confusion matrix of a short single-task run.
	if out.Confusion, out.ConfusionAccuracy, err = s.confusion(); err != nil {
		return nil, err
	}
	logf("single-task run: accuracy %.3f on %d training examples", out.ConfusionAccuracy, s.confusionDS.N)

	// 2. Candidates.
	cands, err := s.candidates(out.Confusion)
	if err != nil {
		return nil, err
	}
	for _, m := range s.builtin.Aux {
		c := SearchCandidate{Map: m, Family: FamilyBuiltin, Rank: -1, Selected: "baseline"}
		for _, o := range cands {
			if canonicalPartition(o.Map.Table) == canonicalPartition(m.Table) {
				c.SameAs = o.Map.Name
				logf("hand-made task %s is the same partition as candidate %s", m.Name, o.Map.Name)
				break
			}
		}
		cands = append(cands, c)
	}
	// 3. Proxies after a short multi-task run.
	for i := range cands {
		t0 := time.Now()
		if cands[i].Proxies, err = s.proxies(cands[i].Map); err != nil {
			return nil, fmt.Errorf("experiment: task search: candidate %q: %w", cands[i].Map.Name, err)
		}
		cands[i].ProxySeconds = time.Since(t0).Seconds()
		logf("candidate %d/%d %-16s %v", i+1, len(cands), cands[i].Map.Name, cands[i].Proxies)
	}
	// 4. Rank by the primary proxy, train the top few and a spread.
	searched := cands[:spec.Size.Candidates]
	rankCandidates(searched, spec.primary())
	selectCandidates(searched, spec.Size.Top, spec.Size.Spread)
	mo := ModelSpec{Dataset: spec.Dataset, Arch: spec.Arch, Aux: []string{}, Training: "pgd-at", Budget: spec.Budget, Seed: spec.Seed}
	out.MainOnly.Model = mo.Name()
	switch out.MainOnly.CleanAccuracy, out.MainOnly.RobustAccuracy, err = s.trainAndEvaluate(mo, false); {
	case errors.Is(err, ErrFailedRun):
		out.MainOnly.CleanAccuracy, out.MainOnly.RobustAccuracy, out.MainOnly.Failed = 0, 0, err.Error()
		logf("main only: FAILED: %v", err)
	case err != nil:
		return nil, fmt.Errorf("experiment: task search: main only: %w", err)
	default:
		logf("trained main only: clean %.3f, %s %.3f", out.MainOnly.CleanAccuracy, s.pgd.Name(), out.MainOnly.RobustAccuracy)
	}
	for i := range cands {
		c := &cands[i]
		if c.Selected == "" {
			continue
		}
		t0 := time.Now()
		ms := ModelSpec{Dataset: spec.Dataset, Arch: spec.Arch, Aux: []string{c.Map.Name}, Training: "pgd-at",
			Budget: spec.Budget, Seed: spec.Seed, Maps: []task.Map{c.Map}}
		if c.Family == FamilyBuiltin {
			ms.Maps = nil
		}
		clean, robust, err := s.trainAndEvaluate(ms, c.Family != FamilyBuiltin)
		if errors.Is(err, ErrFailedRun) { // on file, never a result: no accuracies, out of the correlations
			c.Model, c.Failed, c.TrainSeconds = ms.Name(), err.Error(), time.Since(t0).Seconds()
			logf("trained %-16s (%s, rank %d): FAILED: %v", c.Map.Name, c.Selected, c.Rank, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("experiment: task search: candidate %q: %w", c.Map.Name, err)
		}
		c.Model, c.CleanAccuracy, c.RobustAccuracy = ms.Name(), &clean, &robust
		c.TrainSeconds = time.Since(t0).Seconds()
		logf("trained %-16s (%s, rank %d): clean %.3f, %s %.3f", c.Map.Name, c.Selected, c.Rank, clean, s.pgd.Name(), robust)
	}
	out.Candidates = cands
	// 5. Correlations.
	if out.Correlations, err = correlations(cands); err != nil {
		return nil, err
	}
	out.Best = bestCandidate(cands)
	rec = &Record{Kind: TaskSearchKind, Name: spec.Name(), Provenance: NewProvenance(spec.Seed, env.BackendLine),
		Config: spec, Results: out, Seconds: time.Since(start).Seconds()}
	logf("done: best %s", out.Best)
	return rec, WriteJSON(path, rec)
}

func (s SearchSpec) primary() string {
	if s.PrimaryProxy == "" {
		return metric.ProxyVulnerability
	}
	return s.PrimaryProxy
}

// check validates the sizes, naming the field.
func (s SearchSpec) check() error {
	z := s.Size
	switch {
	case z.Candidates < 3:
		return fmt.Errorf("experiment: task search: size.candidates %d: want >= 3 (a correlation needs 3 points)", z.Candidates)
	case len(z.Ks) == 0:
		return fmt.Errorf("experiment: task search: size.ks is empty: want the group counts K_m of the candidates")
	case z.ShortSteps < 1 || z.ProbeExamples < 1 || z.ConfusionExamples < 1:
		return fmt.Errorf("experiment: task search: size.short_steps %d, probe_examples %d, confusion_examples %d: want >= 1",
			z.ShortSteps, z.ProbeExamples, z.ConfusionExamples)
	case z.Top < 0 || z.Spread < 0 || z.Top+z.Spread < 3:
		return fmt.Errorf("experiment: task search: size.top %d + size.spread %d: want >= 3 trained candidates (a correlation needs 3 points)", z.Top, z.Spread)
	case !slices.Contains(metric.Proxies, s.primary()):
		return fmt.Errorf("experiment: task search: primary_proxy %q: want one of %v", s.PrimaryProxy, metric.Proxies)
	}
	return nil
}

// searcher holds what every stage of a search shares.
type searcher struct {
	env                Env
	spec               SearchSpec
	main               task.Set // the main task alone
	builtin            task.Set // the dataset's hand-made tasks
	trainDS, testDS    *datasets.Dataset
	probe, confusionDS *datasets.Dataset
	threat             attack.ThreatModel
	pgd                attack.PGD
	quietEnv           Env // the candidates' models: records in the cache, no progress bars
	shape              [3]int
}

func newSearcher(env Env, spec SearchSpec) (*searcher, error) {
	builtin, err := task.ForDataset(spec.Dataset)
	if err != nil {
		return nil, err
	}
	main, err := builtin.Select()
	if err != nil {
		return nil, err
	}
	trainDS, testDS, err := Data(spec.Dataset, spec.Budget, spec.Seed)
	if err != nil {
		return nil, err
	}
	th, err := spec.Budget.Threat(spec.Dataset)
	if err != nil {
		return nil, err
	}
	pgd, _, _, err := EvalAttacks(spec.Dataset, spec.Budget)
	if err != nil {
		return nil, err
	}
	// The proxies' probe: test examples after the ones robust accuracy is measured on, when there are enough.
	lo := spec.Budget.attackExamples(testDS.N)
	if testDS.N-lo < spec.Size.ProbeExamples {
		lo = 0
	}
	idx := make([]int, 0, spec.Size.ProbeExamples)
	for i := lo; i < testDS.N && len(idx) < spec.Size.ProbeExamples; i++ {
		idx = append(idx, i)
	}
	probe, err := testDS.Subset(idx)
	if err != nil {
		return nil, err
	}
	confusionDS, err := trainDS.Head(min(spec.Size.ConfusionExamples, trainDS.N))
	if err != nil {
		return nil, err
	}
	q := env
	q.Quiet = true
	q.ResultsDir = filepath.Join(env.CacheDir, "task-search", "results")
	return &searcher{env: env, spec: spec, main: main, builtin: builtin, trainDS: trainDS, testDS: testDS, probe: probe, confusionDS: confusionDS,
		threat: th, pgd: pgd, quietEnv: q, shape: [3]int{trainDS.Height, trainDS.Width, trainDS.Channels}}, nil
}

// shortRun trains set naturally for steps and returns the network and its weights.
func (s *searcher) shortRun(set task.Set, steps int) (*arch.Net, *model.Store, error) {
	net, err := Net(s.spec.Arch, set, s.shape)
	if err != nil {
		return nil, nil, err
	}
	store := model.NewStore()
	cfg := training.Config{Steps: steps, BatchSize: s.spec.Budget.BatchSize, Seed: s.spec.Seed, EvalEvery: steps,
		EvalExamples: min(200, s.probe.N), Quiet: true}
	if _, err := training.Natural(s.env.Backend, store, net, set, s.trainDS, s.testDS, cfg); err != nil {
		return nil, nil, err
	}
	return net, store, nil
}

func (s *searcher) predict(store *model.Store, net *arch.Net, ds *datasets.Dataset, images []float32) ([][]int32, error) {
	return reject.Predict(s.env.Backend, store, net, images, ds.N, ds.Height, ds.Width, ds.Channels, 100)
}

// confusion is stage 1: the confusion matrix of a short single-task run on training examples.
func (s *searcher) confusion() ([][]float64, float64, error) {
	net, store, err := s.shortRun(s.main, 2*s.spec.Size.ShortSteps)
	if err != nil {
		return nil, 0, err
	}
	preds, err := s.predict(store, net, s.confusionDS, s.confusionDS.Images)
	if err != nil {
		return nil, 0, err
	}
	c, err := metric.ConfusionMatrix(preds[0], s.confusionDS.Labels, len(s.main.Main.ClassNames))
	if err != nil {
		return nil, 0, err
	}
	acc, err := metric.Accuracy(preds[0], s.confusionDS.Labels)
	return c, acc, err
}

// candidates is stage 2: the candidate maps, cycling over the families and group counts.
func (s *searcher) candidates(confusion [][]float64) ([]SearchCandidate, error) {
	classes := s.main.Main.Classes()
	families := []string{FamilyRandom, FamilyGroup, FamilySeparate}
	var out []SearchCandidate
	seen := map[string]bool{}
	for i := 0; len(out) < s.spec.Size.Candidates; i++ {
		if i > 100*s.spec.Size.Candidates {
			return nil, fmt.Errorf("experiment: task search: only %d distinct candidates found: want size.candidates %d (fewer, or more ks)", len(out), s.spec.Size.Candidates)
		}
		fam := families[i%len(families)]
		km := s.spec.Size.Ks[(i/len(families))%len(s.spec.Size.Ks)]
		if km >= len(classes) {
			return nil, fmt.Errorf("experiment: task search: size.ks holds %d: want K_m < K = %d", km, len(classes))
		}
		var m task.Map
		var err error
		switch fam {
		case FamilyRandom:
			m, err = task.Random(fmt.Sprintf("random-k%d-%d", km, i), classes, km, s.spec.Seed*1000+int64(i))
		case FamilyGroup:
			m, err = task.GroupConfusable(fmt.Sprintf("group-k%d", km), classes, confusion, km)
		case FamilySeparate:
			m, err = task.SeparateConfusable(fmt.Sprintf("separate-k%d", km), classes, confusion, km)
		}
		if err != nil {
			return nil, err
		}
		key := canonicalPartition(m.Table)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, SearchCandidate{Map: m, Family: fam})
	}
	return out, nil
}

// canonicalPartition identifies a partition regardless of how its groups are numbered.
func canonicalPartition(table []int) string {
	relabel := map[int]int{}
	out := make([]byte, len(table))
	for i, c := range table {
		if _, ok := relabel[c]; !ok {
			relabel[c] = len(relabel)
		}
		out[i] = byte('a' + relabel[c])
	}
	return string(out)
}

// proxies is stage 3 for one candidate: a short natural main+candidate run, then every proxy on the probe.
func (s *searcher) proxies(m task.Map) (map[string]float64, error) {
	set := task.Set{Main: s.main.Main, Aux: []task.Map{m}}
	net, store, err := s.shortRun(set, s.spec.Size.ShortSteps)
	if err != nil {
		return nil, err
	}
	p := s.probe
	labels, err := set.Labels(p.Labels)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	put := func(name string, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[name] = v
		}
	}
	clean, err := s.predict(store, net, p, p.Images)
	if err != nil {
		return nil, err
	}
	cleanAcc, err := metric.Accuracy(clean[0], labels[0])
	if err != nil {
		return nil, err
	}
	put(metric.ProxyCleanAccuracy, cleanAcc)

	grads, _, err := metric.InputGradients(s.env.Backend, store, net, p.Images, labels, p.N, p.Height, p.Width, p.Channels, 100)
	if err != nil {
		return nil, err
	}
	cos, err := metric.GradientCosine(grads)
	if err != nil {
		return nil, err
	}
	if c, err := metric.MainAuxCosine(cos); err == nil {
		put(metric.ProxyGradientCosine, c)
	}

	mdl := &Model{Net: net, Tasks: set, Store: store, Test: p, Spec: ModelSpec{Dataset: s.spec.Dataset}}
	adv, err := mdl.attackImages(s.env, p, s.pgd, attack.GrayBox(net), labels, s.spec.Seed)
	if err != nil {
		return nil, err
	}
	advPreds, err := s.predict(store, net, p, adv)
	if err != nil {
		return nil, err
	}
	advAcc, err := metric.Accuracy(advPreds[0], labels[0])
	if err != nil {
		return nil, err
	}
	if v, err := metric.RelativeErrorVulnerability(cleanAcc, advAcc); err == nil {
		put(metric.ProxyVulnerability, v)
	}

	mod, err := reject.New(set, 1)
	if err != nil {
		return nil, err
	}
	rejected, err := mod.Decide(clean)
	if err != nil {
		return nil, err
	}
	accepted := 0
	for _, r := range rejected {
		if !r {
			accepted++
		}
	}
	put(metric.ProxyAgreement, float64(accepted)/float64(len(rejected)))
	return out, nil
}

// rankCandidates sets each candidate's Rank by the primary proxy (best first; a candidate without the
// proxy ranks last; ties keep the generation order).
func rankCandidates(cands []SearchCandidate, proxy string) {
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	higher := HigherIsBetter(proxy)
	sort.SliceStable(order, func(a, b int) bool {
		va, oka := cands[order[a]].Proxies[proxy]
		vb, okb := cands[order[b]].Proxies[proxy]
		switch {
		case oka != okb:
			return oka
		case !oka:
			return false
		case higher:
			return va > vb
		}
		return va < vb
	})
	for r, i := range order {
		cands[i].Rank = r
	}
}

// selectCandidates marks the top candidates by rank, then spread more at evenly spaced ranks among the rest.
func selectCandidates(cands []SearchCandidate, top, spread int) {
	byRank := make([]int, len(cands))
	for i, c := range cands {
		byRank[c.Rank] = i
	}
	top = min(top, len(cands))
	for r := range top {
		cands[byRank[r]].Selected = "top"
	}
	rest := byRank[top:]
	spread = min(spread, len(rest))
	for j := range spread {
		// evenly spaced over the remaining ranks, the last one included
		r := 0
		if spread > 1 {
			r = int(math.Round(float64(j) * float64(len(rest)-1) / float64(spread-1)))
		}
		cands[rest[r]].Selected = "spread"
	}
}

// trainAndEvaluate is stage 4 for one candidate: PGD-AT on the budget (cached; the model record in the
// cache when cached is set, else in ResultsDir), then main-task accuracy clean and under the evaluation
// PGD on the first AttackExamples test examples.
func (s *searcher) trainAndEvaluate(ms ModelSpec, cached bool) (clean, robust float64, err error) {
	env := s.quietEnv
	if !cached {
		env.ResultsDir = s.env.ResultsDir
	}
	m, err := LoadOrTrain(env, ms)
	if err != nil {
		return 0, 0, err
	}
	test, labels, err := m.attackSet(ms.Budget.AttackExamples)
	if err != nil {
		return 0, 0, err
	}
	preds, err := m.predict(s.env, test.Images, test.N)
	if err != nil {
		return 0, 0, err
	}
	if clean, err = metric.Accuracy(preds[0], labels[0]); err != nil {
		return 0, 0, err
	}
	adv, err := m.attackImages(s.env, test, s.pgd, attack.GrayBox(m.Net), labels, ms.Seed)
	if err != nil {
		return 0, 0, err
	}
	if preds, err = m.predict(s.env, adv, test.N); err != nil {
		return 0, 0, err
	}
	robust, err = metric.Accuracy(preds[0], labels[0])
	return clean, robust, err
}

// correlations is stage 5: every proxy against robust accuracy over the trained candidates that have it,
// each partition once (candidates with SameAs set are left out). A proxy with fewer than 3 such
// candidates, or constant values, gets no row.
func correlations(cands []SearchCandidate) ([]metric.ProxyCorrelation, error) {
	var out []metric.ProxyCorrelation
	for _, p := range metric.Proxies {
		var x, y []float64
		for _, c := range cands {
			v, ok := c.Proxies[p]
			if c.RobustAccuracy == nil || !ok || c.SameAs != "" {
				continue
			}
			x, y = append(x, v), append(y, *c.RobustAccuracy)
		}
		if len(x) < 3 || slices.Min(x) == slices.Max(x) || slices.Min(y) == slices.Max(y) {
			continue
		}
		c, err := metric.CorrelateProxy(p, x, y)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// bestCandidate names the trained candidate of highest robust accuracy (first in generation order on ties).
func bestCandidate(cands []SearchCandidate) string {
	best, bestAcc := "", math.Inf(-1)
	for _, c := range cands {
		if c.Family != FamilyBuiltin && c.RobustAccuracy != nil && *c.RobustAccuracy > bestAcc {
			best, bestAcc = c.Map.Name, *c.RobustAccuracy
		}
	}
	return best
}

// ReadTaskSearches reads every task-search record under resultsDir.
func ReadTaskSearches(resultsDir string) ([]*Record, error) {
	return readKind(resultsDir, TaskSearchKind, func() (any, any) { return &SearchSpec{}, &SearchResults{} })
}
