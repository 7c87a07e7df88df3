package task_test

import (
	"fmt"

	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// Four classes where a/b and c/d are confused with each other: grouping puts each confusable pair in
// one auxiliary class, separating puts them apart.
func ExampleGroupConfusable() {
	classes := []string{"a", "b", "c", "d"}
	confusion := [][]float64{ // rows: true class, columns: prediction
		{90, 8, 1, 1},
		{10, 88, 1, 1},
		{1, 1, 85, 13},
		{1, 1, 12, 86},
	}
	group, _ := task.GroupConfusable("group", classes, confusion, 2)
	sep, _ := task.SeparateConfusable("separate", classes, confusion, 2)
	fmt.Println(group.Table, sep.Table)
	// Output: [0 0 1 1] [0 1 0 1]
}
