package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBudgetByName(t *testing.T) {
	t.Setenv(BudgetEnv, "")
	for _, tc := range []struct {
		name, env, want, err string
	}{
		{name: "quick", want: "quick"},
		{name: "", want: "standard"},
		{name: "", env: "paper", want: "paper"},
		{name: "fast", err: `unknown budget "fast": want one of paper, quick, standard`},
	} {
		t.Setenv(BudgetEnv, tc.env)
		b, err := BudgetByName(tc.name)
		if tc.err != "" {
			if err == nil || err.Error() != "experiment: "+tc.err {
				t.Errorf("BudgetByName(%q): error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || b.Name != tc.want {
			t.Errorf("BudgetByName(%q) with $%s=%q = %q, %v; want %q", tc.name, BudgetEnv, tc.env, b.Name, err, tc.want)
		}
	}
	// Every preset must be usable: positive steps and batch, curve points within the run.
	for name, b := range Budgets {
		if b.Name != name || b.Steps <= 0 || b.BatchSize <= 0 || b.EvalEvery <= 0 || b.EvalEvery > b.Steps {
			t.Errorf("budget %q is inconsistent: %+v", name, b)
		}
	}
}

func TestWriteJSONIsAtomicAndReadJSONIsStrict(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "r.json")
	rec := Record{Kind: "k", Name: "n", Results: map[string]float64{"acc": 0.5}}
	if err := WriteJSON(path, rec); err != nil {
		t.Fatal(err)
	}
	// A value that cannot be encoded must leave the previous record intact.
	if err := WriteJSON(path, map[string]any{"bad": func() {}}); err == nil {
		t.Fatal("encoding a func succeeded")
	}
	var back Record
	if err := ReadJSON(path, &back); err != nil {
		t.Fatal(err)
	}
	if back.Kind != "k" || back.Name != "n" {
		t.Fatalf("read back %+v", back)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the record (no temporary files left)", len(entries))
	}
	if err := os.WriteFile(path, []byte(`{"kind":"k","surprise":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReadJSON(path, &back); err == nil || !strings.Contains(err.Error(), "surprise") || !strings.Contains(err.Error(), path) {
		t.Fatalf("unknown field: error %v, want one naming the file and the field", err)
	}
}

func TestProvenanceHasNoMachinePaths(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	p := NewProvenance(7, "xla:cpu (plugin "+filepath.Join(home, "x", "p.so")+")")
	if strings.Contains(p.Backend, home+"/") {
		t.Fatalf("backend line %q keeps the home directory", p.Backend)
	}
	if p.Seed != 7 || p.GoVersion == "" || p.CPUs <= 0 {
		t.Fatalf("incomplete provenance %+v", p)
	}
}
