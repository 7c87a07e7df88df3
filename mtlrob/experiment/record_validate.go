package experiment

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file checks records as they are read and written: the ranges and required fields of a record
// (ValidateRecord), and what changes when a record is replaced by a recomputed one (DiffRecords,
// reportReplacement). It never changes what a record holds, so it is left out of the code fingerprint
// (RenderOnlyFiles).

// RequiredConditions are the robustness conditions every robustness record holds (see
// LoadOrEvaluateRobustness); a record of a multi-task model also holds "adaptive". "worst-case" is not
// required: records written before it existed lack it (their tables show no worst-case cell).
var RequiredConditions = []string{"clean", "pgd", "pgd-targeted", "cw"}

// recordProblem is one field of a record that is out of range or missing: its JSON path (e.g.
// "results.conditions[2].task_accuracy[0]"), its value as written (empty when missing) and what was
// expected.
type recordProblem struct {
	path, value, want string
}

func (p recordProblem) String() string {
	if p.value == "" {
		return p.path + " is missing: want " + p.want
	}
	return p.path + " = " + p.value + ": want " + p.want
}

// ValidateRecord checks the JSON text of a record read from (or about to be written to) path: kind,
// name and results present; every accuracy, rate and p-value in [0, 1]; every image count (n,
// batch_size) a positive whole number and every other count (correct, rejected, ...) a whole number
// >= 0; times and losses >= 0; and, in a robustness record, the tasks and n present, every condition of
// RequiredConditions (and "adaptive" with auxiliary tasks) present once, each with one accuracy per
// task and per-image outcomes (when present) for each of its images. The error names path, the
// field's JSON path, its value and what was expected (the first problem, and how many more there are).
func ValidateRecord(path string, data []byte) error {
	var root any
	if err := json.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("experiment: %s: %w", path, err)
	}
	probs := checkRecord(root)
	if len(probs) == 0 {
		return nil
	}
	msg := fmt.Sprintf("experiment: %s: %s", path, probs[0])
	if len(probs) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(probs)-1)
	}
	return fmt.Errorf("%s", msg)
}

// checkRecord returns the problems of a decoded record, in file order as far as the checks allow.
func checkRecord(root any) []recordProblem {
	rec, ok := root.(map[string]any)
	if !ok {
		return []recordProblem{{path: "(record)", value: jsonText(root), want: "a JSON object"}}
	}
	var probs []recordProblem
	for _, key := range []string{"kind", "name"} {
		if s, ok := rec[key].(string); !ok || s == "" {
			probs = append(probs, recordProblem{key, jsonText(rec[key]), "a non-empty string"})
		}
	}
	if rec["results"] == nil {
		probs = append(probs, recordProblem{"results", "", "the record's results"})
	}
	for _, key := range []string{"config", "results"} {
		if v, ok := rec[key]; ok {
			probs = append(probs, checkRanges(key, "", v)...)
		}
	}
	if s, ok := rec["seconds"].(float64); ok && s < 0 {
		probs = append(probs, recordProblem{"seconds", jsonText(s), "a time >= 0"})
	}
	if kind, _ := rec["kind"].(string); kind == RobustnessKind {
		if res, ok := rec["results"].(map[string]any); ok {
			probs = append(probs, checkRobustness(res)...)
		}
	}
	return probs
}

// fieldRule is what a numeric field must hold, by its JSON name.
type fieldRule int

const (
	anyNumber  fieldRule = iota
	proportion           // in [0, 1]
	positive             // a whole number > 0
	count                // a whole number >= 0
	nonNeg               // >= 0
)

// ruleFor is the rule of a numeric field named key (an element of an array takes its array's name).
func ruleFor(key string) fieldRule {
	switch {
	case key == "accuracy" || strings.HasSuffix(key, "_accuracy") || strings.HasSuffix(key, "-accuracy") ||
		strings.HasSuffix(key, "_rate") || strings.HasSuffix(key, "-agreement") || strings.HasSuffix(key, "_p"):
		return proportion
	case key == "n":
		return positive
	case key == "correct" || key == "rejected" || key == "accepted_correct" || key == "rejected_wrong" || key == "confusion":
		return count
	case key == "seconds" || strings.HasSuffix(key, "_seconds") || key == "loss" || strings.HasSuffix(key, "_loss"):
		return nonNeg
	}
	return anyNumber
}

// checkRanges applies ruleFor to every number under v, whose JSON path is path and whose field name
// is key.
func checkRanges(path, key string, v any) []recordProblem {
	var probs []recordProblem
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			probs = append(probs, checkRanges(path+"."+k, k, x[k])...)
		}
	case []any:
		for i, e := range x {
			probs = append(probs, checkRanges(fmt.Sprintf("%s[%d]", path, i), key, e)...)
		}
	case float64:
		whole := x == math.Trunc(x)
		switch ruleFor(key) {
		case proportion:
			if !(x >= 0 && x <= 1) {
				probs = append(probs, recordProblem{path, jsonText(x), "an accuracy in [0, 1]"})
			}
		case positive:
			if !(x > 0 && whole) {
				probs = append(probs, recordProblem{path, jsonText(x), "a positive count"})
			}
		case count:
			if !(x >= 0 && whole) {
				probs = append(probs, recordProblem{path, jsonText(x), "a count >= 0"})
			}
		case nonNeg:
			if !(x >= 0) {
				probs = append(probs, recordProblem{path, jsonText(x), "a value >= 0"})
			}
		}
	}
	return probs
}

// checkRobustness checks the required fields of the results of a robustness record.
func checkRobustness(res map[string]any) []recordProblem {
	var probs []recordProblem
	tasks, ok := res["tasks"].([]any)
	if !ok || len(tasks) == 0 {
		probs = append(probs, recordProblem{"results.tasks", jsonText(res["tasks"]), "the model's tasks"})
	}
	n, ok := res["n"].(float64)
	if !ok {
		probs = append(probs, recordProblem{"results.n", jsonText(res["n"]), "the number of images"})
	}
	conds, _ := res["conditions"].([]any)
	want := slices.Clone(RequiredConditions)
	if len(tasks) > 1 {
		want = append(want, "adaptive")
	}
	seen := map[string]bool{}
	for i, c := range conds {
		at := fmt.Sprintf("results.conditions[%d]", i)
		cond, ok := c.(map[string]any)
		if !ok {
			probs = append(probs, recordProblem{at, jsonText(c), "a condition object"})
			continue
		}
		name, _ := cond["name"].(string)
		switch {
		case name == "":
			probs = append(probs, recordProblem{at + ".name", jsonText(cond["name"]), "a condition name"})
		case seen[name]:
			probs = append(probs, recordProblem{at + ".name", jsonText(name), "each condition once"})
		}
		seen[name] = true
		if acc, ok := cond["task_accuracy"].([]any); !ok || (len(tasks) > 0 && len(acc) != len(tasks)) {
			probs = append(probs, recordProblem{at + ".task_accuracy", jsonText(cond["task_accuracy"]),
				fmt.Sprintf("one accuracy per task (%d)", len(tasks))})
		}
		images := n
		if cn, ok := cond["n"].(float64); ok {
			images = cn
		}
		if mc, ok := cond["main_correct"].(string); ok && images > 0 && images == math.Trunc(images) {
			if float64(len(mc)) != images || strings.Trim(mc, "01") != "" {
				probs = append(probs, recordProblem{at + ".main_correct", fmt.Sprintf("%q (%d characters)", abbreviate(mc), len(mc)),
					fmt.Sprintf("one '0' or '1' per image (%g)", images)})
			}
		}
	}
	for _, name := range want {
		if !seen[name] {
			probs = append(probs, recordProblem{fmt.Sprintf("results.conditions[%q]", name), "",
				"every condition of " + strings.Join(want, ", ")})
		}
	}
	return probs
}

// abbreviate shortens a long string for a message.
func abbreviate(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// jsonText is v as JSON (numbers in the shortest form that reads back), for messages.
func jsonText(v any) string {
	if v == nil {
		return "null"
	}
	if _, ok := v.(none); ok {
		return "(none)"
	}
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return abbreviate(string(b))
}

// timingKey reports whether a field holds a wall time, which differs on every run and is not part of
// what a record says (left out of DiffRecords).
func timingKey(key string) bool { return key == "seconds" || strings.HasSuffix(key, "_seconds") }

// DiffRecords lists what differs between two records' config and results (JSON texts), one line per
// changed value, "results.final.accuracy[0]: 0.8075 -> 0.811", in field order; wall times and the
// provenance (time, revision, fingerprint) are not compared. A field present on one side only reads
// "(none)" on the other.
func DiffRecords(old, new []byte) ([]string, error) {
	var a, b map[string]any
	if err := json.Unmarshal(old, &a); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(new, &b); err != nil {
		return nil, err
	}
	var lines []string
	for _, key := range []string{"config", "results"} {
		lines = diffValues(lines, key, key, a[key], b[key])
	}
	return lines, nil
}

// diffValues appends to lines the differences between x and y at path (whose field name is key).
func diffValues(lines []string, path, key string, x, y any) []string {
	if timingKey(key) {
		return lines
	}
	mx, okx := x.(map[string]any)
	my, oky := y.(map[string]any)
	if okx && oky {
		keys := map[string]bool{}
		for k := range mx {
			keys[k] = true
		}
		for k := range my {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			lines = diffValues(lines, path+"."+k, k, orNone(mx, k), orNone(my, k))
		}
		return lines
	}
	ax, okx := x.([]any)
	ay, oky := y.([]any)
	if okx && oky && len(ax) == len(ay) {
		for i := range ax {
			lines = diffValues(lines, fmt.Sprintf("%s[%d]", path, i), key, ax[i], ay[i])
		}
		return lines
	}
	if jsonText(x) != jsonText(y) || fullText(x) != fullText(y) {
		lines = append(lines, fmt.Sprintf("%s: %s -> %s", path, jsonText(x), jsonText(y)))
	}
	return lines
}

// none marks a field that one of two records lacks.
type none struct{}

// orNone is m[k], or none{} when m has no k.
func orNone(m map[string]any, k string) any {
	if v, ok := m[k]; ok {
		return v
	}
	return none{}
}

// fullText is v as unabbreviated JSON, to compare long strings exactly.
func fullText(v any) string {
	if _, ok := v.(none); ok {
		return "(none)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ReplacementLog is where WriteJSON says that it replaced a record whose config or results differ
// (os.Stderr; tests redirect it).
var ReplacementLog io.Writer = os.Stderr

// ReplacementsFile is the file, beside the kind directories of the results directory, to which every
// replacement of a record by one with different numbers is appended (the lines ReplacementLog
// shows, with the time and both git revisions), so that the change is on file with the record's diff.
const ReplacementsFile = "replaced.log"

// maxDiffLines is how many changed values a replacement message lists before "... and N more".
const maxDiffLines = 8

// reportReplacement is called by WriteJSON before data, a record, replaces the file at path: when the
// file holds a record whose config or results differ, it says so on ReplacementLog (the changed
// values, old -> new) and appends the same to ReplacementsFile in the directory above the record's
// kind directory. A missing or unreadable old file is not reported (there is nothing to compare).
func reportReplacement(path string, data []byte) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines, err := DiffRecords(old, data)
	if err != nil || len(lines) == 0 {
		return nil
	}
	var oldRev, newRev struct {
		Provenance struct {
			GitRevision string `json:"git_revision"`
		} `json:"provenance"`
	}
	_ = json.Unmarshal(old, &oldRev)
	_ = json.Unmarshal(data, &newRev)
	logDir := filepath.Dir(filepath.Dir(path))
	name, err := filepath.Rel(logDir, path)
	if err != nil {
		name = filepath.Base(path)
	}
	var b strings.Builder
	fmt.Fprintf(&b, " (written at %s) with different numbers (written at %s), %d values changed:\n",
		orUnknown(oldRev.Provenance.GitRevision), orUnknown(newRev.Provenance.GitRevision), len(lines))
	for i, l := range lines {
		if i == maxDiffLines {
			fmt.Fprintf(&b, "  ... and %d more\n", len(lines)-maxDiffLines)
			break
		}
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(ReplacementLog, "experiment: replacing %s%s", path, b.String())
	// On file the path is relative to the log's directory: the log may be committed with the records.
	logPath := filepath.Join(logDir, ReplacementsFile)
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("experiment: recording the replacement of %s: %w", path, err)
	}
	_, err = fmt.Fprintf(f, "%s replaced %s%s", time.Now().UTC().Format(time.RFC3339), filepath.ToSlash(name), b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("experiment: recording the replacement of %s: %w", path, err)
	}
	return nil
}

// orUnknown is s, or "an unknown revision" when s is empty.
func orUnknown(s string) string {
	if s == "" {
		return "an unknown revision"
	}
	return "git " + s
}
