package attack

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// toy is a 2-head network (main: 4 classes, aux: 3) on 4x4x1 inputs with random weights, and a
// random batch with random labels.
type toy struct {
	backend compute.Backend
	store   *model.Store
	net     *arch.Net
	x       []float32 // [n, 4, 4, 1]
	labels  [][]int32 // per task
	n       int
}

func newToy(t testing.TB, seed int64, n int) *toy {
	t.Helper()
	net := testkit.MLP(t, 8, []string{"main", "aux"}, []int{4, 3})
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	r := rand.New(rand.NewPCG(uint64(seed), 11))
	ty := &toy{backend: testbackends.Go(t), store: store, net: net, n: n, x: make([]float32, n*16), labels: [][]int32{make([]int32, n), make([]int32, n)}}
	for i := range ty.x {
		ty.x[i] = 0.2 + 0.6*r.Float32()
	}
	for i := range n {
		ty.labels[0][i] = int32(r.IntN(4))
		ty.labels[1][i] = int32(r.IntN(3))
	}
	return ty
}

func (ty *toy) xTensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]float32(nil), ty.x...), ty.n, 4, 4, 1)
}

func (ty *toy) labelTensors() []*tensors.Tensor {
	out := make([]*tensors.Tensor, len(ty.labels))
	for i, l := range ty.labels {
		out[i] = tensors.FromFlatDataAndDimensions(append([]int32(nil), l...), len(l))
	}
	return out
}

// taskGradient computes, in a graph of its own holding only head t, the per-sample CE loss of
// head t at x and its input gradient: the reference the engine's per-task gradients are checked
// against.
func (ty *toy) taskGradient(t testing.TB, task int, x []float32) (grad []float64, loss []float64) {
	t.Helper()
	exec, err := model.NewExec(ty.backend, ty.store, func(s *model.Scope, in []*Node) []*Node {
		xin := Identity(in[0])
		z := ty.net.Heads(s, xin, task)[0]
		l := arch.CrossEntropy(z, in[1])
		return []*Node{Gradient(ReduceAllSum(l), xin)[0], l}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	out, err := exec.Call(tensors.FromFlatDataAndDimensions(append([]float32(nil), x...), ty.n, 4, 4, 1),
		tensors.FromFlatDataAndDimensions(ty.labels[task], ty.n))
	if err != nil {
		t.Fatal(err)
	}
	return f64(tensors.MustCopyFlatData[float32](out[0])), f64(tensors.MustCopyFlatData[float32](out[1]))
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// hostDirection is the hand-written reference of each direction, from per-task gradients g[i]
// (flat [n*d]), per-sample losses l[i], start losses s[i] and clean losses c[i], for n samples.
func hostDirection(name string, g, l, s, c [][]float64, n int) []float64 {
	d := len(g[0]) / n
	out := make([]float64, len(g[0]))
	T := len(g)
	switch name {
	case "Total":
		for i := range T {
			for j := range out {
				out[j] += g[i][j]
			}
		}
	case "SignTotal":
		for i := range T {
			for j := range out {
				out[j] += sign(g[i][j])
			}
		}
	case "WGD(code)":
		for i := range T {
			m := mean(s[i])
			for j := range out {
				out[j] += g[i][j] / m
			}
		}
	case "WGD(paper)":
		ratio := make([]float64, T)
		for i := range T {
			ratio[i] = mean(l[i]) / mean(s[i])
		}
		rm := mean(ratio)
		for i := range T {
			for j := range out {
				out[j] += ratio[i] / rm * g[i][j]
			}
		}
	case "DGBA":
		for i := range T {
			for j := range out {
				out[j] += g[i][j] / math.Max(l[i][j/d], 1e-12)
			}
		}
	default:
		panic(name)
	}
	return out
}

var _ = math.Abs
