//go:build !cgo

package dataparallel

import (
	"errors"

	"github.com/gomlx/compute"
)

// OpenCPU needs cgo (XLA plugins are loaded with it); without cgo it returns an error.
func OpenCPU(devices int) (compute.Backend, string, error) {
	return nil, "", errors.New("dataparallel: OpenCPU needs cgo to load the XLA CPU plugin (built with CGO_ENABLED=0)")
}
