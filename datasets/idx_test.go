package datasets

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadIDX(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		img, lbl := idxImages(3, 2, 4), idxLabels(7, 0, 9)
		if gz {
			img, lbl = gzipBytes(img), gzipBytes(lbl)
		}
		// Compression is detected from the content, not the name.
		ds, err := ReadIDX(writeFile(t, dir, "img", img), writeFile(t, dir, "lbl", lbl))
		if err != nil {
			t.Fatalf("gzip=%v: %v", gz, err)
		}
		if ds.Shape() != [4]int{3, 2, 4, 1} || !slices.Equal(ds.Labels, []int32{7, 0, 9}) || ds.NumClasses() != 10 {
			t.Errorf("gzip=%v: shape %v labels %v", gz, ds.Shape(), ds.Labels)
		}
		if got, want := ds.Image(2)[5], float32(2*7+5)/255; got != want {
			t.Errorf("gzip=%v: pixel = %v, want %v", gz, got, want)
		}
		if err := ds.Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxImages(3, 2, 2)
	goodLabels := idxLabels(1, 2, 3)
	truncGz := gzipBytes(idxImages(3, 2, 2))
	tests := []struct {
		name     string
		img, lbl []byte
		want     []string
	}{
		{"truncated images", good[:len(good)-2], goodLabels,
			[]string{"train-images-idx3-ubyte", "header says 3 images of 2x2 (12 bytes) but file has 10 bytes after the 16-byte header"}},
		{"trailing bytes", append(slices.Clone(good), 1, 2), goodLabels,
			[]string{"train-images-idx3-ubyte", "(12 bytes) but file has 14 bytes"}},
		{"huge header", idxBytes(idxImagesMagic, []uint32{60000, 28, 28}, make([]byte, 1000)), goodLabels,
			[]string{"header says 60000 images of 28x28 (47040000 bytes) but file has 1000 bytes"}},
		{"absurd header", idxBytes(idxImagesMagic, []uint32{1 << 31, 1 << 31, 1 << 31}, nil), goodLabels,
			[]string{"train-images-idx3-ubyte", "more than"}},
		{"short header", good[:10], goodLabels,
			[]string{"train-images-idx3-ubyte", "reading the 16-byte IDX images header"}},
		{"images magic", idxBytes(0x00000801, []uint32{3, 2, 2}, make([]byte, 12)), goodLabels,
			[]string{"train-images-idx3-ubyte", "magic 0x00000801, want 0x00000803 (IDX images)"}},
		{"labels magic", good, idxBytes(0x00000803, []uint32{3}, []byte{1, 2, 3}),
			[]string{"train-labels-idx1-ubyte", "magic 0x00000803, want 0x00000801 (IDX labels)"}},
		{"label out of range", good, idxLabels(1, 10, 3),
			[]string{"train-labels-idx1-ubyte", "label 10 at index 1 is outside [0,10)"}},
		{"truncated labels", good, goodLabels[:len(goodLabels)-1],
			[]string{"train-labels-idx1-ubyte", "header says 3 labels (3 bytes) but file has 2 bytes"}},
		{"count mismatch", good, idxLabels(1, 2),
			[]string{"train-labels-idx1-ubyte has 2 labels but", "train-images-idx3-ubyte has 3 images"}},
		{"truncated gzip", truncGz[:len(truncGz)-6], goodLabels,
			[]string{"train-images-idx3-ubyte", "unexpected EOF"}},
		{"zero width", idxBytes(idxImagesMagic, []uint32{0, 2, 0}, nil), idxLabels(),
			[]string{"train-images-idx3-ubyte", "images of 2x0, want positive sizes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := ReadIDX(writeFile(t, dir, "train-images-idx3-ubyte", tc.img), writeFile(t, dir, "train-labels-idx1-ubyte", tc.lbl))
			checkErr(t, err, tc.want...)
		})
	}
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		_, err := ReadIDX(filepath.Join(dir, "train-images-idx3-ubyte.gz"), writeFile(t, dir, "l", goodLabels))
		checkErr(t, err, "train-images-idx3-ubyte.gz", "no such file")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v does not wrap fs.ErrNotExist", err)
		}
	})
}

// TestFashionMNIST loads the real Fashion-MNIST of the Debian package
// dataset-fashion-mnist when it is installed.
func TestFashionMNIST(t *testing.T) {
	const dir = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST is not installed in %s (run `make data` or apt-get install dataset-fashion-mnist): %v", dir, err)
	}
	if testing.Short() {
		t.Skip("loads 70,000 images; skipped with -short")
	}
	for _, tc := range []struct {
		split    string
		n, count int
	}{{"train", 60000, 6000}, {"test", 10000, 1000}} {
		ds, err := Load("fashion-mnist", tc.split, WithDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		if ds.Shape() != [4]int{tc.n, 28, 28, 1} {
			t.Errorf("%s: shape %v, want [%d 28 28 1]", tc.split, ds.Shape(), tc.n)
		}
		if ds.Name != "fashion-mnist" || ds.Split != tc.split || ds.ClassNames[9] != "Ankle boot" {
			t.Errorf("%s: metadata %q %q %v", tc.split, ds.Name, ds.Split, ds.ClassNames)
		}
		for c, k := range ds.ClassCounts() {
			if k != tc.count {
				t.Errorf("%s: class %d has %d samples, want %d", tc.split, c, k, tc.count)
			}
		}
		lo, hi := slices.Min(ds.Images), slices.Max(ds.Images)
		if lo != 0 || hi != 1 {
			t.Errorf("%s: values in [%v,%v], want [0,1] with both ends reached", tc.split, lo, hi)
		}
	}
}
