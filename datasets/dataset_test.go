package datasets

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// toy returns n 2x2x1 images whose values are all (i+1)/(n+1), with label
// i % classes.
func toy(n, classes int) *Dataset {
	ds := &Dataset{Name: "toy", Split: "train", N: n, Height: 2, Width: 2, Channels: 1}
	for i := range n {
		v := float32(i+1) / float32(n+1)
		ds.Images = append(ds.Images, v, v, v, v)
		ds.Labels = append(ds.Labels, int32(i%classes))
	}
	for c := range classes {
		ds.ClassNames = append(ds.ClassNames, string(rune('a'+c)))
	}
	return ds
}

// sampleID recovers i from an image of toy(n, _).
func sampleID(img []float32, n int) int {
	return int(math.Round(float64(img[0])*float64(n+1))) - 1
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Dataset)
		wantErr string
	}{
		{"valid", func(*Dataset) {}, ""},
		{"empty", func(d *Dataset) { d.N, d.Images, d.Labels = 0, nil, nil }, ""},
		{"zero height", func(d *Dataset) { d.Height = 0 }, "invalid shape"},
		{"short images", func(d *Dataset) { d.Images = d.Images[:5] }, "len(Images) = 5, want N*H*W*C = 24"},
		{"short labels", func(d *Dataset) { d.Labels = d.Labels[:5] }, "len(Labels) = 5, want N = 6"},
		{"value above 1", func(d *Dataset) { d.Images[9] = 1.5 }, "value 1.5 at image 2, offset 1 is outside [0,1]"},
		{"negative value", func(d *Dataset) { d.Images[0] = -0.1 }, "outside [0,1]"},
		{"NaN", func(d *Dataset) { d.Images[3] = float32(math.NaN()) }, "value NaN at image 0"},
		{"label too large", func(d *Dataset) { d.Labels[4] = 3 }, "label 3 at index 4 is outside [0,3)"},
		{"negative label", func(d *Dataset) { d.Labels[1] = -1 }, "label -1 at index 1"},
		{"no classes", func(d *Dataset) { d.ClassNames = nil }, "no class names"},
		{"ids mismatch", func(d *Dataset) { d.ClassIDs = []string{"x"} }, "1 class ids for 3 class names"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := toy(6, 3)
			tc.mutate(ds)
			err := ds.Validate()
			checkErr(t, err, tc.wantErr)
		})
	}
}

// checkErr fails unless err contains every wanted substring ("" wants nil).
func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if len(want) == 1 && want[0] == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestShapeImage(t *testing.T) {
	ds := toy(5, 2)
	if got := ds.Shape(); got != [4]int{5, 2, 2, 1} {
		t.Errorf("Shape = %v", got)
	}
	img := ds.Image(3)
	if len(img) != 4 || sampleID(img, 5) != 3 {
		t.Errorf("Image(3) = %v", img)
	}
	img[0] = 0 // Image aliases the dataset
	if ds.Images[12] != 0 {
		t.Errorf("Image does not alias Images")
	}
}

func TestSubsetHead(t *testing.T) {
	ds := toy(6, 3)
	sub, err := ds.Subset([]int{4, 1, 4})
	checkErr(t, err, "")
	if sub.N != 3 || !slices.Equal(sub.Labels, []int32{1, 1, 1}) || sampleID(sub.Image(0), 6) != 4 || sampleID(sub.Image(1), 6) != 1 {
		t.Errorf("Subset = %+v", sub)
	}
	sub.Images[0] = 0
	if ds.Images[16] == 0 {
		t.Errorf("Subset aliases the original")
	}
	if err := sub.Validate(); err != nil {
		t.Error(err)
	}
	_, err = ds.Subset([]int{0, 6})
	checkErr(t, err, "subset index 6 out of range [0,6)")

	h, err := ds.Head(2)
	checkErr(t, err, "")
	if h.N != 2 || sampleID(h.Image(1), 6) != 1 {
		t.Errorf("Head(2) = %+v", h)
	}
	if h, err := ds.Head(6); err != nil || h.N != 6 {
		t.Errorf("Head(N) = %v, %v", h, err)
	}
	_, err = ds.Head(7)
	checkErr(t, err, "toy/train: head 7 of 6 samples")
}

func TestStratified(t *testing.T) {
	ds := toy(100, 4) // 25 per class
	a, err := ds.Stratified(10, 7)
	checkErr(t, err, "")
	if a.N != 40 || !slices.Equal(a.ClassCounts(), []int{10, 10, 10, 10}) {
		t.Fatalf("Stratified(10): N=%d counts=%v", a.N, a.ClassCounts())
	}
	var ids []int
	for i := range a.N {
		id := sampleID(a.Image(i), 100)
		if id%4 != int(a.Labels[i]) {
			t.Fatalf("sample %d has label %d", id, a.Labels[i])
		}
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != 40 {
		t.Errorf("ids not sorted and distinct: %v", ids)
	}
	b, _ := ds.Stratified(10, 7)
	c, _ := ds.Stratified(10, 8)
	if !slices.Equal(a.Images, b.Images) {
		t.Error("same seed, different subsets")
	}
	if slices.Equal(a.Images, c.Images) {
		t.Error("different seeds, same subset")
	}
	_, err = ds.Stratified(26, 1)
	checkErr(t, err, "class 0 (a) has 25 samples, want 26 per class")
}
