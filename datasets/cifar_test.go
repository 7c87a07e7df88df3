package datasets

import (
	"fmt"
	"slices"
	"testing"
)

func writeCIFAR(t *testing.T, dir string, perFile int) {
	for i := 1; i <= 5; i++ {
		writeFile(t, dir, fmt.Sprintf("data_batch_%d.bin", i), cifarBytes(perFile))
	}
	writeFile(t, dir, "test_batch.bin", cifarBytes(3))
}

func TestReadCIFAR10(t *testing.T) {
	dir := t.TempDir()
	writeCIFAR(t, dir, 4)
	writeFile(t, dir, "batches.meta.txt", []byte("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"))
	train, err := ReadCIFAR10(dir, "train")
	checkErr(t, err, "")
	if train.Shape() != [4]int{20, 32, 32, 3} || train.ClassNames[9] != "truck" {
		t.Fatalf("shape %v classes %v", train.Shape(), train.ClassNames)
	}
	if want := []int32{0, 1, 2, 3, 0, 1, 2, 3}; !slices.Equal(train.Labels[:8], want) {
		t.Errorf("labels %v, want %v", train.Labels[:8], want)
	}
	// CHW planes become NHWC: pixel p = row*32+col, channel c.
	img := train.Image(2)
	for _, px := range []struct{ row, col, c int }{{0, 0, 0}, {0, 1, 2}, {5, 7, 1}, {31, 31, 2}} {
		p := px.row*32 + px.col
		want := float32(byte(2+3*p+100*px.c)) / 255
		if got := img[(px.row*32+px.col)*3+px.c]; got != want {
			t.Errorf("pixel %+v = %v, want %v", px, got, want)
		}
	}
	test, err := ReadCIFAR10(dir, "test")
	checkErr(t, err, "")
	if test.N != 3 {
		t.Errorf("test N = %d", test.N)
	}
	checkErr(t, test.Validate(), "")
}

func TestReadCIFAR10Errors(t *testing.T) {
	badLabel := cifarBytes(2)
	badLabel[cifarRecord] = 10
	tests := []struct {
		name string
		file string
		data []byte
		want []string
	}{
		{"truncated", "data_batch_3.bin", cifarBytes(2)[:5000],
			[]string{"data_batch_3.bin", "file has 5000 bytes, want a positive multiple of the 3073-byte record"}},
		{"empty", "test_batch.bin", nil, []string{"test_batch.bin", "file has 0 bytes"}},
		{"label out of range", "data_batch_1.bin", badLabel,
			[]string{"data_batch_1.bin", "label 10 in record 1 is outside [0,10)"}},
		{"meta with 9 names", "batches.meta.txt", []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\n"),
			[]string{"batches.meta.txt", "9 class names, want 10"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeCIFAR(t, dir, 2)
			writeFile(t, dir, tc.file, tc.data)
			split := "train"
			if tc.file == "test_batch.bin" {
				split = "test"
			}
			_, err := ReadCIFAR10(dir, split)
			checkErr(t, err, tc.want...)
		})
	}
	dir := t.TempDir()
	writeFile(t, dir, "test_batch.bin", cifarBytes(1))
	_, err := ReadCIFAR10(dir, "train")
	checkErr(t, err, "data_batch_1.bin", "no such file")
}
