package bench

import (
	"errors"
	"maps"
	"math"
	"os/exec"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/mtlrob/mtlrob/xla"

	"github.com/mtlrob/mtlrob/internal/slowtest"
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
func BenchmarkLeNetTrainStep(b *testing.B) { benchmarkRow(b, LeNet, "train") }

// BenchmarkLeNetPGDStep times one gray-box PGD step on the LeNet at batch 128, as BenchmarkLeNetTrainStep.
func BenchmarkLeNetPGDStep(b *testing.B) { benchmarkRow(b, LeNet, "pgd_step") }

// BenchmarkResNet18TrainStep and BenchmarkResNet18PGDStep time ResNet-18's rows at batch 32 (a quarter
// of the table's batch, to keep profiles short).
func BenchmarkResNet18TrainStep(b *testing.B) { benchmarkRowBatch(b, ResNet18, "train", 32) }
func BenchmarkResNet18PGDStep(b *testing.B)   { benchmarkRowBatch(b, ResNet18, "pgd_step", 32) }

func benchmarkRow(b *testing.B, m Model, row string) { benchmarkRowBatch(b, m, row, 128) }

func benchmarkRowBatch(b *testing.B, m Model, row string, batch int) {
	backend, line, err := xla.Default()
	if err != nil {
		b.Fatal(err)
	}
	b.Log(line)
	w, err := newGoWorkload(backend, m, row, batch)
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

// TestWideResNetFLOPs checks WRN-28-10 against its usual count: 5.24 G multiply-adds at 32x32
// (convolutions and the 1x1 shortcuts of the first block of each stage), heads 640*15.
func TestWideResNetFLOPs(t *testing.T) {
	m, err := ModelByName("wrn-28-10")
	if err != nil {
		t.Fatal(err)
	}
	if macs := m.ForwardFLOPs / 2; math.Abs(macs-5.2433e9) > 0.001e9 {
		t.Fatalf("WRN-28-10 forward multiply-adds %.4g, want 5.2433e9", macs)
	}
	if _, err := ModelByName("wrn-11-2"); err == nil {
		t.Fatal("wrn-11-2 (depth not 6n+4) accepted")
	}
}

func TestPlan(t *testing.T) {
	cfg := Config{Rounds: 3, Reps: 3, RowSeconds: 20}
	for _, tc := range []struct {
		est        map[string]float64
		wantRounds int
		wantReps   map[string]int
	}{
		{map[string]float64{"torch": 0.1, "go": 0.5}, 3, map[string]int{"torch": 3, "go": 3}},
		{map[string]float64{"torch": 1, "go": 5}, 3, map[string]int{"torch": 3, "go": 1}},       // go: 4 in all -> 1 per round
		{map[string]float64{"torch": 5, "go": 60}, 1, map[string]int{"torch": 3, "go": 1}},      // go: one repetition
		{map[string]float64{"torch": 30, "go": 60}, 1, map[string]int{"torch": 1, "go": 1}},     // both over the cap
		{map[string]float64{"torch": 4, "go": 9.9}, 2, map[string]int{"torch": 2, "go": 1}},     // go: 2 in all
		{map[string]float64{"torch": 0.01, "go": 0.01}, 3, map[string]int{"torch": 3, "go": 3}}, // never above Rounds x Reps
	} {
		rounds, reps := plan(tc.est, cfg)
		if rounds != tc.wantRounds || !maps.Equal(reps, tc.wantReps) {
			t.Errorf("plan(%v) = %d rounds, %v; want %d, %v", tc.est, rounds, reps, tc.wantRounds, tc.wantReps)
		}
	}
	rounds, reps := plan(map[string]float64{"go": 100}, Config{Rounds: 3, Reps: 3, RowSeconds: -1})
	if rounds != 3 || reps["go"] != 3 {
		t.Errorf("no cap: %d rounds, %v", rounds, reps)
	}
}

// TestGPUBackends checks that the GPU benchmark asks for XLA CUDA and nothing else, and that without
// CUDA it fails with one line that says so.
func TestGPUBackends(t *testing.T) {
	var asked []string
	open := func(line string, err error) func(string) (compute.Backend, string, error) {
		return func(s string) (compute.Backend, string, error) {
			asked = append(asked, s)
			return nil, line, err
		}
	}
	bs, err := GPUBackends(open("xla:cuda (plugin /x/xla_cuda_plugin.so, PJRT v0.115, simd=on)", nil), false)
	if err != nil || len(bs) != 1 || bs[0].Name != "xla:cuda" || asked[0] != GPUSetting {
		t.Fatalf("CUDA present: %v, %v, asked %v", bs, err, asked)
	}
	_, err = GPUBackends(open("", errors.New("xla: no XLA CUDA plugin found\nsecond line")), false)
	if !errors.Is(err, ErrNoCUDA) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "-cpu-fallback") {
		t.Fatalf("no CUDA: want one line wrapping ErrNoCUDA that names -cpu-fallback, got %q", err)
	}
	if _, err = GPUBackends(open("go (pure Go, simd=on)", nil), false); !errors.Is(err, ErrNoCUDA) {
		t.Fatalf("a non-CUDA backend was accepted: %v", err)
	}
	asked = nil
	bs, err = GPUBackends(open("go (pure Go, simd=on)", nil), true)
	if err != nil || bs[0].Name != "go" || asked[0] != "go" {
		t.Fatalf("fallback: %v, %v, asked %v", bs, err, asked)
	}
}

func hasTorch(t *testing.T) {
	t.Helper()
	slowtest.Require(t, "starts the PyTorch reference")
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skip("no torch for /usr/bin/python3 (Debian python3-torch): ", err)
	}
}

// TestTorchCUDAMissing checks that the reference asked for CUDA where torch has none fails at start in one line.
func TestTorchCUDAMissing(t *testing.T) {
	hasTorch(t)
	if exec.Command("/usr/bin/python3", "-c", "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)").Run() == nil {
		t.Skip("torch sees a CUDA device")
	}
	_, err := startTorch("/usr/bin/python3", "torchref.py", 1, "cuda")
	if err == nil || !strings.Contains(err.Error(), "sees no CUDA device") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want one line saying torch sees no CUDA device, got %v", err)
	}
}

// TestGPUFallback runs the GPU benchmark's code path (GPUBackends, GPURows, a WideResNet, the report)
// with its CPU fallback: pure-Go backend against PyTorch on the CPU, batch 2.
func TestGPUFallback(t *testing.T) {
	hasTorch(t)
	bs, err := GPUBackends(xla.Open, true)
	if err != nil {
		t.Fatal(err)
	}
	var ms []Model
	for _, name := range GPUFallback.Models {
		m, err := ModelByName(name)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	rep, err := Run(bs, Config{Models: ms, Rows: GPURows, Batch: GPUFallback.Batch, Rounds: 1, Reps: 1,
		Script: "torchref.py", Threads: 1, Device: "cpu", AllowReference: "code-path check on one thread"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != len(ms)*len(GPURows) || rep.Environment["torch"] == "" || rep.Environment["gomlx"] == "" ||
		rep.Reference == nil || rep.Reference.Kind == "" || rep.CPU.Extensions == "" {
		t.Fatalf("report: %+v", rep)
	}
	for _, r := range rep.Results {
		if r.Seconds["torch"] <= 0 || r.Seconds["go"] <= 0 || r.Reps["go"] != 1 || r.NominalGFLOP <= 0 {
			t.Errorf("row %s %s: %+v", r.Model, r.Row, r)
		}
	}
	md := rep.Markdown()
	for _, want := range []string{"PGD-10 adversarial train step", "PGD-20 evaluation", "wrn-10-1"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// A negative count is refused before anything runs (it used to panic making a slice), naming the field.
func TestRunRefusesNegativeCounts(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Batch: -5}, "Config.Batch = -5: want a count >= 1"},
		{Config{Rounds: -1}, "Config.Rounds = -1"},
		{Config{Reps: -2}, "Config.Reps = -2"},
		{Config{Threads: -1}, "Config.Threads = -1"},
	} {
		_, err := Run(nil, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%+v) error = %v, want it to contain %q", tc.cfg, err, tc.want)
		}
	}
}
