// Package docs holds the repository's documentation; its test checks that the Go doc comments cite
// only files and sections that exist.
package docs

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/internal/testkit"
)

// citation is a Markdown file named in a comment, with the section it points to, if any: "README.md",
// "internal/bench/NOTES.md", "docs/algorithms.md §4.3", "docs/algorithms.md §4-6".
var citation = regexp.MustCompile(`([A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md)(?: §([0-9][0-9.]*[0-9]|[0-9])(?:-([0-9][0-9.]*[0-9]|[0-9]))?)?`)

// designNotes are the file names of the design notes the project started from, which are not in the
// repository: a comment that names one cites nothing a reader has.
var designNotes = map[string]bool{"algorithms" + ".md": true, "architecture" + ".md": true, "style" + ".md": true}

// TestDocCommentsCiteWhatExists reads the comments of every Go file of the repository (vendored
// environments and caches aside) and checks each Markdown file they name by a path: it exists at that
// path from the repository root or from the file's directory; a bare name of a design note is an error;
// and a section sign after docs/algorithms.md
// names a section that file has ("## 4." or "### 4.3").
func TestDocCommentsCiteWhatExists(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	algorithms, err := os.ReadFile(filepath.Join(root, "docs", "algorithms.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, line := range strings.Split(string(algorithms), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[0], "##") {
			sections[strings.TrimSuffix(f[1], ".")] = true
		}
	}
	checked := 0
	for _, path := range testkit.RepoGoFiles(t, root) {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, path)
		for _, group := range f.Comments {
			for _, c := range group.List {
				for _, m := range citation.FindAllStringSubmatch(c.Text, -1) {
					name, from, to := m[1], m[2], m[3]
					if !strings.Contains(name, "/") {
						// A bare name is an output file ("tables.md") or one beside the code, except the
						// names of the design notes that stayed outside the repository.
						if designNotes[name] && !exists(filepath.Join(filepath.Dir(path), name)) {
							t.Errorf("%s:%d cites %q, a design note outside the repository; cite docs/algorithms.md or README.md", rel, fset.Position(c.Pos()).Line, name)
						}
						continue
					}
					checked++
					if !exists(filepath.Join(root, name)) && !exists(filepath.Join(filepath.Dir(path), name)) {
						t.Errorf("%s:%d cites %s, which is not in the repository", rel, fset.Position(c.Pos()).Line, name)
					}
					for _, s := range []string{from, to} {
						if s != "" && name == "docs/algorithms.md" && !sections[s] {
							t.Errorf("%s:%d cites docs/algorithms.md §%s, which has no such section", rel, fset.Position(c.Pos()).Line, s)
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no citation found: the pattern no longer matches how the comments cite files")
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
