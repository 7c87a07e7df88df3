package datasets

// Writers of small fixtures in the datasets' real file formats.

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes data to dir/name (creating directories) and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// idxBytes is an IDX file: big-endian magic, dimensions, then body.
func idxBytes(magic uint32, dims []uint32, body []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	binary.Write(&b, binary.BigEndian, dims)
	b.Write(body)
	return b.Bytes()
}

// idxImages returns n images of h x w whose pixel p of image i is (i*7+p)%256.
func idxImages(n, h, w int) []byte {
	pix := make([]byte, n*h*w)
	for i := range n {
		for p := range h * w {
			pix[i*h*w+p] = byte(i*7 + p)
		}
	}
	return idxBytes(idxImagesMagic, []uint32{uint32(n), uint32(h), uint32(w)}, pix)
}

func idxLabels(labels ...byte) []byte {
	return idxBytes(idxLabelsMagic, []uint32{uint32(len(labels))}, labels)
}

// cifarBytes returns n CIFAR-10 records: label i%10, and value
// (i + 3*p + 100*c) % 256 at pixel p of plane c.
func cifarBytes(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteByte(byte(i % 10))
		for c := range 3 {
			for p := range cifarPixels {
				b.WriteByte(byte(i + 3*p + 100*c))
			}
		}
	}
	return b.Bytes()
}

// matVar is a variable for matBytes.
type matVar struct {
	name  string
	class byte
	dims  []int32
	dtype uint32
	data  []byte // real part, already in the file's byte order
}

// matBytes writes a Level 5 MAT-file; compress wraps each variable in a
// zlib miCOMPRESSED element, as MATLAB's default -v7 does.
func matBytes(order binary.ByteOrder, compress bool, vars ...matVar) []byte {
	var f bytes.Buffer
	hdr := make([]byte, 128)
	copy(hdr, fmt.Sprintf("%-116s", "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created by: mtlrob tests"))
	order.PutUint16(hdr[124:], 0x0100)
	order.PutUint16(hdr[126:], 'M'<<8|'I')
	f.Write(hdr)
	for _, v := range vars {
		var body bytes.Buffer
		flags := make([]byte, 8)
		order.PutUint32(flags, uint32(v.class))
		matElement(&body, order, miUINT32, flags)
		dims := make([]byte, 4*len(v.dims))
		for i, d := range v.dims {
			order.PutUint32(dims[4*i:], uint32(d))
		}
		matElement(&body, order, miINT32, dims)
		matElement(&body, order, miINT8, []byte(v.name))
		matElement(&body, order, v.dtype, v.data)
		var elem bytes.Buffer
		matElement(&elem, order, miMATRIX, body.Bytes())
		if !compress {
			f.Write(elem.Bytes())
			continue
		}
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(elem.Bytes())
		zw.Close()
		tag := make([]byte, 8)
		order.PutUint32(tag, miCOMPRESSED)
		order.PutUint32(tag[4:], uint32(z.Len()))
		f.Write(tag)
		f.Write(z.Bytes()) // compressed elements are not padded
	}
	return f.Bytes()
}

// matElement writes a data element, in the small format for 1-4 bytes,
// padded to 8 bytes.
func matElement(b *bytes.Buffer, order binary.ByteOrder, typ uint32, data []byte) {
	tag := make([]byte, 8)
	if n := len(data); n > 0 && n <= 4 {
		order.PutUint32(tag, uint32(n)<<16|typ)
		copy(tag[4:], data)
		b.Write(tag)
		return
	}
	order.PutUint32(tag, typ)
	order.PutUint32(tag[4:], uint32(len(data)))
	b.Write(tag)
	b.Write(data)
	b.Write(make([]byte, pad8(uint32(len(data)))))
}

// svhnVars returns SVHN-style X (h x w x 3 x n uint8, column-major, value
// (s*31 + row + 2*col + 50*c) % 256) and y (n x 1 double, labels 1..10).
func svhnVars(order binary.ByteOrder, h, w int, labels []float64) (x, y matVar) {
	n := len(labels)
	xd := make([]byte, h*w*3*n)
	for s := range n {
		for c := range 3 {
			for col := range w {
				for row := range h {
					xd[row+h*(col+w*(c+3*s))] = byte(s*31 + row + 2*col + 50*c)
				}
			}
		}
	}
	yd := make([]byte, 8*n)
	for i, l := range labels {
		order.PutUint64(yd[8*i:], math.Float64bits(l))
	}
	x = matVar{name: "X", class: 9, dims: []int32{int32(h), int32(w), 3, int32(n)}, dtype: miUINT8, data: xd}
	y = matVar{name: "y", class: mxDOUBLE, dims: []int32{int32(n), 1}, dtype: miDOUBLE, data: yd}
	return x, y
}

// ppmBytes is a P6 image whose pixel (x, y) is (10x+seed, 10y+seed, 100+seed).
func ppmBytes(w, h, seed int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "P6\n# fixture\n%d %d\n255\n", w, h)
	for y := range h {
		for x := range w {
			b.Write([]byte{byte(10*x + seed), byte(10*y + seed), byte(100 + seed)})
		}
	}
	return b.Bytes()
}

// gtsrbFixture writes a GTSRB tree with perClass training images of 6x5
// (ROI (1,1)-(4,3)) per class and testN test images, and returns its root.
func gtsrbFixture(t testing.TB, perClass, testN int) string {
	t.Helper()
	dir := t.TempDir()
	header := "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
	for c := range GTSRBClassNames {
		sub := fmt.Sprintf("Final_Training/Images/%05d", c)
		var csv strings.Builder
		csv.WriteString(header)
		for k := range perClass {
			name := fmt.Sprintf("%05d_%05d.ppm", k, 0)
			writeFile(t, dir, sub+"/"+name, ppmBytes(6, 5, c))
			fmt.Fprintf(&csv, "%s;6;5;1;1;4;3;%d\n", name, c)
		}
		writeFile(t, dir, fmt.Sprintf("%s/GT-%05d.csv", sub, c), []byte(csv.String()))
	}
	var csv strings.Builder
	csv.WriteString(header)
	for k := range testN {
		name := fmt.Sprintf("%05d.ppm", k)
		writeFile(t, dir, "Final_Test/Images/"+name, ppmBytes(6, 5, k))
		fmt.Fprintf(&csv, "%s;6;5;0;0;5;4;%d\n", name, (k*5)%43)
	}
	writeFile(t, dir, "Final_Test/Images/GT-final_test.csv", []byte(csv.String()))
	return dir
}
