package arch

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
)

// SmallCNNBackbone is a small network for CPU-scale runs (not in the papers): conv 16 3x3 SAME + ReLU,
// 2x2 max pool, conv 32 3x3 SAME + ReLU, 2x2 max pool, fully connected 128 + ReLU. For 28x28x1 input
// the backbone holds 205,632 parameters (160 + 4,640 + 200,832), 1/16 of LeNet's, and one forward
// pass costs 1.2M multiply-adds, 1/12 of LeNet's 13.9M. One epoch of Adam (lr 2e-3, batch 64) on
// Fashion-MNIST reaches 88% test accuracy in about 40 s on 2 CPU cores with the pure-Go backend
// (TestSmallCNNTrainsOnFashionMNIST, run with MTLROB_ARCH_TRAIN=1).
func SmallCNNBackbone(s *model.Scope, x *Node) *Node {
	x = activation.Relu(Conv2D(s.In("conv1"), x, 16, 3, Same))
	x = MaxPool2D(x, 2)
	x = activation.Relu(Conv2D(s.In("conv2"), x, 32, 3, Same))
	x = MaxPool2D(x, 2)
	return activation.Relu(Dense(s.In("fc1"), Flatten(x), 128))
}

// SmallCNN returns SmallCNNBackbone with one linear head per task, for images of inputShape
// (height, width, channels). One 10-class head at 28x28x1: 206,922 parameters.
func SmallCNN(tasks []string, classes []int, inputShape [3]int) (*Net, error) {
	return newFor("smallcnn", SmallCNNBackbone, tasks, classes, inputShape)
}
