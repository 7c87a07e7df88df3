package metric

import (
	"math"
	"strings"
	"testing"
)

// Reference values marked "gonum" were computed once, outside this module, with gonum v0.16.0
// (stat.Correlation, mathext.RegIncBeta, distuv.StudentsT.Survival): an implementation
// independent of ours. The others are closed forms.

func near(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestRegIncBeta(t *testing.T) {
	// I_x(a, b) for integer a, b is the binomial tail P(Bin(a+b-1, x) >= a).
	binomTail := func(a, b int, x float64) float64 {
		n := a + b - 1
		var s float64
		for j := a; j <= n; j++ {
			s += binom(n, j) * math.Pow(x, float64(j)) * math.Pow(1-x, float64(n-j))
		}
		return s
	}
	cases := []struct {
		name    string
		a, b, x float64
		want    float64
	}{
		{"binomial tail a=3 b=7", 3, 7, 0.4, binomTail(3, 7, 0.4)},
		{"binomial tail a=7 b=3", 7, 3, 0.4, binomTail(7, 3, 0.4)},
		{"binomial tail a=20 b=30", 20, 30, 0.45, binomTail(20, 30, 0.45)},
		{"I_x(a,1) = x^a", 4.5, 1, 0.7, math.Pow(0.7, 4.5)},
		{"I_x(1,b) = 1-(1-x)^b", 1, 2.5, 0.3, 1 - math.Pow(0.7, 2.5)},
		{"I_1/2(a,a) = 1/2", 13.5, 13.5, 0.5, 0.5},
		{"arcsine: I_x(1/2,1/2) = 2/pi asin(sqrt x)", 0.5, 0.5, 0.2, 2 / math.Pi * math.Asin(math.Sqrt(0.2))},
		{"gonum I_0.3(2.5,0.5)", 2.5, 0.5, 0.3, 0.018927124071945651},
		{"gonum I_0.9(10,0.5)", 10, 0.5, 0.9, 0.15164090963470947},
		{"gonum I_0.95(50,0.5)", 50, 0.5, 0.95, 0.023872705496991331},
		{"x = 0", 2, 3, 0, 0},
		{"x = 1", 2, 3, 1, 1},
		{"x out of range", 2, 3, 1.5, math.NaN()},
		{"a <= 0", 0, 3, 0.5, math.NaN()},
	}
	for _, c := range cases {
		if got := RegIncBeta(c.a, c.b, c.x); !near(got, c.want, 1e-12) {
			t.Errorf("%s: RegIncBeta(%g, %g, %g) = %.17g, want %.17g", c.name, c.a, c.b, c.x, got, c.want)
		}
	}
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

func TestStudentTTwoSided(t *testing.T) {
	cases := []struct {
		name    string
		tv, dof float64
		want    float64
		tol     float64
	}{
		// dof 1 is the Cauchy distribution: P(|T| >= t) = 1 - 2/pi atan|t|.
		{"Cauchy t=1", 1, 1, 0.5, 1e-14},
		{"Cauchy t=-3", -3, 1, 1 - 2/math.Pi*math.Atan(3), 1e-14},
		// dof 2: P(|T| >= t) = 1 - |t|/sqrt(2+t^2).
		{"dof 2 t=1.7", 1.7, 2, 1 - 1.7/math.Sqrt(2+1.7*1.7), 1e-14},
		{"t = 0", 0, 9, 1, 1e-15},
		{"gonum dof 7 t=2.5", 2.5, 7, 0.040992218585752888, 1e-12},
		{"infinite t", math.Inf(1), 4, 0, 0},
		{"dof 0", 1, 0, math.NaN(), 0},
	}
	for _, c := range cases {
		if got := StudentTTwoSided(c.tv, c.dof); !near(got, c.want, c.tol) {
			t.Errorf("%s: StudentTTwoSided(%g, %g) = %.17g, want %.17g", c.name, c.tv, c.dof, got, c.want)
		}
	}
}

func TestPearson(t *testing.T) {
	cases := []struct {
		name string
		x, y []float64
		r, p float64
		tol  float64
	}{
		{"perfect positive", []float64{1, 2, 3, 4, 5}, []float64{3, 5, 7, 9, 11}, 1, 0, 1e-15},
		{"perfect negative", []float64{1, 2, 3, 4, 5}, []float64{0, -1, -2, -3, -4}, -1, 0, 1e-15},
		// by hand: dx = dy permuted, sxy = 1, sxx = syy = 2, r = 1/2; dof 1 (Cauchy):
		// t = 1/sqrt(3), p = 1 - 2/pi * pi/6 = 2/3.
		{"n=3 by hand", []float64{1, 2, 3}, []float64{1, 3, 2}, 0.5, 2.0 / 3, 1e-14},
		// by hand: sxy = 4, sxx = syy = 5, r = 0.8; dof 2: p = 1 - |t|/sqrt(2+t^2) = 1 - |r| = 0.2.
		{"n=4 by hand", []float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, 0.8, 0.2, 1e-14},
		{"gonum n=6", []float64{1, 2, 3, 4, 5, 6}, []float64{2, 1, 4, 3, 7, 5}, 0.79179465488862966, 0.060511403362756573, 1e-12},
	}
	for _, c := range cases {
		r, p, err := Pearson(c.x, c.y)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !near(r, c.r, c.tol) || !near(p, c.p, c.tol) {
			t.Errorf("%s: Pearson = (r %.17g, p %.17g), want (%.17g, %.17g)", c.name, r, p, c.r, c.p)
		}
		// Symmetric in its arguments; negating y negates r and keeps p; affine maps change nothing.
		r2, p2, _ := Pearson(c.y, c.x)
		if r2 != r || p2 != p {
			t.Errorf("%s: Pearson(y, x) = (%g, %g), Pearson(x, y) = (%g, %g): want equal", c.name, r2, p2, r, p)
		}
		neg := make([]float64, len(c.y))
		aff := make([]float64, len(c.x))
		for i := range c.y {
			neg[i] = -c.y[i]
			aff[i] = 3*c.x[i] - 7
		}
		r3, p3, _ := Pearson(c.x, neg)
		if !near(r3, -r, 1e-14) || !near(p3, p, 1e-12) {
			t.Errorf("%s: Pearson(x, -y) = (%g, %g), want (%g, %g)", c.name, r3, p3, -r, p)
		}
		r4, p4, _ := Pearson(aff, c.y)
		if !near(r4, r, 1e-14) || !near(p4, p, 1e-12) {
			t.Errorf("%s: Pearson(3x-7, y) = (%g, %g), want (%g, %g)", c.name, r4, p4, r, p)
		}
	}
}

func TestCorrelationPValueLargeN(t *testing.T) {
	// gonum, via t = r sqrt(dof/(1-r^2)) and 2*Survival(|t|).
	for _, c := range []struct {
		r    float64
		n    int
		want float64
	}{
		{0.1, 1000, 0.001544116107401753},
		{0.05, 20000, 1.4939379558893196e-12},
	} {
		if got := CorrelationPValue(c.r, c.n); !near(got, c.want, 1e-9) {
			t.Errorf("CorrelationPValue(%g, %d) = %.17g, want %.17g", c.r, c.n, got, c.want)
		}
	}
	if got := CorrelationPValue(0.5, 2); !math.IsNaN(got) {
		t.Errorf("CorrelationPValue(0.5, 2) = %g, want NaN (no degrees of freedom)", got)
	}
}

func TestRanks(t *testing.T) {
	cases := []struct {
		in, want []float64
	}{
		{[]float64{10, 20, 20, 5}, []float64{2, 3.5, 3.5, 1}},
		{[]float64{3, 1, 2, 6, 5, 5, 8, 7}, []float64{3, 1, 2, 6, 4.5, 4.5, 8, 7}},
		{[]float64{1, 1, 1}, []float64{2, 2, 2}},
		{[]float64{-1, 0.5}, []float64{1, 2}},
		{nil, []float64{}},
	}
	for _, c := range cases {
		got := Ranks(c.in)
		if len(got) != len(c.want) {
			t.Errorf("Ranks(%v) = %v, want %v", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("Ranks(%v) = %v, want %v", c.in, got, c.want)
				break
			}
		}
	}
}

func TestSpearman(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6}
	exp := make([]float64, len(x))
	for i, v := range x {
		exp[i] = math.Exp(v)
	}
	rho, p, err := Spearman(x, exp)
	if err != nil || rho != 1 || p != 0 {
		t.Errorf("Spearman(x, exp(x)) = (%g, %g, %v), want (1, 0, nil): a monotone map is a perfect rank correlation", rho, p, err)
	}
	// With ties, by hand: the ranks of y are [3 1 2 6 4.5 4.5 8 7]; around the mean 4.5,
	// sxy = 34.5, sxx = 42, syy = 41.5. p: gonum.
	y := []float64{3, 1, 2, 6, 5, 5, 8, 7}
	xs := []float64{10, 20, 30, 40, 50, 60, 70, 80}
	rho, p, err = Spearman(xs, y)
	if err != nil {
		t.Fatal(err)
	}
	if want := 34.5 / math.Sqrt(42*41.5); !near(rho, want, 1e-14) {
		t.Errorf("Spearman with ties: rho = %.17g, want %.17g", rho, want)
	}
	if want := 0.011442764999941197; !near(p, want, 1e-11) {
		t.Errorf("Spearman with ties: p = %.17g, want %.17g", p, want)
	}
	// Reversing one sample negates rho.
	rev := make([]float64, len(y))
	for i := range y {
		rev[i] = -y[i]
	}
	rho2, p2, _ := Spearman(xs, rev)
	if !near(rho2, -rho, 1e-14) || !near(p2, p, 1e-12) {
		t.Errorf("Spearman(x, -y) = (%g, %g), want (%g, %g)", rho2, p2, -rho, p)
	}
}

func TestCorrelationErrors(t *testing.T) {
	cases := []struct {
		name string
		x, y []float64
		want string
	}{
		{"length mismatch", []float64{1, 2, 3}, []float64{1, 2, 3, 4}, "x has 3 values and y has 4"},
		{"too few", []float64{1, 2}, []float64{2, 1}, "2 pairs: want at least 3"},
		{"constant", []float64{1, 2, 3}, []float64{5, 5, 5}, "constant"},
		{"NaN", []float64{1, math.NaN(), 3}, []float64{1, 2, 3}, "x[1] = NaN"},
	}
	for _, c := range cases {
		for name, fn := range map[string]func(x, y []float64) (float64, float64, error){"Pearson": Pearson, "Spearman": Spearman} {
			_, _, err := fn(c.x, c.y)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %s: error %v, want one containing %q", c.name, name, err, c.want)
			}
		}
	}
}
