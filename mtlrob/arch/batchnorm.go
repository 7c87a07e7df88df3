package arch

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/norm"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train"
)

// BNMode selects the statistics batch normalisation uses in the graph being built.
//
// A Net carries a mode (field Net.BN, zero value BNAuto) and applies it to every BatchNorm its
// backbone builds; Net.WithBN returns a view of the same network (same variables) with another mode.
type BNMode int

const (
	// BNAuto follows the graph, as PyTorch's model.train()/model.eval() pair does: in a graph marked as
	// training (scope.IsTraining(g), which train.Trainer sets on its train-step graph) BatchNorm
	// normalises with the batch statistics and updates the moving averages; in any other graph
	// (model.Exec, evaluation) it normalises with the moving averages and changes nothing.
	// Graphs built by train.Trainer.BatchNormalizationAveragesUpdate (norm.UpdateBatchNormAverages)
	// recompute the averages from data, as for GoMLX's own batch normalisation.
	BNAuto BNMode = iota
	// BNInference always normalises with the moving averages and never updates them, even in a
	// training graph (PyTorch's model.eval()). Use it for an attack run inside a training step when
	// the attacker should see the deployed (inference) model.
	BNInference
	// BNBatchStats always normalises with the statistics of the current batch and never updates the
	// moving averages (PyTorch's model.train() with the running statistics restored afterwards). Use it
	// for an attack run inside a training step when it should see the model as it is being trained,
	// without its k forward passes polluting the moving averages.
	BNBatchStats
)

// String returns "auto", "inference" or "batch-stats".
func (m BNMode) String() string {
	switch m {
	case BNAuto:
		return "auto"
	case BNInference:
		return "inference"
	case BNBatchStats:
		return "batch-stats"
	}
	return fmt.Sprintf("BNMode(%d)", int(m))
}

// Batch normalisation constants: PyTorch's defaults (BatchNorm2d(eps=1e-5, momentum=0.1)).
const (
	// BNEpsilon is added to the variance before the square root.
	BNEpsilon = 1e-5
	// BNMomentum is PyTorch's momentum: each update moves the moving averages this fraction of the way
	// to the batch statistics (after the warm-up described at BatchNorm).
	BNMomentum = 0.1
)

// bnModeParam is the graph parameter (at the root scope) through which Net passes its BNMode to BatchNorm.
const bnModeParam = "arch_bn_mode"

// BatchNorm is batch normalisation over every axis but the last (BatchNorm2d on NHWC input,
// BatchNorm1d on [batch, features]), with a learned per-feature scale (gamma, initialised to 1) and
// offset (beta, initialised to 0), as in Ioffe & Szegedy (2015) and PyTorch.
//
// Which statistics it uses depends on the BNMode of the graph (see BNMode; the default BNAuto follows
// scope.IsTraining(g)):
//   - batch statistics: y = (x - mean_B) / sqrt(var_B + 1e-5) * gamma + beta, with the biased batch
//     variance; the gradient flows through mean_B and var_B (the exact batch-norm gradient, as in
//     PyTorch, unlike GoMLX's own layer, which stops it there);
//   - moving averages: y = (x - mean) / sqrt(variance + 1e-5) * gamma + beta, a per-feature affine map.
//
// Updating (BNAuto in a training graph) moves the moving averages towards the batch mean and the
// unbiased batch variance (PyTorch's convention) with momentum 0.1, debiased as GoMLX does: the k-th
// update uses weight max(0.1, 1/k) for the batch, so the first update copies the batch statistics
// instead of averaging them with the initial 0 and 1. Each call of a model in a training graph is one
// update: a model called k+1 times in one train step (an attack with k steps, then the training
// forward pass) updates k+1 times unless the attack's calls use BNInference or BNBatchStats.
//
// Variables (under s.In("batch_normalization"), GoMLX's layout, so norm.UpdateBatchNormAverages works):
// "scale" and "offset" (trainable), "mean", "variance" and "avg_weight" (the update count; not trainable).
// A batch of one value per feature in batch-statistics mode panics, as PyTorch refuses it.
func BatchNorm(s *model.Scope, x *Node) *Node {
	g := x.Graph()
	if x.Rank() < 2 {
		panic(fmt.Sprintf("arch.BatchNorm: input must have a batch and a feature axis, got shape %s", x.Shape()))
	}
	// Tell norm.UpdateBatchNormAverages that the store has averages to recompute.
	s.Store().Scope(model.RootScopePath).SetParam(norm.AveragesUpdatesTriggerParam, true)
	s = s.In(norm.BatchNormalizationScopeName)
	features := x.Shape().Dimensions[x.Rank()-1]
	shape := shapes.Make(x.DType(), features)
	scale := s.WithInitializer(initializer.One).VariableWithShape("scale", shape).SetTrainable(true)
	offset := s.WithInitializer(initializer.Zero).VariableWithShape("offset", shape).SetTrainable(true)
	meanVar := s.WithInitializer(initializer.Zero).VariableWithShape("mean", shape).SetTrainable(false)
	varianceVar := s.WithInitializer(initializer.One).VariableWithShape("variance", shape).SetTrainable(false)
	weightVar := s.WithInitializer(initializer.Zero).VariableWithShape("avg_weight", shape).SetTrainable(false)
	gamma, beta := scale.NodeValue(g), offset.NodeValue(g)

	mode := model.GetGraphParamOr(s, g, bnModeParam, BNAuto)
	updatePhase := model.GetGraphParamOr(s, g, train.BatchNormalizationUpdatePhase, -1)
	var useBatch, update bool
	switch mode {
	case BNInference:
	case BNBatchStats:
		useBatch = true
	default:
		update = updatePhase >= 0 || s.IsTraining(g)
		useBatch = update
	}
	if !useBatch {
		return BatchNormWith(x, gamma, beta, meanVar.NodeValue(g), varianceVar.NodeValue(g))
	}
	n := x.Shape().Size() / features
	if n < 2 {
		panic(fmt.Sprintf("arch.BatchNorm (%s): batch statistics need more than one value per feature, got input %s",
			s.Scope(), x.Shape()))
	}
	mean, variance := BatchMoments(x)
	if update {
		unbiased := MulScalar(StopGradient(variance), float64(n)/float64(n-1))
		weight := OnePlus(weightVar.NodeValue(g))
		weightVar.SetNodeValue(weight)
		keep := Min(Scalar(g, x.DType(), 1-BNMomentum), OneMinus(Reciprocal(weight)))
		movingMean := Add(Mul(keep, meanVar.NodeValue(g)), Mul(OneMinus(keep), StopGradient(mean)))
		movingVariance := Add(Mul(keep, varianceVar.NodeValue(g)), Mul(OneMinus(keep), unbiased))
		meanVar.SetNodeValue(movingMean)
		varianceVar.SetNodeValue(movingVariance)
		if updatePhase > 0 {
			// Second pass of norm.UpdateBatchNormAverages: normalise with the updated averages, as GoMLX does.
			return BatchNormWith(x, gamma, beta, movingMean, movingVariance)
		}
	}
	return BatchNormWith(x, gamma, beta, mean, variance)
}

// BatchMoments returns the per-feature mean and biased variance of x over every axis but the last,
// both of shape [features]. The gradient flows through both.
func BatchMoments(x *Node) (mean, variance *Node) {
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	mean = ReduceMean(x, axes...)
	centred := Sub(x, ExpandLeftToRank(mean, x.Rank()))
	variance = ReduceMean(Square(centred), axes...)
	return mean, variance
}

// BatchNormWith normalises x (features on the last axis) with the given per-feature mean and variance
// and applies the affine map: (x - mean) / sqrt(variance + BNEpsilon) * gamma + beta. All four
// parameters have shape [features].
func BatchNormWith(x, gamma, beta, mean, variance *Node) *Node {
	r := x.Rank()
	inv := Div(gamma, Sqrt(AddScalar(variance, BNEpsilon))) // [features]; Rsqrt has no gradient in GoMLX
	return Add(Mul(Sub(x, ExpandLeftToRank(mean, r)), ExpandLeftToRank(inv, r)), ExpandLeftToRank(beta, r))
}
