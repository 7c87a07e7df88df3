package datasets

import (
	"encoding/csv"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// GTSRBClassNames are the 43 GTSRB classes in ClassId order.
var GTSRBClassNames = []string{
	0:  "Speed limit (20km/h)",
	1:  "Speed limit (30km/h)",
	2:  "Speed limit (50km/h)",
	3:  "Speed limit (60km/h)",
	4:  "Speed limit (70km/h)",
	5:  "Speed limit (80km/h)",
	6:  "End of speed limit (80km/h)",
	7:  "Speed limit (100km/h)",
	8:  "Speed limit (120km/h)",
	9:  "No passing",
	10: "No passing for vehicles over 3.5 metric tons",
	11: "Right-of-way at the next intersection",
	12: "Priority road",
	13: "Yield",
	14: "Stop",
	15: "No vehicles",
	16: "Vehicles over 3.5 metric tons prohibited",
	17: "No entry",
	18: "General caution",
	19: "Dangerous curve to the left",
	20: "Dangerous curve to the right",
	21: "Double curve",
	22: "Bumpy road",
	23: "Slippery road",
	24: "Road narrows on the right",
	25: "Road work",
	26: "Traffic signals",
	27: "Pedestrians",
	28: "Children crossing",
	29: "Bicycles crossing",
	30: "Beware of ice/snow",
	31: "Wild animals crossing",
	32: "End of all speed and passing limits",
	33: "Turn right ahead",
	34: "Turn left ahead",
	35: "Ahead only",
	36: "Go straight or right",
	37: "Go straight or left",
	38: "Keep right",
	39: "Keep left",
	40: "Roundabout mandatory",
	41: "End of no passing",
	42: "End of no passing by vehicles over 3.5 metric tons",
}

// gtsrbEntry is one row of a GT-*.csv annotation file.
type gtsrbEntry struct {
	path                  string
	width, height         int
	x1, y1, x2, y2, class int
}

// ReadGTSRB reads the German Traffic Sign Recognition Benchmark (final
// training and test sets) from dir, which holds (or holds a GTSRB/
// directory that holds):
//
//	Final_Training/Images/000NN/*.ppm and GT-000NN.csv, NN = 00..42 ("train")
//	Final_Test/Images/*.ppm and GT-final_test.csv ("test")
//
// GT-final_test.csv (from GTSRB_Final_Test_GT.zip) may sit in
// Final_Test/Images, Final_Test or dir. The CSV files are ';'-separated with
// the header Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId.
// Every image is cropped to its ROI (inclusive corners) and resized to
// height x width with Bilinear. Training samples are ordered round-robin
// over the classes (in CSV order within a class); test samples in CSV order.
func ReadGTSRB(dir, split string, height, width int) (*Dataset, error) {
	if height <= 0 || width <= 0 {
		return nil, fmt.Errorf("datasets: gtsrb: output size %dx%d, want positive", height, width)
	}
	if _, err := os.Stat(filepath.Join(dir, "Final_Training")); err != nil {
		if _, err2 := os.Stat(filepath.Join(dir, "GTSRB", "Final_Training")); err2 == nil {
			dir = filepath.Join(dir, "GTSRB")
		}
	}
	var entries []gtsrbEntry
	switch split {
	case "train":
		perClass := make([][]gtsrbEntry, len(GTSRBClassNames))
		for c := range perClass {
			sub := filepath.Join(dir, "Final_Training", "Images", fmt.Sprintf("%05d", c))
			es, err := readGTSRBCSV(filepath.Join(sub, fmt.Sprintf("GT-%05d.csv", c)), sub)
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				if e.class != c {
					return nil, fmt.Errorf("datasets: %s: ClassId %d in the directory of class %d", e.path, e.class, c)
				}
			}
			perClass[c] = es
		}
		for k := 0; ; k++ {
			added := false
			for _, es := range perClass {
				if k < len(es) {
					entries, added = append(entries, es[k]), true
				}
			}
			if !added {
				break
			}
		}
	case "test":
		imgDir := filepath.Join(dir, "Final_Test", "Images")
		var csvPath string
		for _, d := range []string{imgDir, filepath.Join(dir, "Final_Test"), dir} {
			p := filepath.Join(d, "GT-final_test.csv")
			if _, err := os.Stat(p); err == nil {
				csvPath = p
				break
			}
		}
		if csvPath == "" {
			return nil, fmt.Errorf("datasets: gtsrb: no GT-final_test.csv in %s, %s or %s (it comes in GTSRB_Final_Test_GT.zip; GT-final_test.test.csv has no labels): %w",
				imgDir, filepath.Join(dir, "Final_Test"), dir, fs.ErrNotExist)
		}
		var err error
		if entries, err = readGTSRBCSV(csvPath, imgDir); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("datasets: gtsrb: unknown split %q, want \"train\" or \"test\"", split)
	}

	size := height * width * 3
	ds := &Dataset{
		Name: "gtsrb", Split: split,
		Images: make([]float32, len(entries)*size), Labels: make([]int32, len(entries)),
		N: len(entries), Height: height, Width: width, Channels: 3,
		ClassNames: slices.Clone(GTSRBClassNames), Source: dir,
	}
	err := parallelFor(len(entries), func(i int) error {
		e := entries[i]
		data, err := os.ReadFile(e.path)
		if err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
		img, err := DecodePPM(data)
		if err != nil {
			return fmt.Errorf("datasets: %s: %w", e.path, err)
		}
		if img.Width != e.width || img.Height != e.height {
			return fmt.Errorf("datasets: %s: image is %dx%d but the CSV says %dx%d", e.path, img.Width, img.Height, e.width, e.height)
		}
		roi, err := img.Crop(e.x1, e.y1, e.x2, e.y2)
		if err != nil {
			return fmt.Errorf("datasets: %s: ROI: %w", e.path, err)
		}
		copy(ds.Images[i*size:(i+1)*size], roi.Resize(width, height).Pix)
		ds.Labels[i] = int32(e.class)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

var gtsrbColumns = []string{"Filename", "Width", "Height", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"}

// readGTSRBCSV reads a GT-*.csv file; image paths are relative to imgDir.
func readGTSRBCSV(path, imgDir string) ([]gtsrbEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("datasets: %s: empty, want the header %s", path, strings.Join(gtsrbColumns, ";"))
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))] = i
	}
	for _, name := range gtsrbColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("datasets: %s: no %s column, want the header %s", path, name, strings.Join(gtsrbColumns, ";"))
		}
	}
	var entries []gtsrbEntry
	for li, row := range rows[1:] {
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) != len(rows[0]) {
			return nil, fmt.Errorf("datasets: %s: line %d has %d fields, want %d", path, li+2, len(row), len(rows[0]))
		}
		var v [7]int
		for k, name := range gtsrbColumns[1:] {
			s := strings.TrimSpace(row[col[name]])
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("datasets: %s: line %d: %s %q is not an integer", path, li+2, name, s)
			}
			v[k] = n
		}
		e := gtsrbEntry{
			path:  filepath.Join(imgDir, filepath.Base(strings.TrimSpace(row[col["Filename"]]))),
			width: v[0], height: v[1], x1: v[2], y1: v[3], x2: v[4], y2: v[5], class: v[6],
		}
		if e.class < 0 || e.class >= len(GTSRBClassNames) {
			return nil, fmt.Errorf("datasets: %s: line %d: ClassId %d is outside [0,%d)", path, li+2, e.class, len(GTSRBClassNames))
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("datasets: %s: no images listed", path)
	}
	return entries, nil
}
