package training

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// MomentumSGD is stochastic gradient descent with heavy-ball momentum, L2 weight decay and a step-decay
// learning-rate schedule, with PyTorch's semantics (torch.optim.SGD + StepLR), the optimizer of 001 §IV-A
// (lr 0.1, x0.1 every 50 epochs):
//
//	g_t = grad + WeightDecay * w_t
//	v_t = Momentum * v_{t-1} + g_t            (v_0 = g_1)
//	w_{t+1} = w_t - lr_t * v_t,   lr_t = LearningRate * DecayFactor^floor(t / DecayEvery)
//
// where t is the global step before the update. GoMLX's own SGD has no momentum, hence this type.
// Its velocity variables live under "/optimizer/sgd_velocity" and are saved in checkpoints.
type MomentumSGD struct {
	LearningRate float64
	Momentum     float64
	WeightDecay  float64
	// DecayEvery steps the learning rate is multiplied by DecayFactor; 0 means a constant rate.
	DecayEvery  int
	DecayFactor float64
}

var _ optimizer.Interface = MomentumSGD{}

const velocityScope = "/optimizer/sgd_velocity"

// UpdateGraph implements optimizer.Interface.
func (o MomentumSGD) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Sprintf("training: MomentumSGD needs a scalar loss, got %s", loss.Shape()))
	}
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	step := optimizer.GetGlobalStepVar(scope).NodeValue(g) // value before this step's increment
	optimizer.IncrementGlobalStep(g, loss.DType())
	lr := Scalar(g, loss.DType(), o.LearningRate)
	if o.DecayEvery > 0 {
		epochs := Floor(DivScalar(ConvertDType(step, loss.DType()), float64(o.DecayEvery)))
		lr = Mul(lr, Exp(MulScalar(epochs, math.Log(o.DecayFactor))))
	}
	i := 0
	for v := range scope.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		grad := grads[i]
		i++
		w := v.NodeValue(g)
		if o.WeightDecay != 0 {
			grad = Add(grad, MulScalar(w, o.WeightDecay))
		}
		if o.Momentum != 0 {
			vel := scope.Store().VariableWithShape(velocityScope+v.Path(), v.Shape(), initializer.Zero).SetTrainable(false)
			// PyTorch starts the buffer at the first gradient: v_1 = g_1. With v_0 = 0 that is the same
			// recurrence except for the first step, where it gives Momentum*0 + g_1 = g_1 as well.
			newVel := Add(MulScalar(vel.NodeValue(g), o.Momentum), grad)
			vel.SetNodeValue(newVel)
			grad = newVel
		}
		v.SetNodeValue(Sub(w, Mul(grad, ConvertDType(lr, grad.DType()))))
	}
}

// Clear implements optimizer.Interface: it deletes the velocities.
func (o MomentumSGD) Clear(scope *model.Scope) error {
	return scope.Store().DeleteVariablesInScope(velocityScope)
}
