package metric

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the level of the confidence intervals the workbench reports: 95%.
const Confidence = 0.95

// z returns the two-sided standard normal quantile of level, Φ⁻¹(1 - (1-level)/2): 1.959964 for 0.95.
func z(level float64) float64 { return distuv.UnitNormal.Quantile(1 - (1-level)/2) }

// Wilson returns the Wilson score interval for a binomial proportion with the given number of
// successes out of n trials, at confidence level (e.g. 0.95): the set of p whose score test
// |p̂ - p| / sqrt(p(1-p)/n) <= z does not reject, in closed form
//
//	(p̂ + z²/2n ± z sqrt(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n),  z = Φ⁻¹(1 - (1-level)/2),
//
// (E. B. Wilson, "Probable inference, the law of succession, and statistical inference", JASA 22,
// 1927; method 3 of R. G. Newcombe, "Two-sided confidence intervals for the single proportion",
// Statistics in Medicine 17, 1998, whose Table I the tests reproduce). Unlike the Wald interval it
// stays inside [0, 1] and keeps close to its nominal coverage near 0 and 1, where robust accuracies
// live. lo is exactly 0 when successes = 0 and hi exactly 1 when successes = n.
//
// n = 0 carries no information and gives (0, 1). successes outside [0, n], a negative n, or a level
// outside (0, 1) give (NaN, NaN).
func Wilson(successes, n int, level float64) (lo, hi float64) {
	if n < 0 || successes < 0 || successes > n || !(level > 0 && level < 1) {
		return math.NaN(), math.NaN()
	}
	if n == 0 {
		return 0, 1
	}
	zz := z(level)
	nf := float64(n)
	p := float64(successes) / nf
	z2n := zz * zz / nf
	center := (p + z2n/2) / (1 + z2n)
	half := zz / (1 + z2n) * math.Sqrt(p*(1-p)/nf+z2n/(4*nf))
	lo, hi = math.Max(0, center-half), math.Min(1, center+half)
	if successes == 0 {
		lo = 0
	}
	if successes == n {
		hi = 1
	}
	return lo, hi
}

// Proportion is an observed proportion K/N (an accuracy: K correct of N images) with its 95% Wilson
// score interval [Lo, Hi] (Wilson at Confidence). Value, Lo and Hi are fractions in [0, 1].
type Proportion struct {
	K     int     `json:"k"`
	N     int     `json:"n"`
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

// NewProportion returns k/n with its 95% Wilson interval. n = 0 gives Value 0 and the uninformative
// interval [0, 1] (so that the value still encodes as JSON: check N); k outside [0, n] gives NaN
// fields.
func NewProportion(k, n int) Proportion {
	pr := Proportion{K: k, N: n}
	pr.Lo, pr.Hi = Wilson(k, n, Confidence)
	switch {
	case math.IsNaN(pr.Lo):
		pr.Value = math.NaN()
	case n > 0:
		pr.Value = float64(k) / float64(n)
	}
	return pr
}

// ProportionOf returns the proportion of true values in outcomes (e.g. per-image correctness) with
// its 95% Wilson interval.
func ProportionOf(outcomes []bool) Proportion {
	k := 0
	for _, ok := range outcomes {
		if ok {
			k++
		}
	}
	return NewProportion(k, len(outcomes))
}

// String renders the proportion in percent with its interval, "91.8% [91.2, 92.3]" (one decimal),
// or "n = 0" when there is nothing to measure.
func (p Proportion) String() string {
	if p.N == 0 {
		return "n = 0"
	}
	if math.IsNaN(p.Value) {
		return fmt.Sprintf("invalid proportion %d/%d", p.K, p.N)
	}
	return fmt.Sprintf("%.1f%% [%.1f, %.1f]", 100*p.Value, 100*p.Lo, 100*p.Hi)
}

// McNemarResult is the paired comparison of two classifiers a and b on the same N images: the 2x2
// table of per-image outcomes, the difference in accuracy Diff = accuracy(b) - accuracy(a) (positive
// when b is better) with its 95% confidence interval [Lo, Hi], and the two-sided exact McNemar
// p-value P for the null hypothesis that both are equally accurate.
type McNemarResult struct {
	N         int `json:"n"`
	BothRight int `json:"both_right"`
	// B01: a right and b wrong; B10: a wrong and b right. Only these discordant pairs inform the test.
	B01       int     `json:"b01"`
	B10       int     `json:"b10"`
	BothWrong int     `json:"both_wrong"`
	Diff      float64 `json:"diff"` // accuracy(b) - accuracy(a) = (B10 - B01) / N
	Lo        float64 `json:"lo"`
	Hi        float64 `json:"hi"`
	P         float64 `json:"p"`
}

// McNemar compares classifiers a and b on paired per-image outcomes (a[i], b[i]: whether each got
// image i right) with the exact two-sided McNemar test: under the null hypothesis of equal accuracy
// each discordant pair is a fair coin, so with m = B01 + B10,
//
//	P = min(1, 2 · P(Bin(m, 1/2) <= min(B01, B10))),
//
// and P = 1 when there are no discordant pairs (Q. McNemar, "Note on the sampling error of the
// difference between correlated proportions or percentages", Psychometrika 12, 1947, in its exact
// binomial form, A. Agresti, Categorical Data Analysis, 3rd ed. §11.1; it equals
// scipy.stats.binomtest(min(B01, B10), m, 0.5).pvalue). The binomial CDF is gonum's distuv.Binomial.
//
// The interval for Diff is Newcombe's square-and-add score interval for paired proportions
// (R. G. Newcombe, "Improved confidence intervals for the difference between binomial proportions
// based on paired data", Statistics in Medicine 17, 1998, method 10; Fagerland, Lydersen & Laake,
// Statistical Analysis of Contingency Tables, 2017, §8.5): the Wilson intervals of both accuracies
// combined through the correlation φ of the paired outcomes, with Newcombe's correction (φ is
// reduced by N/2 in the numerator when positive, and set to 0 when that makes it negative). It stays
// inside [-1, 1] and, unlike the Wald interval, behaves with few discordant pairs.
//
// Swapping a and b keeps P and the counts' roles (B01 and B10 swap), negates Diff, and maps [Lo, Hi]
// to [-Hi, -Lo]. a and b must have the same non-zero length; otherwise the error names both lengths.
func McNemar(a, b []bool) (McNemarResult, error) {
	if len(a) != len(b) {
		return McNemarResult{}, fmt.Errorf("metric: McNemar: a has %d outcomes and b has %d: want one pair per image", len(a), len(b))
	}
	if len(a) == 0 {
		return McNemarResult{}, fmt.Errorf("metric: McNemar: no outcomes")
	}
	r := McNemarResult{N: len(a)}
	for i := range a {
		switch {
		case a[i] && b[i]:
			r.BothRight++
		case a[i]:
			r.B01++
		case b[i]:
			r.B10++
		default:
			r.BothWrong++
		}
	}
	r.P = McNemarP(r.B01, r.B10)
	r.Diff, r.Lo, r.Hi = newcombePaired(r.BothRight, r.B01, r.B10, r.BothWrong, Confidence)
	return r, nil
}

// McNemarP is the exact two-sided McNemar p-value from the discordant counts alone (b01: a right and
// b wrong, b10: a wrong and b right): min(1, 2 · P(Bin(b01+b10, 1/2) <= min(b01, b10))), 1 when both
// are 0, NaN when one is negative. See McNemar.
func McNemarP(b01, b10 int) float64 {
	if b01 < 0 || b10 < 0 {
		return math.NaN()
	}
	m := b01 + b10
	if m == 0 {
		return 1
	}
	cdf := distuv.Binomial{N: float64(m), P: 0.5}.CDF(float64(min(b01, b10)))
	return math.Min(1, 2*cdf)
}

// newcombePaired returns the difference p2 - p1 of the paired proportions p1 = (n11+n12)/n (a's
// accuracy) and p2 = (n11+n21)/n (b's) and its square-and-add interval (Newcombe 1998, method 10);
// n12 counts a right and b wrong, n21 a wrong and b right.
func newcombePaired(n11, n12, n21, n22 int, level float64) (d, lo, hi float64) {
	n := n11 + n12 + n21 + n22
	nf := float64(n)
	p1, p2 := float64(n11+n12)/nf, float64(n11+n21)/nf
	l1, u1 := Wilson(n11+n12, n, level)
	l2, u2 := Wilson(n11+n21, n, level)
	// φ, the correlation of the paired outcomes, with Newcombe's correction of the numerator.
	var phi float64
	if r1, r2, c1, c2 := n11+n12, n21+n22, n11+n21, n12+n22; r1 > 0 && r2 > 0 && c1 > 0 && c2 > 0 {
		den := math.Sqrt(float64(r1) * float64(r2) * float64(c1) * float64(c2))
		switch num := float64(n11)*float64(n22) - float64(n12)*float64(n21); {
		case num > nf/2:
			phi = (num - nf/2) / den
		case num < 0:
			phi = num / den
		}
	}
	sq := func(x, y float64) float64 { return math.Sqrt(math.Max(0, x*x+y*y-2*phi*x*y)) }
	d = float64(n21-n12) / nf // = p2 - p1, without its rounding
	lo = math.Max(-1, d-sq(p2-l2, u1-p1))
	hi = math.Min(1, d+sq(u2-p2, p1-l1))
	return d, lo, hi
}

// PairedBootstrapResult is a paired bootstrap comparison of classifiers a and b on the same N images:
// Diff = accuracy(b) - accuracy(a), the percentile interval [Lo, Hi] of Reps resampled differences
// at 95%, and the two-sided bootstrap p-value P.
type PairedBootstrapResult struct {
	N    int     `json:"n"`
	Reps int     `json:"reps"`
	Seed uint64  `json:"seed"`
	Diff float64 `json:"diff"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
	P    float64 `json:"p"`
}

// PairedBootstrap compares a and b (per-image outcomes, as McNemar) by resampling images with
// replacement reps times (the same resampled images for both classifiers, which keeps the pairing;
// B. Efron & R. Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13 for the percentile
// interval): Lo and Hi are the 2.5% and 97.5% quantiles of the resampled differences, and P =
// min(1, 2 · min(f₋, f₊)) with f₋ and f₊ the fractions of resampled differences <= 0 and >= 0 (the
// percentile-interval inversion; P = 1 when a and b never disagree). The generator is PCG seeded with
// seed, so the result is reproducible. McNemar is exact and preferred; this is the cross-check that
// extends to statistics other than accuracy.
//
// a and b must have the same non-zero length, and reps must be at least 100.
func PairedBootstrap(a, b []bool, reps int, seed uint64) (PairedBootstrapResult, error) {
	if len(a) != len(b) {
		return PairedBootstrapResult{}, fmt.Errorf("metric: PairedBootstrap: a has %d outcomes and b has %d: want one pair per image", len(a), len(b))
	}
	if len(a) == 0 {
		return PairedBootstrapResult{}, fmt.Errorf("metric: PairedBootstrap: no outcomes")
	}
	if reps < 100 {
		return PairedBootstrapResult{}, fmt.Errorf("metric: PairedBootstrap: %d replicates: want at least 100", reps)
	}
	n := len(a)
	delta := make([]int8, n) // b[i] - a[i]
	sum := 0
	for i := range a {
		if a[i] != b[i] {
			if b[i] {
				delta[i] = 1
			} else {
				delta[i] = -1
			}
			sum += int(delta[i])
		}
	}
	r := PairedBootstrapResult{N: n, Reps: reps, Seed: seed, Diff: float64(sum) / float64(n)}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	diffs := make([]float64, reps)
	var le, ge int
	for k := range diffs {
		s := 0
		for range n {
			s += int(delta[rng.IntN(n)])
		}
		if s <= 0 {
			le++
		}
		if s >= 0 {
			ge++
		}
		diffs[k] = float64(s) / float64(n)
	}
	slices.Sort(diffs)
	alpha := 1 - Confidence
	r.Lo = stat.Quantile(alpha/2, stat.Empirical, diffs, nil)
	r.Hi = stat.Quantile(1-alpha/2, stat.Empirical, diffs, nil)
	r.P = math.Min(1, 2*float64(min(le, ge))/float64(reps))
	return r, nil
}

// MeanSD returns the mean and the sample standard deviation (denominator n-1) of xs, via gonum's
// stat.MeanStdDev: the "mean ± sd across seeds" of a headline number. n = 1 gives the value and a
// NaN sd (undefined from one seed); n = 0 gives (NaN, NaN).
func MeanSD(xs []float64) (mean, sd float64) {
	switch len(xs) {
	case 0:
		return math.NaN(), math.NaN()
	case 1:
		return xs[0], math.NaN()
	}
	return stat.MeanStdDev(xs, nil)
}

// Outcomes returns the per-example correctness pred[i] == labels[i]: the input of McNemar and
// ProportionOf. The slices must have the same length.
func Outcomes(pred, labels []int32) ([]bool, error) {
	if len(pred) != len(labels) {
		return nil, fmt.Errorf("metric: Outcomes: %d predictions and %d labels: want one prediction per label", len(pred), len(labels))
	}
	out := make([]bool, len(pred))
	for i := range pred {
		out[i] = pred[i] == labels[i]
	}
	return out, nil
}

// EncodeOutcomes writes per-example outcomes as text for a JSON record: one character per example,
// '1' for true (correct) and '0' for false, in example order.
func EncodeOutcomes(outcomes []bool) string {
	var b strings.Builder
	b.Grow(len(outcomes))
	for _, ok := range outcomes {
		if ok {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

// DecodeOutcomes reads what EncodeOutcomes writes; any character other than '0' and '1' is an error
// naming its position.
func DecodeOutcomes(s string) ([]bool, error) {
	out := make([]bool, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '1':
			out[i] = true
		case '0':
		default:
			return nil, fmt.Errorf("metric: DecodeOutcomes: character %d is %q: want '0' or '1'", i, s[i])
		}
	}
	return out, nil
}

// FormatP renders a p-value for a table: "< 0.001" below 0.001, else three decimals ("0.031",
// "1.000"); NaN renders as Missing.
func FormatP(p float64) string {
	switch {
	case math.IsNaN(p):
		return Missing
	case p < 0.001:
		return "< 0.001"
	}
	return fmt.Sprintf("%.3f", p)
}
