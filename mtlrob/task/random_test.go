package task

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// groupSizes returns how many source classes m maps to each target class.
func groupSizes(m Map) []int {
	sizes := make([]int, m.Km())
	for _, c := range m.Table {
		sizes[c]++
	}
	return sizes
}

func TestRandomMaps(t *testing.T) {
	for _, gen := range []struct {
		name string
		fn   func(string, []string, int, int64) (Map, error)
	}{{"Random", Random}, {"RandomBalanced", RandomBalanced}} {
		for _, shape := range [][2]int{{3, 2}, {10, 2}, {10, 9}, {43, 5}, {200, 3}, {200, 199}} {
			k, km := shape[0], shape[1]
			src := numbered(k)
			distinct := make(map[string]bool)
			for seed := range int64(20) {
				m, err := gen.fn("r", src, km, seed)
				if err != nil {
					t.Fatalf("%s(K=%d, Km=%d, seed %d): %v", gen.name, k, km, seed, err)
				}
				if err := m.Validate(); err != nil { // surjective, in range
					t.Fatalf("%s(K=%d, Km=%d, seed %d): %v", gen.name, k, km, seed, err)
				}
				if gen.name == "RandomBalanced" {
					for c, n := range groupSizes(m) {
						if n != k/km && n != (k+km-1)/km {
							t.Errorf("%s(K=%d, Km=%d, seed %d): group %d has %d classes", gen.name, k, km, seed, c, n)
						}
					}
				}
				again, _ := gen.fn("r", src, km, seed)
				if !slices.Equal(m.Table, again.Table) {
					t.Errorf("%s(K=%d, Km=%d, seed %d) is not deterministic", gen.name, k, km, seed)
				}
				distinct[fmt.Sprint(m.Table)] = true
			}
			// 20 seeds give 20 different maps but where there are few maps
			// (K=3, Km=2: 6 surjections, 6 balanced maps).
			if want := min(20, 6); len(distinct) < want {
				t.Errorf("%s(K=%d, Km=%d): %d distinct maps from 20 seeds, want at least %d", gen.name, k, km, len(distinct), want)
			}
		}
		_, err := gen.fn("r", numbered(4), 4, 1)
		if err == nil || !strings.Contains(err.Error(), "want 2 <= K_m < K") {
			t.Errorf("%s(K=4, Km=4) error = %v", gen.name, err)
		}
		_, err = gen.fn("r", numbered(4), 1, 1)
		if err == nil || !strings.Contains(err.Error(), "want 2 <= K_m < K") {
			t.Errorf("%s(K=4, Km=1) error = %v", gen.name, err)
		}
	}
}

// TestRandomUniform draws many maps and checks that every surjection is
// about equally frequent: there are 2^4-2 = 14 surjections of 4 classes
// onto 2 and 3^4-3·2^4+3 = 36 onto 3. Balanced maps of 4 onto 2 have two
// groups of two: C(4,2) = 6; of 4 onto 3, every surjection is balanced.
func TestRandomUniform(t *testing.T) {
	for _, tt := range []struct {
		name     string
		fn       func(string, []string, int, int64) (Map, error)
		km, maps int
	}{
		{"Random", Random, 2, 14},
		{"Random", Random, 3, 36},
		{"RandomBalanced", RandomBalanced, 3, 36},
		{"RandomBalanced", RandomBalanced, 2, 6},
	} {
		const perMap = 400
		counts := make(map[string]int)
		for seed := range int64(tt.maps * perMap) {
			m, err := tt.fn("r", numbered(4), tt.km, seed)
			if err != nil {
				t.Fatal(err)
			}
			counts[fmt.Sprint(m.Table)]++
		}
		if len(counts) != tt.maps {
			t.Errorf("%s(K=4, Km=%d): %d distinct maps, want %d", tt.name, tt.km, len(counts), tt.maps)
		}
		// Pearson's chi-square statistic has maps-1 degrees of freedom, mean
		// df and sd sqrt(2 df); 6 sd is far beyond chance. The shuffle-then-
		// fill-the-rest sampler (biased toward 2+2 splits) scores about 120
		// for 4 onto 2, where the bound is 44.
		chi2 := 0.0
		for _, n := range counts {
			d := float64(n - perMap)
			chi2 += d * d / perMap
		}
		df := float64(tt.maps - 1)
		if bound := df + 6*math.Sqrt(2*df); chi2 > bound {
			t.Errorf("%s(K=4, Km=%d): chi-square %.1f over %d maps, want at most %.1f", tt.name, tt.km, chi2, tt.maps, bound)
		}
	}
}
