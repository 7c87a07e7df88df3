package datasets

import (
	"bufio"
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxJPEGPixels is the largest image, in pixels (4096x4096), that ReadTinyImageNet decodes (its files
// are 64x64); a larger one is an error, not an allocation of its declared size.
const maxJPEGPixels = 1 << 24

// ReadTinyImageNet reads Tiny ImageNet (tiny-imagenet-200) from dir:
//
//	wnids.txt                       the 200 class wnids, one a line
//	words.txt                       wnid<TAB>comma-separated synonyms
//	train/<wnid>/images/*.JPEG      500 training images per class ("train")
//	val/images/*.JPEG               10,000 validation images ("test")
//	val/val_annotations.txt         file<TAB>wnid<TAB>x0<TAB>y0<TAB>x1<TAB>y1
//
// The unlabelled test/ directory is not read: the validation set is the
// "test" split. Labels index the sorted wnids (the order of torchvision's
// ImageFolder); ClassIDs are those wnids and ClassNames their first synonym
// in words.txt. JPEGs are decoded with image/jpeg; grayscale ones get three
// equal channels. Images are resized with Bilinear to height x width unless
// already that size (the files are 64x64). Training samples are ordered
// round-robin over the classes (by file name within a class); test samples
// in val_annotations.txt order. A JPEG larger than maxJPEGPixels is an
// error.
func ReadTinyImageNet(dir, split string, height, width int) (*Dataset, error) {
	if height <= 0 || width <= 0 {
		return nil, fmt.Errorf("datasets: tinyimagenet: output size %dx%d, want positive", height, width)
	}
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("datasets: tinyimagenet: unknown split %q, want \"train\" or \"test\"", split)
	}
	wnidsPath := filepath.Join(dir, "wnids.txt")
	wnids, err := readLines(wnidsPath)
	if err != nil {
		return nil, err
	}
	if len(wnids) == 0 {
		return nil, fmt.Errorf("datasets: %s: no wnids", wnidsPath)
	}
	slices.Sort(wnids)
	if i := duplicate(wnids); i >= 0 {
		return nil, fmt.Errorf("datasets: %s: wnid %s is listed twice", wnidsPath, wnids[i])
	}
	label := make(map[string]int, len(wnids))
	for i, w := range wnids {
		label[w] = i
	}
	names, err := readWords(filepath.Join(dir, "words.txt"), label)
	if err != nil {
		return nil, err
	}

	var paths []string
	var labels []int32
	switch split {
	case "train":
		perClass := make([][]string, len(wnids))
		for c, w := range wnids {
			imgDir := filepath.Join(dir, "train", w, "images")
			files, err := os.ReadDir(imgDir)
			if err != nil {
				return nil, fmt.Errorf("datasets: %w", err)
			}
			for _, f := range files {
				if ext := strings.ToLower(filepath.Ext(f.Name())); !f.IsDir() && (ext == ".jpeg" || ext == ".jpg") {
					perClass[c] = append(perClass[c], filepath.Join(imgDir, f.Name()))
				}
			}
			if len(perClass[c]) == 0 {
				return nil, fmt.Errorf("datasets: %s: no JPEG images for class %s", imgDir, w)
			}
		}
		for k := 0; ; k++ {
			added := false
			for c, ps := range perClass {
				if k < len(ps) {
					paths, labels, added = append(paths, ps[k]), append(labels, int32(c)), true
				}
			}
			if !added {
				break
			}
		}
	case "test":
		annPath := filepath.Join(dir, "val", "val_annotations.txt")
		lines, err := readLines(annPath)
		if err != nil {
			return nil, err
		}
		for i, line := range lines {
			fields := strings.Split(line, "\t")
			if len(fields) < 2 {
				return nil, fmt.Errorf("datasets: %s: line %d has %d tab-separated fields, want file, wnid and a box", annPath, i+1, len(fields))
			}
			c, ok := label[fields[1]]
			if !ok {
				return nil, fmt.Errorf("datasets: %s: line %d: wnid %q is not in wnids.txt", annPath, i+1, fields[1])
			}
			paths = append(paths, filepath.Join(dir, "val", "images", filepath.Base(fields[0])))
			labels = append(labels, int32(c))
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("datasets: %s: no images listed", annPath)
		}
	}

	size := height * width * 3
	images := make([]float32, len(paths)*size)
	err = parallelFor(len(paths), func(i int) error {
		data, err := os.ReadFile(paths[i])
		if err != nil {
			return fmt.Errorf("datasets: %w", err)
		}
		// The decoder allocates the whole image from the header's size before reading the scan: a
		// few hundred bytes can ask for gigabytes, so the size is checked first.
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("datasets: %s: %w", paths[i], err)
		}
		if int64(cfg.Width)*int64(cfg.Height) > maxJPEGPixels {
			return fmt.Errorf("datasets: %s: JPEG of %dx%d pixels, more than the %d this reader decodes", paths[i], cfg.Width, cfg.Height, maxJPEGPixels)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("datasets: %s: %w", paths[i], err)
		}
		rgb := fromImage(img)
		if rgb.Width != width || rgb.Height != height {
			rgb = rgb.Resize(width, height)
		}
		copy(images[i*size:(i+1)*size], rgb.Pix)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Dataset{
		Name: "tinyimagenet", Split: split,
		Images: images, Labels: labels,
		N: len(labels), Height: height, Width: width, Channels: 3,
		ClassNames: names, ClassIDs: wnids, Source: dir,
	}, nil
}

// readWords returns the first synonym in words.txt of each wnid in label.
func readWords(path string, label map[string]int) ([]string, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(label))
	for _, line := range lines {
		wnid, words, ok := strings.Cut(line, "\t")
		if c, known := label[wnid]; ok && known {
			first, _, _ := strings.Cut(words, ",")
			names[c] = strings.TrimSpace(first)
		}
	}
	for w, c := range label {
		if names[c] == "" {
			return nil, fmt.Errorf("datasets: %s: no words for wnid %s", path, w)
		}
	}
	return names, nil
}

// readLines returns the non-blank lines of a text file, trimmed of
// surrounding spaces and carriage returns.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			lines = append(lines, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("datasets: %s: %w", path, err)
	}
	return lines, nil
}

// duplicate returns the index of the first repeated element of a sorted
// slice, or -1.
func duplicate(sorted []string) int {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return i
		}
	}
	return -1
}
