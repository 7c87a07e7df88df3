package arch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
)

// NPYArray is one named array of a NumPy .npz archive: its shape and its data, flat in row-major
// (C) order. Data is a slice of one of float32, float64, int8, int16, int32, int64, uint8, uint16,
// uint32, uint64 or bool, of length the product of Shape (1 for a scalar, Shape empty).
type NPYArray struct {
	Name  string
	Shape []int
	Data  any
}

// npyDescr is the NumPy dtype string of the Go slice types NPYArray supports (little-endian).
func npyDescr(data any) (string, int, error) {
	switch d := data.(type) {
	case []float32:
		return "<f4", len(d), nil
	case []float64:
		return "<f8", len(d), nil
	case []int8:
		return "|i1", len(d), nil
	case []int16:
		return "<i2", len(d), nil
	case []int32:
		return "<i4", len(d), nil
	case []int64:
		return "<i8", len(d), nil
	case []uint8:
		return "|u1", len(d), nil
	case []uint16:
		return "<u2", len(d), nil
	case []uint32:
		return "<u4", len(d), nil
	case []uint64:
		return "<u8", len(d), nil
	case []bool:
		return "|b1", len(d), nil
	}
	return "", 0, fmt.Errorf("unsupported data type %T", data)
}

// npyHeader is the NPY format 1.0 header of an array, byte for byte what numpy.save writes
// (numpy 1.24: keys sorted, 21 spare spaces after a non-scalar shape, padded to 64 bytes).
func npyHeader(descr string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, tuple)
	if len(shape) > 0 {
		h += strings.Repeat(" ", 21-len(dims[0]))
	}
	const magicLen = 8 // "\x93NUMPY" and the version bytes
	hlen := len(h) + 1
	pad := 64 - (magicLen+2+hlen)%64
	if pad == 64 {
		pad = 0
	}
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(hlen+pad))
	b.WriteString(h)
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteByte('\n')
	return b.Bytes()
}

// WriteNPY writes one array in the NPY format 1.0 (numpy.save's format) to w.
func WriteNPY(w io.Writer, a NPYArray) error {
	descr, n, err := npyDescr(a.Data)
	if err != nil {
		return fmt.Errorf("arch: npy %q: %w", a.Name, err)
	}
	size := 1
	for _, d := range a.Shape {
		if d < 0 {
			return fmt.Errorf("arch: npy %q: negative dimension in shape %v", a.Name, a.Shape)
		}
		size *= d
	}
	if size != n {
		return fmt.Errorf("arch: npy %q: shape %v holds %d values, data has %d", a.Name, a.Shape, size, n)
	}
	if _, err := w.Write(npyHeader(descr, a.Shape)); err != nil {
		return fmt.Errorf("arch: npy %q: %w", a.Name, err)
	}
	if err := binary.Write(w, binary.LittleEndian, a.Data); err != nil {
		return fmt.Errorf("arch: npy %q: %w", a.Name, err)
	}
	return nil
}

// npzName is what a key of an .npz archive may be: letters, digits, "_.+#=-", "/" separators.
var npzName = regexp.MustCompile(`^[A-Za-z0-9_.+#=-]+(/[A-Za-z0-9_.+#=-]+)*$`)

// WriteNPZ writes arrays as an uncompressed NumPy .npz archive (numpy.savez's format: a zip file
// with one "<name>.npy" entry per array), readable with numpy.load(path)[name]. Names must be
// unique and made of letters, digits, "_", ".", "+", "#", "=", "-" and "/" separators. The file is written
// to a temporary name and renamed, so a failed write never leaves a truncated archive at path.
func WriteNPZ(path string, arrays []NPYArray) (err error) {
	seen := map[string]bool{}
	for _, a := range arrays {
		if !npzName.MatchString(a.Name) || strings.Contains(a.Name, "..") {
			return fmt.Errorf("arch: npz %s: invalid array name %q", path, a.Name)
		}
		if seen[a.Name] {
			return fmt.Errorf("arch: npz %s: array name %q appears twice", path, a.Name)
		}
		seen[a.Name] = true
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("arch: npz: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("arch: npz: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	z := zip.NewWriter(f)
	for _, a := range arrays {
		w, err := z.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: zip.Store})
		if err != nil {
			return fmt.Errorf("arch: npz %s: %w", path, err)
		}
		if err := WriteNPY(w, a); err != nil {
			return fmt.Errorf("arch: npz %s: %w", path, err)
		}
	}
	if err := z.Close(); err != nil {
		return fmt.Errorf("arch: npz %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("arch: npz %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("arch: npz %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("arch: npz: %w", err)
	}
	return nil
}

// StoreArrays returns the value of every variable of store that has one and whose path keep
// accepts (nil: every variable), as arrays named by the variable's path without its leading "/"
// (e.g. "backbone/conv1/weights", "head_main/biases"), sorted by name. Values are copied in the variables' own dtypes and layouts: convolution weights
// [kernel, kernel, in, out] (HWIO), Dense weights [in, out], as the layers of this package make them.
// Variables of dtypes NPY cannot hold here (float16, bfloat16, complex) are an error.
func StoreArrays(store *model.Store, keep func(path string) bool) ([]NPYArray, error) {
	var out []NPYArray
	for v := range store.IterVariables() {
		if !v.HasValue() || (keep != nil && !keep(v.Path())) {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("arch: variable %s: %w", v.Path(), err)
		}
		var data any
		err = t.ConstFlatData(func(flat any) { data = cloneSlice(flat) })
		if err != nil {
			return nil, fmt.Errorf("arch: variable %s: %w", v.Path(), err)
		}
		if data == nil {
			return nil, fmt.Errorf("arch: variable %s: dtype %s cannot be exported to NPY", v.Path(), t.DType())
		}
		out = append(out, NPYArray{Name: strings.TrimPrefix(v.Path(), "/"), Shape: slices.Clone(t.Shape().Dimensions), Data: data})
	}
	slices.SortFunc(out, func(a, b NPYArray) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// cloneSlice copies a flat slice of a type NPYArray supports, or returns nil.
func cloneSlice(flat any) any {
	switch d := flat.(type) {
	case []float32:
		return slices.Clone(d)
	case []float64:
		return slices.Clone(d)
	case []int8:
		return slices.Clone(d)
	case []int16:
		return slices.Clone(d)
	case []int32:
		return slices.Clone(d)
	case []int64:
		return slices.Clone(d)
	case []uint8:
		return slices.Clone(d)
	case []uint16:
		return slices.Clone(d)
	case []uint32:
		return slices.Clone(d)
	case []uint64:
		return slices.Clone(d)
	case []bool:
		return slices.Clone(d)
	}
	return nil
}

// IsNetVariable reports whether a variable path belongs to a Net: under the scopes "backbone" (with
// batch normalisation's moving averages) and "head_<task>". Optimizer slots, step counters, metrics
// and the random-number state a training run leaves in a store are not.
func IsNetVariable(path string) bool {
	return strings.HasPrefix(path, "/backbone/") || strings.HasPrefix(path, "/head_")
}

// ExportNPZ writes the weights of a model (the variables of store that IsNetVariable accepts, see
// StoreArrays) to an uncompressed NumPy .npz archive at path, for peers outside Go:
// numpy.load(path)["backbone/conv1/weights"].
//
// The layouts are this package's, NHWC networks with HWIO convolution kernels. To rebuild LeNet in
// PyTorch (NCHW): Conv2d.weight = w.transpose(3, 2, 0, 1), Linear.weight = w.T, and, because
// Flatten runs on NHWC maps, the rows of fc1's weights follow (h, w, c) order: permute the NCHW
// feature map to NHWC before flattening, or reorder the rows. internal/parity/peers/lenet.py does it
// and checks the logits against the Go ones to 1e-4.
func ExportNPZ(store *model.Store, path string) error {
	arrays, err := StoreArrays(store, IsNetVariable)
	if err != nil {
		return err
	}
	if len(arrays) == 0 {
		return fmt.Errorf("arch: ExportNPZ %s: the store holds no network variable (backbone/, head_*/) with a value", path)
	}
	return WriteNPZ(path, arrays)
}

// ReadNPZ reads an .npz archive of little-endian, C-order arrays of the dtypes NPYArray supports
// (what WriteNPZ and numpy.savez write for such arrays), in archive order.
func ReadNPZ(path string) ([]NPYArray, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("arch: npz: %w", err)
	}
	defer z.Close()
	var out []NPYArray
	for _, f := range z.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			return nil, fmt.Errorf("arch: npz %s: entry %q is not a .npy file", path, f.Name)
		}
		r, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("arch: npz %s: %w", path, err)
		}
		a, err := ReadNPY(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("arch: npz %s: %s: %w", path, f.Name, err)
		}
		a.Name = strings.TrimSuffix(f.Name, ".npy")
		out = append(out, a)
	}
	return out, nil
}

var npyHeaderRE = regexp.MustCompile(`^\{'descr': '([<|][a-z][0-9])', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \} *\n$`)

// ReadNPY reads one NPY (format 1.0) array of a supported dtype in C order.
func ReadNPY(r io.Reader) (NPYArray, error) {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return NPYArray{}, fmt.Errorf("npy header: %w", err)
	}
	if string(pre[:6]) != "\x93NUMPY" || pre[6] != 1 {
		return NPYArray{}, fmt.Errorf("not an NPY 1.x file (magic %q, version %d)", pre[:6], pre[6])
	}
	h := make([]byte, binary.LittleEndian.Uint16(pre[8:]))
	if _, err := io.ReadFull(r, h); err != nil {
		return NPYArray{}, fmt.Errorf("npy header: %w", err)
	}
	m := npyHeaderRE.FindStringSubmatch(string(h))
	if m == nil {
		return NPYArray{}, fmt.Errorf("unsupported npy header %q (want a C-order array)", h)
	}
	var shape []int
	size := 1
	for _, f := range strings.Split(m[2], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		d, err := strconv.Atoi(f)
		if err != nil {
			return NPYArray{}, fmt.Errorf("npy shape %q: %w", m[2], err)
		}
		shape = append(shape, d)
		size *= d
	}
	var data any
	switch m[1] {
	case "<f4":
		data = make([]float32, size)
	case "<f8":
		data = make([]float64, size)
	case "|i1":
		data = make([]int8, size)
	case "<i2":
		data = make([]int16, size)
	case "<i4":
		data = make([]int32, size)
	case "<i8":
		data = make([]int64, size)
	case "|u1":
		data = make([]uint8, size)
	case "<u2":
		data = make([]uint16, size)
	case "<u4":
		data = make([]uint32, size)
	case "<u8":
		data = make([]uint64, size)
	case "|b1":
		data = make([]bool, size)
	default:
		return NPYArray{}, fmt.Errorf("unsupported npy dtype %q", m[1])
	}
	if err := binary.Read(r, binary.LittleEndian, data); err != nil {
		return NPYArray{}, fmt.Errorf("npy data: %w", err)
	}
	return NPYArray{Shape: shape, Data: data}, nil
}
