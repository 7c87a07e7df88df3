package arch

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
)

// TestLeNetAgreesAcrossBackends: the same seeded weights and inputs give the same logits and input
// gradients on the pure-Go backend and on XLA CPU, to float32 tolerance. They cannot agree bit for bit:
// the backends sum in different orders (XLA's convolution is native, the Go backend's is im2col), so
// the tolerance is relative, 1e-4 of the largest magnitude.
func TestLeNetAgreesAcrossBackends(t *testing.T) {
	xb, gb := testbackends.XLACPU(t), testbackends.Go(t)
	net, err := LeNet([]string{"main", "aux"}, []int{10, 3})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(7))
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 4*28*28)
	for i := range x {
		x[i] = r.Float32()
	}
	labels := []int32{1, 4, 7, 9}
	fn := func(s *model.Scope, x, y *Node) []*Node {
		id := Identity(x)
		logits := net.Logits(s, id)
		loss := ReduceAllSum(CrossEntropy(logits[0], y))
		return []*Node{logits[0], logits[1], Gradient(loss, id)[0]}
	}
	run := func(backend compute.Backend) [][]float32 {
		for v := range store.IterVariables() { // detach the weights from the backend that made them
			if v.HasValue() {
				v.MustValue().ToLocal()
			}
		}
		exec, err := model.NewExec(backend, store, fn)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(x, 4, 28, 28, 1), labels)
		if err != nil {
			t.Fatal(err)
		}
		res := make([][]float32, len(out))
		for i, o := range out {
			res[i] = tensors.MustCopyFlatData[float32](o)
		}
		return res
	}
	onGo, onXLA := run(gb), run(xb)
	for i, name := range []string{"main logits", "aux logits", "input gradient"} {
		scale := 0.0
		for _, v := range onGo[i] {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for j := range onGo[i] {
			if d := math.Abs(float64(onGo[i][j] - onXLA[i][j])); d > 1e-4*scale {
				t.Fatalf("%s[%d]: go %g, xla %g (scale %g)", name, j, onGo[i][j], onXLA[i][j], scale)
			}
		}
	}
}
