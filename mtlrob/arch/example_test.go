package arch_test

import (
	"fmt"

	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// The zoo by name, with one head per task and the input size of the paper's experiments; String prints
// the trainable parameter count.
func ExampleByName() {
	for _, m := range []struct {
		name    string
		tasks   []string
		classes []int
		input   [3]int
	}{
		{"lenet", []string{"main", "category", "region"}, []int{10, 3, 4}, [3]int{28, 28, 1}},
		{"smallcnn", []string{"main"}, []int{10}, [3]int{28, 28, 1}},
		{"alexnet", []string{"main"}, []int{43}, [3]int{112, 112, 3}},
		{"resnet18", []string{"main"}, []int{10}, [3]int{32, 32, 3}},
		{"wrn-16-4", []string{"main"}, []int{10}, [3]int{32, 32, 3}},
		{"wrn-28-10", []string{"main"}, []int{10}, [3]int{32, 32, 3}},
	} {
		net, err := arch.ByName(m.name, m.tasks, m.classes, m.input)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(net)
	}
	_, err := arch.ByName("vgg16", []string{"main"}, []int{10}, [3]int{32, 32, 3})
	fmt.Println(err)
	// Output:
	// lenet 28x28x1 3,281,809 params, heads main:10 category:3 region:4
	// smallcnn 28x28x1 206,922 params, heads main:10
	// alexnet 112x112x3 57,180,011 params, heads main:43
	// resnet18 32x32x3 11,173,962 params, heads main:10
	// wrn-16-4 32x32x3 2,748,890 params, heads main:10
	// wrn-28-10 32x32x3 36,479,194 params, heads main:10
	// arch: unknown architecture "vgg16": want one of lenet, smallcnn, alexnet, resnet18, wrn-16-4, wrn-28-10, wrn-D-K
}
