package datasets

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestReadGTSRB(t *testing.T) {
	dir := gtsrbFixture(t, 2, 5)
	if len(GTSRBClassNames) != 43 || GTSRBClassNames[0] != "Speed limit (20km/h)" ||
		GTSRBClassNames[42] != "End of no passing by vehicles over 3.5 metric tons" {
		t.Errorf("class names: %d, %q ... %q", len(GTSRBClassNames), GTSRBClassNames[0], GTSRBClassNames[42])
	}
	// The ROI (1,1)-(4,3) is 4x3: reading at 3x4 crops without resampling.
	train, err := ReadGTSRB(dir, "train", 3, 4)
	checkErr(t, err, "")
	if train.Shape() != [4]int{86, 3, 4, 3} {
		t.Fatalf("shape %v", train.Shape())
	}
	for i, l := range train.Labels {
		if int(l) != i%43 {
			t.Fatalf("label %d = %d, want round-robin %d", i, l, i%43)
		}
	}
	// Image 1 is class 1 (seed 1); its (0,0) is source (1,1) = (11, 11, 101).
	if got := train.Image(1)[:3]; !slices.Equal(got, []float32{11.0 / 255, 11.0 / 255, 101.0 / 255}) {
		t.Errorf("pixel = %v", got)
	}
	checkErr(t, train.Validate(), "")

	test, err := ReadGTSRB(dir, "test", 5, 6) // full-image ROI, native size
	checkErr(t, err, "")
	if test.Shape() != [4]int{5, 5, 6, 3} || !slices.Equal(test.Labels, []int32{0, 5, 10, 15, 20}) {
		t.Errorf("test shape %v labels %v", test.Shape(), test.Labels)
	}
	if got := test.Image(2)[(4*6+5)*3:]; got[0] != 52.0/255 || got[1] != 42.0/255 {
		t.Errorf("test pixel (5,4) = %v", got[:3])
	}

	// Load defaults to 32x32, and finds a tree inside a GTSRB/ directory.
	parent := t.TempDir()
	if err := os.Rename(dir, filepath.Join(parent, "GTSRB")); err != nil {
		t.Fatal(err)
	}
	ds, err := Load("gtsrb", "test", WithDir(parent))
	checkErr(t, err, "")
	if ds.Shape() != [4]int{5, 32, 32, 3} || ds.Name != "gtsrb" {
		t.Errorf("Load: %v %q", ds.Shape(), ds.Name)
	}
}

func TestReadGTSRBErrors(t *testing.T) {
	header := "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
	tests := []struct {
		name   string
		split  string
		mutate func(t *testing.T, dir string)
		want   []string
	}{
		{"missing class", "train", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "Final_Training/Images/00042"))
		}, []string{"GT-00042.csv", "no such file"}},
		{"wrong class id", "train", func(t *testing.T, dir string) {
			writeFile(t, dir, "Final_Training/Images/00003/GT-00003.csv", []byte(header+"00000_00000.ppm;6;5;1;1;4;3;4\n"))
		}, []string{"00003/00000_00000.ppm", "ClassId 4 in the directory of class 3"}},
		{"class id out of range", "test", func(t *testing.T, dir string) {
			writeFile(t, dir, "Final_Test/Images/GT-final_test.csv", []byte(header+"00000.ppm;6;5;0;0;5;4;43\n"))
		}, []string{"GT-final_test.csv", "line 2: ClassId 43 is outside [0,43)"}},
		{"size mismatch", "test", func(t *testing.T, dir string) {
			writeFile(t, dir, "Final_Test/Images/GT-final_test.csv", []byte(header+"00001.ppm;7;5;0;0;5;4;1\n"))
		}, []string{"00001.ppm", "image is 6x5 but the CSV says 7x5"}},
		{"ROI outside", "test", func(t *testing.T, dir string) {
			writeFile(t, dir, "Final_Test/Images/GT-final_test.csv", []byte(header+"00001.ppm;6;5;0;0;6;4;1\n"))
		}, []string{"00001.ppm", "ROI: crop (0,0)-(6,4) is not inside the 6x5 image"}},
		{"not an integer", "test", func(t *testing.T, dir string) {
			writeFile(t, dir, "Final_Test/Images/GT-final_test.csv", []byte(header+"00001.ppm;6;5;0;0;x;4;1\n"))
		}, []string{"GT-final_test.csv", `line 2: Roi.X2 "x" is not an integer`}},
		{"unlabelled test csv", "test", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "Final_Test/Images/GT-final_test.csv"))
			writeFile(t, dir, "Final_Test/Images/GT-final_test.test.csv", []byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n"))
		}, []string{"no GT-final_test.csv", "GTSRB_Final_Test_GT.zip"}},
		{"no ClassId column", "test", func(t *testing.T, dir string) {
			writeFile(t, dir, "Final_Test/Images/GT-final_test.csv", []byte("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n00001.ppm;6;5;0;0;5;4\n"))
		}, []string{"GT-final_test.csv", "no ClassId column"}},
		{"corrupt ppm", "test", func(t *testing.T, dir string) {
			writeFile(t, dir, "Final_Test/Images/00002.ppm", ppmBytes(6, 5, 0)[:30])
		}, []string{"00002.ppm", "PPM: 6x5 with maxval 255 needs 90 raster bytes"}},
		{"missing ppm", "test", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "Final_Test/Images/00004.ppm"))
		}, []string{"00004.ppm", "no such file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := gtsrbFixture(t, 1, 5)
			tc.mutate(t, dir)
			_, err := ReadGTSRB(dir, tc.split, 8, 8)
			checkErr(t, err, tc.want...)
		})
	}
	_, err := Load("gtsrb", "train", WithDir(t.TempDir()))
	checkErr(t, err, "gtsrb is not installed in", "GT-00000.csv", "benchmark.ini.rub.de")
	if !errors.Is(err, ErrNotInstalled) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap ErrNotInstalled", err)
	}
}
