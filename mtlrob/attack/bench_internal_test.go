package attack

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/xla"
)

// The benchmarks run on the backend package xla picks ($MTLROB_BACKEND; XLA CPU when its plugin is
// installed, else pure Go): MTLROB_BACKEND=go go test -bench . ./mtlrob/attack/ for the pure-Go one.

// lenetBatch is the multi-head LeNet of the Fashion-MNIST task set (main:10, category:3,
// region:4) with fresh weights, and a random batch of 128 28x28x1 images with random labels.
type lenetBatch struct {
	backend compute.Backend
	desc    string
	store   *model.Store
	net     *arch.Net
	x       *tensors.Tensor
	labels  []*tensors.Tensor
}

func newLeNetBatch(tb testing.TB, batch int) *lenetBatch {
	tb.Helper()
	backend, desc, err := xla.Default()
	if err != nil {
		tb.Fatal(err)
	}
	net, err := arch.LeNet([]string{"main", "category", "region"}, []int{10, 3, 4})
	if err != nil {
		tb.Fatal(err)
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, batch*28*28)
	for i := range x {
		x[i] = r.Float32()
	}
	lb := &lenetBatch{backend: backend, desc: desc, store: store, net: net, x: tensors.FromFlatDataAndDimensions(x, batch, 28, 28, 1)}
	for _, k := range net.Classes {
		l := make([]int32, batch)
		for i := range l {
			l[i] = int32(r.IntN(k))
		}
		lb.labels = append(lb.labels, tensors.FromFlatDataAndDimensions(l, batch))
	}
	return lb
}

func (lb *lenetBatch) runner(tb testing.TB, a Attack, loop Loop) *Runner {
	tb.Helper()
	r, err := NewRunner(lb.backend, lb.store, GrayBox(lb.net), a)
	if err != nil {
		tb.Fatal(err)
	}
	r.Loop = loop
	return r
}

// BenchmarkPGDStep times one compiled PGD step (forward, backward, sign step, projection, best
// tracking) of the gray-box attack on the multi-head LeNet at batch 128: the reused step of
// LoopReused.
func BenchmarkPGDStep(b *testing.B) {
	lb := newLeNetBatch(b, 128)
	r := lb.runner(b, PGD{Eps: 0.1, Alpha: 0.01, Steps: 7}, LoopReused)
	if _, err := r.Run(lb.x, lb.labels); err != nil { // compiles
		b.Fatal(err)
	}
	args := []any{lb.x, lb.labels[0]}
	rng, _ := graph.RNGStateFromSeed(1)
	state, err := r.initExec.Call(append(args, rng)...)
	if err != nil {
		b.Fatal(err)
	}
	info := infoTensor(r.prog.info(1))
	b.Logf("backend %s", lb.desc)
	b.ResetTimer()
	for b.Loop() {
		out, err := r.stepExec.Call(append(append(append([]any(nil), args...), info), toAny(state)...)...)
		if err != nil {
			b.Fatal(err)
		}
		finalize(state)
		state = out
	}
}

// BenchmarkPGD7 times the whole gray-box PGD-7 (random start, 7 steps, final evaluation) on the
// multi-head LeNet at batch 128, through Runner.Run with the default loop mode.
func BenchmarkPGD7(b *testing.B) {
	lb := newLeNetBatch(b, 128)
	r := lb.runner(b, PGD{Eps: 8.0 / 255, Alpha: 2.0 / 255, Steps: 7}, LoopAuto)
	if _, err := r.Run(lb.x, lb.labels); err != nil {
		b.Fatal(err)
	}
	b.Logf("backend %s, loop %s", lb.desc, r.mode())
	b.ResetTimer()
	for b.Loop() {
		adv, err := r.Run(lb.x, lb.labels)
		if err != nil {
			b.Fatal(err)
		}
		_ = adv.FinalizeAll()
	}
}

// BenchmarkLoopModes is the measurement behind LoopAuto: PGD-7 and PGD-40 (gray-box LeNet, batch
// 128) with every step unrolled into one executable vs one compiled step reused from the host. It
// reports the first call (compilation included) as first-call-s.
func BenchmarkLoopModes(b *testing.B) {
	lb := newLeNetBatch(b, 128)
	b.Logf("backend %s", lb.desc)
	for _, steps := range []int{7, 40} {
		for _, loop := range []Loop{LoopUnrolled, LoopReused} {
			b.Run(fmt.Sprintf("PGD%d/%s", steps, loop), func(b *testing.B) {
				r := lb.runner(b, PGD{Eps: 0.1, Alpha: 0.01, Steps: steps}, loop)
				start := time.Now()
				if _, err := r.Run(lb.x, lb.labels); err != nil {
					b.Fatal(err)
				}
				first := time.Since(start).Seconds()
				b.ResetTimer()
				for b.Loop() {
					adv, err := r.Run(lb.x, lb.labels)
					if err != nil {
						b.Fatal(err)
					}
					_ = adv.FinalizeAll()
				}
				b.ReportMetric(first, "first-call-s")
				r.Reset()
			})
		}
	}
}

// TestMeasureLoopModes is the interleaved version of BenchmarkLoopModes, for a machine shared with
// other work: it alternates the unrolled and reused runners for several rounds and reports, per
// mode, the first call (compilation included) and the minimum and median of the later calls. Set
// MTLROB_MEASURE_LOOPS=1 to run it (minutes); MTLROB_BACKEND picks the backend.
func TestMeasureLoopModes(t *testing.T) {
	if os.Getenv("MTLROB_MEASURE_LOOPS") != "1" {
		t.Skip("set MTLROB_MEASURE_LOOPS=1 to measure the loop modes")
	}
	lb := newLeNetBatch(t, 128)
	t.Logf("backend %s", lb.desc)
	const rounds = 5
	for _, steps := range []int{7, 40} {
		runners := map[Loop]*Runner{}
		first := map[Loop]float64{}
		times := map[Loop][]float64{}
		loops := []Loop{LoopUnrolled, LoopReused}
		for _, loop := range loops {
			runners[loop] = lb.runner(t, PGD{Eps: 0.1, Alpha: 0.01, Steps: steps}, loop)
			start := time.Now()
			if _, err := runners[loop].Run(lb.x, lb.labels); err != nil {
				t.Fatal(err)
			}
			first[loop] = time.Since(start).Seconds()
		}
		for round := range rounds {
			for i := range loops {
				loop := loops[(i+round)%len(loops)]
				start := time.Now()
				adv, err := runners[loop].Run(lb.x, lb.labels)
				if err != nil {
					t.Fatal(err)
				}
				times[loop] = append(times[loop], time.Since(start).Seconds())
				_ = adv.FinalizeAll()
			}
		}
		for _, loop := range loops {
			ts := slices.Clone(times[loop])
			slices.Sort(ts)
			t.Logf("PGD-%d %-8s first call %6.2fs   min %6.3fs   median %6.3fs   (%.3fs per step at the min)",
				steps, loop, first[loop], ts[0], ts[len(ts)/2], ts[0]/float64(steps+1))
			runners[loop].Reset()
		}
	}
}
