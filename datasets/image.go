package datasets

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Crop returns a copy of the rectangle with inclusive corners (x1, y1) and
// (x2, y2), the convention of GTSRB's Roi columns. The rectangle must lie
// inside the image.
func (m *RGB) Crop(x1, y1, x2, y2 int) (*RGB, error) {
	if x1 < 0 || y1 < 0 || x1 > x2 || y1 > y2 || x2 >= m.Width || y2 >= m.Height {
		return nil, fmt.Errorf("crop (%d,%d)-(%d,%d) is not inside the %dx%d image", x1, y1, x2, y2, m.Width, m.Height)
	}
	w, h := x2-x1+1, y2-y1+1
	out := &RGB{Width: w, Height: h, Pix: make([]float32, w*h*3)}
	for y := range h {
		src := ((y1+y)*m.Width + x1) * 3
		copy(out.Pix[y*w*3:(y+1)*w*3], m.Pix[src:src+w*3])
	}
	return out, nil
}

// Resize returns m resized to width x height with Bilinear.
func (m *RGB) Resize(width, height int) *RGB {
	return &RGB{Width: width, Height: height, Pix: Bilinear(m.Pix, m.Height, m.Width, 3, height, width)}
}

// Bilinear resizes one HWC image of h x w x c values to oh x ow x c by
// bilinear interpolation with half-pixel centres and edge clamping, the
// rule of torch.nn.functional.interpolate(mode="bilinear",
// align_corners=False) without antialiasing. Halving a side averages pixel
// pairs exactly; equal sizes return a copy. It panics if len(src) is not
// h*w*c or the output size is not positive.
func Bilinear(src []float32, h, w, c, oh, ow int) []float32 {
	if len(src) != h*w*c || oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("datasets: Bilinear: %d values for %dx%dx%d, output %dx%d", len(src), h, w, c, oh, ow))
	}
	ys0, ys1, yf := bilinearTaps(h, oh)
	xs0, xs1, xf := bilinearTaps(w, ow)
	out := make([]float32, oh*ow*c)
	for y := range oh {
		r0, r1, fy := ys0[y]*w, ys1[y]*w, yf[y]
		for x := range ow {
			a, b, fx := xs0[x], xs1[x], xf[x]
			o := (y*ow + x) * c
			for k := range c {
				top := src[(r0+a)*c+k]*(1-fx) + src[(r0+b)*c+k]*fx
				bot := src[(r1+a)*c+k]*(1-fx) + src[(r1+b)*c+k]*fx
				out[o+k] = top*(1-fy) + bot*fy
			}
		}
	}
	return out
}

// bilinearTaps returns, for each of the out positions, the two source
// indices and the weight of the second.
func bilinearTaps(in, out int) (i0, i1 []int, f []float32) {
	i0, i1, f = make([]int, out), make([]int, out), make([]float32, out)
	scale := float64(in) / float64(out)
	for o := range out {
		s := max((float64(o)+0.5)*scale-0.5, 0)
		lo := min(int(math.Floor(s)), in-1)
		hi := min(lo+1, in-1)
		i0[o], i1[o], f[o] = lo, hi, float32(s-float64(lo))
		if lo == hi {
			f[o] = 0
		}
	}
	return i0, i1, f
}

// fromImage converts any image.Image to RGB values in [0,1]. Gray images
// (Tiny ImageNet has some) get three equal channels.
func fromImage(img image.Image) *RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := &RGB{Width: w, Height: h, Pix: make([]float32, w*h*3)}
	p := out.Pix
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[o : o+w]
			for x, v := range row {
				g := u8(v)
				i := (y*w + x) * 3
				p[i], p[i+1], p[i+2] = g, g, g
			}
		}
	case *image.YCbCr:
		for y := range h {
			for x := range w {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i := (y*w + x) * 3
				p[i], p[i+1], p[i+2] = u8(r), u8(g), u8(bl)
			}
		}
	default:
		for y := range h {
			for x := range w {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				i := (y*w + x) * 3
				p[i], p[i+1], p[i+2] = float32(r)/0xffff, float32(g)/0xffff, float32(bl)/0xffff
			}
		}
	}
	return out
}
