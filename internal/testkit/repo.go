package testkit

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// RepoGoFiles returns the paths of the Go files of the repository whose root is root (a directory
// holding go.mod), test files included, leaving out hidden directories (.git, .cache, virtual
// environments), testdata and node_modules; a walk error fails t.
func RepoGoFiles(t testing.TB, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(path) == ".go" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return files
}
