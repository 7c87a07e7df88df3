// Package task defines the tasks of a multi-task classifier: the main task
// T_0 of a dataset and its self-defined auxiliary tasks (001 §III-B).
//
// An auxiliary task m is a label map P_m: {0..K-1} -> {0..K_m-1} from the
// K main-task classes onto K_m coarser classes, 2 <= K_m < K, that hits
// every auxiliary class (surjective); its labels are y^m = P_m(y) (001
// Eq. 2), so no sample needs new annotation. A Map holds one such task with
// its class names; a Set holds the main task and its auxiliary maps in
// order, and that order (Set.Names: "main", then the auxiliary names) is the
// task order of every model head, loss, attack and metric in the workbench.
//
// Maps come from four sources:
//   - ForDataset: the tasks of 001 Table 1 for MNIST, SVHN, CIFAR10 and
//     GTSRB, transcribed from the authors' README (000), and two
//     Fashion-MNIST tasks of our own, each from a per-class table with the
//     dataset's official class names;
//   - TinyImageNetSet and MapByAncestor: hypernym questions ("is it an
//     artifact?") answered by the WordNet 3.0 noun database (Debian
//     wordnet-base), keyed by wnid;
//   - Random and RandomBalanced: seeded random maps, the "random selection"
//     of 001 §III-B;
//   - FromKeys, Parse and ReadJSON: maps written by the user, by class
//     identifier or as JSON.
//
// Every constructor validates its result; library functions return errors
// that name the map, the field and what was expected.
package task
