package testkit

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestOnlyTestFilesImportTheHelpers: packages testkit and testbackends are test helpers; a non-test
// file of the module that imported one would build them (and their pure-Go backend registration) into
// the workbench.
func TestOnlyTestFilesImportTheHelpers(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at the repository root %s: %v", root, err)
	}
	helpers := []string{"github.com/mtlrob/mtlrob/internal/testkit", "github.com/mtlrob/mtlrob/internal/testbackends"}
	self := map[string]bool{filepath.Join(root, "internal", "testkit"): true, filepath.Join(root, "internal", "testbackends"): true}
	checked := 0
	for _, path := range RepoGoFiles(t, root) {
		if strings.HasSuffix(path, "_test.go") || self[filepath.Dir(path)] {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, h := range helpers {
				if p == h {
					rel, _ := filepath.Rel(root, path)
					t.Errorf("%s imports %s: only _test.go files may", rel, h)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d non-test Go files under %s: the walk missed the module", checked, root)
	}
}
