package datasets

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CIFAR10ClassNames are the CIFAR-10 classes in label order, as in
// batches.meta.txt.
var CIFAR10ClassNames = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

const (
	cifarSide   = 32
	cifarPixels = cifarSide * cifarSide
	cifarRecord = 1 + 3*cifarPixels // label byte + R, G, B planes
)

// ReadCIFAR10 reads the CIFAR-10 binary version (cifar-10-batches-bin) from
// dir: data_batch_1.bin..data_batch_5.bin for "train", test_batch.bin for
// "test". Each record is one label byte (0..9) and 3072 bytes of 32x32
// planar R, G, B rows; the result is NHWC with Channels 3, in file order.
// Files may hold fewer than the official 10,000 records but must be a whole
// number of records. Class names come from batches.meta.txt when present
// (it must then list exactly 10), else CIFAR10ClassNames.
func ReadCIFAR10(dir, split string) (*Dataset, error) {
	var files []string
	switch split {
	case "train":
		for i := 1; i <= 5; i++ {
			files = append(files, filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i)))
		}
	case "test":
		files = []string{filepath.Join(dir, "test_batch.bin")}
	default:
		return nil, fmt.Errorf("datasets: cifar10: unknown split %q, want \"train\" or \"test\"", split)
	}
	names, err := readCIFARMeta(filepath.Join(dir, "batches.meta.txt"))
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Name: "cifar10", Split: split, Height: cifarSide, Width: cifarSide, Channels: 3, ClassNames: names, Source: dir}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		images, labels, err := parseCIFAR(f, data)
		if err != nil {
			return nil, err
		}
		ds.Images = append(ds.Images, images...)
		ds.Labels = append(ds.Labels, labels...)
	}
	ds.N = len(ds.Labels)
	return ds, nil
}

// parseCIFAR decodes whole CIFAR-10 records into NHWC values and labels.
func parseCIFAR(name string, data []byte) ([]float32, []int32, error) {
	if len(data) == 0 || len(data)%cifarRecord != 0 {
		return nil, nil, fmt.Errorf("datasets: %s: file has %d bytes, want a positive multiple of the %d-byte record (1 label byte + 32x32x3 pixels)",
			name, len(data), cifarRecord)
	}
	n := len(data) / cifarRecord
	images := make([]float32, n*3*cifarPixels)
	labels := make([]int32, n)
	for i := range n {
		rec := data[i*cifarRecord : (i+1)*cifarRecord]
		if rec[0] >= 10 {
			return nil, nil, fmt.Errorf("datasets: %s: label %d in record %d is outside [0,10)", name, rec[0], i)
		}
		labels[i] = int32(rec[0])
		out := images[i*3*cifarPixels : (i+1)*3*cifarPixels]
		for c := range 3 {
			plane := rec[1+c*cifarPixels : 1+(c+1)*cifarPixels]
			for p, b := range plane {
				out[3*p+c] = u8(b)
			}
		}
	}
	return images, labels, nil
}

// readCIFARMeta reads the class names, one a line; blank lines are ignored.
func readCIFARMeta(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return slices.Clone(CIFAR10ClassNames), nil
	}
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			names = append(names, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	if len(names) != 10 {
		return nil, fmt.Errorf("datasets: %s: %d class names, want 10", path, len(names))
	}
	return names, nil
}
