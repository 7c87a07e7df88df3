// Package experiment runs the workbench's experiments and records their results: budget presets,
// provenance (seed, config, backend, versions, git revision), and one JSON record per run, from
// which every table and figure is rendered.
package experiment

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mtlrob/mtlrob/xla"
)

// Provenance says where a result came from: enough to rerun it and to know what it ran on.
type Provenance struct {
	Seed        int64             `json:"seed"`
	Backend     string            `json:"backend"`
	SIMD        bool              `json:"simd"`
	GoVersion   string            `json:"go_version"`
	Modules     map[string]string `json:"modules"`
	GitRevision string            `json:"git_revision"`
	Platform    string            `json:"platform"`
	CPUs        int               `json:"cpus"`
	Time        string            `json:"time"`
	// Fingerprint identifies the code and backend family the record was computed with (nil outside the
	// repository, where it cannot be computed); see CodeFingerprint and StaleRecords.
	Fingerprint *Fingerprint `json:"fingerprint,omitempty"`
}

// NewProvenance fills in everything but the seed and backend line from the running binary and the
// working tree.
func NewProvenance(seed int64, backend string) Provenance {
	p := Provenance{
		Seed: seed, Backend: RelativePaths(backend), SIMD: xla.SIMD, GoVersion: runtime.Version(),
		Modules:  map[string]string{},
		Platform: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(),
		Time: time.Now().UTC().Format(time.RFC3339),
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if strings.HasPrefix(m.Path, "github.com/gomlx/") || m.Path == "gonum.org/v1/plot" {
				p.Modules[m.Path] = m.Version
			}
		}
	}
	p.GitRevision = gitRevision()
	if fp, err := CodeFingerprint(backend); err == nil {
		p.Fingerprint = &fp
		// "+dirty" speaks of the record's code, as the fingerprint does: an edited notebook or README
		// does not make a record dirty, an edited attack does.
		p.GitRevision = strings.TrimSuffix(p.GitRevision, "+dirty")
		if fp.Dirty && p.GitRevision != "unknown" {
			p.GitRevision += "+dirty"
		}
	}
	return p
}

// RelativePaths rewrites the repository root as "<repo>" and the home directory as "~" in s, so that
// records committed to the repository do not carry one machine's paths.
func RelativePaths(s string) string {
	if out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
		if root := strings.TrimSpace(string(out)); root != "" {
			s = strings.ReplaceAll(s, root+string(filepath.Separator), "<repo>"+string(filepath.Separator))
		}
	}
	if home, err := os.UserHomeDir(); err == nil && home != "/" && home != "" {
		s = strings.ReplaceAll(s, home+string(filepath.Separator), "~"+string(filepath.Separator))
	}
	return s
}

// gitRevision is the working tree's HEAD, with "+dirty" when it has uncommitted changes, or "unknown".
// NewProvenance narrows "+dirty" to the fingerprinted code when it can compute the fingerprint.
func gitRevision() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += "+dirty"
	}
	return rev
}

// Record is one result: what was run (Kind, Name, Config), where (Provenance), and what came out.
type Record struct {
	Kind       string     `json:"kind"` // e.g. "natural-training"
	Name       string     `json:"name"` // unique within its kind, e.g. "fashion-mnist_main+category+region_seed1"
	Provenance Provenance `json:"provenance"`
	Config     any        `json:"config"`
	Results    any        `json:"results"`
	Seconds    float64    `json:"seconds"` // wall time of the run
	// Stale lists why a record that was read is no longer what the current code and configuration
	// would compute (empty when it is current). It is set on reading, under the "keep" policy of
	// StaleEnv, and never written: renderers mark such records.
	Stale []string `json:"-"`
}

// As returns v as a T when it holds a T or a non-nil *T. A Record's Config and Results hold values as
// the Run and LoadOr functions and the Read functions return them; As also accepts pointers, for
// records a caller decoded itself.
func As[T any](v any) (T, bool) {
	switch x := v.(type) {
	case T:
		return x, true
	case *T:
		if x != nil {
			return *x, true
		}
	}
	var zero T
	return zero, false
}

// WriteJSON writes v as indented JSON to path through a temporary file and a rename, so a crash
// never leaves a truncated record and never destroys the previous one.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("experiment: encoding %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("experiment: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	return nil
}

// jsonUnmarshalLoose decodes data into v, ignoring unknown fields.
func jsonUnmarshalLoose(data []byte, v any) error { return json.Unmarshal(data, v) }

// ReadJSON decodes the JSON file at path into v, rejecting unknown fields so that a record written by
// another version of the workbench is noticed rather than half-read.
func ReadJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("experiment: %s: %w", path, err)
	}
	return nil
}
