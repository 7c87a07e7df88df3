package main

import (
	"fmt"
	"path/filepath"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
)

// checkOutputs checks, before any long work, that files can be written in each of dirs (created with
// their missing parents when absent), which the -out flag with value out names. The error names the
// flag, its value and the directory that failed.
func checkOutputs(out string, dirs ...string) error {
	for _, dir := range dirs {
		if err := experiment.CheckWritable(dir); err != nil {
			return fmt.Errorf("-out %s: %w", out, err)
		}
	}
	return nil
}

// checkCount refuses a count flag below 1, as a usage error naming the flag and the accepted range.
func checkCount(flagName string, v int) error {
	if v < 1 {
		return fmt.Errorf("%w: -%s %d: want a whole number >= 1", errUsage, flagName, v)
	}
	return nil
}

// checkCellData checks the train and test splits of every distinct dataset, budget and seed among
// cells (see experiment.CheckData), so that an empty or wrongly shaped split stops a grid before its
// first cell rather than at a cell's first evaluation.
func checkCellData(cells []experiment.Cell) error {
	type key struct {
		dataset, budget string
		seed            int64
	}
	seen := map[key]bool{}
	for _, c := range cells {
		k := key{c.Model.Dataset, c.Model.Budget.Name, c.Model.Seed}
		if seen[k] {
			continue
		}
		seen[k] = true
		if err := experiment.CheckData(c.Model.Dataset, c.Model.Budget, c.Model.Seed); err != nil {
			return err
		}
	}
	return nil
}

// resultsDir is where a command with -out out reads and writes its records.
func resultsDir(out string) string { return filepath.Join(out, "results") }
