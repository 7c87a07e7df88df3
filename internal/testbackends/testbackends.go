// Package testbackends runs a test on every backend the workbench supports: the pure-Go backend,
// always, and XLA CPU when its plugin is installed (make xla-cpu; make test installs it). Each backend is
// opened once per test binary and shared by its tests, so a test must not finalize it. Only _test.go files
// import this package; the toy networks and data sets the tests share are in package testkit.
package testbackends

import (
	"sync"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/mtlrob/mtlrob/internal/slowtest"
	"github.com/mtlrob/mtlrob/xla"
)

var (
	goBackend = sync.OnceValues(func() (compute.Backend, error) { return compute.NewWithConfig("go") })
	xlaCPU    = sync.OnceValues(func() (compute.Backend, error) {
		b, _, err := xla.Open("xla:cpu")
		return b, err
	})
)

// Go returns the pure-Go backend, shared by the tests of a package.
func Go(t testing.TB) compute.Backend {
	t.Helper()
	b, err := goBackend()
	if err != nil {
		t.Fatalf("pure-Go backend: %v", err)
	}
	return b
}

// XLACPU returns the XLA CPU backend, or skips the test with the reason when no plugin can be opened.
func XLACPU(t testing.TB) compute.Backend {
	t.Helper()
	b, err := xlaCPU()
	if err != nil {
		t.Skipf("no XLA CPU plugin (run make xla-cpu): %v", err)
	}
	return b
}

// ForEachSlowXLA is ForEach for a test whose XLA run takes minutes (one compilation per case): its XLA
// subtest runs only with the slow tests (slowtest.Require; make test runs them), its pure-Go one always.
func ForEachSlowXLA(t *testing.T, what string, fn func(t *testing.T, backend compute.Backend)) {
	t.Run("go", func(t *testing.T) { fn(t, Go(t)) })
	t.Run("xla-cpu", func(t *testing.T) {
		slowtest.Require(t, what)
		fn(t, XLACPU(t))
	})
}

// ForEach runs fn as subtests "go" and "xla-cpu"; the XLA subtest skips, saying why, only when no XLA CPU
// plugin could be opened.
func ForEach(t *testing.T, fn func(t *testing.T, backend compute.Backend)) {
	t.Run("go", func(t *testing.T) { fn(t, Go(t)) })
	t.Run("xla-cpu", func(t *testing.T) { fn(t, XLACPU(t)) })
}
