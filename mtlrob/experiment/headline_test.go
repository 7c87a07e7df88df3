package experiment

import (
	"math"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

func outcomes(s string) []bool {
	o, _ := metric.DecodeOutcomes(s)
	return o
}

func TestBootstrapARP(t *testing.T) {
	clean := [][]bool{outcomes("11111111"), outcomes("11111111")}
	half := [][]bool{outcomes("11110000"), outcomes("11110000")}
	none := [][]bool{outcomes("00000000"), outcomes("00000000")}
	same := bootstrapARP(clean, half, half, 200, 1)
	if same.Diff != 0 || same.P != 1 || same.ARPDGBA != 50 {
		t.Errorf("identical directions: %+v, want diff 0, p 1, ARP 50", same)
	}
	// DGBA fools every image of both heads, the other half of them: ARP 100 vs 50 on every resample.
	d := bootstrapARP(clean, none, half, 200, 1)
	if d.Diff != 50 || d.Lo <= 0 || d.P > 1.0/100 {
		t.Errorf("stronger DGBA: %+v, want diff 50 with an interval above 0 and p at its floor", d)
	}
}

func headlineRecord(seed int64, aux []string, conds map[string]string) *Record {
	return datasetHeadlineRecord("fashion-mnist", seed, aux, conds)
}

func datasetHeadlineRecord(dataset string, seed int64, aux []string, conds map[string]string) *Record {
	spec := ModelSpec{Dataset: dataset, Arch: "smallcnn", Aux: aux, Training: "pgd-at", Budget: Budget{Name: "standard"}, Seed: seed}
	res := RobustnessResults{N: 8}
	for _, name := range HeadlineConditions {
		if enc, ok := conds[name]; ok {
			o := outcomes(enc)
			res.Conditions = append(res.Conditions, Condition{Name: name, TaskAccuracy: []float64{metric.ProportionOf(o).Value}, MainCorrect: enc})
		}
	}
	return &Record{Kind: RobustnessKind, Name: spec.Name(), Config: spec, Results: res}
}

func TestCompareMultiTask(t *testing.T) {
	aux := []string{"category", "region"}
	recs := []*Record{
		headlineRecord(1, []string{}, map[string]string{"pgd": "11110000"}),
		headlineRecord(1, aux, map[string]string{"pgd": "11111100"}), // +2 images, b10 = 2
		headlineRecord(2, []string{}, map[string]string{"pgd": "11000000"}),
		headlineRecord(2, aux, map[string]string{"pgd": "01110000"}),        // b01 = 1, b10 = 2
		headlineRecord(3, []string{}, map[string]string{"pgd": "11000000"}), // no partner: ignored
	}
	cmp, err := CompareMultiTask(recs, "fashion-mnist", "smallcnn", "pgd-at", aux)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp) != 1 || cmp[0].Condition != "pgd" || len(cmp[0].Seeds) != 2 {
		t.Fatalf("comparisons %+v, want pgd over seeds 1 and 2", cmp)
	}
	c := cmp[0]
	if c.PooledB01 != 1 || c.PooledB10 != 4 {
		t.Errorf("pooled discordant pairs %d, %d; want 1, 4", c.PooledB01, c.PooledB10)
	}
	// Differences 2/8 and 1/8: mean 0.1875, sd 0.0884; t(0.975, 1) = 12.706.
	if math.Abs(c.MeanDiff-0.1875) > 1e-12 || math.Abs(c.SDDiff-0.125/math.Sqrt2) > 1e-12 {
		t.Errorf("mean diff %g sd %g, want 0.1875 and %g", c.MeanDiff, c.SDDiff, 0.125/math.Sqrt2)
	}
	if half := 12.706204736 * c.SDDiff / math.Sqrt2; math.Abs(c.DiffHi-c.MeanDiff-half) > 1e-6 {
		t.Errorf("t-interval [%g, %g], want half-width %g", c.DiffLo, c.DiffHi, half)
	}
	// Exact McNemar of 1 vs 4 discordant pairs: 2 * P(X <= 1), X ~ Bin(5, 1/2) = 2 * 6/32.
	if math.Abs(c.PooledP-0.375) > 1e-12 {
		t.Errorf("pooled p %g, want 0.375", c.PooledP)
	}
	md, err := HeadlineMarkdown(recs, nil, "standard")
	if err != nil || !strings.Contains(md, "mean ± sd of 2**") || !strings.Contains(md, "pooled 0.375") {
		t.Errorf("markdown (err %v):\n%s", err, md)
	}
}

// TestHeadlineMarkdownDatasets: the MNIST rows appear, in their own section with their own tasks, when
// their records exist, and not otherwise; an MNIST record never pairs with a Fashion-MNIST one.
func TestHeadlineMarkdownDatasets(t *testing.T) {
	aux := []string{"category", "region"}
	fashion := []*Record{
		headlineRecord(1, []string{}, map[string]string{"pgd": "11110000"}),
		headlineRecord(1, aux, map[string]string{"pgd": "11111100"}),
	}
	md, err := HeadlineMarkdown(fashion, nil, "standard")
	if err != nil || !strings.Contains(md, "### Fashion-MNIST: main only vs main+category+region") || strings.Contains(md, "### MNIST") {
		t.Errorf("Fashion-MNIST only (err %v):\n%s", err, md)
	}
	mnist := append(fashion,
		datasetHeadlineRecord("mnist", 1, []string{}, map[string]string{"pgd": "10000000"}),
		datasetHeadlineRecord("mnist", 1, []string{"parity", "prime"}, map[string]string{"pgd": "11100000"}))
	md, err = HeadlineMarkdown(mnist, nil, "standard")
	if err != nil || !strings.Contains(md, "### MNIST: main only vs main+parity+prime") {
		t.Fatalf("with MNIST (err %v):\n%s", err, md)
	}
	// MNIST seed 1: 12.5 vs 37.5, +25.0 points.
	if !strings.Contains(md, "| 1 | 12.5 [") || !strings.Contains(md, "| +25.0 [") {
		t.Errorf("MNIST row missing or wrong:\n%s", md)
	}
	if _, err := HeadlineMarkdown(mnist[2:], nil, "standard"); err != nil {
		t.Errorf("MNIST records alone: %v", err)
	}
}
