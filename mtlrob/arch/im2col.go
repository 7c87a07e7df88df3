package arch

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
)

// im2col pads height and width with lo zeros before and hi after, then extracts the kernel x kernel
// patches at the given stride: [batch, height', width', kernel*kernel*channels], each patch flattened
// in (row, column, channel) order.
//
// It is one Gather on the padded input seen as [batch*height*width, channels]: one start index per
// (example, output row, output column, kernel row), each taking kernel consecutive pixels, i.e. one
// kernel row of the patch (kernel*channels contiguous floats in NHWC). Its gradient is one ScatterSum
// of the same chunks. On the pure-Go backend both copy (or add) whole chunks, where the kernel*kernel
// strided Slices of im2colSlices, and the Pads of their gradients, moved one element at a time: the
// LeNet's 5x5 convolution with its gradients runs about twice as fast (internal/bench/NOTES.md).
func im2col(x *Node, kernel, stride, lo, hi int) *Node {
	x = padForIm2col(x, kernel, stride, lo, hi)
	d := x.Shape().Dimensions
	batch, height, width, channels := d[0], d[1], d[2], d[3]
	outH, outW := (height-kernel)/stride+1, (width-kernel)/stride+1
	if kernel == 1 && stride == 1 {
		return x
	}
	if int64(batch)*int64(height)*int64(width) > 1<<31-1 {
		panic(fmt.Sprintf("arch.Im2Col: input %s too large for int32 gather indices", x.Shape()))
	}
	starts := make([]int32, 0, batch*outH*outW*kernel)
	for b := range batch {
		for i := range outH {
			for j := range outW {
				for r := range kernel {
					starts = append(starts, int32((b*height+i*stride+r)*width+j*stride))
				}
			}
		}
	}
	g := x.Graph()
	pixels := Reshape(x, batch*height*width, channels)
	idx := Reshape(Const(g, starts), batch, outH, outW, kernel, 1)
	// [batch, outH, outW, kernel (rows), kernel (columns), channels]
	patches := GatherSlices(pixels, []int{0}, idx, []int{kernel}, false)
	return Reshape(patches, batch, outH, outW, kernel*kernel*channels)
}

// padForIm2col checks the arguments of an im2col (NHWC input, kernel and stride >= 1, padding >= 0, a
// kernel no larger than the padded input; it panics otherwise, as graph building does) and returns x
// padded with zeros by lo before and hi after its height and width.
func padForIm2col(x *Node, kernel, stride, lo, hi int) *Node {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("arch.Im2Col: input must be NHWC (rank 4), got shape %s", x.Shape()))
	}
	if kernel < 1 || stride < 1 || lo < 0 || hi < 0 {
		panic(fmt.Sprintf("arch.Im2Col: kernel %d, stride %d and padding (%d, %d): want kernel, stride >= 1 and padding >= 0",
			kernel, stride, lo, hi))
	}
	if lo > 0 || hi > 0 {
		x = Pad(x, ScalarZero(x.Graph(), x.DType()),
			compute.PadAxis{}, compute.PadAxis{Start: lo, End: hi}, compute.PadAxis{Start: lo, End: hi}, compute.PadAxis{})
	}
	if d := x.Shape().Dimensions; d[1] < kernel || d[2] < kernel {
		panic(fmt.Sprintf("arch.Im2Col: kernel %d larger than the padded input %dx%d", kernel, d[1], d[2]))
	}
	return x
}
