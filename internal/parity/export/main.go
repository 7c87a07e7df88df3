// Command export writes what the peer parity suite (internal/parity/peers) compares against: the quick
// multi-head LeNet's weights, 1000 Fashion-MNIST test images with their labels and mtlrob's clean
// logits, and mtlrob's PGD and CW-L2 results at the comparison's settings (see package parity).
//
//	go run ./internal/parity/export -out DIR [-n 1000] [-results DIR]
//
// The model comes from the checkpoint cache (.cache/models, $MTLROB_CACHE_DIR) when it is there, else
// it is trained (about a minute on the quick budget). Its record is looked up in -results (default:
// <cache>/parity/results, seeded from the committed figures/results/model/ record when there is
// one), so that the export never writes into figures/.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mtlrob/mtlrob/internal/parity"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/xla"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "parity export:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "", "directory to write weights.npz, data.npz, adversarial.npz and mtlrob.json to (required)")
	n := flag.Int("n", 0, "number of test images (default: the configuration's, 1000)")
	results := flag.String("results", "", "directory of model records (default <cache>/parity/results)")
	cleanOnly := flag.Bool("clean-only", false, "write weights, images, clean logits and input gradients only (no attacks)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		return errors.New("usage: export -out DIR [-n N] [-results DIR]")
	}
	cfg := parity.DefaultConfig()
	if *n > 0 {
		cfg.N = *n
	}
	cfg.CleanOnly = *cleanOnly
	backend, line, err := xla.Default()
	if err != nil {
		return err
	}
	cache, err := experiment.CacheDir()
	if err != nil {
		return err
	}
	if *results == "" {
		*results = filepath.Join(cache, "parity", "results")
		if err := seedRecord(*results, cfg.Model); err != nil {
			return err
		}
	}
	env := experiment.Env{Backend: backend, BackendLine: line, ResultsDir: *results, CacheDir: cache, Quiet: true}
	man, err := parity.Export(env, cfg, *out, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "parity export: wrote %s (%.0f s)\n", *out, man.Seconds)
	return nil
}

// seedRecord copies the committed model record of spec (figures/results/model/<name>.json) into
// resultsDir when resultsDir has none, so that LoadOrTrain finds the cached weights it describes.
func seedRecord(resultsDir string, spec experiment.ModelSpec) error {
	rec := &experiment.Record{Kind: experiment.ModelKind, Name: spec.Name()}
	dst := experiment.RecordPath(resultsDir, rec)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	committed, err := experiment.ResultsDir()
	if err != nil {
		return nil // not inside the repository: LoadOrTrain trains
	}
	data, err := os.ReadFile(experiment.RecordPath(committed, rec))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
