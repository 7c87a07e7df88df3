// Package slowtest gates the tests that take minutes (training a network, executing the notebooks,
// timing a benchmark): a plain `go test ./...` skips them, so that changing one file gets an answer
// in minutes; `make test` sets MTLROB_TEST_ALL=1 and runs every one.
package slowtest

import (
	"os"
	"testing"
)

// Env names the environment variable that turns the slow tests on: MTLROB_TEST_ALL=1.
const Env = "MTLROB_TEST_ALL"

// Enabled reports whether the slow tests run ($MTLROB_TEST_ALL is 1).
func Enabled() bool { return os.Getenv(Env) == "1" }

// Require skips t unless the slow tests run, saying what the test does and how to run it; what is,
// for example, "trains a LeNet on Fashion-MNIST (about 2 minutes)".
func Require(t testing.TB, what string) {
	t.Helper()
	if !Enabled() {
		t.Skipf("slow test: %s; runs in make test, or with %s=1 go test", what, Env)
	}
}
