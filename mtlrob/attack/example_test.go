package attack_test

import (
	"fmt"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
)

// A two-head linear network on 1x2x1 "images": logits_main = x W0, logits_aux = x W1 (no bias).
// FGSM against the main head moves each pixel by eps in the direction of the cross-entropy's
// gradient; the gray-box victim never reads the auxiliary head.
func ExampleRunner() {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		panic(err)
	}
	net, err := arch.New("linear", func(_ *model.Scope, x *Node) *Node { return arch.Flatten(x) },
		[]string{"main", "aux"}, []int{2, 2})
	if err != nil {
		panic(err)
	}
	store := model.NewStore()
	set := func(head string, w []float32) {
		s := store.RootScope().In("%s", head)
		s.VariableWithValue("weights", tensors.FromFlatDataAndDimensions(w, 2, 2))
		s.VariableWithValue("biases", tensors.FromFlatDataAndDimensions([]float32{0, 0}, 2))
	}
	set("head_main", []float32{1, -1, -2, 2}) // class 0 likes pixel 0, class 1 likes pixel 1
	set("head_aux", []float32{3, 0, 0, 3})

	runner, err := attack.NewRunner(backend, store, attack.GrayBox(net), attack.FGSM{Eps: 0.25})
	if err != nil {
		panic(err)
	}
	x := tensors.FromFlatDataAndDimensions([]float32{0.5, 0.5}, 1, 1, 2, 1)
	labels := []*tensors.Tensor{tensors.FromFlatDataAndDimensions([]int32{0}, 1), nil} // aux labels unknown: gray box
	adv, err := runner.Run(x, labels)
	if err != nil {
		panic(err)
	}
	fmt.Println(runner.Attack().Name())
	fmt.Println(tensors.MustCopyFlatData[float32](adv))
	// Output:
	// FGSM-Linf(eps=0.25,alpha=0.25,steps=1,restarts=1,sign,Single(0),CE)
	// [0.25 0.75]
}
