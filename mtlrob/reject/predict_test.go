package reject

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
)

// hostClass is head h's class for the flattened 2x2x1 image x, computed on the host: the test sets the
// weights of the linear fixture (testkit.LinearModel), so its predictions are known.
func hostClass(h testkit.LinearHead, x []float32) int32 {
	best, bestZ := int32(0), math.Inf(-1)
	for c := range h.B {
		z := float64(h.B[c])
		for j := range x {
			z += float64(x[j]) * float64(h.W[j][c])
		}
		if z > bestZ {
			best, bestZ = int32(c), z
		}
	}
	return best
}

var (
	heads  = testkit.LinearHeads()
	images = []float32{
		0.1, 0.9, 0.3, 0.5,
		1, 0, 0, 1,
		0.2, 0.2, 0.8, 0.4,
		0.6, 0.1, 0.7, 0.3,
		0, 0.5, 0.5, 0,
		0.9, 0.9, 0.1, 0.1,
	}
)

func hostPredict(hs []testkit.LinearHead) [][]int32 {
	n := len(images) / 4
	out := make([][]int32, len(hs))
	for t, h := range hs {
		out[t] = make([]int32, n)
		for i := range n {
			out[t][i] = hostClass(h, images[i*4:(i+1)*4])
		}
	}
	return out
}

func TestPredictMatchesHostArgmax(t *testing.T) {
	backend := testbackends.Go(t)
	net, store := testkit.LinearModel(t, heads)
	want := hostPredict(heads)
	for t2 := range want { // the case must exercise more than one class per task
		if slices.Min(want[t2]) == slices.Max(want[t2]) {
			t.Fatalf("task %d predicts %v on every image: pick weights that separate them", t2, want[t2])
		}
	}
	// batch 4 leaves a zero-padded last batch of 2; batch 100 is one batch.
	for _, batch := range []int{4, 100} {
		got, err := Predict(backend, store, net, images, 6, 2, 2, 1, batch)
		if err != nil {
			t.Fatal(err)
		}
		for task := range want {
			if !slices.Equal(got[task], want[task]) {
				t.Errorf("batch %d: task %s: Predict = %v, want %v", batch, net.Tasks[task], got[task], want[task])
			}
		}
	}
}

// TestPredictSeesNewWeights: Predict after the store's weights changed must use the new weights
// (it compiles afresh; a model.Exec reused across the change would not, with GoMLX v0.28.16).
func TestPredictSeesNewWeights(t *testing.T) {
	backend := testbackends.Go(t)
	net, store := testkit.LinearModel(t, heads)
	before, err := Predict(backend, store, net, images, 6, 2, 2, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Swap the main head's columns 0 and 2: every main prediction 0 <-> 2 moves.
	swapped := testkit.LinearHead{W: make([][]float32, 4), B: []float32{heads[0].B[2], heads[0].B[1], heads[0].B[0]}}
	for j, row := range heads[0].W {
		swapped.W[j] = []float32{row[2], row[1], row[0]}
	}
	if err := store.GetVariable("/head_main/weights").SetValue(tensors.FromValue(swapped.W)); err != nil {
		t.Fatal(err)
	}
	if err := store.GetVariable("/head_main/biases").SetValue(tensors.FromValue(swapped.B)); err != nil {
		t.Fatal(err)
	}
	after, err := Predict(backend, store, net, images, 6, 2, 2, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := hostPredict([]testkit.LinearHead{swapped, heads[1]})
	if !slices.Equal(after[0], want[0]) || slices.Equal(after[0], before[0]) {
		t.Errorf("after the weights changed: main predictions %v (before %v), want %v", after[0], before[0], want[0])
	}
}

func TestPredictErrors(t *testing.T) {
	backend := testbackends.Go(t)
	net, store := testkit.LinearModel(t, heads)
	if _, err := Predict(backend, store, net, images[:7], 2, 2, 2, 1, 2); err == nil || !strings.Contains(err.Error(), "7 image values for 2 images of 2x2x1: want 8") {
		t.Errorf("short images: error %v", err)
	}
	if _, err := Predict(backend, store, net, images, 6, 2, 2, 1, 0); err == nil || !strings.Contains(err.Error(), "batch size 0") {
		t.Errorf("batch 0: error %v", err)
	}
}

func TestArgMax(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		name   string
		logits []float32
		n, k   int
		want   []int32
		err    string
	}{
		{"rows", []float32{0.1, 0.7, 0.2, 3, -1, 2}, 2, 3, []int32{1, 0}, ""},
		{"tie goes low", []float32{1, 5, 5}, 1, 3, []int32{1}, ""},
		{"NaN never wins", []float32{nan, -2, -1}, 1, 3, []int32{2}, ""},
		{"no rows", nil, 0, 3, []int32{}, ""},
		{"shape", []float32{1, 2, 3}, 2, 2, nil, "3 logits for 2 rows of 2 classes"},
	}
	for _, c := range cases {
		got, err := ArgMax(c.logits, c.n, c.k)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: ArgMax = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}
