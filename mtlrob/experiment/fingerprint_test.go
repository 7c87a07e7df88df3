package experiment

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckFingerprint(t *testing.T) {
	now := Fingerprint{Code: "aaaa", Backend: "xla:cpu"}
	for _, tc := range []struct {
		name string
		fp   *Fingerprint
		want []string // substrings of the reasons, in order; none = current
	}{
		{"current", &Fingerprint{Code: "aaaa", Backend: "xla:cpu"}, nil},
		{"none", nil, []string{"no code fingerprint"}},
		{"code", &Fingerprint{Code: "bbbb", Backend: "xla:cpu"}, []string{"code changed since (bbbb there, aaaa now)"}},
		{"backend", &Fingerprint{Code: "aaaa", Backend: "go"}, []string{"computed on go, the backend now is xla:cpu"}},
		{"dirty", &Fingerprint{Code: "aaaa", Backend: "xla:cpu", Dirty: true}, []string{"uncommitted code"}},
		{"all", &Fingerprint{Code: "cccc", Backend: "go", Dirty: true}, []string{"code changed", "computed on go", "uncommitted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckFingerprint(Provenance{Fingerprint: tc.fp}, now)
			if len(got) != len(tc.want) {
				t.Fatalf("reasons %q, want %d matching %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("reason %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestCodeFingerprintCoversTheComputation(t *testing.T) {
	fp, err := CodeFingerprint("xla:cpu (plugin x, simd=on)")
	if err != nil {
		t.Fatal(err)
	}
	if len(fp.Code) != 16 || fp.Backend != "xla:cpu" {
		t.Errorf("fingerprint %+v: want 16 hex digits of code and backend xla:cpu", fp)
	}
	// experiment's dependencies in this module: at least datasets, task, arch, attack, training, reject,
	// metric and xla, each with a few files.
	if fp.Files < 40 {
		t.Errorf("fingerprint hashed %d files, want the non-test files of every package experiment is built from", fp.Files)
	}
}

func TestStaleRecordsAndPolicy(t *testing.T) {
	dir := t.TempDir()
	now, err := CodeFingerprint("go")
	if err != nil {
		t.Fatal(err)
	}
	current := now
	current.Dirty = false
	old := now
	old.Code = "0000000000000000"
	for name, fp := range map[string]*Fingerprint{"current": &current, "old": &old, "none": nil} {
		rec := &Record{Kind: "model", Name: name, Provenance: Provenance{Fingerprint: fp}, Results: map[string]any{}}
		if err := WriteJSON(RecordPath(dir, rec), rec); err != nil {
			t.Fatal(err)
		}
	}
	stale, n, err := StaleRecords(dir, "go")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(stale) != 2 || stale[0].Name != "none" || stale[1].Name != "old" {
		t.Fatalf("stale %+v of %d, want none and old of 3", stale, n)
	}
	// An undecodable record is an error that names its file.
	bad := filepath.Join(dir, "model", "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := StaleRecords(dir, "go"); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("undecodable record: error %v, want one naming bad.json", err)
	}

	for _, tc := range []struct {
		env, budget string
		keep, err   bool
	}{
		{"", "quick", false, false}, {"", "standard", true, false}, {"", "paper", true, false}, {"", "tiny", false, false},
		{"keep", "quick", true, false}, {"recompute", "standard", false, false}, {"sometimes", "quick", false, true},
	} {
		t.Setenv(StaleEnv, tc.env)
		keep, err := keepStale(tc.budget)
		if keep != tc.keep || (err != nil) != tc.err {
			t.Errorf("%s=%q budget %s: keep %v err %v, want %v and error %v", StaleEnv, tc.env, tc.budget, keep, err, tc.keep, tc.err)
		}
	}
}

// TestCommittedRecordsAreClean fails when a committed record was computed from uncommitted code: such a
// record cannot be reproduced from any revision.
func TestCommittedRecordsAreClean(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	stale, _, err := StaleRecords(filepath.Join(root, "figures", "results"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stale {
		for _, r := range s.Reasons {
			if strings.Contains(r, "uncommitted") {
				t.Errorf("%s: computed from uncommitted code; recompute it from a clean tree before committing it", s.Path)
			}
		}
	}
}

// A record's git revision says "+dirty" exactly when its fingerprint does: the two speak of the same
// files (an edited notebook does not make a record dirty).
func TestProvenanceDirtyAgreesWithFingerprint(t *testing.T) {
	p := NewProvenance(1, "go")
	if p.Fingerprint == nil {
		t.Skip("no fingerprint: not inside the repository")
	}
	if got := strings.HasSuffix(p.GitRevision, "+dirty"); got != p.Fingerprint.Dirty {
		t.Errorf("git_revision %q but fingerprint.dirty = %v", p.GitRevision, p.Fingerprint.Dirty)
	}
}

// A record can carry a fingerprint rooted at another package of the module (an analysis in a package of
// its own): it covers that package's dependencies, is compared with the code of its own root, and the
// default root's fingerprint keeps its JSON (no "root") and its value.
func TestFingerprintRoots(t *testing.T) {
	const other = "github.com/mtlrob/mtlrob/mtlrob/figure" // imports experiment, so it hashes more files
	def, err := CodeFingerprint("go")
	if err != nil {
		t.Fatal(err)
	}
	same, err := CodeFingerprintAt("", "go")
	if err != nil || same != def {
		t.Fatalf("CodeFingerprintAt(\"\") = %+v, %v; want CodeFingerprint's %+v", same, err, def)
	}
	at, err := CodeFingerprintAt(other, "go")
	if err != nil {
		t.Fatal(err)
	}
	if def.Root != "" || at.Root != other {
		t.Fatalf("roots %q and %q: want empty for the default and %q", def.Root, at.Root, other)
	}
	if at.Files <= def.Files || at.Code == def.Code {
		t.Fatalf("fingerprint at %s: %d files, code %s; want more files than experiment's %d and another code than %s",
			other, at.Files, at.Code, def.Files, def.Code)
	}
	if data, err := json.Marshal(def); err != nil || strings.Contains(string(data), "root") {
		t.Fatalf("default fingerprint JSON %s (%v): want no root field", data, err)
	}
	if _, err := CodeFingerprintAt("fmt", "go"); err == nil {
		t.Error("a root outside the module was accepted")
	}
	if got := FingerprintRootOf(Provenance{}); got != FingerprintRoot {
		t.Errorf("root of a provenance without fingerprint = %q", got)
	}
	if p := NewProvenanceAt(other, 1, "go"); p.Fingerprint == nil || p.Fingerprint.Code != at.Code || FingerprintRootOf(p) != other {
		t.Errorf("NewProvenanceAt: fingerprint %+v, want %+v", p.Fingerprint, at)
	}

	dir := t.TempDir()
	clean := func(fp Fingerprint) *Fingerprint { fp.Dirty = false; return &fp }
	wrongRoot := *clean(def)
	wrongRoot.Root = other // the default root's code under another root's name
	for name, fp := range map[string]*Fingerprint{"default": clean(def), "other": clean(at), "wrong-root": &wrongRoot} {
		rec := &Record{Kind: "model", Name: name, Provenance: Provenance{Fingerprint: fp}, Results: map[string]any{}}
		if err := WriteJSON(RecordPath(dir, rec), rec); err != nil {
			t.Fatal(err)
		}
	}
	stale, n, err := StaleRecords(dir, "go")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(stale) != 1 || stale[0].Name != "wrong-root" || !strings.Contains(stale[0].Reasons[0], "code changed") {
		t.Fatalf("stale %+v of %d: want only wrong-root, for its code, of 3", stale, n)
	}
	t.Setenv(StaleEnv, "recompute")
	for _, tc := range []struct {
		fp   *Fingerprint
		want bool
	}{{clean(def), true}, {clean(at), true}, {&wrongRoot, false}} {
		rec := &Record{Provenance: Provenance{Fingerprint: tc.fp}}
		if use, err := UseStored(rec, true, "quick", "go"); err != nil || use != tc.want {
			t.Errorf("UseStored of a record rooted at %q with code %s: %v, %v; want %v", tc.fp.Root, tc.fp.Code, use, err, tc.want)
		}
	}
	if why := CheckFingerprint(Provenance{Fingerprint: clean(at)}, def); len(why) != 1 || !strings.Contains(why[0], "fingerprinted at "+other) {
		t.Errorf("a fingerprint compared with another root's: reasons %q", why)
	}
}

// TestFingerprintSourceIgnoresOnlyCommentsAndLayout: a comment or a layout change leaves a file's
// fingerprint as it is; any change the compiler sees (a token, a directive) changes it.
func TestFingerprintSourceIgnoresOnlyCommentsAndLayout(t *testing.T) {
	const base = "package p\n\n// F doubles x.\nfunc F(x int) int {\n\treturn 2 * x // twice\n}\n"
	cases := []struct {
		name, src string
		same      bool
	}{
		{"identical", base, true},
		{"doc comment reworded", "package p\n\n// F returns 2x (Eq. 3 of docs/algorithms.md).\n// It never fails.\nfunc F(x int) int {\n\treturn 2 * x // twice\n}\n", true},
		{"comment removed", "package p\n\nfunc F(x int) int {\n\treturn 2 * x\n}\n", true},
		{"block comment added", "package p\n\n/* F */ func F(x int) int {\n\treturn 2 * x\n}\n", true},
		{"comment between statements", "package p\n\nfunc F(x int) int {\n\t// the answer\n\n\treturn 2 * x\n}\n", true},
		{"layout", "package p\nfunc F(x int) int { return 2*x }\n", true},
		{"explicit semicolon", "package p\nfunc F(x int) int { return 2*x; }\n", true},
		{"operand", "package p\n\nfunc F(x int) int {\n\treturn 3 * x\n}\n", false},
		{"operator", "package p\n\nfunc F(x int) int {\n\treturn 2 + x\n}\n", false},
		{"identifier", "package p\n\nfunc F(y int) int {\n\treturn 2 * y\n}\n", false},
		{"string with //", "package p\n\nfunc F(x int) int {\n\t_ = \"// not a comment\"\n\treturn 2 * x\n}\n", false},
		{"build constraint", "//go:build amd64\n\npackage p\n\nfunc F(x int) int {\n\treturn 2 * x\n}\n", false},
		{"compiler directive", "package p\n\n//go:noinline\nfunc F(x int) int {\n\treturn 2 * x\n}\n", false},
	}
	want, err := fingerprintSource("base.go", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fingerprintSource("case.go", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if same := bytes.Equal(got, want); same != tc.same {
				t.Errorf("same fingerprint input = %v, want %v:\n%s\nvs\n%s", same, tc.same, got, want)
			}
		})
	}
	cgo := []byte("package p\n\n// #include <math.h>\nimport \"C\"\n")
	if got, err := fingerprintSource("cgo.go", cgo); err != nil || !bytes.Equal(got, cgo) {
		t.Errorf("a cgo file must be hashed whole (its preamble is C): got %q, %v", got, err)
	}
	if _, err := fingerprintSource("bad.go", []byte("package p\n\nvar s = \"unterminated\n")); err == nil || !strings.Contains(err.Error(), "bad.go") {
		t.Errorf("a file that does not scan: err %v, want an error naming bad.go", err)
	}
}
