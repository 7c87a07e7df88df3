package arch

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/internal/testbackends"
)

// TestIm2ColGatherEqualsSlices: the Gather formulation of im2col copies exactly the elements that the
// kernel*kernel strided Slices of im2colSlices copy, for every kernel, stride and padding the
// architectures use, and its gradient (a ScatterSum) equals theirs (Pads, summed). The finite-difference
// checks of the convolutions are in TestOpGradientsMatchFiniteDifferences.
func TestIm2ColGatherEqualsSlices(t *testing.T) {
	testbackends.ForEach(t, testIm2ColGatherEqualsSlices)
}

func testIm2ColGatherEqualsSlices(t *testing.T, backend compute.Backend) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name                   string
		x                      operand
		kernel, stride, lo, hi int
	}{
		{"5x5 same (LeNet)", randomOperand(r, 2, 9, 7, 3), 5, 1, 2, 2},
		{"3x3 stride 2 pad 1 (ResNet)", randomOperand(r, 2, 8, 7, 2), 3, 2, 1, 1},
		{"1x1 stride 2 (shortcut)", randomOperand(r, 1, 6, 6, 3), 1, 2, 0, 0},
		{"11x11 stride 4 pad 2 (AlexNet)", randomOperand(r, 1, 23, 19, 1), 11, 4, 2, 2},
		{"3x3 valid", randomOperand(r, 2, 5, 6, 1), 3, 1, 0, 0},
		{"4x4 asymmetric pad", randomOperand(r, 1, 6, 6, 2), 4, 1, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := CallOnceN(backend, func(x *Node) []*Node {
				x = Identity(x)
				a, b := im2col(x, tc.kernel, tc.stride, tc.lo, tc.hi), im2colSlices(x, tc.kernel, tc.stride, tc.lo, tc.hi)
				weights := IotaFull(x.Graph(), a.Shape()) // a gradient that tells every patch element apart
				ga := Gradient(ReduceAllSum(Mul(a, weights)), x)[0]
				gb := Gradient(ReduceAllSum(Mul(b, weights)), x)[0]
				return []*Node{a, b, ga, gb}
			}, tc.x.tensor())
			if err != nil {
				t.Fatal(err)
			}
			if !out[0].Shape().Equal(out[1].Shape()) {
				t.Fatalf("shapes differ: gather %s, slices %s", out[0].Shape(), out[1].Shape())
			}
			for k, what := range []string{"patches", "gradient"} {
				ours, theirs := tensors.MustCopyFlatData[float64](out[2*k]), tensors.MustCopyFlatData[float64](out[2*k+1])
				for i := range ours {
					if ours[i] != theirs[i] {
						t.Fatalf("%s element %d: gather %g, slices %g", what, i, ours[i], theirs[i])
					}
				}
			}
		})
	}
}
