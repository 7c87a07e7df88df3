package metric

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
)

// linearHeads are the heads of the linear 2-task fixture (testkit.LinearModel): each head is an affine
// map z = x W + b of the flattened image with weights the test chooses, so the loss gradient is known in
// closed form, d CE / d x = W (softmax(z) - onehot(y)).
var linearHeads = testkit.LinearHeads()

// analytic returns the cross-entropy of head h at input x with label y and its gradient.
func analytic(h testkit.LinearHead, x []float32, y int32) (float64, []float64) {
	k := len(h.B)
	z := make([]float64, k)
	for c := range k {
		z[c] = float64(h.B[c])
		for j := range x {
			z[c] += float64(x[j]) * float64(h.W[j][c])
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
			grad[j] += float64(h.W[j][c]) * p
		}
	}
	return loss, grad
}

func TestInputGradientsMatchClosedForm(t *testing.T) {
	backend := testbackends.Go(t)
	net, store := testkit.LinearModel(t, linearHeads)
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
				wantLoss, wantGrad := analytic(linearHeads[task], x, labels[task][k])
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
	backend := testbackends.Go(t)
	net, store := testkit.LinearModel(t, linearHeads)
	images := []float32{0.1, 0.9, 0.3, 0.5}
	labels := [][]int32{{2}, {1}}
	if _, _, err := InputGradients(backend, store, net, images, labels, 1, 2, 2, 1, 1); err != nil {
		t.Fatal(err)
	}
	changed := testkit.LinearHead{W: [][]float32{{2, 0, 0}, {0, -1, 0}, {0, 0, 3}, {1, 1, 1}}, B: []float32{0, 0, 0}}
	if err := store.GetVariable("/head_main/weights").SetValue(tensors.FromValue(changed.W)); err != nil {
		t.Fatal(err)
	}
	if err := store.GetVariable("/head_main/biases").SetValue(tensors.FromValue(changed.B)); err != nil {
		t.Fatal(err)
	}
	grads, losses, err := InputGradients(backend, store, net, images, labels, 1, 2, 2, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantLoss, wantGrad := analytic(changed, images, 2)
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
	backend := testbackends.Go(t)
	net, store := testkit.LinearModel(t, linearHeads)
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
