package experiment

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/xla"
)

// validRobustness is the JSON text of a complete hand-made robustness record of a two-task model on 4
// images.
func validRobustness(t *testing.T) map[string]any {
	t.Helper()
	spec := ModelSpec{Dataset: "fashion-mnist", Arch: "lenet", Aux: []string{"category"}, Training: "natural", Budget: tinyBudget, Seed: 1}
	res := RobustnessResults{Model: "lenet", Tasks: []string{"main", "category"}, N: 4}
	for _, name := range []string{"clean", "pgd", "pgd-targeted", "cw", "adaptive"} {
		res.Conditions = append(res.Conditions, Condition{Name: name, TaskAccuracy: []float64{0.25, 0.5}, MainCorrect: "0100"})
	}
	data, err := json.Marshal(&Record{Kind: RobustnessKind, Name: spec.Name(), Config: spec, Results: res})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at returns the object or array element at the dotted path below m ("results.conditions.2").
func at(t *testing.T, m map[string]any, path string) any {
	t.Helper()
	var v any = m
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				t.Fatalf("bad index %q in %s", k, path)
			}
			v = x[i]
		}
	}
	return v
}

// TestReadRefusesMalformedRecords: a hand-edited or truncated robustness record is refused on reading,
// by ReadRobustness as by ReadJSON, with an error naming the file, the field path, the value and what
// was expected (before, an accuracy of 7.5 was shown as 750.00 and a record without conditions lost its
// table row silently).
func TestReadRefusesMalformedRecords(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string // the error after "experiment: <path>: "
	}{
		{"accuracy above 1", func(m map[string]any) {
			at(t, m, "results.conditions.2").(map[string]any)["task_accuracy"] = []any{7.5, 0.5}
		}, "results.conditions[2].task_accuracy[0] = 7.5: want an accuracy in [0, 1]"},
		{"negative accuracy", func(m map[string]any) {
			at(t, m, "results.conditions.0").(map[string]any)["task_accuracy"] = []any{0.25, -0.5}
		}, "results.conditions[0].task_accuracy[1] = -0.5: want an accuracy in [0, 1]"},
		{"no conditions", func(m map[string]any) { delete(at(t, m, "results").(map[string]any), "conditions") },
			`results.conditions["clean"] is missing: want every condition of clean, pgd, pgd-targeted, cw, adaptive (and 4 more problems)`},
		{"no cw", func(m map[string]any) {
			r := at(t, m, "results").(map[string]any)
			r["conditions"] = append(r["conditions"].([]any)[:3], r["conditions"].([]any)[4])
		}, `results.conditions["cw"] is missing: want every condition of clean, pgd, pgd-targeted, cw, adaptive`},
		{"condition twice", func(m map[string]any) {
			at(t, m, "results.conditions.4").(map[string]any)["name"] = "pgd"
		}, `results.conditions[4].name = "pgd": want each condition once (and 1 more problems)`},
		{"zero images", func(m map[string]any) { at(t, m, "results").(map[string]any)["n"] = 0.0 },
			"results.n = 0: want a positive count"},
		{"negative images", func(m map[string]any) { at(t, m, "results").(map[string]any)["n"] = -3.0 },
			"results.n = -3: want a positive count"},
		{"one accuracy for two tasks", func(m map[string]any) {
			at(t, m, "results.conditions.1").(map[string]any)["task_accuracy"] = []any{0.25}
		}, "results.conditions[1].task_accuracy = [0.25]: want one accuracy per task (2)"},
		{"outcomes of other images", func(m map[string]any) {
			at(t, m, "results.conditions.3").(map[string]any)["main_correct"] = "01"
		}, `results.conditions[3].main_correct = "01" (2 characters): want one '0' or '1' per image (4)`},
		{"no tasks", func(m map[string]any) { delete(at(t, m, "results").(map[string]any), "tasks") },
			"results.tasks = null: want the model's tasks"},
		{"no results", func(m map[string]any) { m["results"] = nil }, "results is missing: want the record's results"},
		{"no name", func(m map[string]any) { m["name"] = "" }, `name = "": want a non-empty string`},
		{"negative time", func(m map[string]any) { at(t, m, "results.conditions.0").(map[string]any)["seconds"] = -1.0 },
			"results.conditions[0].seconds = -1: want a value >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := validRobustness(t)
			tc.edit(m)
			data, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, RobustnessKind, "x.json")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			want := "experiment: " + path + ": " + tc.want
			if _, err := ReadRobustness(dir); err == nil || err.Error() != want {
				t.Errorf("ReadRobustness: error %v\nwant %s", err, want)
			}
			var spec ModelSpec
			var res RobustnessResults
			if err := ReadJSON(path, &Record{Config: &spec, Results: &res}); err == nil || err.Error() != want {
				t.Errorf("ReadJSON: error %v\nwant %s", err, want)
			}
		})
	}
	// The unedited record reads.
	dir := t.TempDir()
	data, _ := json.Marshal(validRobustness(t))
	path := filepath.Join(dir, RobustnessKind, "x.json")
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	_ = os.WriteFile(path, data, 0o644)
	if recs, err := ReadRobustness(dir); err != nil || len(recs) != 1 {
		t.Fatalf("a valid record: %d records, %v", len(recs), err)
	}
}

// TestWriteJSONRefusesAMalformedRecord: a record that reading would refuse is not written.
func TestWriteJSONRefusesAMalformedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model", "r.json")
	rec := &Record{Kind: ModelKind, Name: "r", Results: map[string]any{"final": map[string]any{"accuracy": []float64{0.5, 1.25}}}}
	err := WriteJSON(path, rec)
	want := "experiment: " + path + ": results.final.accuracy[1] = 1.25: want an accuracy in [0, 1] (not written)"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the record was written: %v", err)
	}
}

// TestWriteJSONReportsAChangedRecord: replacing a record by one with other numbers says what changed
// (field: old -> new) on ReplacementLog and appends it to replaced.log beside the kind directories;
// replacing it by the same numbers (other times only) says nothing.
func TestWriteJSONReportsAChangedRecord(t *testing.T) {
	var log bytes.Buffer
	defer func(w io.Writer) { ReplacementLog = w }(ReplacementLog)
	ReplacementLog = &log
	dir := t.TempDir()
	path := filepath.Join(dir, "model", "r.json")
	mk := func(acc []float64, seconds float64, rev string) *Record {
		return &Record{Kind: ModelKind, Name: "r", Provenance: Provenance{GitRevision: rev}, Seconds: seconds,
			Config:  map[string]any{"steps": 60},
			Results: map[string]any{"final": map[string]any{"accuracy": acc, "n": 2000}, "train_seconds": seconds}}
	}
	if err := WriteJSON(path, mk([]float64{0.8075, 0.9}, 10, "aaa")); err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 {
		t.Fatalf("a new record was reported as a replacement: %s", log.String())
	}
	// Same numbers, other wall times: nothing to say.
	if err := WriteJSON(path, mk([]float64{0.8075, 0.9}, 12, "bbb")); err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 {
		t.Fatalf("a replacement with the same numbers was reported: %s", log.String())
	}
	if err := WriteJSON(path, mk([]float64{0.811, 0.9}, 13, "ccc")); err != nil {
		t.Fatal(err)
	}
	want := "experiment: replacing " + path + " (written at git bbb) with different numbers (written at git ccc), 1 values changed:\n" +
		"  results.final.accuracy[0]: 0.8075 -> 0.811\n"
	if log.String() != want {
		t.Fatalf("replacement message\n%s\nwant\n%s", log.String(), want)
	}
	onFile, err := os.ReadFile(filepath.Join(dir, ReplacementsFile))
	if err != nil {
		t.Fatal(err)
	}
	if wantOnFile := " replaced model/r.json" + strings.TrimPrefix(want, "experiment: replacing "+path); !strings.HasSuffix(string(onFile), wantOnFile) ||
		strings.Count(string(onFile), "\n") != 2 {
		t.Fatalf("%s holds\n%s\nwant the message", ReplacementsFile, onFile)
	}
}

// TestDiffRecordsIsShort: many changes are listed as a few lines and a count.
func TestDiffRecordsIsShort(t *testing.T) {
	old, _ := json.Marshal(map[string]any{"config": map[string]any{"seed": 1}, "results": map[string]any{"acc": []float64{0, 0, 0, 0}, "gone": 1}})
	new, _ := json.Marshal(map[string]any{"config": map[string]any{"seed": 2}, "results": map[string]any{"acc": []float64{0, 1, 0, 1}, "new": "x"}})
	lines, err := DiffRecords(old, new)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"config.seed: 1 -> 2", "results.acc[1]: 0 -> 1", "results.acc[3]: 0 -> 1", "results.gone: 1 -> (none)", `results.new: (none) -> "x"`}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diff\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestRelativePathsScrubsMachinePaths: whichever way the XLA plugin was chosen, no absolute path
// reaches a record: inside the repository it is <repo>/..., in $MTLROB_XLA_DIR <MTLROB_XLA_DIR>/...,
// anywhere else its base name (before, a plugin outside the repository kept its absolute path).
func TestRelativePathsScrubsMachinePaths(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	xlaDir := t.TempDir()
	t.Setenv(xla.EnvXLADir, xlaDir)
	line := func(plugin string) string { return "xla:cpu (plugin " + plugin + ", PJRT v0.115, simd=on)" }
	for _, tc := range []struct{ name, in, want string }{
		{"in the repository", line(filepath.Join(root, ".xla", "pjrt_c_api_cpu_plugin.so")), line("<repo>/.xla/pjrt_c_api_cpu_plugin.so")},
		{"in MTLROB_XLA_DIR", line(filepath.Join(xlaDir, "pjrt_c_api_cpu_plugin.so")), line("<MTLROB_XLA_DIR>/pjrt_c_api_cpu_plugin.so")},
		{"elsewhere", line("/opt/jax/lib/python3/site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so"), line("<abs>/xla_cuda_plugin.so")},
		{"a directory", "checkpoints in /srv/runs/ck, resumed", "checkpoints in <abs>/ck, resumed"},
		{"the repository itself", root, "<repo>"},
		{"a sibling of the repository", root + "-other/x.so", "<abs>/x.so"},
		{"no path", "go:parallelism=2 (simd=on)", "go:parallelism=2 (simd=on)"},
	} {
		if got := RelativePaths(tc.in); got != tc.want {
			t.Errorf("%s: RelativePaths(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
	p := NewProvenance(1, line("/opt/elsewhere/pjrt_c_api_cpu_plugin.so"))
	if p.Backend != line("<abs>/pjrt_c_api_cpu_plugin.so") {
		t.Errorf("provenance backend line %q keeps a machine path", p.Backend)
	}
}

// TestCommittedRecordsAreValid: every record committed under figures/results passes ValidateRecord, and
// those of the kinds the tables read are read by their typed readers.
func TestCommittedRecordsAreValid(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Skip(err)
	}
	results := filepath.Join(root, "figures", "results")
	paths, err := filepath.Glob(filepath.Join(results, "*", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no committed records under %s: %v", results, err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateRecord(p, data); err != nil {
			t.Error(err)
		}
		if filepath.Base(filepath.Dir(p)) == NaturalKind {
			if _, err := ReadNatural(p); err != nil {
				t.Error(err)
			}
		}
	}
	for kind, read := range map[string]func(string) ([]*Record, error){
		RobustnessKind: ReadRobustness, ModelKind: ReadModels, DirectionsKind: ReadDirections,
		VulnerabilityKind: ReadVulnerability, TaskSearchKind: ReadTaskSearches,
	} {
		if recs, err := read(results); err != nil || len(recs) == 0 {
			t.Errorf("%s: %d records, %v", kind, len(recs), err)
		}
	}
}
