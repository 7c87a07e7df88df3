package figure

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

func TestSeedBars(t *testing.T) {
	for _, tc := range []struct {
		name    string
		groups  []string
		series  []string
		values  [][][]float64
		wantErr bool
	}{
		{"two series, three seeds", []string{"clean", "PGD"}, []string{"a", "b"},
			[][][]float64{{{80, 81, 79}, {60, 61, 62}}, {{78, 79, 80}, {63, 60, 61}}}, false},
		{"one seed and an empty slot", []string{"clean", "PGD"}, []string{"a"}, [][][]float64{{{80}, nil}}, false},
		{"ragged", []string{"clean", "PGD"}, []string{"a"}, [][][]float64{{{80}}}, true},
		{"no groups", nil, []string{"a"}, [][][]float64{{}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := SeedBars("t", tc.groups, tc.series, tc.values, "accuracy (%)")
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			dir := t.TempDir()
			paths, err := f.Save(dir, "seeds")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range paths {
				if st, err := os.Stat(p); err != nil || st.Size() < 1000 {
					t.Errorf("%s: %v, size %d", filepath.Base(p), err, st.Size())
				}
			}
		})
	}
}

func TestHeadlineBars(t *testing.T) {
	cmp := []experiment.ConditionComparison{{Condition: "pgd", Seeds: []experiment.SeedComparison{
		{Seed: 1, A: metric.NewProportion(60, 100), B: metric.NewProportion(62, 100)},
		{Seed: 2, A: metric.NewProportion(61, 100), B: metric.NewProportion(60, 100)}}}}
	if _, err := HeadlineBars("h", cmp); err != nil {
		t.Fatal(err)
	}
}

func TestGroupedBarsCI(t *testing.T) {
	v := [][]float64{{60, 70}}
	for _, tc := range []struct {
		name   string
		lo, hi [][]float64
		ok     bool
	}{
		{"none", nil, nil, true},
		{"intervals", [][]float64{{55, 66}}, [][]float64{{65, 74}}, true},
		{"one missing", [][]float64{{55, math.NaN()}}, [][]float64{{65, math.NaN()}}, true},
		{"lo only", [][]float64{{55, 66}}, nil, false},
		{"short", [][]float64{{55}}, [][]float64{{65}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := GroupedBarsCI("t", []string{"a", "b"}, []string{"s"}, v, tc.lo, tc.hi, "y", 0, 100)
			if (err == nil) != tc.ok {
				t.Fatalf("error %v, want ok %v", err, tc.ok)
			}
			if err == nil {
				if _, err := f.Save(t.TempDir(), "ci"); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
