package arch

import (
	"fmt"
	"strconv"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Backbone maps an NHWC image batch to a [batch, features] representation shared by every task.
type Backbone func(s *model.Scope, x *Node) *Node

// Net is a multi-task classifier with hard parameter sharing (001 §III-C, Fig. 2): every layer
// but the output heads is shared. The backbone's variables live under scope "backbone", task t's
// linear head under "head_<name of t>". Task 0 is the main task.
//
// A Net is a description, not weights: the weights live in a model.Store, so the same Net can be
// built on any number of stores (a trained model, a peer copy, a fresh one).
type Net struct {
	// Name of the architecture, e.g. "lenet".
	Name string
	// Tasks are the task names, main task first, in the order of the logits Logits returns.
	Tasks []string
	// Classes[t] is the number of classes of task t.
	Classes []int
	// Backbone builds the shared layers.
	Backbone Backbone
	// InputShape is the (height, width, channels) of the images the constructor built the network for;
	// String prints its parameter count there. Zero when unknown (a Net made with New).
	InputShape [3]int
	// BN is the batch-normalisation mode of every graph this Net builds (see BNMode). The zero value,
	// BNAuto, follows the graph (batch statistics and updates in training graphs, moving averages
	// elsewhere). Networks without batch normalisation ignore it. Set it with WithBN.
	BN BNMode
}

// New returns a Net with the given backbone and one head per task.
func New(name string, backbone Backbone, tasks []string, classes []int) (*Net, error) {
	if len(tasks) == 0 || len(tasks) != len(classes) {
		return nil, fmt.Errorf("arch: %s: need one class count per task, got %d tasks and %d counts", name, len(tasks), len(classes))
	}
	seen := map[string]bool{}
	for i, t := range tasks {
		if t == "" || strings.ContainsAny(t, "/ ") {
			return nil, fmt.Errorf("arch: %s: task %d has name %q: want a non-empty name without '/' or spaces", name, i, t)
		}
		if seen[t] {
			return nil, fmt.Errorf("arch: %s: task name %q appears twice", name, t)
		}
		seen[t] = true
		if classes[i] < 2 {
			return nil, fmt.Errorf("arch: %s: task %q has %d classes, want at least 2", name, t, classes[i])
		}
	}
	return &Net{Name: name, Tasks: append([]string(nil), tasks...), Classes: append([]int(nil), classes...), Backbone: backbone}, nil
}

// WithBN returns a view of the network whose graphs use the given batch-normalisation mode: the same
// description, reading the same variables. An attack run inside a training step (adversarial training)
// should build its model calls on net.WithBN(BNInference) (attack the deployed model) or
// net.WithBN(BNBatchStats) (attack the model as it is being trained), and the training forward pass on
// net itself, so that only that pass updates the moving averages.
func (n *Net) WithBN(mode BNMode) *Net {
	c := *n
	c.BN = mode
	return &c
}

// Logits builds the whole network and returns one [batch, Classes[t]] logits node per task, in task order.
// It can be called several times in one graph (e.g. once inside an attack and once for training):
// every call reads the same variables.
func (n *Net) Logits(s *model.Scope, x *Node) []*Node {
	all := make([]int, len(n.Tasks))
	for i := range all {
		all[i] = i
	}
	return n.Heads(s, x, all...)
}

// Heads builds the backbone and only the listed heads, returning their logits in the order given.
// Heads that are not listed are not part of the graph: their variables are neither read nor
// differentiated. This is what makes the gray-box threat model (001 Eq. 4) exact.
//
// Batch normalisation (ResNet-18, WideResNet) follows n.BN: with the default BNAuto, a graph marked as
// training (scope.IsTraining(g): train.Trainer's train step) uses batch statistics and updates the
// moving averages once per call; any other graph uses the moving averages. See WithBN for attacks
// inside a training step.
func (n *Net) Heads(s *model.Scope, x *Node, tasks ...int) []*Node {
	s = s.ResetVisited() // allow several calls in one graph, each reading the same variables.
	if n.BN != BNAuto {
		g := x.Graph()
		prev, _ := model.GetGraphParam(g, model.JoinPath(model.RootScopePath, bnModeParam))
		model.SetGraphParam(g, model.JoinPath(model.RootScopePath, bnModeParam), n.BN)
		defer model.SetGraphParam(g, model.JoinPath(model.RootScopePath, bnModeParam), prev)
	}
	features := n.Backbone(s.In("backbone"), x)
	out := make([]*Node, len(tasks))
	for i, t := range tasks {
		if t < 0 || t >= len(n.Tasks) {
			panic(fmt.Sprintf("arch: %s has %d tasks, asked for head %d", n.Name, len(n.Tasks), t))
		}
		out[i] = Dense(s.In("head_%s", n.Tasks[t]), features, n.Classes[t])
	}
	return out
}

// GrayBox is the view of the model a gray-box attacker has (001 Eq. 4): the shared backbone and the
// main head only; the auxiliary heads are hidden.
func (n *Net) GrayBox(s *model.Scope, x *Node) *Node {
	return n.Heads(s, x, 0)[0]
}

// String describes the network, e.g. "lenet 28x28x1 3,281,809 params, heads main:10 category:3 region:4".
// The input shape and parameter count appear when InputShape is set.
func (n *Net) String() string {
	var b strings.Builder
	b.WriteString(n.Name)
	if n.InputShape != ([3]int{}) {
		fmt.Fprintf(&b, " %dx%dx%d", n.InputShape[0], n.InputShape[1], n.InputShape[2])
		if count, err := n.ParamCount(n.InputShape); err == nil {
			fmt.Fprintf(&b, " %s params,", thousands(count))
		}
	}
	b.WriteString(" heads")
	for i, t := range n.Tasks {
		fmt.Fprintf(&b, " %s:%d", t, n.Classes[i])
	}
	return b.String()
}

// thousands formats n with commas: 3274634 -> "3,274,634".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// CrossEntropy returns the per-sample softmax cross-entropy -log softmax(logits)[label], shape [batch].
// logits is [batch, classes]; labels is an integer [batch] node. Per-sample losses are what DGBA and the
// vulnerability metrics need; take the mean for a training loss.
func CrossEntropy(logits, labels *Node) *Node {
	classes := logits.Shape().Dimensions[1]
	logp := LogSoftmax(logits, -1)
	return Neg(ReduceSum(Mul(OneHot(labels, classes, logits.DType()), logp), -1))
}
