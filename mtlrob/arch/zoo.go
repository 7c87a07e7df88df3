package arch

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// newFor is New plus the input shape the constructor is meant for.
func newFor(name string, backbone Backbone, tasks []string, classes []int, inputShape [3]int) (*Net, error) {
	for _, d := range inputShape {
		if d < 1 {
			return nil, fmt.Errorf("arch: %s: input shape %v: want positive height, width and channels", name, inputShape)
		}
	}
	n, err := New(name, backbone, tasks, classes)
	if err != nil {
		return nil, err
	}
	n.InputShape = inputShape
	return n, nil
}

// Names lists the architectures ByName knows; "wrn-D-K" stands for any WideResNet depth D and widen factor K.
func Names() []string {
	return []string{"lenet", "smallcnn", "alexnet", "resnet18", "wrn-16-4", "wrn-28-10", "wrn-D-K"}
}

var wrnName = regexp.MustCompile(`^wrn-(\d+)-(\d+)$`)

// ByName returns the named architecture with one head per task for images of inputShape
// (height, width, channels): "lenet" (LeNetFor), "smallcnn" (SmallCNN), "alexnet" (AlexNet),
// "resnet18" (ResNet18), or "wrn-D-K" (WideResNet(D, K), e.g. "wrn-28-10", "wrn-16-4").
// Names are case-insensitive; "resnet-18" and "wrn-28-10" spellings with "_" are accepted.
func ByName(name string, tasks []string, classes []int, inputShape [3]int) (*Net, error) {
	key := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	switch key {
	case "lenet":
		return LeNetFor(tasks, classes, inputShape)
	case "smallcnn", "small-cnn":
		return SmallCNN(tasks, classes, inputShape)
	case "alexnet":
		return AlexNet(tasks, classes, inputShape)
	case "resnet18", "resnet-18":
		return ResNet18(tasks, classes, inputShape)
	}
	if m := wrnName.FindStringSubmatch(key); m != nil {
		depth, err1 := strconv.Atoi(m[1])
		widen, err2 := strconv.Atoi(m[2])
		if err1 == nil && err2 == nil {
			return WideResNet(depth, widen, tasks, classes, inputShape)
		}
	}
	return nil, fmt.Errorf("arch: unknown architecture %q: want one of %s", name, strings.Join(Names(), ", "))
}
