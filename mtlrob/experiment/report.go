package experiment

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// ConditionTitles are the column names of 001 Table 2 for the robustness conditions.
var ConditionTitles = map[string]string{
	"clean": "clean", "pgd-targeted": "PGD targeted", "pgd": "PGD untargeted", "cw": "CW", "adaptive": "adaptive (white-box)",
	"worst-case": "worst case",
}

// ReadRobustness reads every robustness record under resultsDir, sorted by name.
func ReadRobustness(resultsDir string) ([]*Record, error) {
	return readKind(resultsDir, RobustnessKind, func() (any, any) { return &ModelSpec{}, &RobustnessResults{} })
}

// ReadDirections reads every direction-comparison record under resultsDir, sorted by name.
func ReadDirections(resultsDir string) ([]*Record, error) {
	return readKind(resultsDir, DirectionsKind, func() (any, any) { return &ModelSpec{}, &DirectionsResults{} })
}

// ReadModels reads every model record under resultsDir, sorted by name.
func ReadModels(resultsDir string) ([]*Record, error) {
	return readKind(resultsDir, ModelKind, func() (any, any) { return &ModelSpec{}, &ModelResults{} })
}

func readKind(resultsDir, kind string, zero func() (any, any)) ([]*Record, error) {
	paths, err := filepath.Glob(filepath.Join(resultsDir, kind, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var recs []*Record
	for _, p := range paths {
		cfg, res := zero()
		rec := &Record{Config: cfg, Results: res}
		if err := ReadJSON(p, rec); err != nil {
			return nil, err
		}
		if rec.Kind != kind {
			return nil, fmt.Errorf("experiment: %s: a %q record in the %q directory", p, rec.Kind, kind)
		}
		// Records in memory hold values, as the LoadOr functions return them.
		rec.Config, rec.Results = reflect.ValueOf(cfg).Elem().Interface(), reflect.ValueOf(res).Elem().Interface()
		markStale(rec)
		recs = append(recs, rec)
	}
	return recs, nil
}

// ReadRecord reads the record of kind at path, its Config a C and its Results an R (held as values, as the
// LoadOr functions return them), for the analyses in packages of their own; unknown fields, a record that
// fails ValidateRecord and a record of another kind are errors naming the file.
func ReadRecord[C, R any](path, kind string) (*Record, error) {
	var cfg C
	var res R
	rec := &Record{Config: &cfg, Results: &res}
	if err := ReadJSON(path, rec); err != nil {
		return nil, err
	}
	if rec.Kind != kind {
		return nil, fmt.Errorf("experiment: %s: a %q record, want %q", path, rec.Kind, kind)
	}
	rec.Config, rec.Results = cfg, res
	return rec, nil
}

// markStale sets rec.Stale from its code fingerprint, at its own root (the backend family is not compared when
// rendering: that is the stale listing's business). Outside the repository nothing is marked.
func markStale(rec *Record) {
	current, err := CodeFingerprintAt(FingerprintRootOf(rec.Provenance), "")
	if err != nil {
		return
	}
	current.Backend = ""
	p := rec.Provenance
	if p.Fingerprint != nil {
		fp := *p.Fingerprint
		fp.Backend = ""
		p.Fingerprint = &fp
	}
	rec.Stale = CheckFingerprint(p, current)
}

// staleNotes is the footnote of a table drawn from recs that names its stale records.
func staleNotes(recs []*Record) []string {
	var names []string
	for _, r := range recs {
		if len(r.Stale) > 0 {
			names = append(names, r.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("STALE: %d of the %d records behind this table were computed by other code (%s); "+
		"`mtlrob stale` lists why, `MTLROB_STALE=recompute make figures` recomputes them.", len(names), len(recs),
		strings.Join(names, ", "))}
}

// Select keeps the records whose model spec satisfies keep.
func Select(recs []*Record, keep func(ModelSpec) bool) []*Record {
	var out []*Record
	for _, r := range recs {
		if spec, ok := As[ModelSpec](r.Config); ok && keep(spec) {
			out = append(out, r)
		}
	}
	return out
}

func comboOf(spec ModelSpec) string {
	if len(spec.Aux) == 0 {
		return "main only"
	}
	return "main+" + strings.Join(spec.Aux, "+")
}

// evaluations turns robustness records into metric.Evaluations (row = task combination, marked with
// SanityMark when the record failed a sanity check; column = condition), in the conditions' order.
func evaluations(recs []*Record, conditions []string) ([]metric.Evaluation, error) {
	var evals []metric.Evaluation
	for _, r := range recs {
		spec, res, err := robustnessOf(r)
		if err != nil {
			return nil, err
		}
		row := table2Row(spec, res)
		for _, want := range conditions {
			for _, c := range res.Conditions {
				if c.Name == want {
					evals = append(evals, metric.Evaluation{Model: row, Condition: ConditionTitles[c.Name], TaskAccuracy: c.TaskAccuracy})
				}
			}
		}
	}
	return evals, nil
}

// robustnessOf returns the spec and results of a robustness record, or an error naming the record.
func robustnessOf(r *Record) (ModelSpec, RobustnessResults, error) {
	spec, ok1 := As[ModelSpec](r.Config)
	res, ok2 := As[RobustnessResults](r.Results)
	if !ok1 || !ok2 {
		return spec, res, fmt.Errorf("experiment: record %q holds %T and %T, want ModelSpec and RobustnessResults", r.Name, r.Config, r.Results)
	}
	return spec, res, nil
}

// Table2 assembles the analogue of 001 Table 2 from robustness records of one dataset and training:
// main-task accuracy (%) per task combination, clean and under gray-box PGD targeted, PGD untargeted, CW,
// and the worst case (records that have it). A model whose record failed a sanity check is marked
// with SanityMark and a note under the table says which check, with its numbers.
func Table2(recs []*Record, dataset, training string) (*metric.Table, error) {
	sel := Select(recs, func(s ModelSpec) bool { return s.Dataset == dataset && s.Training == training })
	evals, err := evaluations(sel, []string{"clean", "pgd-targeted", "pgd", "cw", "worst-case"})
	if err != nil {
		return nil, err
	}
	t, err := metric.MainAccuracyTable(fmt.Sprintf("%s, %s training%s: main-task accuracy (%%)", dataset, training, scope(sel)), evals)
	if err != nil {
		return nil, err
	}
	addSanityNote(t, sel, comboOf)
	return t, mainStats(t, sel)
}

// threatsOf returns the threat models (as the budget ran them) of the robustness records sel, in
// order, without repeats; records that cannot be read are left out (mainStats reports them).
func threatsOf(sel []*Record) []attack.ThreatModel {
	var out []attack.ThreatModel
	for _, r := range sel {
		if _, res, err := robustnessOf(r); err == nil && res.Threat.Steps > 0 && !slices.Contains(out, res.Threat) {
			out = append(out, res.Threat)
		}
	}
	return out
}

// attackSettingsNote is the note under a robustness table that says how its attacks ran: eps, PGD's
// steps and step size, and CW-L2's binary-search steps and Adam iterations; where the budget capped CW
// below the threat model's (001's) iterations, it says so, since a capped CW can be far from converged
// (on MNIST at 50 iterations it leaves most digits of a natural model unbroken). Empty when there is no
// threat model to describe or the records ran different ones.
func attackSettingsNote(threats []attack.ThreatModel) string {
	if len(threats) != 1 {
		return ""
	}
	th := threats[0]
	note := fmt.Sprintf("Attacks (gray-box, main head): eps %.4g; PGD-%d with step %.4g; CW-L2 with %d binary-search steps of %d Adam iterations (lr %.3g, c0 %.3g, kappa %.3g).",
		th.Eps, th.Steps, th.Alpha, th.CWSearchSteps, th.CWIterations, th.CWLearningRate, th.CWInitialConst, th.CWKappa)
	if full, err := attack.ThreatFor(th.Dataset); err == nil && th.CWIterations < full.CWIterations {
		note += fmt.Sprintf(" The budget caps CW at %d of the %d iterations per search step 001 runs, so this CW is weaker than 001's (README, \"Budgets\", measures how much on MNIST).",
			th.CWIterations, full.CWIterations)
	}
	return note
}

// table2Row is the row of a robustness record in Table2 (as evaluations names it): its task
// combination, marked with SanityMark when the record failed a sanity check.
func table2Row(spec ModelSpec, res RobustnessResults) string {
	row := comboOf(spec)
	if len(res.Sanity.Failed()) > 0 {
		row += SanityMark
	}
	return row
}

// mainStats adds to a main-task accuracy table (Table2) of the records sel the statistics its numbers
// and comparisons need, with notes under the table saying what they are:
//
//   - every cell's 95% Wilson score interval (Condition.MainAccuracy over the record's N test images);
//   - when the table has a multi-task model, one column "p <condition>" per condition: for each
//     multi-task model, the two-sided exact McNemar p-value (metric.McNemar) of its per-image main-task
//     outcomes against those of the main-only model of the same architecture, budget and seed on the
//     same test images. It is missing ("–") for the main-only model itself and where a paired test
//     cannot be run (a record that predates per-image outcomes, no such main-only model, or records of
//     different numbers of images); the notes name the cause.
func mainStats(t *metric.Table, sel []*Record) error {
	type entry struct {
		spec ModelSpec
		res  RobustnessResults
		row  string
	}
	var entries []entry
	var ns []int
	for _, r := range sel {
		spec, res, err := robustnessOf(r)
		if err != nil {
			return err
		}
		row := table2Row(spec, res)
		if !slices.Contains(t.Rows, row) {
			continue
		}
		entries = append(entries, entry{spec, res, row})
		if res.N <= 0 {
			continue
		}
		if !slices.Contains(ns, res.N) {
			ns = append(ns, res.N)
		}
		for _, c := range res.Conditions {
			col := ConditionTitles[c.Name]
			v, err := t.At(row, col)
			if err != nil || math.IsNaN(v) {
				continue // a condition the table does not show
			}
			p, err := c.MainAccuracy(c.Images(res.N))
			if err != nil {
				return fmt.Errorf("experiment: record %q: %w", r.Name, err)
			}
			if err := t.SetInterval(row, col, v, 100*p.Lo, 100*p.Hi); err != nil {
				return err
			}
		}
	}
	over := "the record's test images"
	if len(ns) == 1 {
		over = fmt.Sprintf("the n = %d test images", ns[0])
	}
	t.Notes = append(t.Notes, fmt.Sprintf("[lo, hi]: 95%% Wilson score interval (Wilson 1927) of the accuracy over %s "+
		"(CW and the worst case: over the first images their record says, the budget's heavy_examples).", over))
	if note := attackSettingsNote(threatsOf(sel)); note != "" {
		t.Notes = append(t.Notes, note)
	}
	if !slices.ContainsFunc(entries, func(e entry) bool { return len(e.spec.Aux) > 0 }) {
		return nil
	}
	conds := slices.Clone(t.Columns)
	pcols := make([]string, len(conds))
	for i, c := range conds {
		pcols[i] = "p " + c
	}
	if err := t.AppendColumns(pcols...); err != nil {
		return err
	}
	t.PColumns = append(t.PColumns, pcols...)
	// outcomes returns the per-image main-task outcomes of res under the condition titled col, and
	// whether res has that condition at all (nil outcomes for a record that predates them).
	outcomes := func(res RobustnessResults, col string) ([]bool, bool, error) {
		for _, c := range res.Conditions {
			if ConditionTitles[c.Name] == col {
				ok, err := c.MainOutcomes()
				return ok, true, err
			}
		}
		return nil, false, nil
	}
	var predates, noRef, differentN bool
	for _, e := range entries {
		if len(e.spec.Aux) == 0 {
			continue
		}
		ref := slices.IndexFunc(entries, func(r entry) bool {
			return len(r.spec.Aux) == 0 && r.spec.Seed == e.spec.Seed && r.spec.Arch == e.spec.Arch && r.spec.Budget.Name == e.spec.Budget.Name
		})
		if ref < 0 {
			noRef = true
			continue
		}
		for i, col := range conds {
			a, okA, err := outcomes(entries[ref].res, col)
			if err != nil {
				return err
			}
			b, okB, err := outcomes(e.res, col)
			if err != nil {
				return err
			}
			switch {
			case !okA || !okB:
				continue // the condition is missing from a record: its accuracy cell is missing too
			case a == nil || b == nil:
				predates = true
				continue
			case len(a) != len(b) || entries[ref].res.N != e.res.N:
				differentN = true
				continue
			}
			m, err := metric.McNemar(a, b)
			if err != nil {
				return err
			}
			if err := t.Set(e.row, pcols[i], m.P); err != nil {
				return err
			}
		}
	}
	t.Notes = append(t.Notes, "p <condition>: two-sided exact McNemar test (McNemar 1947) of the model's per-image main-task outcomes "+
		"against those of the main-only model of the same seed on the same test images; "+metric.Missing+" for the main-only model.")
	if predates {
		t.Notes = append(t.Notes, metric.Missing+" for a multi-task model: its record or the main-only model's predates per-image outcomes "+
			"(main_correct), so no paired test can be run; re-running the robustness evaluation records them.")
	}
	if noRef {
		t.Notes = append(t.Notes, metric.Missing+" for a multi-task model: no main-only model of the same architecture, budget and seed among these records.")
	}
	if differentN {
		t.Notes = append(t.Notes, metric.Missing+" for a multi-task model: it and the main-only model were evaluated on different numbers of test images.")
	}
	return nil
}

// Table3 is the analogue of 001 Table 3: mean accuracy (%) of the auxiliary tasks per combination.
func Table3(recs []*Record, dataset, training string) (*metric.Table, error) {
	sel := Select(recs, func(s ModelSpec) bool { return s.Dataset == dataset && s.Training == training })
	evals, err := evaluations(sel, []string{"clean", "pgd-targeted", "pgd", "cw", "worst-case"})
	if err != nil {
		return nil, err
	}
	t, err := metric.AuxAccuracyTable(fmt.Sprintf("%s, %s training%s: mean auxiliary-task accuracy (%%)", dataset, training, scope(sel)), evals)
	if err != nil {
		return nil, err
	}
	addSanityNote(t, sel, comboOf)
	return t, auxIntervals(t, sel)
}

// auxIntervals gives every cell of a Table3 of the records sel a 95% interval for the mean accuracy of
// the M auxiliary tasks: the mean of the tasks' Wilson intervals at level 1 - 0.05/M each. By the union
// bound all M intervals cover their tasks' accuracies at once with probability at least 95%, and then
// their mean covers the mean accuracy, so the interval is conservative whatever the tasks' correlation
// on the shared test images. The count of task m is TaskAccuracy[m]·n, n the condition's images.
func auxIntervals(t *metric.Table, sel []*Record) error {
	var ns []int
	for _, r := range sel {
		spec, res, err := robustnessOf(r)
		if err != nil {
			return err
		}
		row := table2Row(spec, res)
		if !slices.Contains(t.Rows, row) || res.N <= 0 {
			continue
		}
		if !slices.Contains(ns, res.N) {
			ns = append(ns, res.N)
		}
		for _, c := range res.Conditions {
			col := ConditionTitles[c.Name]
			v, err := t.At(row, col)
			if err != nil || math.IsNaN(v) || len(c.TaskAccuracy) < 2 {
				continue // a condition the table does not show
			}
			aux := c.TaskAccuracy[1:]
			n := c.Images(res.N)
			var lo, hi float64
			for m, a := range aux {
				k := a * float64(n)
				if math.Abs(k-math.Round(k)) > 1e-6*float64(n) {
					return fmt.Errorf("experiment: record %q, condition %q: task %d accuracy %g is not a count over %d images", r.Name, c.Name, m+1, a, n)
				}
				l, h := metric.Wilson(int(math.Round(k)), n, 1-0.05/float64(len(aux)))
				lo, hi = lo+l/float64(len(aux)), hi+h/float64(len(aux))
			}
			if err := t.SetInterval(row, col, v, 100*lo, 100*hi); err != nil {
				return err
			}
		}
	}
	over := "the record's test images"
	if len(ns) == 1 {
		over = fmt.Sprintf("the n = %d test images", ns[0])
	}
	t.Notes = append(t.Notes, fmt.Sprintf("[lo, hi]: 95%% interval of the mean over %s (CW and the worst case: their first images): the mean of "+
		"the M auxiliary tasks' Wilson intervals at level 1 - 0.05/M each, which by the union bound covers the mean accuracy with "+
		"probability at least 95%%.", over))
	return nil
}

// RejectionTable is the analogue of 001 Fig. 3/4 in numbers: for every multi-task model of the dataset,
// main-task accuracy (%) without the rejection module and with it (rejected inputs counted as defended;
// k = 1), under each attack, plus the rejection rates, each with its 95% Wilson interval; "p <attack>"
// is the exact McNemar test of with against without rejection on the same images (the only discordant
// images are the wrong ones the module rejects, so p is small whenever it rejects enough of them: the
// price is in "clean rejected").
func RejectionTable(recs []*Record, dataset string) (*metric.Table, error) {
	conds := []string{"pgd-targeted", "pgd", "cw", "worst-case", "adaptive"}
	var cols []string
	cols = append(cols, "clean rejected")
	for _, c := range conds {
		cols = append(cols, ConditionTitles[c], ConditionTitles[c]+" +reject", ConditionTitles[c]+" rejected")
	}
	for _, c := range conds {
		cols = append(cols, "p "+ConditionTitles[c])
	}
	var rows []string
	type cell struct {
		row, col string
		v        float64 // the value, in % for a proportion
		k, n     int     // the proportion k/n behind v (n = 0: no counts on record, or a p-value)
	}
	var cells []cell
	var sel []*Record
	for _, r := range recs {
		spec, res, err := robustnessOf(r)
		if err != nil {
			return nil, err
		}
		if spec.Dataset != dataset || len(spec.Aux) == 0 {
			continue
		}
		sel = append(sel, r)
		row := spec.Training + ", " + comboOf(spec)
		if len(res.Sanity.Failed()) > 0 {
			row += SanityMark
		}
		rows = append(rows, row)
		for _, c := range res.Conditions {
			if len(c.Rejection) == 0 {
				continue
			}
			rep := c.Rejection[0] // k = 1, the paper's rule
			if c.Name == "clean" {
				cells = append(cells, cell{row, "clean rejected", 100 * rep.Clean.RejectionRate, rep.Clean.Rejected, rep.Clean.N})
				continue
			}
			t, a := ConditionTitles[c.Name], rep.Adversarial
			cells = append(cells, cell{row, t, 100 * a.Accuracy, a.Correct, a.N},
				cell{row, t + " +reject", 100 * a.RobustAccuracy, a.AcceptedCorrect + a.Rejected, a.N},
				cell{row, t + " rejected", 100 * a.RejectionRate, a.Rejected, a.N})
			if a.N > 0 {
				cells = append(cells, cell{row, "p " + t, metric.McNemarP(0, a.RejectedWrong), 0, 0})
			}
		}
	}
	t, err := metric.NewTable(dataset+scope(sel)+": main-task accuracy (%) without and with rejection (k = 1), and rejection rates (%)", rows, cols)
	if err != nil {
		return nil, err
	}
	for _, c := range cells {
		if c.n == 0 {
			if err := t.Set(c.row, c.col, c.v); err != nil {
				return nil, err
			}
			continue
		}
		p := metric.NewProportion(c.k, c.n)
		if err := t.SetInterval(c.row, c.col, c.v, 100*p.Lo, 100*p.Hi); err != nil {
			return nil, err
		}
	}
	for _, c := range conds {
		t.PColumns = append(t.PColumns, "p "+ConditionTitles[c])
	}
	t.Notes = append(t.Notes, "[lo, hi]: 95% Wilson score interval (Wilson 1927) over the images each attack was run on.",
		"p <attack>: two-sided exact McNemar test (McNemar 1947) of the main-task outcomes with rejection (a rejected input counted "+
			"as defended) against those without, on the same images; the discordant images are the wrong ones the module rejects, "+
			"so a small p says the module catches adversarial inputs, and \"clean rejected\" says what it costs on clean ones.")
	addSanityNote(t, sel, func(s ModelSpec) string { return s.Training + ", " + comboOf(s) })
	return t, nil
}

// ARPTable is 004's comparison: ARP (%) per attack direction (rows) and budget (columns) for one
// direction-comparison record.
func ARPTable(rec *Record) (*metric.Table, error) {
	spec, ok1 := As[ModelSpec](rec.Config)
	res, ok2 := As[DirectionsResults](rec.Results)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("experiment: record %q holds %T and %T, want ModelSpec and DirectionsResults", rec.Name, rec.Config, rec.Results)
	}
	var rows, cols []string
	for _, run := range res.Runs {
		if !contains(rows, run.Direction) {
			rows = append(rows, run.Direction)
		}
		if c := EpsLabel(run.Eps); !contains(cols, c) {
			cols = append(cols, c)
		}
	}
	t, err := metric.NewTable(fmt.Sprintf("%s, %s, %s, %s, %s budget, seed %d: ARP (%%) by attack direction and eps",
		spec.Dataset, spec.Training, archName(spec.Arch), comboOf(spec), spec.Budget.Name, spec.Seed), rows, cols)
	if err != nil {
		return nil, err
	}
	clean, err := decodeAll(res.CleanCorrect)
	if err != nil {
		return nil, fmt.Errorf("experiment: %s: %w", rec.Name, err)
	}
	withCI := false
	for _, run := range res.Runs {
		adv, err := decodeAll(run.TaskCorrect)
		if err != nil {
			return nil, fmt.Errorf("experiment: %s: %w", rec.Name, err)
		}
		if len(clean) == 0 || len(adv) != len(clean) {
			if err := t.Set(run.Direction, EpsLabel(run.Eps), run.ARP); err != nil {
				return nil, err
			}
			continue
		}
		lo, hi := bootstrapARPInterval(clean, adv, arpBootstrapReps, uint64(spec.Seed))
		if err := t.SetInterval(run.Direction, EpsLabel(run.Eps), run.ARP, lo, hi); err != nil {
			return nil, err
		}
		withCI = true
	}
	if withCI {
		t.Notes = append(t.Notes, fmt.Sprintf("[lo, hi]: 95%% percentile bootstrap interval of ARP over the test images (%d resamples; "+
			"the clean and attacked outcomes of an image are resampled together). Whether two directions differ is the paired "+
			"bootstrap of their difference (headline tables), not the overlap of these intervals.", arpBootstrapReps))
	} else {
		t.Notes = append(t.Notes, metric.Missing+" interval: the record predates per-image outcomes (clean_correct, task_correct).")
	}
	return t, nil
}

// scope names the network, budget and seed the records share, ", smallcnn, standard budget, seed 1"
// (the network left out when they differ), or "" when they share no budget and seed (or there are none).
func scope(recs []*Record) string {
	var budgets, archs []string
	var seeds []int64
	for _, r := range recs {
		if spec, ok := As[ModelSpec](r.Config); ok {
			if !contains(budgets, spec.Budget.Name) {
				budgets = append(budgets, spec.Budget.Name)
			}
			if !slices.Contains(seeds, spec.Seed) {
				seeds = append(seeds, spec.Seed)
			}
			if !contains(archs, archName(spec.Arch)) {
				archs = append(archs, archName(spec.Arch))
			}
		}
	}
	if len(budgets) != 1 || len(seeds) != 1 {
		return ""
	}
	var arch string
	if len(archs) == 1 {
		arch = ", " + archs[0]
	}
	return fmt.Sprintf("%s, %s budget, seed %d", arch, budgets[0], seeds[0])
}

// EpsLabel is the column of budget eps in ARPTable, "eps 0.1".
func EpsLabel(eps float64) string { return fmt.Sprintf("eps %.4g", eps) }

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// RenderTables renders every table the records under resultsDir support into outDir, as Markdown (one
// file, tables.md) and one CSV per table, and returns the Markdown.
func RenderTables(resultsDir, outDir string) (string, error) {
	rob, err := ReadRobustness(resultsDir)
	if err != nil {
		return "", err
	}
	dirs, err := ReadDirections(resultsDir)
	if err != nil {
		return "", err
	}
	var tables []*metric.Table
	var names []string
	// One set of tables per dataset, budget and seed: a model appears once per table.
	type group struct {
		dataset, arch, budget string
		seed                  int64
	}
	groups := map[group][]*Record{}
	var keys []group
	for _, r := range rob {
		spec, _, err := robustnessOf(r)
		if err != nil {
			return "", err
		}
		g := group{spec.Dataset, archName(spec.Arch), spec.Budget.Name, spec.Seed}
		if groups[g] == nil {
			keys = append(keys, g)
		}
		groups[g] = append(groups[g], r)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.dataset != b.dataset {
			return a.dataset < b.dataset
		}
		if a.arch != b.arch {
			return a.arch < b.arch
		}
		if a.budget != b.budget {
			return a.budget < b.budget
		}
		return a.seed < b.seed
	})
	for _, g := range keys {
		recs, suffix := groups[g], fmt.Sprintf("%s_%s_seed%d", g.dataset, g.budget, g.seed)
		if g.arch != "lenet" {
			suffix = fmt.Sprintf("%s_%s_%s_seed%d", g.dataset, g.arch, g.budget, g.seed)
		}
		first := len(tables)
		for _, training := range Trainings {
			if len(Select(recs, func(s ModelSpec) bool { return s.Training == training })) == 0 {
				continue
			}
			t2, err := Table2(recs, g.dataset, training)
			if err != nil {
				return "", err
			}
			tables, names = append(tables, t2), append(names, fmt.Sprintf("table2_%s_%s", training, suffix))
			if t3, err := Table3(recs, g.dataset, training); err == nil && len(t3.Rows) > 0 {
				tables, names = append(tables, t3), append(names, fmt.Sprintf("table3_%s_%s", training, suffix))
			}
		}
		rt, err := RejectionTable(recs, g.dataset)
		if err != nil {
			return "", err
		}
		if len(rt.Rows) > 0 {
			tables, names = append(tables, rt), append(names, "rejection_"+suffix)
		}
		st, err := SanityTable(recs, fmt.Sprintf("%s%s: sanity checks of the evaluation (Carlini et al. 2019), main task, gray-box PGD", g.dataset, scope(recs)))
		if err != nil {
			return "", err
		}
		if len(st.Rows) > 0 {
			tables, names = append(tables, st), append(names, "sanity_"+suffix)
		}
		for _, t := range tables[first:] {
			t.Notes = append(t.Notes, staleNotes(recs)...)
		}
	}
	for _, r := range dirs {
		t, err := ARPTable(r)
		if err != nil {
			return "", err
		}
		t.Notes = append(t.Notes, staleNotes([]*Record{r})...)
		tables, names = append(tables, t), append(names, "arp_"+r.Name)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	var md strings.Builder
	md.WriteString("# Tables rendered from the records in figures/results\n\n")
	nStale := 0
	for _, r := range append(append([]*Record(nil), rob...), dirs...) {
		if len(r.Stale) > 0 {
			nStale++
		}
	}
	if nStale > 0 {
		fmt.Fprintf(&md, "**%d of %d records are stale** (computed by other code than the current tree's); each "+
			"table names its stale records under it.\n\n", nStale, len(rob)+len(dirs))
	}
	for i, t := range tables {
		md.WriteString(t.Markdown())
		md.WriteString("\n")
		csv, err := t.CSV()
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(outDir, names[i]+".csv"), []byte(csv), 0o644); err != nil {
			return "", err
		}
	}
	for _, budget := range []string{"quick", "standard", "paper"} {
		h, err := HeadlineMarkdown(rob, dirs, budget)
		if err != nil {
			return "", err
		}
		if h == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(outDir, "headline_"+budget+".md"), []byte(h), 0o644); err != nil {
			return "", err
		}
		md.WriteString(h + "\n")
	}
	return md.String(), os.WriteFile(filepath.Join(outDir, "tables.md"), []byte(md.String()), 0o644)
}

// pairedConditions are the conditions PairedTable compares, in order.
var pairedConditions = []string{"clean", "pgd-targeted", "pgd", "cw", "worst-case", "adaptive"}

// PairedTable compares two models' robustness records evaluated on the same test images (the same
// dataset, budget and seed: e.g. MP-AT against PGD-AT), condition by condition: the main-task accuracy
// (%) of each with its 95% Wilson interval, the difference b - a in points with its 95% interval for
// paired proportions (Newcombe's method 10, metric.McNemar), and the two-sided exact McNemar p-value of
// the per-image outcomes. Columns are named by labelA and labelB. Only conditions both records hold are
// rows; records without per-image outcomes, or evaluated on different images, are an error.
func PairedTable(title, labelA, labelB string, a, b *Record) (*metric.Table, error) {
	_, resA, err := robustnessOf(a)
	if err != nil {
		return nil, err
	}
	_, resB, err := robustnessOf(b)
	if err != nil {
		return nil, err
	}
	condition := func(res RobustnessResults, name string) *Condition {
		for i := range res.Conditions {
			if res.Conditions[i].Name == name {
				return &res.Conditions[i]
			}
		}
		return nil
	}
	type pair struct {
		name string
		a, b *Condition
	}
	var rows []string
	var pairs []pair
	for _, name := range pairedConditions {
		ca, cb := condition(resA, name), condition(resB, name)
		if ca == nil || cb == nil {
			continue
		}
		rows, pairs = append(rows, ConditionTitles[name]), append(pairs, pair{name, ca, cb})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("experiment: paired table %q: records %q and %q share no condition", title, a.Name, b.Name)
	}
	diff, p := labelB+" - "+labelA+" (pp)", "p (McNemar)"
	t, err := metric.NewTable(title, rows, []string{labelA + " %", labelB + " %", diff, p})
	if err != nil {
		return nil, err
	}
	t.Corner, t.Digits, t.PColumns = "condition", 1, []string{p}
	for _, pr := range pairs {
		row := ConditionTitles[pr.name]
		oa, err := pr.a.MainOutcomes()
		if err != nil {
			return nil, fmt.Errorf("experiment: %s: %w", a.Name, err)
		}
		ob, err := pr.b.MainOutcomes()
		if err != nil {
			return nil, fmt.Errorf("experiment: %s: %w", b.Name, err)
		}
		if oa == nil || ob == nil {
			return nil, fmt.Errorf("experiment: paired table %q, %s: %q or %q has no per-image outcomes (main_correct): re-run its robustness evaluation",
				title, row, a.Name, b.Name)
		}
		if len(oa) != len(ob) {
			return nil, fmt.Errorf("experiment: paired table %q, %s: %q has %d images and %q %d: want the same test images", title, row, a.Name, len(oa), b.Name, len(ob))
		}
		for col, o := range map[string][]bool{labelA + " %": oa, labelB + " %": ob} {
			pp := metric.ProportionOf(o)
			if err := t.SetInterval(row, col, 100*pp.Value, 100*pp.Lo, 100*pp.Hi); err != nil {
				return nil, err
			}
		}
		m, err := metric.McNemar(oa, ob)
		if err != nil {
			return nil, err
		}
		if err := t.SetInterval(row, diff, 100*m.Diff, 100*m.Lo, 100*m.Hi); err != nil {
			return nil, err
		}
		if err := t.Set(row, p, m.P); err != nil {
			return nil, err
		}
	}
	t.Notes = append(t.Notes,
		"[lo, hi] of an accuracy: 95% Wilson score interval (Wilson 1927) over the images the condition was run on (CW and the worst case: "+
			"the first heavy_examples).",
		"[lo, hi] of the difference: 95% interval for paired proportions (Newcombe 1998, method 10); p: two-sided exact McNemar test "+
			"(McNemar 1947) of the two models' per-image main-task outcomes on the same images.")
	return t, nil
}

// VulnerabilityTableWithIntervals is VulnerabilityTable with a 95% Wilson interval on every accuracy (the
// "acc <task> (%)" columns; counts TaskAccuracy·N over the record's N test examples) and a note saying
// so, and that the vulnerabilities themselves are point estimates (the record keeps no per-example
// losses to resample).
func VulnerabilityTableWithIntervals(rec *Record) (*metric.Table, error) {
	t, err := VulnerabilityTable(rec)
	if err != nil {
		return nil, err
	}
	res, _ := As[VulnerabilityResults](rec.Results)
	if res.N <= 0 {
		return t, nil
	}
	for _, row := range t.Rows {
		for _, task := range res.Tasks {
			col := "acc " + task + " (%)"
			v, err := t.At(row, col)
			if err != nil || math.IsNaN(v) {
				continue
			}
			k := v / 100 * float64(res.N)
			if math.Abs(k-math.Round(k)) > 1e-6*float64(res.N) {
				return nil, fmt.Errorf("experiment: record %q, %s, %s: accuracy %g%% is not a count over %d examples", rec.Name, row, col, v, res.N)
			}
			lo, hi := metric.Wilson(int(math.Round(k)), res.N, 0.95)
			if err := t.SetInterval(row, col, v, 100*lo, 100*hi); err != nil {
				return nil, err
			}
		}
	}
	t.Notes = append(t.Notes, fmt.Sprintf("[lo, hi]: 95%% Wilson score interval of the accuracy over the n = %d test examples. "+
		"E|dL|, v and the Mao factor are point estimates: the record keeps no per-example losses to resample.", res.N))
	return t, nil
}
