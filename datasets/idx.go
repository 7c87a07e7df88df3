package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// IDX magic numbers: unsigned bytes, 3 dimensions (images) or 1 (labels).
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// ReadIDX reads an MNIST-style pair of IDX files: images (magic 0x00000803,
// N x rows x cols unsigned bytes) and labels (magic 0x00000801, N unsigned
// bytes in 0..9). Either file may be gzip-compressed; compression is
// detected from the gzip magic 0x1f8b, not the file name.
//
// The result has Channels 1, values v/255, ten classes named "0".."9" (Load
// renames them for Fashion-MNIST) and empty Name and Split. A truncated or
// inconsistent file is an error naming the file and what was expected.
func ReadIDX(imagesPath, labelsPath string) (*Dataset, error) {
	img, err := os.Open(imagesPath)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer img.Close()
	lbl, err := os.Open(labelsPath)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer lbl.Close()
	ds, err := readIDX(imagesPath, img, labelsPath, lbl)
	if err != nil {
		return nil, err
	}
	ds.Source = imagesPath + ", " + labelsPath
	return ds, nil
}

func readIDX(imgName string, img io.Reader, lblName string, lbl io.Reader) (*Dataset, error) {
	n, h, w, pix, err := readIDXImages(imgName, img)
	if err != nil {
		return nil, err
	}
	labels, err := readIDXLabels(lblName, lbl, 10)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("datasets: %s has %d labels but %s has %d images", lblName, len(labels), imgName, n)
	}
	images := make([]float32, len(pix))
	for i, b := range pix {
		images[i] = u8(b)
	}
	return &Dataset{
		Images: images, Labels: labels,
		N: n, Height: h, Width: w, Channels: 1,
		ClassNames: digitNames(),
	}, nil
}

func digitNames() []string {
	return []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
}

// maybeGunzip returns a reader of the decompressed contents when r starts
// with the gzip magic 0x1f8b, else a reader of r itself.
func maybeGunzip(name string, r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: %w", name, err)
		}
		return zr, nil
	}
	return br, nil
}

// readIDXHeader reads the magic and the dimensions that follow it.
func readIDXHeader(name string, r io.Reader, magic uint32, what string, ndims int) ([]uint32, error) {
	hdr := make([]uint32, 1+ndims)
	if err := binary.Read(r, binary.BigEndian, hdr); err != nil {
		return nil, fmt.Errorf("datasets: %s: reading the %d-byte IDX %s header: %w", name, 4*(1+ndims), what, err)
	}
	if hdr[0] != magic {
		return nil, fmt.Errorf("datasets: %s: magic 0x%08x, want 0x%08x (IDX %s)", name, hdr[0], magic, what)
	}
	return hdr[1:], nil
}

// readBody reads the rest of r, at most want+1 bytes kept in memory, and
// returns it with the total number of bytes r held.
func readBody(r io.Reader, want int64) ([]byte, int64, error) {
	body, err := io.ReadAll(io.LimitReader(r, want))
	if err != nil {
		return nil, 0, err
	}
	extra, err := io.Copy(io.Discard, r)
	return body, int64(len(body)) + extra, err
}

func readIDXImages(name string, r io.Reader) (n, h, w int, pix []byte, err error) {
	r, err = maybeGunzip(name, r)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	dims, err := readIDXHeader(name, r, idxImagesMagic, "images", 3)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	want, ok := mulSize(maxBytes, int64(dims[0]), int64(dims[1]), int64(dims[2]))
	if !ok {
		return 0, 0, 0, nil, fmt.Errorf("datasets: %s: header says %d images of %dx%d, more than %d bytes", name, dims[0], dims[1], dims[2], maxBytes)
	}
	if dims[1] == 0 || dims[2] == 0 {
		return 0, 0, 0, nil, fmt.Errorf("datasets: %s: header says images of %dx%d, want positive sizes", name, dims[1], dims[2])
	}
	pix, got, err := readBody(r, want)
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("datasets: %s: %w", name, err)
	}
	if got != want {
		return 0, 0, 0, nil, fmt.Errorf("datasets: %s: header says %d images of %dx%d (%d bytes) but file has %d bytes after the 16-byte header",
			name, dims[0], dims[1], dims[2], want, got)
	}
	return int(dims[0]), int(dims[1]), int(dims[2]), pix, nil
}

func readIDXLabels(name string, r io.Reader, numClasses int) ([]int32, error) {
	r, err := maybeGunzip(name, r)
	if err != nil {
		return nil, err
	}
	dims, err := readIDXHeader(name, r, idxLabelsMagic, "labels", 1)
	if err != nil {
		return nil, err
	}
	want := int64(dims[0])
	raw, got, err := readBody(r, want)
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", name, err)
	}
	if got != want {
		return nil, fmt.Errorf("datasets: %s: header says %d labels (%d bytes) but file has %d bytes after the 8-byte header", name, want, want, got)
	}
	labels := make([]int32, len(raw))
	for i, b := range raw {
		if int(b) >= numClasses {
			return nil, fmt.Errorf("datasets: %s: label %d at index %d is outside [0,%d)", name, b, i, numClasses)
		}
		labels[i] = int32(b)
	}
	return labels, nil
}
