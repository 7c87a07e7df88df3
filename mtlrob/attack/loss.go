package attack

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// Loss is the per-task, per-sample loss an attack moves: increased by an untargeted attack,
// decreased by a targeted one. Every loss is per sample (shape [batch]) because DGBA and WGD
// weight tasks by their loss values.
type Loss int

const (
	// CE is the softmax cross-entropy -log softmax(z)[label]: of the true label (untargeted) or of
	// the target (targeted). The default.
	CE Loss = iota
	// DLR is the Difference of Logits Ratio of APGD (Croce & Hein 2020, Eq. 6 and the targeted form
	// of their §4), with z sorted decreasingly as z_π1 >= z_π2 >= ...:
	//   untargeted: -(z_y - max_{j!=y} z_j) / (z_π1 - z_π3 + 1e-12)            (increased)
	//   targeted:    (z_y - z_t) / (z_π1 - (z_π3 + z_π4)/2 + 1e-12)             (decreased)
	// It needs 3 classes (4 targeted); on a head with fewer classes the denominator is replaced by 1
	// (2 classes: the plain logit margin) or by z_π1 - z_π3 (3 classes, targeted): a documented
	// extension, since binary auxiliary heads are common here. DLR can be negative, so it must not
	// be combined with the DGBA and WGD directions, which divide by losses.
	DLR
)

// String is "CE" or "DLR".
func (l Loss) String() string {
	switch l {
	case CE:
		return "CE"
	case DLR:
		return "DLR"
	}
	return fmt.Sprintf("Loss(%d)", int(l))
}

// perSample returns the per-sample loss of logits z ([batch, classes]) for true labels y and
// targets t (nil when untargeted).
func (l Loss) perSample(z, y, t *Node) *Node {
	switch l {
	case CE:
		if t != nil {
			return arch.CrossEntropy(z, t)
		}
		return arch.CrossEntropy(z, y)
	case DLR:
		return dlr(z, y, t)
	}
	panic(fmt.Sprintf("attack: unknown loss %d", int(l)))
}

func dlr(z, y, t *Node) *Node {
	k := z.Shape().Dimensions[1]
	g := z.Graph()
	zy := pick(z, y)
	// The i-th largest logit, differentiable in z: TopK has no gradient, so its indices (constant
	// almost everywhere) pick the values out of z.
	_, idx := TopK(StopGradient(z), min(k, 4), -1)
	top := func(i int) *Node { return pick(z, StopGradient(Squeeze(SliceAxis(idx, 1, AxisElem(i)), 1))) }
	eps := Scalar(g, z.DType(), 1e-12)
	if t == nil {
		den := ScalarOne(g, z.DType())
		if k >= 3 {
			den = Add(Sub(top(0), top(2)), eps)
		}
		return Neg(Div(Sub(zy, maxOther(z, y)), den))
	}
	den := ScalarOne(g, z.DType())
	switch {
	case k >= 4:
		den = Add(Sub(top(0), MulScalar(Add(top(2), top(3)), 0.5)), eps)
	case k == 3:
		den = Add(Sub(top(0), top(2)), eps)
	}
	return Div(Sub(zy, pick(z, t)), den)
}

// pick returns z[b, label[b]], shape [batch].
func pick(z, label *Node) *Node {
	return ReduceSum(Mul(z, OneHot(label, z.Shape().Dimensions[1], z.DType())), -1)
}

// maxOther returns max_{j != label[b]} z[b, j], shape [batch].
func maxOther(z, label *Node) *Node {
	mask := GreaterThan(OneHot(label, z.Shape().Dimensions[1], z.DType()), ScalarZero(z.Graph(), z.DType()))
	return ReduceMax(Where(mask, Infinity(z.Graph(), z.DType(), -1), z), -1)
}

// cwMargin is the Carlini-Wagner hinge of one head (advertorch's form, which 001 used):
// untargeted max(z_y - max_{j!=y} z_j + kappa, 0), targeted max(max_{j!=t} z_j - z_t + kappa, 0).
func cwMargin(z, y, t *Node, kappa float64) *Node {
	var m *Node
	if t == nil {
		m = Sub(pick(z, y), maxOther(z, y))
	} else {
		m = Sub(maxOther(z, t), pick(z, t))
	}
	return MaxScalar(AddScalar(m, kappa), 0)
}

// fooled reports per sample whether the head's prediction is wrong (untargeted) or the target
// (targeted): a Bool [batch].
func fooled(z, y, t *Node) *Node {
	pred := ArgMax(z, -1, y.DType())
	if t != nil {
		return Equal(pred, t)
	}
	return NotEqual(pred, y)
}

// Target maps the true labels of a head with the given number of classes to the labels a targeted
// attack drives that head to. A nil Target means an untargeted attack.
type Target func(labels *Node, classes int) *Node

// NextClass is the targeted rule of 001 §IV-C: target = (y + 1) mod K, applied to every attacked
// head with its own K.
func NextClass(labels *Node, classes int) *Node {
	return ModScalar(AddScalar(labels, 1), classes)
}

// NextClassLabels is NextClass on the host: (y + 1) mod classes for every label.
func NextClassLabels(labels []int32, classes int) []int32 {
	out := make([]int32, len(labels))
	for i, y := range labels {
		out[i] = (y + 1) % int32(classes)
	}
	return out
}
