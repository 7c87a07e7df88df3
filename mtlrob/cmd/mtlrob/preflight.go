package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"

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

// staleSummary counts stale records by budget (the "_<budget>_" in their names; "other" without one)
// and by reason, most frequent first: what a recomputation would cost, at a glance.
func staleSummary(stale []experiment.Staleness) string {
	byBudget, byReason := map[string]int{}, map[string]int{}
	for _, s := range stale {
		budget := "other"
		for name := range experiment.Budgets {
			if strings.Contains(s.Name, "_"+name+"_") || strings.HasSuffix(s.Name, "_"+name) {
				budget = name
			}
		}
		byBudget[budget]++
		for _, r := range s.Reasons {
			byReason[r]++
		}
	}
	line := func(title string, counts map[string]int) string {
		keys := slices.Collect(maps.Keys(counts))
		sort.Slice(keys, func(i, j int) bool {
			if counts[keys[i]] != counts[keys[j]] {
				return counts[keys[i]] > counts[keys[j]]
			}
			return keys[i] < keys[j]
		})
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%d %s", counts[k], k)
		}
		return title + ": " + strings.Join(parts, "; ") + "\n"
	}
	return line("stale by budget", byBudget) + line("stale by reason", byReason)
}
