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
	// The direction question is the Fashion-MNIST small CNN's: an MNIST direction record, at its own eps
	// scale, adds no column (it once added empty "+NaN" ones).
	dirRec := func(dataset string, eps float64) *Record {
		spec := ModelSpec{Dataset: dataset, Arch: "smallcnn", Aux: aux, Training: "natural", Budget: Budget{Name: "standard"}, Seed: 1}
		clean := []string{"1111", "1111"}
		res := DirectionsResults{Tasks: []string{"main", "category"}, N: 4, CleanCorrect: clean, Runs: []DirectionRun{
			{Direction: "DGBA", Eps: eps, ARP: 50, TaskCorrect: []string{"1100", "1100"}},
			{Direction: "Total", Eps: eps, ARP: 25, TaskCorrect: []string{"1110", "1110"}},
		}}
		return &Record{Kind: DirectionsKind, Name: spec.Name(), Config: spec, Results: res}
	}
	md, err = HeadlineMarkdown(mnist, []*Record{dirRec("fashion-mnist", 0.1), dirRec("mnist", 0.3)}, "standard")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "eps 0.1") || strings.Contains(md, "eps 0.3") || strings.Contains(md, "NaN") {
		t.Errorf("directions of Fashion-MNIST only, at eps 0.1:\n%s", md)
	}
}

// TestPairedTable: accuracies, the paired difference and the exact McNemar p of two records on the same
// eight images, by hand: a = 11110000 (50%), b = 11111100 (75%): b01 = 0, b10 = 2, p = 2 * (1/2)^2 = 0.5.
func TestPairedTable(t *testing.T) {
	a := headlineRecord(1, []string{"category"}, map[string]string{"clean": "11111110", "pgd": "11110000"})
	b := headlineRecord(1, []string{"category"}, map[string]string{"clean": "11111110", "pgd": "11111100", "cw": "10000000"})
	tab, err := PairedTable("MP-AT vs PGD-AT", "PGD-AT", "MP-AT", a, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"clean", "PGD untargeted"}; strings.Join(tab.Rows, ",") != strings.Join(want, ",") {
		t.Errorf("rows %q, want %q (CW is in one record only)", tab.Rows, want)
	}
	lo, hi := metric.Wilson(6, 8, 0.95)
	for _, c := range []struct {
		col  string
		want float64
	}{{"PGD-AT %", 50}, {"MP-AT %", 75}, {"MP-AT - PGD-AT (pp)", 25}, {"p (McNemar)", 0.5}} {
		if v, err := tab.At("PGD untargeted", c.col); err != nil || math.Abs(v-c.want) > 1e-9 {
			t.Errorf("%s: %v (%v), want %v", c.col, v, err, c.want)
		}
	}
	if i, j := 1, 1; math.Abs(tab.Lo[i][j]-100*lo) > 1e-9 || math.Abs(tab.Hi[i][j]-100*hi) > 1e-9 {
		t.Errorf("MP-AT interval [%v, %v], want Wilson [%v, %v]", tab.Lo[i][j], tab.Hi[i][j], 100*lo, 100*hi)
	}
	if v, _ := tab.At("clean", "p (McNemar)"); v != 1 {
		t.Errorf("identical clean outcomes: p %v, want 1", v)
	}
	// Different images, or no per-image outcomes, cannot be paired.
	short := headlineRecord(1, nil, map[string]string{"pgd": "1111"})
	if _, err := PairedTable("x", "a", "b", a, short); err == nil || !strings.Contains(err.Error(), "same test images") {
		t.Errorf("4 vs 8 images: error %v", err)
	}
	none := headlineRecord(1, nil, map[string]string{"pgd": "11110000"})
	res := none.Results.(RobustnessResults)
	res.Conditions[0].MainCorrect = ""
	none.Results = res
	if _, err := PairedTable("x", "a", "b", a, none); err == nil || !strings.Contains(err.Error(), "no per-image outcomes") {
		t.Errorf("no outcomes: error %v", err)
	}
}

// TestDirectionComparisonTable: one cell and one p column per eps, rows per direction compared with
// DGBA; comparisons of two seeds are refused.
func TestDirectionComparisonTable(t *testing.T) {
	cmp := []DirectionComparison{
		{Seed: 1, Eps: 0.1, Other: "Total", Diff: 30, Lo: 25, Hi: 35, P: 0.001},
		{Seed: 1, Eps: 0.05, Other: "Total", Diff: -2, Lo: -4, Hi: 0.5, P: 0.2},
		{Seed: 1, Eps: 0.1, Other: "WGD(paper)", Diff: 10, Lo: 8, Hi: 12, P: 0.001},
	}
	tab, err := DirectionComparisonTable("DGBA vs the others", cmp)
	if err != nil {
		t.Fatal(err)
	}
	if want := "eps 0.05,eps 0.1,p eps 0.05,p eps 0.1"; strings.Join(tab.Columns, ",") != want {
		t.Errorf("columns %q, want %s", tab.Columns, want)
	}
	if v, _ := tab.At("Total", "eps 0.05"); v != -2 {
		t.Errorf("Total at 0.05: %v, want -2", v)
	}
	if v, _ := tab.At("WGD(paper)", "eps 0.05"); !math.IsNaN(v) {
		t.Errorf("a missing comparison shows %v, want none", v)
	}
	if _, err := DirectionComparisonTable("x", append(cmp, DirectionComparison{Seed: 2, Eps: 0.1, Other: "Total"})); err == nil {
		t.Error("two seeds accepted")
	}
	if _, err := DirectionComparisonTable("x", nil); err == nil {
		t.Error("no comparisons accepted")
	}
}

// TestCompareModelsARP: on 80 images model B loses half of both heads under the direction, model A a
// quarter: ARP 50 against 25, +25 points, with a bootstrap interval that excludes 0 and a p at its floor.
func TestCompareModelsARP(t *testing.T) {
	rec := func(name string, adv string) *Record {
		adv = strings.Repeat(adv, 10)
		all := strings.Repeat("1", len(adv))
		res := DirectionsResults{Tasks: []string{"main", "aux"}, N: len(adv), CleanCorrect: []string{all, all},
			Runs: []DirectionRun{{Direction: "DGBA", Eps: 0.1, TaskCorrect: []string{adv, adv}}, {Direction: "Total", Eps: 0.1, TaskCorrect: []string{adv, adv}}}}
		return &Record{Kind: DirectionsKind, Name: name, Results: res}
	}
	a, b := rec("pgd-at", "11111100"), rec("fat-dgba", "11110000")
	cmp, err := CompareModelsARP(a, b, "DGBA", 400)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp) != 1 || cmp[0].ARPA != 25 || cmp[0].ARPB != 50 || cmp[0].Diff != 25 || cmp[0].Lo <= 0 || cmp[0].P > 0.01 {
		t.Errorf("comparisons %+v, want ARP 25 vs 50, +25 with an interval above 0 and a small p", cmp)
	}
	tab, err := ModelARPTable("x", "PGD-AT", "FAT-DGBA", cmp)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := tab.At("eps 0.1", "FAT-DGBA - PGD-AT (points)"); v != 25 {
		t.Errorf("table difference %v, want 25", v)
	}
	if _, err := CompareModelsARP(a, b, "SignTotal", 10); err == nil {
		t.Error("a direction neither record has: accepted")
	}
	short := rec("short", "1100")
	res := short.Results.(DirectionsResults)
	res.CleanCorrect = []string{"1111", "1111"}
	short.Results = res
	if _, err := CompareModelsARP(a, short, "DGBA", 10); err == nil || !strings.Contains(err.Error(), "same test images") {
		t.Errorf("8 vs 4 images: error %v", err)
	}
}
