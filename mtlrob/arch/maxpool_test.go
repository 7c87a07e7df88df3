package arch

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/internal/testbackends"
)

// TestMaxPoolTieGradients checks the max-pooling gradient where elements of a window tie for the
// maximum, against gradients written out by hand with PyTorch's rule (torch.nn.MaxPool2d): each
// window passes its output's gradient to exactly one element, the first maximal one in row-major
// window order; overlapping windows add up. The objective is sum(pool(x) * weights), so the expected
// input gradient is weights[o] at the element window o selects, 0 elsewhere. Finite differences
// cannot check this (the function has a kink at a tie); the op checks do so away from ties.
//
// Inputs are [1, H, W, C] written as rows[h][w] = the C channel values.
func TestMaxPoolTieGradients(t *testing.T) { testbackends.ForEach(t, testMaxPoolTieGradients) }

func testMaxPoolTieGradients(t *testing.T, backend compute.Backend) {
	type grid [][][]float64 // [h][w][c]
	tests := []struct {
		name    string
		pool    func(x *Node) *Node
		x       grid
		weights grid // the output's shape: one weight per output element
		want    grid // the input's shape: the expected gradient
	}{
		{"2x2 all equal: the first element", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{1}, {1}}, {{1}, {1}}},
			grid{{{5}}},
			grid{{{5}, {0}}, {{0}, {0}}}},
		{"2x2 all zero (a ReLU's blank region)", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{0}, {0}}, {{0}, {0}}},
			grid{{{3}}},
			grid{{{3}, {0}}, {{0}, {0}}}},
		{"2x2 tie on the anti-diagonal: top right", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{0}, {3}}, {{3}, {1}}},
			grid{{{2}}},
			grid{{{0}, {2}}, {{0}, {0}}}},
		{"2x2 tie in the bottom row: bottom left", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{0}, {1}}, {{2}, {2}}},
			grid{{{2}}},
			grid{{{0}, {0}}, {{2}, {0}}}},
		{"2x2 negative tie, smaller last element", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{-1}, {-1}}, {{-1}, {-2}}},
			grid{{{7}}},
			grid{{{7}, {0}}, {{0}, {0}}}},
		{"2x2 no tie: the maximum", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{0}, {1}}, {{2}, {5}}},
			grid{{{4}}},
			grid{{{0}, {0}}, {{0}, {4}}}},
		{"4x4 of zeros: four windows, each its own first element", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}}},
			grid{{{1}, {2}}, {{3}, {4}}},
			grid{{{1}, {0}, {2}, {0}}, {{0}, {0}, {0}, {0}}, {{3}, {0}, {4}, {0}}, {{0}, {0}, {0}, {0}}}},
		{"3x3 input, window 2: the odd row and column are cropped", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{1}, {1}, {9}}, {{1}, {1}, {9}}, {{9}, {9}, {9}}},
			grid{{{6}}},
			grid{{{6}, {0}, {0}}, {{0}, {0}, {0}}, {{0}, {0}, {0}}}},
		{"3x3 window, three-way tie: top right", func(x *Node) *Node { return MaxPool2D(x, 3) },
			grid{{{0}, {1}, {7}}, {{2}, {7}, {3}}, {{7}, {4}, {5}}},
			grid{{{2}}},
			grid{{{0}, {0}, {2}}, {{0}, {0}, {0}}, {{0}, {0}, {0}}}},
		{"two channels: each its own window", func(x *Node) *Node { return MaxPool2D(x, 2) },
			grid{{{4, 0}, {4, 1}}, {{4, 2}, {4, 2}}},
			grid{{{3, 5}}},
			grid{{{3, 0}, {0, 0}}, {{0, 5}, {0, 0}}}},
		{"MaxPool2DStrided 2x2/2 tie: the first element", func(x *Node) *Node { return MaxPool2DStrided(x, 2, 2) },
			grid{{{0}, {3}}, {{3}, {3}}},
			grid{{{2}}},
			grid{{{0}, {2}}, {{0}, {0}}}},
		// Windows at rows/columns 0-2 and 2-4 overlap in the middle row and column.
		{"MaxPool2DStrided 3x3/2 of zeros: each window's first element", func(x *Node) *Node { return MaxPool2DStrided(x, 3, 2) },
			grid{{{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}},
			grid{{{1}, {2}}, {{3}, {4}}},
			grid{{{1}, {0}, {2}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{3}, {0}, {4}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}}},
		{"MaxPool2DStrided 3x3/2: a shared centre maximum collects every window's gradient", func(x *Node) *Node { return MaxPool2DStrided(x, 3, 2) },
			grid{{{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {1}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}},
			grid{{{1}, {2}}, {{3}, {4}}},
			grid{{{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {10}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}}},
		{"MaxPool2DStrided 3x3/2: tie across the shared column", func(x *Node) *Node { return MaxPool2DStrided(x, 3, 2) },
			// Window (0,0) covers columns 0-2, window (0,1) columns 2-4; the 8s at (0,2) and (1,0)
			// tie in the first, (0,2) comes first in it, and it is also the first 8 of the second.
			grid{{{0}, {0}, {8}, {0}, {8}}, {{8}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}},
			grid{{{1}, {2}}},
			grid{{{0}, {0}, {3}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}, {{0}, {0}, {0}, {0}, {0}}}},
	}
	flat := func(g grid) (data []float64, dims []int) {
		for _, row := range g {
			for _, px := range row {
				data = append(data, px...)
			}
		}
		return data, []int{1, len(g), len(g[0]), len(g[0][0])}
	}
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/%s", dtype, tc.name), func(t *testing.T) {
				xData, xDims := flat(tc.x)
				wData, wDims := flat(tc.weights)
				wantData, _ := flat(tc.want)
				x := tensors.FromFlatDataAndDimensions(xData, xDims...)
				w := tensors.FromFlatDataAndDimensions(wData, wDims...)
				out, err := CallOnceN(backend, func(x, w *Node) (*Node, *Node) {
					x, w = ConvertDType(x, dtype), ConvertDType(w, dtype)
					id := Identity(x)
					pooled := tc.pool(id)
					if !pooled.Shape().Equal(w.Shape()) {
						panic(fmt.Sprintf("pooled shape %s, weights %s", pooled.Shape(), w.Shape()))
					}
					grad := Gradient(ReduceAllSum(Mul(pooled, w)), id)[0]
					return ConvertDType(pooled, dtypes.Float64), ConvertDType(grad, dtypes.Float64)
				}, x, w)
				if err != nil {
					t.Fatal(err)
				}
				got := tensors.MustCopyFlatData[float64](out[1])
				for i := range wantData {
					if got[i] != wantData[i] {
						t.Fatalf("gradient %v, want %v (input %v)", got, wantData, xData)
					}
				}
			})
		}
	}
}

// TestMaxPool2DForwardIsReduceMax: the tie-aware formulation returns exactly what Reshape + ReduceMax
// returned (the forward pass is unchanged), on random inputs and on inputs full of ties.
func TestMaxPool2DForwardIsReduceMax(t *testing.T) {
	testbackends.ForEach(t, testMaxPool2DForwardIsReduceMax)
}

func testMaxPool2DForwardIsReduceMax(t *testing.T, backend compute.Backend) {
	r := rand.New(rand.NewPCG(21, 22))
	ties := randomOperand(r, 2, 8, 8, 3)
	for i := range ties.data {
		ties.data[i] = float64(int(ties.data[i]*2)) / 2 // values in {-0.5, 0, 0.5}: many ties
	}
	for _, tc := range []struct {
		x      operand
		window int
	}{{randomOperand(r, 3, 28, 28, 4), 2}, {randomOperand(r, 2, 14, 15, 3), 2}, {randomOperand(r, 1, 10, 11, 2), 3}, {ties, 2}, {ties, 4}} {
		out, err := CallOnceN(backend, func(x *Node) (*Node, *Node) {
			x = ConvertDType(x, dtypes.Float32)
			d := x.Shape().Dimensions
			h, w := d[1]/tc.window, d[2]/tc.window
			cropped := Slice(x, AxisRange(), AxisRange(0, h*tc.window), AxisRange(0, w*tc.window), AxisRange())
			return MaxPool2D(x, tc.window), ReduceMax(Reshape(cropped, d[0], h, tc.window, w, tc.window, d[3]), 2, 4)
		}, tc.x.tensor())
		if err != nil {
			t.Fatal(err)
		}
		if !out[0].Shape().Equal(out[1].Shape()) {
			t.Fatalf("shape %s, ReduceMax %s", out[0].Shape(), out[1].Shape())
		}
		got, want := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("input %v window %d element %d: %g, ReduceMax %g", tc.x.dims, tc.window, i, got[i], want[i])
			}
		}
	}
}
