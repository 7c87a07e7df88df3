package training

import (
	"fmt"
	"iter"
	"math/rand/v2"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/mtlrob/mtlrob/datasets"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// stream is the endless, seeded stream of training batches a train.Loop consumes.
//
// Batch number s (the optimizer's global step) is a pure function of (seed, s): epoch s/B with the
// permutation of that epoch, batch s%B within it, B batches per epoch. Iter starts at the store's
// current global step, so a resumed run sees exactly the batches an uninterrupted run would have.
type stream struct {
	ds    *datasets.Dataset
	tasks task.Set
	batch int
	seed  int64
	store *model.Store
	// augment is applied to every training batch with a generator seeded by (seed, step), so a resumed
	// run augments exactly as an uninterrupted one.
	augment datasets.Augmenter
}

func (st *stream) Name() string { return st.ds.Name + "/" + st.ds.Split }

// Iter yields Batch{Inputs: [images [batch,H,W,C] float32, labels per task], Labels: one int32 [batch]
// tensor per task}.
func (st *stream) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		b := datasets.NewBatcher(st.ds, st.batch, true, st.seed, true)
		perEpoch := b.BatchesPerEpoch()
		if perEpoch == 0 {
			yield(train.Batch{}, fmt.Errorf("training: %s has %d examples, fewer than one batch of %d", st.Name(), st.ds.N, st.batch))
			return
		}
		step := int(optimizer.GetGlobalStep(st.store))
		b.SetEpoch(step / perEpoch)
		for range step % perEpoch {
			b.Next()
		}
		for {
			images, labels, n, ok := b.Next()
			if !ok {
				b.Reset()
				continue
			}
			if st.augment.Enabled() {
				rng := rand.New(rand.NewPCG(uint64(st.seed), uint64(step)))
				if err := st.augment.Apply(images, n, st.ds.Height, st.ds.Width, st.ds.Channels, rng); err != nil {
					yield(train.Batch{}, fmt.Errorf("training: augmenting %s: %w", st.Name(), err))
					return
				}
			}
			step++
			batch, err := makeBatch(st.ds, st.tasks, images, labels, n)
			if !yield(batch, err) || err != nil {
				return
			}
		}
	}
}

// makeBatch converts one host batch into fresh tensors (a train step consumes its inputs): Inputs are the
// images followed by the per-task labels (adversarial steps attack inside the model function and need
// them), Labels the per-task labels again (for the loss).
func makeBatch(ds *datasets.Dataset, tasks task.Set, images []float32, labels []int32, n int) (train.Batch, error) {
	perTask, err := tasks.Labels(labels)
	if err != nil {
		return train.Batch{}, fmt.Errorf("training: %s: %w", ds.Name, err)
	}
	b := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(images, n, ds.Height, ds.Width, ds.Channels)}}
	for _, l := range perTask {
		b.Inputs = append(b.Inputs, tensors.FromFlatDataAndDimensions(l, n))
	}
	for _, l := range perTask {
		b.Labels = append(b.Labels, tensors.FromFlatDataAndDimensions(append([]int32(nil), l...), n))
	}
	return b, nil
}
