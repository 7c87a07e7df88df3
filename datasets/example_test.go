package datasets_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/mtlrob/mtlrob/datasets"
)

// Load a registered dataset, take a class-balanced subset and check it.
// (No Output: it needs Fashion-MNIST installed, e.g. with `make data`.)
func ExampleLoad() {
	train, err := datasets.Load("fashion-mnist", "train")
	if errors.Is(err, datasets.ErrNotInstalled) {
		log.Fatal(err) // the message says how to install it
	}
	if err != nil {
		log.Fatal(err)
	}
	small, err := train.Stratified(100, 1) // 100 per class, seed 1
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.Shape(), small.Shape(), small.ClassNames[9])
	// GTSRB at the paper's 112x112 from a directory of one's choice:
	//   datasets.Load("gtsrb", "test", datasets.WithDir("/data/GTSRB"), datasets.WithSize(112, 112))
}

// One shuffled epoch in batches of 4, with the dataset's augmentation.
func ExampleNewBatcher() {
	ds := &datasets.Dataset{
		Name: "cifar10", Split: "train", N: 10, Height: 1, Width: 1, Channels: 1,
		Images:     []float32{0, .1, .2, .3, .4, .5, .6, .7, .8, .9},
		Labels:     []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		ClassNames: datasets.CIFAR10ClassNames,
	}
	aug := datasets.DefaultAugmenter(ds.Name)
	rng := datasets.NewRand(7)
	b := datasets.NewBatcher(ds, 4, true, 42, false)
	for {
		images, labels, n, ok := b.Next()
		if !ok {
			break
		}
		if err := aug.Apply(images, n, ds.Height, ds.Width, ds.Channels, rng); err != nil {
			log.Fatal(err)
		}
		fmt.Println(n, len(images), len(labels))
	}
	b.Reset() // epoch 1: a new order, the same for every run with seed 42
	fmt.Println("epoch", b.Epoch())
	// Output:
	// 4 4 4
	// 4 4 4
	// 2 2 2
	// epoch 1
}
