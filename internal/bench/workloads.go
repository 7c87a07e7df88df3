package bench

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"

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

// WideResNet is WRN-depth-widen (arch.WideResNet) at CIFAR10 shapes (32x32x3) with the heads of
// ResNet18. Its name is "wrn-<depth>-<widen>", the name the PyTorch reference builds it from.
func WideResNet(depth, widen int) Model {
	return Model{
		Name: fmt.Sprintf("wrn-%d-%d", depth, widen), Input: [3]int{32, 32, 3}, Heads: []int{10, 2, 3},
		ForwardFLOPs: wideResNetFLOPs(32, depth, widen, 15),
		build: func(tasks []string, classes []int) (*arch.Net, error) {
			return arch.WideResNet(depth, widen, tasks, classes, [3]int{32, 32, 3})
		},
	}
}

// wideResNetFLOPs counts the convolutions and heads of WRN-depth-widen (3x3 stem to 16 channels, three
// stages of (depth-4)/6 blocks of two 3x3 convolutions with 16, 32, 64 times widen filters at strides
// 1, 2, 2, and a 1x1 shortcut where the width changes) on size x size inputs.
func wideResNetFLOPs(size, depth, widen, headClasses int) float64 {
	conv := func(hw, k, cin, cout int) float64 { return 2 * float64(hw*hw*k*k*cin*cout) }
	n := (depth - 4) / 6
	f := conv(size, 3, 3, 16)
	cin, hw := 16, size
	for stage, width := range []int{16 * widen, 32 * widen, 64 * widen} {
		if stage > 0 {
			hw /= 2
		}
		for block := range n {
			f += conv(hw, 3, cin, width) + conv(hw, 3, width, width)
			if block == 0 && cin != width {
				f += conv(hw, 1, cin, width)
			}
			cin = width
		}
	}
	return f + 2*float64(cin*headClasses)
}

// WRN2810 is WRN-28-10, the wide ResNet of the adversarial-training literature at 32x32.
var WRN2810 = WideResNet(28, 10)

// Models are the benchmarked networks by name; ModelByName also accepts any "wrn-D-K".
var Models = []Model{LeNet, ResNet18, WRN2810}

// ModelNames lists the names of Models.
func ModelNames() []string {
	names := make([]string, len(Models))
	for i, m := range Models {
		names[i] = m.Name
	}
	return names
}

var wrnName = regexp.MustCompile(`^wrn-(\d+)-(\d+)$`)

// ModelByName returns the model of that name: one of Models, or "wrn-D-K" for any WideResNet.
func ModelByName(name string) (Model, error) {
	for _, m := range Models {
		if m.Name == name {
			return m, nil
		}
	}
	if s := wrnName.FindStringSubmatch(name); s != nil {
		depth, _ := strconv.Atoi(s[1])
		widen, _ := strconv.Atoi(s[2])
		if depth >= 10 && (depth-4)%6 == 0 && widen >= 1 {
			return WideResNet(depth, widen), nil
		}
	}
	return Model{}, fmt.Errorf("bench: unknown model %q: want one of %v or wrn-D-K (D = 6n+4)", name, ModelNames())
}

// nominalFLOPs is the work of one repetition of a row for a batch, in units of forward passes:
// a backward pass costs two forward passes (input and weight gradients), an attack step one forward
// and one backward to the input (counted as two forwards); the PGD-20 evaluation is the attack and
// one forward pass on its result.
func nominalFLOPs(row string, m Model, batch int) float64 {
	passes := map[string]float64{"forward": 1, "train": 3, "pgd_step": 2, "pgd7": 14, "pgd7_train": 17,
		"pgd10_train": 23, "pgd20_eval": 41}[row]
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
		return trainWorkload(backend, store, training.NaturalStep(net, ones(len(classes))), func() train.Batch { return m.tensors(x, ys, batch) })
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
	case "pgd20_eval":
		runner, err := attack.NewRunner(backend, store, attack.GrayBox(net), benchPGD(20))
		if err != nil {
			return nil, err
		}
		exec, err := model.NewExec(backend, store, func(s *model.Scope, x *Node) *Node { return net.GrayBox(s, x) })
		if err != nil {
			return nil, err
		}
		input := tensors.FromFlatDataAndDimensions(x, batch, m.Input[0], m.Input[1], m.Input[2])
		labels := []*tensors.Tensor{tensors.FromFlatDataAndDimensions(ys[0], batch)}
		return &goWorkload{run: func() error {
			adv, err := runner.Run(input, labels)
			if err != nil {
				return err
			}
			out, err := exec.Call(adv) // robust logits of the main head
			adv.FinalizeAll()
			for _, t := range out {
				t.Value()
				t.FinalizeAll()
			}
			return err
		}}, nil
	case "pgd7_train", "pgd10_train":
		steps := map[string]int{"pgd7_train": 7, "pgd10_train": 10}[row]
		step := training.AdversarialStep("pgd-at", net, benchPGD(steps), attack.GrayBox(net), ones(len(classes)))
		return trainWorkload(backend, store, step, func() train.Batch { return m.tensors(x, ys, batch) })
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

// trainWorkload times one optimizer step of step (SGD, lr 0.01) on a fresh copy of the same batch each
// time (batch makes it), waiting for the step's metrics on the host (XLA runs asynchronously on a GPU).
func trainWorkload(backend compute.Backend, store *model.Store, step training.Step, batch func() train.Batch) (*goWorkload, error) {
	cfg := training.Config{Optimizer: "sgd", LearningRate: 0.01, Seed: 1}
	trainer, err := training.NewTrainer(backend, store, cfg, step)
	if err != nil {
		return nil, err
	}
	return &goWorkload{run: func() error {
		metrics, err := trainer.TrainStep(batch())
		if len(metrics) > 0 {
			metrics[0].Value()
		}
		for _, t := range metrics {
			t.FinalizeAll()
		}
		return err
	}}, nil
}
