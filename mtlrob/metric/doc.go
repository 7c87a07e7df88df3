// Package metric holds the workbench's host-side metrics: pure functions of
// per-sample losses, predictions, accuracies and input gradients that a
// result record or a table is made of (docs/algorithms.md §10; the statistics: §11).
//
//   - Table: a titled grid of named rows and columns with float cells (NaN =
//     missing), rendered as Markdown or CSV and encoded as JSON; the shape of
//     001 Table 2 (main-task accuracy per model under each attack) and Table 3
//     (auxiliary-task accuracy). The experiment package renders its tables
//     with this type.
//   - Accuracy and TaskAccuracies: the cells of those tables.
//   - RelativeVulnerability and RelativeErrorVulnerability: the relative task
//     vulnerability v_i of 003 (§"Relative task vulnerability");
//     AdversarialVulnerability and MarginalVulnerability: 003 Def. 1 and
//     Def. 3, with JointLoss for the joint loss of an attacked task set.
//   - RelativeDrop, TaskARP and ARP: the average relative performance drop of
//     004 Eq. 10; Transferability: the attack transferability of Single-x
//     (004 §5).
//   - GradientCosine, GradientCovariance and MaoFactor: the alignment of
//     per-task input gradients behind 003 Thm. 2 (Mao et al. 2020);
//     InputGradients computes those gradients from a model (GoMLX).
//   - Pearson and Spearman with two-sided p-values: the proxy correlations of
//     003 RQ4 (Table 3).
//   - Task-selection proxies (003 RQ4) for the automatic task search:
//     ConfusionMatrix (the input of the data-driven task generators),
//     MainAuxCosine, the proxy names Proxies, and CorrelateProxy/ProxyTable
//     for 003 Table 3.
//
// Everything here except InputGradients is host-side Go without GoMLX: the
// inputs are plain slices, so any model, attack or record can feed them.
// Errors name what was expected, and length mismatches name both lengths.
package metric
