package arch

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
)

// ResNet18Backbone is the CIFAR variant of ResNet-18 (He et al. 2016; the layout of
// kuangliu/pytorch-cifar, the usual one for 32x32 images, which 001 uses for SVHN, Tiny ImageNet at
// 32x32 and CIFAR10):
//
//	stem: conv 64 3x3 stride 1 (no bias) + BN + ReLU, no max pool;
//	4 stages of 2 BasicBlocks with 64, 128, 256, 512 filters, strides 1, 2, 2, 2;
//	global average pool -> 512 features.
//
// A BasicBlock is conv 3x3 (stride s) + BN + ReLU, conv 3x3 + BN, plus the shortcut (identity, or
// conv 1x1 stride s + BN where the shape changes), then ReLU. Convolutions have no bias; BN follows
// BatchNorm (mode from the Net, see BNMode). The global pool replaces kuangliu's avg_pool2d(4), which
// is the same at 32x32 and makes the network size-agnostic. Backbone parameters: 11,168,832; with one
// 10-class head 11,173,962 (kuangliu's count).
func ResNet18Backbone(s *model.Scope, x *Node) *Node {
	x = Conv(s.In("stem"), x, 64, 3).NoBias().Done()
	x = activation.Relu(BatchNorm(s.In("stem_bn"), x))
	for stage, width := range []int{64, 128, 256, 512} {
		for block := range 2 {
			stride := 1
			if block == 0 && stage > 0 {
				stride = 2
			}
			x = basicBlock(s.In("stage%d_block%d", stage+1, block+1), x, width, stride)
		}
	}
	return GlobalAvgPool(x)
}

// basicBlock is ResNet's post-activation BasicBlock (expansion 1).
func basicBlock(s *model.Scope, x *Node, width, stride int) *Node {
	out := Conv(s.In("conv1"), x, width, 3).Stride(stride).NoBias().Done()
	out = activation.Relu(BatchNorm(s.In("bn1"), out))
	out = Conv(s.In("conv2"), out, width, 3).NoBias().Done()
	out = BatchNorm(s.In("bn2"), out)
	shortcut := x
	if stride != 1 || x.Shape().Dimensions[3] != width {
		shortcut = Conv(s.In("shortcut"), x, width, 1).Stride(stride).NoBias().Done()
		shortcut = BatchNorm(s.In("shortcut_bn"), shortcut)
	}
	return activation.Relu(Add(out, shortcut))
}

// ResNet18 returns ResNet18Backbone with one linear head per task, for images of inputShape
// (height, width, channels); 001 uses 32x32x3.
func ResNet18(tasks []string, classes []int, inputShape [3]int) (*Net, error) {
	return newFor("resnet18", ResNet18Backbone, tasks, classes, inputShape)
}

// WideResNetBackbone returns the backbone of WRN-depth-widen (Zagoruyko & Komodakis 2016, the layout of
// their reference code and of xternalz/WideResNet-pytorch, without dropout):
//
//	conv 16 3x3 (no bias);
//	3 stages of (depth-4)/6 pre-activation blocks with 16*widen, 32*widen, 64*widen filters, strides 1, 2, 2;
//	BN + ReLU, global average pool -> 64*widen features.
//
// A block is BN + ReLU, conv 3x3 (stride s), BN + ReLU, conv 3x3, plus the shortcut: the block's input
// where the width is unchanged, else conv 1x1 stride s applied to the activated input (BN + ReLU of the
// input). Convolutions have no bias and He-normal (fan-out) weights, as in the reference code.
// Parameters with one 10-class head: WRN-28-10 36,479,194; WRN-16-4 2,748,890; WRN-16-8 10,961,370.
// depth must be 6n+4 with n >= 1, widen >= 1; it panics otherwise (WideResNet returns an error instead).
func WideResNetBackbone(depth, widen int) Backbone {
	if err := checkWRN(depth, widen); err != nil {
		panic(err)
	}
	n := (depth - 4) / 6
	return func(s *model.Scope, x *Node) *Node {
		x = Conv(s.In("stem"), x, 16, 3).NoBias().HeNormal().Done()
		for stage, width := range []int{16 * widen, 32 * widen, 64 * widen} {
			for block := range n {
				stride := 1
				if block == 0 && stage > 0 {
					stride = 2
				}
				x = wideBlock(s.In("stage%d_block%d", stage+1, block+1), x, width, stride)
			}
		}
		x = activation.Relu(BatchNorm(s.In("final_bn"), x))
		return GlobalAvgPool(x)
	}
}

// wideBlock is WideResNet's pre-activation block.
func wideBlock(s *model.Scope, x *Node, width, stride int) *Node {
	act := activation.Relu(BatchNorm(s.In("bn1"), x))
	out := Conv(s.In("conv1"), act, width, 3).Stride(stride).NoBias().HeNormal().Done()
	out = activation.Relu(BatchNorm(s.In("bn2"), out))
	out = Conv(s.In("conv2"), out, width, 3).NoBias().HeNormal().Done()
	shortcut := x
	if x.Shape().Dimensions[3] != width {
		shortcut = Conv(s.In("shortcut"), act, width, 1).Stride(stride).NoBias().HeNormal().Done()
	} else if stride != 1 {
		panic(fmt.Sprintf("arch: WideResNet block %s: stride %d with unchanged width %d", s.Scope(), stride, width))
	}
	return Add(out, shortcut)
}

func checkWRN(depth, widen int) error {
	if depth < 10 || (depth-4)%6 != 0 || widen < 1 {
		return fmt.Errorf("arch: WideResNet depth %d, widen %d: want depth = 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...) and widen >= 1", depth, widen)
	}
	return nil
}

// WideResNet returns WRN-depth-widen (WideResNetBackbone) with one linear head per task, for images of
// inputShape (height, width, channels); 001 uses a wide ResNet on CIFAR10 (32x32x3). Its Name is
// "wrn-<depth>-<widen>".
func WideResNet(depth, widen int, tasks []string, classes []int, inputShape [3]int) (*Net, error) {
	if err := checkWRN(depth, widen); err != nil {
		return nil, err
	}
	return newFor(fmt.Sprintf("wrn-%d-%d", depth, widen), WideResNetBackbone(depth, widen), tasks, classes, inputShape)
}
