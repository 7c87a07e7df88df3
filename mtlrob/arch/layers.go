package arch

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// Padding selects how a convolution treats the border.
type Padding int

const (
	// Same pads with zeros so the output keeps the input's height and width (stride 1),
	// as TensorFlow's "SAME" and PyTorch's padding=k//2 for odd k.
	Same Padding = iota
	// Valid uses no padding: the output shrinks by kernel-1.
	Valid
)

// uniformFanIn is PyTorch's default initialiser for Conv2d and Linear (Kaiming uniform with a=sqrt(5)):
// weights and biases drawn from U(-1/sqrt(fanIn), 1/sqrt(fanIn)). Using it keeps the
// workbench's models initialised like the reference implementations the papers used.
func uniformFanIn(s *model.Scope, fanIn int) *model.Scope {
	bound := 1 / math.Sqrt(float64(fanIn))
	return s.WithInitializer(initializer.RandomUniformFn(s, -bound, bound))
}

// Conv2D is a 2-D convolution with stride 1 on NHWC input, written as im2col followed by one
// matrix multiplication.
//
// x has shape [batch, height, width, channels]; the result has shape [batch, height', width', filters]
// with height' = height for Same and height-kernel+1 for Valid. Variables (under s): "weights" of shape
// [kernel, kernel, channels, filters] and "biases" of shape [filters], initialised as PyTorch does.
//
// Why im2col: on the pure-Go backend the native ConvGeneral is 2-18x slower than this formulation,
// whose gradient is built from Slice, Pad, Concatenate and MatMul (all checked against finite
// differences in the op checks of this package). The result equals graph.Conv with the same weights.
func Conv2D(s *model.Scope, x *Node, filters, kernel int, padding Padding) *Node {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("arch.Conv2D: input must be NHWC (rank 4), got shape %s", x.Shape()))
	}
	channels := x.Shape().Dimensions[3]
	fanIn := kernel * kernel * channels
	s = uniformFanIn(s, fanIn)
	w := s.VariableWithShape("weights", shapes.Make(x.DType(), kernel, kernel, channels, filters)).NodeValue(x.Graph())
	b := s.VariableWithShape("biases", shapes.Make(x.DType(), filters)).NodeValue(x.Graph())
	out := Conv2DWith(x, w, padding)
	return Add(out, ExpandLeftToRank(b, out.Rank()))
}

// Conv2DWith is Conv2D with explicit weights w of shape [kernel, kernel, channels, filters] and no bias.
func Conv2DWith(x, w *Node, padding Padding) *Node {
	kernel, channels, filters := w.Shape().Dimensions[0], w.Shape().Dimensions[2], w.Shape().Dimensions[3]
	patches := Im2Col(x, kernel, padding) // [batch, h', w', kernel*kernel*channels]
	d := patches.Shape().Dimensions
	flat := Reshape(patches, d[0]*d[1]*d[2], d[3])
	out := MatMul(flat, Reshape(w, kernel*kernel*channels, filters))
	return Reshape(out, d[0], d[1], d[2], filters)
}

// Im2Col returns, for each output position of a stride-1 kernel x kernel convolution, the input patch
// flattened in (row, column, channel) order: shape [batch, height', width', kernel*kernel*channels].
func Im2Col(x *Node, kernel int, padding Padding) *Node {
	if padding == Same {
		lo := (kernel - 1) / 2
		hi := kernel - 1 - lo
		x = Pad(x, ScalarZero(x.Graph(), x.DType()),
			compute.PadAxis{}, compute.PadAxis{Start: lo, End: hi}, compute.PadAxis{Start: lo, End: hi}, compute.PadAxis{})
	}
	d := x.Shape().Dimensions
	outH, outW := d[1]-kernel+1, d[2]-kernel+1
	if outH <= 0 || outW <= 0 {
		panic(fmt.Sprintf("arch.Im2Col: kernel %d larger than input %dx%d", kernel, d[1], d[2]))
	}
	patches := make([]*Node, 0, kernel*kernel)
	for i := range kernel {
		for j := range kernel {
			patches = append(patches, Slice(x, AxisRange(), AxisRange(i, i+outH), AxisRange(j, j+outW), AxisRange()))
		}
	}
	return Concatenate(patches, 3)
}

// MaxPool2D is non-overlapping max pooling with a window x window kernel and stride window on NHWC input,
// written as Reshape + ReduceMax (faster than the native pooling on the pure-Go backend). Height and width
// must be divisible by window; odd borders are cropped as TensorFlow's VALID pooling does.
func MaxPool2D(x *Node, window int) *Node {
	d := x.Shape().Dimensions
	h, w := d[1]/window, d[2]/window
	if h*window != d[1] || w*window != d[2] {
		x = Slice(x, AxisRange(), AxisRange(0, h*window), AxisRange(0, w*window), AxisRange())
	}
	x = Reshape(x, d[0], h, window, w, window, d[3])
	return ReduceMax(x, 2, 4)
}

// Dense is a fully connected layer on the last axis: x [..., in] -> [..., units]. Variables "weights"
// [in, units] and "biases" [units] under s, initialised as PyTorch's Linear.
func Dense(s *model.Scope, x *Node, units int) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	s = uniformFanIn(s, in)
	w := s.VariableWithShape("weights", shapes.Make(x.DType(), in, units)).NodeValue(x.Graph())
	b := s.VariableWithShape("biases", shapes.Make(x.DType(), units)).NodeValue(x.Graph())
	if x.Rank() != 2 {
		panic(fmt.Sprintf("arch.Dense: input must be [batch, features], got %s", x.Shape()))
	}
	return Add(MatMul(x, w), ExpandLeftToRank(b, 2))
}

// Flatten reshapes [batch, ...] to [batch, features].
func Flatten(x *Node) *Node {
	return Reshape(x, x.Shape().Dimensions[0], -1)
}
