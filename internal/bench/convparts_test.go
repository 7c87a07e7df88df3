package bench

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// BenchmarkResNet18ConvParts times, on XLA CPU, the three convolutions of one 3x3 layer of each
// ResNet-18 stage at batch 128 (32x32 input, CIFAR layout): the forward convolution, its input
// gradient, its filter gradient as XLA derives it (a convolution whose "batch" is the input channels),
// and the filter gradient as one matrix product of the im2col patches with the output gradient (the
// formulation a custom gradient could use). NOTES.md §7 has the figures and what they predict:
//
//	go test ./internal/bench -run '^$' -bench ResNet18ConvParts -benchtime 5x
func BenchmarkResNet18ConvParts(b *testing.B) {
	backend := testbackends.XLACPU(b)
	const batch = 128
	for _, st := range []struct{ size, channels int }{{32, 64}, {16, 128}, {8, 256}, {4, 512}} {
		n, c := st.size, st.channels
		x := tensors.FromFlatDataAndDimensions(make([]float32, batch*n*n*c), batch, n, n, c)
		w := tensors.FromFlatDataAndDimensions(make([]float32, 9*c*c), 3, 3, c, c)
		dy := tensors.FromFlatDataAndDimensions(make([]float32, batch*n*n*c), batch, n, n, c)
		conv := func(x, w *graph.Node) *graph.Node {
			return graph.Convolve(x, w).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
		}
		parts := []struct {
			name string
			fn   func(x, w, dy *graph.Node) *graph.Node
		}{
			{"forward", func(x, w, _ *graph.Node) *graph.Node { return conv(x, w) }},
			{"input-gradient", func(x, w, dy *graph.Node) *graph.Node {
				return graph.Gradient(graph.ReduceAllSum(graph.Mul(conv(x, w), dy)), x)[0]
			}},
			{"filter-gradient", func(x, w, dy *graph.Node) *graph.Node {
				return graph.Gradient(graph.ReduceAllSum(graph.Mul(conv(x, w), dy)), w)[0]
			}},
			{"filter-gradient-im2col", func(x, w, dy *graph.Node) *graph.Node {
				p := arch.Im2Col(x, 3, arch.Same) // [batch, n, n, 9c]
				m := batch * n * n
				g := graph.DotGeneral(graph.Reshape(p, m, 9*c), []int{0}, nil, graph.Reshape(dy, m, c), []int{0}, nil)
				return graph.Reshape(g, 3, 3, c, c)
			}},
			{"filter-gradient-9dots", func(x, _, dy *graph.Node) *graph.Node {
				// One matrix product per kernel tap on a shifted view of the padded input: no 9x patch matrix.
				m := batch * n * n
				xp := graph.Pad(x, graph.Scalar(x.Graph(), x.DType(), 0), graph.PadAxis{}, graph.PadAxis{Start: 1, End: 1},
					graph.PadAxis{Start: 1, End: 1}, graph.PadAxis{})
				d := graph.Reshape(dy, m, c)
				taps := make([]*graph.Node, 0, 9)
				for i := range 3 {
					for j := range 3 {
						xs := graph.Slice(xp, graph.AxisRange(), graph.AxisRange(i, i+n), graph.AxisRange(j, j+n), graph.AxisRange())
						taps = append(taps, graph.DotGeneral(graph.Reshape(xs, m, c), []int{0}, nil, d, []int{0}, nil))
					}
				}
				return graph.Reshape(graph.Stack(taps, 0), 3, 3, c, c)
			}},
			{"forward-im2col", func(x, w, _ *graph.Node) *graph.Node {
				return arch.Conv2DWith(x, w, arch.Same)
			}},
		}
		for _, part := range parts {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", n, n, c, part.name), func(b *testing.B) {
				exec, err := graph.NewExec(backend, part.fn)
				if err != nil {
					b.Fatal(err)
				}
				call := func() {
					out, err := exec.Call(x, w, dy)
					if err != nil {
						b.Fatal(err)
					}
					out[0].Value()
					out[0].FinalizeAll()
				}
				call() // compile
				b.ResetTimer()
				for range b.N {
					call()
				}
				flops := 2.0 * float64(batch*n*n) * float64(9*c*c)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
