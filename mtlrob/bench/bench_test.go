package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/xla"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}, {nil, 0}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestLeNetFLOPs checks the LeNet count against the layer sizes: 28x28 conv 5x5 1->32, 14x14 conv 5x5
// 32->64, fc 3136->1024, heads 1024->17, two FLOPs per multiply-add.
func TestLeNetFLOPs(t *testing.T) {
	want := 2.0 * (784*25*32 + 196*25*32*64 + 3136*1024 + 1024*17)
	if LeNet.ForwardFLOPs != want || math.Abs(want-27.79e6) > 0.01e6 {
		t.Fatalf("LeNet forward FLOPs %g, want %g (about 27.79 M)", LeNet.ForwardFLOPs, want)
	}
	if got := nominalFLOPs("train", LeNet, 128); got != 3*128*want {
		t.Fatalf("train step FLOPs %g, want three forward passes of 128 images", got)
	}
}

func TestMarkdownHasEverySide(t *testing.T) {
	rep := &Report{Backends: []string{"go", "xla:cpu"}, BackendLines: map[string]string{"go": "go (pure Go)", "xla:cpu": "xla:cpu"},
		Torch: "1.13", TorchThreads: 2, MatmulPeakGFLOPs: 100,
		Results: []Result{{Model: "lenet", Row: "train", Batch: 128,
			Seconds: map[string]float64{"torch": 0.1, "go": 0.2, "xla:cpu": 0.05}, Ratio: map[string]float64{"go": 0.5, "xla:cpu": 2},
			ImagesPerSecond: map[string]float64{}, GFLOPs: map[string]float64{}}}}
	md := rep.Markdown()
	for _, want := range []string{"| lenet | natural train step | 128 | 0.1000", "| 0.50 |", "| 2.00 |", "xla:cpu / PyTorch", "100.0 GFLOP/s"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestResNet18FLOPs checks the count against the layers written out by hand: stem 32*32*9*3*64, stage 1
// four 3x3 64->64 convs at 32x32, stages 2-4 each one downsampling conv, three same-width convs and a
// 1x1 shortcut (each stage totals 134,217,728 multiply-adds), heads 512*15.
func TestResNet18FLOPs(t *testing.T) {
	want := 2.0 * (32*32*9*3*64 + 4*32*32*9*64*64 + 3*134217728 + 512*15)
	if ResNet18.ForwardFLOPs != want || math.Abs(want/2-555.4e6) > 0.1e6 {
		t.Fatalf("ResNet-18 forward FLOPs %.6g, want %.6g (555.4 M multiply-adds)", ResNet18.ForwardFLOPs, want)
	}
}

// BenchmarkLeNetTrainStep times the natural multi-task train step of the LeNet at batch 128 on the
// backend MTLROB_BACKEND names (default: the workbench's choice). Profile it with -cpuprofile.
func BenchmarkLeNetTrainStep(b *testing.B) {
	backend, line, err := xla.Default()
	if err != nil {
		b.Fatal(err)
	}
	b.Log(line)
	w, err := newGoWorkload(backend, LeNet, "train", 128)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.run(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := w.run(); err != nil {
			b.Fatal(err)
		}
	}
}
