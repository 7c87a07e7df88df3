package datasets

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ReadSVHN reads the SVHN cropped digits (format 2) from dir:
// train_32x32.mat or test_32x32.mat for split "train" or "test". In each
// Level 5 MAT-file, X is a 32x32x3xN uint8 array (MATLAB column-major:
// X(row, col, channel, sample)) and y is Nx1 with labels 1..10, where 10
// means the digit 0; labels are mapped to 0..9 and images to NHWC in [0,1],
// in file order. The extra_32x32.mat set is not read.
func ReadSVHN(dir, split string) (*Dataset, error) {
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("datasets: svhn: unknown split %q, want \"train\" or \"test\"", split)
	}
	path := filepath.Join(dir, split+"_32x32.mat")
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	ds, err := readSVHN(path, bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, err
	}
	ds.Split, ds.Source = split, path
	return ds, nil
}

// readSVHN decodes the X and y variables of an SVHN MAT-file.
func readSVHN(name string, r io.Reader) (*Dataset, error) {
	vars, err := readMAT(name, r)
	if err != nil {
		return nil, err
	}
	get := func(v string) (*matArray, error) {
		a := vars[v]
		switch {
		case a == nil:
			return nil, fmt.Errorf("datasets: %s: no variable %q, want SVHN's X and y", name, v)
		case !a.numeric():
			return nil, fmt.Errorf("datasets: %s: variable %q has class %d, want a numeric array", name, v, a.class)
		case a.complex:
			return nil, fmt.Errorf("datasets: %s: variable %q is complex, want real", name, v)
		}
		return a, nil
	}
	x, err := get("X")
	if err != nil {
		return nil, err
	}
	y, err := get("y")
	if err != nil {
		return nil, err
	}
	dims := x.dims
	if len(dims) == 3 { // MATLAB drops a trailing singleton: one sample
		dims = append(dims, 1)
	}
	if len(dims) != 4 || dims[2] != 3 || dims[0] == 0 || dims[1] == 0 {
		return nil, fmt.Errorf("datasets: %s: X has dimensions %v, want HxWx3xN (32x32x3xN)", name, x.dims)
	}
	h, w, n := dims[0], dims[1], dims[3]
	if y.count() != n || (len(y.dims) == 2 && y.dims[0] != n && y.dims[1] != n) || len(y.dims) > 2 {
		return nil, fmt.Errorf("datasets: %s: y has dimensions %v, want %dx1 (one label per image of X)", name, y.dims, n)
	}
	labels := make([]int32, n)
	for i := range labels {
		v := y.at(i)
		if v != float64(int(v)) || v < 1 || v > 10 {
			return nil, fmt.Errorf("datasets: %s: label %v at index %d is outside 1..10", name, v, i)
		}
		labels[i] = int32(v) % 10
	}
	images := make([]float32, n*h*w*3)
	for s := range n {
		for c := range 3 {
			for col := range w {
				for row := range h {
					src := row + h*(col+w*(c+3*s)) // column-major
					var v float32
					if x.dtype == miUINT8 {
						v = u8(x.data[src])
					} else {
						f := x.at(src)
						if !(f >= 0 && f <= 255) {
							return nil, fmt.Errorf("datasets: %s: X value %v at sample %d is outside 0..255", name, f, s)
						}
						v = float32(f / 255)
					}
					images[((s*h+row)*w+col)*3+c] = v
				}
			}
		}
	}
	return &Dataset{
		Name: "svhn", Images: images, Labels: labels,
		N: n, Height: h, Width: w, Channels: 3,
		ClassNames: digitNames(),
	}, nil
}
