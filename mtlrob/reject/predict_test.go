package reject

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
)

func goBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// head is an affine head z = x W + b on the flattened 2x2x1 image; the test sets the weights,
// so the predictions are known on the host.
type head struct {
	w [][]float32 // [4][classes]
	b []float32
}

func (h head) predict(x []float32) int32 {
	best, bestZ := int32(0), math.Inf(-1)
	for c := range h.b {
		z := float64(h.b[c])
		for j := range x {
			z += float64(x[j]) * float64(h.w[j][c])
		}
		if z > bestZ {
			best, bestZ = int32(c), z
		}
	}
	return best
}

func linearNet(t testing.TB, heads []head) (*arch.Net, *model.Store) {
	t.Helper()
	net, err := arch.New("linear", func(s *model.Scope, x *graph.Node) *graph.Node { return arch.Flatten(x) }, []string{"main", "half"}, []int{3, 2})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	for i, h := range heads {
		if _, err := store.CreateVariable("/head_"+net.Tasks[i]+"/weights", tensors.FromValue(h.w)); err != nil {
			t.Fatal(err)
		}
		if _, err := store.CreateVariable("/head_"+net.Tasks[i]+"/biases", tensors.FromValue(h.b)); err != nil {
			t.Fatal(err)
		}
	}
	return net, store
}

var (
	heads = []head{
		{w: [][]float32{{1, -1, 0.5}, {0.2, 0.3, -0.4}, {-0.7, 0.1, 0.9}, {0.6, 0.6, -1}}, b: []float32{0.1, 0, -0.2}},
		{w: [][]float32{{0.5, -0.5}, {-1, 1}, {0.25, 0.75}, {0, -0.3}}, b: []float32{0, 0.4}},
	}
	images = []float32{
		0.1, 0.9, 0.3, 0.5,
		1, 0, 0, 1,
		0.2, 0.2, 0.8, 0.4,
		0.6, 0.1, 0.7, 0.3,
		0, 0.5, 0.5, 0,
		0.9, 0.9, 0.1, 0.1,
	}
)

func hostPredict(hs []head) [][]int32 {
	n := len(images) / 4
	out := make([][]int32, len(hs))
	for t, h := range hs {
		out[t] = make([]int32, n)
		for i := range n {
			out[t][i] = h.predict(images[i*4 : (i+1)*4])
		}
	}
	return out
}

func TestPredictMatchesHostArgmax(t *testing.T) {
	backend := goBackend(t)
	net, store := linearNet(t, heads)
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
	backend := goBackend(t)
	net, store := linearNet(t, heads)
	before, err := Predict(backend, store, net, images, 6, 2, 2, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Swap the main head's columns 0 and 2: every main prediction 0 <-> 2 moves.
	swapped := head{w: make([][]float32, 4), b: []float32{heads[0].b[2], heads[0].b[1], heads[0].b[0]}}
	for j, row := range heads[0].w {
		swapped.w[j] = []float32{row[2], row[1], row[0]}
	}
	if err := store.GetVariable("/head_main/weights").SetValue(tensors.FromValue(swapped.w)); err != nil {
		t.Fatal(err)
	}
	if err := store.GetVariable("/head_main/biases").SetValue(tensors.FromValue(swapped.b)); err != nil {
		t.Fatal(err)
	}
	after, err := Predict(backend, store, net, images, 6, 2, 2, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := hostPredict([]head{swapped, heads[1]})
	if !slices.Equal(after[0], want[0]) || slices.Equal(after[0], before[0]) {
		t.Errorf("after the weights changed: main predictions %v (before %v), want %v", after[0], before[0], want[0])
	}
}

func TestPredictErrors(t *testing.T) {
	backend := goBackend(t)
	net, store := linearNet(t, heads)
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
