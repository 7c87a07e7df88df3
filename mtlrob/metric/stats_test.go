package metric

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestWilson(t *testing.T) {
	cases := []struct {
		name   string
		k, n   int
		lo, hi float64
		tol    float64
	}{
		// R. G. Newcombe, Statistics in Medicine 17 (1998) 857-872, Table I, method 3 (score
		// interval without continuity correction), printed to 4 decimals.
		{"Newcombe 81/263", 81, 263, 0.2553, 0.3662, 5e-5},
		{"Newcombe 15/148", 15, 148, 0.0624, 0.1605, 5e-5},
		{"Newcombe 0/20", 0, 20, 0, 0.1611, 5e-5},
		{"Newcombe 1/29", 1, 29, 0.0061, 0.1718, 5e-5},
		// /usr/bin/python3, scipy 1.10.1: scipy.stats.binomtest(k, n).proportion_ci(0.95, "wilson").
		{"scipy 29/29", 29, 29, 0.8830302015002592, 1, 1e-12},
		{"scipy 5/10", 5, 10, 0.236593090512564, 0.7634069094874361, 1e-12},
		{"scipy 9180/10000", 9180, 10000, 0.9124606760579441, 0.9232183013041702, 1e-12},
		{"n = 0: no information", 0, 0, 0, 1, 0},
		{"k > n", 3, 2, math.NaN(), math.NaN(), 0},
		{"k < 0", -1, 2, math.NaN(), math.NaN(), 0},
	}
	for _, c := range cases {
		lo, hi := Wilson(c.k, c.n, 0.95)
		if !near(lo, c.lo, c.tol) || !near(hi, c.hi, c.tol) {
			t.Errorf("%s: Wilson(%d, %d, 0.95) = [%.10g, %.10g], want [%.10g, %.10g]", c.name, c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
	// Exact ends, symmetry k <-> n-k, and a wider interval at a higher level.
	if lo, _ := Wilson(0, 7, 0.95); lo != 0 {
		t.Errorf("Wilson(0, 7) lo = %g, want exactly 0", lo)
	}
	if _, hi := Wilson(7, 7, 0.95); hi != 1 {
		t.Errorf("Wilson(7, 7) hi = %g, want exactly 1", hi)
	}
	lo, hi := Wilson(30, 100, 0.95)
	lo2, hi2 := Wilson(70, 100, 0.95)
	if !near(lo, 1-hi2, 1e-14) || !near(hi, 1-lo2, 1e-14) {
		t.Errorf("Wilson(30, 100) = [%g, %g], Wilson(70, 100) = [%g, %g]: want mirror images", lo, hi, lo2, hi2)
	}
	if lo99, hi99 := Wilson(30, 100, 0.99); !(lo99 < lo && hi99 > hi) {
		t.Errorf("99%% interval [%g, %g] not wider than the 95%% one [%g, %g]", lo99, hi99, lo, hi)
	}
	if lo, hi := Wilson(1, 2, 1); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("level 1: [%g, %g], want NaN", lo, hi)
	}
}

func TestProportion(t *testing.T) {
	cases := []struct {
		k, n int
		want string
	}{
		// Bounds: scipy (see TestWilson), 0.91246 and 0.92322; 0.89935 and 0.93345.
		{9180, 10000, "91.8% [91.2, 92.3]"},
		{918, 1000, "91.8% [89.9, 93.3]"},
		{29, 29, "100.0% [88.3, 100.0]"},
		{0, 0, "n = 0"},
		{4, 3, "invalid proportion 4/3"},
	}
	for _, c := range cases {
		if got := NewProportion(c.k, c.n).String(); got != c.want {
			t.Errorf("NewProportion(%d, %d) = %q, want %q", c.k, c.n, got, c.want)
		}
	}
	p := ProportionOf([]bool{true, false, true, true})
	if p.K != 3 || p.N != 4 || p.Value != 0.75 {
		t.Errorf("ProportionOf = %+v, want 3/4", p)
	}
	data, err := json.Marshal(NewProportion(0, 0))
	if err != nil || !strings.Contains(string(data), `"k":0,"n":0,"value":0,"lo":0,"hi":1`) {
		t.Errorf("JSON of 0/0 = %s, %v", data, err)
	}
}

// outcomes builds paired per-image outcomes with the given 2x2 counts.
func outcomes(bothRight, b01, b10, bothWrong int) (a, b []bool) {
	add := func(n int, x, y bool) {
		for range n {
			a, b = append(a, x), append(b, y)
		}
	}
	add(bothRight, true, true)
	add(b01, true, false)
	add(b10, false, true)
	add(bothWrong, false, false)
	return a, b
}

func TestMcNemar(t *testing.T) {
	// want: /usr/bin/python3, scipy 1.10.1, scipy.stats.binomtest(min(b01, b10), b01+b10, 0.5).pvalue,
	// checked against 2*sum(math.comb(m, j) for j <= min)/2**m.
	cases := []struct {
		b01, b10 int
		want     float64
	}{
		{6, 16, 0.052478790283203125},
		{0, 5, 0.0625},
		{1, 9, 0.021484375},
		{10, 10, 1},
		{3, 0, 0.25},
		{50, 80, 0.010694055123829345},
		{120, 170, 0.0039333365128251495},
		{7, 8, 1},
		{0, 1, 1},
		{412, 520, 0.00045071793428139715},
		{0, 0, 1}, // no discordant pairs: no evidence of a difference
	}
	for _, c := range cases {
		a, b := outcomes(40, c.b01, c.b10, 9)
		r, err := McNemar(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if r.B01 != c.b01 || r.B10 != c.b10 || r.BothRight != 40 || r.BothWrong != 9 || r.N != len(a) {
			t.Errorf("b01 %d b10 %d: counts %+v", c.b01, c.b10, r)
		}
		if !near(r.P, c.want, 1e-10) {
			t.Errorf("b01 %d b10 %d: P = %.17g, want %.17g", c.b01, c.b10, r.P, c.want)
		}
		if want := float64(c.b10-c.b01) / float64(len(a)); !near(r.Diff, want, 1e-15) {
			t.Errorf("b01 %d b10 %d: Diff = %g, want accuracy(b) - accuracy(a) = %g", c.b01, c.b10, r.Diff, want)
		}
		if !(r.Lo <= r.Diff && r.Diff <= r.Hi) || r.Lo < -1 || r.Hi > 1 {
			t.Errorf("b01 %d b10 %d: interval [%g, %g] around %g", c.b01, c.b10, r.Lo, r.Hi, r.Diff)
		}
		// Swapping the classifiers: same P, counts swapped, difference and interval mirrored.
		s, _ := McNemar(b, a)
		if s.P != r.P || s.B01 != r.B10 || s.B10 != r.B01 || s.Diff != -r.Diff || !near(s.Lo, -r.Hi, 1e-15) || !near(s.Hi, -r.Lo, 1e-15) {
			t.Errorf("b01 %d b10 %d: McNemar(b, a) = %+v, McNemar(a, b) = %+v: want mirror images", c.b01, c.b10, s, r)
		}
		if p := McNemarP(c.b01, c.b10); p != r.P {
			t.Errorf("McNemarP(%d, %d) = %g, McNemar P = %g", c.b01, c.b10, p, r.P)
		}
	}
}

func TestMcNemarNewcombeInterval(t *testing.T) {
	// Fagerland, Lydersen & Laake (2017) §8, Cavo et al. 2012: the paired table
	// [[59, 6], [16, 80]]; the R package contingencytables (tests/testthat/test-ch8.R) prints
	// Newcombe's square-and-add interval for p1+ - p+1 as -0.0621 (95% CI -0.1186 to -0.0046).
	// Row = a, column = b: a right & b wrong = 6, a wrong & b right = 16, so accuracy(b) - accuracy(a)
	// = 10/161 with the interval negated.
	a, b := outcomes(59, 6, 16, 80)
	r, err := McNemar(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"Diff", r.Diff, 0.0621}, {"Lo", r.Lo, 0.0046}, {"Hi", r.Hi, 0.1186}} {
		if math.Abs(c.got-c.want) > 5e-5 {
			t.Errorf("%s = %.6f, want %.4f", c.name, c.got, c.want)
		}
	}
	// Complete agreement, every image right: no difference, P = 1, an interval around 0.
	a, b = outcomes(30, 0, 0, 0)
	r, _ = McNemar(a, b)
	if r.P != 1 || r.Diff != 0 || !(r.Lo < 0 && r.Hi > 0) || !near(r.Lo, -r.Hi, 1e-15) {
		t.Errorf("complete agreement: %+v", r)
	}
}

func TestMcNemarErrors(t *testing.T) {
	if _, err := McNemar(make([]bool, 3), make([]bool, 4)); err == nil || !strings.Contains(err.Error(), "a has 3 outcomes and b has 4") {
		t.Errorf("length mismatch: error %v", err)
	}
	if _, err := McNemar(nil, nil); err == nil {
		t.Errorf("no outcomes: no error")
	}
	if p := McNemarP(-1, 3); !math.IsNaN(p) {
		t.Errorf("McNemarP(-1, 3) = %g, want NaN", p)
	}
}

func TestPairedBootstrap(t *testing.T) {
	a, b := outcomes(1500, 100, 160, 240)
	r, err := PairedBootstrap(a, b, 2000, 7)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := PairedBootstrap(a, b, 2000, 7)
	if r != again {
		t.Errorf("same seed, different results: %+v vs %+v", r, again)
	}
	m, _ := McNemar(a, b)
	if r.Diff != m.Diff || math.Abs(r.Lo-m.Lo) > 0.005 || math.Abs(r.Hi-m.Hi) > 0.005 {
		t.Errorf("bootstrap %+v, Newcombe %+v: want close intervals on 2000 images", r, m)
	}
	if !(r.P < 0.01 && m.P < 0.01) {
		t.Errorf("bootstrap P %g, McNemar P %g: want both small for 160 vs 100 discordant images", r.P, m.P)
	}
	a, b = outcomes(10, 0, 0, 5)
	if r, _ := PairedBootstrap(a, b, 100, 1); r.P != 1 || r.Lo != 0 || r.Hi != 0 {
		t.Errorf("no discordance: %+v, want P 1 and [0, 0]", r)
	}
	if _, err := PairedBootstrap(a, b[:3], 100, 1); err == nil || !strings.Contains(err.Error(), "a has 15 outcomes and b has 3") {
		t.Errorf("length mismatch: error %v", err)
	}
	if _, err := PairedBootstrap(a, b, 10, 1); err == nil {
		t.Errorf("10 replicates: no error")
	}
}

func TestMeanSD(t *testing.T) {
	cases := []struct {
		xs       []float64
		mean, sd float64
	}{
		// Sum of squared deviations 32 over n-1 = 7.
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7)},
		{[]float64{0.91, 0.93}, 0.92, 0.01 * math.Sqrt2},
		{[]float64{0.5}, 0.5, math.NaN()},
		{nil, math.NaN(), math.NaN()},
	}
	for _, c := range cases {
		m, sd := MeanSD(c.xs)
		if !near(m, c.mean, 1e-14) || !near(sd, c.sd, 1e-12) {
			t.Errorf("MeanSD(%v) = (%g, %g), want (%g, %g)", c.xs, m, sd, c.mean, c.sd)
		}
	}
}

func TestOutcomesEncoding(t *testing.T) {
	got, err := Outcomes([]int32{1, 2, 3, 0}, []int32{1, 0, 3, 1})
	if err != nil {
		t.Fatal(err)
	}
	s := EncodeOutcomes(got)
	if s != "1010" {
		t.Errorf("EncodeOutcomes = %q, want 1010", s)
	}
	back, err := DecodeOutcomes(s)
	if err != nil || fmt.Sprint(back) != fmt.Sprint(got) {
		t.Errorf("DecodeOutcomes(%q) = %v, %v; want %v", s, back, err, got)
	}
	if _, err := DecodeOutcomes("10x1"); err == nil || !strings.Contains(err.Error(), "character 2") {
		t.Errorf("bad character: error %v", err)
	}
	if _, err := Outcomes([]int32{1}, []int32{1, 2}); err == nil || !strings.Contains(err.Error(), "1 predictions and 2 labels") {
		t.Errorf("length mismatch: error %v", err)
	}
	for p, want := range map[float64]string{0.0004: "< 0.001", 0.0312: "0.031", 1: "1.000", math.NaN(): Missing} {
		if got := FormatP(p); got != want {
			t.Errorf("FormatP(%g) = %q, want %q", p, got, want)
		}
	}
}

// Main-only and multi-task models on the same ten test images: the multi-task model fixes two
// images the main-only model gets wrong and breaks none, which ten images cannot call significant.
// (The interval agrees with a Python transcription of Newcombe_square_and_add_CI_paired_2x2 of the
// R package contingencytables on the table [[7, 0], [2, 1]]: -0.2, [-0.5024, 0.1353], negated.)
func ExampleMcNemar() {
	mainOnly := []bool{true, true, true, false, false, true, true, true, false, true}
	multiTask := []bool{true, true, true, true, true, true, true, true, false, true}
	r, err := McNemar(mainOnly, multiTask)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("main only %v, multi-task %v\n", ProportionOf(mainOnly), ProportionOf(multiTask))
	fmt.Printf("b01 %d, b10 %d, difference %+.1f points [%+.1f, %+.1f], p = %.3f\n", r.B01, r.B10, 100*r.Diff, 100*r.Lo, 100*r.Hi, r.P)
	// Output:
	// main only 70.0% [39.7, 89.2], multi-task 90.0% [59.6, 98.2]
	// b01 0, b10 2, difference +20.0 points [-13.5, +50.2], p = 0.500
}

func TestTableIntervalsPValuesAndNotes(t *testing.T) {
	tab, err := NewTable("T | 2", []string{"Main only", "Main+Aux1"}, []string{"clean"})
	if err != nil {
		t.Fatal(err)
	}
	tab.Corner = "Model"
	if err := tab.Set("Main only", "clean", 99.3); err != nil {
		t.Fatal(err)
	}
	if err := tab.SetInterval("Main+Aux1", "clean", 98.48, 98.2, 98.71); err != nil {
		t.Fatal(err)
	}
	if err := tab.AppendColumns("p clean"); err != nil {
		t.Fatal(err)
	}
	tab.PColumns = []string{"p clean"}
	tab.Notes = []string{"p: McNemar | exact"}
	if err := tab.Set("Main+Aux1", "p clean", 0.00012); err != nil {
		t.Fatal(err)
	}
	wantMD := "**T \\| 2**\n\n| Model | clean | p clean |\n| --- | ---: | ---: |\n" +
		"| Main only | 99.30 | – |\n| Main+Aux1 | 98.48 [98.20, 98.71] | < 0.001 |\n\np: McNemar \\| exact\n"
	if got := tab.Markdown(); got != wantMD {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, wantMD)
	}
	wantCSV := "Model,clean,clean lo,clean hi,p clean\nMain only,99.30,,,\nMain+Aux1,98.48,98.20,98.71,0.00012\n"
	if got, err := tab.CSV(); err != nil || got != wantCSV {
		t.Errorf("CSV = %q, %v; want %q", got, err, wantCSV)
	}
	data, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Markdown() != tab.Markdown() {
		t.Errorf("JSON round trip changed the table (%s):\n%s", data, back.Markdown())
	}
	if err := tab.AppendColumns("clean"); err == nil {
		t.Errorf("AppendColumns of an existing name: no error")
	}
	tab.Hi = nil
	if err := tab.Validate(); err == nil || !strings.Contains(err.Error(), "want both or neither") {
		t.Errorf("Lo without Hi: error %v", err)
	}
	tab.Lo, tab.PColumns = nil, []string{"nope"}
	if err := tab.Validate(); err == nil || !strings.Contains(err.Error(), `p-value column "nope"`) {
		t.Errorf("unknown p-value column: error %v", err)
	}
}
