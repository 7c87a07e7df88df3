package metric

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

// linearNet is a 2-task network whose backbone is the flattened image, so each head is an
// affine map z = x W + b with weights the test chooses: the loss gradient is known in closed
// form, d CE / d x = W (softmax(z) - onehot(y)).
type linearHead struct {
	w [][]float32 // [in][classes]
	b []float32
}

var linearHeads = []linearHead{
	{w: [][]float32{{1, -1, 0.5}, {0.2, 0.3, -0.4}, {-0.7, 0.1, 0.9}, {0.6, 0.6, -1}}, b: []float32{0.1, 0, -0.2}},
	{w: [][]float32{{0.5, -0.5}, {-1, 1}, {0.25, 0.75}, {0, -0.3}}, b: []float32{0, 0.4}},
}

func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func linearNet(t testing.TB) (*arch.Net, *model.Store) {
	t.Helper()
	net, err := arch.New("linear", func(s *model.Scope, x *graph.Node) *graph.Node { return arch.Flatten(x) }, []string{"main", "half"}, []int{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	for i, h := range linearHeads {
		if _, err := store.CreateVariable("/head_"+net.Tasks[i]+"/weights", tensors.FromValue(h.w)); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateVariable("/head_"+net.Tasks[i]+"/biases", tensors.FromValue(h.b)); err != nil {
			t.Fatal(err)
		}
	}
	return net, store
}

// analytic returns the cross-entropy of head h at input x with label y and its gradient.
func (h linearHead) analytic(x []float32, y int32) (float64, []float64) {
	k := len(h.b)
	z := make([]float64, k)
	for c := range k {
		z[c] = float64(h.b[c])
		for j := range x {
			z[c] += float64(x[j]) * float64(h.w[j][c])
		}
	}
	maxZ := math.Inf(-1)
	for _, v := range z {
		maxZ = math.Max(maxZ, v)
	}
	var sum float64
	for _, v := range z {
		sum += math.Exp(v - maxZ)
	}
	loss := -(z[y] - maxZ - math.Log(sum))
	grad := make([]float64, len(x))
	for c := range k {
		p := math.Exp(z[c]-maxZ) / sum
		if int32(c) == y {
			p--
		}
		for j := range x {
			grad[j] += float64(h.w[j][c]) * p
		}
	}
	return loss, grad
}

func TestInputGradientsMatchClosedForm(t *testing.T) {
	backend := goBackend(t)
	net, store := linearNet(t)
	const n, h, w, c = 5, 2, 2, 1
	images := []float32{
		0.1, 0.9, 0.3, 0.5,
		1, 0, 0, 1,
		0.2, 0.2, 0.8, 0.4,
		0.6, 0.1, 0.7, 0.3,
		0, 0.5, 0.5, 0,
	}
	labels := [][]int32{{0, 2, 1, 1, 0}, {1, 0, 0, 1, 1}}
	// batch 2 leaves a padded last batch of 1; batch 5 is one full batch: both must agree with the truth.
	for _, batch := range []int{2, 5} {
		grads, losses, err := InputGradients(backend, store, net, images, labels, n, h, w, c, batch)
		if err != nil {
			t.Fatal(err)
		}
		for task := range linearHeads {
			for k := range n {
				x := images[k*4 : (k+1)*4]
				wantLoss, wantGrad := linearHeads[task].analytic(x, labels[task][k])
				if !near(losses[task][k], wantLoss, 1e-5) {
					t.Errorf("batch %d: task %d sample %d: loss %.7g, want %.7g", batch, task, k, losses[task][k], wantLoss)
				}
				if len(grads[task][k]) != 4 {
					t.Fatalf("batch %d: task %d sample %d: gradient of length %d, want 4", batch, task, k, len(grads[task][k]))
				}
				for j := range wantGrad {
					if !near(float64(grads[task][k][j]), wantGrad[j], 1e-5) {
						t.Errorf("batch %d: task %d sample %d: gradient %v, want %v", batch, task, k, grads[task][k], wantGrad)
						break
					}
				}
			}
		}
	}
}

// TestInputGradientsSeesNewWeights: a second call after the store's weights changed must use
// the new weights (each call compiles afresh; a reused GoMLX v0.28.16 executable would not).
func TestInputGradientsSeesNewWeights(t *testing.T) {
	backend := goBackend(t)
	net, store := linearNet(t)
	images := []float32{0.1, 0.9, 0.3, 0.5}
	labels := [][]int32{{2}, {1}}
	if _, _, err := InputGradients(backend, store, net, images, labels, 1, 2, 2, 1, 1); err != nil {
		t.Fatal(err)
	}
	changed := linearHead{w: [][]float32{{2, 0, 0}, {0, -1, 0}, {0, 0, 3}, {1, 1, 1}}, b: []float32{0, 0, 0}}
	if err := store.GetVariable("/head_main/weights").SetValue(tensors.FromValue(changed.w)); err != nil {
		t.Fatal(err)
	}
	if err := store.GetVariable("/head_main/biases").SetValue(tensors.FromValue(changed.b)); err != nil {
		t.Fatal(err)
	}
	grads, losses, err := InputGradients(backend, store, net, images, labels, 1, 2, 2, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantLoss, wantGrad := changed.analytic(images, 2)
	if !near(losses[0][0], wantLoss, 1e-5) {
		t.Errorf("loss after the weights changed: %.7g, want %.7g (the new weights')", losses[0][0], wantLoss)
	}
	for j := range wantGrad {
		if !near(float64(grads[0][0][j]), wantGrad[j], 1e-5) {
			t.Errorf("gradient after the weights changed: %v, want %v (the new weights')", grads[0][0], wantGrad)
			break
		}
	}
}

func TestInputGradientsErrors(t *testing.T) {
	backend := goBackend(t)
	net, store := linearNet(t)
	images := make([]float32, 8)
	cases := []struct {
		name   string
		images []float32
		labels [][]int32
		want   string
	}{
		{"image values", images[:7], [][]int32{{0, 0}, {0, 0}}, "7 image values for 2 images of 2x2x1: want 8"},
		{"tasks", images, [][]int32{{0, 0}}, "labels for 1 tasks, network linear heads main:3 half:2 has 2"},
		{"labels", images, [][]int32{{0, 0}, {0}}, `task "half" has 1 labels for 2 images`},
		{"class", images, [][]int32{{0, 3}, {0, 0}}, `task "main": labels[1] = 3: want a class in [0, 3)`},
	}
	for _, c := range cases {
		if _, _, err := InputGradients(backend, store, net, c.images, c.labels, 2, 2, 2, 1, 2); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
