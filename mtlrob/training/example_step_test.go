package training_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// An attack inside your own GoMLX training step: DGBA-PGD (004) crafts the examples from every head
// of a two-task network, and the step minimises the multi-task loss (001 Eq. 3) on them. The model
// and loss functions are plain train.ModelFn and train.LossFn, so any trainer or loop takes them;
// training.AdversarialStep packages the same two functions.
func Example_attackInsideATrainingStep() {
	backend, err := compute.NewWithConfig("go")
	if err != nil {
		panic(err)
	}
	// A two-head network (main: 4 classes, aux: 2) on 4x4x1 images: one hidden layer shared by both heads.
	net, err := arch.New("mlp", func(s *model.Scope, x *Node) *Node {
		return activation.Relu(arch.Dense(s.In("hidden"), arch.Flatten(x), 16))
	}, []string{"main", "aux"}, []int{4, 2})
	if err != nil {
		panic(err)
	}
	pgd := attack.PGD{Eps: 0.1, Alpha: 0.04, Steps: 3, Direction: attack.DGBA{}}
	victim := attack.WhiteBox(net) // the attacker differentiates through both heads
	modelFn := func(s *model.Scope, _ any, inputs []*Node) []*Node {
		x, labels := inputs[0], inputs[1:] // the labels come as inputs too: the attack needs them
		xAdv := StopGradient(pgd.Perturb(s, victim, x, labels))
		return net.Logits(s, xAdv)
	}
	lossFn := func(labels, logits []*Node) *Node { return training.MultiTaskLoss([]float64{1, 1}, labels, logits) }

	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	trainer := train.NewTrainer(backend, store, modelFn, lossFn, optimizer.Adam().LearningRate(0.01).Done(), nil, nil)

	// A batch of 32 images whose main class is the brightest quadrant and whose aux label is its half.
	r := rand.New(rand.NewPCG(1, 2))
	const n = 32
	images := make([]float32, n*16)
	main, aux := make([]int32, n), make([]int32, n)
	for i := range n {
		c := r.IntN(4)
		main[i], aux[i] = int32(c), int32(c/2)
		for p := range 16 {
			row, col := p/4, p%4
			v := 0.2 * r.Float32()
			if (row/2)*2+col/2 == c {
				v += 0.6
			}
			images[i*16+p] = v
		}
	}
	batch := func() train.Batch {
		x := tensors.FromFlatDataAndDimensions(append([]float32(nil), images...), n, 4, 4, 1)
		y := func(v []int32) *tensors.Tensor {
			return tensors.FromFlatDataAndDimensions(append([]int32(nil), v...), n)
		}
		return train.Batch{Inputs: []*tensors.Tensor{x, y(main), y(aux)}, Labels: []*tensors.Tensor{y(main), y(aux)}}
	}

	var first, last float64
	for step := range 60 {
		metrics, err := trainer.TrainStep(batch())
		if err != nil {
			panic(err)
		}
		loss := float64(tensors.ToScalar[float32](metrics[0]))
		if step == 0 {
			first = loss
		}
		last = loss
	}
	fmt.Println(pgd.Name())
	fmt.Println("adversarial loss finite and falling:", !math.IsNaN(last) && last < first/2)
	// Output:
	// PGD-Linf(eps=0.1,alpha=0.04,steps=3,restarts=1,random-start,sign,DGBA,CE)
	// adversarial loss finite and falling: true
}
