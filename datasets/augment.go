package datasets

import (
	"fmt"
	"math/rand/v2"
)

// Augmenter is a seeded, host-side training augmentation of NHWC batches:
// a random crop with zero padding, then a random horizontal flip. The zero
// value does nothing.
type Augmenter struct {
	// Pad is the zero padding of the random crop, in pixels: the image is
	// padded by Pad on every side and cropped back to its size at a uniform
	// random offset, i.e. shifted by (dy, dx) in [-Pad, Pad]^2 with zeros
	// filling the uncovered border. 0 means no crop.
	Pad int
	// Flip mirrors each image left-right with probability 1/2.
	Flip bool
}

// DefaultAugmenter returns the standard training augmentation of a
// registered dataset: crop with Pad 4 and flip for cifar10 and
// tinyimagenet; nothing for svhn, mnist and fashion-mnist (digits and
// centred items), and nothing for gtsrb, which must never be flipped
// (traffic signs are not left-right symmetric: "keep left" would become
// "keep right"). Unknown names get the zero Augmenter.
func DefaultAugmenter(name string) Augmenter {
	switch name {
	case "cifar10", "tinyimagenet":
		return Augmenter{Pad: 4, Flip: true}
	}
	return Augmenter{}
}

// Enabled reports whether a does anything.
func (a Augmenter) Enabled() bool { return a.Pad > 0 || a.Flip }

// Apply augments n images (NHWC, n*height*width*channels values) in place,
// drawing from rng: first RandomCrop, then HorizontalFlip.
func (a Augmenter) Apply(images []float32, n, height, width, channels int, rng *rand.Rand) error {
	if a.Pad > 0 {
		if err := RandomCrop(images, n, height, width, channels, a.Pad, rng); err != nil {
			return err
		}
	}
	if a.Flip {
		return HorizontalFlip(images, n, height, width, channels, rng)
	}
	return nil
}

func checkBatch(op string, images []float32, n, height, width, channels int) error {
	if n < 0 || height <= 0 || width <= 0 || channels <= 0 || len(images) != n*height*width*channels {
		return fmt.Errorf("datasets: %s: %d values for a batch of %dx%dx%dx%d", op, len(images), n, height, width, channels)
	}
	return nil
}

// RandomCrop pads each of the n images (NHWC, in place) with pad zeros on
// every side and crops it back to height x width at an offset drawn
// uniformly from rng: two draws per image (rows, then columns).
func RandomCrop(images []float32, n, height, width, channels, pad int, rng *rand.Rand) error {
	if err := checkBatch("RandomCrop", images, n, height, width, channels); err != nil {
		return err
	}
	if pad < 0 {
		return fmt.Errorf("datasets: RandomCrop: negative pad %d", pad)
	}
	size := height * width * channels
	row := width * channels
	tmp := make([]float32, size)
	for i := range n {
		dy := rng.IntN(2*pad+1) - pad
		dx := rng.IntN(2*pad+1) - pad
		img := images[i*size : (i+1)*size]
		copy(tmp, img)
		clear(img)
		// Output column x reads input column x+dx, for x in [x0, x1).
		x0, x1 := max(0, -dx), min(width, width-dx)
		if x0 >= x1 {
			continue
		}
		for y := max(0, -dy); y < min(height, height-dy); y++ {
			copy(img[y*row+x0*channels:y*row+x1*channels], tmp[(y+dy)*row+(x0+dx)*channels:])
		}
	}
	return nil
}

// HorizontalFlip mirrors each of the n images (NHWC, in place) left-right
// with probability 1/2: one draw per image.
func HorizontalFlip(images []float32, n, height, width, channels int, rng *rand.Rand) error {
	if err := checkBatch("HorizontalFlip", images, n, height, width, channels); err != nil {
		return err
	}
	size := height * width * channels
	for i := range n {
		if rng.IntN(2) == 0 {
			continue
		}
		img := images[i*size : (i+1)*size]
		for y := range height {
			r := img[y*width*channels : (y+1)*width*channels]
			for a, b := 0, width-1; a < b; a, b = a+1, b-1 {
				for c := range channels {
					r[a*channels+c], r[b*channels+c] = r[b*channels+c], r[a*channels+c]
				}
			}
		}
	}
	return nil
}
