package bench

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// Model is a benchmarked network: the same layout as the PyTorch reference's model of the same name.
type Model struct {
	Name  string
	Input [3]int // height, width, channels
	Heads []int  // classes per head
	// ForwardFLOPs per example (multiply-adds count 2), counted layer by layer.
	ForwardFLOPs float64
	build        func(tasks []string, classes []int) (*arch.Net, error)
}

// LeNet is the multi-head LeNet at Fashion-MNIST shapes with three heads (10, 3, 4 classes).
var LeNet = Model{
	Name: "lenet", Input: [3]int{28, 28, 1}, Heads: []int{10, 3, 4},
	ForwardFLOPs: 2 * (28*28*25*1*32 + 14*14*25*32*64 + 7*7*64*1024 + 1024*(10+3+4)),
	build:        arch.LeNet,
}

// ResNet18 is ResNet-18 at CIFAR10 shapes (32x32x3) with three heads (10, 2, 3 classes: main, vehicle,
// habitat), batch norm in training mode for train steps.
var ResNet18 = Model{
	Name: "resnet18", Input: [3]int{32, 32, 3}, Heads: []int{10, 2, 3},
	ForwardFLOPs: resnet18FLOPs(32, 15),
	build: func(tasks []string, classes []int) (*arch.Net, error) {
		return arch.ResNet18(tasks, classes, [3]int{32, 32, 3})
	},
}

// resnet18FLOPs counts the convolutions and heads of the CIFAR ResNet-18 (3x3 stem, four stages of two
// BasicBlocks, 1x1 projection shortcuts) on size x size inputs; batch norm and ReLU are not counted.
func resnet18FLOPs(size int, headClasses int) float64 {
	conv := func(hw, k, cin, cout int) float64 { return 2 * float64(hw*hw*k*k*cin*cout) }
	f := conv(size, 3, 3, 64)
	cin, hw := 64, size
	for i, cout := range []int{64, 128, 256, 512} {
		if i > 0 {
			hw /= 2
		}
		f += conv(hw, 3, cin, cout) + conv(hw, 3, cout, cout) // first block
		if cin != cout {
			f += conv(hw, 1, cin, cout) // projection shortcut
		}
		f += 2 * conv(hw, 3, cout, cout) // second block
		cin = cout
	}
	return f + 2*512*float64(headClasses)
}

// Models are the benchmarked networks by name.
var Models = []Model{LeNet, ResNet18}

// ModelNames lists the names of Models.
func ModelNames() []string {
	names := make([]string, len(Models))
	for i, m := range Models {
		names[i] = m.Name
	}
	return names
}

// ModelByName returns the model of that name.
func ModelByName(name string) (Model, error) {
	for _, m := range Models {
		if m.Name == name {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("bench: unknown model %q: want one of %v", name, ModelNames())
}

// nominalFLOPs is the work of one repetition of a row for a batch, in units of forward passes:
// a backward pass costs two forward passes (input and weight gradients), an attack step one forward
// and one backward to the input (counted as two forwards).
func nominalFLOPs(row string, m Model, batch int) float64 {
	passes := map[string]float64{"forward": 1, "train": 3, "pgd_step": 2, "pgd7": 14, "pgd7_train": 17}[row]
	return passes * m.ForwardFLOPs * float64(batch)
}

// goWorkload is one row of the benchmark on one Go backend: run executes one repetition.
type goWorkload struct {
	run func() error
}

func heads(m Model) ([]string, []int) {
	names := make([]string, len(m.Heads))
	for i := range names {
		names[i] = fmt.Sprintf("task%d", i)
	}
	names[0] = "main"
	return names, m.Heads
}

// randomBatch is a seeded batch of images in [0,1] and labels for every head.
func randomBatch(m Model, batch int, seed uint64) ([]float32, [][]int32) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, batch*m.Input[0]*m.Input[1]*m.Input[2])
	for i := range x {
		x[i] = r.Float32()
	}
	ys := make([][]int32, len(m.Heads))
	for t, k := range m.Heads {
		ys[t] = make([]int32, batch)
		for i := range ys[t] {
			ys[t][i] = int32(r.IntN(k))
		}
	}
	return x, ys
}

func (m Model) tensors(x []float32, ys [][]int32, batch int) train.Batch {
	b := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(append([]float32(nil), x...), batch, m.Input[0], m.Input[1], m.Input[2])}}
	for _, y := range ys { // labels as inputs too: training steps that attack read them there
		b.Inputs = append(b.Inputs, tensors.FromFlatDataAndDimensions(append([]int32(nil), y...), batch))
	}
	for _, y := range ys {
		b.Labels = append(b.Labels, tensors.FromFlatDataAndDimensions(append([]int32(nil), y...), batch))
	}
	return b
}

// newGoWorkload builds row for model m on backend, compiled and warmed up by the caller's first run.
func newGoWorkload(backend compute.Backend, m Model, row string, batch int) (*goWorkload, error) {
	names, classes := heads(m)
	net, err := m.build(names, classes)
	if err != nil {
		return nil, err
	}
	store := model.NewStore()
	x, ys := randomBatch(m, batch, 1)
	switch row {
	case "train":
		cfg := training.Config{Optimizer: "sgd", LearningRate: 0.01, Seed: 1}
		trainer, err := training.NewTrainer(backend, store, cfg, training.NaturalStep(net, ones(len(classes))))
		if err != nil {
			return nil, err
		}
		return &goWorkload{run: func() error {
			metrics, err := trainer.TrainStep(m.tensors(x, ys, batch))
			for _, t := range metrics {
				t.FinalizeAll()
			}
			return err
		}}, nil
	case "pgd_step", "pgd7":
		steps := map[string]int{"pgd_step": 1, "pgd7": 7}[row]
		runner, err := attack.NewRunner(backend, store, attack.GrayBox(net), benchPGD(steps))
		if err != nil {
			return nil, err
		}
		input := tensors.FromFlatDataAndDimensions(x, batch, m.Input[0], m.Input[1], m.Input[2])
		labels := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ys[0], batch)}
		return &goWorkload{run: func() error {
			adv, err := runner.Run(input, labels)
			if err == nil {
				adv.Value() // wait for the result on the host
				adv.FinalizeAll()
			}
			return err
		}}, nil
	case "pgd7_train":
		cfg := training.Config{Optimizer: "sgd", LearningRate: 0.01, Seed: 1}
		step := training.AdversarialStep("pgd-at", net, benchPGD(7), attack.GrayBox(net), ones(len(classes)))
		trainer, err := training.NewTrainer(backend, store, cfg, step)
		if err != nil {
			return nil, err
		}
		return &goWorkload{run: func() error {
			metrics, err := trainer.TrainStep(m.tensors(x, ys, batch))
			for _, t := range metrics {
				t.FinalizeAll()
			}
			return err
		}}, nil
	case "forward":
		exec, err := model.NewExec(backend, store, func(s *model.Scope, x *Node) []*Node { return net.Logits(s, x) })
		if err != nil {
			return nil, err
		}
		input := tensors.FromFlatDataAndDimensions(x, batch, m.Input[0], m.Input[1], m.Input[2])
		return &goWorkload{run: func() error {
			out, err := exec.Call(input)
			for _, t := range out {
				t.Value() // wait for the result to be materialised on the host, as torch's eager call does
				t.FinalizeAll()
			}
			return err
		}}, nil
	}
	return nil, fmt.Errorf("bench: no Go workload for row %q", row)
}

// benchPGD is the PGD of the reference: gray-box L∞, eps 0.1, step 0.025, uniform random start, last iterate.
func benchPGD(steps int) attack.PGD {
	return attack.PGD{Eps: 0.1, Alpha: 0.025, Steps: steps, LastIterate: true}
}

func ones(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}
