package attack

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestDirectionsOnConstants checks every direction and its objective on constant per-task
// gradients and losses against answers computed by hand (two tasks, two samples of three values).
func TestDirectionsOnConstants(t *testing.T) {
	backend := goBackend(t)
	// G0, G1: per-task gradients; L: losses at the iterate; S: at the start (means 2 and 4); C: clean.
	G0 := [][]float32{{2, -4, 6}, {1, 0, -3}}
	G1 := [][]float32{{-1, 1, 0.5}, {3, -2, 2}}
	L0, L1 := []float32{2, 0.5}, []float32{5, 1}
	S0, S1 := []float32{1, 3}, []float32{4, 4}
	C0, C1 := []float32{1, 0.5}, []float32{2, 2}
	cases := []struct {
		dir       Direction
		want      [][]float64
		objective []float64
	}{
		{Single(1), [][]float64{{-1, 1, 0.5}, {3, -2, 2}}, []float64{5, 1}},
		{Total{}, [][]float64{{1, -3, 6.5}, {4, -2, -1}}, []float64{7, 1.5}},
		{SignTotal{}, [][]float64{{0, 0, 2}, {2, -1, 0}}, []float64{7, 1.5}},
		{WeightedTotal{0.25, 0.75}, [][]float64{{-0.25, -0.25, 1.875}, {2.5, -1.5, 0.75}}, []float64{4.25, 0.875}},
		// Code: G0/2 + G1/4. Paper: Ltilde = (1.25/2, 3/4) = (0.625, 0.75), mean 0.6875, r = (10/11, 12/11).
		{WGD{Variant: WGDCode}, [][]float64{{0.75, -1.75, 3.125}, {1.25, -0.5, -1}}, []float64{2.25, 0.5}},
		{WGD{}, [][]float64{{8. / 11, -28. / 11, 66. / 11}, {46. / 11, -24. / 11, -6. / 11}}, []float64{2.25, 0.5}},
		// Per sample: G0/L0 + G1/L1 = G0/2 + G1/5 and G0/0.5 + G1/1; objective sum (L-C)/C.
		{DGBA{}, [][]float64{{0.8, -1.8, 3.1}, {5, -2, -4}}, []float64{2.5, -0.5}},
	}
	for _, c := range cases {
		out, err := ExecOnceN(backend, func(g *Graph) []*Node {
			sig := Signals{
				Grads:  []*Node{Const(g, G0), Const(g, G1)},
				Losses: []*Node{Const(g, L0), Const(g, L1)},
				Start:  []*Node{Const(g, S0), Const(g, S1)},
				Clean:  []*Node{Const(g, C0), Const(g, C1)},
			}
			if tasks := c.dir.Tasks([]int{0, 1}); len(tasks) == 1 {
				sig.Grads[1-tasks[0]] = nil // as the engine does: only the gradients asked for
			}
			return []*Node{c.dir.Combine(sig), c.dir.Objective(sig)}
		})
		if err != nil {
			t.Fatalf("%s: %v", c.dir.Name(), err)
		}
		got := tensors.MustCopyFlatData[float32](out[0])
		for i, row := range c.want {
			for j, w := range row {
				if math.Abs(float64(got[i*3+j])-w) > 1e-5 {
					t.Errorf("%s: direction[%d][%d] = %v, want %v", c.dir.Name(), i, j, got[i*3+j], w)
				}
			}
		}
		obj := tensors.MustCopyFlatData[float32](out[1])
		for i, w := range c.objective {
			if math.Abs(float64(obj[i])-w) > 1e-5 {
				t.Errorf("%s: objective[%d] = %v, want %v", c.dir.Name(), i, obj[i], w)
			}
		}
	}
}

// TestDirectionTasks checks which gradients each direction asks for, and that a direction
// needing a hidden head is refused.
func TestDirectionTasks(t *testing.T) {
	attacked := []int{0, 2}
	for _, c := range []struct {
		d    Direction
		want []int
	}{{Single(2), []int{2}}, {Total{}, attacked}, {DGBA{}, attacked}, {WeightedTotal{1, 1, 0}, []int{0}}} {
		if got := c.d.Tasks(attacked); len(got) != len(c.want) || got[0] != c.want[0] {
			t.Errorf("%s.Tasks(%v) = %v, want %v", c.d.Name(), attacked, got, c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Single(1) against heads {0, 2} did not panic")
		}
	}()
	Single(1).Tasks(attacked)
}

// engineDirection returns the engine's combined direction at x for the 2-head toy, with the
// start losses taken at x: per-task gradients from one forward pass and one backward pass per task.
func engineDirection(t *testing.T, ty *toy, dir Direction) []float64 {
	t.Helper()
	exec, err := model.NewExec(ty.backend, ty.store, func(s *model.Scope, in []*Node) []*Node {
		c := newCtx(s, WhiteBox(ty.net), in[0], in[1:], nil)
		ev := c.evaluate(c.x, CE, dir.Tasks(c.tasks))
		return []*Node{dir.Combine(Signals{Grads: ev.grads, Losses: ev.losses, Start: ev.losses, Clean: ev.losses})}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	lt := ty.labelTensors()
	out, err := exec.Call(ty.xTensor(), lt[0], lt[1])
	if err != nil {
		t.Fatal(err)
	}
	return f64(tensors.MustCopyFlatData[float32](out[0]))
}

// TestDirectionsOnToyModel compares the engine's Total, SignTotal, WGD and DGBA directions on a
// 2-head toy network with the reference computed from per-task gradients obtained separately (one
// graph per head, holding only that head).
func TestDirectionsOnToyModel(t *testing.T) {
	ty := newToy(t, 3, 8)
	g0, l0 := ty.taskGradient(t, 0, ty.x)
	g1, l1 := ty.taskGradient(t, 1, ty.x)
	g, l := [][]float64{g0, g1}, [][]float64{l0, l1}
	for _, dir := range []Direction{Total{}, SignTotal{}, WGD{}, WGD{Variant: WGDCode}, DGBA{}} {
		want := hostDirection(dir.Name(), g, l, l, l, ty.n)
		got := engineDirection(t, ty, dir)
		scale := 0.0
		for _, w := range want {
			scale = math.Max(scale, math.Abs(w))
		}
		for j := range want {
			if math.Abs(got[j]-want[j]) > 1e-5*math.Max(scale, 1) {
				t.Fatalf("%s: direction[%d] = %v, reference %v", dir.Name(), j, got[j], want[j])
			}
		}
	}
}

// TestPGDDirectionsFollowReference runs 3 steps of PGD (no random start, last iterate) with each
// multi-task direction and replays them on the host from separately computed per-task gradients:
// the WGD paper variant must recompute its weights at every step from the losses at the iterate
// and at x_0, the code variant must keep the x_0 weights, DGBA must use the per-sample losses at
// the iterate.
func TestPGDDirectionsFollowReference(t *testing.T) {
	ty := newToy(t, 5, 8)
	const eps, alpha, steps = 0.1, 0.03, 3
	for _, dir := range []Direction{Total{}, SignTotal{}, WGD{}, WGD{Variant: WGDCode}, DGBA{}} {
		// Host replay.
		x := f64(ty.x)
		var start [][]float64
		nearZero := make([]bool, len(x)) // coordinates where a sign could flip on rounding
		for range steps {
			xf := make([]float32, len(x))
			for j := range x {
				xf[j] = float32(x[j])
			}
			g0, l0 := ty.taskGradient(t, 0, xf)
			g1, l1 := ty.taskGradient(t, 1, xf)
			if start == nil {
				start = [][]float64{l0, l1}
			}
			d := hostDirection(dir.Name(), [][]float64{g0, g1}, [][]float64{l0, l1}, start, start, ty.n)
			for j := range x {
				if math.Abs(d[j]) < 1e-6 {
					nearZero[j] = true
				}
				x0 := float64(ty.x[j])
				x[j] = math.Min(math.Max(x[j]+alpha*sign(d[j]), x0-eps), x0+eps)
				x[j] = math.Min(math.Max(x[j], 0), 1)
			}
		}
		// Engine.
		r, err := NewRunner(ty.backend, ty.store, WhiteBox(ty.net),
			PGD{Eps: eps, Alpha: alpha, Steps: steps, NoRandomStart: true, LastIterate: true, Direction: dir})
		if err != nil {
			t.Fatal(err)
		}
		adv, err := r.Run(ty.xTensor(), ty.labelTensors())
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](adv)
		for j := range x {
			if !nearZero[j] && math.Abs(float64(got[j])-x[j]) > 1e-6 {
				t.Fatalf("%s: x_3[%d] = %v, host replay %v", dir.Name(), j, got[j], x[j])
			}
		}
	}
}
