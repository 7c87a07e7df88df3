package metric

import (
	"fmt"
	"math"
)

// GradientCosine returns the T x T matrix of mean per-sample cosine
// similarities between the tasks' input gradients (Mao et al. 2020, the
// gradient alignment behind 003 Thm. 2):
//
//	C[t][s] = mean_k  <g_t^k, g_s^k> / (|g_t^k| |g_s^k|)
//
// grads[t][k] is the flattened gradient of task t's loss with respect to
// sample k's input (InputGradients returns this layout). A sample whose
// gradient is zero for t or s (a saturated loss) has no direction and is
// left out of C[t][s]; when every sample is left out C[t][s] is NaN. The
// diagonal is 1 wherever defined; the matrix is symmetric. Every task must
// have the same samples, and every gradient the same length.
func GradientCosine(grads [][][]float32) ([][]float64, error) {
	T, n, _, err := checkGradients("GradientCosine", grads)
	if err != nil {
		return nil, err
	}
	norms := make([][]float64, T)
	for t := range T {
		norms[t] = make([]float64, n)
		for k := range n {
			norms[t][k] = math.Sqrt(dot(grads[t][k], grads[t][k]))
		}
	}
	out := square(T)
	for t := range T {
		for s := t; s < T; s++ {
			var sum float64
			count := 0
			for k := range n {
				if norms[t][k] == 0 || norms[s][k] == 0 {
					continue
				}
				c := dot(grads[t][k], grads[s][k]) / (norms[t][k] * norms[s][k])
				sum += math.Max(-1, math.Min(1, c))
				count++
			}
			v := math.NaN()
			if count > 0 {
				v = sum / float64(count)
			}
			out[t][s], out[s][t] = v, v
		}
	}
	return out, nil
}

// GradientCovariance returns the T x T matrix Cov(r_t, r_s) of the tasks'
// input gradients r_t = d L_t / d x as random vectors over the samples, the
// covariance of 003 Thm. 2 (Eq. 4) and Mao et al. 2020: the trace of the
// cross-covariance,
//
//	Cov[t][s] = 1/n sum_k <g_t^k - mean_t, g_s^k - mean_s>
//
// with mean_t the mean gradient of task t over the n samples (population
// normalisation 1/n). Under the theorem's zero-mean assumption this is
// E[<r_t, r_s>]. Layout and checks as in GradientCosine.
func GradientCovariance(grads [][][]float32) ([][]float64, error) {
	T, n, d, err := checkGradients("GradientCovariance", grads)
	if err != nil {
		return nil, err
	}
	means := make([][]float64, T)
	for t := range T {
		means[t] = make([]float64, d)
		for k := range n {
			for j, v := range grads[t][k] {
				means[t][j] += float64(v)
			}
		}
		for j := range means[t] {
			means[t][j] /= float64(n)
		}
	}
	out := square(T)
	for t := range T {
		for s := t; s < T; s++ {
			var sum float64
			for k := range n {
				gt, gs := grads[t][k], grads[s][k]
				for j := range d {
					sum += (float64(gt[j]) - means[t][j]) * (float64(gs[j]) - means[s][j])
				}
			}
			v := sum / float64(n)
			out[t][s], out[s][t] = v, v
		}
	}
	return out, nil
}

// MaoFactor returns the task-dependent factor of the first-order adversarial
// vulnerability of M uniformly weighted attacked tasks (003 Thm. 2, Eq. 4,
// after Mao et al. 2020): E_x[dL] ~ K * MaoFactor(cov) with
//
//	MaoFactor = sqrt( (1 + 2/M sum_{i=1..M} sum_{j<i} Cov(r_i, r_j)/Cov(r_i, r_i)) / M )
//
// cov is an M x M gradient covariance (GradientCovariance). One task gives
// 1; M uncorrelated tasks give 1/sqrt(M); M identical tasks give 1. A
// non-positive diagonal entry or a negative radicand is an error.
func MaoFactor(cov [][]float64) (float64, error) {
	M := len(cov)
	if M == 0 {
		return math.NaN(), fmt.Errorf("metric: MaoFactor: empty covariance matrix")
	}
	var s float64
	for i, row := range cov {
		if len(row) != M {
			return math.NaN(), fmt.Errorf("metric: MaoFactor: row %d has %d entries: want a %d x %d matrix", i, len(row), M, M)
		}
		if !(row[i] > 0) {
			return math.NaN(), fmt.Errorf("metric: MaoFactor: Cov(r_%d, r_%d) = %g: want a positive variance", i, i, row[i])
		}
		for j := range i {
			s += row[j] / row[i]
		}
	}
	rad := (1 + 2/float64(M)*s) / float64(M)
	if rad < 0 {
		return math.NaN(), fmt.Errorf("metric: MaoFactor: negative radicand %g: the covariances are inconsistent", rad)
	}
	return math.Sqrt(rad), nil
}

// checkGradients validates grads[t][k] and returns T tasks, n samples and
// the gradient length d.
func checkGradients(name string, grads [][][]float32) (T, n, d int, err error) {
	T = len(grads)
	if T == 0 {
		return 0, 0, 0, fmt.Errorf("metric: %s: no tasks", name)
	}
	n = len(grads[0])
	if n == 0 {
		return 0, 0, 0, fmt.Errorf("metric: %s: no samples", name)
	}
	d = len(grads[0][0])
	for t := range grads {
		if len(grads[t]) != n {
			return 0, 0, 0, fmt.Errorf("metric: %s: task %d has %d samples and task 0 has %d: want the same samples for every task", name, t, len(grads[t]), n)
		}
		for k, g := range grads[t] {
			if len(g) != d {
				return 0, 0, 0, fmt.Errorf("metric: %s: task %d sample %d: gradient of length %d, want %d like task 0 sample 0", name, t, k, len(g), d)
			}
			for j, v := range g {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return 0, 0, 0, fmt.Errorf("metric: %s: task %d sample %d: gradient[%d] = %g: want finite values", name, t, k, j, v)
				}
			}
		}
	}
	return T, n, d, nil
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func square(n int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
	}
	return out
}
