package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
)

// Bad counts are usage errors naming the flag and the accepted range, before any backend opens
// (-batch -5 used to panic; 0 was silently replaced by the default).
func TestBenchRefusesBadCounts(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-batch", "-5"}, "-batch -5: want a whole number >= 1"},
		{[]string{"-batch", "0"}, "-batch 0: want a whole number >= 1"},
		{[]string{"-rounds", "0"}, "-rounds 0: want a whole number >= 1"},
		{[]string{"-rounds", "-1"}, "-rounds -1: want a whole number >= 1"},
		{[]string{"-reps", "0"}, "-reps 0: want a whole number >= 1"},
		{[]string{"-row-seconds", "0"}, "-row-seconds 0: want seconds > 0, or negative for no cap"},
		{[]string{"-gpu", "-cpu-fallback", "-batch", "0"}, "-batch 0: want a whole number >= 1"},
		{[]string{"-allow-reference", "quick look", "-batch", "0"}, "-batch 0: want a whole number >= 1"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(append([]string{"bench", "-out", out}, tc.args...), &stdout, &stderr)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench %v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
		if stdout.Len() > 0 || stderr.Len() > 0 {
			t.Errorf("bench %v: wrote %q / %q before refusing", tc.args, stdout.String(), stderr.String())
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("bench with a bad count created %s", out)
	}
}

// An -out that cannot be written is refused before any work starts, naming the flag and the
// directory: a path under a regular file fails for root too (a read-only directory does not).
func TestOutputCheckedBeforeWork(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(file, "out")
	for _, args := range [][]string{
		{"train", "-budget", "quick", "-quiet", "-aux", "none"},
		{"grid", "-budget", "quick", "-quiet", "-only", "fashion-mnist_smallcnn_main_natural"},
		{"eval", "-budget", "quick", "-quiet", "-aux", "none"},
		{"tables"},
		{"bench", "-models", "lenet"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(append(args, "-out", out), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "-out "+out+": ") || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("%v -out %s: error %v, want one naming -out and saying its parent is not a directory", args, out, err)
		}
		if stdout.Len() > 0 {
			t.Errorf("%v: started work before refusing -out: %q", args, stdout.String())
		}
	}
}

// A record that cannot be read stops grid, eval and tables before any cell runs, naming the file.
func TestUnreadableRecordCaughtUpFront(t *testing.T) {
	out := t.TempDir()
	bad := filepath.Join(out, "results", "robustness", "fashion-mnist_lenet_main_natural_quick_seed1.json")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"kind": "robustness", "name": `), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"grid", "-budget", "quick", "-quiet", "-only", "mnist_smallcnn_main_natural"},
		{"eval", "-budget", "quick", "-quiet", "-dataset", "mnist", "-aux", "none"},
		{"tables"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(append(args, "-out", out), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "unreadable record") || !strings.Contains(err.Error(), bad) {
			t.Errorf("%v: error %v, want an unreadable-record error naming %s", args, err, bad)
		}
		if strings.Contains(stdout.String(), "[1/") || strings.Contains(stdout.String(), "backend:") {
			t.Errorf("%v: started work before refusing the record: %q", args, stdout.String())
		}
	}
}

// -arch sets the network of every paper-grid cell (default the small CNN); an unknown one is a usage
// error naming the flag and the networks there are.
func TestGridArch(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in every listed cell
	}{
		{nil, "_smallcnn_"},
		{[]string{"-arch", "lenet"}, "_lenet_"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(append([]string{"grid", "-budget", "quick", "-list"}, tc.args...), &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		if len(lines) != 17 || !strings.Contains(lines[16], "transfer") {
			t.Errorf("%v: %d lines, want the paper grid's 16 cells and its transfer analysis last:\n%s", tc.args, len(lines), stdout.String())
		}
		for _, l := range lines {
			if !strings.Contains(l, tc.want) {
				t.Errorf("%v: cell %q lacks %q", tc.args, l, tc.want)
			}
		}
	}
	// -only may select the transfer analysis alone; the shards leave it to the last one.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-only", "transfer"}, []string{"1 transfer   fashion-mnist_smallcnn_quick_seed1"}},
		{[]string{"-only", "mnist_smallcnn_main_natural"}, []string{"1 robustness fashion-mnist_smallcnn_main_natural_quick_seed1",
			" 2 robustness mnist_smallcnn_main_natural_quick_seed1"}},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(append([]string{"grid", "-budget", "quick", "-list"}, tc.args...), &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := strings.Split(strings.TrimSpace(stdout.String()), "\n"); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%v: listed %q, want %q", tc.args, got, tc.want)
		}
	}
	for _, tc := range []struct {
		shard    string
		transfer bool
	}{{"0/2", false}, {"1/2", true}} {
		var stdout, stderr bytes.Buffer
		if err := run([]string{"grid", "-budget", "quick", "-list", "-shard", tc.shard}, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(stdout.String(), "transfer "); got != tc.transfer {
			t.Errorf("shard %s lists the transfer analysis: %v, want %v", tc.shard, got, tc.transfer)
		}
	}
	var stdout, stderr bytes.Buffer
	err := run([]string{"grid", "-arch", "lenet5", "-list"}, &stdout, &stderr)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-arch") || !strings.Contains(err.Error(), "smallcnn") {
		t.Errorf("-arch lenet5: error %v, want a usage error naming -arch and the networks", err)
	}
}

// A -only that matches no cell is a usage error listing close matches, not a run of 0 cells.
func TestGridOnlyMatchingNothing(t *testing.T) {
	for _, tc := range []struct {
		only, want string
	}{
		{"fashoin", `close matches: "fashion"`},
		{"pgd-ta", `close matches: "pgd", "pgd-at"`},
		{"zzzzzzzzzz", "close matches: none"},
	} {
		var stdout, stderr bytes.Buffer
		err := run([]string{"grid", "-budget", "quick", "-list", "-only", tc.only}, &stdout, &stderr)
		if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `-only "`+tc.only+`" matches none of the 16 cells`) ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("grid -only %s: error %v, want a usage error containing %q", tc.only, err, tc.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := run([]string{"grid", "-budget", "quick", "-list", "-only", "fashion"}, &stdout, &stderr); err != nil || stdout.Len() == 0 {
		t.Errorf("grid -list -only fashion: %v, %q; want the matching cells", err, stdout.String())
	}
}

// An empty or wrongly shaped test split stops train before it starts (it used to be found at the
// first evaluation), naming the split's files and what was expected.
func TestTrainRefusesBadTestSplit(t *testing.T) {
	const real = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(filepath.Join(real, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST not installed in %s", real)
	}
	idx := func(magic uint32, dims ...uint32) []byte {
		var b []byte
		for _, v := range append([]uint32{magic}, dims...) {
			b = append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		}
		size := 1
		for _, d := range dims {
			size *= int(d)
		}
		return append(b, make([]byte, size)...)
	}
	for _, tc := range []struct {
		name string
		n, h uint32
		want string
	}{
		{"empty", 0, 28, "t10k-labels-idx1-ubyte): 0 examples, want at least 1"},
		{"20x20", 10, 20, "images 20x20x1 (height x width x channels), want 28x28x1, the train split's"},
	} {
		dir := t.TempDir()
		for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"} {
			if err := os.Symlink(filepath.Join(real, f), filepath.Join(dir, f)); err != nil {
				t.Fatal(err)
			}
		}
		files := map[string][]byte{"t10k-images-idx3-ubyte": idx(0x803, tc.n, tc.h, tc.h), "t10k-labels-idx1-ubyte": idx(0x801, tc.n)}
		for f, data := range files {
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv("MTLROB_FASHION_MNIST_DIR", dir)
		want := tc.want
		var stdout, stderr bytes.Buffer
		err := run([]string{"train", "-budget", "quick", "-quiet", "-out", t.TempDir()}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "fashion-mnist test split ("+dir+"/t10k-images-idx3-ubyte") {
			t.Errorf("%s test split: error %v, want it to name the test split's files in %s and contain %q", tc.name, err, dir, want)
		}
		if stdout.Len() > 0 {
			t.Errorf("%s test split: started work before refusing it: %q", tc.name, stdout.String())
		}
	}
}

func TestStaleSummary(t *testing.T) {
	stale := []experiment.Staleness{
		{Name: "fashion-mnist_lenet_main_pgd-at_standard_seed1", Reasons: []string{"no code fingerprint"}},
		{Name: "natural_fashion-mnist_lenet_main_standard_seed1", Reasons: []string{"no code fingerprint"}},
		{Name: "mnist_lenet_quick_seed1", Reasons: []string{"code changed", "dirty"}},
		{Name: "fashion-mnist_lenet_graybox_eps0.1_seed1", Reasons: []string{"code changed"}},
	}
	want := "stale by budget: 2 standard; 1 other; 1 quick\nstale by reason: 2 code changed; 2 no code fingerprint; 1 dirty\n"
	if got := staleSummary(stale); got != want {
		t.Errorf("staleSummary:\n%s\nwant:\n%s", got, want)
	}
}
