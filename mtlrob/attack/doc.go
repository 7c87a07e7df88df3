// Package attack is the workbench's attack suite against multi-task image classifiers
// (docs/algorithms.md §4-6): base attacks, multi-task gradient directions and threat models.
//
// # Pieces
//
//   - Base attacks: FGSM, PGD (L∞; random start, restarts keeping the per-sample strongest), PGDL2,
//     MIM and APGD (CE or DLR loss) are configurations of one iterative engine with four swappable
//     parts: Init (zero, uniform in the ball, APGD's start), Direction, Step (sign, L2-normalised,
//     momentum, APGD's checkpointed step size) and Project (onto the ball, then [0,1]). CW is the
//     Carlini-Wagner L2 attack (tanh space, Adam, binary search over c; unbounded). Every attack is
//     untargeted or targeted (Target; NextClass is 001's rule target = (y+1) mod K).
//   - Directions (Direction): how the per-task input gradients, computed once per step from
//     per-sample losses, become one direction: Single(task), Total, SignTotal, WeightedTotal(w),
//     WGD (paper and released-code variants) and DGBA. Any base attack takes any direction, so
//     DGBA-PGD, DGBA-FGSM and DGBA-APGD are PGD{Direction: DGBA{}}, FGSM{...} and APGD{...}. MP
//     (Mixed Perturbations) combines the results of a base attack run against each head.
//   - Threat models (Victim): WhiteBox over any subset of heads, and GrayBox (backbone and main
//     head only: the auxiliary heads are not in the attack's graph at all).
//   - Per-dataset settings (ThreatModel, ThreatFor): the L∞ budget, the evaluation PGD and CW of
//     001 §IV-C for every dataset of the registry, in one table.
//
// # Two entry points
//
// Perturb builds an attack into a graph, e.g. inside an adversarial-training step:
//
//	xAdv := attack.PGD{Eps: 0.3, Alpha: 0.01, Steps: 40}.Perturb(scope, attack.GrayBox(net), x, labels)
//
// NewRunner compiles an attack once per (store, victim, attack) and runs it on host batches:
//
//	runner, err := attack.NewRunner(backend, store, attack.WhiteBox(net), attack.APGD{Eps: 8.0 / 255, Direction: attack.DGBA{}})
//	if err != nil { ... }
//	runner.Seed = 1
//	xAdv, err := runner.Run(x, labels) // x: [batch, H, W, C] in [0,1]; labels: one int32 [batch] tensor per task
//
// A Runner is bound to the store's weights at its first call (see Runner for the GoMLX issue
// behind this): build a new one, or call Reset, after training further.
//
// # Conformance
//
// Subpackage attacktest is the suite every attack and direction passes: results in the ball and in
// [0,1], shapes and dtypes kept, input unchanged, batch invariance, accuracy never raised, more
// steps never weaker.
package attack
