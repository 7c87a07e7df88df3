package training

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/mtlrob/mtlrob/internal/testbackends"
	"github.com/mtlrob/mtlrob/internal/testkit"
	"github.com/mtlrob/mtlrob/mtlrob/task"
)

// idCfg is the small run of these tests: 16-example batches, a curve point every 5 steps.
func idCfg(steps int, dir string) Config {
	return Config{Steps: steps, BatchSize: 16, LearningRate: 0.05, EvalEvery: 5, Seed: 5, Quiet: true, CheckpointDir: dir}
}

// otherHalf is the toy "half" task with another label map: {a,c} vs {b,d}.
func otherHalf(t *testing.T) task.Set {
	half, err := task.FromKeys("half", []string{"a", "b", "c", "d"}, []string{"top", "bottom"},
		map[string]string{"a": "top", "b": "bottom", "c": "top", "d": "bottom"})
	if err != nil {
		t.Fatal(err)
	}
	return task.Set{Main: task.Main{Name: "toy", ClassNames: []string{"a", "b", "c", "d"}}, Aux: []task.Map{half}}
}

// TestResumeRefusesAnotherRun: a checkpoint directory is resumed only by the run that wrote it. Another
// task list, label map, dataset, training step, seed or caller identity entry is refused, and the error
// names run.json, the field and both values.
func TestResumeRefusesAnotherRun(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	for _, tc := range []struct {
		name string
		run  func(dir string) error
		want string
	}{
		{"task list", func(dir string) error {
			main, _ := set.Select()
			_, err := Natural(backend, model.NewStore(), toyNet(t, main), main, trainDS, testDS, idCfg(8, dir))
			return err
		}, `tasks: "main,half" there, "main" now`},
		{"label map", func(dir string) error {
			other := otherHalf(t)
			_, err := Natural(backend, model.NewStore(), toyNet(t, other), other, trainDS, testDS, idCfg(8, dir))
			return err
		}, `task half: "a->top b->top c->bottom d->bottom" there, "a->top b->bottom c->top d->bottom" now`},
		{"dataset", func(dir string) error {
			_, err := Natural(backend, model.NewStore(), toyNet(t, set), set, testkit.Quadrants(64, 7, "train"), testDS, idCfg(8, dir))
			return err
		}, "train data: "},
		{"training step", func(dir string) error {
			net := toyNet(t, set)
			step := NaturalStep(net, nil)
			step.Name = "other"
			_, err := Train(backend, model.NewStore(), net, set, trainDS, testDS, idCfg(8, dir), step)
			return err
		}, `training: "natural" there, "other" now`},
		{"seed", func(dir string) error {
			cfg := idCfg(8, dir)
			cfg.Seed = 6
			_, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, cfg)
			return err
		}, "seed: 5 there, 6 now"},
		{"caller identity", func(dir string) error {
			cfg := idCfg(8, dir)
			cfg.Identity = map[string]string{"budget": "quick"}
			_, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, cfg)
			return err
		}, `budget: null there, "quick" now`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, idCfg(4, dir)); err != nil {
				t.Fatal(err)
			}
			err := tc.run(dir)
			if err == nil {
				t.Fatalf("resumed a %s directory with another %s: want an error", dir, tc.name)
			}
			for _, w := range []string{filepath.Join(dir, "run.json"), tc.want, "another checkpoint directory"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestResumeRefusesAnotherSeedsCheckpoint: when run.json says seed 6 but the checkpoint there was
// written by a seed-5 run (two runs that shared a directory), the checkpoint's own seed is compared.
func TestResumeRefusesAnotherSeedsCheckpoint(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	dir5, dir6 := t.TempDir(), t.TempDir()
	six := idCfg(4, dir6)
	six.Seed = 6
	for _, cfg := range []Config{idCfg(4, dir5), six} {
		if _, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, cfg); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir6, runStateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir5, runStateFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	six.CheckpointDir, six.Steps = dir5, 8
	_, err = Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, six)
	if err == nil || !strings.Contains(err.Error(), "seed 5 there, 6 now") || !strings.Contains(err.Error(), filepath.Join(dir5, "checkpoint-")) {
		t.Fatalf("resuming a seed-5 checkpoint as seed 6: error %v, want one naming the checkpoint and both seeds", err)
	}
}

// TestMissingRunStateWithCheckpoints: checkpoints without run.json are not resumed unchecked, nor
// silently overwritten by a fresh start: the error names the directory and says how to recover.
func TestMissingRunStateWithCheckpoints(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	dir := t.TempDir()
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	if _, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, idCfg(5, dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, runStateFile)); err != nil {
		t.Fatal(err)
	}
	_, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, idCfg(10, dir))
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "no run.json") ||
		!strings.Contains(err.Error(), "remove the directory") {
		t.Fatalf("checkpoints without run.json: error %v, want one naming %s, run.json and the remedy", err, dir)
	}
}

// TestLockedDirectoryFailsAtOnce: while a directory is locked, a run on it fails before training,
// naming the directory and the holder's PID; once released, the run goes through.
func TestLockedDirectoryFailsAtOnce(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	dir := t.TempDir()
	unlock, err := LockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDir(dir); err == nil || !errors.Is(err, ErrLocked) {
		t.Fatalf("second LockDir: error %v, want ErrLocked", err)
	}
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	_, err = Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, idCfg(10, dir))
	pid := fmt.Sprintf("process %d", os.Getpid())
	if err == nil || !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), pid) {
		t.Fatalf("run on a locked directory: error %v, want ErrLocked naming %s and %q", err, dir, pid)
	}
	if names, _ := listCheckpoints(dir); len(names) != 0 {
		t.Fatalf("the refused run wrote checkpoints %v", names)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, idCfg(10, dir)); err != nil {
		t.Fatalf("run after unlock: %v", err)
	}
	again, err := LockDir(dir) // the run released its lock on return
	if err != nil {
		t.Fatalf("lock after the run: %v", err)
	}
	again()
}

// TestInterruptThenResumeEqualsUninterrupted: a run whose context is cancelled after step 7 (not a curve
// point) keeps a checkpoint of step 7 (in its checkpoint directory, or in InterruptDir without one),
// returns an *InterruptedError saying where, and the run resumed from there ends with the weights and
// the curve of the run that went through.
func TestInterruptThenResumeEqualsUninterrupted(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	straight := model.NewStore()
	whole, err := Natural(backend, straight, toyNet(t, set), set, trainDS, testDS, idCfg(20, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, temporary := range []bool{false, true} {
		t.Run(fmt.Sprintf("temporary=%v", temporary), func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			afterStepForTest = func(step int) {
				if step == 7 {
					cancel()
				}
			}
			defer func() { afterStepForTest = nil }()
			cfg := idCfg(20, dir)
			if temporary {
				cfg.CheckpointDir, cfg.InterruptDir = "", dir
			}
			cfg.Context = ctx
			_, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, cfg)
			var ie *InterruptedError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled run: error %v, want an *InterruptedError wrapping ErrInterrupted and context.Canceled", err)
			}
			if ie.Step != 7 || ie.Dir != dir || ie.Temporary != temporary {
				t.Fatalf("interrupted at step %d, checkpoint in %q (temporary %v); want step 7 in %s (temporary %v)", ie.Step, ie.Dir, ie.Temporary, dir, temporary)
			}
			names, _ := listCheckpoints(dir)
			if len(names) == 0 || !strings.HasSuffix(names[len(names)-1], "step-00000007") {
				t.Fatalf("checkpoints after the interrupt %v, want the newest at step 7", names)
			}
			afterStepForTest = nil
			resumed := model.NewStore()
			res, err := Natural(backend, resumed, toyNet(t, set), set, trainDS, testDS, idCfg(20, dir))
			if err != nil {
				t.Fatal(err)
			}
			if res.StartStep != 7 {
				t.Fatalf("resumed at step %d, want 7", res.StartStep)
			}
			if got, want := fmt.Sprint(res.Curve), fmt.Sprint(whole.Curve); got != want {
				t.Fatalf("resumed curve\n%s\nuninterrupted\n%s", got, want)
			}
			sameWeights(t, straight, resumed)
		})
	}
}

// TestCorruptNewestCheckpointFallsBack: a truncated newest checkpoint is skipped (and said so) for the
// intact one before it, and the run resumed from there ends as the uninterrupted run; when every
// checkpoint is corrupt, the error names each and says how to recover.
func TestCorruptNewestCheckpointFallsBack(t *testing.T) {
	backend := testbackends.Go(t)
	set := testkit.QuadrantTasks(t)
	trainDS, testDS := testkit.Quadrants(64, 1, "train"), testkit.Quadrants(32, 2, "test")
	straight := model.NewStore()
	if _, err := Natural(backend, straight, toyNet(t, set), set, trainDS, testDS, idCfg(10, t.TempDir())); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Natural(backend, model.NewStore(), toyNet(t, set), set, trainDS, testDS, idCfg(10, dir)); err != nil {
		t.Fatal(err)
	}
	names, err := listCheckpoints(dir)
	if err != nil || len(names) != 2 {
		t.Fatalf("checkpoints %v (%v), want 2", names, err)
	}
	truncate := func(base string) {
		if err := os.WriteFile(filepath.Join(dir, base+checkpoint.BinDataSuffix), []byte{1, 2, 3}, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	truncate(names[1])
	r, err := RestoreLatest(model.NewStore(), dir)
	if err != nil || r.Name != names[0] || len(r.Skipped) != 1 || r.Skipped[0].Name != names[1] {
		t.Fatalf("RestoreLatest: %+v, %v; want %s restored and %s skipped", r, err, names[0], names[1])
	}
	if msg := r.Message(); !strings.Contains(msg, "skipped") || !strings.Contains(msg, names[1]) || !strings.Contains(msg, "restored "+names[0]) {
		t.Fatalf("message %q, want it to name the skipped and the restored checkpoint", msg)
	}
	resumed := model.NewStore()
	res, err := Natural(backend, resumed, toyNet(t, set), set, trainDS, testDS, idCfg(10, dir))
	if err != nil {
		t.Fatal(err)
	}
	if res.StartStep != 5 {
		t.Fatalf("resumed at step %d, want 5 (the intact checkpoint)", res.StartStep)
	}
	sameWeights(t, straight, resumed)
	if _, err := os.Stat(filepath.Join(dir, "corrupt-"+names[1]+checkpoint.JsonNameSuffix)); err != nil {
		t.Errorf("the corrupt checkpoint was not set aside: %v", err)
	}

	names, _ = listCheckpoints(dir)
	for _, n := range names {
		truncate(n)
	}
	_, err = RestoreLatest(model.NewStore(), dir)
	if err == nil || !strings.Contains(err.Error(), "no intact checkpoint") || !strings.Contains(err.Error(), "remove the directory") {
		t.Fatalf("all corrupt: error %v, want one saying so and how to recover", err)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("all corrupt: error %v does not name %s", err, n)
		}
	}
}

// sameWeights fails unless every float variable of want (the progress display's running averages under
// /metrics/, named with a fresh uuid per trainer, aside) is in got with the same shape and bit-identical
// values, and at least 4 were compared.
func sameWeights(t *testing.T, want, got *model.Store) {
	t.Helper()
	n := 0
	for v := range want.IterVariables() {
		if strings.HasPrefix(v.Path(), "/metrics/") {
			continue
		}
		w := got.GetVariable(v.Path())
		if w == nil {
			t.Fatalf("variable %s missing", v.Path())
		}
		a, b := v.MustValue(), w.MustValue()
		if !a.Shape().Equal(b.Shape()) {
			t.Fatalf("%s: shape %s vs %s", v.Path(), a.Shape(), b.Shape())
		}
		if a.Shape().DType.IsFloat() {
			x, y := tensors.MustCopyFlatData[float32](a), tensors.MustCopyFlatData[float32](b)
			for i := range x {
				if x[i] != y[i] {
					t.Fatalf("%s[%d]: want %v, got %v", v.Path(), i, x[i], y[i])
				}
			}
			n++
		}
	}
	if n < 4 {
		t.Fatalf("compared only %d float variables", n)
	}
}
