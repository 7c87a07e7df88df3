package arch

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
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
// whose gradient is built from Pad, Gather (ScatterSum) and DotGeneral (checked against finite
// differences in the op checks of this package). The result equals graph.Conv with the same weights,
// which is what other backends (XLA) run instead.
func Conv2D(s *model.Scope, x *Node, filters, kernel int, padding Padding) *Node {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("arch.Conv2D: input must be NHWC (rank 4), got shape %s", x.Shape()))
	}
	channels := x.Shape().Dimensions[3]
	fanIn := kernel * kernel * channels
	s = uniformFanIn(s, fanIn)
	w := s.VariableWithShape("weights", shapes.Make(x.DType(), kernel, kernel, channels, filters)).NodeValue(x.Graph())
	b := s.VariableWithShape("biases", shapes.Make(x.DType(), filters)).NodeValue(x.Graph())
	lo, hi := 0, 0
	if padding == Same {
		lo, hi = (kernel-1)/2, kernel-1-(kernel-1)/2
	}
	out := convolve(x, w, 1, lo, hi)
	return Add(out, ExpandLeftToRank(b, out.Rank()))
}

// convolve is the convolution the layers use: im2col (Im2Col + MatMul) on the pure-Go backend, where
// it is 2-18x faster than the native ConvGeneral, and the backend's own convolution elsewhere (XLA's
// is far faster than im2col and needs no kernel*kernel copy of the input). Both compute the same
// function (TestStridedConvEqualsNativeConvolve).
func convolve(x, w *Node, stride, lo, hi int) *Node {
	if isGoBackend(x.Graph().Backend()) {
		return matMulPatches(im2col(x, w.Shape().Dimensions[0], stride, lo, hi), w)
	}
	return nativeConv(x, w, stride, lo, hi)
}

// isGoBackend reports whether b is the pure-Go backend (its String is "go"; its Name "Go Backend").
func isGoBackend(b compute.Backend) bool {
	return b == nil || b.String() == gobackend.BackendName || strings.HasPrefix(b.Name(), "Go ")
}

// nativeConv is the backend's convolution (ConvGeneral) with the given stride and padding on NHWC input.
func nativeConv(x, w *Node, stride, lo, hi int) *Node {
	return Convolve(x, w).Strides(stride).PaddingPerDim([][2]int{{lo, hi}, {lo, hi}}).Done()
}

// Conv2DWith is Conv2D with explicit weights w of shape [kernel, kernel, channels, filters] and no bias.
func Conv2DWith(x, w *Node, padding Padding) *Node {
	return matMulPatches(Im2Col(x, w.Shape().Dimensions[0], padding), w)
}

// Im2Col returns, for each output position of a stride-1 kernel x kernel convolution, the input patch
// flattened in (row, column, channel) order: shape [batch, height', width', kernel*kernel*channels].
func Im2Col(x *Node, kernel int, padding Padding) *Node {
	lo, hi := 0, 0
	if padding == Same {
		lo = (kernel - 1) / 2
		hi = kernel - 1 - lo
	}
	return im2col(x, kernel, 1, lo, hi)
}

// Im2ColStrided is Im2Col for a convolution with the given stride and pad zeros on every side of the
// height and width (PyTorch's Conv2d(stride=stride, padding=pad)): the output has
// height' = (height+2*pad-kernel)/stride + 1 (rounded down), and likewise for the width.
func Im2ColStrided(x *Node, kernel, stride, pad int) *Node {
	return im2col(x, kernel, stride, pad, pad)
}

// im2colSlices is im2col written with one strided Slice per kernel tap and a Concatenate: the
// formulation before im2col's Gather (kept as the reference of TestIm2ColGatherEqualsSlices; see
// internal/bench/NOTES.md, attempt 3).
func im2colSlices(x *Node, kernel, stride, lo, hi int) *Node {
	x = padForIm2col(x, kernel, stride, lo, hi)
	d := x.Shape().Dimensions
	outH, outW := (d[1]-kernel)/stride+1, (d[2]-kernel)/stride+1
	if kernel == 1 && stride == 1 {
		return x
	}
	patches := make([]*Node, 0, kernel*kernel)
	for i := range kernel {
		for j := range kernel {
			rows, cols := AxisRange(i, i+stride*(outH-1)+1), AxisRange(j, j+stride*(outW-1)+1)
			if stride > 1 {
				rows, cols = rows.Stride(stride), cols.Stride(stride)
			}
			patches = append(patches, Slice(x, AxisRange(), rows, cols, AxisRange()))
		}
	}
	if len(patches) == 1 {
		return patches[0]
	}
	return Concatenate(patches, 3)
}

// Conv2DStrided is a convolution with explicit weights w of shape [kernel, kernel, channels, filters],
// no bias, the given stride and pad zeros on every side: PyTorch's
// F.conv2d(x, w, stride=stride, padding=pad) on NHWC input, as im2col followed by one MatMul.
func Conv2DStrided(x, w *Node, stride, pad int) *Node {
	return matMulPatches(Im2ColStrided(x, w.Shape().Dimensions[0], stride, pad), w)
}

// matMulPatches multiplies im2col patches [batch, h', w', kernel*kernel*channels] by the flattened
// weights [kernel, kernel, channels, filters].
//
// With P the patches as [N, K] (N = batch*h'*w', K = kernel*kernel*channels) and W as [K, F], the
// product is P W. Where K >= 4F (the LeNet's second convolution: K = 800, F = 64; ResNet's 3x3
// convolutions) it is computed as (W^T P^T)^T instead: the pure-Go backend multiplies only operands
// whose contracted axis is last (or, for the right operand, first), so GoMLX's gradient of P W with
// respect to W, P^T dOut, makes it transpose the whole patch matrix (N x K), while the gradient of
// W^T P^T transposes only N x F arrays. Measured on the LeNet's second convolution with its gradients:
// 32% less CPU time, the same without the weight gradient (PGD); where K is small (the first
// convolution, K = 25) the extra N x F transposes cost more than they save (internal/bench/NOTES.md,
// attempt 4). Both compute the same sums.
func matMulPatches(patches, w *Node) *Node {
	kernel, channels, filters := w.Shape().Dimensions[0], w.Shape().Dimensions[2], w.Shape().Dimensions[3]
	d := patches.Shape().Dimensions
	if d[3] != kernel*kernel*channels {
		panic(fmt.Sprintf("arch: convolution weights %s do not match input patches %s", w.Shape(), patches.Shape()))
	}
	k := kernel * kernel * channels
	flat := Reshape(patches, d[0]*d[1]*d[2], k)
	w2 := Reshape(w, k, filters)
	var out *Node
	if k >= 4*filters {
		out = Transpose(DotGeneral(w2, []int{0}, nil, flat, []int{1}, nil), 0, 1) // [F, N] -> [N, F]
	} else {
		out = MatMul(flat, w2)
	}
	return Reshape(out, d[0], d[1], d[2], filters)
}

// ConvBuilder configures a convolution layer; create it with Conv, finish it with Done.
type ConvBuilder struct {
	s                            *model.Scope
	x                            *Node
	filters, kernel, stride, pad int
	bias, heNormal               bool
}

// Conv starts a 2-D convolution layer on NHWC input x with the given number of filters and a square
// kernel, in PyTorch's terms Conv2d(channels, filters, kernel, stride=1, padding=kernel/2, bias=True).
// The defaults (stride 1, padding kernel/2, a bias) are changed with the setters; Done builds it.
//
// Variables (under s): "weights" [kernel, kernel, channels, filters] and, unless NoBias, "biases"
// [filters], both drawn from U(-1/sqrt(fanIn), 1/sqrt(fanIn)) as PyTorch does by default.
// On the pure-Go backend it runs as Conv2DStrided (im2col); on others as the backend's convolution.
// Example, the ResNet downsampling shortcut: Conv(s.In("shortcut"), x, 128, 1).Stride(2).NoBias().Done().
func Conv(s *model.Scope, x *Node, filters, kernel int) *ConvBuilder {
	return &ConvBuilder{s: s, x: x, filters: filters, kernel: kernel, stride: 1, pad: kernel / 2, bias: true}
}

// Stride sets the stride along height and width. Default 1.
func (c *ConvBuilder) Stride(stride int) *ConvBuilder { c.stride = stride; return c }

// Pad sets the number of zeros added on each side of the height and width (PyTorch's padding).
// Default kernel/2, which keeps the size at stride 1 for odd kernels.
func (c *ConvBuilder) Pad(pad int) *ConvBuilder { c.pad = pad; return c }

// NoBias drops the bias, as in convolutions followed by batch normalisation (ResNet, WideResNet).
func (c *ConvBuilder) NoBias() *ConvBuilder { c.bias = false; return c }

// HeNormal draws the weights from N(0, 2/(kernel*kernel*filters)) (He et al. 2015, fan-out mode:
// PyTorch's kaiming_normal_(mode="fan_out", nonlinearity="relu")), as the reference WideResNet does,
// instead of the default U(-1/sqrt(fanIn), 1/sqrt(fanIn)). Biases keep the default.
func (c *ConvBuilder) HeNormal() *ConvBuilder { c.heNormal = true; return c }

// Done builds the layer and returns [batch, (height+2*pad-kernel)/stride+1, (width+2*pad-kernel)/stride+1, filters].
func (c *ConvBuilder) Done() *Node {
	x := c.x
	if x.Rank() != 4 {
		panic(fmt.Sprintf("arch.Conv: input must be NHWC (rank 4), got shape %s", x.Shape()))
	}
	channels := x.Shape().Dimensions[3]
	s := uniformFanIn(c.s, c.kernel*c.kernel*channels)
	ws := s
	if c.heNormal {
		ws = s.WithInitializer(initializer.RandomNormalFn(s, math.Sqrt(2/float64(c.kernel*c.kernel*c.filters))))
	}
	w := ws.VariableWithShape("weights", shapes.Make(x.DType(), c.kernel, c.kernel, channels, c.filters)).NodeValue(x.Graph())
	out := convolve(x, w, c.stride, c.pad, c.pad)
	if !c.bias {
		return out
	}
	b := s.VariableWithShape("biases", shapes.Make(x.DType(), c.filters)).NodeValue(x.Graph())
	return Add(out, ExpandLeftToRank(b, out.Rank()))
}

// MaxPool2D is non-overlapping max pooling with a window x window kernel and stride window on NHWC input.
// Height and width need not be divisible by window: odd borders are cropped as TensorFlow's VALID
// pooling (and PyTorch's MaxPool2d(window)) does. It is MaxPool2DStrided(x, window, window): the
// element-wise maximum of the window's window*window strided slices, taken in row-major window order.
//
// Its gradient is PyTorch's: each window passes the incoming gradient to exactly one element, its first
// maximum in row-major window order, also when several elements tie for the maximum (common after a
// ReLU: blank image regions give whole windows of equal activations). Max(a, b) passes the gradient to
// a when a == b, so the chain of Max ops does exactly that. Reshape + ReduceMax, the formulation used
// before, computes the same maxima but its gradient (GoMLX's ReduceMax VJP) passes the full gradient to
// every tied element, k times the gradient at a k-way tie; the peer parity suite (internal/parity) found
// the difference. On the pure-Go backend both cost about the same (a selection mask on top of ReduceMax
// was 3x slower, the native pooling 10x; see internal/bench/NOTES.md).
func MaxPool2D(x *Node, window int) *Node {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("arch.MaxPool2D: input must be NHWC (rank 4), got shape %s", x.Shape()))
	}
	d := x.Shape().Dimensions
	if window < 1 || d[1] < window || d[2] < window {
		panic(fmt.Sprintf("arch.MaxPool2D: window %d larger than the input %s", window, x.Shape()))
	}
	return MaxPool2DStrided(x, window, window)
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

// MaxPool2DStrided is max pooling with a window x window kernel at the given stride and no padding
// on NHWC input (PyTorch's MaxPool2d(window, stride), floor mode), so windows overlap when
// stride < window, as in AlexNet's 3x3/2 pooling. The output has (height-window)/stride+1 rows.
//
// It is the element-wise maximum of window*window strided slices, folded in row-major window order, whose
// gradient is checked against finite differences in this package's op checks. At a tie the gradient
// goes to the window's first maximum, as in PyTorch (Max(a, b) passes it to a when a == b); overlapping
// windows add their gradients up. Where the map is smaller than the window along an
// axis, the window shrinks to the map along that axis (one output there); PyTorch would reject such
// an input. This is what lets AlexNet take inputs smaller than 63x63.
func MaxPool2DStrided(x *Node, window, stride int) *Node {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("arch.MaxPool2DStrided: input must be NHWC (rank 4), got shape %s", x.Shape()))
	}
	if window < 1 || stride < 1 {
		panic(fmt.Sprintf("arch.MaxPool2DStrided: window %d, stride %d: want both >= 1", window, stride))
	}
	d := x.Shape().Dimensions
	wh, ww := min(window, d[1]), min(window, d[2])
	outH, outW := (d[1]-wh)/stride+1, (d[2]-ww)/stride+1
	var out *Node
	for i := range wh {
		for j := range ww {
			rows, cols := AxisRange(i, i+stride*(outH-1)+1), AxisRange(j, j+stride*(outW-1)+1)
			if stride > 1 {
				rows, cols = rows.Stride(stride), cols.Stride(stride)
			}
			tap := Slice(x, AxisRange(), rows, cols, AxisRange())
			if out == nil {
				out = tap
			} else {
				out = Max(out, tap)
			}
		}
	}
	return out
}

// GlobalAvgPool averages NHWC input over height and width: [batch, h, w, c] -> [batch, c].
func GlobalAvgPool(x *Node) *Node {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("arch.GlobalAvgPool: input must be NHWC (rank 4), got shape %s", x.Shape()))
	}
	return ReduceMean(x, 1, 2)
}

// AdaptiveAvgPool2D is PyTorch's AdaptiveAvgPool2d((outH, outW)) on NHWC input: output row i averages
// input rows floor(i*h/outH) to ceil((i+1)*h/outH)-1, and likewise for columns. When the input is
// smaller than the output the bins overlap and replicate input pixels (2x2 -> 6x6 repeats each pixel
// in a 3x3 block). It is computed as two contractions with constant averaging matrices.
func AdaptiveAvgPool2D(x *Node, outH, outW int) *Node {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("arch.AdaptiveAvgPool2D: input must be NHWC (rank 4), got shape %s", x.Shape()))
	}
	d := x.Shape().Dimensions
	if d[1] == outH && d[2] == outW {
		return x
	}
	g := x.Graph()
	rows := Const(g, adaptiveBins(d[1], outH)) // [outH, h]
	cols := Const(g, adaptiveBins(d[2], outW)) // [outW, w]
	rows, cols = ConvertDType(rows, x.DType()), ConvertDType(cols, x.DType())
	x = Einsum("ih,bhwc->biwc", rows, x)
	return Einsum("jw,biwc->bijc", cols, x)
}

// adaptiveBins returns the [out, in] averaging matrix of PyTorch's adaptive average pooling along one axis.
func adaptiveBins(in, out int) [][]float64 {
	m := make([][]float64, out)
	for i := range out {
		m[i] = make([]float64, in)
		start := i * in / out
		end := ((i+1)*in + out - 1) / out
		for k := start; k < end; k++ {
			m[i][k] = 1 / float64(end-start)
		}
	}
	return m
}
