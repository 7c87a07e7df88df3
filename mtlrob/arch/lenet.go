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

// LeNet returns the multi-head LeNet for 28x28x1 images (MNIST, Fashion-MNIST): LeNetBackbone with one
// linear head per task (hard parameter sharing). One 10-class head: 3,274,634 parameters.
func LeNet(tasks []string, classes []int) (*Net, error) {
	return LeNetFor(tasks, classes, [3]int{28, 28, 1})
}

// LeNetFor is LeNet for images of another (height, width, channels); the fully connected layer grows
// with the image (height/4 * width/4 * 64 inputs).
func LeNetFor(tasks []string, classes []int, inputShape [3]int) (*Net, error) {
	return newFor("lenet", LeNetBackbone, tasks, classes, inputShape)
}
