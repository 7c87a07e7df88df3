package arch

import (
	"archive/zip"
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/internal/testbackends"
)

// What numpy 1.24's numpy.save writes for np.array([[1,2,3],[4,5,6]], np.float32),
// np.array([7,-8], np.int32), np.array(2.5) and np.array([True, False]): the header, byte for byte.
var numpyHeaders = []struct {
	a      NPYArray
	header string
}{
	{NPYArray{Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                          \n"},
	{NPYArray{Shape: []int{2}, Data: []int32{7, -8}},
		"{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }                                                            \n"},
	{NPYArray{Shape: nil, Data: []float64{2.5}},
		"{'descr': '<f8', 'fortran_order': False, 'shape': (), }                                                              \n"},
	{NPYArray{Shape: []int{2}, Data: []bool{true, false}},
		"{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }                                                            \n"},
}

func TestWriteNPYMatchesNumpy(t *testing.T) {
	for _, tc := range numpyHeaders {
		var b bytes.Buffer
		if err := WriteNPY(&b, tc.a); err != nil {
			t.Fatal(err)
		}
		got := b.Bytes()
		want := "\x93NUMPY\x01\x00v\x00" + tc.header
		if string(got[:len(want)]) != want {
			t.Errorf("%T %v: header\n%q\nwant\n%q", tc.a.Data, tc.a.Shape, got[:len(want)], want)
		}
		if (len(want))%64 != 0 {
			t.Errorf("header length %d is not a multiple of 64", len(want))
		}
		back, err := ReadNPY(bytes.NewReader(got))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Data, tc.a.Data) || len(back.Shape) != len(tc.a.Shape) {
			t.Errorf("round trip: %v %v, want %v %v", back.Shape, back.Data, tc.a.Shape, tc.a.Data)
		}
	}
}

func TestWriteNPZErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		arrays []NPYArray
		want   string
	}{
		{[]NPYArray{{Name: "a", Shape: []int{3}, Data: []float32{1, 2}}}, "holds 3 values, data has 2"},
		{[]NPYArray{{Name: "a", Shape: []int{1}, Data: []string{"x"}}}, "unsupported data type"},
		{[]NPYArray{{Name: "../a", Shape: []int{1}, Data: []float32{1}}}, "invalid array name"},
		{[]NPYArray{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}}, "appears twice"},
	} {
		path := filepath.Join(dir, "x.npz")
		err := WriteNPZ(path, tc.arrays)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("WriteNPZ(%v): error %v, want one containing %q", tc.arrays, err, tc.want)
		}
		if _, statErr := zip.OpenReader(path); statErr == nil {
			t.Errorf("a failed WriteNPZ left %s behind", path)
		}
	}
}

// TestExportNPZLeNet exports the weights of a freshly initialised multi-head LeNet and reads them
// back: every network variable (not the store's random-number state), under its path, with its
// shape and values.
func TestExportNPZLeNet(t *testing.T) {
	backend := testbackends.Go(t)
	net, err := LeNet([]string{"main", "category"}, []int{10, 3})
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	x := tensors.FromFlatDataAndDimensions(make([]float32, 28*28), 1, 28, 28, 1)
	if _, err := model.MustNewExec(backend, store, func(s *model.Scope, x *Node) []*Node { return net.Logits(s, x) }).Call(x); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w", "lenet.npz")
	if err := ExportNPZ(store, path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]NPYArray{}
	for _, a := range got {
		byName[a.Name] = a
	}
	want := map[string][]int{
		"backbone/conv1/weights": {5, 5, 1, 32}, "backbone/conv1/biases": {32},
		"backbone/conv2/weights": {5, 5, 32, 64}, "backbone/conv2/biases": {64},
		"backbone/fc1/weights": {7 * 7 * 64, 1024}, "backbone/fc1/biases": {1024},
		"head_main/weights": {1024, 10}, "head_main/biases": {10},
		"head_category/weights": {1024, 3}, "head_category/biases": {3},
	}
	if len(got) != len(want) {
		t.Errorf("exported %d arrays, want the %d network variables only", len(got), len(want))
	}
	for name, shape := range want {
		a, ok := byName[name]
		if !ok {
			t.Errorf("%s missing from the export (have %d arrays)", name, len(got))
			continue
		}
		if !reflect.DeepEqual(a.Shape, shape) {
			t.Errorf("%s: shape %v, want %v", name, a.Shape, shape)
		}
		v := store.GetVariable("/" + name)
		if v == nil {
			t.Fatalf("no variable /%s in the store", name)
		}
		if wantData := tensors.MustCopyFlatData[float32](v.MustValue()); !reflect.DeepEqual(a.Data, wantData) {
			t.Errorf("%s: exported values differ from the store's", name)
		}
	}
	if err := ExportNPZ(model.NewStore(), filepath.Join(t.TempDir(), "empty.npz")); err == nil {
		t.Error("ExportNPZ of an empty store: no error")
	}
}
