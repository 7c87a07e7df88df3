package experiment

import (
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
