package task_test

import (
	"fmt"

	"github.com/mtlrob/mtlrob/mtlrob/task"
)

func ExampleSet_Labels() {
	s, err := task.ForDataset("mnist")
	if err != nil {
		fmt.Println(err)
		return
	}
	labels, err := s.Labels([]int32{0, 1, 2, 7, 9})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, name := range s.Names() {
		fmt.Printf("%-6s K=%-2d %v\n", name, s.Sizes()[i], labels[i])
	}
	// Output:
	// main   K=10 [0 1 2 7 9]
	// parity K=2  [0 1 0 1 1]
	// prime  K=2  [0 0 1 1 0]
}

func ExampleSet_Select() {
	s, _ := task.ForDataset("cifar10")
	aux2, _ := s.Select("main", "aux2") // 001 Table 2's "Main+Aux2"
	fmt.Println(aux2.Names(), aux2.Sizes())
	// Output:
	// [main habitat] [10 3]
}

func ExampleRandom() {
	classes := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	m, err := task.Random("random3", classes, 3, 42)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Description)
	for c := range m.Km() {
		fmt.Printf("class %s <- %v\n", m.TargetClasses[c], m.Group(c))
	}
	// Output:
	// uniformly random surjective map onto 3 classes (seed 42)
	// class 0 <- [1 2 7 9]
	// class 1 <- [0 8]
	// class 2 <- [3 4 5 6]
}
