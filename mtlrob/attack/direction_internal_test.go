package attack

import (
	"math"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
)

// TestDirectionsOnConstants checks every direction and its objective on constant per-task
// gradients and losses against answers computed by hand (two tasks, two samples of three values).
func TestDirectionsOnConstants(t *testing.T) {
	backend := testbackends.Go(t)
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
	kb := ty.kinkBounds(t, 0, 0, 0) // engine and reference at the same x: no drift
	for _, dir := range []Direction{Total{}, SignTotal{}, WGD{}, WGD{Variant: WGDCode}, DGBA{}} {
		want := hostDirection(dir.Name(), g, l, l, l, ty.n)
		bound, near := directionBound(dir.Name(), kb, g, l, l, ty.n)
		got := engineDirection(t, ty, dir)
		for j := range want {
			if dir.Name() == "SignTotal" && near[j] {
				t.Logf("%s: direction[%d]: a task's gradient is within rounding of 0, not compared", dir.Name(), j)
				continue
			}
			if math.Abs(got[j]-want[j]) > bound[j] {
				t.Fatalf("%s: direction[%d] = %v, reference %v (rounding bound %.3g)", dir.Name(), j, got[j], want[j], bound[j])
			}
		}
	}
}

// TestPGDDirectionsFollowReference runs 3 steps of PGD (no random start, last iterate) with each
// multi-task direction and replays them on the host from separately computed per-task gradients:
// the WGD paper variant must recompute its weights at every step from the losses at the iterate
// and at x_0, the code variant must keep the x_0 weights, DGBA must use the per-sample losses at
// the iterate. A step moves by alpha times a sign, which rounding can flip where the direction (for
// SignTotal: a task's gradient) is within its rounding bound of 0 (toy.kinkBounds) or a hidden ReLU
// input within its bound of 0; such a sample is not compared from that step on (its later gradients
// are taken at another point), nor, for WGD(paper), whose weights are batch means of the current
// losses, any sample. With this seed one sample of WGD(code) is left out, none of the others.
func TestPGDDirectionsFollowReference(t *testing.T) {
	ty := newToy(t, 5, 8)
	const eps, alpha, steps = 0.1, 0.03, 3
	ty.taskGradient(t, 0, ty.x) // creates every variable, for kinkBounds
	ty.taskGradient(t, 1, ty.x)
	kb := ty.kinkBounds(t, steps, alpha, eps)
	for _, dir := range []Direction{Total{}, SignTotal{}, WGD{}, WGD{Variant: WGDCode}, DGBA{}} {
		// Host replay.
		x := f64(ty.x)
		var start [][]float64
		nearKink := make([]bool, ty.n) // samples where a step's sign could flip on rounding
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
			g, l := [][]float64{g0, g1}, [][]float64{l0, l1}
			d := hostDirection(dir.Name(), g, l, start, start, ty.n)
			_, near := directionBound(dir.Name(), kb, g, l, start, ty.n)
			for j := range x {
				if near[j] || ty.nearReLUKink(kb, xf, j/16) {
					nearKink[j/16] = true
				}
				x0 := float64(ty.x[j])
				x[j] = math.Min(math.Max(x[j]+alpha*sign(d[j]), x0-eps), x0+eps)
				x[j] = math.Min(math.Max(x[j], 0), 1)
			}
		}
		if dir.Name() == "WGD(paper)" && slices.Contains(nearKink, true) {
			for i := range nearKink {
				nearKink[i] = true
			}
		}
		if n := len(slices.DeleteFunc(slices.Clone(nearKink), func(b bool) bool { return !b })); n > ty.n/2 {
			t.Fatalf("%s: %d of %d samples pass within rounding of a sign flip: the check would say little", dir.Name(), n, ty.n)
		} else if n > 0 {
			t.Logf("%s: %d of %d samples within rounding of a sign flip, not compared", dir.Name(), n, ty.n)
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
			// Where every sign agrees the iterates differ by rounding only: at most kb.drift (below).
			if !nearKink[j/16] && math.Abs(float64(got[j])-x[j]) > kb.drift {
				t.Fatalf("%s: x_3[%d] = %v, host replay %v", dir.Name(), j, got[j], x[j])
			}
		}
	}
}

// directionBound returns, per coordinate, a bound on the rounding error of the direction name combines
// from per-task gradients g (each off by at most kb.grad) and losses l and start losses s (each off by at
// most kb.loss), and whether the direction's sign could flip on it there. The weights c_t of Total, WGD
// and DGBA are positive, so hostDirection itself gives sum_t c_t E_t and sum_t c_t |g_t|; the weights are
// ratios of at most 6 losses or loss means, off by rho = 6 kb.loss / (smallest loss) relative, and the
// combination rounds by 4u: bound = sum_t c_t E_t + (rho + 4u) sum_t c_t |g_t|. SignTotal's kinks are at
// each task's zero, so it is near one where some |g_t| <= E_t; away from them it is exact (bound 0).
func directionBound(name string, kb toyKinkBounds, g, l, s [][]float64, n int) (bound []float64, near []bool) {
	near = make([]bool, len(g[0]))
	if name == "SignTotal" {
		for j := range near {
			for task := range g {
				near[j] = near[j] || math.Abs(g[task][j]) <= kb.grad[task][j]
			}
		}
		return make([]float64, len(near)), near
	}
	lMin := math.Inf(1)
	for _, ls := range append(append([][]float64(nil), l...), s...) {
		for _, v := range ls {
			lMin = min(lMin, v)
		}
	}
	absG := make([][]float64, len(g))
	for task := range g {
		absG[task] = make([]float64, len(g[task]))
		for j, v := range g[task] {
			absG[task][j] = math.Abs(v)
		}
	}
	d := hostDirection(name, g, l, s, s, n)
	fromE, fromG := hostDirection(name, kb.grad, l, s, s, n), hostDirection(name, absG, l, s, s, n)
	rho := 6*kb.loss/lMin + 4*math.Ldexp(1, -24)
	bound = make([]float64, len(d))
	for j := range d {
		bound[j] = fromE[j] + rho*fromG[j]
		near[j] = math.Abs(d[j]) <= bound[j]
	}
	return bound, near
}

// toyKinkBounds are worst-case rounding bounds for a host replay of PGD on the toy against the engine
// (see kinkBounds).
type toyKinkBounds struct {
	grad  [][]float64 // [task][n*16]: bound on |engine's - reference's| per-task input gradient
	loss  float64     // bound on the error of a per-sample loss
	drift float64     // bound on |engine's - host's| iterate, per value
	w1    []float64   // hidden weights [16, 8] and biases [8], for nearReLUKink
	b1    []float64
	a1    []float64 // per hidden unit, bound on its sum of |terms| (inputs in [0,1])
}

// kinkBounds derives, from the toy's weights alone, worst-case float32 rounding bounds (any summation
// order, any FMA use; u = 2^-24, first order) on the difference between the engine's per-task input
// gradients at its iterate and the reference's (taskGradient, another graph) at the host's iterate,
// over steps PGD steps of size alpha in an eps-ball:
//   - drift X: each step's x + alpha s rounds by u (1+alpha), alpha by u alpha, the clip bounds
//     x0 ± eps by u eps + u (1+eps), and the host's float32 of x by u; clips are 1-Lipschitz, so
//     X = steps (3 + 2 alpha + 2 eps) u.
//   - hidden pre-activation (16 products and a bias): 17 u A1_h, A1_h = sum_j |W1_jh| + |b1_h|;
//     logit (8 products of ReLU outputs and a bias): 9 u A2_c + sum_h |W2_hc| 17 u A1_h <= 26 u A2_c,
//     A2_c = sum_h |W2_hc| A1_h + |b2_c|; plus the drift X G, G = max_c sum_k sum_h |W2_hc| |W1_kh|:
//     D = 26 u max A2 + X G.
//   - softmax: logits off by D move p by a factor in [e^-2D, e^2D]; exp, the sum, the division add
//     8u: |dp_c| <= p_c (2D + 8u). delta_h = sum_c W2_hc (p_c - y_c) (<= 4 terms) is then off by
//     (4u + 8u + 2D) sum_c |W2_hc|, and g_j = sum_h W1_jh m_h delta_h (8 terms) by
//     (20u + 2D) C_j, C_j = sum_h |W1_jh| sum_c |W2_hc|; the drift moves g_j by at most 2 X G C_j
//     (|d p_c/d x_k| <= 2 p_c max_c' sum_h |W2_hc'| |W1_kh|), with the ReLU masks unchanged (checked
//     by nearReLUKink). E_j = (20u + 2D + 2XG) C_j.
//   - a loss, logsumexp(z) - z_y: 2D + 8u (1 + max A2).
func (ty *toy) kinkBounds(t *testing.T, steps int, alpha, eps float64) toyKinkBounds {
	t.Helper()
	u := math.Ldexp(1, -24)
	get := func(path string) []float64 {
		v := ty.store.GetVariable(path)
		if v == nil {
			t.Fatalf("no variable %s", path)
		}
		return f64(tensors.MustCopyFlatData[float32](v.MustValue()))
	}
	const in, hid = 16, 8
	kb := toyKinkBounds{w1: get("/backbone/fc/weights"), b1: get("/backbone/fc/biases"), a1: make([]float64, hid)}
	for h := range hid {
		kb.a1[h] = math.Abs(kb.b1[h])
		for j := range in {
			kb.a1[h] += math.Abs(kb.w1[j*hid+h])
		}
	}
	X := float64(steps) * (3 + 2*alpha + 2*eps) * u
	var maxA2, G float64
	C := make([][]float64, 2)
	for task, name := range []string{"main", "aux"} {
		w2, b2 := get("/head_"+name+"/weights"), get("/head_"+name+"/biases")
		k := len(b2)
		C[task] = make([]float64, in)
		for c := range k {
			a2, gc := math.Abs(b2[c]), 0.0
			for h := range hid {
				a2 += math.Abs(w2[h*k+c]) * kb.a1[h]
				for j := range in {
					gc += math.Abs(w2[h*k+c]) * math.Abs(kb.w1[j*hid+h])
					C[task][j] += math.Abs(kb.w1[j*hid+h]) * math.Abs(w2[h*k+c])
				}
			}
			maxA2, G = max(maxA2, a2), max(G, gc)
		}
	}
	D := 26*u*maxA2 + X*G
	kb.grad = make([][]float64, 2)
	for task := range kb.grad {
		kb.grad[task] = make([]float64, ty.n*in)
		for j := range kb.grad[task] {
			kb.grad[task][j] = (20*u + 2*D + 2*X*G) * C[task][j%in]
		}
	}
	kb.loss = 2*D + 8*u*(1+maxA2)
	kb.drift = X
	return kb
}

// nearReLUKink reports whether a hidden ReLU input of sample i at x is within its rounding error
// (17 u A1) plus the drift's effect (sum_j |W1_jh| X) of 0, where the engine's mask could differ.
func (ty *toy) nearReLUKink(kb toyKinkBounds, x []float32, i int) bool {
	u := math.Ldexp(1, -24)
	const in, hid = 16, 8
	for h := range hid {
		z, w := kb.b1[h], 0.0
		for j := range in {
			z += float64(x[i*in+j]) * kb.w1[j*hid+h]
			w += math.Abs(kb.w1[j*hid+h])
		}
		if math.Abs(z) <= 17*u*kb.a1[h]+w*kb.drift {
			return true
		}
	}
	return false
}
