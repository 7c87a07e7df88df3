package notebooks

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mtlrob/mtlrob/internal/slowtest"
)

var (
	fresh       = flag.Bool("fresh", false, "TestNotebooks: start from no result records, so that every notebook computes all of its runs")
	keepRecords = flag.String("keep-records", "", "TestNotebooks: copy the quick-budget result records the notebooks read or wrote into this directory "+
		"(laid out as figures/results), e.g. to refresh the committed quick records after a code change")
)

// TestNotebooks executes every notebook, in reading order, with the GoNB kernel on the quick budget,
// the way `make figures` does but into temporary directories: the committed notebooks and figures/
// are not touched. It fails on any cell that produced an error output, a panic or a non-zero exit
// status, and on any figure of Figures that was not written as a valid PNG and SVG. It takes about
// five minutes, so it runs only with MTLROB_TEST_ALL=1 (as `make test` sets it); it installs nothing:
// `make test` runs `make kernel` first, which installs Jupyter and registers the GoNB kernel, and the
// test skips only when Jupyter is not installed (where it cannot be), failing when Jupyter is there
// but the kernel is not registered.
//
// The notebooks start from a copy of the committed result records (figures/results), as `make
// figures` does: a quick-budget record that is there with the same configuration is read, any other
// is computed. With -fresh they start from none and train everything (about 4 more minutes on two
// cores); the training path itself is tested in mtlrob/experiment and mtlrob/training.
func TestNotebooks(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	slowtest.Require(t, "executes every notebook with the GoNB kernel (about 5 minutes)")
	requireKernel(t, root)
	paths, err := List(filepath.Join(root, "notebooks"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no notebooks found in notebooks/")
	}
	ctx := context.Background()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		defer cancel()
	}
	// One figures directory for the whole run, so that a notebook can use the records of an earlier one.
	figures, out := t.TempDir(), t.TempDir()
	if !*fresh {
		n, err := copyTree(filepath.Join(root, "figures", "results"), filepath.Join(figures, "results"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("starting from %d committed result records (figures/results); -fresh starts from none", n)
	}
	const budget = "quick"
	opt := Options{DataDir: filepath.Join(root, ".jupyter"), OutDir: out, CellTimeout: 45 * time.Minute,
		Env: []string{"MTLROB_BUDGET=" + budget, "MTLROB_FIGURES_DIR=" + figures}}
	start := time.Now()
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".ipynb"), func(t *testing.T) {
			expected, ok := Figures[name]
			if !ok {
				t.Errorf("%s has no entry in Figures (notebooks/run.go): list the figures it writes", name)
			}
			started := time.Now().Add(-time.Second)
			res, err := Execute(ctx, path, opt)
			if err != nil {
				t.Fatalf("%v\n(go test's -timeout must leave room for every notebook: `make test` gives 60m)", err)
			}
			t.Logf("%s: %s", name, res.Duration.Round(time.Second))
			for _, p := range res.Problems {
				t.Error(p)
			}
			for _, p := range CheckFigures(figures, expected, budget, started) {
				t.Error(p)
			}
			if t.Failed() {
				t.Logf("executed copy: %s\nnbconvert log (last lines):\n%s", res.Executed, indent(tail(res.Log, 15)))
			}
		})
	}
	t.Logf("all %d notebooks: %s", len(paths), time.Since(start).Round(time.Second))
	if *keepRecords != "" {
		n, err := copyTree(filepath.Join(figures, "results"), *keepRecords, func(name string) bool { return strings.Contains(name, "_quick_") })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("-keep-records: %d quick-budget records copied to %s", n, *keepRecords)
	}
}

// requireKernel checks that `make kernel` has run: it skips the test when Jupyter is not installed
// (the machine cannot run notebooks) and fails when Jupyter is there but the GoNB kernel is not
// registered in .jupyter/.
func requireKernel(t *testing.T, root string) {
	t.Helper()
	if _, err := os.Stat(DefaultJupyter); err != nil {
		t.Skipf("SKIP: Jupyter is not installed (%v), so the notebooks cannot run; `make kernel` installs it", err)
	}
	if _, err := os.Stat(filepath.Join(root, ".jupyter", "kernels", KernelName, "kernel.json")); err != nil {
		t.Fatalf("the GoNB kernel is not registered (%v): run `make kernel` (make test does)", err)
	}
}

// copyTree copies the regular files under src (which need not exist) whose name keep accepts (nil: all)
// to dst, keeping their place under src, and counts them.
func copyTree(src, dst string, keep func(name string) bool) (int, error) {
	n := 0
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == src {
			return filepath.SkipDir
		}
		if err != nil || !d.Type().IsRegular() || (keep != nil && !keep(d.Name())) {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			return err
		}
		n++
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	return n, err
}

// TestCheckFindsFailures checks Check against an executed notebook with each kind of failure GoNB
// produces (taken from real GoNB output), and a clean one.
func TestCheckFindsFailures(t *testing.T) {
	dir := t.TempDir()
	nb := `{"cells": [
	 {"cell_type": "markdown", "id": "md", "source": "panic: in markdown is fine"},
	 {"cell_type": "code", "id": "ok", "execution_count": 1, "outputs": [
	   {"output_type": "stream", "name": "stdout", "text": ["backend: go\n", "panic: printed on stdout is not a failure\n"]},
	   {"output_type": "stream", "name": "stderr", "text": "a warning on stderr\n"}]},
	 {"cell_type": "code", "id": "panics", "execution_count": 2, "outputs": [
	   {"output_type": "stream", "name": "stderr", "text": ["panic: boom\n", "\n", "goroutine 1 [running]:\n"]}]},
	 {"cell_type": "code", "id": "exits", "execution_count": 3, "outputs": [
	   {"output_type": "stream", "name": "stderr", "text": ["error: experiment: no record\n", "exit status 1\n"]}]},
	 {"cell_type": "code", "id": "error", "execution_count": 4, "outputs": [
	   {"output_type": "error", "ename": "ERROR", "evalue": "exit status 2", "traceback": ["exit status 2"]}]},
	 {"cell_type": "code", "id": "skipped", "execution_count": null, "outputs": []}
	]}`
	path := filepath.Join(dir, "x.ipynb")
	if err := os.WriteFile(path, []byte(nb), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err := Check(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.ID+":"+p.Kind)
	}
	want := []string{"panics:panic", "exits:exit status", "error:error output", "skipped:not executed"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("problems %q, want %q", got, want)
	}
	if !strings.Contains(problems[1].String(), "error: experiment: no record") {
		t.Errorf("the problem does not show the cell's stderr: %s", problems[1])
	}
	if _, err := Check(filepath.Join(dir, "missing.ipynb")); err == nil {
		t.Error("Check of a missing file succeeded")
	}
}

func TestCheckFigures(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny_quick.png"), []byte("\x89PNG\r\n\x1a\nnot really"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tiny_quick.svg"), []byte(`<?xml version="1.0"?><svg></svg>`), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "tiny_quick.svg"), old, old); err != nil {
		t.Fatal(err)
	}
	problems := CheckFigures(dir, []string{"tiny_{budget}", "absent"}, "quick", time.Now().Add(-time.Minute))
	want := []string{"tiny_quick.svg: not written by this run", "tiny_quick.png: not a PNG", "absent.png: not written", "absent.svg: not written"}
	if len(problems) != len(want) {
		t.Fatalf("problems %v, want %q", problems, want)
	}
	for i, p := range problems {
		if got := filepath.Base(p.Where) + ": " + p.Text; !strings.HasPrefix(got, want[i]) {
			t.Errorf("problem %d: %q, want %q...", i, got, want[i])
		}
	}
}

// TestEveryNotebookIsListed keeps Figures and the notebooks in step, and checks the conventions every
// notebook follows: the GoNB kernel, an id on every cell, and a first code cell that imports this
// repository and prints the backend line.
func TestEveryNotebookIsListed(t *testing.T) {
	paths, err := List(".")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range paths {
		names[filepath.Base(p)] = true
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var nb struct {
			Metadata struct {
				KernelSpec struct {
					Name string `json:"name"`
				} `json:"kernelspec"`
			} `json:"metadata"`
			Cells []struct {
				CellType string          `json:"cell_type"`
				ID       string          `json:"id"`
				Source   json.RawMessage `json:"source"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(data, &nb); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if nb.Metadata.KernelSpec.Name != KernelName {
			t.Errorf("%s: kernel %q, want %q", p, nb.Metadata.KernelSpec.Name, KernelName)
		}
		first := ""
		for i, c := range nb.Cells {
			if c.ID == "" {
				t.Errorf("%s: cell %d has no id", p, i)
			}
			if c.CellType == "code" && first == "" {
				first = output{Text: c.Source}.text()
			}
		}
		for _, want := range []string{"-replace=github.com/mtlrob/mtlrob=${GONB_DIR}/..", "nb.Backend()"} {
			if !strings.Contains(first, want) {
				t.Errorf("%s: the first code cell lacks %s", p, want)
			}
		}
	}
	for name := range Figures {
		if !names[name] {
			t.Errorf("Figures lists %s, which is not in notebooks/", name)
		}
	}
}
