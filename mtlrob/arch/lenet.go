package arch

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
)

// LeNetBackbone is the MNIST network of the Madry challenge, which the authors of 001 use for MNIST
// (their released code): conv 32 5x5 SAME + ReLU, 2x2 max pool, conv 64 5x5 SAME + ReLU, 2x2 max pool,
// fully connected 1024 + ReLU. For 28x28x1 input the features are 1024 wide and the backbone holds
// 3,274,634 - 10,250 = 3,264,384 parameters (832 + 51,264 + 3,212,288).
func LeNetBackbone(s *model.Scope, x *Node) *Node {
	x = activation.Relu(Conv2D(s.In("conv1"), x, 32, 5, Same))
	x = MaxPool2D(x, 2)
	x = activation.Relu(Conv2D(s.In("conv2"), x, 64, 5, Same))
	x = MaxPool2D(x, 2)
	return activation.Relu(Dense(s.In("fc1"), Flatten(x), 1024))
}

// LeNet returns the multi-head LeNet: LeNetBackbone with one linear head per task (hard parameter sharing).
func LeNet(tasks []string, classes []int) (*Net, error) {
	return New("lenet", LeNetBackbone, tasks, classes)
}
