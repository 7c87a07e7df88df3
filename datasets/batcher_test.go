package datasets

import (
	"slices"
	"testing"
)

// epochOrder drains one epoch and returns the sample ids in order and the
// batch sizes.
func epochOrder(t *testing.T, b *Batcher) (ids, sizes []int) {
	t.Helper()
	n := b.Dataset.N
	for {
		imgs, labels, k, ok := b.Next()
		if !ok {
			return ids, sizes
		}
		if len(imgs) != k*b.Dataset.ImageSize() || len(labels) != k {
			t.Fatalf("batch of %d has %d values and %d labels", k, len(imgs), len(labels))
		}
		for j := range k {
			id := sampleID(imgs[j*4:(j+1)*4], n)
			if labels[j] != b.Dataset.Labels[id] {
				t.Fatalf("sample %d: label %d, want %d", id, labels[j], b.Dataset.Labels[id])
			}
			ids = append(ids, id)
		}
		sizes = append(sizes, k)
	}
}

func TestBatcher(t *testing.T) {
	ds := toy(23, 3)
	tests := []struct {
		name      string
		shuffle   bool
		dropLast  bool
		wantSizes []int
	}{
		{"ordered", false, false, []int{5, 5, 5, 5, 3}},
		{"shuffled", true, false, []int{5, 5, 5, 5, 3}},
		{"shuffled drop last", true, true, []int{5, 5, 5, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBatcher(ds, 5, tc.shuffle, 42, tc.dropLast)
			if got := b.BatchesPerEpoch(); got != len(tc.wantSizes) {
				t.Errorf("BatchesPerEpoch = %d, want %d", got, len(tc.wantSizes))
			}
			var epochs [][]int
			for e := range 3 {
				if b.Epoch() != e {
					t.Fatalf("Epoch = %d, want %d", b.Epoch(), e)
				}
				ids, sizes := epochOrder(t, b)
				if !slices.Equal(sizes, tc.wantSizes) {
					t.Errorf("epoch %d batch sizes %v, want %v", e, sizes, tc.wantSizes)
				}
				if _, _, _, ok := b.Next(); ok {
					t.Error("Next after the end of an epoch returned a batch")
				}
				// Every sample exactly once (at most once with dropLast).
				sorted := slices.Sorted(slices.Values(ids))
				if len(slices.Compact(slices.Clone(sorted))) != len(ids) {
					t.Errorf("epoch %d repeats samples: %v", e, ids)
				}
				if !tc.dropLast && len(ids) != ds.N {
					t.Errorf("epoch %d has %d samples, want %d", e, len(ids), ds.N)
				}
				if !tc.shuffle && !slices.IsSorted(ids) {
					t.Errorf("unshuffled epoch out of order: %v", ids)
				}
				epochs = append(epochs, ids)
				b.Reset()
			}
			if tc.shuffle && slices.Equal(epochs[0], epochs[1]) {
				t.Error("epochs 0 and 1 have the same order")
			}
			// Determinism: a fresh batcher with the same seed repeats epoch 1.
			c := NewBatcher(ds, 5, tc.shuffle, 42, tc.dropLast)
			c.SetEpoch(1)
			if ids, _ := epochOrder(t, c); !slices.Equal(ids, epochs[1]) {
				t.Errorf("same seed and epoch, different order: %v vs %v", ids, epochs[1])
			}
		})
	}
	a, _ := epochOrder(t, NewBatcher(ds, 5, true, 1, false))
	b, _ := epochOrder(t, NewBatcher(ds, 5, true, 2, false))
	if slices.Equal(a, b) {
		t.Error("seeds 1 and 2 give the same order")
	}
}

func TestBatcherOwnsBatches(t *testing.T) {
	ds := toy(4, 2)
	b := NewBatcher(ds, 2, false, 0, false)
	imgs, _, _, _ := b.Next()
	imgs[0] = 0
	if ds.Images[0] == 0 {
		t.Error("a batch aliases the dataset")
	}
}
