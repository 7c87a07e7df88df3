package shard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGrid is a grid of n fake cells (two analyses of n/2 models) whose records live under dir: a
// cell's Run reads its record when it exists, else "computes" it (sleeps a little), appends a line to
// dir/computed.log (O_APPEND: one write per line, from any process) and writes the record by temp
// file and rename, as experiment.WriteJSON does. Two runs computing one cell at once both log it.
func fakeGrid(dir string, n int, tag string) []Job {
	var jobs []Job
	for i := 0; i < n; i++ {
		analysis := []string{"robustness", "directions"}[i%2]
		model := fmt.Sprintf("model-%03d", i/2)
		key := analysis + "/" + model
		rec := filepath.Join(dir, "results", key+".json")
		jobs = append(jobs, Job{
			Key:   key,
			Label: analysis + " " + model,
			Done:  func() bool { _, err := os.Stat(rec); return err == nil },
			Run: func() error {
				if _, err := os.Stat(rec); err == nil {
					return nil
				}
				time.Sleep(2 * time.Millisecond)
				f, err := os.OpenFile(filepath.Join(dir, "computed.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(f, "%s %s\n", key, tag)
				f.Close()
				if err != nil {
					return err
				}
				if err := os.MkdirAll(filepath.Dir(rec), 0o755); err != nil {
					return err
				}
				tmp := fmt.Sprintf("%s.%s.tmp", rec, strings.ReplaceAll(tag, "/", "-"))
				if err := os.WriteFile(tmp, []byte(`{"by":"`+tag+`"}`), 0o644); err != nil {
					return err
				}
				return os.Rename(tmp, rec)
			},
		})
	}
	return jobs
}

// checkOnce checks that every cell of the fake grid was computed exactly once, has its record, and
// that no claim file is left.
func checkOnce(t *testing.T, dir string, n int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "computed.log"))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		key, _, _ := strings.Cut(line, " ")
		count[key]++
	}
	for _, j := range fakeGrid(dir, n, "") {
		if count[j.Key] != 1 {
			t.Errorf("%s computed %d times", j.Key, count[j.Key])
		}
		if !j.Done() {
			t.Errorf("%s has no record", j.Key)
		}
	}
	if len(count) != n {
		t.Errorf("%d cells computed, want %d", len(count), n)
	}
	filepath.WalkDir(filepath.Join(dir, "claims"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left behind: %s", path)
		}
		return nil
	})
}

// runShard runs shard spec of the fake grid of n cells under dir, as one process of several would.
func runShard(dir string, n int, spec Spec, tag string) (Summary, error) {
	jobs := Select(fakeGrid(dir, n, tag), func(j Job) string { return strings.SplitN(j.Key, "/", 2)[1] }, spec)
	return Run(jobs, Options{Claims: &Claimer{Dir: filepath.Join(dir, "claims"), Shard: spec.String()}})
}

// shardSpecs are overlapping shard specs: four shards of the grid, two more processes running it all,
// and two shards of a split in two.
var shardSpecs = []Spec{{0, 4, ""}, {1, 4, ""}, {2, 4, ""}, {3, 4, ""}, {}, {}, {0, 2, ""}, {1, 2, ""}}

// TestGoroutinesRecordEachCellOnce: goroutines of one process running overlapping shards of one grid
// into one directory compute every cell once.
func TestGoroutinesRecordEachCellOnce(t *testing.T) {
	dir := t.TempDir()
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, len(shardSpecs))
	for i, s := range shardSpecs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = runShard(dir, n, s, fmt.Sprintf("g%d", i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("shard %d: %v", i, err)
		}
	}
	checkOnce(t, dir, n)
}

// TestProcessesRecordEachCellOnce: processes (this test binary run again as children) running
// overlapping shards of one grid into one directory compute every cell once, leaving no claim.
func TestProcessesRecordEachCellOnce(t *testing.T) {
	dir := t.TempDir()
	const n = 80
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for _, s := range shardSpecs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildShard$")
		cmd.Env = append(os.Environ(), "SHARD_TEST_DIR="+dir, "SHARD_TEST_CELLS="+strconv.Itoa(n), "SHARD_TEST_SHARD="+s.String())
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d (shard %v): %v\n%s", i, shardSpecs[i], err, outs[i])
		}
	}
	checkOnce(t, dir, n)
	for i, out := range outs { // each child accounts for every cell of its shard
		var ran, done, held, want int
		_, after, _ := strings.Cut(out.String(), "SUMMARY ")
		fmt.Sscan(after, &ran, &done, &held, &want)
		if ran+done+held != want || want == 0 {
			t.Errorf("child %d (shard %v): %d run, %d done elsewhere, %d held, of %d cells", i, shardSpecs[i], ran, done, held, want)
		}
	}
	t.Logf("%d processes, %d cells: each recorded once", len(cmds), n)
}

// TestChildShard is the child process of TestProcessesRecordEachCellOnce.
func TestChildShard(t *testing.T) {
	dir := os.Getenv("SHARD_TEST_DIR")
	if dir == "" {
		t.Skip("run by TestProcessesRecordEachCellOnce")
	}
	n, _ := strconv.Atoi(os.Getenv("SHARD_TEST_CELLS"))
	spec, err := Parse(os.Getenv("SHARD_TEST_SHARD"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := runShard(dir, n, spec, fmt.Sprintf("pid%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	want := len(Select(fakeGrid(dir, n, ""), func(j Job) string { return strings.SplitN(j.Key, "/", 2)[1] }, spec))
	fmt.Printf("SUMMARY %d %d %d %d (%s)\n", len(sum.Ran), len(sum.DoneElsewhere), len(sum.Held), want, sum)
}

// TestChildAbandon is a child process of TestDeadClaimIsTakenOver: it claims a cell and ends without
// releasing it, as a process killed in the middle of a cell does.
func TestChildAbandon(t *testing.T) {
	dir := os.Getenv("SHARD_TEST_ABANDON")
	if dir == "" {
		t.Skip("run by TestDeadClaimIsTakenOver")
	}
	if _, err := (&Claimer{Dir: dir}).Acquire("robustness/m"); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	os.Exit(0)
}

func writeClaim(t *testing.T, c *Claimer, key string, h Claim) string {
	t.Helper()
	path := c.Path(key)
	os.MkdirAll(filepath.Dir(path), 0o755)
	data := fmt.Sprintf(`{"host":%q,"pid":%d,"time":"2026-01-02T03:04:05Z","cell":%q,"token":"feed"}`, h.Host, h.PID, key)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDeadClaimIsTakenOver(t *testing.T) {
	dir := t.TempDir()
	c := &Claimer{Dir: dir}
	child := exec.Command(os.Args[0], "-test.run=^TestChildAbandon$")
	child.Env = append(os.Environ(), "SHARD_TEST_ABANDON="+dir)
	if out, err := child.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	pid := child.Process.Pid
	if Alive(pid) {
		t.Skip("the PID of the ended child was reused at once")
	}
	if h, err := Read(c.Path("robustness/m")); err != nil || h.PID != pid {
		t.Fatalf("claim on file %+v, %v; want the child's (%d)", h, err, pid)
	}
	var log strings.Builder
	ran := 0
	sum, err := Run([]Job{{Key: "robustness/m", Label: "robustness m", Run: func() error { ran++; return nil }}}, Options{Claims: c, Log: &log})
	if err != nil || ran != 1 || len(sum.TookOver) != 1 || sum.TookOver[0].PID != pid {
		t.Fatalf("Run = %+v, %v, ran %d; want the dead claim taken over and the cell run", sum, err, ran)
	}
	if want := "(its process has ended)"; !strings.Contains(log.String(), want) {
		t.Errorf("log %q does not say %q", log.String(), want)
	}
	if want := fmt.Sprintf("took over the claim of process %d on %s since", pid, c.host()); !strings.Contains(log.String(), want) {
		t.Errorf("log %q does not say %q", log.String(), want)
	}
	if _, err := os.Stat(c.Path("robustness/m")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("claim left behind: %v", err)
	}
}

func TestHeldClaims(t *testing.T) {
	dir := t.TempDir()
	c := &Claimer{Dir: dir}
	writeClaim(t, c, "a/live", Claim{Host: c.host(), PID: os.Getppid()})
	writeClaim(t, c, "a/elsewhere", Claim{Host: "node-17", PID: 4242})
	writeClaim(t, c, "a/elsewhere-done", Claim{Host: "node-17", PID: 4242})
	young := c.Path("a/young")
	os.MkdirAll(filepath.Dir(young), 0o755)
	os.WriteFile(young, nil, 0o644)
	old := c.Path("a/old")
	os.WriteFile(old, []byte("{garbage"), 0o644)
	past := time.Now().Add(-time.Hour)
	os.Chtimes(old, past, past)

	for key, why := range map[string]string{"a/live": "running", "a/elsewhere": "another host", "a/young": "being written", "a/old": "unreadable"} {
		_, err := c.Acquire(key)
		var held *HeldError
		if !errors.As(err, &held) || !strings.Contains(held.Why, why) {
			t.Errorf("Acquire(%s) = %v; want it held (%s)", key, err, why)
		}
	}
	var log strings.Builder
	jobs := []Job{
		{Key: "a/elsewhere", Label: "elsewhere", Done: func() bool { return false }, Run: func() error { t.Error("ran a held cell"); return nil }},
		{Key: "a/elsewhere-done", Label: "elsewhere-done", Done: func() bool { return true }, Run: func() error { t.Error("ran a held cell"); return nil }},
	}
	sum, err := Run(jobs, Options{Claims: c, Log: &log})
	if err != nil || len(sum.Held) != 1 || len(sum.DoneElsewhere) != 1 {
		t.Errorf("Run = %+v, %v; want one cell held, one done elsewhere", sum, err)
	}
	if !strings.Contains(log.String(), "skipped, claimed by process 4242 on node-17") || !strings.Contains(log.String(), "elsewhere-done: done by process 4242 on node-17") {
		t.Errorf("log:\n%s", log.String())
	}

	steal := &Claimer{Dir: dir, Steal: true}
	for _, key := range []string{"a/elsewhere", "a/old", "a/young"} {
		l, err := steal.Acquire(key)
		if err != nil || l.TookOver == nil {
			t.Errorf("Acquire(%s) with Steal = %+v, %v; want it taken over", key, l, err)
			continue
		}
		l.Release()
	}
	if _, err := steal.Acquire("a/live"); err == nil {
		t.Error("Steal took the claim of a live process of this host")
	}
}

func TestReleaseLeavesAnotherClaim(t *testing.T) {
	c := &Claimer{Dir: t.TempDir()}
	l, err := c.Acquire("x/m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Acquire("x/m"); err == nil {
		t.Fatal("claimed twice")
	}
	other := &Claimer{Dir: c.Dir, Steal: true, Host: "elsewhere"}
	l2, err := other.Acquire("x/m") // steals: the claim is on another host from its point of view
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err == nil || !strings.Contains(err.Error(), "left in place") {
		t.Errorf("Release of a stolen claim = %v; want it left in place", err)
	}
	if err := l2.Release(); err != nil {
		t.Error(err)
	}
}

// TestInterruptReleasesClaim: a cell that stops on the run's context releases its claim, and the run
// stops with the context's cause.
func TestInterruptReleasesClaim(t *testing.T) {
	c := &Claimer{Dir: t.TempDir()}
	cause := errors.New("signal: interrupt")
	ctx, cancel := context.WithCancelCause(context.Background())
	jobs := []Job{
		{Key: "r/m1", Label: "m1", Run: func() error { cancel(cause); return fmt.Errorf("training interrupted: %w", context.Cause(ctx)) }},
		{Key: "r/m2", Label: "m2", Run: func() error { t.Error("ran after the interrupt"); return nil }},
	}
	_, err := Run(jobs, Options{Claims: c, Context: ctx})
	if !errors.Is(err, cause) {
		t.Errorf("Run = %v; want the interrupt's cause", err)
	}
	for _, key := range []string{"r/m1", "r/m2"} {
		if _, err := os.Stat(c.Path(key)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: claim left behind (%v)", key, err)
		}
	}
	// Stopped before a cell: the error names it.
	_, err = Run(jobs[1:], Options{Claims: c, Context: ctx})
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "before cell 1 of 1 (m2)") {
		t.Errorf("Run = %v; want it stopped before m2", err)
	}
}

// TestLaterCellsRetried: a cell that cannot run now (its model locked by another process) is tried
// again after the others, and waits when only it is left; failed cells are reported and passed over.
func TestLaterCellsRetried(t *testing.T) {
	c := &Claimer{Dir: t.TempDir()}
	errLocked := errors.New("checkpoint directory in use")
	errFailed := errors.New("failed run")
	var order []string
	tries := 0
	jobs := []Job{
		{Key: "r/a", Label: "a", Run: func() error {
			tries++
			order = append(order, "a")
			if tries < 3 {
				return fmt.Errorf("locked: %w", errLocked)
			}
			return nil
		}},
		{Key: "r/b", Label: "b", Run: func() error { order = append(order, "b"); return errFailed }},
		{Key: "r/c", Label: "c", Run: func() error { order = append(order, "c"); return nil }},
	}
	var slept []time.Duration
	sum, err := Run(jobs, Options{Claims: c,
		Later: func(err error) bool { return errors.Is(err, errLocked) }, Failed: func(err error) bool { return errors.Is(err, errFailed) },
		RetryWait: 20 * time.Millisecond, Sleep: func(d time.Duration) { slept = append(slept, d); time.Sleep(d) }})
	if got := strings.Join(order, ","); got != "a,b,c,a,a" {
		t.Errorf("order %s, want a,b,c,a,a", got)
	}
	if len(slept) < 1 || err == nil || !strings.Contains(err.Error(), "1 cells failed: b") || len(sum.Ran) != 2 {
		t.Errorf("Run = %+v, %v, slept %v; want a and c run, b failed, a wait for a alone", sum, err, slept)
	}
}
