// Package experiment runs the workbench's experiments and records their results: budget presets,
// provenance (seed, config, backend, versions, git revision), and one JSON record per run, from
// which every table and figure is rendered.
package experiment

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// RelativePaths rewrites the machine paths in s so that records committed to the repository carry
// none: the repository root (as git and the working directory name it, and its real path when that
// differs) becomes "<repo>", the directory $MTLROB_XLA_DIR names "<MTLROB_XLA_DIR>", the home directory
// "~", and any other absolute path is cut to its base name, as "<abs>/name" (e.g. an XLA plugin chosen
// by its absolute path, or reached through a symbolic link that leaves the repository).
func RelativePaths(s string) string {
	return scrubPaths(s, pathRoots())
}

// pathRoot is a directory whose name in a string is replaced by a placeholder.
type pathRoot struct{ dir, placeholder string }

// pathRoots are the directories RelativePaths replaces, in the order they are tried: the repository
// root first (so that a repository inside the home directory is "<repo>"), then $MTLROB_XLA_DIR, then
// the home directory; each as given and as its real path.
func pathRoots() []pathRoot {
	var roots []pathRoot
	add := func(dir, placeholder string) {
		if dir == "" || !filepath.IsAbs(dir) || filepath.Clean(dir) == string(filepath.Separator) {
			return
		}
		roots = append(roots, pathRoot{filepath.Clean(dir), placeholder})
		if real, err := filepath.EvalSymlinks(dir); err == nil && real != filepath.Clean(dir) {
			roots = append(roots, pathRoot{real, placeholder})
		}
	}
	if out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
		add(strings.TrimSpace(string(out)), "<repo>")
	}
	if root, err := RepoRoot(); err == nil {
		add(root, "<repo>")
	}
	add(os.Getenv(xla.EnvXLADir), "<"+xla.EnvXLADir+">")
	if home, err := os.UserHomeDir(); err == nil {
		add(home, "~")
	}
	return roots
}

// absPath matches an absolute path in free text: a "/" at the start or after a space, bracket, quote,
// '=', ',' or ';', up to the next such character.
var absPath = regexp.MustCompile(`(^|[\s(\[=,;'"])(/[^\s()\[\],;'"]*)`)

// scrubPaths replaces each root's directory in s (where a path component ends) by its placeholder,
// then every remaining absolute path by "<abs>/" and its base name.
func scrubPaths(s string, roots []pathRoot) string {
	for _, r := range roots {
		s = replaceDir(s, r.dir, r.placeholder)
	}
	return absPath.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.IndexByte(m, '/')
		return m[:i] + "<abs>/" + filepath.Base(m[i:])
	})
}

// replaceDir replaces dir by placeholder in s wherever it is a whole path prefix: followed by a
// separator, the end of s, or a character that ends a path in free text.
func replaceDir(s, dir, placeholder string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, dir)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		rest := s[i+len(dir):]
		if rest == "" || strings.ContainsRune(string(filepath.Separator)+" \t\n()[],;'\"", rune(rest[0])) {
			b.WriteString(s[:i] + placeholder)
		} else {
			b.WriteString(s[:i+len(dir)])
		}
		s = rest
	}
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
//
// A Record (or *Record) is checked first (ValidateRecord): one that reading would refuse is not
// written. When it replaces a record whose config or results differ, what changed is said on
// ReplacementLog and appended to ReplacementsFile (see reportReplacement): records are recomputed
// when stale, so a replacement is allowed, but never silent.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("experiment: encoding %s: %w", path, err)
	}
	if isRecord(v) {
		if err := ValidateRecord(path, data); err != nil {
			return fmt.Errorf("%w (not written)", err)
		}
		if err := reportReplacement(path, data); err != nil {
			return err
		}
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
// another version of the workbench is noticed rather than half-read. When v is a *Record, the record
// must also pass ValidateRecord (ranges and required fields); the error names path and the field.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("experiment: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("experiment: %s: %w", path, err)
	}
	if isRecord(v) {
		return ValidateRecord(path, data)
	}
	return nil
}

// isRecord reports whether v is a Record or a non-nil *Record.
func isRecord(v any) bool {
	switch r := v.(type) {
	case Record:
		return true
	case *Record:
		return r != nil
	}
	return false
}
