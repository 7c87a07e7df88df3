package reject

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// Predict returns the predicted class of every task of net (argmax of its
// logits) for n NHWC images of h x w x c float32 values (images, flattened),
// with the weights in store: preds[t][i] for task t (net.Tasks order, main
// first) and image i, the input of Module.Decide, Score and Evaluate. The
// images run in batches of batch (the last one zero-padded, so one
// executable serves every batch); ties go to the lowest class.
//
// A fresh executable is compiled on every call and released before
// returning: with GoMLX v0.28.16 a model.Exec compiled once and called again
// after the store's variables changed (e.g. a training step) keeps using
// the old weights, so a cached one would silently score a stale model.
// Compilation costs little next to a pass over a test set.
func Predict(backend compute.Backend, store *model.Store, net *arch.Net, images []float32, n, h, w, c, batch int) ([][]int32, error) {
	d := h * w * c
	switch {
	case n < 1 || h < 1 || w < 1 || c < 1:
		return nil, fmt.Errorf("reject: Predict: %d images of %dx%dx%d: want positive sizes", n, h, w, c)
	case batch < 1:
		return nil, fmt.Errorf("reject: Predict: batch size %d: want >= 1", batch)
	case len(images) != n*d:
		return nil, fmt.Errorf("reject: Predict: %d image values for %d images of %dx%dx%d: want %d", len(images), n, h, w, c, n*d)
	}
	batch = min(batch, n)
	T := len(net.Tasks)
	exec, err := model.NewExec(backend, store, func(s *model.Scope, x *graph.Node) []*graph.Node {
		logits := net.Logits(s, x)
		out := make([]*graph.Node, T)
		for t, l := range logits {
			out[t] = graph.ArgMax(l, -1, dtypes.Int32)
		}
		return out
	})
	if err != nil {
		return nil, fmt.Errorf("reject: Predict: %w", err)
	}
	defer exec.Finalize()

	preds := make([][]int32, T)
	for t := range preds {
		preds[t] = make([]int32, n)
	}
	xb := make([]float32, batch*d)
	for start := 0; start < n; start += batch {
		m := min(batch, n-start)
		clear(xb)
		copy(xb, images[start*d:(start+m)*d])
		out, err := exec.Call(tensors.FromFlatDataAndDimensions(xb, batch, h, w, c))
		if err != nil {
			return nil, fmt.Errorf("reject: Predict: batch at image %d: %w", start, err)
		}
		for t := range T {
			p, err := tensors.CopyFlatData[int32](out[t])
			if err != nil {
				return nil, fmt.Errorf("reject: Predict: task %q: %w", net.Tasks[t], err)
			}
			copy(preds[t][start:start+m], p[:m])
		}
	}
	return preds, nil
}

// ArgMax returns the class with the largest logit for each of n rows of k
// logits (row-major, flattened), ties to the lowest class: predictions from
// logits computed elsewhere. NaN logits are never the maximum unless a whole
// row is NaN (then class 0).
func ArgMax(logits []float32, n, k int) ([]int32, error) {
	if n < 0 || k < 1 || len(logits) != n*k {
		return nil, fmt.Errorf("reject: ArgMax: %d logits for %d rows of %d classes: want n*k = %d with k >= 1", len(logits), n, k, n*k)
	}
	out := make([]int32, n)
	for i := range n {
		row := logits[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] || (row[best] != row[best] && v == v) {
				best = j
			}
		}
		out[i] = int32(best)
	}
	return out, nil
}
