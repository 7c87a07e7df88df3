package datasets

import (
	"slices"
	"testing"
)

func TestDefaultAugmenter(t *testing.T) {
	tests := []struct {
		name string
		want Augmenter
	}{
		{"cifar10", Augmenter{Pad: 4, Flip: true}},
		{"tinyimagenet", Augmenter{Pad: 4, Flip: true}},
		{"svhn", Augmenter{}},
		{"gtsrb", Augmenter{}}, // never flipped: signs are not symmetric
		{"mnist", Augmenter{}},
		{"fashion-mnist", Augmenter{}},
		{"unknown", Augmenter{}},
	}
	for _, tc := range tests {
		if got := DefaultAugmenter(tc.name); got != tc.want {
			t.Errorf("DefaultAugmenter(%q) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if DefaultAugmenter("gtsrb").Flip {
		t.Fatal("GTSRB must never be flipped")
	}
}

// ramp returns n images of h x w x c with distinct positive values: value
// of (image i, row y, col x, channel k) is 1 + k + c*(x + w*(y + h*i)).
func ramp(n, h, w, c int) []float32 {
	out := make([]float32, n*h*w*c)
	for i := range out {
		out[i] = float32(1 + i)
	}
	return out
}

func TestRandomCrop(t *testing.T) {
	const n, h, w, c, pad = 400, 6, 5, 2, 2
	orig := ramp(n, h, w, c)
	imgs := slices.Clone(orig)
	checkErr(t, RandomCrop(imgs, n, h, w, c, pad, NewRand(3)), "")
	seen := map[[2]int]bool{}
	for i := range n {
		src, out := orig[i*h*w*c:(i+1)*h*w*c], imgs[i*h*w*c:(i+1)*h*w*c]
		found := false
		for dy := -pad; dy <= pad && !found; dy++ {
			for dx := -pad; dx <= pad && !found; dx++ {
				if slices.Equal(out, shifted(src, h, w, c, dy, dx)) {
					found = true
					seen[[2]int{dy, dx}] = true
				}
			}
		}
		if !found {
			t.Fatalf("image %d is not a shift of its input by at most %d", i, pad)
		}
	}
	if len(seen) != (2*pad+1)*(2*pad+1) {
		t.Errorf("%d distinct shifts in %d images, want all %d", len(seen), n, (2*pad+1)*(2*pad+1))
	}
	again := slices.Clone(orig)
	RandomCrop(again, n, h, w, c, pad, NewRand(3))
	if !slices.Equal(again, imgs) {
		t.Error("same seed, different crops")
	}
	same := slices.Clone(orig)
	RandomCrop(same, n, h, w, c, 0, NewRand(3))
	if !slices.Equal(same, orig) {
		t.Error("pad 0 changed the images")
	}
	checkErr(t, RandomCrop(imgs[:7], n, h, w, c, pad, NewRand(3)), "RandomCrop: 7 values for a batch of 400x6x5x2")
}

// shifted is the reference crop: output (y, x) = input (y+dy, x+dx), or 0.
func shifted(src []float32, h, w, c, dy, dx int) []float32 {
	out := make([]float32, len(src))
	for y := range h {
		for x := range w {
			sy, sx := y+dy, x+dx
			if sy < 0 || sy >= h || sx < 0 || sx >= w {
				continue
			}
			copy(out[(y*w+x)*c:(y*w+x+1)*c], src[(sy*w+sx)*c:(sy*w+sx+1)*c])
		}
	}
	return out
}

func TestHorizontalFlip(t *testing.T) {
	const n, h, w, c = 200, 3, 4, 3
	orig := ramp(n, h, w, c)
	imgs := slices.Clone(orig)
	checkErr(t, HorizontalFlip(imgs, n, h, w, c, NewRand(9)), "")
	flipped := 0
	for i := range n {
		src, out := orig[i*h*w*c:(i+1)*h*w*c], imgs[i*h*w*c:(i+1)*h*w*c]
		mirror := make([]float32, len(src))
		for y := range h {
			for x := range w {
				copy(mirror[(y*w+x)*c:(y*w+x+1)*c], src[(y*w+w-1-x)*c:(y*w+w-x)*c])
			}
		}
		switch {
		case slices.Equal(out, mirror):
			flipped++
		case !slices.Equal(out, src):
			t.Fatalf("image %d is neither unchanged nor mirrored", i)
		}
	}
	if flipped < 70 || flipped > 130 {
		t.Errorf("%d of %d flipped, want about half", flipped, n)
	}
	// The same draws flip the same images back.
	checkErr(t, HorizontalFlip(imgs, n, h, w, c, NewRand(9)), "")
	if !slices.Equal(imgs, orig) {
		t.Error("flipping twice with one seed is not the identity")
	}
}

func TestAugmenterApply(t *testing.T) {
	const n, h, w, c = 8, 32, 32, 3
	orig := ramp(n, h, w, c)
	imgs := slices.Clone(orig)
	checkErr(t, Augmenter{}.Apply(imgs, n, h, w, c, NewRand(1)), "")
	if !slices.Equal(imgs, orig) || (Augmenter{}).Enabled() {
		t.Error("the zero Augmenter changed the images")
	}
	a := DefaultAugmenter("cifar10")
	checkErr(t, a.Apply(imgs, n, h, w, c, NewRand(1)), "")
	b := slices.Clone(orig)
	a.Apply(b, n, h, w, c, NewRand(1))
	if slices.Equal(imgs, orig) || !slices.Equal(imgs, b) {
		t.Error("Apply is not a deterministic change")
	}
}
