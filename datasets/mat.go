package datasets

// A minimal reader of MATLAB Level 5 MAT-files (MATLAB v5 to v7.2, the
// format of SVHN's .mat files), after "MAT-File Format", The MathWorks,
// chapter 1: a 128-byte header, then data elements (an 8-byte tag, or a
// 4-byte "small data element" tag for 1-4 bytes of data, padded to 8 bytes).
// Supported: miMATRIX elements of numeric class, plain or wrapped in zlib
// miCOMPRESSED elements, either byte order. Other classes (cell, struct,
// char, sparse, objects) are recorded by name but hold no data.

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// MAT data types (miXXX) and array classes (mxXXX).
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
	miUTF8       = 16

	mxDOUBLE = 6
	mxUINT64 = 15
)

// matArray is one variable of a MAT-file.
type matArray struct {
	name    string
	class   byte  // mxXXX
	complex bool  // an imaginary part followed (ignored)
	dims    []int // column-major dimensions
	dtype   uint32
	data    []byte // real part as stored, in order's byte order
	order   binary.ByteOrder
}

// numeric reports whether the array has a numeric class and data.
func (a *matArray) numeric() bool { return a.class >= mxDOUBLE && a.class <= mxUINT64 }

// count is the number of elements the dimensions describe.
func (a *matArray) count() int {
	n := 1
	for _, d := range a.dims {
		n *= d
	}
	return n
}

// at returns element i (column-major) as a float64.
func (a *matArray) at(i int) float64 {
	d, o := a.data, a.order
	switch a.dtype {
	case miINT8:
		return float64(int8(d[i]))
	case miUINT8, miUTF8:
		return float64(d[i])
	case miINT16:
		return float64(int16(o.Uint16(d[2*i:])))
	case miUINT16:
		return float64(o.Uint16(d[2*i:]))
	case miINT32:
		return float64(int32(o.Uint32(d[4*i:])))
	case miUINT32:
		return float64(o.Uint32(d[4*i:]))
	case miSINGLE:
		return float64(math.Float32frombits(o.Uint32(d[4*i:])))
	case miDOUBLE:
		return math.Float64frombits(o.Uint64(d[8*i:]))
	case miINT64:
		return float64(int64(o.Uint64(d[8*i:])))
	case miUINT64:
		return float64(o.Uint64(d[8*i:]))
	}
	panic("unreachable: dtype checked by parseMatrix")
}

// dtypeSize is the size in bytes of one value of a numeric MAT data type,
// or 0 for other types.
func dtypeSize(t uint32) int {
	switch t {
	case miINT8, miUINT8, miUTF8:
		return 1
	case miINT16, miUINT16:
		return 2
	case miINT32, miUINT32, miSINGLE:
		return 4
	case miDOUBLE, miINT64, miUINT64:
		return 8
	}
	return 0
}

// readMAT reads every variable of a Level 5 MAT-file. name is used in errors.
func readMAT(name string, r io.Reader) (map[string]*matArray, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("datasets: %s: MAT-file: %s", name, fmt.Sprintf(format, args...))
	}
	var hdr [128]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fail("reading the 128-byte header: %v", err)
	}
	if bytes.HasPrefix(hdr[:], []byte("MATLAB 7.3")) {
		return nil, fail("MATLAB 7.3 (HDF5) files are not supported, want a Level 5 file (save -v7)")
	}
	var order binary.ByteOrder
	switch string(hdr[126:128]) {
	case "IM":
		order = binary.LittleEndian
	case "MI":
		order = binary.BigEndian
	default:
		return nil, fail("endian indicator %q at offset 126, want \"IM\" or \"MI\" (not a Level 5 MAT-file)", hdr[126:128])
	}
	if v := order.Uint16(hdr[124:]); v != 0x0100 {
		return nil, fail("version 0x%04x, want 0x0100 (Level 5)", v)
	}
	p := &matParser{order: order, fail: fail}
	vars := map[string]*matArray{}
	for i := 0; ; i++ {
		a, err := p.topElement(r)
		if err == io.EOF {
			return vars, nil
		}
		if err != nil {
			return nil, fail("element %d: %v", i, err)
		}
		if a != nil {
			vars[a.name] = a
		}
	}
}

type matParser struct {
	order binary.ByteOrder
	fail  func(string, ...any) error
}

// readTag reads a data element tag. For a small data element it returns
// the data (1-4 bytes) too.
func (p *matParser) readTag(r io.Reader) (typ, n uint32, small []byte, err error) {
	var tag [8]byte
	if _, err := io.ReadFull(r, tag[:4]); err != nil {
		return 0, 0, nil, err // io.EOF at a clean element boundary
	}
	first := p.order.Uint32(tag[:4])
	if _, err := io.ReadFull(r, tag[4:]); err != nil {
		return 0, 0, nil, fmt.Errorf("truncated tag: %w", io.ErrUnexpectedEOF)
	}
	if hi := first >> 16; hi != 0 {
		if hi > 4 {
			return 0, 0, nil, fmt.Errorf("small data element of %d bytes, want at most 4", hi)
		}
		return first & 0xffff, hi, tag[4 : 4+hi], nil
	}
	return first, p.order.Uint32(tag[4:]), nil, nil
}

// readN reads exactly n bytes, without trusting n for the allocation.
func readN(r io.Reader, n uint32) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if len(b) != int(n) {
		return nil, fmt.Errorf("element says %d bytes but only %d remain: %w", n, len(b), io.ErrUnexpectedEOF)
	}
	return b, nil
}

func pad8(n uint32) int64 { return int64((8 - n%8) % 8) }

// topElement reads one top-level element; it returns nil for elements
// other than matrices.
func (p *matParser) topElement(r io.Reader) (*matArray, error) {
	typ, n, small, err := p.readTag(r)
	if err != nil {
		return nil, err
	}
	if small != nil {
		return nil, nil
	}
	switch typ {
	case miCOMPRESSED:
		lr := io.LimitReader(r, int64(n))
		zr, err := zlib.NewReader(lr)
		if err != nil {
			return nil, fmt.Errorf("compressed element: %w", err)
		}
		a, err := p.element(zr)
		if err == io.EOF {
			err = fmt.Errorf("empty compressed element: %w", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return nil, fmt.Errorf("compressed element: %w", err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil { // verify the checksum
			return nil, fmt.Errorf("compressed element: %w", err)
		}
		if rest, _ := io.Copy(io.Discard, lr); rest != 0 {
			return nil, fmt.Errorf("compressed element: %d bytes after the zlib stream", rest)
		}
		return a, nil
	case miMATRIX:
		body, err := readN(r, n)
		if err != nil {
			return nil, err
		}
		if err := skipPadding(r, pad8(n)); err != nil {
			return nil, err
		}
		return p.parseMatrix(body)
	default:
		if _, err := readN(r, n); err != nil {
			return nil, err
		}
		return nil, skipPadding(r, pad8(n))
	}
}

// element reads one uncompressed element (the contents of miCOMPRESSED).
func (p *matParser) element(r io.Reader) (*matArray, error) {
	typ, n, small, err := p.readTag(r)
	if err != nil {
		return nil, err
	}
	if small != nil || typ != miMATRIX {
		return nil, nil
	}
	body, err := readN(r, n)
	if err != nil {
		return nil, err
	}
	return p.parseMatrix(body)
}

// skipPadding skips up to n padding bytes; the file may end instead.
func skipPadding(r io.Reader, n int64) error {
	_, err := io.CopyN(io.Discard, r, n)
	if err == io.EOF {
		return nil
	}
	return err
}

// sub reads one subelement of a matrix from b, returning the rest.
func (p *matParser) sub(b []byte, what string) (typ uint32, data, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, nil, fmt.Errorf("matrix ends before its %s", what)
	}
	first := p.order.Uint32(b)
	if hi := first >> 16; hi != 0 {
		if hi > 4 {
			return 0, nil, nil, fmt.Errorf("%s: small data element of %d bytes, want at most 4", what, hi)
		}
		return first & 0xffff, b[4 : 4+hi], b[8:], nil
	}
	n := p.order.Uint32(b[4:])
	if uint64(n) > uint64(len(b)-8) {
		return 0, nil, nil, fmt.Errorf("%s: says %d bytes but the matrix has %d left", what, n, len(b)-8)
	}
	end := min(int64(len(b)), 8+int64(n)+pad8(n))
	return first, b[8 : 8+n], b[end:], nil
}

// parseMatrix decodes the body of a miMATRIX element.
func (p *matParser) parseMatrix(b []byte) (*matArray, error) {
	a := &matArray{order: p.order}
	typ, flags, b, err := p.sub(b, "array flags")
	if err != nil {
		return nil, err
	}
	if typ != miUINT32 || len(flags) != 8 {
		return nil, fmt.Errorf("array flags: type %d of %d bytes, want miUINT32 (6) of 8 bytes", typ, len(flags))
	}
	f := p.order.Uint32(flags)
	a.class = byte(f)
	a.complex = f&0x0800 != 0
	typ, dims, b, err := p.sub(b, "dimensions")
	if err != nil {
		return nil, err
	}
	if typ != miINT32 || len(dims) < 8 || len(dims)%4 != 0 {
		return nil, fmt.Errorf("dimensions: type %d of %d bytes, want miINT32 (5), at least 2 dimensions", typ, len(dims))
	}
	total := int64(1)
	for i := 0; i < len(dims); i += 4 {
		d := int32(p.order.Uint32(dims[i:]))
		if d < 0 {
			return nil, fmt.Errorf("dimension %d is negative (%d)", i/4+1, d)
		}
		a.dims = append(a.dims, int(d))
		var ok bool
		if total, ok = mulSize(maxBytes, total, int64(d)); !ok {
			return nil, fmt.Errorf("dimensions %v exceed %d elements", a.dims, maxBytes)
		}
	}
	typ, nameBytes, b, err := p.sub(b, "array name")
	if err != nil {
		return nil, err
	}
	if typ != miINT8 {
		return nil, fmt.Errorf("array name: type %d, want miINT8 (1)", typ)
	}
	a.name = string(nameBytes)
	if !a.numeric() {
		return a, nil // data of other classes is not decoded
	}
	typ, real, _, err := p.sub(b, "real part")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.name, err)
	}
	size := dtypeSize(typ)
	if size == 0 {
		return nil, fmt.Errorf("%s: real part has type %d, want a numeric type", a.name, typ)
	}
	if int64(len(real)) != total*int64(size) {
		return nil, fmt.Errorf("%s: real part has %d bytes, want %d values of %d bytes for dimensions %v",
			a.name, len(real), total, size, a.dims)
	}
	a.dtype, a.data = typ, real
	return a, nil
}
