package metric

import (
	"math"
	"strings"
	"testing"
)

// handGrads: 2 samples, 2-D gradients. Task 2's gradient vanishes on sample 0.
var handGrads = [][][]float32{
	{{1, 0}, {0, 2}},
	{{1, 1}, {0, -3}},
	{{0, 0}, {1, 0}},
}

func TestGradientCosine(t *testing.T) {
	got, err := GradientCosine(handGrads)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	// C01: sample 0 <(1,0),(1,1)>/(1*sqrt2) = 1/sqrt2, sample 1 <(0,2),(0,-3)>/(2*3) = -1.
	// C02, C12: sample 0 is left out (zero gradient); sample 1 gives 0 (orthogonal).
	c01 := (1/math.Sqrt2 - 1) / 2
	want := [][]float64{
		{1, c01, 0},
		{c01, 1, 0},
		{0, 0, 1},
	}
	checkMatrix(t, "GradientCosine", got, want, 1e-12)
	// A task whose gradient is zero everywhere has no direction: NaN.
	zero := [][][]float32{{{1, 0}}, {{0, 0}}}
	got, _ = GradientCosine(zero)
	checkMatrix(t, "GradientCosine with a zero task", got, [][]float64{{1, nan}, {nan, nan}}, 0)
}

func TestGradientCovariance(t *testing.T) {
	got, err := GradientCovariance(handGrads[:2])
	if err != nil {
		t.Fatal(err)
	}
	// Means (0.5, 1) and (0.5, -1); centred: task 0 (0.5,-1), (-0.5,1); task 1 (0.5,2), (-0.5,-2).
	// Cov00 = (1.25 + 1.25)/2, Cov11 = (4.25 + 4.25)/2, Cov01 = (-1.75 - 1.75)/2.
	want := [][]float64{{1.25, -1.75}, {-1.75, 4.25}}
	checkMatrix(t, "GradientCovariance", got, want, 1e-12)
	f, err := MaoFactor(got)
	if want := math.Sqrt((1 - 1.75/4.25) / 2); err != nil || !near(f, want, 1e-12) {
		t.Errorf("MaoFactor(hand covariance) = %g, %v; want %g", f, err, want)
	}
}

func TestMaoFactor(t *testing.T) {
	identity := func(m int) [][]float64 {
		out := square(m)
		for i := range m {
			out[i][i] = 1
		}
		return out
	}
	ones := square(3)
	for i := range ones {
		for j := range ones[i] {
			ones[i][j] = 2
		}
	}
	cases := []struct {
		name string
		cov  [][]float64
		want float64
		err  string
	}{
		{"one task", [][]float64{{3}}, 1, ""},
		{"4 uncorrelated tasks: 1/sqrt(4)", identity(4), 0.5, ""},
		{"3 identical tasks", ones, 1, ""},
		{"zero variance", [][]float64{{1, 0}, {0, 0}}, 0, "Cov(r_1, r_1) = 0"},
		{"not square", [][]float64{{1, 0}, {0}}, 0, "row 1 has 1 entries"},
		{"anti-correlated beyond consistency", [][]float64{{1, -3}, {-3, 1}}, 0, "negative radicand"},
	}
	for _, c := range cases {
		got, err := MaoFactor(c.cov)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !near(got, c.want, 1e-12) {
			t.Errorf("%s: MaoFactor = %g, %v; want %g", c.name, got, err, c.want)
		}
	}
}

func TestGradientErrors(t *testing.T) {
	cases := []struct {
		name  string
		grads [][][]float32
		want  string
	}{
		{"no tasks", nil, "no tasks"},
		{"samples", [][][]float32{{{1}, {2}}, {{1}}}, "task 1 has 1 samples and task 0 has 2"},
		{"length", [][][]float32{{{1, 2}}, {{1}}}, "task 1 sample 0: gradient of length 1, want 2"},
		{"NaN", [][][]float32{{{1, float32(math.NaN())}}}, "gradient[1] = NaN"},
	}
	for _, c := range cases {
		for name, fn := range map[string]func([][][]float32) ([][]float64, error){"GradientCosine": GradientCosine, "GradientCovariance": GradientCovariance} {
			if _, err := fn(c.grads); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %s: error %v, want one containing %q", c.name, name, err, c.want)
			}
		}
	}
}

func checkMatrix(t *testing.T, name string, got, want [][]float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d", name, len(got), len(want))
		return
	}
	for i := range want {
		for j := range want[i] {
			if !near(got[i][j], want[i][j], tol) {
				t.Errorf("%s[%d][%d] = %.17g, want %.17g", name, i, j, got[i][j], want[i][j])
			}
		}
	}
}
