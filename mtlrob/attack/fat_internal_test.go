package attack

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// hostFAT is Zhang et al.'s early-stopped PGD (earlystop.py) replayed on the host in float64 on the
// linear model, from x (no random start): the reference FAT is checked against. It returns the
// result and, per sample, the iteration at which the sample stopped (steps when it never did).
func (m *linear) hostFAT(eps, alpha float64, steps, tau int) (adv []float64, stoppedAt []int) {
	x := f64(m.x)
	adv = append([]float64(nil), x...)
	stoppedAt = make([]int, m.n)
	for i := range m.n {
		counter := tau
		stoppedAt[i] = steps
		for t := range steps {
			z := m.logits(adv, i)
			pred := 0
			for c := range z {
				if z[c] > z[pred] {
					pred = c
				}
			}
			if pred != int(m.y[i]) {
				if counter == 0 {
					stoppedAt[i] = t
					break
				}
				counter--
			}
			g := m.grad(adv, i)
			for j := range 16 {
				k := i*16 + j
				v := adv[k] + alpha*sign(g[j])
				v = math.Min(math.Max(v, x[k]-eps), x[k]+eps)
				adv[k] = math.Min(math.Max(v, 0), 1)
			}
		}
	}
	return adv, stoppedAt
}

// TestFATFollowsHostReference: on a linear softmax model (5 classes), FAT without random start
// gives, for tau = 0, 1, 2 and 8 (more than the steps), exactly the iterates of Zhang et al.'s
// early-stopped PGD replayed on the host from the analytic gradient: frozen at the iterate where
// the counter ran out, else the last one. Most labels are the model's clean predictions (so samples
// stop at different iterations), every fourth one is wrong (misclassified at the start).
func TestFATFollowsHostReference(t *testing.T) {
	const eps, alpha, steps = 0.15, 0.02, 8
	m := newLinear(t, 5, 16, 7, 0.2, 0.8)
	x := f64(m.x)
	for i := range m.n {
		z := m.logits(x, i)
		pred := 0
		for c := range z {
			if z[c] > z[pred] {
				pred = c
			}
		}
		m.y[i] = int32(pred)
		if i%4 == 0 {
			m.y[i] = int32((pred + 1) % m.k)
		}
	}
	kinds := map[string]int{}
	for _, tau := range []int{0, 1, 2, 8} {
		want, stoppedAt := m.hostFAT(eps, alpha, steps, tau)
		got := m.run(t, FAT{Eps: eps, Alpha: alpha, Steps: steps, Tau: tau, NoRandomStart: true})
		for i := range m.n {
			for j := range 16 {
				k := i*16 + j
				if math.Abs(float64(got[k])-want[k]) > 1e-5 {
					t.Fatalf("tau %d: sample %d (stopped at %d of %d) pixel %d: x' = %v, reference %v",
						tau, i, stoppedAt[i], steps, j, got[k], want[k])
				}
			}
			switch s := stoppedAt[i]; {
			case s == 0:
				kinds["at the start"]++
			case s < steps:
				kinds["mid-way"]++
			default:
				kinds["never"]++
			}
		}
	}
	t.Logf("samples stopped (over the 4 taus): %v", kinds)
	for _, k := range []string{"at the start", "mid-way", "never"} {
		if kinds[k] == 0 {
			t.Errorf("no sample stopped %s: the reference does not exercise that case", k)
		}
	}
}

// runToy runs a on the toy's batch against the white-box victim with the given seed and loop mode.
func runToy(t *testing.T, ty *toy, a Attack, seed int64, loop Loop) []float32 {
	t.Helper()
	r, err := NewRunner(ty.backend, ty.store, WhiteBox(ty.net), a)
	if err != nil {
		t.Fatal(err)
	}
	r.Seed, r.Loop = seed, loop
	adv, err := r.Run(ty.xTensor(), ty.labelTensors())
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](adv)
}

// toyFooled returns, per task, whether the toy network is wrong on each sample of x.
func toyFooled(t *testing.T, ty *toy, x []float32) [][]bool {
	t.Helper()
	exec, err := model.NewExec(ty.backend, ty.store, func(s *model.Scope, in []*Node) []*Node {
		var out []*Node
		for _, z := range ty.net.Logits(s, in[0]) {
			out = append(out, ArgMax(z, -1, dtypes.Int32))
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	outs, err := exec.Call(tensors.FromFlatDataAndDimensions(append([]float32(nil), x...), ty.n, 4, 4, 1))
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]bool, len(outs))
	for task, o := range outs {
		p := tensors.MustCopyFlatData[int32](o)
		res[task] = make([]bool, ty.n)
		for i := range p {
			res[task][i] = p[i] != ty.labels[task][i]
		}
	}
	return res
}

// TestFATTauZeroKeepsMisclassifiedStart: with tau = 0 and no random start, on the 2-head toy with
// random labels, a sample misclassified at x on every task the direction attacks is returned
// unchanged (bit for bit), and every other sample moves: with Single(0) the main head alone
// decides; with DGBA (both heads attacked) a sample wrong on the main head only keeps stepping.
func TestFATTauZeroKeepsMisclassifiedStart(t *testing.T) {
	ty := newToy(t, 4, 24)
	clean := toyFooled(t, ty, ty.x)
	for _, dir := range []Direction{Single(0), DGBA{}} {
		adv := runToy(t, ty, FAT{Eps: 0.3, Alpha: 0.05, Steps: 3, NoRandomStart: true, Direction: dir}, 1, LoopAuto)
		kept, moved, mainOnly := 0, 0, 0
		for i := range ty.n {
			stop := clean[0][i]
			if _, ok := dir.(DGBA); ok {
				stop = clean[0][i] && clean[1][i]
				if clean[0][i] && !clean[1][i] {
					mainOnly++
				}
			}
			same := true
			for j := range 16 {
				if adv[i*16+j] != ty.x[i*16+j] {
					same = false
				}
			}
			switch {
			case stop && !same:
				t.Errorf("%s: sample %d is misclassified at x on the attacked tasks but was moved", dir.Name(), i)
			case !stop && same:
				t.Errorf("%s: sample %d is not misclassified at x on every attacked task but was not moved", dir.Name(), i)
			case stop:
				kept++
			default:
				moved++
			}
		}
		t.Logf("%s: %d samples kept, %d moved (%d wrong on the main head only)", dir.Name(), kept, moved, mainOnly)
		if kept == 0 || moved == 0 {
			t.Errorf("%s: %d kept, %d moved: the batch must exercise both cases", dir.Name(), kept, moved)
		}
		if _, ok := dir.(DGBA); ok && mainOnly == 0 {
			t.Errorf("DGBA: no sample wrong on the main head only: the multi-task rule is not exercised")
		}
	}
}

// TestFATRandomStart: with the same seed, FAT's random start is PGD's: with tau = 0 the samples
// misclassified (on both heads, DGBA) at the start x_0 are returned at x_0, which a PGD run whose
// single step is negligible (alpha 1e-30) returns; and with a tau larger than the steps nothing
// ever stops, so FAT is PGD with LastIterate, bit for bit.
func TestFATRandomStart(t *testing.T) {
	ty := newToy(t, 6, 24)
	const eps, alpha, seed = 0.3, 0.05, 9
	x0 := runToy(t, ty, PGD{Eps: eps, Alpha: 1e-30, Steps: 1, LastIterate: true, Direction: DGBA{}}, seed, LoopAuto)
	start := toyFooled(t, ty, x0)
	fat := runToy(t, ty, FAT{Eps: eps, Alpha: alpha, Steps: 4, Direction: DGBA{}}, seed, LoopAuto)
	kept := 0
	for i := range ty.n {
		if !(start[0][i] && start[1][i]) {
			continue
		}
		kept++
		for j := range 16 {
			if k := i*16 + j; math.Abs(float64(fat[k]-x0[k])) > 1e-12 {
				t.Fatalf("sample %d is misclassified at its start but FAT moved it: pixel %d %v, start %v", i, j, fat[k], x0[k])
			}
		}
	}
	if kept == 0 {
		t.Errorf("no sample misclassified on both heads at the random start: the case is not exercised")
	}
	for _, dir := range []Direction{Single(0), DGBA{}} {
		f := runToy(t, ty, FAT{Eps: eps, Alpha: alpha, Steps: 4, Tau: 100, Direction: dir}, seed, LoopAuto)
		p := runToy(t, ty, PGD{Eps: eps, Alpha: alpha, Steps: 4, LastIterate: true, Direction: dir}, seed, LoopAuto)
		for k := range f {
			if f[k] != p[k] {
				t.Fatalf("%s: FAT with tau 100 x'[%d] = %v, PGD last iterate %v", dir.Name(), k, f[k], p[k])
			}
		}
	}
}

// TestFATLoopModesAgree: the unrolled executable and the reused step (whose state, the counters and
// stopped flags included, goes through the host between steps) give the same result.
func TestFATLoopModesAgree(t *testing.T) {
	ty := newToy(t, 8, 16)
	a := FAT{Eps: 0.3, Alpha: 0.05, Steps: 5, Tau: 1, Direction: Total{}}
	u := runToy(t, ty, a, 3, LoopUnrolled)
	r := runToy(t, ty, a, 3, LoopReused)
	for k := range u {
		if d := math.Abs(float64(u[k] - r[k])); d > 1e-6 {
			t.Fatalf("unrolled x'[%d] = %v, reused %v", k, u[k], r[k])
		}
	}
}

// TestFATConfiguration: defaults, the name, and the invalid tau.
func TestFATConfiguration(t *testing.T) {
	e := FAT{Eps: 0.1, Tau: 3, Direction: DGBA{}}.engine()
	if e.nSteps != 10 || math.Abs(e.alpha-0.025) > 1e-12 || e.start != initUniform || !e.lastIterate || e.nRounds != 1 {
		t.Errorf("defaults: %d steps, alpha %g, start %d, last iterate %v, %d rounds; want 10, 0.025, uniform, true, 1",
			e.nSteps, e.alpha, e.start, e.lastIterate, e.nRounds)
	}
	const want = "FAT-Linf(eps=0.1,alpha=0.025,steps=10,restarts=1,random-start,early-stop(tau=3)+sign,DGBA,CE,last-iterate)"
	if got := (FAT{Eps: 0.1, Tau: 3, Direction: DGBA{}}).Name(); got != want {
		t.Errorf("name %q, want %q", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("FAT with tau -1 did not panic")
		}
	}()
	FAT{Eps: 0.1, Tau: -1}.Name()
}

// TestFATEpsZero: with a zero budget FAT returns x exactly, with or without a random start.
func TestFATEpsZero(t *testing.T) {
	ty := newToy(t, 2, 8)
	for _, a := range []Attack{FAT{Steps: 3}, FAT{Steps: 3, Tau: 1, Direction: DGBA{}, NoRandomStart: true}} {
		got := runToy(t, ty, a, 1, LoopAuto)
		for k := range got {
			if got[k] != ty.x[k] {
				t.Fatalf("%s: x'[%d] = %v, x = %v", a.Name(), k, got[k], ty.x[k])
			}
		}
	}
}
