package training

import (
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/attack"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// AdversarialStep trains on adversarial examples: inside the compiled training step the model function
// runs atk against victim (the view of the network the attacker has), stops the gradient of its
// result, and returns the logits of every head on the adversarial batch; the loss is the weighted
// multi-task loss over all heads (001 Eq. 3).
//
//   - Gray-box PGD adversarial training of 001 Eq. 6-7: atk = attack.PGD{...} (main-task loss), victim =
//     attack.GrayBox(net): the examples come from the main-task loss only, the model is trained on all
//     tasks on those examples.
//   - Mixed-perturbation training (000, the authors' code): atk = attack.MP{...} and weights 1/M for M
//     tasks (the mean of the task losses, no clean term); see MPStep.
//   - FAT with a direction (004): atk = an early-stopped PGD with Direction Single, Total or DGBA.
//
// Batch norm: the attack runs on the network in inference mode (moving averages, no update), as PyTorch
// code attacks after model.eval(); the training forward pass then uses batch statistics and updates the
// moving averages once per step.
//
// Run it with Train. The batches a training step receives carry the per-task labels twice: as inputs
// 1..T (for the attack inside the model function; GoMLX's trainer passes labels to the loss only) and
// as labels (for the loss).
func AdversarialStep(name string, net *arch.Net, atk attack.Attack, victim attack.Victim, weights []float64) Step {
	victim.Net = victim.Net.WithBN(arch.BNInference)
	return Step{
		Name: name,
		ModelFn: func(s *model.Scope, _ any, inputs []*Node) []*Node {
			labels := inputs[1:]
			xAdv := StopGradient(atk.Perturb(s, victim, inputs[0], labels))
			return net.Logits(s, xAdv)
		},
		LossFn: func(labels, logits []*Node) *Node { return MultiTaskLoss(weights, labels, logits) },
	}
}

// MPStep is mixed-perturbation adversarial training (000, the authors' code): the training examples are
// x_MP from atk (an attack.MP), and the loss is the mean of the task losses, with no clean term.
func MPStep(net *arch.Net, atk attack.Attack) Step {
	w := make([]float64, len(net.Tasks))
	for i := range w {
		w[i] = 1 / float64(len(w))
	}
	return AdversarialStep("mp-at", net, atk, attack.WhiteBox(net), w)
}

// AdversarialScores are the per-task scores of a model on adversarial examples of a dataset.
type AdversarialScores struct {
	Attack string `json:"attack"`
	Victim string `json:"victim"`
	Scores
}

// EvaluateAdversarial attacks every example of ds with atk against victim (a fresh attack.Runner with
// the given seed, so it reads the store's current weights) and scores the network on the result.
func EvaluateAdversarial(backend compute.Backend, store *model.Store, net *arch.Net, tasks task.Set, ds *datasets.Dataset,
	atk attack.Attack, victim attack.Victim, batch int, seed int64) (AdversarialScores, error) {
	out := AdversarialScores{Attack: atk.Name(), Victim: victim.String()}
	runner, err := attack.NewRunner(backend, store, victim, atk)
	if err != nil {
		return out, err
	}
	runner.Seed = seed
	adv := &datasets.Dataset{Name: ds.Name, Split: ds.Split + "-adversarial", N: ds.N, Height: ds.Height, Width: ds.Width,
		Channels: ds.Channels, ClassNames: ds.ClassNames, ClassIDs: ds.ClassIDs, Labels: ds.Labels,
		Images: make([]float32, 0, len(ds.Images)), Source: ds.Source}
	b := datasets.NewBatcher(ds, batch, false, 0, false)
	for {
		images, labels, n, ok := b.Next()
		if !ok {
			break
		}
		hb, err := makeBatch(ds, tasks, images, labels, n)
		if err != nil {
			return out, err
		}
		x := hb.Inputs[0]
		xAdv, err := runner.Run(x, hb.Inputs[1:])
		if err != nil {
			return out, err
		}
		adv.Images = append(adv.Images, tensors.MustCopyFlatData[float32](xAdv)...)
		xAdv.FinalizeAll()
		hb.Finalize()
	}
	e, err := NewEvaluator(backend, store, net, tasks, batch)
	if err != nil {
		return out, err
	}
	out.Scores, err = e.Evaluate(adv)
	return out, err
}
