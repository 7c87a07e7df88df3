package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// WorstCaseAttacks are the attacks of the worst-case condition of a robustness record, in the spirit
// of AutoAttack (Croce & Hein 2020): gray-box, on the main task, in this order,
//
//   - the evaluation PGD of the threat model (th.PGD(), its steps as the budget runs them) with
//     Budget.EvalRestarts random restarts (0 = 1);
//   - APGD with the cross-entropy loss;
//   - targeted APGD with the DLR loss, target (y+1) mod K (001's targeted rule; AutoAttack's APGD-T
//     runs one attack per top-9 class, left out for cost);
//
// both APGD with Budget.APGDSteps steps (0 = the evaluation PGD's step count). The quick budget runs
// its evaluation PGD with 2 restarts and 10-step APGD; standard and paper the threat model's PGD
// with 3 and 5 restarts and AutoAttack's 100-step APGD.
func WorstCaseAttacks(th attack.ThreatModel, b Budget) []attack.Attack {
	pgd := th.PGD()
	pgd.Restarts = max(b.EvalRestarts, 1)
	steps := b.APGDSteps
	if steps <= 0 {
		steps = th.Steps
	}
	return []attack.Attack{pgd,
		attack.APGD{Eps: th.Eps, Steps: steps},
		attack.APGD{Eps: th.Eps, Steps: steps, Loss: attack.DLR, Target: attack.NextClass}}
}

// worstCaseName is the Attack of the worst-case condition: the names of its attacks.
func worstCaseName(atks []attack.Attack) string {
	names := make([]string, len(atks))
	for i, a := range atks {
		names[i] = a.Name()
	}
	return "worst of: " + strings.Join(names, "; ")
}

// worstCase returns per-task predictions on the per-image worst case of atks (run against victim
// with the true labels): for every example of test, the predictions on the adversarial image of
// the first attack that makes the main head wrong, or the clean predictions when the main head is
// wrong on the clean image or no attack makes it wrong. So the main task counts as correct only
// where it is correct on the clean image and survives every attack (AutoAttack's rule: a per-image
// AND across attacks), and the other heads and the rejection module are reported on that image.
// As AutoAttack does, each attack runs only on the images that every earlier one left correct
// (the attacks are batch-invariant, so this changes nothing but the cost).
func (m *Model) worstCase(env Env, test *datasets.Dataset, labels, clean [][]int32, atks []attack.Attack, victim attack.Victim, seed int64) ([][]int32, error) {
	out := make([][]int32, len(clean))
	for t := range clean {
		out[t] = append([]int32(nil), clean[t]...)
	}
	var robust []int // examples whose main head every attack so far left correct
	for i := range test.N {
		if clean[0][i] == labels[0][i] {
			robust = append(robust, i)
		}
	}
	for _, atk := range atks {
		if len(robust) == 0 {
			break
		}
		sub, err := test.Subset(robust)
		if err != nil {
			return nil, err
		}
		subLabels := make([][]int32, len(labels))
		for t := range labels {
			subLabels[t] = make([]int32, len(robust))
			for j, i := range robust {
				subLabels[t][j] = labels[t][i]
			}
		}
		adv, err := m.attackImages(env, sub, atk, victim, subLabels, seed)
		if err != nil {
			return nil, err
		}
		preds, err := m.predict(env, adv, sub.N)
		if err != nil {
			return nil, err
		}
		still := robust[:0:0]
		for j, i := range robust {
			if preds[0][j] == labels[0][i] {
				still = append(still, i)
				continue
			}
			for t := range out {
				out[t][i] = preds[t][j]
			}
		}
		robust = still
	}
	return out, nil
}

// SanityExamples is the size of the subset the sanity checks run on: the first SanityExamples
// examples of a record's attack set (all of them when there are fewer). 100 keeps the checks at
// about eight evaluation-PGD runs on 100 images per record.
const SanityExamples = 100

// SanitySlackImages is the statistical slack of the monotonicity checks, in images: each attack
// run draws its own random start, and an image on the decision boundary can come out either way
// between two runs of equal strength, so a rise in accuracy of up to two images of the subset
// (2/n) is tolerated; a rise of three or more is reported as a failure. The large-eps check allows
// the same two images to survive.
const SanitySlackImages = 2

// LargeEps is the budget of the large-eps check: 1 on images in [0,1], so every image is inside
// the ball and an attack that works must reach about zero accuracy.
const LargeEps = 1.0

// SanityCheck is the outcome of one sanity check of Carlini et al., "On Evaluating Adversarial
// Robustness" (2019), on the main task under the gray-box evaluation PGD: the accuracies it
// measured, at the attack settings Eps and Steps (one each per Accuracy entry; Steps 0 is the clean
// image), the tolerance it allowed, and whether it passed.
type SanityCheck struct {
	Name      string    `json:"name"`
	Claim     string    `json:"claim"`
	Eps       []float64 `json:"eps"`
	Steps     []int     `json:"steps"`
	Accuracy  []float64 `json:"accuracy"`
	Tolerance float64   `json:"tolerance"`
	Pass      bool      `json:"pass"`
}

// String is a one-line summary, e.g. "large-eps FAILED: accuracy 0.120 at eps 1 (bound 0.020)".
func (c SanityCheck) String() string {
	verdict := "passed"
	if !c.Pass {
		verdict = "FAILED"
	}
	parts := make([]string, len(c.Accuracy))
	for i, a := range c.Accuracy {
		switch {
		case c.Steps[i] == 0:
			parts[i] = fmt.Sprintf("%.3f clean", a)
		default:
			parts[i] = fmt.Sprintf("%.3f at eps %.4g/PGD-%d", a, c.Eps[i], c.Steps[i])
		}
	}
	return fmt.Sprintf("%s %s: accuracy %s (tolerance %.3f)", c.Name, verdict, strings.Join(parts, ", "), c.Tolerance)
}

// Sanity is the set of sanity checks stored with a robustness record (RunSanity).
type Sanity struct {
	// N is the number of examples the checks ran on (SanityExamples or fewer).
	N      int           `json:"n"`
	Checks []SanityCheck `json:"checks"`
}

// Failed returns the checks that did not pass.
func (s *Sanity) Failed() []SanityCheck {
	if s == nil {
		return nil
	}
	var out []SanityCheck
	for _, c := range s.Checks {
		if !c.Pass {
			out = append(out, c)
		}
	}
	return out
}

// RunSanity runs the sanity checks of Carlini et al. (2019, §5) on the first SanityExamples examples
// of test (the attack set; labels[t] its labels for task t, clean the clean predictions), with the
// evaluation PGD of th (gray-box, main task, th.Steps steps, step th.Alpha at eps th.Eps), the seed
// of the record:
//
//   - eps-zero: PGD at eps 0 has the clean accuracy, exactly (tolerance 0: the attack returns x);
//   - eps-monotone: accuracy does not rise over the eps sweep 0, eps/4, eps/2, eps, 2 eps (the step
//     scaled with eps, so every run is the same attack in a scaled ball);
//   - steps-monotone: PGD with 2 x th.Steps steps at eps is not weaker than with th.Steps;
//   - large-eps: PGD at eps LargeEps (every image reachable; Madry's step 2.5 eps/steps) drives
//     accuracy to about zero.
//
// The monotonicity checks allow a rise of SanitySlackImages images; large-eps allows that many to
// survive. A failure points to a broken evaluation (gradient masking, a wrong step size, a bug):
// the record keeps it and the tables mark the model (see RenderTables).
func (m *Model) RunSanity(env Env, test *datasets.Dataset, labels, clean [][]int32, th attack.ThreatModel, seed int64) (*Sanity, error) {
	n := min(SanityExamples, test.N)
	sub, err := test.Head(n)
	if err != nil {
		return nil, err
	}
	subLabels := make([][]int32, len(labels))
	for t := range labels {
		subLabels[t] = labels[t][:n]
	}
	gray := attack.GrayBox(m.Net)
	accuracy := func(p attack.PGD) (float64, error) {
		adv, err := m.attackImages(env, sub, p, gray, subLabels, seed)
		if err != nil {
			return 0, err
		}
		preds, err := m.predict(env, adv, n)
		if err != nil {
			return 0, err
		}
		return metric.Accuracy(preds[0], subLabels[0])
	}
	cleanAcc, err := metric.Accuracy(clean[0][:n], subLabels[0])
	if err != nil {
		return nil, err
	}
	slack := float64(SanitySlackImages) / float64(n)
	k := th.Steps
	at := func(eps float64, steps int) attack.PGD {
		p := th.PGD()
		p.Eps, p.Alpha, p.Steps = eps, th.Alpha*eps/th.Eps, steps
		return p
	}
	s := &Sanity{N: n}

	// (a) eps 0.
	acc0, err := accuracy(at(0, k))
	if err != nil {
		return nil, err
	}
	s.Checks = append(s.Checks, SanityCheck{Name: "eps-zero", Claim: "PGD at eps 0 has the clean accuracy",
		Eps: []float64{0, 0}, Steps: []int{0, k}, Accuracy: []float64{cleanAcc, acc0}, Pass: acc0 == cleanAcc})

	// (b) the eps sweep.
	sweep := SanityCheck{Name: "eps-monotone", Claim: "accuracy does not rise with eps", Tolerance: slack, Pass: true,
		Eps: []float64{0}, Steps: []int{k}, Accuracy: []float64{acc0}}
	var accEps float64
	for _, f := range []float64{0.25, 0.5, 1, 2} {
		a, err := accuracy(at(f*th.Eps, k))
		if err != nil {
			return nil, err
		}
		if f == 1 {
			accEps = a
		}
		if a > sweep.Accuracy[len(sweep.Accuracy)-1]+slack+1e-12 {
			sweep.Pass = false
		}
		sweep.Eps, sweep.Steps, sweep.Accuracy = append(sweep.Eps, f*th.Eps), append(sweep.Steps, k), append(sweep.Accuracy, a)
	}
	s.Checks = append(s.Checks, sweep)

	// (c) more steps.
	acc2k, err := accuracy(at(th.Eps, 2*k))
	if err != nil {
		return nil, err
	}
	s.Checks = append(s.Checks, SanityCheck{Name: "steps-monotone", Claim: "twice the steps is not weaker",
		Eps: []float64{th.Eps, th.Eps}, Steps: []int{k, 2 * k}, Accuracy: []float64{accEps, acc2k}, Tolerance: slack,
		Pass: acc2k <= accEps+slack+1e-12})

	// (d) a budget that reaches every image.
	large := th.PGD()
	large.Eps, large.Alpha, large.Steps = LargeEps, 2.5*LargeEps/float64(k), k
	accL, err := accuracy(large)
	if err != nil {
		return nil, err
	}
	s.Checks = append(s.Checks, SanityCheck{Name: "large-eps", Claim: fmt.Sprintf("PGD at eps %g (every image reachable) drives accuracy to about 0", LargeEps),
		Eps: []float64{LargeEps}, Steps: []int{k}, Accuracy: []float64{accL}, Tolerance: slack, Pass: accL <= slack+1e-12})
	for _, c := range s.Checks {
		for _, a := range c.Accuracy {
			if math.IsNaN(a) {
				return nil, fmt.Errorf("experiment: sanity check %s: accuracy NaN", c.Name)
			}
		}
	}
	return s, nil
}

// SanityMark marks, in the tables, a model whose robustness record failed a sanity check.
const SanityMark = " †"

// sanityOf returns the sanity checks a robustness record failed (nil when it passed them or
// predates them).
func sanityOf(r *Record) []SanityCheck {
	res, ok := As[RobustnessResults](r.Results)
	if !ok {
		return nil
	}
	return res.Sanity.Failed()
}

// addSanityNote adds to t, whose rows are the records recs labelled by label, a note naming every
// row marked with SanityMark and the checks it failed, with their numbers; nothing when every
// record passed (or predates the checks).
func addSanityNote(t *metric.Table, recs []*Record, label func(ModelSpec) string) {
	if note := sanityNote(recs, label); note != "" {
		t.Notes = append(t.Notes, note)
	}
}

// sanityNote is the note of addSanityNote, or "".
func sanityNote(recs []*Record, label func(ModelSpec) string) string {
	var parts []string
	for _, r := range recs {
		failed := sanityOf(r)
		if len(failed) == 0 {
			continue
		}
		spec, _ := As[ModelSpec](r.Config)
		var cs []string
		for _, c := range failed {
			cs = append(cs, c.String())
		}
		parts = append(parts, label(spec)+": "+strings.Join(cs, "; "))
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: the record failed a sanity check of the evaluation (Carlini et al. 2019; its numbers are suspect): %s.",
		strings.TrimSpace(SanityMark), strings.Join(parts, "; "))
}

// SanityTable renders the sanity checks of robustness records (rows labelled "training, tasks",
// with SanityMark where a check failed): the accuracy change from clean to PGD at eps 0, the
// largest change between consecutive budgets of the eps sweep and the change with twice the steps
// (all in percentage points; negative where accuracy fell; eps-zero passes at 0, the other two at
// up to SanitySlackImages images of the subset), the accuracy at eps LargeEps (%) and the number
// of failed checks. Records without checks have no row.
func SanityTable(recs []*Record, title string) (*metric.Table, error) {
	cols := []string{"eps 0 - clean (pp)", "max rise over eps (pp)", "rise with 2x steps (pp)", fmt.Sprintf("accuracy at eps %g (%%)", LargeEps), "failed checks"}
	type row struct {
		name string
		v    []float64
	}
	var rows []row
	for _, r := range recs {
		spec, res, err := robustnessOf(r)
		if err != nil {
			return nil, err
		}
		if res.Sanity == nil {
			continue
		}
		v := []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), float64(len(res.Sanity.Failed()))}
		for _, c := range res.Sanity.Checks {
			a := c.Accuracy
			switch c.Name {
			case "eps-zero":
				v[0] = 100 * (a[1] - a[0])
			case "eps-monotone":
				rise := math.Inf(-1)
				for i := 1; i < len(a); i++ {
					rise = max(rise, a[i]-a[i-1])
				}
				v[1] = 100 * rise
			case "steps-monotone":
				v[2] = 100 * (a[1] - a[0])
			case "large-eps":
				v[3] = 100 * a[0]
			}
		}
		name := spec.Training + ", " + comboOf(spec)
		if len(res.Sanity.Failed()) > 0 {
			name += SanityMark
		}
		rows = append(rows, row{name, v})
	}
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.name
	}
	t, err := metric.NewTable(title, names, cols)
	if err != nil {
		return nil, err
	}
	t.Corner = "Model"
	for _, r := range rows {
		if err := t.SetRow(r.name, r.v); err != nil {
			return nil, err
		}
	}
	return t, nil
}
