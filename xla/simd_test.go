package xla

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestSIMDMatchesGOEXPERIMENT fails when GOEXPERIMENT asks for simd but the
// code was built without it (a stale or misconfigured build): the pure-Go
// backend would then silently run its scalar kernels.
func TestSIMDMatchesGOEXPERIMENT(t *testing.T) {
	experiments := strings.Split(os.Getenv("GOEXPERIMENT"), ",")
	if slices.Contains(experiments, "simd") && !SIMD {
		t.Fatal("GOEXPERIMENT contains simd but xla.SIMD is false: the package was built without GOEXPERIMENT=simd")
	}
	if !SIMD {
		t.Log("built without GOEXPERIMENT=simd: the pure-Go backend runs scalar code (build with GOEXPERIMENT=simd)")
	}
}
