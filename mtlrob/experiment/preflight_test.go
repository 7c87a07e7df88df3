package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/datasets"
)

func TestCheckWritable(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(root, "a", "b", "out")
	if err := CheckWritable(fresh); err != nil {
		t.Fatalf("CheckWritable(%s) with missing parents: %v", fresh, err)
	}
	if entries, err := os.ReadDir(fresh); err != nil || len(entries) != 0 {
		t.Errorf("CheckWritable left %v in %s (err %v), want it created and empty", entries, fresh, err)
	}
	under := filepath.Join(file, "out")
	if err := CheckWritable(under); err == nil || !strings.Contains(err.Error(), "output directory "+under+" cannot be created") {
		t.Errorf("CheckWritable(%s) = %v, want an error naming it", under, err)
	}
	if os.Geteuid() == 0 {
		return // permissions do not apply to root; the path under a file above covers it
	}
	ro := filepath.Join(root, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	if err := CheckWritable(ro); err == nil || !strings.Contains(err.Error(), "output directory "+ro+" is not writable") {
		t.Errorf("CheckWritable(%s) on a read-only directory = %v, want an error naming it", ro, err)
	}
}

func TestCheckSplits(t *testing.T) {
	split := func(name string, n, h, w, c, classes int) *datasets.Dataset {
		return &datasets.Dataset{Name: "fashion-mnist", Split: name, N: n, Height: h, Width: w, Channels: c,
			ClassNames: make([]string, classes), Source: "/data/" + name}
	}
	train := split("train", 100, 28, 28, 1, 10)
	for _, tc := range []struct {
		name        string
		train, test *datasets.Dataset
		err         string
	}{
		{"ok", train, split("test", 10, 28, 28, 1, 10), ""},
		{"empty test", train, split("test", 0, 28, 28, 1, 10), "fashion-mnist test split (/data/test): 0 examples, want at least 1"},
		{"empty train", split("train", 0, 28, 28, 1, 10), split("test", 10, 28, 28, 1, 10), "fashion-mnist train split (/data/train): 0 examples"},
		{"shape", train, split("test", 10, 32, 32, 3, 10), "images 32x32x3 (height x width x channels), want 28x28x1, the train split's and the model's input"},
		{"classes", train, split("test", 10, 28, 28, 1, 5), "fashion-mnist test split (/data/test): 5 classes, want 10"},
	} {
		err := CheckSplits("fashion-mnist", tc.train, tc.test)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.err)
		}
	}
}

func TestCheckRecords(t *testing.T) {
	write := func(t *testing.T, dir, rel, content string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, rel, content, err string
	}{
		{"truncated robustness", "robustness/x.json", `{"kind": "robustness"`, "unexpected EOF"},
		{"unknown field in a model record", "model/x.json", `{"kind": "model", "bogus": 1}`, `unknown field "bogus"`},
		{"kind of another directory", "model/x.json", `{"kind": "natural-training", "name": "x", "results": {}}`, `a "natural-training" record in the "model" directory`},
		{"natural-training", "natural-training/x.json", `{"kind": "model", "name": "x", "results": {}}`, `a "model" record, want "natural-training"`},
		{"other kind, not JSON", "attack-strength/x.json", `not json`, "invalid character"},
		{"other kind, wrong kind", "attack-strength/x.json", `{"kind": "model"}`, `kind "model", want "attack-strength" (its directory)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := write(t, dir, tc.rel, tc.content)
			err := CheckRecords(dir)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("CheckRecords error = %v, want it to name %s and contain %q", err, path, tc.err)
			}
		})
	}
	if err := CheckRecords(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("CheckRecords on a missing directory: %v", err)
	}
	dir := t.TempDir()
	write(t, dir, "attack-strength/x.json", `{"kind": "attack-strength", "name": "x"}`)
	write(t, dir, "robustness/.x.json.123", `partial`)
	if err := CheckRecords(dir); err != nil {
		t.Errorf("CheckRecords on readable records: %v", err)
	}
}
