package datasets

import (
	"math"
	"slices"
	"testing"
)

func TestDecodePPM(t *testing.T) {
	p6, err := DecodePPM(ppmBytes(3, 2, 5))
	checkErr(t, err, "")
	if p6.Width != 3 || p6.Height != 2 {
		t.Fatalf("size %dx%d", p6.Width, p6.Height)
	}
	// Pixel (x=2, y=1) is (25, 15, 105).
	if got := p6.Pix[(1*3+2)*3 : (1*3+2)*3+3]; !slices.Equal(got, []float32{25.0 / 255, 15.0 / 255, 105.0 / 255}) {
		t.Errorf("pixel = %v", got)
	}
	p3, err := DecodePPM([]byte("P3 # plain\n2 1 # size\n15\n0 1 2\t15 14\n13\n"))
	checkErr(t, err, "")
	if want := []float32{0, 1.0 / 15, 2.0 / 15, 1, 14.0 / 15, 13.0 / 15}; !slices.Equal(p3.Pix, want) {
		t.Errorf("P3 = %v, want %v", p3.Pix, want)
	}
	wide, err := DecodePPM([]byte("P6 1 1 65535\n\xff\xff\x80\x00\x00\x01"))
	checkErr(t, err, "")
	if want := []float32{1, float32(0x8000) / 65535, 1.0 / 65535}; !slices.Equal(wide.Pix, want) {
		t.Errorf("16-bit = %v, want %v", wide.Pix, want)
	}

	bad := []struct {
		name, data, want string
	}{
		{"magic", "P5 1 1 255\n\x00", `magic "P5", want "P6" or "P3"`},
		{"empty", "", `magic ""`},
		{"truncated raster", "P6 2 2 255\n\x00\x00\x00", "needs 12 raster bytes, file has 3"},
		{"zero size", "P6 0 2 255\n", "size 0x2, want positive"},
		{"maxval", "P6 1 1 70000\n\x00\x00\x00", "maxval 70000, want 1..65535"},
		{"no whitespace", "P6 1 1 255", "want one whitespace byte after maxval"},
		{"header garbage", "P6 1 x 255\n", `height: unexpected byte 'x'`},
		{"huge number", "P6 99999999999 1 255\n", "too long"},
		{"P3 above maxval", "P3 1 1 10 1 2 11", "sample 2 is 11, above maxval 10"},
		{"P3 truncated", "P3 2 1 10 1 2 3 4 5      ", "sample 5 of 6: unexpected end of file"},
		{"P3 too short", "P3 100 100 10 1 2 3", "file is too short"},
		{"P6 above maxval", "P6 1 1 10\n\x00\x0b\x00", "sample 1 is 11, above maxval 10"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePPM([]byte(tc.data))
			checkErr(t, err, "PPM: ", tc.want)
		})
	}
}

func TestCrop(t *testing.T) {
	m, _ := DecodePPM(ppmBytes(6, 5, 0))
	c, err := m.Crop(1, 2, 4, 3) // inclusive: 4x2
	checkErr(t, err, "")
	if c.Width != 4 || c.Height != 2 {
		t.Fatalf("crop is %dx%d, want 4x2", c.Width, c.Height)
	}
	// Crop pixel (0,0) is source (1,2) = (10, 20, 100); (3,1) is (4,3).
	if got := c.Pix[:3]; !slices.Equal(got, []float32{10.0 / 255, 20.0 / 255, 100.0 / 255}) {
		t.Errorf("crop (0,0) = %v", got)
	}
	if got := c.Pix[(1*4+3)*3 : (1*4+3)*3+2]; !slices.Equal(got, []float32{40.0 / 255, 30.0 / 255}) {
		t.Errorf("crop (3,1) = %v", got)
	}
	for _, r := range [][4]int{{0, 0, 6, 4}, {-1, 0, 2, 2}, {3, 0, 2, 2}, {0, 0, 5, 5}} {
		_, err := m.Crop(r[0], r[1], r[2], r[3])
		checkErr(t, err, "is not inside the 6x5 image")
	}
}

func TestBilinear(t *testing.T) {
	// Halving averages pixel pairs exactly.
	src := []float32{0, 0.2, 0.4, 0.6, 1, 1, 0, 0} // 2x4x1
	if got, want := Bilinear(src, 2, 4, 1, 1, 2), []float32{0.55, 0.25}; !approx(got, want, 1e-6) {
		t.Errorf("halving = %v, want %v", got, want)
	}
	// Same size is the identity; constant images stay constant.
	if got := Bilinear(src, 2, 4, 1, 2, 4); !slices.Equal(got, src) {
		t.Errorf("identity = %v", got)
	}
	c := slices.Repeat([]float32{0.25, 0.5, 0.75}, 7*5)
	if got := Bilinear(c, 7, 5, 3, 11, 3); !approx(got, slices.Repeat([]float32{0.25, 0.5, 0.75}, 33), 1e-6) {
		t.Errorf("constant image changed: %v", got)
	}
	// Doubling a 1x2 ramp: half-pixel centres give 0, 0.25, 0.75, 1.
	if got, want := Bilinear([]float32{0, 1}, 1, 2, 1, 1, 4), []float32{0, 0.25, 0.75, 1}; !approx(got, want, 1e-6) {
		t.Errorf("doubling = %v, want %v", got, want)
	}
}

func approx(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}
