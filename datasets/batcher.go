package datasets

import "fmt"

// Batcher iterates over a dataset in mini-batches, one epoch at a time.
//
// With Shuffle the order of epoch e is a permutation that depends only on
// (Seed, e): the same seed gives the same batches on every run, and every
// sample appears exactly once per epoch. Without Shuffle the order is 0..N-1.
// When N is not a multiple of BatchSize the last batch is short, or dropped
// with DropLast.
//
// Set the fields before the first Next, or call SetEpoch after changing
// them. A Batcher is not safe for concurrent use.
type Batcher struct {
	Dataset   *Dataset
	BatchSize int
	Shuffle   bool
	Seed      int64
	DropLast  bool

	epoch int
	order []int // sample order of the current epoch
	pos   int   // next position in order
}

// NewBatcher returns a Batcher positioned at the start of epoch 0. It panics
// if ds is nil or batchSize < 1 (programming errors).
func NewBatcher(ds *Dataset, batchSize int, shuffle bool, seed int64, dropLast bool) *Batcher {
	if ds == nil {
		panic("datasets: NewBatcher: nil dataset")
	}
	if batchSize < 1 {
		panic(fmt.Sprintf("datasets: NewBatcher: batch size %d < 1", batchSize))
	}
	b := &Batcher{Dataset: ds, BatchSize: batchSize, Shuffle: shuffle, Seed: seed, DropLast: dropLast}
	b.SetEpoch(0)
	return b
}

// Next returns the next batch of the current epoch: n images (n*H*W*C
// values, NHWC) and their n labels, in freshly allocated slices the caller
// owns. ok is false once the epoch is exhausted; call Reset to start the
// next one.
func (b *Batcher) Next() (images []float32, labels []int32, n int, ok bool) {
	rest := len(b.order) - b.pos
	n = min(b.BatchSize, rest)
	if n == 0 || (b.DropLast && n < b.BatchSize) {
		return nil, nil, 0, false
	}
	ds := b.Dataset
	s := ds.ImageSize()
	images = make([]float32, n*s)
	labels = make([]int32, n)
	for j, i := range b.order[b.pos : b.pos+n] {
		copy(images[j*s:(j+1)*s], ds.Images[i*s:(i+1)*s])
		labels[j] = ds.Labels[i]
	}
	b.pos += n
	return images, labels, n, true
}

// Reset starts the next epoch (reshuffled from Seed and the new epoch number
// when Shuffle is set).
func (b *Batcher) Reset() { b.SetEpoch(b.epoch + 1) }

// SetEpoch positions the batcher at the start of epoch e, e.g. to resume a
// run from a checkpoint.
func (b *Batcher) SetEpoch(e int) {
	b.epoch = e
	b.pos = 0
	n := b.Dataset.N
	if len(b.order) != n {
		b.order = make([]int, n)
	}
	for i := range b.order {
		b.order[i] = i
	}
	if b.Shuffle {
		rng := newRand(b.Seed, uint64(e)+1) // stream 0 is NewRand's
		rng.Shuffle(n, func(i, j int) { b.order[i], b.order[j] = b.order[j], b.order[i] })
	}
}

// Epoch returns the current epoch number, starting at 0.
func (b *Batcher) Epoch() int { return b.epoch }

// BatchesPerEpoch returns how many batches Next yields per epoch.
func (b *Batcher) BatchesPerEpoch() int {
	n := b.Dataset.N
	if b.DropLast {
		return n / b.BatchSize
	}
	return (n + b.BatchSize - 1) / b.BatchSize
}
