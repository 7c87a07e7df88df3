package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/shard"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// TestMain runs the tests as outside a SLURM array job, whatever job runs them: inside one, every grid
// command of the tests would otherwise take its shard of the cells.
func TestMain(m *testing.M) {
	for _, v := range []string{"ID", "COUNT", "MIN", "MAX", "STEP"} {
		os.Unsetenv("SLURM_ARRAY_TASK_" + v)
	}
	os.Exit(m.Run())
}

// clearSLURM hides the SLURM array variables of the environment the tests run in, if any.
func clearSLURM(t *testing.T) {
	for _, v := range []string{"ID", "COUNT", "MIN", "MAX", "STEP"} {
		t.Setenv("SLURM_ARRAY_TASK_"+v, "")
	}
}

func TestGridRejectsBadShard(t *testing.T) {
	clearSLURM(t)
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"grid", "-shard", "4/4", "-list"}, nil, `-shard "4/4": the index must be in 0..3`},
		{[]string{"grid", "-shard", "1", "-list"}, nil, `-shard "1": want i/n`},
		{[]string{"grid", "-list"}, []string{"SLURM_ARRAY_TASK_ID", "x", "SLURM_ARRAY_TASK_COUNT", "4"}, `SLURM_ARRAY_TASK_ID="x" is not an integer`},
		{[]string{"grid", "-list"}, []string{"SLURM_ARRAY_TASK_ID", "2"}, "neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX"},
	} {
		for i := 0; i < len(tc.env); i += 2 {
			t.Setenv(tc.env[i], tc.env[i+1])
		}
		var out, errOut bytes.Buffer
		err := run(tc.args, &out, &errOut)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mtlrob %v (env %v): error %v, want a usage error containing %q", tc.args, tc.env, err, tc.want)
		}
		clearSLURM(t)
	}
}

// TestGridShardsListEveryCellOnce: the shards of the paper grid, from -shard or from SLURM's array
// variables, list every cell exactly once, the cells of one model in one shard.
func TestGridShardsListEveryCellOnce(t *testing.T) {
	clearSLURM(t)
	list := func(args ...string) []string {
		var out, errOut bytes.Buffer
		if err := run(append([]string{"grid", "-budget", "quick", "-list"}, args...), &out, &errOut); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if f := strings.Fields(l); len(f) == 3 {
				lines = append(lines, f[1]+" "+f[2])
			}
		}
		return lines
	}
	whole := list()
	const n = 3
	seen := map[string]int{}
	shardOf := map[string]int{}
	for i := 0; i < n; i++ {
		var cells []string
		if i == 1 { // through the scheduler: --array=5-7
			t.Setenv("SLURM_ARRAY_TASK_ID", "6")
			t.Setenv("SLURM_ARRAY_TASK_MIN", "5")
			t.Setenv("SLURM_ARRAY_TASK_MAX", "7")
			cells = list()
			clearSLURM(t)
		} else {
			cells = list("-shard", fmt.Sprintf("%d/%d", i, n))
		}
		for _, c := range cells {
			seen[c]++
			model := strings.Fields(c)[1]
			if s, ok := shardOf[model]; ok && s != i {
				t.Errorf("model %s in shards %d and %d", model, s, i)
			}
			shardOf[model] = i
		}
	}
	for _, c := range whole {
		if seen[c] != 1 {
			t.Errorf("%s listed by %d shards", c, seen[c])
		}
	}
	if len(seen) != len(whole) || len(whole) < 10 {
		t.Errorf("%d cells in the shards, %d in the grid", len(seen), len(whole))
	}
}

func testCell(analysis string) experiment.Cell {
	return experiment.Cell{Model: experiment.ModelSpec{Dataset: "fashion-mnist", Arch: "smallcnn", Aux: []string{}, Training: "natural",
		Budget: experiment.Budget{Name: "quick"}, Seed: 1}, Analysis: analysis}
}

// TestShardSkipsHeldCellAndReleasesClaims: a cell claimed on another host is skipped and reported,
// and the tables wait for its record; a cell whose run fails releases its claim.
func TestShardSkipsHeldCellAndReleasesClaims(t *testing.T) {
	out := t.TempDir()
	e := experiment.Env{ResultsDir: resultsDir(out)}
	held, bad := testCell("robustness"), testCell("bogus")
	claims := &shard.Claimer{Dir: claimsDir(e.ResultsDir), Host: "node-17", PID: 99}
	lease, err := claims.Acquire(cellJob(e, held).Key)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	err = runShard(e, []experiment.Cell{held}, []experiment.Cell{held}, false, shard.Spec{Index: 0, Count: 2}, filepath.Join(out, "tables"), &log)
	if err != nil || !strings.Contains(log.String(), "skipped, claimed by process 99 on node-17") || !strings.Contains(log.String(), "tables not rendered: 1 of the grid's 1 cells") {
		t.Errorf("runShard = %v, log:\n%s", err, log.String())
	}
	lease.Release()

	log.Reset()
	err = runShard(e, []experiment.Cell{bad}, []experiment.Cell{bad}, false, shard.Spec{}, filepath.Join(out, "tables"), &log)
	if err == nil || !strings.Contains(err.Error(), "unknown analysis") {
		t.Errorf("runShard = %v; want the cell's error", err)
	}
	filepath.WalkDir(claimsDir(e.ResultsDir), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("claim left behind: %s", path)
		}
		return nil
	})
}

// TestInterruptedShardSaysHowToResume: a grid stopped by a signal before a cell ends with the
// interruption, its cause and the command that resumes it.
func TestInterruptedShardSaysHowToResume(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&signalError{2})
	e := experiment.Env{ResultsDir: resultsDir(out), Context: ctx}
	err := runShard(e, []experiment.Cell{testCell("robustness")}, nil, false, shard.Spec{Index: 1, Count: 4}, filepath.Join(out, "tables"), &bytes.Buffer{})
	err = interruptedCell(err, "grid", []string{"-shard", "1/4"})
	var sig *signalError
	if !errors.Is(err, training.ErrInterrupted) || !errors.As(err, &sig) || !strings.Contains(err.Error(), "resume with: mtlrob grid -shard 1/4") {
		t.Errorf("error %v; want an interruption by the signal that says how to resume", err)
	}
}
