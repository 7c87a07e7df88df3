package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
		{"grid", "-budget", "quick", "-quiet", "-only", "fashion-mnist_lenet_main_natural"},
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
		{"grid", "-budget", "quick", "-quiet", "-only", "mnist_lenet_main_natural"},
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
