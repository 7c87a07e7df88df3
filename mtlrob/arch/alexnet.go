package arch

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
)

// AlexNetBackbone is torchvision's AlexNet (Krizhevsky 2014, "One weird trick"), which 001 uses for
// GTSRB at 112x112, without the classifier's last layer:
//
//	conv 64 11x11 stride 4 pad 2 + ReLU, max pool 3x3/2,
//	conv 192 5x5 pad 2 + ReLU, max pool 3x3/2,
//	conv 384 3x3 pad 1 + ReLU, conv 256 3x3 pad 1 + ReLU, conv 256 3x3 pad 1 + ReLU, max pool 3x3/2,
//	adaptive average pool to 6x6, flatten (9,216), fc 4096 + ReLU, fc 4096 + ReLU.
//
// Features are 4096 wide. torchvision's two Dropout(0.5) layers are left out (001 does not say it used
// them; add dropout in the training recipe if wanted). The adaptive pooling makes the parameter count
// independent of the input size: the backbone holds 57,003,840 parameters (2,469,696 in the convolutions,
// 54,534,144 in the two fully connected layers), and with one 43-class head (GTSRB) 57,180,011.
//
// Size-agnostic: at 224x224 the map before the adaptive pooling is 6x6 (identity), at 112x112 it is 2x2
// (each pixel repeated in a 3x3 block, PyTorch's semantics). Below 63x63 a pooling window would be
// larger than its map, which PyTorch rejects; here the window shrinks to the map (MaxPool2DStrided),
// so a 32x32 image gives 7x7 -> 3x3 -> 3x3 -> 1x1 -> 1x1 -> 1x1 and 6x6 copies of that 1x1 map.
// The layout is unchanged, so a 32x32 AlexNet has the same weights' shapes as a 112x112 one.
// Flattening is in NHWC order (PyTorch's is NCHW): same function class, permuted fc1 rows.
func AlexNetBackbone(s *model.Scope, x *Node) *Node {
	x = activation.Relu(Conv(s.In("conv1"), x, 64, 11).Stride(4).Pad(2).Done())
	x = MaxPool2DStrided(x, 3, 2)
	x = activation.Relu(Conv(s.In("conv2"), x, 192, 5).Done())
	x = MaxPool2DStrided(x, 3, 2)
	x = activation.Relu(Conv(s.In("conv3"), x, 384, 3).Done())
	x = activation.Relu(Conv(s.In("conv4"), x, 256, 3).Done())
	x = activation.Relu(Conv(s.In("conv5"), x, 256, 3).Done())
	x = MaxPool2DStrided(x, 3, 2)
	x = AdaptiveAvgPool2D(x, 6, 6)
	x = activation.Relu(Dense(s.In("fc1"), Flatten(x), 4096))
	return activation.Relu(Dense(s.In("fc2"), x, 4096))
}

// AlexNet returns AlexNetBackbone with one linear head per task, for images of inputShape
// (height, width, channels); 001 uses 112x112x3 for GTSRB.
func AlexNet(tasks []string, classes []int, inputShape [3]int) (*Net, error) {
	return newFor("alexnet", AlexNetBackbone, tasks, classes, inputShape)
}
