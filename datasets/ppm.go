package datasets

import (
	"fmt"
	"strconv"
)

// RGB is a host-side float image: Height*Width*3 values, HWC row-major.
type RGB struct {
	Width, Height int
	Pix           []float32
}

// DecodePPM decodes a Netpbm PPM image, binary (P6) or plain (P3), with any
// maxval in 1..65535 (two big-endian bytes per P6 sample above 255), into
// values v/maxval. Comments (# to the end of a line) are allowed in the
// header. Only the first image of a multi-image file is read.
func DecodePPM(data []byte) (*RGB, error) {
	if len(data) < 2 || data[0] != 'P' || (data[1] != '6' && data[1] != '3') {
		return nil, fmt.Errorf("PPM: magic %q, want \"P6\" or \"P3\"", data[:min(len(data), 2)])
	}
	plain := data[1] == '3'
	pos := 2
	var hdr [3]int // width, height, maxval
	for i, what := range []string{"width", "height", "maxval"} {
		v, next, err := ppmNumber(data, pos, true)
		if err != nil {
			return nil, fmt.Errorf("PPM: %s: %v", what, err)
		}
		hdr[i], pos = v, next
	}
	w, h, maxval := hdr[0], hdr[1], hdr[2]
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("PPM: size %dx%d, want positive", w, h)
	}
	if maxval <= 0 || maxval > 65535 {
		return nil, fmt.Errorf("PPM: maxval %d, want 1..65535", maxval)
	}
	samples, ok := mulSize(maxBytes, int64(w), int64(h), 3)
	if !ok {
		return nil, fmt.Errorf("PPM: size %dx%d is too large", w, h)
	}
	mv := float32(maxval)
	if plain {
		// Each sample needs a digit and, but for the last, a separator.
		if samples > int64(len(data)-pos+1)/2 {
			return nil, fmt.Errorf("PPM: %dx%d needs %d samples, the file is too short", w, h, samples)
		}
		pix := make([]float32, samples)
		for i := range pix {
			v, next, err := ppmNumber(data, pos, false)
			if err != nil {
				return nil, fmt.Errorf("PPM: sample %d of %d: %v", i, samples, err)
			}
			if v > maxval {
				return nil, fmt.Errorf("PPM: sample %d is %d, above maxval %d", i, v, maxval)
			}
			pix[i], pos = float32(v)/mv, next
		}
		return &RGB{Width: w, Height: h, Pix: pix}, nil
	}
	// P6: exactly one whitespace byte after maxval, then the raster.
	if pos >= len(data) || !isSpace(data[pos]) {
		return nil, fmt.Errorf("PPM: want one whitespace byte after maxval")
	}
	pos++
	bps := int64(1)
	if maxval > 255 {
		bps = 2
	}
	raster := data[pos:]
	if int64(len(raster)) < samples*bps {
		return nil, fmt.Errorf("PPM: %dx%d with maxval %d needs %d raster bytes, file has %d", w, h, maxval, samples*bps, len(raster))
	}
	pix := make([]float32, samples)
	for i := range pix {
		var v int
		if bps == 1 {
			v = int(raster[i])
		} else {
			v = int(raster[2*i])<<8 | int(raster[2*i+1])
		}
		if v > maxval {
			return nil, fmt.Errorf("PPM: sample %d is %d, above maxval %d", i, v, maxval)
		}
		pix[i] = float32(v) / mv
	}
	return &RGB{Width: w, Height: h, Pix: pix}, nil
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

// ppmNumber skips whitespace (and comments in the header) and parses a
// decimal number starting there; it returns the position after it.
func ppmNumber(data []byte, pos int, header bool) (int, int, error) {
	pos = skipSpace(data, pos, header)
	start := pos
	for pos < len(data) && data[pos] >= '0' && data[pos] <= '9' && pos-start < 10 {
		pos++
	}
	if pos == start {
		if pos == len(data) {
			return 0, pos, fmt.Errorf("unexpected end of file")
		}
		return 0, pos, fmt.Errorf("unexpected byte %q, want a decimal number", data[pos])
	}
	if pos < len(data) && data[pos] >= '0' && data[pos] <= '9' {
		return 0, pos, fmt.Errorf("number %s... is too long", data[start:pos])
	}
	v, err := strconv.Atoi(string(data[start:pos]))
	return v, pos, err
}

// skipSpace skips whitespace and, in the header, comments.
func skipSpace(data []byte, pos int, header bool) int {
	for pos < len(data) {
		switch {
		case isSpace(data[pos]):
			pos++
		case header && data[pos] == '#':
			for pos < len(data) && data[pos] != '\n' && data[pos] != '\r' {
				pos++
			}
		default:
			return pos
		}
	}
	return pos
}
