package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
	"github.com/mtlrob/mtlrob/mtlrob/transfer"
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

// `mtlrob tables` renders the transfer records too, to <out>/tables/transfer_<name>.md.
func TestTablesRenderTransferRecords(t *testing.T) {
	out := t.TempDir()
	models := []transfer.Model{{Label: "main only, natural", Tasks: []string{"main"},
		Clean: []transfer.Head{{Task: "main", Accuracy: metric.NewProportion(8, 10), Correct: "1111111100"}}}}
	clean, _ := metric.DecodeOutcomes("1111111100")
	adv, _ := metric.DecodeOutcomes("1110000000")
	mc, err := metric.McNemar(clean, adv)
	if err != nil {
		t.Fatal(err)
	}
	single := transfer.Run{Direction: "Single(main)", Attacked: "main", Source: models[0].Label, Targets: []transfer.Target{{Target: models[0].Label,
		WhiteBox: true, Heads: []transfer.AttackedHead{{Head: transfer.Head{Task: "main", Accuracy: metric.NewProportion(3, 10), Correct: "1110000000"},
			McNemar: mc}}}}}
	rec := &experiment.Record{Kind: transfer.Kind, Name: "toy", Config: transfer.Spec{Dataset: "fashion-mnist"},
		Results: transfer.Results{N: 10, Models: models, Runs: []transfer.Run{single}}}
	if err := experiment.WriteJSON(experiment.RecordPath(resultsDir(out), rec), rec); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run([]string{"tables", "-out", out}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "tables", "transfer_toy.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| Single(main) on main only, natural | 0.062 |") { // 5 discordant pairs, all against: 2/2^5
		t.Errorf("transfer tables lack the McNemar p-value 0.0625:\n%s", md)
	}
	// The record has no fingerprint: its tables say it is stale.
	for _, want := range []string{"Transfer of Single(main)", "| main only, natural | 30.0 [", "| clean | 80.0 [", "STALE: no code fingerprint"} {
		if !strings.Contains(string(md), want) || !strings.Contains(stdout.String(), want) {
			t.Errorf("transfer tables lack %q:\n%s", want, md)
		}
	}
}
