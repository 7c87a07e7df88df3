package experiment

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/mtlrob/mtlrob/datasets"
)

// FingerprintRoot is the package whose build dependencies make up a record's code fingerprint by
// default: the record kinds of package experiment are computed from the packages it imports (datasets,
// task, arch, attack, training, reject, metric, xla), so a change to any of their non-test Go files, or
// to go.sum (the versions of GoMLX, gonum and the rest), changes the fingerprint of every such record.
//
// An analysis that lives in a package of its own (e.g. mtlrob/transfer, which imports experiment) roots
// its records' fingerprints at that package (Fingerprint.Root, NewProvenanceAt): its fingerprint covers
// experiment's files and its own, and changing it leaves the records of experiment's kinds current.
const FingerprintRoot = datasets.ModulePath + "/mtlrob/experiment"

// RenderOnlyFiles are the files (of package experiment and of the analysis packages rooted elsewhere)
// that only read, check or render records (tables, the search report, this file): they never change what
// a record holds, so they are left out of every fingerprint, and improving a table does not make every
// record stale.
var RenderOnlyFiles = []string{"mtlrob/experiment/report.go", "mtlrob/experiment/tables.go",
	"mtlrob/experiment/search_report.go", "mtlrob/experiment/fingerprint.go", "mtlrob/experiment/headline.go",
	"mtlrob/experiment/record_validate.go", "mtlrob/transfer/table.go"}

// StaleEnv names the environment variable of the stale-record policy: "recompute" (a stale record is
// computed again, as a missing one) or "keep" (it is used as it is, marked stale wherever it is shown).
// Unset: "keep" on the standard and paper budgets, whose records take hours, "recompute" on any other.
const StaleEnv = "MTLROB_STALE"

// Fingerprint identifies the code and backend a record was computed with.
type Fingerprint struct {
	// Root is the import path of the package whose build dependencies were hashed; empty means
	// FingerprintRoot (the records of package experiment's kinds, and every record written before
	// fingerprints had a root).
	Root string `json:"root,omitempty"`
	// Code is the SHA-256 (first 16 hex digits) of go.sum and of the path and content of every non-test
	// Go file (and embedded file) of this module's packages that Root is built from, RenderOnlyFiles
	// left out.
	// Go files are hashed as their token stream (fingerprintSource): comments and layout are not code,
	// so a reworded doc comment or a gofmt run leaves every record current; compiler directives are kept.
	Code string `json:"code"`
	// Backend is the backend family: "xla:cpu", "xla:cuda", "go", ... (the first word of the backend
	// line); float results differ between families in the last bits.
	Backend string `json:"backend"`
	// Dirty is set when one of those files, or go.sum, had uncommitted changes: the record cannot be
	// reproduced from any revision and is never committed (TestCommittedRecordsAreClean).
	Dirty bool `json:"dirty,omitempty"`
	// Files is the number of files hashed.
	Files int `json:"files"`
}

// String is "code 1a2b... on xla:cpu" (with ", dirty" when so).
func (f Fingerprint) String() string {
	s := "code " + f.Code + " on " + f.Backend
	if f.Dirty {
		s += ", dirty"
	}
	return s
}

// codeFingerprints caches the fingerprint of each root (an import path) for the process.
var codeFingerprints sync.Map // root -> func() (Fingerprint, error), a sync.OnceValues

// CodeFingerprint returns the fingerprint of the code in the repository's working tree rooted at
// FingerprintRoot (computed once per process; it runs `go list -deps` in the repository root) and the
// given backend line's family. It fails outside the repository or without the go command.
func CodeFingerprint(backendLine string) (Fingerprint, error) {
	return CodeFingerprintAt(FingerprintRoot, backendLine)
}

// CodeFingerprintAt is CodeFingerprint for the records whose fingerprint is rooted at the package root
// (an import path of this module; "" means FingerprintRoot): the files hashed are those of the packages
// root is built from, computed once per root and process. The fingerprint's Root is root, or empty for
// FingerprintRoot, so that the fingerprint of experiment's records keeps its JSON and its value.
func CodeFingerprintAt(root, backendLine string) (Fingerprint, error) {
	if root == "" {
		root = FingerprintRoot
	}
	f, _ := codeFingerprints.LoadOrStore(root, sync.OnceValues(func() (Fingerprint, error) { return computeCodeFingerprint(root) }))
	fp, err := f.(func() (Fingerprint, error))()
	fp.Backend = BackendFamily(backendLine)
	return fp, err
}

// FingerprintRootOf is the root a record's provenance was fingerprinted at: its Fingerprint's Root, or
// FingerprintRoot when that is empty or the record has no fingerprint.
func FingerprintRootOf(p Provenance) string {
	if p.Fingerprint != nil && p.Fingerprint.Root != "" {
		return p.Fingerprint.Root
	}
	return FingerprintRoot
}

// NewProvenanceAt is NewProvenance for a record whose fingerprint is rooted at the package root (see
// CodeFingerprintAt): its Fingerprint (and the "+dirty" of its git revision) speak of the files root is
// built from. Outside the repository the record has no fingerprint, as with NewProvenance.
func NewProvenanceAt(root string, seed int64, backend string) Provenance {
	p := NewProvenance(seed, backend)
	if root == "" || root == FingerprintRoot || p.Fingerprint == nil {
		return p
	}
	fp, err := CodeFingerprintAt(root, backend)
	if err != nil {
		p.Fingerprint = nil
		return p
	}
	p.Fingerprint = &fp
	p.GitRevision = strings.TrimSuffix(p.GitRevision, "+dirty")
	if fp.Dirty && p.GitRevision != "unknown" {
		p.GitRevision += "+dirty"
	}
	return p
}

// BackendFamily is the first word of a backend line ("xla:cpu (plugin ..., simd=on)" -> "xla:cpu").
func BackendFamily(line string) string {
	if f := strings.Fields(line); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// RepoRoot is the repository root: the first directory at or above the working directory whose go.mod
// declares this module.
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if declaresModule(filepath.Join(d, "go.mod"), datasets.ModulePath) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("experiment: no go.mod of %s at or above %s", datasets.ModulePath, wd)
		}
	}
}

// computeCodeFingerprint hashes the files of the packages pkg (an import path of this module) is built
// from; the Root of the result is pkg, or empty for FingerprintRoot.
func computeCodeFingerprint(pkg string) (Fingerprint, error) {
	if pkg != FingerprintRoot && !strings.HasPrefix(pkg, datasets.ModulePath+"/") {
		return Fingerprint{}, fmt.Errorf("experiment: fingerprint root %q: want a package of module %s", pkg, datasets.ModulePath)
	}
	root, err := RepoRoot()
	if err != nil {
		return Fingerprint{}, err
	}
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`,
		pkg)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Fingerprint{}, fmt.Errorf("experiment: fingerprint: go list -deps %s: %v: %s", pkg, err, stderr.String())
	}
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		rel, err := filepath.Rel(root, f[0])
		if err != nil {
			return Fingerprint{}, err
		}
		for _, name := range f[1:] {
			if file := filepath.ToSlash(filepath.Join(rel, name)); !slices.Contains(RenderOnlyFiles, file) {
				files = append(files, file)
			}
		}
	}
	files = append(files, "go.sum")
	sort.Strings(files)
	h := sha256.New()
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil && !(rel == "go.sum" && errors.Is(err, fs.ErrNotExist)) {
			return Fingerprint{}, fmt.Errorf("experiment: fingerprint: %w", err)
		}
		if strings.HasSuffix(rel, ".go") {
			if data, err = fingerprintSource(rel, data); err != nil {
				return Fingerprint{}, err
			}
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(h, "%s %x\n", rel, sum)
	}
	fp := Fingerprint{Code: hex.EncodeToString(h.Sum(nil))[:16], Files: len(files)}
	if pkg != FingerprintRoot {
		fp.Root = pkg
	}
	// Dirty: any of those files differs from HEAD (git unavailable: not known to be clean, so dirty).
	st := exec.Command("git", append([]string{"status", "--porcelain", "--untracked-files=all", "--"}, files...)...)
	st.Dir = root
	if o, err := st.Output(); err != nil || len(bytes.TrimSpace(o)) > 0 {
		fp.Dirty = true
	}
	// The files are read when the process runs, which describes the code it runs only if it was built
	// from this tree: `go run`, go test and the notebooks build and run at once. A binary built earlier
	// with `go build` carries its revision (vcs.revision, vcs.modified); when that is not the clean
	// HEAD of this tree, its records cannot be vouched for, and count as dirty.
	if rev, modified, ok := buildRevision(); ok {
		head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
		if err != nil || modified || strings.TrimSpace(string(head)) != rev {
			fp.Dirty = true
		}
	}
	return fp, nil
}

// fingerprintSource is what the code fingerprint hashes of a Go file: its tokens, one per line, with
// the comments left out except compiler directives (//go:..., //export, //line, //extern), so that
// neither a comment nor the layout counts as code while every change the compiler sees does. A file
// that uses cgo is hashed whole, since its preamble comment is C code. A file that does not scan is an
// error naming it.
func fingerprintSource(name string, src []byte) ([]byte, error) {
	if bytes.Contains(src, []byte(`import "C"`)) {
		return src, nil
	}
	fset := token.NewFileSet()
	var errs scanner.ErrorList
	var s scanner.Scanner
	s.Init(fset.AddFile(name, -1, len(src)), src, func(pos token.Position, msg string) { errs.Add(pos, msg) }, scanner.ScanComments)
	var out bytes.Buffer
	semicolon := false // a statement end not yet written: dropped before a closing ) or }, as gofmt does
	for {
		_, tok, lit := s.Scan()
		switch {
		case tok == token.COMMENT && !isDirective(lit):
			continue
		case tok == token.SEMICOLON: // inserted at a newline or written: the same statement end
			semicolon = true
			continue
		case lit == "":
			lit = tok.String()
		}
		if semicolon && tok != token.RBRACE && tok != token.RPAREN {
			out.WriteString(";\n")
		}
		semicolon = false
		if tok == token.EOF {
			if errs.Len() > 0 {
				return nil, fmt.Errorf("experiment: fingerprint: %w", errs.Err())
			}
			return out.Bytes(), nil
		}
		out.WriteString(lit)
		out.WriteByte('\n')
	}
}

// isDirective reports whether a comment is read by the toolchain: //go:build, //go:embed, //go:noinline,
// //export, //line and the like.
func isDirective(comment string) bool {
	for _, p := range []string{"//go:", "//export ", "//line ", "//extern "} {
		if strings.HasPrefix(comment, p) {
			return true
		}
	}
	return false
}

// buildRevision is the VCS revision the running binary was built from, when the build stamped one.
func buildRevision() (rev string, modified, ok bool) {
	info, found := debug.ReadBuildInfo()
	if !found {
		return "", false, false
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev, ok = s.Value, true
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return rev, modified, ok
}

// Staleness says whether a stored record still describes what the current code would compute.
type Staleness struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Reasons []string
}

// Stale reports whether there is any reason.
func (s Staleness) Stale() bool { return len(s.Reasons) > 0 }

// CheckFingerprint compares a record's provenance with the current fingerprint: the reasons it is
// stale (none when current). current must be rooted where the record's fingerprint is (see
// CodeFingerprintAt, FingerprintRootOf); a fingerprint of another root is a reason too.
func CheckFingerprint(p Provenance, current Fingerprint) []string {
	var why []string
	switch {
	case p.Fingerprint == nil:
		why = append(why, "no code fingerprint (written before records had one)")
	case p.Fingerprint.Root != current.Root:
		why = append(why, fmt.Sprintf("fingerprinted at %s, compared with the code of %s", rootName(p.Fingerprint.Root), rootName(current.Root)))
	default:
		if p.Fingerprint.Code != current.Code {
			why = append(why, fmt.Sprintf("code changed since (%s there, %s now)", p.Fingerprint.Code, current.Code))
		}
		if p.Fingerprint.Backend != current.Backend {
			why = append(why, fmt.Sprintf("computed on %s, the backend now is %s", p.Fingerprint.Backend, current.Backend))
		}
		if p.Fingerprint.Dirty {
			why = append(why, "computed from uncommitted code")
		}
	}
	return why
}

// rootName is a fingerprint's Root as messages name it ("" is FingerprintRoot).
func rootName(root string) string {
	if root == "" {
		return FingerprintRoot
	}
	return root
}

// keepStale is the stale-record policy for a budget (see StaleEnv).
func keepStale(budget string) (bool, error) {
	switch v := os.Getenv(StaleEnv); v {
	case "keep":
		return true, nil
	case "recompute":
		return false, nil
	case "":
		return budget == "standard" || budget == "paper", nil
	default:
		return false, fmt.Errorf("experiment: $%s=%q: want keep or recompute", StaleEnv, v)
	}
}

// provenanceOnly decodes just the kind, name and provenance of a record.
type provenanceOnly struct {
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	Provenance Provenance `json:"provenance"`
}

// StaleRecords checks every record under resultsDir (<kind>/<name>.json) against the current code (at
// the root its fingerprint names: FingerprintRootOf) and the backend line's family, and returns the stale
// ones (each with its reasons) and the number checked. A record that cannot be decoded is an error naming
// its file; a record rooted at a package that cannot be fingerprinted now (it was removed) is stale.
func StaleRecords(resultsDir, backendLine string) ([]Staleness, int, error) {
	if _, err := CodeFingerprint(backendLine); err != nil {
		return nil, 0, err
	}
	var stale []Staleness
	n := 0
	err := filepath.WalkDir(resultsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("experiment: %w", err)
		}
		var rec provenanceOnly
		if err := jsonUnmarshalLoose(data, &rec); err != nil {
			return fmt.Errorf("experiment: %s: %w", path, err)
		}
		n++
		current, err := CodeFingerprintAt(FingerprintRootOf(rec.Provenance), backendLine)
		if err != nil {
			stale = append(stale, Staleness{Path: path, Kind: rec.Kind, Name: rec.Name,
				Reasons: []string{fmt.Sprintf("its code cannot be fingerprinted now (%v)", err)}})
			return nil
		}
		if why := CheckFingerprint(rec.Provenance, current); len(why) > 0 {
			stale = append(stale, Staleness{Path: path, Kind: rec.Kind, Name: rec.Name, Reasons: why})
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return stale, n, err
}

// MarkStale sets rec.Stale from its code fingerprint at its own root, as the readers of package
// experiment do for the renderers (the backend family is not compared); for the readers of the analyses
// in packages of their own.
func MarkStale(rec *Record) { markStale(rec) }

// UseStored decides whether a stored record is used instead of computing it again, for the analyses
// outside this package (the load-or-compute of every record kind): yes when it was made with the same
// configuration (sameConfig) and its code fingerprint, at its own root, is current; when not, yes with
// rec.Stale set to the reasons under the "keep" policy of StaleEnv for the budget, no under "recompute".
func UseStored(rec *Record, sameConfig bool, budget, backendLine string) (bool, error) {
	return useStored(rec, sameConfig, budget, backendLine)
}

// useStored is UseStored.
func useStored(rec *Record, sameConfig bool, budget, backendLine string) (bool, error) {
	var why []string
	if !sameConfig {
		why = append(why, "its configuration differs from the current "+budget+" budget's")
	}
	if current, err := CodeFingerprintAt(FingerprintRootOf(rec.Provenance), backendLine); err == nil {
		// Computed from uncommitted code that is the current code: reproducible here, so usable (the stale
		// listing still reports it, since it may not be committed).
		p := rec.Provenance
		if p.Fingerprint != nil && p.Fingerprint.Code == current.Code {
			fp := *p.Fingerprint
			fp.Dirty = false
			p.Fingerprint = &fp
		}
		// Without a backend line (a read that cannot compute anyway) the backend is not compared.
		if p.Fingerprint != nil && strings.TrimSpace(backendLine) == "" {
			current.Backend = p.Fingerprint.Backend
		}
		why = append(why, CheckFingerprint(p, current)...)
	}
	if len(why) == 0 {
		return true, nil
	}
	keep, err := keepStale(budget)
	if err != nil || !keep {
		return false, err
	}
	rec.Stale = why
	return true, nil
}
