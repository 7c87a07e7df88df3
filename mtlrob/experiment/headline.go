package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/reject"
)

// The headline report: the three questions the README and the notebooks answer, each with its effect
// size, interval and p-value, from the records of HeadlineGrid (render-only: it reads records).

// HeadlineConditions are the robustness conditions the first question compares, in order.
var HeadlineConditions = []string{"clean", "pgd", "pgd-targeted", "cw", "worst-case"}

// SeedComparison is one seed's paired comparison of two models on the same test images.
type SeedComparison struct {
	Seed    int64                `json:"seed"`
	A, B    metric.Proportion    // accuracy of the first (main only) and second (multi-task) model
	McNemar metric.McNemarResult `json:"mcnemar"`
}

// ConditionComparison collects a condition's per-seed comparisons and their summary across seeds.
type ConditionComparison struct {
	Condition string           `json:"condition"`
	Seeds     []SeedComparison `json:"seeds"`
	// MeanA, SDA, MeanB, SDB: accuracy mean and sample standard deviation across seeds; MeanDiff and
	// SDDiff those of the paired differences B - A; the t-interval of the mean difference (n-1 degrees
	// of freedom, NaN below two seeds); PooledP the exact McNemar p of the discordant pairs of all seeds
	// together (the seeds' images are disjoint model pairs, so the pooled counts remain paired).
	MeanA, SDA, MeanB, SDB  float64
	MeanDiff, SDDiff        float64
	DiffLo, DiffHi, PooledP float64
	PooledB01, PooledB10    int
}

// CompareMultiTask compares, condition by condition, main-only and multi-task robustness records of
// the same training, dataset and architecture, seed by seed (records of other seeds are ignored).
func CompareMultiTask(recs []*Record, dataset, arch, training string, aux []string) ([]ConditionComparison, error) {
	type pair struct{ a, b *RobustnessResults }
	bySeed := map[int64]*pair{}
	for _, r := range recs {
		spec, res, err := robustnessOf(r)
		if err != nil {
			return nil, err
		}
		if spec.Dataset != dataset || spec.Training != training || archName(spec.Arch) != archName(arch) {
			continue
		}
		p := bySeed[spec.Seed]
		if p == nil {
			p = &pair{}
			bySeed[spec.Seed] = p
		}
		switch {
		case len(spec.Aux) == 0:
			p.a = &res
		case slices.Equal(spec.Aux, aux):
			p.b = &res
		}
	}
	var seeds []int64
	for s, p := range bySeed {
		if p.a != nil && p.b != nil {
			seeds = append(seeds, s)
		}
	}
	sort.Slice(seeds, func(i, j int) bool { return seeds[i] < seeds[j] })
	var out []ConditionComparison
	for _, name := range HeadlineConditions {
		cc := ConditionComparison{Condition: name}
		for _, s := range seeds {
			a, b := condition(bySeed[s].a, name), condition(bySeed[s].b, name)
			if a == nil || b == nil {
				continue
			}
			oa, err := a.MainOutcomes()
			if err != nil {
				return nil, err
			}
			ob, err := b.MainOutcomes()
			if err != nil {
				return nil, err
			}
			if oa == nil || ob == nil {
				continue
			}
			mc, err := metric.McNemar(oa, ob)
			if err != nil {
				return nil, fmt.Errorf("experiment: seed %d, %s: %w", s, name, err)
			}
			cc.Seeds = append(cc.Seeds, SeedComparison{Seed: s, A: metric.ProportionOf(oa), B: metric.ProportionOf(ob), McNemar: mc})
		}
		if len(cc.Seeds) == 0 {
			continue
		}
		var as, bs, ds []float64
		for _, sc := range cc.Seeds {
			as, bs, ds = append(as, sc.A.Value), append(bs, sc.B.Value), append(ds, sc.B.Value-sc.A.Value)
			cc.PooledB01 += sc.McNemar.B01
			cc.PooledB10 += sc.McNemar.B10
		}
		cc.MeanA, cc.SDA = metric.MeanSD(as)
		cc.MeanB, cc.SDB = metric.MeanSD(bs)
		cc.MeanDiff, cc.SDDiff = metric.MeanSD(ds)
		cc.DiffLo, cc.DiffHi = math.NaN(), math.NaN()
		if n := len(ds); n >= 2 {
			half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975) * cc.SDDiff / math.Sqrt(float64(n))
			cc.DiffLo, cc.DiffHi = cc.MeanDiff-half, cc.MeanDiff+half
		}
		cc.PooledP = metric.McNemarP(cc.PooledB01, cc.PooledB10)
		out = append(out, cc)
	}
	return out, nil
}

func archName(a string) string {
	if a == "" {
		return "lenet"
	}
	return a
}

func condition(res *RobustnessResults, name string) *Condition {
	for i := range res.Conditions {
		if res.Conditions[i].Name == name {
			return &res.Conditions[i]
		}
	}
	return nil
}

// RejectionGain is the effect of the rejection module (k = 1) on one seed's adversarial condition: the
// accuracy without it, with it (a rejected input counted as defended), the exact McNemar p of the
// difference (the discordant images are the wrong-and-rejected ones, which only rejection defends:
// B10 = RejectedWrong, B01 = 0) and the clean inputs it refuses.
type RejectionGain struct {
	Seed                int64
	Condition           string
	Without, With       metric.Proportion
	P                   float64
	CleanFalseRejection metric.Proportion // correct clean inputs rejected, over correct clean inputs
}

// RejectionGains reads the rejection reports (k = 1) of the multi-task records of a training.
func RejectionGains(recs []*Record, dataset, arch, training string, aux []string, conditions []string) ([]RejectionGain, error) {
	var out []RejectionGain
	for _, r := range recs {
		spec, res, err := robustnessOf(r)
		if err != nil {
			return nil, err
		}
		if spec.Dataset != dataset || spec.Training != training || archName(spec.Arch) != archName(arch) || !slices.Equal(spec.Aux, aux) {
			continue
		}
		for _, name := range conditions {
			c := condition(&res, name)
			if c == nil || len(c.Rejection) == 0 {
				continue
			}
			rep := c.Rejection[0]
			adv := rep.Adversarial
			g := RejectionGain{Seed: spec.Seed, Condition: name,
				Without: metric.NewProportion(adv.Correct, adv.N),
				With:    metric.NewProportion(adv.AcceptedCorrect+adv.Rejected, adv.N),
				P:       metric.McNemarP(0, adv.RejectedWrong)}
			g.CleanFalseRejection = falseRejections(rep.Clean)
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seed < out[j].Seed })
	return out, nil
}

func falseRejections(s reject.Split) metric.Proportion {
	return metric.NewProportion(s.Rejected-s.RejectedWrong, s.Correct)
}

// DirectionComparison compares DGBA with another direction at one eps on one seed's records: the ARP of
// both (004 Eq. 10 over every head's accuracy), their difference DGBA - other (positive: DGBA degrades
// the tasks more, i.e. is stronger) with a paired bootstrap interval and p-value over the test images.
type DirectionComparison struct {
	Seed              int64
	Eps               float64
	Other             string
	ARPDGBA, ARPOther float64
	Diff, Lo, Hi, P   float64
}

// CompareDirections compares DGBA with every other direction at every eps of the direction records of
// dataset, architecture and training that carry per-image outcomes, with reps bootstrap resamples.
func CompareDirections(recs []*Record, dataset, arch, training string, reps int) ([]DirectionComparison, error) {
	var out []DirectionComparison
	for _, r := range recs {
		spec, ok := As[ModelSpec](r.Config)
		res, ok2 := As[DirectionsResults](r.Results)
		if !ok || !ok2 {
			return nil, fmt.Errorf("experiment: record %q is not a direction comparison", r.Name)
		}
		if spec.Dataset != dataset || spec.Training != training || archName(spec.Arch) != archName(arch) || len(res.CleanCorrect) == 0 {
			continue
		}
		clean, err := decodeAll(res.CleanCorrect)
		if err != nil {
			return nil, fmt.Errorf("experiment: %s: %w", r.Name, err)
		}
		byKey := map[string]*DirectionRun{}
		var epss []float64
		for i := range res.Runs {
			run := &res.Runs[i]
			byKey[fmt.Sprintf("%s@%g", run.Direction, run.Eps)] = run
			if !slices.Contains(epss, run.Eps) {
				epss = append(epss, run.Eps)
			}
		}
		for _, eps := range epss {
			dg := byKey[fmt.Sprintf("%s@%g", "DGBA", eps)]
			if dg == nil {
				continue
			}
			a, err := decodeAll(dg.TaskCorrect)
			if err != nil {
				return nil, fmt.Errorf("experiment: %s: %w", r.Name, err)
			}
			for _, run := range res.Runs {
				if run.Eps != eps || run.Direction == "DGBA" || len(run.TaskCorrect) == 0 {
					continue
				}
				b, err := decodeAll(run.TaskCorrect)
				if err != nil {
					return nil, fmt.Errorf("experiment: %s: %w", r.Name, err)
				}
				d := bootstrapARP(clean, a, b, reps, uint64(spec.Seed))
				d.Seed, d.Eps, d.Other = spec.Seed, eps, run.Direction
				out = append(out, d)
			}
		}
	}
	return out, nil
}

func decodeAll(enc []string) ([][]bool, error) {
	out := make([][]bool, len(enc))
	for t, s := range enc {
		var err error
		if out[t], err = metric.DecodeOutcomes(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// arpOf is 004 Eq. 10 over every task's accuracy, on the images idx (nil: all of them).
func arpOf(clean, adv [][]bool, idx []int) float64 {
	before, after := make([]float64, len(clean)), make([]float64, len(clean))
	for t := range clean {
		var c, a int
		n := len(clean[t])
		if idx != nil {
			n = len(idx)
		}
		for k := 0; k < n; k++ {
			i := k
			if idx != nil {
				i = idx[k]
			}
			if clean[t][i] {
				c++
			}
			if adv[t][i] {
				a++
			}
		}
		before[t], after[t] = float64(c)/float64(n), float64(a)/float64(n)
	}
	meas, err := metric.AccuracyMeasurements(before, after)
	if err != nil {
		return math.NaN()
	}
	v, err := metric.ARP(meas)
	if err != nil {
		return math.NaN()
	}
	return v
}

// arpBootstrapReps is the number of bootstrap resamples of the ARP intervals in ARPTable.
const arpBootstrapReps = 1000

// bootstrapARPInterval is the 95% percentile bootstrap interval of ARP (004 Eq. 10) over images, the clean
// and attacked outcomes of an image resampled together, with a fixed seed so that a table renders the same
// way each time.
func bootstrapARPInterval(clean, adv [][]bool, reps int, seed uint64) (lo, hi float64) {
	n := len(clean[0])
	rng := rand.New(rand.NewPCG(seed, 0x41525049)) // "ARPI"
	vals := make([]float64, 0, reps)
	idx := make([]int, n)
	for range reps {
		for k := range idx {
			idx[k] = rng.IntN(n)
		}
		if v := arpOf(clean, adv, idx); !math.IsNaN(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return math.NaN(), math.NaN()
	}
	sort.Float64s(vals)
	q := func(p float64) float64 { return vals[int(p*float64(len(vals)-1))] }
	return q(0.025), q(0.975)
}

// bootstrapARP is the paired bootstrap of ARP(dgba) - ARP(other) over images (the same resampled images
// for the clean and both attacked outcomes): percentile 95% interval and the two-sided p-value
// 2 min(P(diff* <= 0), P(diff* >= 0)), floored at 1/reps.
func bootstrapARP(clean, dgba, other [][]bool, reps int, seed uint64) DirectionComparison {
	d := DirectionComparison{ARPDGBA: arpOf(clean, dgba, nil), ARPOther: arpOf(clean, other, nil)}
	d.Diff = d.ARPDGBA - d.ARPOther
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	d.Lo, d.Hi, d.P = pairedBootstrap(len(clean[0]), reps, rng, func(idx []int) float64 {
		return arpOf(clean, dgba, idx) - arpOf(clean, other, idx)
	})
	return d
}

// pairedBootstrap resamples n images with replacement reps times (rng) and evaluates diff on each
// resample (NaN resamples are skipped): the percentile 95% interval of diff and the two-sided p-value
// 2 min(P(diff* <= 0), P(diff* >= 0)), floored at one over the resamples kept. No resample kept gives NaNs.
func pairedBootstrap(n, reps int, rng *rand.Rand, diff func(idx []int) float64) (lo, hi, p float64) {
	idx := make([]int, n)
	diffs := make([]float64, 0, reps)
	le, ge := 0, 0
	for range reps {
		for k := range idx {
			idx[k] = rng.IntN(n)
		}
		x := diff(idx)
		if math.IsNaN(x) {
			continue
		}
		diffs = append(diffs, x)
		if x <= 0 {
			le++
		}
		if x >= 0 {
			ge++
		}
	}
	if len(diffs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	sort.Float64s(diffs)
	lo, hi = diffs[int(0.025*float64(len(diffs)-1))], diffs[int(0.975*float64(len(diffs)-1))]
	return lo, hi, math.Max(math.Min(1, 2*float64(min(le, ge))/float64(len(diffs))), 1/float64(len(diffs)))
}

// pct formats a proportion as "91.8 [91.2, 92.3]".
func pct(p metric.Proportion) string {
	return fmt.Sprintf("%.1f [%.1f, %.1f]", 100*p.Value, 100*p.Lo, 100*p.Hi)
}

// HeadlineMarkdown renders the three answers from the records under resultsDir (robustness and
// direction records of HeadlineGrid for budget), or "" when there are none.
func HeadlineMarkdown(rob, dirs []*Record, budget string) (string, error) {
	const dataset, arch = "fashion-mnist", "smallcnn"
	var sel, dsel []*Record
	for _, r := range rob {
		if s, ok := As[ModelSpec](r.Config); ok && s.Budget.Name == budget {
			sel = append(sel, r)
		}
	}
	// The third question is asked of the Fashion-MNIST small CNNs only (the paper grid's MNIST direction
	// records use another eps scale).
	for _, r := range dirs {
		if s, ok := As[ModelSpec](r.Config); ok && s.Budget.Name == budget && s.Dataset == dataset && archName(s.Arch) == arch {
			dsel = append(dsel, r)
		}
	}
	// The headline datasets with the auxiliary tasks of their multi-task models; Fashion-MNIST's answers
	// are required, MNIST's are shown when its records exist.
	rows := []struct {
		dataset, title string
		aux            []string
	}{{"fashion-mnist", "Fashion-MNIST", []string{"category", "region"}}, {"mnist", "MNIST", []string{"parity", "prime"}}}
	cmps := make([][]ConditionComparison, len(rows))
	for i, row := range rows {
		c, err := CompareMultiTask(sel, row.dataset, arch, "pgd-at", row.aux)
		if err != nil {
			return "", err
		}
		cmps[i] = c
	}
	if len(cmps[0]) == 0 {
		return "", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Headline answers (%s budget, small CNN)\n\n", budget)
	fmt.Fprintf(&b, "Rendered from the records of `mtlrob grid -grid headline -budget %s` by `mtlrob tables`. "+
		"Accuracies in %% with 95%% Wilson intervals; p-values are exact McNemar tests on the same test images "+
		"(per seed, and pooled over seeds); across seeds: mean ± sample sd, and the 95%% t-interval of the mean "+
		"paired difference.\n\n", budget)
	for _, r := range append(append([]*Record(nil), sel...), dsel...) {
		if s, ok := As[ModelSpec](r.Config); ok && len(r.Stale) > 0 && archName(s.Arch) == arch {
			fmt.Fprintf(&b, "**STALE:** %s (%s)\n\n", r.Name, strings.Join(r.Stale, "; "))
		}
	}
	b.WriteString("## 1. Does multi-task PGD-AT beat main-only PGD-AT? (001 Table 2)\n\n")
	for i, row := range rows {
		if len(cmps[i]) == 0 {
			continue
		}
		multi := "main+" + strings.Join(row.aux, "+")
		fmt.Fprintf(&b, "### %s: main only vs %s\n\n", row.title, multi)
		fmt.Fprintf(&b, "| condition | seed | main only | %s | difference (pp) [95%% CI] | McNemar p |\n|---|---|---|---|---|---|\n", multi)
		for _, cc := range cmps[i] {
			title := ConditionTitles[cc.Condition]
			if title == "" {
				title = cc.Condition
			}
			for _, s := range cc.Seeds {
				fmt.Fprintf(&b, "| %s (n = %d) | %d | %s | %s | %+.1f [%+.1f, %+.1f] | %s |\n", title, s.A.N, s.Seed, pct(s.A), pct(s.B),
					100*s.McNemar.Diff, 100*s.McNemar.Lo, 100*s.McNemar.Hi, metric.FormatP(s.McNemar.P))
			}
			if len(cc.Seeds) < 2 {
				continue // one seed: its row above is all there is
			}
			fmt.Fprintf(&b, "| **%s** | **mean ± sd of %d** | %.1f ± %.1f | %.1f ± %.1f | %+.1f ± %.1f [%+.1f, %+.1f] | pooled %s |\n", title,
				len(cc.Seeds), 100*cc.MeanA, 100*cc.SDA, 100*cc.MeanB, 100*cc.SDB, 100*cc.MeanDiff, 100*cc.SDDiff,
				100*cc.DiffLo, 100*cc.DiffHi, metric.FormatP(cc.PooledP))
		}
		b.WriteString("\n")
	}
	wroteRejection := false
	for i, row := range rows {
		if len(cmps[i]) == 0 {
			continue
		}
		gains, err := RejectionGains(sel, row.dataset, arch, "pgd-at", row.aux, []string{"pgd", "pgd-targeted", "worst-case", "adaptive"})
		if err != nil {
			return "", err
		}
		if len(gains) == 0 {
			continue
		}
		if !wroteRejection {
			b.WriteString("## 2. Does rejection (k = 1) raise PGD-AT accuracy, and what survives the adaptive attack? (001 Fig. 4)\n\n")
			b.WriteString("Accuracy with rejection counts a rejected input as defended; its only discordant images are the wrong and " +
				"rejected ones, so the McNemar p tests whether the module catches more than chance would. The cost: correct " +
				"clean inputs refused.\n\n")
			wroteRejection = true
		}
		fmt.Fprintf(&b, "### %s, main+%s\n\n", row.title, strings.Join(row.aux, "+"))
		b.WriteString("| seed | condition | without rejection | with rejection | gain (pp) | McNemar p | clean false rejections |\n|---|---|---|---|---|---|---|\n")
		for _, g := range gains {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %+.1f | %s | %s |\n", g.Seed, g.Condition, pct(g.Without), pct(g.With),
				100*(g.With.Value-g.Without.Value), metric.FormatP(g.P), pct(g.CleanFalseRejection))
		}
		b.WriteString("\n")
	}
	dc, err := CompareDirections(dsel, dataset, arch, "natural", 1000)
	if err != nil {
		return "", err
	}
	if len(dc) > 0 {
		b.WriteString("## 3. Is DGBA the strongest direction? (004: I-FGSM, white-box on every head, natural three-task model)\n\n")
		b.WriteString(directionsMarkdown(dsel, dc))
	}
	return b.String(), nil
}

// directionsMarkdown renders the direction comparison compactly: the ARP of every direction at every
// eps (mean ± sd over seeds), then DGBA − other per eps: the mean difference over seeds and how many
// seeds' paired bootstraps find DGBA significantly stronger (p < 0.05, difference > 0) or weaker.
func directionsMarkdown(recs []*Record, dc []DirectionComparison) string {
	var dirs []string
	var epss []float64
	arps := map[string][]float64{}
	for _, r := range recs {
		spec, _ := As[ModelSpec](r.Config)
		res, ok := As[DirectionsResults](r.Results)
		if !ok || spec.Training != "natural" || archName(spec.Arch) != "smallcnn" {
			continue
		}
		for _, run := range res.Runs {
			if !slices.Contains(dirs, run.Direction) {
				dirs = append(dirs, run.Direction)
			}
			if !slices.Contains(epss, run.Eps) {
				epss = append(epss, run.Eps)
			}
			k := fmt.Sprintf("%s@%g", run.Direction, run.Eps)
			arps[k] = append(arps[k], run.ARP)
		}
	}
	slices.Sort(epss)
	var b strings.Builder
	b.WriteString("ARP (004 Eq. 10: the mean relative accuracy drop of the heads, %), mean ± sd over seeds:\n\n| direction |")
	for _, e := range epss {
		fmt.Fprintf(&b, " %s |", EpsLabel(e))
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(epss)) + "\n")
	for _, d := range dirs {
		fmt.Fprintf(&b, "| %s |", d)
		for _, e := range epss {
			m, sd := metric.MeanSD(arps[fmt.Sprintf("%s@%g", d, e)])
			if math.IsNaN(sd) {
				sd = 0
			}
			fmt.Fprintf(&b, " %.1f ± %.1f |", m, sd)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nDGBA − other direction (ARP points; positive: DGBA stronger): mean over seeds, then the seeds whose paired " +
		"bootstrap over the test images (1000 resamples) finds DGBA significantly stronger / weaker (p < 0.05):\n\n| other |")
	for _, e := range epss {
		fmt.Fprintf(&b, " %s |", EpsLabel(e))
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(epss)) + "\n")
	for _, d := range dirs {
		if d == "DGBA" {
			continue
		}
		fmt.Fprintf(&b, "| %s |", d)
		for _, e := range epss {
			var diffs []float64
			stronger, weaker := 0, 0
			for _, c := range dc {
				if c.Other != d || c.Eps != e {
					continue
				}
				diffs = append(diffs, c.Diff)
				if c.P < 0.05 && c.Diff > 0 {
					stronger++
				} else if c.P < 0.05 && c.Diff < 0 {
					weaker++
				}
			}
			m, _ := metric.MeanSD(diffs)
			fmt.Fprintf(&b, " %+.1f (%d/%d stronger, %d weaker) |", m, stronger, len(diffs), weaker)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// DirectionComparisonTable lays out CompareDirections' comparisons of one record (one seed): a row per
// direction compared with DGBA, a column per eps holding ARP(DGBA) - ARP(direction) in points with its
// 95% paired-bootstrap interval (positive: DGBA stronger), then a column "p eps ..." per eps with the
// bootstrap p-value. Comparisons of several seeds are an error (HeadlineMarkdown summarises seeds).
func DirectionComparisonTable(title string, cmp []DirectionComparison) (*metric.Table, error) {
	if len(cmp) == 0 {
		return nil, fmt.Errorf("experiment: direction table %q: no comparisons (records without per-image outcomes have none)", title)
	}
	var rows []string
	var eps []float64
	for _, c := range cmp {
		if c.Seed != cmp[0].Seed {
			return nil, fmt.Errorf("experiment: direction table %q: seeds %d and %d: want one record's comparisons", title, cmp[0].Seed, c.Seed)
		}
		if !slices.Contains(rows, c.Other) {
			rows = append(rows, c.Other)
		}
		if !slices.Contains(eps, c.Eps) {
			eps = append(eps, c.Eps)
		}
	}
	slices.Sort(eps)
	var cols, pcols []string
	for _, e := range eps {
		cols = append(cols, EpsLabel(e))
		pcols = append(pcols, "p "+EpsLabel(e))
	}
	t, err := metric.NewTable(title, rows, append(cols, pcols...))
	if err != nil {
		return nil, err
	}
	t.Corner, t.Digits, t.PColumns = "DGBA minus", 1, pcols
	for _, c := range cmp {
		if err := t.SetInterval(c.Other, EpsLabel(c.Eps), c.Diff, c.Lo, c.Hi); err != nil {
			return nil, err
		}
		if err := t.Set(c.Other, "p "+EpsLabel(c.Eps), c.P); err != nil {
			return nil, err
		}
	}
	t.Notes = append(t.Notes, "ARP(DGBA) - ARP(direction) in points, positive when DGBA is the stronger attack; [lo, hi]: 95% percentile interval "+
		"and p: two-sided p-value of the paired bootstrap over test images (the clean and both attacked outcomes of an image resampled together; "+
		"p is floored at 1/resamples, so the smallest value shown is at most that).")
	return t, nil
}

// ModelARPComparison is one eps of CompareModelsARP: the ARP (004 Eq. 10, %) of one attack direction on
// two models, their difference B - A in points, its 95% percentile interval and two-sided p-value from
// a paired bootstrap over the test images (each model's clean and attacked outcomes of an image resampled
// together; p floored at 1/reps).
type ModelARPComparison struct {
	Eps              float64
	ARPA, ARPB       float64
	Diff, Lo, Hi, P  float64
	Direction        string
	RecordA, RecordB string // the records' names
}

// CompareModelsARP compares how much one direction hurts two models, eps by eps, from their direction
// records (LoadOrCompareDirections) on the same test images: e.g. DGBA against a FAT-DGBA model and a
// PGD-AT one (004 Table 3). Records without per-image outcomes, of different images, or without the
// direction are an error.
func CompareModelsARP(a, b *Record, direction string, reps int) ([]ModelARPComparison, error) {
	type side struct {
		clean [][]bool
		runs  map[float64][][]bool
		n     int
	}
	load := func(r *Record) (side, error) {
		res, ok := As[DirectionsResults](r.Results)
		if !ok {
			return side{}, fmt.Errorf("experiment: record %q is not a direction comparison", r.Name)
		}
		clean, err := decodeAll(res.CleanCorrect)
		if err != nil || len(clean) == 0 {
			return side{}, fmt.Errorf("experiment: record %q: no per-image clean outcomes (%v)", r.Name, err)
		}
		s := side{clean: clean, runs: map[float64][][]bool{}, n: len(clean[0])}
		for _, run := range res.Runs {
			if run.Direction != direction {
				continue
			}
			adv, err := decodeAll(run.TaskCorrect)
			if err != nil || len(adv) != len(clean) {
				return side{}, fmt.Errorf("experiment: record %q, %s at eps %g: per-image outcomes of %d tasks for %d (%v)", r.Name, direction, run.Eps, len(adv), len(clean), err)
			}
			s.runs[run.Eps] = adv
		}
		if len(s.runs) == 0 {
			return side{}, fmt.Errorf("experiment: record %q has no run of direction %q", r.Name, direction)
		}
		return s, nil
	}
	sa, err := load(a)
	if err != nil {
		return nil, err
	}
	sb, err := load(b)
	if err != nil {
		return nil, err
	}
	if sa.n != sb.n {
		return nil, fmt.Errorf("experiment: records %q and %q hold %d and %d images: want the same test images", a.Name, b.Name, sa.n, sb.n)
	}
	var epss []float64
	for e := range sa.runs {
		if _, ok := sb.runs[e]; ok {
			epss = append(epss, e)
		}
	}
	slices.Sort(epss)
	out := make([]ModelARPComparison, 0, len(epss))
	for _, e := range epss {
		c := ModelARPComparison{Eps: e, Direction: direction, RecordA: a.Name, RecordB: b.Name,
			ARPA: arpOf(sa.clean, sa.runs[e], nil), ARPB: arpOf(sb.clean, sb.runs[e], nil)}
		c.Diff = c.ARPB - c.ARPA
		rng := rand.New(rand.NewPCG(uint64(reps), math.Float64bits(e)))
		c.Lo, c.Hi, c.P = pairedBootstrap(sa.n, reps, rng, func(idx []int) float64 {
			return arpOf(sb.clean, sb.runs[e], idx) - arpOf(sa.clean, sa.runs[e], idx)
		})
		out = append(out, c)
	}
	return out, nil
}

// ModelARPTable lays out CompareModelsARP's comparisons: a row per eps with each model's ARP, the
// difference (labelB - labelA, points) with its interval, and its p-value.
func ModelARPTable(title, labelA, labelB string, cmp []ModelARPComparison) (*metric.Table, error) {
	if len(cmp) == 0 {
		return nil, fmt.Errorf("experiment: model table %q: no comparisons", title)
	}
	rows := make([]string, len(cmp))
	for i, c := range cmp {
		rows[i] = EpsLabel(c.Eps)
	}
	diff, p := labelB+" - "+labelA+" (points)", "p (paired bootstrap)"
	t, err := metric.NewTable(title, rows, []string{"ARP " + labelA, "ARP " + labelB, diff, p})
	if err != nil {
		return nil, err
	}
	t.Corner, t.Digits, t.PColumns = cmp[0].Direction, 1, []string{p}
	for i, c := range cmp {
		if err := t.SetRow(rows[i], []float64{c.ARPA, c.ARPB, c.Diff, c.P}); err != nil {
			return nil, err
		}
		if err := t.SetInterval(rows[i], diff, c.Diff, c.Lo, c.Hi); err != nil {
			return nil, err
		}
	}
	t.Notes = append(t.Notes, "ARP (004 Eq. 10, %): the mean relative accuracy drop of the heads under the direction's I-FGSM; a lower ARP is a "+
		"more robust model. [lo, hi] and p: paired bootstrap over the test images (each model's clean and attacked outcomes of an image "+
		"resampled together; p floored at 1/resamples).")
	return t, nil
}
