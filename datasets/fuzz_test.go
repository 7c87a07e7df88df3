package datasets

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The parsers must never panic on arbitrary bytes; what they accept must
// pass Validate.

func FuzzReadIDX(f *testing.F) {
	img, lbl := idxImages(3, 2, 2), idxLabels(1, 2, 3)
	f.Add(img, lbl)
	f.Add(gzipBytes(img), gzipBytes(lbl))
	f.Add(img[:20], lbl[:9])
	f.Add(idxBytes(idxImagesMagic, []uint32{1 << 31, 1 << 31, 1 << 31}, nil), lbl)
	f.Fuzz(func(t *testing.T, img, lbl []byte) {
		ds, err := readIDX("images", bytes.NewReader(img), "labels", bytes.NewReader(lbl))
		if err != nil {
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
	})
}

// FuzzCIFAR builds a CIFAR-10 batch file from small inputs: one record per label byte (at most 3),
// each of 3072 pixel bytes cycled from pixels, then the file cut or extended by extra bytes. Raw bytes
// made the fuzzer stall: an accepted file is at least 3073 bytes, and minimising each new input of that
// size took the fuzzing time; here every input is a few bytes and reaches the label and pixel code.
func FuzzCIFAR(f *testing.F) {
	f.Add([]byte{0, 9}, []byte{0, 128, 255}, int16(0))
	f.Add([]byte{3}, []byte{7}, int16(-100))
	f.Add([]byte{10}, []byte{}, int16(0))
	f.Add([]byte{}, []byte{1}, int16(5))
	f.Fuzz(func(t *testing.T, labels, pixels []byte, extra int16) {
		data := cifarFile(labels, pixels, int(extra))
		images, labelsOut, err := parseCIFAR("batch.bin", data)
		valid := len(data) > 0 && len(data)%cifarRecord == 0
		for i := 0; valid && i < len(data); i += cifarRecord {
			valid = data[i] < 10
		}
		if (err == nil) != valid {
			t.Fatalf("%d bytes: error %v, want accepted %v", len(data), err, valid)
		}
		if err != nil {
			return
		}
		ds := &Dataset{Images: images, Labels: labelsOut, N: len(labelsOut), Height: 32, Width: 32, Channels: 3, ClassNames: CIFAR10ClassNames}
		if err := ds.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
	})
}

// cifarFile is a CIFAR-10 batch of one record per label (at most 3) with pixel bytes cycled from
// pixels (zero when empty), cut by -extra bytes (extra < 0) or extended by extra bytes (at most one
// record either way).
func cifarFile(labels, pixels []byte, extra int) []byte {
	var data []byte
	for _, l := range labels[:min(len(labels), 3)] {
		data = append(data, l)
		for p := range 3 * cifarPixels {
			var b byte
			if len(pixels) > 0 {
				b = pixels[p%len(pixels)]
			}
			data = append(data, b)
		}
	}
	extra = max(-cifarRecord, min(cifarRecord, extra))
	if extra < 0 {
		return data[:max(0, len(data)+extra)]
	}
	return append(data, make([]byte, extra)...)
}

// maxFuzzText is the largest text input the file-tree fuzz targets pass on (a JPEG may be four times
// that): every input the fuzzer finds interesting is minimised, byte by byte, for up to
// -fuzzminimizetime (60 s by default), and minimising inputs of kilobytes stalled the run at 0
// execs/s; longer inputs return at once, so they are never interesting.
const maxFuzzText = 512

// FuzzMNISTJSON feeds arbitrary bytes to ReadMNISTJSON as the first digit file, 0.json (the other
// nine are absent). The reader must not panic; it fails on 0.json unless that file is a valid digit
// file, and then on the missing 1.json. Inputs stay small: a valid file holds over 200 images of 784
// values, which only the unit tests build.
func FuzzMNISTJSON(f *testing.F) {
	for _, seed := range []string{`{"data": [0, 0.5, 1]}`, `{"data": [1.5]}`, `{"data": []}`, `{"data": null}`, `{"data": "x"}`,
		`[0, 1]`, `{"data": [0, 1e309]}`, `{"data": [-0.001, 0.002]}`, `{"other": [1]}`, ``} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzText {
			return // see maxFuzzText
		}
		if err := os.WriteFile(filepath.Join(dir, "0.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadMNISTJSON(dir, "test")
		if err == nil {
			t.Fatal("accepted a tree without 1.json..9.json")
		}
		if strings.Contains(err.Error(), "1.json") && !validDigitFile(data) {
			t.Fatalf("0.json accepted (the error is about 1.json: %v) but it is not a valid digit file", err)
		}
		if !strings.Contains(err.Error(), "0.json") && !strings.Contains(err.Error(), "1.json") {
			t.Fatalf("error names neither file: %v", err)
		}
	})
}

// validDigitFile reports whether data is a digit file ReadMNISTJSON accepts: {"data": [...]} with
// more than MNISTJSONTestPerDigit images of 784 values in [0, 1].
func validDigitFile(data []byte) bool {
	var v struct {
		Data []float64 `json:"data"`
	}
	if json.Unmarshal(data, &v) != nil || len(v.Data)%784 != 0 || len(v.Data)/784 <= MNISTJSONTestPerDigit {
		return false
	}
	for _, x := range v.Data {
		if !(x >= 0 && x <= 1) {
			return false
		}
	}
	return true
}

// FuzzGTSRB feeds ReadGTSRB's test split an arbitrary GT-final_test.csv and one arbitrary PPM file,
// Final_Test/Images/00000.ppm. What it accepts must pass Validate.
func FuzzGTSRB(f *testing.F) {
	header := "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
	f.Add([]byte(header+"00000.ppm;6;5;0;0;5;4;3\n"), ppmBytes(6, 5, 0))
	f.Add([]byte(header+"00000.ppm;6;5;1;1;4;3;42\n00000.ppm;6;5;0;0;0;0;0\n"), ppmBytes(6, 5, 1))
	f.Add([]byte(header+"00000.ppm;6;5;0;0;6;5;3\n"), ppmBytes(6, 5, 0))
	f.Add([]byte(header+"00000.ppm;6;5;0;0;5;4;43\n"), ppmBytes(6, 5, 0))
	f.Add([]byte(header+"00000.ppm;2;1;0;0;1;0;0\n"), []byte("P3 # c\n2 1 15\n0 1 2 15 14 13\n"))
	f.Add([]byte("\ufeffClassId;Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n1;00000.ppm;1;1;0;0;0;0\n"), []byte("P6 1 1 65535\n\xff\xff\x80\x00\x00\x01"))
	f.Add([]byte("Filename;Width\n"), []byte("P6 99999 99999 255\n"))
	dir := f.TempDir()
	imgDir := filepath.Join(dir, "Final_Test", "Images")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, csv, ppm []byte) {
		if len(csv) > maxFuzzText || len(ppm) > maxFuzzText {
			return // see maxFuzzText
		}
		if err := os.WriteFile(filepath.Join(imgDir, "GT-final_test.csv"), csv, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(imgDir, "00000.ppm"), ppm, 0o644); err != nil {
			t.Fatal(err)
		}
		ds, err := ReadGTSRB(dir, "test", 4, 4)
		if err != nil {
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
	})
}

// FuzzTinyImageNet feeds ReadTinyImageNet's test split arbitrary wnids.txt, words.txt and
// val/val_annotations.txt files and one arbitrary JPEG, val/images/val_0.JPEG. What it accepts must
// pass Validate; a JPEG header may not make it allocate more than its size limit.
func FuzzTinyImageNet(f *testing.F) {
	img := jpegBytes(f, color.RGBA{R: 200, G: 100, B: 50, A: 255}, false) // 64x64, under 4*maxFuzzText bytes
	gray := jpegBytes(f, color.RGBA{R: 90, A: 255}, true)
	words := []byte("n01000000\tgoldfish, Carassius auratus\nn02000000\tgray thing\n")
	f.Add([]byte("n02000000\nn01000000\n"), words, []byte("val_0.JPEG\tn02000000\t0\t0\t63\t63\n"), img)
	f.Add([]byte("n01000000\n"), words, []byte("val_0.JPEG\tn01000000\nval_0.JPEG\tn01000000\n"), gray)
	f.Add([]byte("n01000000\nn01000000\n"), words, []byte("val_0.JPEG\tn01000000\n"), img)
	f.Add([]byte("n03000000\n"), words, []byte("val_0.JPEG\tn01000000\n"), img)
	f.Add([]byte("n01000000\n"), []byte{}, []byte("val_0.JPEG\n"), img[:len(img)/2])
	f.Add([]byte("n01000000\n"), words, []byte("val_0.JPEG\tn01000000\n"), hugeJPEG(f))
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "val", "images"), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, wnids, words, ann, jpg []byte) {
		if len(wnids) > maxFuzzText || len(words) > maxFuzzText || len(ann) > maxFuzzText || len(jpg) > 4*maxFuzzText {
			return // see maxFuzzText
		}
		for name, data := range map[string][]byte{"wnids.txt": wnids, "words.txt": words,
			"val/val_annotations.txt": ann, "val/images/val_0.JPEG": jpg} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ds, err := ReadTinyImageNet(dir, "test", 8, 8)
		if err != nil {
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
	})
}

// hugeJPEG is a 376-byte grayscale JPEG whose header says 65000x65000 pixels: image/jpeg allocates
// 4 GB for it before finding that the scan is short, unless the size is checked first.
func hugeJPEG(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	d := b.Bytes()
	for i := 0; i+8 < len(d); i++ {
		if d[i] == 0xff && d[i+1] == 0xc0 { // SOF0: length (2), precision (1), height (2), width (2)
			d[i+5], d[i+6], d[i+7], d[i+8] = 0xfd, 0xe8, 0xfd, 0xe8
			return d
		}
	}
	t.Fatal("no SOF0 marker in the encoded JPEG")
	return nil
}

func FuzzMAT(f *testing.F) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		x, y := svhnVars(order, 2, 2, []float64{1, 10})
		f.Add(matBytes(order, false, x, y))
		f.Add(matBytes(order, true, x, y))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := readSVHN("f.mat", bytes.NewReader(data))
		if err != nil {
			return
		}
		if err := ds.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
	})
}

func FuzzPPM(f *testing.F) {
	f.Add(ppmBytes(3, 2, 0))
	f.Add([]byte("P3 # c\n2 1 15\n0 1 2 15 14 13\n"))
	f.Add([]byte("P6 1 1 65535\n\xff\xff\x80\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodePPM(data)
		if err != nil {
			return
		}
		if len(m.Pix) != m.Width*m.Height*3 {
			t.Fatalf("%dx%d image with %d values", m.Width, m.Height, len(m.Pix))
		}
		for _, v := range m.Pix {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("value %v outside [0,1]", v)
			}
		}
		if c, err := m.Crop(0, 0, m.Width-1, m.Height-1); err != nil || len(c.Resize(3, 2).Pix) != 18 {
			t.Fatalf("full crop and resize failed: %v", err)
		}
	})
}
