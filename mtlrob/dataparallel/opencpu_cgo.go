//go:build cgo

package dataparallel

import (
	"fmt"
	"os"

	"github.com/gomlx/compute"
	goxla "github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"
	"github.com/mtlrob/mtlrob/xla"
)

// OpenCPU opens the XLA CPU plugin that xla.New would pick ($MTLROB_XLA_DIR first, then the usual
// places; never a download) as a backend of devices host devices: the PJRT client is created with the
// option cpu_device_count = devices, which splits the host into that many XLA CPU devices sharing its
// cores (the same as XLA_FLAGS=--xla_force_host_platform_device_count=N, but per client, so one process
// may hold a one-device and a several-device backend). It returns the backend with a one-line
// description.
func OpenCPU(devices int) (compute.Backend, string, error) {
	if devices < 1 {
		return nil, "", fmt.Errorf("dataparallel: %d CPU devices: want at least 1", devices)
	}
	_ = os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	goxla.EnableAutoInstall(false)
	found := xla.Discover(xla.DefaultRoots())
	if dir := os.Getenv(xla.EnvXLADir); dir != "" {
		found = xla.Discover(xla.Roots{Dirs: []string{dir}})
	}
	if len(found.CPU) == 0 {
		return nil, "", fmt.Errorf("dataparallel: no XLA CPU plugin found (%s; make xla-cpu installs one into .xla/)", found)
	}
	plugin := found.CPU[0]
	b, err := goxla.NewWithOptions(plugin, pjrt.NamedValuesMap{"cpu_device_count": int64(devices)})
	if err != nil {
		return nil, "", fmt.Errorf("dataparallel: opening the XLA CPU plugin %s with %d devices: %w", plugin, devices, err)
	}
	if n := b.NumDevices(); n != devices {
		b.Finalize()
		return nil, "", fmt.Errorf("dataparallel: the XLA CPU plugin %s opened with %d device(s), %d asked (cpu_device_count not honoured)", plugin, n, devices)
	}
	return b, fmt.Sprintf("xla:cpu (plugin %s, %d host devices, simd=%s)", plugin, devices, map[bool]string{true: "on", false: "off"}[xla.SIMD]), nil
}
