package metric

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// InputGradients computes, for a multi-task network with the weights in
// store, every task's per-sample cross-entropy (arch.CrossEntropy) and its
// gradient with respect to the input image: the r_i = d L(x, y_i) / d x of
// 003 Thm. 2 that GradientCosine and GradientCovariance compare, and the
// per-sample losses that the vulnerability metrics take.
//
// images holds n NHWC images of h x w x c float32 values, flattened;
// labels[t] holds task t's n labels, for every task of net in net.Tasks
// order (task.Set.Labels gives them from the main labels). The work runs in
// batches of batch examples (the last one zero-padded, so one executable
// serves every batch). Results: grads[t][k] is the flattened gradient
// (h*w*c values) of task t at sample k, losses[t][k] its loss.
//
// The gradient of the batch's summed loss is taken, which equals each
// sample's own gradient because the network treats the examples of a batch
// independently (inference mode; batch statistics in training mode would
// couple them).
//
// A fresh executable is compiled on every call and released before
// returning: with GoMLX v0.28.16 a model.Exec compiled once and called again
// after the store's variables changed (e.g. a training step) keeps using the
// old weights, so caching one across calls would silently measure a stale
// model.
func InputGradients(backend compute.Backend, store *model.Store, net *arch.Net, images []float32, labels [][]int32, n, h, w, c, batch int) (grads [][][]float32, losses [][]float64, err error) {
	T := len(net.Tasks)
	d := h * w * c
	switch {
	case n < 1 || h < 1 || w < 1 || c < 1:
		return nil, nil, fmt.Errorf("metric: InputGradients: %d images of %dx%dx%d: want positive sizes", n, h, w, c)
	case batch < 1:
		return nil, nil, fmt.Errorf("metric: InputGradients: batch size %d: want >= 1", batch)
	case len(images) != n*d:
		return nil, nil, fmt.Errorf("metric: InputGradients: %d image values for %d images of %dx%dx%d: want %d", len(images), n, h, w, c, n*d)
	case len(labels) != T:
		return nil, nil, fmt.Errorf("metric: InputGradients: labels for %d tasks, network %s has %d: want one label slice per task", len(labels), net, T)
	}
	for t, l := range labels {
		if len(l) != n {
			return nil, nil, fmt.Errorf("metric: InputGradients: task %q has %d labels for %d images: want one per image", net.Tasks[t], len(l), n)
		}
		for k, y := range l {
			if y < 0 || int(y) >= net.Classes[t] {
				return nil, nil, fmt.Errorf("metric: InputGradients: task %q: labels[%d] = %d: want a class in [0, %d)", net.Tasks[t], k, y, net.Classes[t])
			}
		}
	}
	batch = min(batch, n)

	exec, err := model.NewExec(backend, store, func(s *model.Scope, in []*graph.Node) []*graph.Node {
		x := graph.Identity(in[0]) // differentiate w.r.t. a fresh node, never a parameter or StopGradient
		logits := net.Logits(s, x)
		out := make([]*graph.Node, 2*T)
		for t := range T {
			l := arch.CrossEntropy(logits[t], in[1+t])
			out[t] = graph.Gradient(graph.ReduceAllSum(l), x)[0]
			out[T+t] = graph.ConvertDType(l, dtypes.Float64)
		}
		return out
	})
	if err != nil {
		return nil, nil, fmt.Errorf("metric: InputGradients: %w", err)
	}
	defer exec.Finalize()

	grads = make([][][]float32, T)
	losses = make([][]float64, T)
	for t := range T {
		grads[t] = make([][]float32, n)
		losses[t] = make([]float64, n)
	}
	xb := make([]float32, batch*d)
	yb := make([][]int32, T)
	for t := range yb {
		yb[t] = make([]int32, batch)
	}
	for start := 0; start < n; start += batch {
		m := min(batch, n-start)
		clear(xb)
		copy(xb, images[start*d:(start+m)*d])
		args := []any{tensors.FromFlatDataAndDimensions(xb, batch, h, w, c)}
		for t := range T {
			clear(yb[t])
			copy(yb[t], labels[t][start:start+m])
			args = append(args, tensors.FromFlatDataAndDimensions(yb[t], batch))
		}
		out, err := exec.Call(args...)
		if err != nil {
			return nil, nil, fmt.Errorf("metric: InputGradients: batch at example %d: %w", start, err)
		}
		for t := range T {
			g, err := tensors.CopyFlatData[float32](out[t])
			if err != nil {
				return nil, nil, fmt.Errorf("metric: InputGradients: gradient of task %q: %w", net.Tasks[t], err)
			}
			l, err := tensors.CopyFlatData[float64](out[T+t])
			if err != nil {
				return nil, nil, fmt.Errorf("metric: InputGradients: loss of task %q: %w", net.Tasks[t], err)
			}
			for k := range m {
				grads[t][start+k] = g[k*d : (k+1)*d : (k+1)*d]
				losses[t][start+k] = l[k]
			}
		}
	}
	return grads, losses, nil
}
