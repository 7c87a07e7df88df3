package attack

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Loop is how a Runner executes an attack's k steps.
type Loop int

const (
	// LoopAuto picks the faster mode for the backend (unrolled on pure Go, reused on XLA); see Runner.
	LoopAuto Loop = iota
	// LoopUnrolled builds all k steps of a restart into one executable.
	LoopUnrolled
	// LoopReused compiles one step and calls it k times from the host (plus a start and an end
	// executable).
	LoopReused
)

func (l Loop) String() string {
	return [...]string{"auto", "unrolled", "reused"}[l]
}

// Runner runs an attack host-side: built once per (store, victim, attack) and compiled on its
// first call (one executable per input shape), then reused for every batch.
//
// Loop modes. LoopAuto builds the k steps of a restart unrolled into one executable on the pure-Go
// backend (when k <= 100), and reuses one compiled step k times on the other backends (XLA), for
// longer attacks and for CW (whose early abort skips steps from the host). Measured on the
// gray-box multi-head LeNet at batch 128 (TestMeasureLoopModes: modes interleaved, minimum of 5
// runs, first call = compilation + one run; 2 CPU cores shared with other work, load 3 to 9):
//
//	                  unrolled   reused   first call unrolled / reused
//	pure Go, PGD-7     3.22 s    3.44 s    3.7 s / 3.5 s
//	pure Go, PGD-40   16.6 s    17.9 s    19.8 s / 18.8 s
//	XLA CPU, PGD-7     0.37 s    0.43 s    2.1 s / 1.3 s     (under heavier load: 0.72 s / 0.69 s)
//	XLA CPU, PGD-40    2.05 s    2.16 s    7.0 s / 4.4 s     (under heavier load: 5.58 s / 4.57 s; 22 s / 10 s)
//
// On the pure-Go backend the unrolled loop was faster in every run (5-20%: the reused step pays
// model.Exec's per-call work at every step) for the same compilation time, and its peak memory is
// lower (594 MB vs 834 MB for PGD-40). On XLA CPU the steady-state difference is within the noise
// of the shared machine while the unrolled executable takes about twice as long to compile, so
// the reused step is kept there. Both modes compute the same attack (TestLoopModesAgree).
//
// Weights: the executables read the store's variables when they run, but with gomlx v0.28.16 an
// executable compiled once and called again after a training step changed the store may keep
// using the old weights (mtlrob/training/stale_test.go). A Runner is therefore bound to the weights
// of its first call: build a new Runner (or call Reset) after training further.
//
// Randomness: call n of Run (counting from 0, across Reset) draws the random start of restart r
// from an RNG state derived from (Seed, n, r) only, so two runners with the same seed give the same
// result on the same batches, and restart r is the same whatever the number of restarts.
type Runner struct {
	// Seed of the random starts (and of MP's weights). Default 0.
	Seed int64
	// Loop selects how the steps run. Default LoopAuto.
	Loop Loop

	backend compute.Backend
	store   *model.Store
	victim  Victim
	attack  Attack
	prog    program
	parts   []*Runner // MP: one runner per attacked head
	calls   int

	unrolledExec, initExec, stepExec, finishExec, mergeExec, mixExec *model.Exec
}

// NewRunner checks the attack against the victim and returns its runner; it compiles nothing yet.
func NewRunner(backend compute.Backend, store *model.Store, v Victim, a Attack) (r *Runner, err error) {
	if backend == nil || store == nil || a == nil {
		return nil, errors.New("attack: NewRunner needs a backend, a store and an attack")
	}
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("attack: %v", p)
		}
	}()
	r = &Runner{backend: backend, store: store, victim: v, attack: a}
	v.Tasks() // validates
	if mp, ok := a.(MP); ok {
		for _, part := range mp.parts(v) {
			pr, err := NewRunner(backend, store, v, part)
			if err != nil {
				return nil, err
			}
			r.parts = append(r.parts, pr)
		}
		return r, nil
	}
	r.prog = a.program(v)
	if e, ok := r.prog.(*engine); ok {
		e.dir.Tasks(v.Tasks()) // validates the direction against the victim
	}
	return r, nil
}

// Attack returns the runner's attack.
func (r *Runner) Attack() Attack { return r.attack }

// Reset drops the compiled executables: the next Run compiles again and so reads the store's
// current weights. The call counter (and so the random starts) goes on.
func (r *Runner) Reset() {
	for _, e := range []**model.Exec{&r.unrolledExec, &r.initExec, &r.stepExec, &r.finishExec, &r.mergeExec, &r.mixExec} {
		if *e != nil {
			(*e).Finalize()
			*e = nil
		}
	}
	for _, p := range r.parts {
		p.Reset()
	}
}

// maxAutoUnrolled is the longest restart LoopAuto unrolls.
const maxAutoUnrolled = 100

// mode is the loop mode Run uses.
func (r *Runner) mode() Loop {
	if r.Loop != LoopAuto || r.prog == nil { // MP: each head's runner picks its own
		return r.Loop
	}
	_, isCW := r.prog.(*cwProgram)
	if r.backend.String() == "go" && !isCW && r.prog.steps() <= maxAutoUnrolled {
		return LoopUnrolled // the pure-Go backend (gobackend.BackendName)
	}
	return LoopReused
}

// Run attacks the batch x ([batch, ...], values in [0,1]) with labels indexed by task (int32
// [batch] tensors; those of heads the victim hides may be nil) and returns the adversarial batch,
// of x's shape and dtype. x and the labels are not modified.
func (r *Runner) Run(x *tensors.Tensor, labels []*tensors.Tensor) (adv *tensors.Tensor, err error) {
	if x == nil || x.Shape().Rank() < 2 {
		return nil, errors.New("attack: Run needs a batch x of rank >= 2")
	}
	tasks := r.victim.Tasks()
	args := []any{x}
	for _, t := range tasks {
		if t >= len(labels) || labels[t] == nil {
			return nil, fmt.Errorf("attack: Run: no labels for attacked head %d (%s)", t, r.victim.Net.Tasks[t])
		}
		if d := labels[t].Shape(); d.Rank() != 1 || d.Dimensions[0] != x.Shape().Dimensions[0] {
			return nil, fmt.Errorf("attack: Run: labels of head %d have shape %s, want [%d]", t, d, x.Shape().Dimensions[0])
		}
		args = append(args, labels[t])
	}
	call := r.calls
	r.calls++
	defer func() {
		if p := recover(); p != nil {
			adv, err = nil, fmt.Errorf("attack: %s on %s: %v", r.attack.Name(), r.victim, p)
		}
	}()
	if r.parts != nil {
		return r.runMP(call, x, labels)
	}
	var best []*tensors.Tensor
	for round := range r.prog.rounds() {
		rng, err := RNGStateFromSeed(mixSeed(r.Seed, call, round))
		if err != nil {
			return nil, err
		}
		var out []*tensors.Tensor
		if r.mode() == LoopUnrolled {
			out, err = r.runUnrolled(args, rng)
		} else {
			out, err = r.runReused(args, rng)
		}
		if err != nil {
			return nil, fmt.Errorf("attack: %s on %s: %w", r.attack.Name(), r.victim, err)
		}
		if best == nil {
			best = out
			continue
		}
		if best, err = r.merge(out, best); err != nil {
			return nil, err
		}
	}
	finalize(best[1:])
	return best[0], nil
}

// mixSeed derives the seed of restart round of call n (splitmix64 of the three).
func mixSeed(seed int64, call, round int) int64 {
	z := uint64(seed) ^ uint64(call)*0x9E3779B97F4A7C15 ^ uint64(round)*0xBF58476D1CE4E5B9
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return int64(z ^ (z >> 31))
}

// graphCtx rebuilds the attack's context inside an executable from its inputs x, labels....
func (r *Runner) graphCtx(s *model.Scope, in []*Node) (*ctx, []*Node) {
	tasks := r.victim.Tasks()
	labels := make([]*Node, len(r.victim.Net.Tasks))
	for i, t := range tasks {
		labels[t] = in[1+i]
	}
	c := newCtx(s, r.victim, in[0], labels, r.prog.targetRule())
	return c, in[1+len(tasks):]
}

func (r *Runner) newExec(name string, fn func(s *model.Scope, in []*Node) []*Node) (*model.Exec, error) {
	e, err := model.NewExec(r.backend, r.store, fn)
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(8)
	return e.WithName(name), nil
}

func (r *Runner) runUnrolled(args []any, rng *tensors.Tensor) ([]*tensors.Tensor, error) {
	if r.unrolledExec == nil {
		e, err := r.newExec("attack-unrolled", func(s *model.Scope, in []*Node) []*Node {
			c, rest := r.graphCtx(s, in)
			state := rest[0]
			adv, f, sc := unrolledRound(c, r.prog, stateRandom(&state))
			return []*Node{adv, f, sc}
		})
		if err != nil {
			return nil, err
		}
		r.unrolledExec = e
	}
	return r.unrolledExec.Call(append(args, rng)...)
}

func (r *Runner) runReused(args []any, rng *tensors.Tensor) ([]*tensors.Tensor, error) {
	skipper, canSkip := r.prog.(interface {
		skip(t int) (check bool, next int)
		alive(st []*Node) *Node
	})
	if r.initExec == nil {
		var err error
		r.initExec, err = r.newExec("attack-init", func(s *model.Scope, in []*Node) []*Node {
			c, rest := r.graphCtx(s, in)
			state := rest[0]
			return r.prog.init(c, stateRandom(&state))
		})
		if err != nil {
			return nil, err
		}
		r.stepExec, err = r.newExec("attack-step", func(s *model.Scope, in []*Node) []*Node {
			c, rest := r.graphCtx(s, in)
			infoVec := ConvertDType(rest[0], c.x.DType())
			n := infoVec.Shape().Dimensions[0]
			info := make([]*Node, n)
			for i := range n {
				info[i] = Squeeze(SliceAxis(infoVec, 0, AxisElem(i)), 0)
			}
			out := r.prog.step(c, rest[1:], info)
			if canSkip {
				out = append(out, skipper.alive(out))
			}
			return out
		})
		if err != nil {
			return nil, err
		}
		r.finishExec, err = r.newExec("attack-finish", func(s *model.Scope, in []*Node) []*Node {
			c, rest := r.graphCtx(s, in)
			adv, f, sc := r.prog.finish(c, rest)
			return []*Node{adv, f, sc}
		})
		if err != nil {
			return nil, err
		}
	}
	state, err := r.initExec.Call(append(args, rng)...)
	if err != nil {
		return nil, err
	}
	n := len(state)
	steps := r.prog.steps()
	for t := 0; t < steps; t++ {
		in := append(append(append([]any(nil), args...), infoTensor(r.prog.info(t))), toAny(state)...)
		out, err := r.stepExec.Call(in...)
		if err != nil {
			return nil, err
		}
		finalize(state)
		state = out[:n]
		if canSkip {
			if check, next := skipper.skip(t); check && next > t+1 && !out[n].Value().(bool) {
				t = next - 1
			}
			finalize(out[n:])
		}
	}
	out, err := r.finishExec.Call(append(append([]any(nil), args...), toAny(state)...)...)
	finalize(state)
	return out, err
}

func infoTensor(v []float64) *tensors.Tensor {
	f := make([]float32, len(v))
	for i := range v {
		f[i] = float32(v[i])
	}
	return tensors.FromFlatDataAndDimensions(f, len(f))
}

func toAny(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		_ = t.FinalizeAll()
	}
}

// merge keeps, per sample, the stronger of two rounds' (adv, fooled, score).
func (r *Runner) merge(a, b []*tensors.Tensor) ([]*tensors.Tensor, error) {
	if r.mergeExec == nil {
		e, err := r.newExec("attack-merge", func(_ *model.Scope, in []*Node) []*Node {
			adv, f, s := mergeRounds(in[0], in[1], in[2], in[3], in[4], in[5])
			return []*Node{adv, f, s}
		})
		if err != nil {
			return nil, err
		}
		r.mergeExec = e
	}
	out, err := r.mergeExec.Call(a[0], a[1], a[2], b[0], b[1], b[2])
	finalize(a)
	finalize(b)
	return out, err
}

// runMP runs MP's per-head attacks and mixes them with weights drawn from (Seed, call).
func (r *Runner) runMP(call int, x *tensors.Tensor, labels []*tensors.Tensor) (*tensors.Tensor, error) {
	mp := r.attack.(MP)
	advs := make([]*tensors.Tensor, len(r.parts))
	for i, p := range r.parts {
		p.Seed, p.Loop = mixSeed(r.Seed, call, 1000+i), r.Loop
		a, err := p.Run(x, labels)
		if err != nil {
			return nil, err
		}
		advs[i] = a
	}
	u := rand.New(rand.NewPCG(uint64(mixSeed(r.Seed, call, -1)), 0x4d50)).Float64()
	w := mpWeights(mp.alpha0(), u, len(advs))
	if r.mixExec == nil {
		e, err := r.newExec("attack-mp-mix", func(_ *model.Scope, in []*Node) []*Node {
			x, ws := in[0], ConvertDType(in[1], in[0].DType())
			out := x
			for i, a := range in[2:] {
				wi := Squeeze(SliceAxis(ws, 0, AxisElem(i)), 0)
				out = Add(out, Mul(Sub(a, x), wi))
			}
			return []*Node{ClipScalar(out, 0, 1)}
		})
		if err != nil {
			return nil, err
		}
		r.mixExec = e
	}
	out, err := r.mixExec.Call(append([]any{x, infoTensor(w)}, toAny(advs)...)...)
	finalize(advs)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// Victim returns the runner's victim.
func (r *Runner) Victim() Victim { return r.victim }

// Describe is a one-line description of the runner, for logs and records.
func (r *Runner) Describe() string {
	return fmt.Sprintf("%s on %s, loop %s, seed %d", r.attack.Name(), r.victim, r.mode(), r.Seed)
}
