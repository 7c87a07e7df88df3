package parity

import (
	"math"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/attack"
)

// TestPlan checks the runs the default comparison makes: every PGD setting with and without a
// random start, last and strongest iterate; one last-iterate run per seed; the three CW runs; and
// that each run's mtlrob attack has the run's settings.
func TestPlan(t *testing.T) {
	cfg := DefaultConfig()
	runs := cfg.plan()
	perKey := map[string][]Run{}
	for _, r := range runs {
		perKey[r.Key] = append(perKey[r.Key], r)
	}
	if want := 4*len(cfg.PGD) + 3; len(perKey) != want {
		t.Fatalf("%d distinct settings, want %d: %v", len(perKey), want, perKey)
	}
	for _, s := range cfg.PGD {
		for _, tc := range []struct {
			rnd, last bool
			seeds     int
		}{{true, true, len(cfg.Seeds)}, {true, false, 1}, {false, true, 1}, {false, false, 1}} {
			key := PGDKey(s, tc.rnd, tc.last)
			got := perKey[key]
			if len(got) != tc.seeds {
				t.Errorf("%s: %d runs, want %d", key, len(got), tc.seeds)
			}
			for _, r := range got {
				name := r.attack().Name()
				if strings.Contains(name, "last-iterate") != tc.last || strings.Contains(name, "random-start") != tc.rnd {
					t.Errorf("%s: attack %s", key, name)
				}
				if pgd := r.attack().(attack.PGD); pgd.Eps != s.Eps || pgd.Alpha != s.Alpha || pgd.Steps != s.Steps {
					t.Errorf("%s: attack %+v", key, pgd)
				}
				if (r.Seed != 0) != tc.rnd {
					t.Errorf("%s: seed %d", key, r.Seed)
				}
			}
		}
	}
	for _, tc := range []struct {
		search, iters int
		abort         bool
	}{{1, cfg.CW.Iterations, false}, {cfg.CW.SearchSteps, cfg.CW.SearchIterations, false}, {cfg.CW.SearchSteps, cfg.CW.SearchIterations, true}} {
		key := CWKey(cfg.CW, tc.search, tc.iters, tc.abort)
		got := perKey[key]
		if len(got) != 1 {
			t.Fatalf("%s: %d runs, want 1", key, len(got))
		}
		cw := got[0].attack().(attack.CW)
		if cw.BinarySteps != tc.search || cw.MaxIterations != tc.iters || cw.NoAbortEarly == tc.abort ||
			cw.LearningRate != cfg.CW.LearningRate || cw.InitialConst != cfg.CW.InitialConst || cw.Kappa != cfg.CW.Kappa {
			t.Errorf("%s: attack %+v", key, cw)
		}
	}
}

func TestKeys(t *testing.T) {
	if got, want := PGDKey(PGDSetting{Eps: 0.1, Alpha: 0.01, Steps: 20}, true, true), "pgd/eps=0.1/alpha=0.01/steps=20/rand/last"; got != want {
		t.Errorf("PGDKey = %q, want %q", got, want)
	}
	if got, want := CWKey(CWSetting{LearningRate: 0.01, InitialConst: 1}, 5, 10, false), "cw/search=5/iterations=10/lr=0.01/c0=1/kappa=0/no-abort"; got != want {
		t.Errorf("CWKey = %q, want %q", got, want)
	}
}

func TestCorrectAndDistortions(t *testing.T) {
	logits := []float32{0, 2, 1 /**/, 3, 3, 0 /**/, -1, -2, -3}
	got := correct(logits, []int32{1, 1, 0}, 3)
	if want := []bool{true, false, true}; !equal(got, want) { // a tie goes to the first maximum
		t.Errorf("correct = %v, want %v", got, want)
	}
	if a := accuracy(got); math.Abs(a-2.0/3) > 1e-12 {
		t.Errorf("accuracy = %g", a)
	}
	l2, linf := distortions([]float32{0.5, 0.5, 1, 1}, []float32{0.2, 0.9, 1, 1}, 2)
	if math.Abs(l2[0]-0.5) > 1e-6 || math.Abs(linf[0]-0.4) > 1e-6 || l2[1] != 0 || linf[1] != 0 {
		t.Errorf("distortions = %v, %v", l2, linf)
	}
}

func equal(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
