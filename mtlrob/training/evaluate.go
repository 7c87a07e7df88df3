package training

import (
	"fmt"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// Scores are per-task mean cross-entropy and accuracy on a dataset, in task order.
type Scores struct {
	Tasks    []string  `json:"tasks"`
	Loss     []float64 `json:"loss"`
	Accuracy []float64 `json:"accuracy"`
	N        int       `json:"n"`
}

// Evaluator computes Scores of a multi-task network with the weights in a store. It compiles one
// executable per batch shape and reuses it.
type Evaluator struct {
	net   *arch.Net
	tasks task.Set
	exec  *model.Exec
	batch int
}

// NewEvaluator compiles (lazily, on first use) the evaluation graph of net on backend.
func NewEvaluator(backend compute.Backend, store *model.Store, net *arch.Net, tasks task.Set, batchSize int) (*Evaluator, error) {
	if batchSize < 1 {
		return nil, fmt.Errorf("training: evaluation batch size %d, want >= 1", batchSize)
	}
	T := len(net.Tasks)
	exec, err := model.NewExec(backend, store, func(s *model.Scope, in []*Node) []*Node {
		x, labels := in[0], in[1:]
		logits := net.Logits(s, x)
		out := make([]*Node, 0, 2*T)
		for t := range T {
			out = append(out, ReduceAllSum(arch.CrossEntropy(logits[t], labels[t])))
		}
		for t := range T {
			pred := ArgMax(logits[t], -1, labels[t].DType())
			out = append(out, ReduceAllSum(ConvertDType(Equal(pred, labels[t]), x.DType())))
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	return &Evaluator{net: net, tasks: tasks, exec: exec, batch: batchSize}, nil
}

// Evaluate scores the network on every example of ds.
func (e *Evaluator) Evaluate(ds *datasets.Dataset) (Scores, error) {
	T := len(e.net.Tasks)
	sc := Scores{Tasks: e.net.Tasks, Loss: make([]float64, T), Accuracy: make([]float64, T)}
	b := datasets.NewBatcher(ds, e.batch, false, 0, false)
	for {
		images, labels, n, ok := b.Next()
		if !ok {
			break
		}
		batch, err := makeBatch(ds, e.tasks, images, labels, n)
		if err != nil {
			return sc, err
		}
		args := make([]any, len(batch.Inputs))
		for i, in := range batch.Inputs {
			args[i] = in
		}
		out, err := e.exec.Call(args...)
		if err != nil {
			return sc, fmt.Errorf("training: evaluating on %s: %w", ds.Name, err)
		}
		for t := range T {
			sc.Loss[t] += scalar(out[t])
			sc.Accuracy[t] += scalar(out[T+t])
		}
		sc.N += n
	}
	if sc.N == 0 {
		return sc, fmt.Errorf("training: evaluating on %s/%s: the dataset is empty", ds.Name, ds.Split)
	}
	for t := range T {
		sc.Loss[t] /= float64(sc.N)
		sc.Accuracy[t] /= float64(sc.N)
	}
	return sc, nil
}

func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	panic(fmt.Sprintf("training: expected a float scalar, got %s", t.Shape()))
}
