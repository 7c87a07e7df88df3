package dataparallel

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/task"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// openCPU opens the XLA CPU plugin split into n host devices, or skips the test when there is none.
func openCPU(t testing.TB, n int) compute.Backend {
	t.Helper()
	b, _, err := OpenCPU(n)
	if err != nil {
		if strings.Contains(err.Error(), "no XLA CPU plugin found") || strings.Contains(err.Error(), "needs cgo") {
			t.Skipf("data-parallel test skipped: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(b.Finalize)
	return b
}

// TestRefusesWhatCannotRun: the pure-Go backend has no distributed execution and a backend with one
// device cannot hold a two-device mesh: both are errors that say so, before anything compiles.
func TestRefusesWhatCannotRun(t *testing.T) {
	gb := testbackends.Go(t)
	if _, err := Mesh(gb, 2); err == nil || !strings.Contains(err.Error(), "needs an XLA backend") {
		t.Errorf("Mesh(pure Go, 2) error = %v, want one saying an XLA backend is needed", err)
	}
	one := openCPU(t, 1)
	if _, err := Mesh(one, 2); err == nil || !strings.Contains(err.Error(), "has 1 device(s), 2 asked") {
		t.Errorf("Mesh(XLA CPU with 1 device, 2) error = %v, want one naming the device counts", err)
	}
	if _, err := Mesh(one, 1); err != nil {
		t.Errorf("Mesh(XLA CPU with 1 device, 1) = %v", err)
	}
	two := openCPU(t, 2)
	net, err := arch.SmallCNN([]string{"main"}, []int{10}, [3]int{28, 28, 1})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(two, model.NewStore(), training.Config{Seed: 1}, training.NaturalStep(net, nil), 2)
	if err != nil {
		t.Fatal(err)
	}
	b := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(make([]float32, 3*28*28), 3, 28, 28, 1)}}
	b.Labels = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(make([]int32, 3), 3)}
	if _, err := tr.TrainStep(b); err == nil || !strings.Contains(err.Error(), "multiple of 2 devices") {
		t.Errorf("a batch of 3 on 2 devices: error = %v, want one about the batch axis", err)
	}
}

// The configuration of TestTwoDevicesMatchOneDevice.
const (
	testBatch = 64
	testSteps = 6
	testLR    = 0.01 // MomentumSGD, momentum 0.9 (training.Config's default for "sgd")
	testMu    = 0.9
)

// TestTwoDevicesMatchOneDevice: gray-box PGD adversarial training (001 Eq. 6-7: PGD on the main-task
// loss, training on every head) of the small CNN, 6 steps of 64 Fashion-MNIST images (synthetic images
// when the dataset is not installed), data parallel over 2 XLA CPU host devices, ends at the weights of
// the same 6 steps on one device, within a tolerance derived below; and two deliberately wrong
// reductions of the gradients (summed over the devices instead of averaged; one device's shard alone)
// end far outside it.
//
// Why float64. The two runs do the same arithmetic per example; they differ in the order of the
// reductions over the batch (one sum over the batch on one device; two half-batch sums added by the
// all-reduce). In float32 the weights then differ in their last bits after the first step, and the
// next PGD steps take sign(gradient): a pixel whose input gradient is within rounding of zero flips its
// step by 2*alpha, a discontinuity no rounding bound covers. Measured here in float32 (SGD, 5 steps,
// PGD-3 from zero): relative weight differences of 1e-6 without a flip, 7e-3 with one. In float64 the
// flip window shrinks by 2^29 and the chance of a flip (or of a ReLU or max-pool tie) in the whole run
// is ~1e-9, so the runs differ by rounding alone and a rounding bound applies. The distributed
// machinery (mesh, sharding, all-reduce) is the same for every dtype. PGD starts at x (NoRandomStart):
// both runs see the same start by construction.
//
// The tolerance. Per step s and layer l, the weight gradient is one reduction over K_l terms: the
// (example, output position) products a*delta/B of the layer's input a and the loss's gradient delta
// at the layer's output (K = B*28*28 for conv1, B*14*14 for conv2, B for the dense layers; a bias
// term is delta/B). Any summation order of K terms errs by at most gamma_K * sum|term|, gamma_K =
// K*u/(1-K*u), u = 2^-53 (Higham, Accuracy and Stability of Numerical Algorithms, §4.2), so the two
// runs' gradients differ by at most
//
//	e_{l,s} = 2 * gamma_K * K * T_{l,s},   T_{l,s} = max|a| * max|delta| / B   (largest |term|),
//
// with max|a| and max|delta| measured at the reference weights of step s on its batch (probe below).
// Momentum SGD (v_s = mu*v_{s-1} + g_s, w_s = w_{s-1} - lr*v_s) carries a gradient difference into
// the weights after N steps by at most lr * sum_{t<=N} sum_{s<=t} mu^(t-s) * e_{l,s}. The tolerance
// is 3 times that: the factor covers what the reduction model leaves out, the propagation of earlier
// weight differences through later gradients (at most (1 + lr*|H|)^N <= e for lr*|H| <= 1/N, a small
// learning rate over few steps) and the per-example arithmetic, whose reductions (<= 3*3*16 terms)
// are far shorter than the batch reductions.
//
// The wrong reductions move every weight by about lr*|g| per step, where the bound allows ~1e-10 of
// that; the test asserts they exceed the tolerance and logs by how much.
func TestTwoDevicesMatchOneDevice(t *testing.T) {
	backend := openCPU(t, 2)
	ds, tasks := testData(t)
	names, sizes := tasks.Names(), tasks.Sizes()
	net, err := arch.SmallCNN(names, sizes, [3]int{28, 28, 1})
	if err != nil {
		t.Fatal(err)
	}
	pgd := attack.PGD{Eps: 0.1, Alpha: 0.025, Steps: 3, NoRandomStart: true}
	weights := make([]float64, len(names))
	for i := range weights {
		weights[i] = 1
	}
	step := training.AdversarialStep("pgd-at", net, pgd, attack.GrayBox(net), weights)
	cfg := training.Config{Optimizer: "sgd", LearningRate: testLR, Momentum: testMu, Seed: 5}
	batches := testBatches(t, ds, tasks)

	// The reference run on one device, probed before every step for the tolerance.
	ref := model.NewStore()
	one, err := NewTrainer(backend, ref, cfg, step, 1)
	if err != nil {
		t.Fatal(err)
	}
	probe := newProbe(t, backend, ref, net, pgd, weights)
	probe.measure(t, batches[0]) // initialises the weights, which every run starts from
	stores := map[string]*model.Store{}
	for _, v := range []string{"averaged", "summed", "one shard"} {
		stores[v] = copyStore(t, ref)
	}
	var grad []map[string]float64 // per step: the bound e_{l,s} per variable
	for s, b := range batches {
		grad = append(grad, probe.measure(t, b))
		if _, err := one.TrainStep(b.batch()); err != nil {
			t.Fatalf("one device, step %d: %v", s, err)
		}
	}

	// The data-parallel run and the two wrong reductions, each on 2 devices from the same weights.
	halve := func(x []*Node) []*Node {
		out := make([]*Node, len(x))
		for i, n := range x {
			out[i] = Slice(n, AxisRange(0, testBatch/2))
		}
		return out
	}
	variants := map[string]training.Step{
		"averaged": step,
		// sum over the 2 shards of each shard's mean gradient: twice the mean
		"summed": {Name: "summed", ModelFn: step.ModelFn,
			LossFn: func(labels, logits []*Node) *Node { return MulScalar(step.LossFn(labels, logits), 2) }},
		// device 0's shard alone, as when no all-reduce happens: the loss of the first half of the batch
		"one shard": {Name: "one shard", ModelFn: step.ModelFn,
			LossFn: func(labels, logits []*Node) *Node { return step.LossFn(halve(labels), halve(logits)) }},
	}
	got := map[string]map[string][]float64{}
	for name, st := range variants {
		tr, err := NewTrainer(backend, stores[name], cfg, st, 2)
		if err != nil {
			t.Fatal(err)
		}
		for s, b := range batches {
			if _, err := tr.TrainStep(b.batch()); err != nil {
				t.Fatalf("%s on 2 devices, step %d: %v", name, s, err)
			}
		}
		got[name] = weightsOf(t, stores[name], name == "averaged")
	}

	want := weightsOf(t, ref, false)
	tol := map[string]float64{}
	for path := range want {
		sum := 0.0
		for tt := range grad {
			for s := 0; s <= tt; s++ {
				sum += math.Pow(testMu, float64(tt-s)) * grad[s][path]
			}
		}
		tol[path] = 3 * testLR * sum
	}
	for name := range variants {
		worst, worstPath, worstDiff := 0.0, "", 0.0
		for path, w := range want {
			g := got[name][path]
			if len(g) != len(w) {
				t.Fatalf("%s: variable %s has %d values, want %d", name, path, len(g), len(w))
			}
			d := 0.0
			for i := range w {
				d = max(d, math.Abs(g[i]-w[i]))
			}
			if r := d / tol[path]; r >= worst {
				worst, worstPath, worstDiff = r, path, d
			}
		}
		t.Logf("%-9s on 2 devices: largest |w2 - w1| / tolerance = %.3g (%s: %.3g, tolerance %.3g)",
			name, worst, worstPath, worstDiff, tol[worstPath])
		switch {
		case name == "averaged" && worst > 1:
			t.Errorf("2 devices end %.3g times the tolerance away from 1 device (%s: |diff| %.3g > %.3g)", worst, worstPath, worstDiff, tol[worstPath])
		case name != "averaged" && worst <= 1:
			t.Errorf("the wrong reduction %q ends within the tolerance of the right one (%.3g): the test cannot tell them apart", name, worst)
		}
	}
}

// testData is the first 256 Fashion-MNIST training images with the built-in tasks, or 256 synthetic
// images when the dataset is not installed.
func testData(t *testing.T) (*datasets.Dataset, task.Set) {
	tasks, err := task.ForDataset("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	const n = 256
	ds, err := datasets.Load("fashion-mnist", "train")
	if err == nil {
		ds, err = ds.Head(n)
	}
	if errors.Is(err, datasets.ErrNotInstalled) {
		t.Logf("Fashion-MNIST not installed (%v): synthetic images", err)
		r := rand.New(rand.NewPCG(1, 2))
		ds = &datasets.Dataset{Name: "synthetic", Split: "train", N: n, Height: 28, Width: 28, Channels: 1,
			Images: make([]float32, n*28*28), Labels: make([]int32, n)}
		for i := range ds.Images {
			ds.Images[i] = r.Float32()
		}
		for i := range ds.Labels {
			ds.Labels[i] = int32(r.IntN(10))
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return ds, tasks
}

// hostBatch is one training batch in float64: images, and per-task labels.
type hostBatch struct {
	images []float64
	labels [][]int32
}

// batch returns fresh tensors of b as a training step takes them (a step consumes its tensors): the
// images and the labels as inputs (the attack reads them), the labels again for the loss.
func (b hostBatch) batch() train.Batch {
	n := len(b.labels[0])
	out := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(append([]float64(nil), b.images...), n, 28, 28, 1)}}
	for _, l := range b.labels {
		out.Inputs = append(out.Inputs, tensors.FromFlatDataAndDimensions(append([]int32(nil), l...), n))
	}
	for _, l := range b.labels {
		out.Labels = append(out.Labels, tensors.FromFlatDataAndDimensions(append([]int32(nil), l...), n))
	}
	return out
}

func testBatches(t *testing.T, ds *datasets.Dataset, tasks task.Set) []hostBatch {
	bt := datasets.NewBatcher(ds, testBatch, true, 7, true)
	var out []hostBatch
	for len(out) < testSteps {
		images, labels, n, ok := bt.Next()
		if !ok {
			bt.Reset()
			continue
		}
		perTask, err := tasks.Labels(labels)
		if err != nil {
			t.Fatal(err)
		}
		b := hostBatch{images: make([]float64, len(images)), labels: perTask}
		for i, v := range images[:n*28*28] {
			b.images[i] = float64(v)
		}
		out = append(out, b)
	}
	return out
}

// copyStore returns a new store holding copies of from's variables. (Not model.Store.Clone: in GoMLX
// v0.28.16 Variable.CloneToStore leaves the copy's store unset, and building a distributed graph on it
// then dereferences nil in Variable.paramNode.)
func copyStore(t *testing.T, from *model.Store) *model.Store {
	t.Helper()
	to := model.NewStore()
	for path, value := range from.IterParams() {
		to.SetParam(path, value)
	}
	for v := range from.IterVariables() {
		val, err := v.Value()
		if err != nil {
			t.Fatalf("%s: %v", v.Path(), err)
		}
		c, err := val.Clone()
		if err != nil {
			t.Fatalf("%s: %v", v.Path(), err)
		}
		nv, err := to.CreateVariable(v.Path(), c)
		if err != nil {
			t.Fatal(err)
		}
		nv.SetTrainable(v.Trainable)
	}
	return to
}

// weightsOf returns the trainable weights of the network (backbone and heads) by variable path. With
// replicas, it also checks that every device holds the same weights bit for bit (the all-reduce gives
// every device the same sum).
func weightsOf(t *testing.T, store *model.Store, replicas bool) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for v := range store.IterVariables() {
		p := v.Path()
		if !strings.HasPrefix(p, "/backbone/") && !strings.HasPrefix(p, "/head_") {
			continue
		}
		if replicas {
			d, err := v.DistributedValue()
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			first := tensors.MustCopyFlatData[float64](d.Shards()[0])
			for i, sh := range d.Shards()[1:] {
				other := tensors.MustCopyFlatData[float64](sh)
				for j := range first {
					if first[j] != other[j] {
						t.Fatalf("%s: device %d holds %v at %d, device 0 %v: the replicas diverged", p, i+1, other[j], j, first[j])
					}
				}
			}
		}
		val, err := v.Value()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[p] = tensors.MustCopyFlatData[float64](val)
	}
	if len(out) == 0 {
		t.Fatal("no network weights in the store")
	}
	return out
}

// probe measures, at the store's current weights and on one batch, the largest |input| and |loss
// gradient| at the output of every layer of the small CNN, on the adversarial batch the training step
// trains on (PGD from x is deterministic), and turns them into the bound e_{l,s} of
// TestTwoDevicesMatchOneDevice for every weight variable.
type probe struct {
	exec  *model.Exec
	heads []string
}

// layer records, while the probe's copy of the small CNN is built, each layer's input and output
// (before the activation), in the order conv1, conv2, fc1.
type layer struct{ in, out *Node }

func newProbe(t *testing.T, backend compute.Backend, store *model.Store, net *arch.Net, pgd attack.PGD, weights []float64) *probe {
	var layers []layer
	// The same layers under the same scopes as arch.SmallCNNBackbone, so it reads the same variables.
	backbone := func(s *model.Scope, x *Node) *Node {
		layers = layers[:0]
		add := func(in, out *Node) *Node { layers = append(layers, layer{in, out}); return out }
		x = activation.Relu(add(x, arch.Conv2D(s.In("conv1"), x, 16, 3, arch.Same)))
		x = arch.MaxPool2D(x, 2)
		x = activation.Relu(add(x, arch.Conv2D(s.In("conv2"), x, 32, 3, arch.Same)))
		x = arch.MaxPool2D(x, 2)
		x = arch.Flatten(x)
		return activation.Relu(add(x, arch.Dense(s.In("fc1"), x, 128)))
	}
	copyNet, err := arch.New(net.Name, backbone, net.Tasks, net.Classes)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := model.NewExec(backend, store, func(s *model.Scope, inputs []*Node) []*Node {
		x, labels := inputs[0], inputs[1:]
		xAdv := StopGradient(pgd.Perturb(s, attack.GrayBox(net.WithBN(arch.BNInference)), x, labels))
		logits := copyNet.Logits(s, xAdv)
		features := activation.Relu(layers[2].out)
		// the sum over the batch of the per-example losses: its gradient at a layer's output is each
		// example's own delta (the step's loss is this divided by B)
		loss := MulScalar(training.MultiTaskLoss(weights, labels, logits), float64(x.Shape().Dimensions[0]))
		at := []*Node{layers[0].out, layers[1].out, layers[2].out}
		at = append(at, logits...)
		deltas := Gradient(loss, at...)
		ins := []*Node{layers[0].in, layers[1].in, layers[2].in}
		for range logits {
			ins = append(ins, features)
		}
		var out []*Node
		for i := range at {
			out = append(out, ReduceAllMax(Abs(ins[i])), ReduceAllMax(Abs(deltas[i])))
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	return &probe{exec: exec, heads: net.Tasks}
}

// measure returns e_{l,s} per weight variable path.
func (p *probe) measure(t *testing.T, b hostBatch) map[string]float64 {
	tb := b.batch()
	args := []any{tb.Inputs[0]}
	for _, l := range tb.Inputs[1:] {
		args = append(args, l)
	}
	res, err := p.exec.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	maxes := make([]float64, len(res))
	for i, r := range res {
		maxes[i] = r.Value().(float64)
		r.FinalizeAll()
	}
	const u = 0x1p-53
	B := float64(testBatch)
	bound := func(k, maxIn, maxDelta float64) float64 {
		gamma := k * u / (1 - k*u)
		return 2 * gamma * k * maxIn * maxDelta / B
	}
	out := map[string]float64{}
	layerOf := func(i int, path string, k float64) {
		out[path+"/weights"] = bound(k, maxes[2*i], maxes[2*i+1])
		out[path+"/biases"] = bound(k, 1, maxes[2*i+1])
	}
	layerOf(0, "/backbone/conv1", B*28*28)
	layerOf(1, "/backbone/conv2", B*14*14)
	layerOf(2, "/backbone/fc1", B)
	for i, name := range p.heads {
		layerOf(3+i, fmt.Sprintf("/head_%s", name), B)
	}
	return out
}
