package metric

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Pearson returns Pearson's correlation coefficient r of the paired samples
// x and y and its two-sided p-value for the null hypothesis r = 0 under the
// usual normal model: t = r*sqrt((n-2)/(1-r^2)) follows Student's t with n-2
// degrees of freedom, p = P(|T| >= |t|) = I_{1-r^2}((n-2)/2, 1/2), with I the
// regularized incomplete beta function (r: gonum's stat.Correlation; I:
// gonum's mathext.RegIncBeta). This is the test behind 003 RQ4,
// Table 3 ("Pearson correlation between the real adversarial vulnerabilities
// and proxy values", with p-values), and what scipy.stats.pearsonr reports.
//
// x and y must have the same length n >= 3, finite values, and neither may be
// constant (r is undefined then). |r| = 1 gives p = 0.
func Pearson(x, y []float64) (r, p float64, err error) {
	if err := checkPaired("Pearson", x, y); err != nil {
		return math.NaN(), math.NaN(), err
	}
	r, err = pearsonR(x, y)
	if err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("metric: Pearson: %w", err)
	}
	return r, CorrelationPValue(r, len(x)), nil
}

// Spearman returns Spearman's rank correlation rho of the paired samples x
// and y (Pearson's r of their ranks, ties given the average of the ranks they
// span) and its two-sided p-value from the same t approximation as Pearson
// (n-2 degrees of freedom), which is what scipy.stats.spearmanr reports; it
// is a large-sample approximation, not the exact permutation test. It is the
// rank version of the 003 RQ4 proxy test, for proxies that should order task
// combinations correctly rather than predict them linearly.
//
// x and y must have the same length n >= 3, finite values, and neither may be
// constant.
func Spearman(x, y []float64) (rho, p float64, err error) {
	if err := checkPaired("Spearman", x, y); err != nil {
		return math.NaN(), math.NaN(), err
	}
	rho, err = pearsonR(Ranks(x), Ranks(y))
	if err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("metric: Spearman: %w", err)
	}
	return rho, CorrelationPValue(rho, len(x)), nil
}

// Ranks returns the 1-based ranks of x in increasing order; tied values get
// the average of the ranks they span (the "average" method), e.g.
// Ranks([10 20 20 5]) = [2 3.5 3.5 1]. NaN values are not ranked meaningfully:
// check the input first.
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case x[a] < x[b]:
			return -1
		case x[a] > x[b]:
			return 1
		}
		return 0
	})
	ranks := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		// positions i..j-1 (0-based) hold ranks i+1..j: their mean is (i+1+j)/2.
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			ranks[idx[k]] = avg
		}
		i = j
	}
	return ranks
}

// CorrelationPValue returns the two-sided p-value of a correlation
// coefficient r computed from n >= 3 pairs: P(|T| >= |t|) for Student's t
// with n-2 degrees of freedom and t = r*sqrt((n-2)/(1-r^2)). Since
// (n-2)/((n-2)+t^2) = 1-r^2, this is I_{1-r^2}((n-2)/2, 1/2), evaluated by
// gonum's mathext.RegIncBeta directly on 1-r^2 (no loss of precision in
// forming t when |r| is near 1). |r| >= 1 gives 0; n < 3 or a NaN r gives NaN.
func CorrelationPValue(r float64, n int) float64 {
	if n < 3 || math.IsNaN(r) {
		return math.NaN()
	}
	a := math.Abs(r)
	if a >= 1 {
		return 0
	}
	return RegIncBeta(float64(n-2)/2, 0.5, (1-a)*(1+a))
}

// StudentTTwoSided returns the two-sided tail probability P(|T| >= |t|) of
// Student's t distribution with dof > 0 degrees of freedom, 2*S(|t|) with S
// the survival function of gonum's distuv.StudentsT. An infinite t gives 0;
// dof <= 0 or a NaN argument gives NaN.
func StudentTTwoSided(t, dof float64) float64 {
	if !(dof > 0) || math.IsNaN(t) {
		return math.NaN()
	}
	if math.IsInf(t, 0) {
		return 0
	}
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: dof}.Survival(math.Abs(t))
}

// RegIncBeta returns the regularized incomplete beta function
// I_x(a, b) = B(x; a, b) / B(a, b) for a, b > 0 and x in [0, 1]: gonum's
// mathext.RegIncBeta (the Cephes incbet), with arguments outside the domain
// giving NaN instead of gonum's panic.
func RegIncBeta(a, b, x float64) float64 {
	switch {
	case !(a > 0) || !(b > 0) || math.IsNaN(x) || x < 0 || x > 1:
		return math.NaN()
	case x == 0:
		return 0
	case x == 1:
		return 1
	}
	return mathext.RegIncBeta(a, b, x)
}

// pearsonR is the sample correlation of x and y (already checked: same
// length >= 3, finite), gonum's stat.Correlation clamped to [-1, 1]; a
// constant sample is an error.
func pearsonR(x, y []float64) (float64, error) {
	vx, vy := stat.Variance(x, nil), stat.Variance(y, nil)
	if vx == 0 || vy == 0 {
		return math.NaN(), fmt.Errorf("a constant sample (variance of x %g, of y %g): the correlation is undefined", vx, vy)
	}
	r := stat.Correlation(x, y, nil)
	if math.IsNaN(r) {
		return math.NaN(), fmt.Errorf("a degenerate sample (variance of x %g, of y %g): the correlation is undefined", vx, vy)
	}
	return math.Max(-1, math.Min(1, r)), nil
}

func checkPaired(name string, x, y []float64) error {
	if len(x) != len(y) {
		return fmt.Errorf("metric: %s: x has %d values and y has %d: want paired samples of equal length", name, len(x), len(y))
	}
	if len(x) < 3 {
		return fmt.Errorf("metric: %s: %d pairs: want at least 3 (the test has n-2 degrees of freedom)", name, len(x))
	}
	if err := checkFinite("x", x); err != nil {
		return fmt.Errorf("metric: %s: %w", name, err)
	}
	if err := checkFinite("y", y); err != nil {
		return fmt.Errorf("metric: %s: %w", name, err)
	}
	return nil
}

func checkFinite(name string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s[%d] = %g: want a finite value", name, i, x)
		}
	}
	return nil
}

func mean(v []float64) float64 { return stat.Mean(v, nil) }
