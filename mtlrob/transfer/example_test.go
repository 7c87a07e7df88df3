package transfer_test

import (
	"fmt"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/transfer"
)

// The default experiment of Fashion-MNIST on the small CNN: four models, each a source and a target.
func ExampleDefaultSpec() {
	b, err := experiment.BudgetByName("standard")
	if err != nil {
		panic(err)
	}
	spec, err := transfer.DefaultSpec("fashion-mnist", "smallcnn", b, 1)
	if err == nil {
		err = spec.Validate()
	}
	if err != nil {
		panic(err)
	}
	fmt.Println(spec.Name(), spec.Directions)
	for _, m := range spec.Models {
		fmt.Println(transfer.Label(m), "=", m.Name())
	}
	// Output:
	// fashion-mnist_smallcnn_standard_seed1 [single single-aux total signtotal wgd dgba]
	// main only, natural = fashion-mnist_smallcnn_main_natural_standard_seed1
	// main+category+region, natural = fashion-mnist_smallcnn_main+category+region_natural_standard_seed1
	// main only, pgd-at = fashion-mnist_smallcnn_main_pgd-at_standard_seed1
	// main+category+region, pgd-at = fashion-mnist_smallcnn_main+category+region_pgd-at_standard_seed1
}
