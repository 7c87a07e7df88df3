// Package arch holds the model zoo of the workbench: multi-task image classifiers with hard parameter
// sharing (001 §III-C, Fig. 2), i.e. one shared backbone and one linear head per task, plus the
// gray-box view (the backbone and the main head only, 001 Eq. 4).
//
// A Net is a description, not weights: its Logits, Heads and GrayBox methods build the graph on a
// model.Scope whose store holds the weights (backbone under "backbone", task t's head under
// "head_<task>"). The zoo (ByName, or the constructors), with parameter counts for one 10-class head
// unless noted:
//
//	name      constructor  what (where 001 uses it)                   input      parameters
//	lenet     LeNetFor     Madry's MNIST network (MNIST)              28x28x1     3,274,634
//	smallcnn  SmallCNN     conv16-conv32-fc128, CPU-scale runs        28x28x1       206,922
//	alexnet   AlexNet      torchvision layout (GTSRB, 43 classes)     112x112x3  57,180,011
//	resnet18  ResNet18     CIFAR ResNet-18 with BN (SVHN, Tiny        32x32x3    11,173,962
//	                       ImageNet at 32x32, CIFAR10)
//	wrn-D-K   WideResNet   WRN-D-K, pre-activation, BN (CIFAR10)      32x32x3    36,479,194 (WRN-28-10)
//
// Net.String prints the count, e.g. "resnet18 32x32x3 11,173,962 params, heads main:10"; Net.ParamCount
// computes it by building the graph on a throwaway store (no execution).
//
// # Batch normalisation
//
// ResNet-18 and WideResNet use BatchNorm. Which statistics it uses is decided when the graph is built,
// by the Net's BNMode (Net.BN, set with Net.WithBN):
//   - BNAuto (default) follows scope.IsTraining(g): train.Trainer's train-step graph normalises with
//     batch statistics and updates the moving averages, once per call of the model; every other graph
//     (model.Exec, evaluation, a stand-alone attack) uses the moving averages and changes nothing.
//   - BNInference always uses the moving averages; BNBatchStats always uses the batch statistics; neither
//     updates anything.
//
// An attack run inside a training step (adversarial training) builds its k model calls on
// net.WithBN(BNInference) (the attacker sees the deployed model, as PyTorch code that calls model.eval()
// before generating the adversarial batch, e.g. TRADES) or net.WithBN(BNBatchStats) (the model as it
// is being trained, as PyTorch code that attacks in model.train() sees it, without its extra updates),
// and the training forward pass on net itself, so the moving averages are updated once per step. With BNAuto for the attack's calls too, every call
// would be one more update, as in PyTorch. Batch statistics couple the samples of a batch (the gradient
// for one sample depends on the others); the moving averages do not.
//
// # Formulation
//
// Convolutions run as im2col + MatMul on the pure-Go backend (the native convolution is 2-18x slower
// there) and as the backend's convolution elsewhere; pooling is written with strided slices and
// element-wise maxima, and constant averaging matrices. Every op and its gradient is checked against
// finite differences in float64 (opcheck_test.go), max pooling's gradient at ties against PyTorch's
// rule written out by hand (maxpool_test.go), and the ResNet and WideResNet blocks against PyTorch's
// reference modules (testdata/gen_blocks.py).
package arch
