//go:build !cgo

package xla

import (
	"errors"

	"github.com/gomlx/compute"
)

// haveCgo reports whether XLA plugins can be loaded (they need cgo).
const haveCgo = false

// openPlugin fails: XLA plugins are loaded through cgo, and this binary was
// built without it (CGO_ENABLED=0). Only the pure-Go backend is available.
func openPlugin(c Candidate) (compute.Backend, string, error) {
	return nil, "", errors.New("built without cgo: cannot load XLA plugin " + c.Plugin)
}
