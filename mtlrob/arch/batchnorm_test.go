package arch

import (
	"encoding/json"
	"github.com/gomlx/compute"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/layers/norm"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/mtlrob/mtlrob/internal/testbackends"
)

// channelStats returns the per-channel mean, biased and unbiased variance of NHWC data (channels last).
func channelStats(data []float64, channels int) (mean, biased, unbiased []float64) {
	n := len(data) / channels
	mean, biased, unbiased = make([]float64, channels), make([]float64, channels), make([]float64, channels)
	for i, v := range data {
		mean[i%channels] += v / float64(n)
	}
	for i, v := range data {
		d := v - mean[i%channels]
		biased[i%channels] += d * d / float64(n)
		unbiased[i%channels] += d * d / float64(n-1)
	}
	return
}

func closeTo(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func varValues(t *testing.T, store *model.Store, path string) []float64 {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	return tensors.MustCopyFlatData[float64](v.MustValue())
}

// shiftedBatch is NHWC data whose channel c has mean means[c] and spread spreads[c], far from 0 and 1.
func shiftedBatch(seed uint64, batch, h, w int, means, spreads []float64) operand {
	r := rand.New(rand.NewPCG(seed, 1))
	c := len(means)
	data := make([]float64, batch*h*w*c)
	for i := range data {
		data[i] = means[i%c] + spreads[i%c]*r.NormFloat64()
	}
	return operand{dims: []int{batch, h, w, c}, data: data}
}

// TestBatchNormTrainAndInferenceModes: in a training graph BatchNorm normalises with the batch statistics
// (per-channel mean 0, variance 1 at gamma=1, beta=0) and updates the moving averages as documented; in any
// other graph it applies the moving averages and changes nothing.
func TestBatchNormTrainAndInferenceModes(t *testing.T) {
	testbackends.ForEach(t, testBatchNormTrainAndInferenceModes)
}

func testBatchNormTrainAndInferenceModes(t *testing.T, backend compute.Backend) {
	store := model.NewStore()
	bn := func(training bool) *model.Exec {
		return model.MustNewExec(backend, store, func(s *model.Scope, x *Node) *Node {
			if training {
				s.SetTraining(x.Graph(), true)
			}
			return BatchNorm(s.In("layer"), x)
		})
	}
	trainExec, inferExec := bn(true), bn(false)
	const prefix = "/layer/batch_normalization/"
	x := shiftedBatch(1, 8, 3, 3, []float64{5, -2}, []float64{3, 0.5})
	mean, biased, unbiased := channelStats(x.data, 2)

	// Inference before any update: moving mean 0 and variance 1, so y = x / sqrt(1 + eps).
	out, err := inferExec.Call(x.tensor())
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range tensors.MustCopyFlatData[float64](out[0]) {
		if want := x.data[i] / math.Sqrt(1+BNEpsilon); !closeTo(y, want, 1e-12) {
			t.Fatalf("inference before training: y[%d] = %g, want %g", i, y, want)
		}
	}
	if w := varValues(t, store, prefix+"avg_weight"); w[0] != 0 {
		t.Fatalf("an inference graph updated the averages: avg_weight %v", w)
	}

	// Training: batch statistics.
	out, err = trainExec.Call(x.tensor())
	if err != nil {
		t.Fatal(err)
	}
	ym, yv, _ := channelStats(tensors.MustCopyFlatData[float64](out[0]), 2)
	for c := range 2 {
		if math.Abs(ym[c]) > 1e-12 || !closeTo(yv[c], biased[c]/(biased[c]+BNEpsilon), 1e-12) {
			t.Errorf("train mode channel %d: output mean %g, variance %g; want 0 and ~1", c, ym[c], yv[c])
		}
	}
	// The first update copies the batch mean and unbiased variance (debiased moving average).
	gotMean, gotVar, gotW := varValues(t, store, prefix+"mean"), varValues(t, store, prefix+"variance"), varValues(t, store, prefix+"avg_weight")
	for c := range 2 {
		if !closeTo(gotMean[c], mean[c], 1e-12) || !closeTo(gotVar[c], unbiased[c], 1e-12) || gotW[c] != 1 {
			t.Errorf("after one step, channel %d: moving mean %g variance %g weight %g; want %g %g 1",
				c, gotMean[c], gotVar[c], gotW[c], mean[c], unbiased[c])
		}
	}
	// Scale and offset are trainable, the averages are not (so optimizers leave them alone).
	for name, trainable := range map[string]bool{"scale": true, "offset": true, "mean": false, "variance": false, "avg_weight": false} {
		if store.GetVariable(prefix+name).Trainable != trainable {
			t.Errorf("%s: trainable = %v, want %v", name, !trainable, trainable)
		}
	}

	// Inference now uses the moving averages, whatever the batch.
	out, err = inferExec.Call(x.tensor())
	if err != nil {
		t.Fatal(err)
	}
	for i, y := range tensors.MustCopyFlatData[float64](out[0]) {
		c := i % 2
		if want := (x.data[i] - mean[c]) / math.Sqrt(unbiased[c]+BNEpsilon); !closeTo(y, want, 1e-12) {
			t.Fatalf("inference after training: y[%d] = %g, want %g", i, y, want)
		}
	}

	// Second update: weight 1/2 for the new batch.
	x2 := shiftedBatch(2, 8, 3, 3, []float64{1, 4}, []float64{2, 1})
	mean2, _, unbiased2 := channelStats(x2.data, 2)
	if _, err = trainExec.Call(x2.tensor()); err != nil {
		t.Fatal(err)
	}
	gotMean, gotVar = varValues(t, store, prefix+"mean"), varValues(t, store, prefix+"variance")
	for c := range 2 {
		if !closeTo(gotMean[c], (mean[c]+mean2[c])/2, 1e-12) || !closeTo(gotVar[c], (unbiased[c]+unbiased2[c])/2, 1e-12) {
			t.Errorf("second update, channel %d: moving mean %g variance %g, want the averages of both batches", c, gotMean[c], gotVar[c])
		}
	}

	// After the warm-up (weight >= 10) an update is PyTorch's: moving = 0.9 moving + 0.1 batch.
	store.GetVariable(prefix + "avg_weight").MustSetValue(tensors.FromValue([]float64{50, 50}))
	x3 := shiftedBatch(3, 8, 3, 3, []float64{-3, 0}, []float64{1, 3})
	mean3, _, unbiased3 := channelStats(x3.data, 2)
	if _, err = trainExec.Call(x3.tensor()); err != nil {
		t.Fatal(err)
	}
	newMean, newVar := varValues(t, store, prefix+"mean"), varValues(t, store, prefix+"variance")
	for c := range 2 {
		if !closeTo(newMean[c], 0.9*gotMean[c]+0.1*mean3[c], 1e-12) || !closeTo(newVar[c], 0.9*gotVar[c]+0.1*unbiased3[c], 1e-12) {
			t.Errorf("momentum update, channel %d: moving mean %g variance %g, want %g %g", c, newMean[c], newVar[c],
				0.9*gotMean[c]+0.1*mean3[c], 0.9*gotVar[c]+0.1*unbiased3[c])
		}
	}
}

// bnToyNet is a two-head network with one batch-normalised convolution, small enough to run anywhere.
func bnToyNet(t testing.TB) *Net {
	return mustNet(New("bntoy", func(s *model.Scope, x *Node) *Node {
		x = Conv(s.In("conv"), x, 4, 3).NoBias().Done()
		x = activation.Relu(BatchNorm(s.In("bn"), x))
		return GlobalAvgPool(x)
	}, []string{"main", "aux"}, []int{3, 2}))
}

func flat64(t *testing.T, x *tensors.Tensor) []float64 { return tensors.MustCopyFlatData[float64](x) }

func equalSlices(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !closeTo(a[i], b[i], tol) {
			return false
		}
	}
	return true
}

// TestNetBNModes: in one training graph, the BNInference view uses the moving averages, the BNBatchStats
// view uses batch statistics, neither updates anything, and only the default (BNAuto) call updates the
// moving averages, once. An attack inside a training step relies on exactly this.
func TestNetBNModes(t *testing.T) {
	backend := testbackends.Go(t)
	net := bnToyNet(t)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(3))
	x := shiftedBatch(4, 4, 5, 5, []float64{2, -1}, []float64{1, 2})
	const avgWeight = "/backbone/bn/batch_normalization/avg_weight"

	// Reference outputs from plain inference graphs (initialises the variables).
	inferOut, err := model.MustNewExec(backend, store, func(s *model.Scope, x *Node) *Node { return net.GrayBox(s, x) }).Call(x.tensor())
	if err != nil {
		t.Fatal(err)
	}
	statsOut, err := model.MustNewExec(backend, store, func(s *model.Scope, x *Node) *Node {
		return net.WithBN(BNBatchStats).GrayBox(s, x)
	}).Call(x.tensor())
	if err != nil {
		t.Fatal(err)
	}
	if w := varValues(t, store, avgWeight); w[0] != 0 {
		t.Fatalf("inference graphs updated the moving averages: avg_weight %v", w)
	}
	if equalSlices(flat64(t, inferOut[0]), flat64(t, statsOut[0]), 1e-6) {
		t.Fatal("batch statistics and moving averages gave the same logits: the test batch does not tell them apart")
	}

	// One training graph: attack-like calls on the two views, then the training forward pass.
	out, err := model.MustNewExec(backend, store, func(s *model.Scope, x *Node) []*Node {
		s.SetTraining(x.Graph(), true)
		inf := net.WithBN(BNInference).GrayBox(s, x)
		stats := net.WithBN(BNBatchStats).GrayBox(s, x)
		auto := net.Logits(s, x)
		return []*Node{inf, stats, auto[0]}
	}).Call(x.tensor())
	if err != nil {
		t.Fatal(err)
	}
	if !equalSlices(flat64(t, out[0]), flat64(t, inferOut[0]), 1e-12) {
		t.Error("BNInference view in a training graph differs from the inference graph")
	}
	if !equalSlices(flat64(t, out[1]), flat64(t, statsOut[0]), 1e-12) {
		t.Error("BNBatchStats view in a training graph differs from the same view in an inference graph")
	}
	if !equalSlices(flat64(t, out[2]), flat64(t, statsOut[0]), 1e-12) {
		t.Error("training-mode logits differ from the batch-statistics logits")
	}
	if w := varValues(t, store, avgWeight); w[0] != 1 {
		t.Errorf("avg_weight = %v after one training graph, want exactly one update", w)
	}
	if net.BN != BNAuto || net.WithBN(BNInference).BN != BNInference {
		t.Error("WithBN changed the original network")
	}
}

// TestInferenceIsPerSample: with the moving averages a sample's logits do not depend on the rest of its
// batch; with batch statistics they do.
func TestInferenceIsPerSample(t *testing.T) {
	backend := testbackends.Go(t)
	net := bnToyNet(t)
	store := model.NewStore()
	x := shiftedBatch(5, 3, 5, 5, []float64{2, -1}, []float64{1, 2})
	first := operand{dims: []int{1, 5, 5, 2}, data: x.data[:5*5*2]}
	for _, tc := range []struct {
		mode    BNMode
		perItem bool
	}{{BNAuto, true}, {BNInference, true}, {BNBatchStats, false}} {
		exec := model.MustNewExec(backend, store, func(s *model.Scope, x *Node) *Node { return net.WithBN(tc.mode).GrayBox(s, x) })
		batch, err := exec.Call(x.tensor())
		if err != nil {
			t.Fatal(err)
		}
		alone, err := exec.Call(first.tensor())
		if err != nil {
			t.Fatal(err)
		}
		same := equalSlices(flat64(t, batch[0])[:3], flat64(t, alone[0]), 1e-12)
		if same != tc.perItem {
			t.Errorf("mode %s: sample 0 alone equals sample 0 in its batch: %v, want %v", tc.mode, same, tc.perItem)
		}
	}
}

// oneBatch is a train.Dataset of a single batch, for the trainer tests.
type oneBatch struct{ x, labels []float64 }

func (d oneBatch) Name() string { return "one batch" }
func (d oneBatch) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		n := len(d.labels)
		labels := make([]int32, n)
		for i, l := range d.labels {
			labels[i] = int32(l)
		}
		yield(train.Batch{
			Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(append([]float64(nil), d.x...), n, 5, 5, 2)},
			Labels: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(labels, n)},
		}, nil)
	}
}

// TestTrainerUpdatesMovingAverages: GoMLX's trainer marks its train-step graph as training, so one
// TrainStep updates the moving averages to the batch statistics of the pre-step weights (and the
// optimizer leaves them alone); norm.UpdateBatchNormAverages recomputes them from data.
func TestTrainerUpdatesMovingAverages(t *testing.T) {
	backend := testbackends.Go(t)
	net := bnToyNet(t)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(5))
	x := shiftedBatch(6, 6, 5, 5, []float64{1, 3}, []float64{2, 1})
	ds := oneBatch{x: x.data, labels: []float64{0, 1, 2, 0, 1, 2}}
	// Batch statistics of the convolution's output under the current weights.
	convStats := func() ([]float64, []float64) {
		out, err := model.MustNewExec(backend, store, func(s *model.Scope, x *Node) []*Node {
			y := Conv(s.In("backbone").In("conv"), x, 4, 3).NoBias().Done()
			m, v := BatchMoments(y)
			n := float64(y.Shape().Size() / 4)
			return []*Node{m, MulScalar(v, n/(n-1))}
		}).Call(x.tensor())
		if err != nil {
			t.Fatal(err)
		}
		return flat64(t, out[0]), flat64(t, out[1])
	}
	before, beforeVar := convStats() // initialises the convolution's weights
	lossFn := func(labels, logits []*Node) *Node { return ReduceAllMean(CrossEntropy(logits[0], labels[0])) }
	trainer := train.NewTrainer(backend, store, func(s *model.Scope, x *Node) *Node { return net.GrayBox(s, x) },
		lossFn, optimizer.StochasticGradientDescent().WithLearningRate(0.5).Done(), nil, nil)
	if _, err := trainer.TrainStep(oneBatchOf(ds)); err != nil {
		t.Fatal(err)
	}
	// The step's forward pass saw the weights before the step: its batch statistics were copied into
	// the moving averages (first update), and the optimizer did not touch them.
	const prefix = "/backbone/bn/batch_normalization/"
	if w := varValues(t, store, prefix+"avg_weight"); w[0] != 1 {
		t.Fatalf("avg_weight after one TrainStep = %v, want 1", w)
	}
	if got := varValues(t, store, prefix+"mean"); !equalSlices(got, before, 1e-9) {
		t.Errorf("moving mean after one TrainStep %v, want the batch mean %v", got, before)
	}
	if got := varValues(t, store, prefix+"variance"); !equalSlices(got, beforeVar, 1e-9) {
		t.Errorf("moving variance after one TrainStep %v, want the unbiased batch variance %v", got, beforeVar)
	}
	// norm.UpdateBatchNormAverages recomputes the averages from the dataset with the current weights.
	used, err := norm.UpdateBatchNormAverages(trainer, ds)
	if err != nil || !used {
		t.Fatalf("UpdateBatchNormAverages: used %v, err %v", used, err)
	}
	wantMean, wantVar := convStats()
	if got := varValues(t, store, prefix+"mean"); !equalSlices(got, wantMean, 1e-9) {
		t.Errorf("moving mean after UpdateBatchNormAverages %v, want the batch mean %v", got, wantMean)
	}
	if got := varValues(t, store, prefix+"variance"); !equalSlices(got, wantVar, 1e-9) {
		t.Errorf("moving variance after UpdateBatchNormAverages %v, want the unbiased batch variance %v", got, wantVar)
	}
	if equalSlices(before, wantMean, 1e-9) {
		t.Error("the SGD step did not change the convolution (learning rate too small for this test)")
	}
}

func oneBatchOf(ds oneBatch) train.Batch {
	for b := range ds.Iter() {
		return b
	}
	panic("empty")
}

// blockFixture is one case of testdata/blocks.json (see gen_blocks.py).
type blockFixture struct {
	Name              string             `json:"name"`
	Kind              string             `json:"kind"`
	Stride            int                `json:"stride"`
	Width             int                `json:"width"`
	X                 operand            `json:"x"`
	Params            map[string]operand `json:"params"`
	EvalOut           operand            `json:"eval_out"`
	TrainOut          operand            `json:"train_out"`
	RunningAfterTrain map[string]operand `json:"running_after_train"`
}

func (o *operand) UnmarshalJSON(b []byte) error {
	var v struct {
		Dims []int     `json:"dims"`
		Data []float64 `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.dims, o.data = v.Dims, v.Data
	return nil
}

// TestBlocksMatchPyTorch: ResNet's BasicBlock and WideResNet's pre-activation block, with the weights,
// batch-norm parameters and running statistics of the PyTorch reference modules, give PyTorch's outputs in
// inference mode (model.eval()) and in training mode (model.train()), and the training-mode pass updates the
// running statistics as PyTorch's does (momentum 0.1, unbiased variance; past the warm-up).
func TestBlocksMatchPyTorch(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "blocks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		Cases []blockFixture `json:"cases"`
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		t.Fatal(err)
	}
	if len(fixture.Cases) == 0 {
		t.Fatal("no cases in testdata/blocks.json")
	}
	backend := testbackends.Go(t)
	for _, tc := range fixture.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			store := model.NewStore()
			for path, v := range tc.Params {
				if _, err := store.CreateVariable("/block/"+path, v.tensor()); err != nil {
					t.Fatal(err)
				}
				if filepath.Base(path) == "mean" { // past the debiasing warm-up: PyTorch's momentum applies
					w := make([]float64, len(v.data))
					for i := range w {
						w[i] = 1000
					}
					if _, err := store.CreateVariable("/block/"+filepath.Dir(path)+"/avg_weight", tensors.FromFlatDataAndDimensions(w, len(w))); err != nil {
						t.Fatal(err)
					}
				}
			}
			block := func(training bool) *model.Exec {
				return model.MustNewExec(backend, store, func(s *model.Scope, x *Node) *Node {
					if training {
						s.SetTraining(x.Graph(), true)
					}
					if tc.Kind == "resnet" {
						return basicBlock(s.In("block"), x, tc.Width, tc.Stride)
					}
					return wideBlock(s.In("block"), x, tc.Width, tc.Stride)
				})
			}
			for _, run := range []struct {
				training bool
				want     operand
			}{{false, tc.EvalOut}, {true, tc.TrainOut}} {
				out, err := block(run.training).Call(tc.X.tensor())
				if err != nil {
					t.Fatal(err)
				}
				if got := out[0].Shape().Dimensions; !equalInts(got, run.want.dims) {
					t.Fatalf("training=%v: output %v, PyTorch %v", run.training, got, run.want.dims)
				}
				got := flat64(t, out[0])
				for i := range got {
					if !closeTo(got[i], run.want.data[i], 1e-9) {
						t.Fatalf("training=%v: element %d = %.12g, PyTorch %.12g", run.training, i, got[i], run.want.data[i])
					}
				}
			}
			if n := store.NumVariables(); n != len(tc.Params)+len(tc.RunningAfterTrain)/2 {
				t.Errorf("the block created %d variables, the fixture has %d parameters and %d BN layers", n, len(tc.Params), len(tc.RunningAfterTrain)/2)
			}
			for path, want := range tc.RunningAfterTrain {
				if got := varValues(t, store, "/block/"+path); !equalSlices(got, want.data, 1e-9) {
					t.Errorf("%s after the training pass: %v, PyTorch %v", path, got, want.data)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestInputGradientMatchesFiniteDifferences: the gradient an attack takes, of a loss of the logits with
// respect to the input, through a small network built from this package's layers (strided convolution,
// batch norm, a ResNet block, overlapping and adaptive pooling), matches central finite differences in
// float64, with the moving averages (BNInference) and with batch statistics (BNBatchStats, where the samples
// of the batch interact through the statistics).
func TestInputGradientMatchesFiniteDifferences(t *testing.T) {
	testbackends.ForEach(t, testInputGradientMatchesFiniteDifferences)
}

func testInputGradientMatchesFiniteDifferences(t *testing.T, backend compute.Backend) {
	net := mustNet(New("gradtoy", func(s *model.Scope, x *Node) *Node {
		x = Conv(s.In("conv"), x, 3, 3).Stride(2).NoBias().Done()
		x = activation.Relu(BatchNorm(s.In("bn"), x))
		x = basicBlock(s.In("block"), x, 4, 1)
		x = MaxPool2DStrided(x, 3, 2)
		x = AdaptiveAvgPool2D(x, 2, 2)
		return Flatten(x)
	}, []string{"main", "aux"}, []int{3, 2}))
	x := shiftedBatch(7, 2, 9, 9, []float64{0.5, 0.2}, []float64{0.3, 0.3})
	probe := randomOperand(rand.New(rand.NewPCG(8, 8)), 2, 3)
	for _, mode := range []BNMode{BNInference, BNBatchStats} {
		t.Run(mode.String(), func(t *testing.T) {
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(11))
			view := net.WithBN(mode)
			objective := func(s *model.Scope, x *Node) *Node {
				return ReduceAllSum(Mul(view.GrayBox(s, x), Const(x.Graph(), probe.tensor())))
			}
			value := model.MustNewExec(backend, store, objective)
			grad := model.MustNewExec(backend, store, func(s *model.Scope, x *Node) *Node {
				id := Identity(x)
				return Gradient(objective(s, id), id)[0]
			})
			out, err := grad.Call(x.tensor())
			if err != nil {
				t.Fatal(err)
			}
			g := flat64(t, out[0])
			const h = 1e-6
			for j := range x.data {
				f := func(delta float64) float64 {
					d := append([]float64(nil), x.data...)
					d[j] += delta
					v, err := value.Call(operand{dims: x.dims, data: d}.tensor())
					if err != nil {
						t.Fatal(err)
					}
					return flat64(t, v[0])[0]
				}
				want := (f(h) - f(-h)) / (2 * h)
				if math.Abs(g[j]-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("d/dx[%d]: gradient %.9g, finite difference %.9g", j, g[j], want)
				}
			}
			if w := varValues(t, store, "/backbone/bn/batch_normalization/avg_weight"); w[0] != 0 {
				t.Errorf("mode %s updated the moving averages", mode)
			}
		})
	}
}
