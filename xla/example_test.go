package xla_test

import (
	"fmt"
	"log"

	"github.com/mtlrob/mtlrob/xla"
)

// New picks the backend from $MTLROB_BACKEND and the plugins installed.
func ExampleNew() {
	backend, desc, err := xla.New()
	if err != nil {
		log.Fatal(err) // e.g. MTLROB_BACKEND=xla:cuda on a machine with no CUDA plugin
	}
	defer backend.Finalize()
	fmt.Println("backend:", desc) // e.g. "go (pure Go, simd=on, parallelism=4)"
}

// Choose is pure: it maps a setting and the plugins found to candidates.
func ExampleChoose() {
	found := xla.Plugins{CPU: []string{"/repo/.xla/pjrt_c_api_cpu_plugin.so"}}
	for _, setting := range []string{"", "go:parallelism=2"} {
		choice, err := xla.Choose(setting, found)
		if err != nil {
			log.Fatal(err)
		}
		for _, c := range choice.Candidates {
			fmt.Printf("%q explicit=%v: %s\n", setting, choice.Explicit, c.Config())
		}
	}
	_, err := xla.Choose("xla:cuda", found)
	fmt.Println(err != nil)
	// Output:
	// "" explicit=false: xla:/repo/.xla/pjrt_c_api_cpu_plugin.so
	// "" explicit=false: go
	// "go:parallelism=2" explicit=true: go:parallelism=2
	// true
}
