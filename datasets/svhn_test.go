package datasets

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

func TestReadSVHN(t *testing.T) {
	labels := []float64{10, 1, 5, 9, 10}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, compress := range []bool{false, true} {
			x, y := svhnVars(order, 32, 32, labels)
			dir := t.TempDir()
			// An extra variable of another class before X is skipped.
			other := matVar{name: "note", class: 4, dims: []int32{1, 2}, dtype: miUTF8, data: []byte("hi")}
			writeFile(t, dir, "train_32x32.mat", matBytes(order, compress, other, x, y))
			ds, err := ReadSVHN(dir, "train")
			if err != nil {
				t.Fatalf("%v compress=%v: %v", order, compress, err)
			}
			if ds.Shape() != [4]int{5, 32, 32, 3} || !slices.Equal(ds.Labels, []int32{0, 1, 5, 9, 0}) {
				t.Fatalf("%v compress=%v: shape %v labels %v", order, compress, ds.Shape(), ds.Labels)
			}
			for _, px := range []struct{ s, row, col, c int }{{0, 0, 0, 0}, {1, 0, 1, 0}, {2, 3, 0, 2}, {4, 31, 17, 1}} {
				want := float32(byte(px.s*31+px.row+2*px.col+50*px.c)) / 255
				if got := ds.Image(px.s)[(px.row*32+px.col)*3+px.c]; got != want {
					t.Errorf("%v compress=%v: pixel %+v = %v, want %v", order, compress, px, got, want)
				}
			}
			checkErr(t, ds.Validate(), "")
		}
	}
}

func TestReadSVHNStorageTypes(t *testing.T) {
	// MATLAB stores integer-valued doubles in the smallest type that holds
	// them: y as miUINT8 inside an mxDOUBLE array, X as miDOUBLE here.
	order := binary.LittleEndian
	x, _ := svhnVars(order, 2, 3, []float64{1, 2})
	xd := make([]byte, 8*len(x.data))
	for i, b := range x.data {
		order.PutUint64(xd[8*i:], math.Float64bits(float64(b)))
	}
	x.class, x.dtype, x.data = mxDOUBLE, miDOUBLE, xd
	y := matVar{name: "y", class: mxDOUBLE, dims: []int32{1, 2}, dtype: miUINT8, data: []byte{3, 10}}
	ds, err := readSVHN("t.mat", bytes.NewReader(matBytes(order, true, x, y)))
	checkErr(t, err, "")
	if ds.Shape() != [4]int{2, 2, 3, 3} || !slices.Equal(ds.Labels, []int32{3, 0}) {
		t.Errorf("shape %v labels %v", ds.Shape(), ds.Labels)
	}
	if got, want := ds.Image(1)[(1*3+2)*3+1], float32(byte(31+1+4+50))/255; got != want {
		t.Errorf("pixel = %v, want %v", got, want)
	}
}

func TestReadSVHNErrors(t *testing.T) {
	order := binary.LittleEndian
	x, y := svhnVars(order, 4, 4, []float64{1, 2, 3})
	good := matBytes(order, false, x, y)
	goodZ := matBytes(order, true, x, y)
	badY := y
	badY.data = slices.Clone(y.data)
	order.PutUint64(badY.data[8:], math.Float64bits(11))
	x2 := x
	x2.dims = []int32{4, 4, 2, 3}
	x2.data = x.data[:4*4*2*3]
	hdr73 := slices.Clone(good)
	copy(hdr73, "MATLAB 7.3 MAT-file")
	badEndian := slices.Clone(good)
	copy(badEndian[126:], "XX")
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"truncated", good[:len(good)-40], []string{"test_32x32.mat", "MAT-file: element 1", "element says"}},
		{"truncated compressed", goodZ[:len(goodZ)-10], []string{"test_32x32.mat", "compressed element", "unexpected EOF"}},
		{"short header", good[:100], []string{"test_32x32.mat", "reading the 128-byte header"}},
		{"v7.3", hdr73, []string{"test_32x32.mat", "MATLAB 7.3 (HDF5) files are not supported"}},
		{"endian", badEndian, []string{"test_32x32.mat", `endian indicator "XX"`}},
		{"label out of range", matBytes(order, true, x, badY), []string{"test_32x32.mat", "label 11 at index 1 is outside 1..10"}},
		{"no y", matBytes(order, false, x), []string{"test_32x32.mat", `no variable "y"`}},
		{"count mismatch", matBytes(order, false, x, matVar{name: "y", class: mxDOUBLE, dims: []int32{2, 1}, dtype: miDOUBLE, data: y.data[:16]}),
			[]string{"test_32x32.mat", "y has dimensions [2 1], want 3x1"}},
		{"two channels", matBytes(order, false, x2, y), []string{"test_32x32.mat", "X has dimensions [4 4 2 3], want HxWx3xN"}},
		{"data size", matBytes(order, false, matVar{name: "X", class: 9, dims: []int32{4, 4, 3, 4}, dtype: miUINT8, data: x.data}, y),
			[]string{"test_32x32.mat", "X: real part has 144 bytes, want 192 values of 1 bytes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "test_32x32.mat", tc.data)
			_, err := ReadSVHN(dir, "test")
			checkErr(t, err, tc.want...)
		})
	}
}
