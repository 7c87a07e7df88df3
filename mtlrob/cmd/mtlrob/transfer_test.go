package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad flags of `mtlrob transfer` are usage errors naming the flag, and an -out that cannot be written
// or an unreadable record there stops it, all before any work (no backend line on stdout).
func TestTransferRefusesBadFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	badRecords := t.TempDir()
	bad := filepath.Join(badRecords, "results", "transfer", "fashion-mnist_smallcnn_quick_seed1.json")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"kind": "transfer", "name": `), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"-budget", "huge"}, `-budget: experiment: unknown budget "huge"`, true},
		{[]string{"-budget", "quick", "-dataset", "fashoin"}, `-dataset: task: unknown dataset "fashoin"`, true},
		{[]string{"-budget", "quick", "-arch", "resnet99"}, "-arch: ", true},
		{[]string{"-budget", "quick", "-seed", "x"}, `invalid value "x" for flag -seed`, true},
		{[]string{"-budget", "quick", "extra"}, `unexpected argument "extra"`, true},
		{[]string{"-budget", "quick", "-out", filepath.Join(file, "out")}, "-out " + filepath.Join(file, "out") + ": ", false},
		{[]string{"-budget", "quick", "-out", badRecords}, "unreadable record", false},
	} {
		var stdout, stderr bytes.Buffer
		err := run(append([]string{"transfer", "-quiet"}, tc.args...), &stdout, &stderr)
		if err == nil || errors.Is(err, errUsage) != tc.usage || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("transfer %v: error %v, want a usage error (%v) containing %q", tc.args, err, tc.usage, tc.want)
		}
		if strings.Contains(stdout.String(), "backend:") {
			t.Errorf("transfer %v: started work before refusing: %q", tc.args, stdout.String())
		}
	}
}
