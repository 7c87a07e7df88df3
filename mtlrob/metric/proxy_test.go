package metric

import (
	"math"
	"strings"
	"testing"
)

func TestConfusionMatrix(t *testing.T) {
	labels := []int32{0, 0, 0, 1, 1, 2, 2, 2}
	pred := []int32{0, 1, 0, 1, 1, 0, 2, 1}
	c, err := ConfusionMatrix(pred, labels, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{2, 1, 0}, {0, 2, 0}, {1, 1, 1}}
	for y := range want {
		for p := range want[y] {
			if c[y][p] != want[y][p] {
				t.Errorf("C[%d][%d] = %g, want %g", y, p, c[y][p], want[y][p])
			}
		}
	}
	for _, tt := range []struct {
		pred, labels []int32
		k            int
		want         string
	}{
		{[]int32{0}, []int32{0, 1}, 3, "1 predictions and 2 labels"},
		{nil, nil, 3, "no examples"},
		{[]int32{0}, []int32{0}, 1, "want k >= 2"},
		{[]int32{3}, []int32{0}, 3, "example 0 has label 0 and prediction 3"},
	} {
		if _, err := ConfusionMatrix(tt.pred, tt.labels, tt.k); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ConfusionMatrix error %v, want %q", err, tt.want)
		}
	}
}

func TestMainAuxCosine(t *testing.T) {
	for _, tt := range []struct {
		cos  [][]float64
		want float64
	}{
		{[][]float64{{1, 0.5}, {0.5, 1}}, 0.5},
		{[][]float64{{1, 0.2, -0.4}, {0.2, 1, 0.9}, {-0.4, 0.9, 1}}, -0.1}, // the aux-aux 0.9 does not count
	} {
		if got, err := MainAuxCosine(tt.cos); err != nil || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("MainAuxCosine(%v) = %g, %v, want %g", tt.cos, got, err, tt.want)
		}
	}
	if _, err := MainAuxCosine([][]float64{{1}}); err == nil {
		t.Error("one task: want an error")
	}
	if _, err := MainAuxCosine([][]float64{{1, math.NaN()}, {math.NaN(), 1}}); err == nil || !strings.Contains(err.Error(), "task 1 is NaN") {
		t.Errorf("NaN cosine: error %v", err)
	}
}

func TestCorrelateProxy(t *testing.T) {
	// x = 1..5, y = (2, 1, 4, 3, 5): hand-computed r = 0.8 (sum of products of deviations 8 over 10),
	// rho = 0.8 as well (y is already a rank vector); p = I_{0.36}(1.5, 0.5) = 0.10408 (scipy.stats.pearsonr).
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{2, 1, 4, 3, 5}
	c, err := CorrelateProxy("p", x, y)
	if err != nil {
		t.Fatal(err)
	}
	if c.Proxy != "p" || c.N != 5 || math.Abs(c.PearsonR-0.8) > 1e-12 || math.Abs(c.SpearmanRho-0.8) > 1e-12 ||
		math.Abs(c.PearsonP-0.10408) > 1e-4 || math.Abs(c.SpearmanP-c.PearsonP) > 1e-12 {
		t.Errorf("CorrelateProxy = %+v, want r = rho = 0.8, p = 0.10408, n = 5", c)
	}
	if _, err := CorrelateProxy("flat", x, []float64{1, 1, 1, 1, 1}); err == nil || !strings.Contains(err.Error(), `proxy "flat"`) {
		t.Errorf("constant measurements: error %v, want one naming the proxy", err)
	}
	tab, err := ProxyTable("Table 3", []ProxyCorrelation{c})
	if err != nil {
		t.Fatal(err)
	}
	if md := tab.Markdown(); !strings.Contains(md, "| p | 5.000 | 0.800 | 0.104 | 0.800 | 0.104 |") {
		t.Errorf("ProxyTable markdown:\n%s", md)
	}
}
