package metric

import (
	"fmt"
	"math"
)

// Task-selection proxies (003 RQ4, Ghamizi et al. AAAI 2022): cheap scores of an auxiliary task,
// measured after a short training run, that should predict the robustness a full adversarial training
// with that task reaches. 003 Table 3 validates such proxies by the Pearson correlation between proxy
// values and the real vulnerabilities over many task combinations; ProxyCorrelation does the same, with
// Spearman's rank correlation beside it.

// Proxy names of the task search, as its records store them.
const (
	// ProxyCleanAccuracy is the main task's clean test accuracy after a short natural multi-task run.
	ProxyCleanAccuracy = "clean-accuracy"
	// ProxyGradientCosine is the mean cosine between the input gradients of the main task's and the
	// auxiliary tasks' losses (MainAuxCosine) after the short run: aligned gradients mean the auxiliary
	// task cannot pull the perturbation away from the main task (003 Thm. 2, Mao et al. 2020).
	ProxyGradientCosine = "gradient-cosine"
	// ProxyVulnerability is the main task's relative vulnerability after the short run
	// (RelativeErrorVulnerability under the evaluation PGD, gray-box): lower is more robust.
	ProxyVulnerability = "relative-vulnerability"
	// ProxyAgreement is the share of clean inputs the rejection rule of 001 Eq. 8 (k = 1) accepts after
	// the short run: how often the auxiliary heads agree with the main head mapped through P_m.
	ProxyAgreement = "clean-agreement"
)

// Proxies lists the proxy names in the order the search reports them.
var Proxies = []string{ProxyCleanAccuracy, ProxyGradientCosine, ProxyVulnerability, ProxyAgreement}

// ConfusionMatrix returns the k x k matrix C[y][p] = the number of examples of true class y predicted as
// p: the input of the data-driven task generators (task.GroupConfusable, task.SeparateConfusable).
// pred and labels must have the same, non-zero length and values in [0, k); k >= 2.
func ConfusionMatrix(pred, labels []int32, k int) ([][]float64, error) {
	switch {
	case len(pred) != len(labels):
		return nil, fmt.Errorf("metric: ConfusionMatrix: %d predictions and %d labels: want one prediction per label", len(pred), len(labels))
	case len(pred) == 0:
		return nil, fmt.Errorf("metric: ConfusionMatrix: no examples")
	case k < 2:
		return nil, fmt.Errorf("metric: ConfusionMatrix: %d classes: want k >= 2", k)
	}
	c := square(k)
	for i := range pred {
		y, p := labels[i], pred[i]
		if y < 0 || int(y) >= k || p < 0 || int(p) >= k {
			return nil, fmt.Errorf("metric: ConfusionMatrix: example %d has label %d and prediction %d: want classes in [0, %d)", i, y, p, k)
		}
		c[y][p]++
	}
	return c, nil
}

// MainAuxCosine returns the mean of the main task's gradient cosines with the auxiliary tasks,
// mean_{m >= 1} C[0][m], from the T x T matrix of GradientCosine (task 0 the main task). It needs T >= 2;
// a NaN entry (no sample with both gradients non-zero) is an error naming the task.
func MainAuxCosine(cos [][]float64) (float64, error) {
	if len(cos) < 2 {
		return math.NaN(), fmt.Errorf("metric: MainAuxCosine: %d tasks: want the main task and at least one auxiliary task", len(cos))
	}
	var s float64
	for m := 1; m < len(cos); m++ {
		if len(cos[0]) != len(cos) {
			return math.NaN(), fmt.Errorf("metric: MainAuxCosine: row 0 has %d entries for %d tasks: want a square matrix", len(cos[0]), len(cos))
		}
		if math.IsNaN(cos[0][m]) {
			return math.NaN(), fmt.Errorf("metric: MainAuxCosine: cosine of the main task and task %d is NaN (every gradient zero)", m)
		}
		s += cos[0][m]
	}
	return s / float64(len(cos)-1), nil
}

// ProxyCorrelation is one row of 003 Table 3: how well a proxy predicts the measured quantity (here the
// main task's robust accuracy after adversarial training) over N candidates.
type ProxyCorrelation struct {
	Proxy       string  `json:"proxy"`
	N           int     `json:"n"`
	PearsonR    float64 `json:"pearson_r"`
	PearsonP    float64 `json:"pearson_p"`
	SpearmanRho float64 `json:"spearman_rho"`
	SpearmanP   float64 `json:"spearman_p"`
}

// CorrelateProxy returns the Pearson and Spearman correlations (with two-sided p-values, see Pearson and
// Spearman) between proxy values and measured values, paired by candidate. The requirements are
// Pearson's: the same length n >= 3, finite values, neither constant.
func CorrelateProxy(name string, proxy, measured []float64) (ProxyCorrelation, error) {
	r, p, err := Pearson(proxy, measured)
	if err != nil {
		return ProxyCorrelation{}, fmt.Errorf("metric: proxy %q: %w", name, err)
	}
	rho, ps, err := Spearman(proxy, measured)
	if err != nil {
		return ProxyCorrelation{}, fmt.Errorf("metric: proxy %q: %w", name, err)
	}
	return ProxyCorrelation{Proxy: name, N: len(proxy), PearsonR: r, PearsonP: p, SpearmanRho: rho, SpearmanP: ps}, nil
}

// ProxyTable renders proxy correlations as 003 Table 3: one row per proxy, columns n, Pearson r and p,
// Spearman rho and p.
func ProxyTable(title string, rows []ProxyCorrelation) (*Table, error) {
	names := make([]string, len(rows))
	for i, r := range rows {
		names[i] = r.Proxy
	}
	t, err := NewTable(title, names, []string{"n", "Pearson r", "p", "Spearman rho", "p (Spearman)"})
	if err != nil {
		return nil, err
	}
	t.Corner, t.Digits = "Proxy", 3
	for _, r := range rows {
		if err := t.SetRow(r.Proxy, []float64{float64(r.N), r.PearsonR, r.PearsonP, r.SpearmanRho, r.SpearmanP}); err != nil {
			return nil, err
		}
	}
	return t, nil
}
