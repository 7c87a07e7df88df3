// Package testkit holds the toy networks and data sets that the tests of several packages share: the
// quadrant problem (a learnable 4-class task on 4x4x1 images, with its "half" auxiliary task), a
// one-layer MLP, a linear network whose heads are affine maps of the flattened image, and a data set
// of grey 4x4 images, one level per class. Only _test.go files import it.
//
// It sits beside package testbackends, which opens the backends, rather than in it: testkit imports
// arch, and the internal tests of package arch import testbackends, so one package holding both would
// be an import cycle for them. A fixture that only one package's tests use stays in that package.
package testkit

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// Quadrants is a learnable 4-class problem on n 4x4x1 images: image i has class c = i mod 4 (a, b, c,
// d), which lights up quadrant c (0.6 more), on uniform noise in [0, 0.3) drawn from seed.
func Quadrants(n int, seed uint64, split string) *datasets.Dataset {
	r := rand.New(rand.NewPCG(seed, 99))
	ds := &datasets.Dataset{Name: "toy", Split: split, N: n, Height: 4, Width: 4, Channels: 1,
		ClassNames: []string{"a", "b", "c", "d"}, Images: make([]float32, n*16), Labels: make([]int32, n)}
	for i := range n {
		c := i % 4
		ds.Labels[i] = int32(c)
		for y := range 4 {
			for x := range 4 {
				v := 0.3 * r.Float32()
				if (y/2)*2+x/2 == c {
					v += 0.6
				}
				ds.Images[i*16+y*4+x] = v
			}
		}
	}
	return ds
}

// QuadrantTasks are the tasks of the quadrant problem: main (the 4 classes, named "toy") and "half"
// ({a,b} -> top, {c,d} -> bottom).
func QuadrantTasks(t testing.TB) task.Set {
	t.Helper()
	half, err := task.FromKeys("half", []string{"a", "b", "c", "d"}, []string{"top", "bottom"},
		map[string]string{"a": "top", "b": "top", "c": "bottom", "d": "bottom"})
	if err != nil {
		t.Fatal(err)
	}
	return task.Set{Main: task.Main{Name: "toy", ClassNames: []string{"a", "b", "c", "d"}}, Aux: []task.Map{half}}
}

// MLP is the network "toy": one hidden dense layer of width units with ReLU (scope "fc") on the
// flattened image, and a head per task (tasks[i] with classes[i] classes). Its weights are those a
// fresh store initialises.
func MLP(t testing.TB, width int, tasks []string, classes []int) *arch.Net {
	t.Helper()
	net, err := arch.New("toy", func(s *model.Scope, x *graph.Node) *graph.Node {
		return activation.Relu(arch.Dense(s.In("fc"), arch.Flatten(x), width))
	}, tasks, classes)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// LinearNet is the network "linear" whose backbone is the flattened image, so that head i (task
// tasks[i], classes[i] classes) is the affine map z = x W_i + b_i: its loss gradient is known in closed
// form. The weights are the store's (head_<task>/weights [inputs, classes], head_<task>/biases).
func LinearNet(t testing.TB, tasks []string, classes []int) *arch.Net {
	t.Helper()
	net, err := arch.New("linear", func(_ *model.Scope, x *graph.Node) *graph.Node { return arch.Flatten(x) }, tasks, classes)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// LinearHead is the weights of one head of a LinearNet: W is [inputs][classes], B [classes].
type LinearHead struct {
	W [][]float32
	B []float32
}

// LinearHeads returns a fresh copy of the heads of LinearModel's fixture on 2x2x1 images (4 inputs):
// "main" with 3 classes and "half" with 2.
func LinearHeads() []LinearHead {
	return []LinearHead{
		{W: [][]float32{{1, -1, 0.5}, {0.2, 0.3, -0.4}, {-0.7, 0.1, 0.9}, {0.6, 0.6, -1}}, B: []float32{0.1, 0, -0.2}},
		{W: [][]float32{{0.5, -0.5}, {-1, 1}, {0.25, 0.75}, {0, -0.3}}, B: []float32{0, 0.4}},
	}
}

// LinearModel returns the LinearNet with the tasks "main" and "half" and a store holding heads (two:
// LinearHeads(), or others with as many inputs) as the weights of those heads.
func LinearModel(t testing.TB, heads []LinearHead) (*arch.Net, *model.Store) {
	t.Helper()
	if len(heads) != 2 {
		t.Fatalf("LinearModel: %d heads, want 2 (main, half)", len(heads))
	}
	net := LinearNet(t, []string{"main", "half"}, []int{len(heads[0].B), len(heads[1].B)})
	store := model.NewStore()
	for i, h := range heads {
		if _, err := store.CreateVariable("/head_"+net.Tasks[i]+"/weights", tensors.FromValue(h.W)); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateVariable("/head_"+net.Tasks[i]+"/biases", tensors.FromValue(h.B)); err != nil {
			t.Fatal(err)
		}
	}
	return net, store
}

// GreyClasses is a "toy" test set of 24 4x4x1 images whose labels cycle through the classes a, b, c, d
// (0, 1, 2, 3, 0, ...), every pixel of an image of class y being y/3.
func GreyClasses() *datasets.Dataset {
	ds := &datasets.Dataset{Name: "toy", Split: "test", Height: 4, Width: 4, Channels: 1, ClassNames: []string{"a", "b", "c", "d"}}
	for i := range 24 {
		y := i % 4
		ds.Labels = append(ds.Labels, int32(y))
		for range 16 {
			ds.Images = append(ds.Images, float32(y)/3)
		}
	}
	ds.N = 24
	return ds
}
