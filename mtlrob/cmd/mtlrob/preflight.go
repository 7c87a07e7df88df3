package main

import (
	"fmt"
	"io"
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

// checkInputs checks, before any long work, what a command that computes records needs: files can be
// written in dirs (checkOutputs), every record under <out>/results reads (experiment.CheckRecords), and
// the train and test splits of each data key are sound (experiment.CheckData), so that an empty or
// wrongly shaped split stops a grid before its first cell rather than at a cell's first evaluation.
func checkInputs(out string, dirs []string, data []dataKey) error {
	if err := checkOutputs(out, dirs...); err != nil {
		return err
	}
	if err := experiment.CheckRecords(resultsDir(out)); err != nil {
		return err
	}
	seen := map[dataKey]bool{}
	for _, k := range data {
		if seen[k] {
			continue
		}
		seen[k] = true
		if err := experiment.CheckData(k.dataset, k.budget, k.seed); err != nil {
			return err
		}
	}
	return nil
}

// preparedEnv is checkInputs, then the command's interruptible environment (interruptibleEnv); call stop
// when the command ends.
func preparedEnv(out string, dirs []string, data []dataKey, quiet bool, stdout, stderr io.Writer) (e experiment.Env, stop func(), err error) {
	if err := checkInputs(out, dirs, data); err != nil {
		return e, nil, err
	}
	return interruptibleEnv(out, quiet, stdout, stderr)
}

// dataKey names the train and test splits a computation reads: a dataset, a budget and a seed.
type dataKey struct {
	dataset string
	budget  experiment.Budget
	seed    int64
}

// cellData is the data keys of cells.
func cellData(cells []experiment.Cell) []dataKey {
	keys := make([]dataKey, len(cells))
	for i, c := range cells {
		keys[i] = dataKey{c.Model.Dataset, c.Model.Budget, c.Model.Seed}
	}
	return keys
}

// checkCount refuses a count flag below 1, as a usage error naming the flag and the accepted range.
func checkCount(flagName string, v int) error {
	if v < 1 {
		return fmt.Errorf("%w: -%s %d: want a whole number >= 1", errUsage, flagName, v)
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
