package datasets

import (
	"bytes"
	"encoding/binary"
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

func FuzzCIFAR(f *testing.F) {
	f.Add(cifarBytes(2))
	f.Add(cifarBytes(1)[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		images, labels, err := parseCIFAR("batch.bin", data)
		if err != nil {
			return
		}
		ds := &Dataset{Images: images, Labels: labels, N: len(labels), Height: 32, Width: 32, Channels: 3, ClassNames: CIFAR10ClassNames}
		if err := ds.Validate(); err != nil {
			t.Fatalf("accepted an invalid dataset: %v", err)
		}
	})
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
