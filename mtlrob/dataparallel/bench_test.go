package dataparallel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// BenchmarkPGD7TrainStep times one gray-box PGD-7 adversarial training step (the bench package's
// pgd7_train row: L∞ PGD eps 0.1, step 0.025, 7 steps from a random start, last iterate; SGD lr 0.01)
// of the small CNN and the multi-head LeNet (heads of 10, 3 and 4 classes) at batch 128 on the XLA
// CPU plugin opened with 1 and with 2 host devices, data parallel on 2, and reports examples/s.
// The first step (compilation) is not timed. Run it with
//
//	go test ./mtlrob/dataparallel -run '^$' -bench PGD7TrainStep -benchtime 10x
//
// The host devices of one machine share its cores: 2 devices pay off only where one device leaves
// cores idle. Measured on a 2-core Intel Xeon (AVX-512, AMX) busy with another run (load average 9-14,
// so ranges over three runs, not figures): small CNN 370-530 examples/s on 1 device, 235-800 on 2;
// LeNet 72-200 on 1 device, 72-190 on 2.
func BenchmarkPGD7TrainStep(b *testing.B) {
	const batch = 128
	builds := []struct {
		name  string
		build func(tasks []string, classes []int) (*arch.Net, error)
	}{
		{"smallcnn", func(tasks []string, classes []int) (*arch.Net, error) {
			return arch.SmallCNN(tasks, classes, [3]int{28, 28, 1})
		}},
		{"lenet", arch.LeNet},
	}
	for _, m := range builds {
		for _, devices := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/devices=%d", m.name, devices), func(b *testing.B) {
				backend := openCPU(b, devices)
				tasks, classes := []string{"main", "task1", "task2"}, []int{10, 3, 4}
				net, err := m.build(tasks, classes)
				if err != nil {
					b.Fatal(err)
				}
				pgd := attack.PGD{Eps: 0.1, Alpha: 0.025, Steps: 7, LastIterate: true}
				step := training.AdversarialStep("pgd-at", net, pgd, attack.GrayBox(net), []float64{1, 1, 1})
				tr, err := NewTrainer(backend, model.NewStore(), training.Config{Optimizer: "sgd", LearningRate: 0.01, Seed: 1}, step, devices)
				if err != nil {
					b.Fatal(err)
				}
				x, ys := randomBatch(batch, classes)
				if _, err := tr.TrainStep(x.with(ys)); err != nil { // compiles
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if _, err := tr.TrainStep(x.with(ys)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "examples/s")
			})
		}
	}
}

type images []float32

// with returns fresh tensors of a batch (a step consumes its tensors): the images, the labels as
// inputs (the attack reads them) and again as labels (the loss).
func (x images) with(ys [][]int32) train.Batch {
	n := len(ys[0])
	out := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(append([]float32(nil), x...), n, 28, 28, 1)}}
	for _, y := range ys {
		out.Inputs = append(out.Inputs, tensors.FromFlatDataAndDimensions(append([]int32(nil), y...), n))
	}
	for _, y := range ys {
		out.Labels = append(out.Labels, tensors.FromFlatDataAndDimensions(append([]int32(nil), y...), n))
	}
	return out
}

// randomBatch is a seeded batch of 28x28x1 images in [0,1) and labels for every head.
func randomBatch(batch int, classes []int) (images, [][]int32) {
	r := rand.New(rand.NewPCG(1, 1))
	x := make(images, batch*28*28)
	for i := range x {
		x[i] = r.Float32()
	}
	ys := make([][]int32, len(classes))
	for t, k := range classes {
		ys[t] = make([]int32, batch)
		for i := range ys[t] {
			ys[t][i] = int32(r.IntN(k))
		}
	}
	return x, ys
}
