package arch

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// countBackend is the pure-Go backend on which parameter counts build (never run) their graphs:
// GoMLX creates a model's variables while its graph is built, and building needs a backend.
var countBackend = sync.OnceValues(func() (compute.Backend, error) { return gobackend.New("") })

// ParamCount returns the number of trainable parameters (weights, biases, batch-norm scales and
// offsets; not the batch-norm moving averages, which PyTorch calls buffers) of the whole network for
// images of the given (height, width, channels). It builds the network's graph once for a batch of
// one on a throwaway store, without executing anything, and counts the variables created.
func (n *Net) ParamCount(inputShape [3]int) (int, error) {
	backbone, heads, err := n.ParamCounts(inputShape)
	if err != nil {
		return 0, err
	}
	total := backbone
	for _, h := range heads {
		total += h
	}
	return total, nil
}

// ParamCounts is ParamCount split into the shared backbone and each task's head (in task order).
func (n *Net) ParamCounts(inputShape [3]int) (backbone int, heads []int, err error) {
	for _, d := range inputShape {
		if d < 1 {
			return 0, nil, fmt.Errorf("arch: %s: input shape %v: want positive height, width and channels", n.Name, inputShape)
		}
	}
	backend, err := countBackend()
	if err != nil {
		return 0, nil, fmt.Errorf("arch: %s: parameter count needs the pure-Go backend: %w", n.Name, err)
	}
	store := model.NewStore()
	err = func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				if e, ok := r.(error); ok {
					err = e
				} else {
					err = fmt.Errorf("%v", r)
				}
			}
		}()
		g := NewGraph(backend, "arch_param_count")
		defer g.Finalize()
		x := Parameter(g, "x", shapes.Make(dtypes.Float32, 1, inputShape[0], inputShape[1], inputShape[2]))
		n.Logits(store.RootScope(), x)
		return nil
	}()
	if err != nil {
		return 0, nil, fmt.Errorf("arch: %s: building for input %dx%dx%d: %w", n.Name, inputShape[0], inputShape[1], inputShape[2], err)
	}
	heads = make([]int, len(n.Tasks))
	for v := range store.IterVariables() {
		if !v.Trainable {
			continue
		}
		size := v.Shape().Size()
		path := v.Path()
		if strings.HasPrefix(path, "/backbone/") {
			backbone += size
			continue
		}
		for t, name := range n.Tasks {
			if strings.HasPrefix(path, "/head_"+name+"/") {
				heads[t] += size
			}
		}
	}
	return backbone, heads, nil
}
