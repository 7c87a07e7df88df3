package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// jpegBytes encodes a constant 64x64 image: RGB, or Gray when gray is set.
func jpegBytes(t testing.TB, c color.RGBA, gray bool) []byte {
	t.Helper()
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, 64, 64))
		for i := range g.Pix {
			g.Pix[i] = c.R
		}
		img = g
	} else {
		m := image.NewRGBA(image.Rect(0, 0, 64, 64))
		for y := range 64 {
			for x := range 64 {
				m.SetRGBA(x, y, c)
			}
		}
		img = m
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tinyColor is the colour of training image k of class c (sorted index).
func tinyColor(c, k int) color.RGBA {
	return color.RGBA{R: uint8(40 + 60*c), G: uint8(200 - 50*k), B: uint8(90 + 20*c + 10*k), A: 255}
}

// tinyFixture writes a Tiny ImageNet tree with three classes listed out of
// order in wnids.txt; class 1 (n02...) has one training image, a grayscale
// one, the others two.
func tinyFixture(t testing.TB) string {
	dir := t.TempDir()
	wnids := []string{"n01000000", "n02000000", "n03000000"} // sorted
	writeFile(t, dir, "wnids.txt", []byte("n03000000\nn01000000\nn02000000\n"))
	writeFile(t, dir, "words.txt", []byte("n00001740\tentity\nn01000000\tgoldfish, Carassius auratus\n"+
		"n02000000\tgray thing\nn03000000\tlemon\nn04000000\tunused, other\n"))
	for c, w := range wnids {
		n := 2
		if c == 1 {
			n = 1
		}
		for k := range n {
			writeFile(t, dir, fmt.Sprintf("train/%s/images/%s_%d.JPEG", w, w, k), jpegBytes(t, tinyColor(c, k), c == 1))
		}
		writeFile(t, dir, fmt.Sprintf("train/%s/%s_boxes.txt", w, w), []byte(fmt.Sprintf("%s_0.JPEG\t0\t0\t63\t63\n", w)))
	}
	var ann strings.Builder
	for k, c := range []int{2, 0, 1, 2} {
		name := fmt.Sprintf("val_%d.JPEG", k)
		writeFile(t, dir, "val/images/"+name, jpegBytes(t, tinyColor(c, 0), c == 1))
		fmt.Fprintf(&ann, "%s\t%s\t0\t0\t63\t63\n", name, wnids[c])
	}
	writeFile(t, dir, "val/val_annotations.txt", []byte(ann.String()))
	return dir
}

// checkConstant checks that every pixel of img is c within tol (JPEG is lossy).
func checkConstant(t *testing.T, what string, img []float32, c color.RGBA, tol float64) {
	t.Helper()
	want := []float64{float64(c.R) / 255, float64(c.G) / 255, float64(c.B) / 255}
	for i, v := range img {
		if math.Abs(float64(v)-want[i%3]) > tol {
			t.Fatalf("%s: value %v at %d, want %v", what, v, i, want[i%3])
		}
	}
}

func TestReadTinyImageNet(t *testing.T) {
	dir := tinyFixture(t)
	train, err := ReadTinyImageNet(dir, "train", 64, 64)
	checkErr(t, err, "")
	if train.Shape() != [4]int{5, 64, 64, 3} {
		t.Fatalf("shape %v", train.Shape())
	}
	if want := []string{"n01000000", "n02000000", "n03000000"}; !slices.Equal(train.ClassIDs, want) {
		t.Errorf("ClassIDs = %v, want %v", train.ClassIDs, want)
	}
	if want := []string{"goldfish", "gray thing", "lemon"}; !slices.Equal(train.ClassNames, want) {
		t.Errorf("ClassNames = %v, want %v", train.ClassNames, want)
	}
	// Round-robin: (0,k0) (1,k0) (2,k0) (0,k1) (2,k1).
	if want := []int32{0, 1, 2, 0, 2}; !slices.Equal(train.Labels, want) {
		t.Errorf("labels %v, want %v", train.Labels, want)
	}
	checkConstant(t, "train 0", train.Image(0), tinyColor(0, 0), 3.0/255)
	checkConstant(t, "train 4", train.Image(4), tinyColor(2, 1), 3.0/255)
	g := tinyColor(1, 0)
	checkConstant(t, "grayscale", train.Image(1), color.RGBA{g.R, g.R, g.R, 255}, 1.0/255)
	checkErr(t, train.Validate(), "")

	test, err := ReadTinyImageNet(dir, "test", 32, 32)
	checkErr(t, err, "")
	if test.Shape() != [4]int{4, 32, 32, 3} || !slices.Equal(test.Labels, []int32{2, 0, 1, 2}) {
		t.Fatalf("test shape %v labels %v", test.Shape(), test.Labels)
	}
	checkConstant(t, "resized", test.Image(0), tinyColor(2, 0), 3.0/255)

	ds, err := Load("tinyimagenet", "test", WithDir(dir))
	checkErr(t, err, "")
	if ds.Shape() != [4]int{4, 64, 64, 3} {
		t.Errorf("Load default size: %v", ds.Shape())
	}
}

func TestReadTinyImageNetErrors(t *testing.T) {
	tests := []struct {
		name   string
		split  string
		mutate func(t *testing.T, dir string)
		want   []string
	}{
		{"unknown val wnid", "test", func(t *testing.T, dir string) {
			writeFile(t, dir, "val/val_annotations.txt", []byte("val_0.JPEG\tn09999999\t0\t0\t1\t1\n"))
		}, []string{"val_annotations.txt", `line 1: wnid "n09999999" is not in wnids.txt`}},
		{"short annotation", "test", func(t *testing.T, dir string) {
			writeFile(t, dir, "val/val_annotations.txt", []byte("val_0.JPEG\n"))
		}, []string{"val_annotations.txt", "line 1 has 1 tab-separated fields"}},
		{"no words", "train", func(t *testing.T, dir string) {
			writeFile(t, dir, "words.txt", []byte("n01000000\tgoldfish\n"))
		}, []string{"words.txt", "no words for wnid n0"}},
		{"duplicate wnid", "train", func(t *testing.T, dir string) {
			writeFile(t, dir, "wnids.txt", []byte("n01000000\nn01000000\n"))
		}, []string{"wnids.txt", "wnid n01000000 is listed twice"}},
		{"no images", "train", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "train/n02000000/images"))
			os.MkdirAll(filepath.Join(dir, "train/n02000000/images"), 0o755)
		}, []string{"n02000000/images", "no JPEG images for class n02000000"}},
		{"corrupt jpeg", "train", func(t *testing.T, dir string) {
			writeFile(t, dir, "train/n03000000/images/n03000000_1.JPEG", []byte("not a jpeg"))
		}, []string{"n03000000_1.JPEG", "invalid JPEG format"}},
		{"missing val image", "test", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "val/images/val_3.JPEG"))
		}, []string{"val_3.JPEG", "no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tinyFixture(t)
			tc.mutate(t, dir)
			_, err := ReadTinyImageNet(dir, tc.split, 64, 64)
			checkErr(t, err, tc.want...)
		})
	}
}

// TestReadTinyImageNetRefusesAHugeJPEGHeader: a few hundred bytes whose JPEG header claims 65000x65000
// pixels are refused by size, naming the file, instead of allocating gigabytes first.
func TestReadTinyImageNetRefusesAHugeJPEGHeader(t *testing.T) {
	dir := tinyFixture(t)
	path := writeFile(t, dir, "val/images/val_0.JPEG", hugeJPEG(t))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadTinyImageNet(dir, "test", 64, 64)
	runtime.ReadMemStats(&after)
	want := "datasets: " + path + ": JPEG of 65000x65000 pixels, more than the 16777216 this reader decodes"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Fatalf("allocated %d MB reading a 376-byte JPEG", got>>20)
	}
}
