package reject_test

import (
	"fmt"

	"github.com/mtlrob/mtlrob/mtlrob/reject"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// The rejection module of 001 Eq. 8 on MNIST with its parity and prime tasks. The predictions
// would come from reject.Predict on clean inputs and on their gray-box adversarial versions:
// the attack fooled the main head on three of four inputs, the hidden auxiliary heads on none.
func ExampleModule_Evaluate() {
	tasks, _ := task.ForDataset("mnist") // main, parity (digit % 2), prime
	m, err := reject.New(tasks, 1)       // reject when any auxiliary head disagrees
	if err != nil {
		fmt.Println(err)
		return
	}
	labels := []int32{3, 4, 8, 7}
	clean := [][]int32{
		{3, 4, 8, 7}, // main
		{1, 0, 0, 1}, // parity
		{1, 0, 0, 1}, // prime
	}
	adversarial := [][]int32{
		{5, 9, 8, 1}, // main: 3->5 keeps parity and primality, 4->9 and 7->1 do not
		{1, 0, 0, 1},
		{1, 0, 0, 1},
	}
	decisions, _ := m.Decide(adversarial)
	fmt.Println("rejected:", decisions)
	rep, _ := m.Evaluate(labels, clean, adversarial)
	a := rep.Adversarial
	fmt.Printf("clean: rejection rate %.2f, accuracy %.2f\n", rep.Clean.RejectionRate, rep.Clean.Accuracy)
	fmt.Printf("adversarial: rejection rate %.2f, accuracy %.2f, on accepted %.2f, with rejection %.2f, wrong caught %.2f\n",
		a.RejectionRate, a.Accuracy, a.AcceptedAccuracy, a.RobustAccuracy, a.WrongRejectedRate)
	// Output:
	// rejected: [false true false true]
	// clean: rejection rate 0.00, accuracy 1.00
	// adversarial: rejection rate 0.50, accuracy 0.25, on accepted 0.50, with rejection 0.75, wrong caught 0.67
}
