package attack

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// linear is a linear softmax model z = x W + b on flattened 4x4 inputs, with known weights.
type linear struct {
	backend compute.Backend // where the attack runs; the pure-Go backend unless set with on
	store   *model.Store
	net     *arch.Net
	w       []float64 // [16, k]
	b       []float64 // [k]
	k       int
	x       []float32
	y       []int32
	n       int
}

func newLinear(t *testing.T, k, n int, seed uint64, lo, hi float32) *linear {
	t.Helper()
	net := testkit.LinearNet(t, []string{"main"}, []int{k})
	r := rand.New(rand.NewPCG(seed, 3))
	m := &linear{backend: testbackends.Go(t), store: model.NewStore(), net: net, w: make([]float64, 16*k), b: make([]float64, k), k: k, n: n,
		x: make([]float32, n*16), y: make([]int32, n)}
	w32, b32 := make([]float32, 16*k), make([]float32, k)
	for i := range w32 {
		w32[i] = float32(r.NormFloat64())
		m.w[i] = float64(w32[i])
	}
	for i := range b32 {
		b32[i] = float32(r.NormFloat64() * 0.1)
		m.b[i] = float64(b32[i])
	}
	head := m.store.RootScope().In("head_main")
	head.VariableWithValue("weights", tensors.FromFlatDataAndDimensions(w32, 16, k))
	head.VariableWithValue("biases", tensors.FromFlatDataAndDimensions(b32, k))
	for i := range m.x {
		m.x[i] = lo + (hi-lo)*r.Float32()
	}
	for i := range m.y {
		m.y[i] = int32(r.IntN(k))
	}
	return m
}

func (m *linear) logits(x []float64, i int) []float64 {
	z := append([]float64(nil), m.b...)
	for j := range 16 {
		for c := range m.k {
			z[c] += x[i*16+j] * m.w[j*m.k+c]
		}
	}
	return z
}

// ce is the cross-entropy of sample i at x, in float64.
func (m *linear) ce(x []float64, i int) float64 {
	z := m.logits(x, i)
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v)
	}
	s := 0.0
	for _, v := range z {
		s += math.Exp(v - mx)
	}
	return math.Log(s) + mx - z[m.y[i]]
}

// grad is the analytic input gradient of sample i's cross-entropy: W (softmax(z) - onehot(y)).
func (m *linear) grad(x []float64, i int) []float64 {
	z := m.logits(x, i)
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, v)
	}
	p := make([]float64, m.k)
	s := 0.0
	for c, v := range z {
		p[c] = math.Exp(v - mx)
		s += p[c]
	}
	g := make([]float64, 16)
	for c := range m.k {
		p[c] /= s
		if c == int(m.y[i]) {
			p[c]--
		}
		for j := range 16 {
			g[j] += m.w[j*m.k+c] * p[c]
		}
	}
	return g
}

// on makes the model's attacks run on backend.
func (m *linear) on(backend compute.Backend) *linear {
	m.backend = backend
	return m
}

func (m *linear) run(t *testing.T, a Attack) []float32 {
	t.Helper()
	r, err := NewRunner(m.backend, m.store, GrayBox(m.net), a)
	if err != nil {
		t.Fatal(err)
	}
	r.Seed = 5
	adv, err := r.Run(tensors.FromFlatDataAndDimensions(append([]float32(nil), m.x...), m.n, 4, 4, 1),
		[]*tensors.Tensor{tensors.FromFlatDataAndDimensions(m.y, m.n)})
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](adv)
}

// TestFGSMOnLinearModel: on a linear softmax model (5 classes) the FGSM perturbation is exactly
// eps * sign of the analytic gradient W (softmax(z) - onehot(y)) (inputs are kept away from the
// borders of [0,1], so nothing is clipped), and so is one PGD step of size eps from x.
func TestFGSMOnLinearModel(t *testing.T) { testbackends.ForEach(t, testFGSMOnLinearModel) }

func testFGSMOnLinearModel(t *testing.T, backend compute.Backend) {
	const eps = 0.05
	m := newLinear(t, 5, 6, 1, 0.1, 0.9).on(backend)
	x := f64(m.x)
	for _, a := range []Attack{FGSM{Eps: eps}, PGD{Eps: eps, Alpha: eps, Steps: 1, NoRandomStart: true}} {
		adv := m.run(t, a)
		for i := range m.n {
			g := m.grad(x, i)
			for j := range 16 {
				want := x[i*16+j] + eps*sign(g[j])
				if math.Abs(float64(adv[i*16+j])-want) > 1e-6 {
					t.Fatalf("%s: sample %d pixel %d: x' = %v, want x + eps*sign(%g) = %v", a.Name(), i, j, adv[i*16+j], g[j], want)
				}
			}
		}
	}
}

// TestPGDReachesLinearWorstCase: for a 2-class linear softmax model the cross-entropy is
// softplus(-m(x)) with the margin m(x) = x·(w_y - w_o) + (b_y - b_o), so its maximum over the L∞
// ball intersected with [0,1] is reached at x*_j = clip(x_j - eps sign(w_y - w_o)_j, 0, 1). The
// gradient's sign is the same everywhere, so PGD from its random start must land exactly on x*
// (its perturbation is eps * sign of the known gradient, up to the [0,1] clip) and reach the
// analytic worst-case loss.
func TestPGDReachesLinearWorstCase(t *testing.T) {
	testbackends.ForEach(t, testPGDReachesLinearWorstCase)
}

func testPGDReachesLinearWorstCase(t *testing.T, backend compute.Backend) {
	const eps = 0.1
	m := newLinear(t, 2, 8, 2, 0, 1).on(backend) // inputs anywhere in [0,1]: the clip matters too
	x := f64(m.x)
	// MIM and APGD move along the same constant sign: they must reach the same point.
	for _, a := range []Attack{
		PGD{Eps: eps, Alpha: eps / 4, Steps: 10},
		MIM{Eps: eps, Steps: 10},
		APGD{Eps: eps, Steps: 10},
	} {
		advX := f64(m.run(t, a))
		for i := range m.n {
			y, o := int(m.y[i]), 1-int(m.y[i])
			star := make([]float64, 16*m.n)
			copy(star, x)
			for j := range 16 {
				dw := m.w[j*2+y] - m.w[j*2+o]
				star[i*16+j] = math.Min(math.Max(x[i*16+j]-eps*sign(dw), 0), 1)
				if math.Abs(advX[i*16+j]-star[i*16+j]) > 1e-6 {
					t.Fatalf("%s: sample %d pixel %d: x' = %v, worst case %v", a.Name(), i, j, advX[i*16+j], star[i*16+j])
				}
			}
			worst, got, clean := m.ce(star, i), m.ce(advX, i), m.ce(x, i)
			if math.Abs(got-worst) > 1e-5*math.Max(1, worst) || !(worst > clean) {
				t.Errorf("%s: sample %d: loss %.6f at x', analytic worst case %.6f (clean %.6f)", a.Name(), i, got, worst, clean)
			}
		}
	}
}

// TestL2AttacksOnLinearModel: for the 2-class linear model the L2 worst case (away from the
// borders of [0,1]) is x* = x - eps (w_y - w_o)/||w_y - w_o||_2, and the gradient direction is
// constant, so FGSM-L2 (one step of eps) and PGD-L2 from x (steps of eps/4, projected on the ball)
// both land on it.
func TestL2AttacksOnLinearModel(t *testing.T) { testbackends.ForEach(t, testL2AttacksOnLinearModel) }

func testL2AttacksOnLinearModel(t *testing.T, backend compute.Backend) {
	const eps = 0.2
	m := newLinear(t, 2, 6, 4, 0.3, 0.7).on(backend)
	x := f64(m.x)
	for _, a := range []Attack{FGSM{Eps: eps, Norm: L2}, PGDL2{Eps: eps, Alpha: eps / 4, Steps: 8, NoRandomStart: true}} {
		adv := m.run(t, a)
		for i := range m.n {
			y, o := int(m.y[i]), 1-int(m.y[i])
			norm := 0.0
			for j := range 16 {
				dw := m.w[j*2+y] - m.w[j*2+o]
				norm += dw * dw
			}
			norm = math.Sqrt(norm)
			for j := range 16 {
				want := x[i*16+j] - eps*(m.w[j*2+y]-m.w[j*2+o])/norm
				if math.Abs(float64(adv[i*16+j])-want) > 1e-5 {
					t.Fatalf("%s: sample %d pixel %d: x' = %v, worst case %v", a.Name(), i, j, adv[i*16+j], want)
				}
			}
		}
	}
}

// TestAPGDCheckpoints: the step-size checkpoints of AutoAttack's schedule for N = 100 are, by
// hand from its rule (first interval int(0.22 N) = 22, then shrinking by int(0.03 N) = 3 down to
// int(0.06 N) = 6): 22, 41, 57, 70, 80, 87, 93, 99.
func TestAPGDCheckpoints(t *testing.T) {
	want := map[int]float64{22: 22, 41: 19, 57: 16, 70: 13, 80: 10, 87: 7, 93: 6, 99: 6}
	for step := range 100 {
		check, window := apgdStep{}.info(step, 100)
		if w, ok := want[step]; ok != (check == 1) || (ok && window != w) {
			t.Errorf("step %d: check %v window %v, want checkpoint %v window %v", step, check, window, ok, w)
		}
	}
}
