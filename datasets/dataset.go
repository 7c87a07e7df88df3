package datasets

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Dataset is an in-memory image classification set.
type Dataset struct {
	Name                       string    // registry name, e.g. "fashion-mnist"
	Split                      string    // "train" or "test"
	Images                     []float32 // N*Height*Width*Channels values, NHWC row-major, each in [0,1]
	Labels                     []int32   // N labels in [0, len(ClassNames))
	N, Height, Width, Channels int
	ClassNames                 []string // human-readable class names, index = label
	ClassIDs                   []string // optional stable identifiers (e.g. Tiny ImageNet wnids); nil when the names are the ids
	Source                     string   // where it came from (file or directory paths)
}

// Shape returns {N, Height, Width, Channels}, the NHWC shape of Images.
func (ds *Dataset) Shape() [4]int { return [4]int{ds.N, ds.Height, ds.Width, ds.Channels} }

// ImageSize is Height*Width*Channels, the number of values per image.
func (ds *Dataset) ImageSize() int { return ds.Height * ds.Width * ds.Channels }

// NumClasses is len(ClassNames).
func (ds *Dataset) NumClasses() int { return len(ds.ClassNames) }

// Image returns image i as a Height*Width*Channels HWC slice that aliases
// ds.Images (no copy). It panics if i is out of range, like a slice index.
func (ds *Dataset) Image(i int) []float32 {
	if i < 0 || i >= ds.N {
		panic(fmt.Sprintf("datasets: image index %d out of range [0,%d)", i, ds.N))
	}
	s := ds.ImageSize()
	return ds.Images[i*s : (i+1)*s : (i+1)*s]
}

// Validate checks the invariants of the type: positive image dimensions,
// N >= 0, len(Images) == N*Height*Width*Channels, len(Labels) == N, every
// value in [0,1] (NaN rejected), every label in [0, len(ClassNames)), and
// len(ClassIDs) == len(ClassNames) when ClassIDs is not nil.
func (ds *Dataset) Validate() error {
	if ds == nil {
		return fmt.Errorf("datasets: nil dataset")
	}
	if ds.Height <= 0 || ds.Width <= 0 || ds.Channels <= 0 || ds.N < 0 {
		return fmt.Errorf("datasets: %s: invalid shape %v", ds.label(), ds.Shape())
	}
	if want := ds.N * ds.ImageSize(); len(ds.Images) != want {
		return fmt.Errorf("datasets: %s: len(Images) = %d, want N*H*W*C = %d", ds.label(), len(ds.Images), want)
	}
	if len(ds.Labels) != ds.N {
		return fmt.Errorf("datasets: %s: len(Labels) = %d, want N = %d", ds.label(), len(ds.Labels), ds.N)
	}
	if len(ds.ClassNames) == 0 {
		return fmt.Errorf("datasets: %s: no class names", ds.label())
	}
	if ds.ClassIDs != nil && len(ds.ClassIDs) != len(ds.ClassNames) {
		return fmt.Errorf("datasets: %s: %d class ids for %d class names", ds.label(), len(ds.ClassIDs), len(ds.ClassNames))
	}
	for i, v := range ds.Images {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("datasets: %s: value %v at image %d, offset %d is outside [0,1]", ds.label(), v, i/ds.ImageSize(), i%ds.ImageSize())
		}
	}
	for i, l := range ds.Labels {
		if l < 0 || int(l) >= len(ds.ClassNames) {
			return fmt.Errorf("datasets: %s: label %d at index %d is outside [0,%d)", ds.label(), l, i, len(ds.ClassNames))
		}
	}
	return nil
}

// label names the dataset in error messages.
func (ds *Dataset) label() string {
	switch {
	case ds.Name != "" && ds.Split != "":
		return ds.Name + "/" + ds.Split
	case ds.Name != "":
		return ds.Name
	case ds.Source != "":
		return ds.Source
	}
	return "dataset"
}

// ClassCounts returns the number of samples of each class.
func (ds *Dataset) ClassCounts() []int {
	counts := make([]int, len(ds.ClassNames))
	for _, l := range ds.Labels {
		if l >= 0 && int(l) < len(counts) {
			counts[l]++
		}
	}
	return counts
}

// Subset returns a new dataset holding copies of the samples at indices, in
// that order (repeats allowed). Metadata is shared with ds. An index outside
// [0,N) is an error.
func (ds *Dataset) Subset(indices []int) (*Dataset, error) {
	for _, i := range indices {
		if i < 0 || i >= ds.N {
			return nil, fmt.Errorf("datasets: %s: subset index %d out of range [0,%d)", ds.label(), i, ds.N)
		}
	}
	s := ds.ImageSize()
	out := *ds
	out.N = len(indices)
	out.Images = make([]float32, len(indices)*s)
	out.Labels = make([]int32, len(indices))
	for j, i := range indices {
		copy(out.Images[j*s:(j+1)*s], ds.Images[i*s:(i+1)*s])
		out.Labels[j] = ds.Labels[i]
	}
	return &out, nil
}

// Head returns a copy of the first n samples. n > N is an error, not a
// silent truncation.
func (ds *Dataset) Head(n int) (*Dataset, error) {
	if n < 0 || n > ds.N {
		return nil, fmt.Errorf("datasets: %s: head %d of %d samples", ds.label(), n, ds.N)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return ds.Subset(idx)
}

// Stratified returns a class-balanced copy with nPerClass samples of every
// class, drawn without replacement. The draw depends only on seed (see
// NewRand) and the dataset; the result keeps the original sample order. A
// class with fewer than nPerClass samples is an error.
func (ds *Dataset) Stratified(nPerClass int, seed int64) (*Dataset, error) {
	if nPerClass < 0 {
		return nil, fmt.Errorf("datasets: %s: negative samples per class %d", ds.label(), nPerClass)
	}
	byClass := make([][]int, len(ds.ClassNames))
	for i, l := range ds.Labels {
		if l < 0 || int(l) >= len(byClass) {
			return nil, fmt.Errorf("datasets: %s: label %d at index %d is outside [0,%d)", ds.label(), l, i, len(byClass))
		}
		byClass[l] = append(byClass[l], i)
	}
	rng := NewRand(seed)
	var idx []int
	for c, members := range byClass {
		if len(members) < nPerClass {
			return nil, fmt.Errorf("datasets: %s: class %d (%s) has %d samples, want %d per class",
				ds.label(), c, ds.ClassNames[c], len(members), nPerClass)
		}
		rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		idx = append(idx, members[:nPerClass]...)
	}
	slices.Sort(idx)
	return ds.Subset(idx)
}

// NewRand returns the package's seeded generator: math/rand/v2 PCG with
// state (seed, 0). Every seeded function in this package draws from it.
func NewRand(seed int64) *rand.Rand { return newRand(seed, 0) }

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// u8 converts an 8-bit intensity to [0,1].
func u8(b byte) float32 { return float32(b) / 255 }

// mulSize multiplies non-negative sizes, reporting false when the product
// exceeds limit (which guards against overflow and absurd headers).
func mulSize(limit int64, factors ...int64) (int64, bool) {
	p := int64(1)
	for _, f := range factors {
		if f < 0 {
			return 0, false
		}
		if f == 0 {
			p = 0
			continue
		}
		if p > limit/f {
			return 0, false
		}
		p *= f
	}
	return p, p <= limit
}

// maxBytes bounds any single decoded array (16 GiB).
const maxBytes = int64(16) << 30
