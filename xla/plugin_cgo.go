//go:build cgo

package xla

import (
	"fmt"

	"github.com/gomlx/compute"
	goxla "github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"
)

// haveCgo reports whether XLA plugins can be loaded (they need cgo).
const haveCgo = true

// openPlugin opens an XLA backend on the plugin at the candidate's absolute
// path, with auto-install off.
func openPlugin(c Candidate) (compute.Backend, string, error) {
	goxla.EnableAutoInstall(false)
	config := c.Plugin
	if c.Options != "" {
		config += "," + c.Options
	}
	b, err := goxla.New(config)
	if err != nil {
		return nil, "", err
	}
	version := ""
	if p, err := pjrt.GetPlugin(c.Plugin); err == nil {
		major, minor := p.Version()
		version = fmt.Sprintf(", PJRT v%d.%d", major, minor)
	}
	return b, fmt.Sprintf("%s (plugin %s%s, simd=%s)", c.Kind, c.Plugin, version, onOff(SIMD)), nil
}
