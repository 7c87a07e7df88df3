package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/metric"
)

// vulnerabilityAnalysis is eval's -analysis for 003's vulnerability analysis (experiment.
// LoadOrAnalyseVulnerability): a record of its own kind, not a grid cell.
const vulnerabilityAnalysis = "vulnerability"

// runSearch is `mtlrob search`: the task search of notebook 08 (experiment.LoadOrSearchTasks) from a
// terminal, its record under <out>/results/task-search/ and its tables on stdout.
func runSearch(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataset := fs.String("dataset", "fashion-mnist", "dataset registry name")
	budget := fs.String("budget", "", "budget preset of the trained candidates (default $"+experiment.SearchBudgetEnv+", else quick)")
	seed := fs.Int64("seed", 1, "seed")
	out := fs.String("out", "figures", "figures directory; the record goes to <out>/results/task-search/")
	quiet := fs.Bool("quiet", false, "no progress lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := experiment.SearchBudget()
	if *budget != "" {
		b, err = experiment.BudgetByName(*budget)
	}
	if err != nil {
		return fmt.Errorf("%w: -budget: %v", errUsage, err)
	}
	spec, err := experiment.NewSearchSpec(*dataset, b, *seed)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if _, err := experiment.Tasks(*dataset, nil); err != nil {
		return fmt.Errorf("%w: -dataset: %v", errUsage, err)
	}
	e, stop, err := preparedEnv(*out, []string{resultsDir(*out)}, []dataKey{{*dataset, b, *seed}}, *quiet, stdout, stderr)
	if err != nil {
		return err
	}
	defer stop()
	rec, err := experiment.LoadOrSearchTasks(e, spec)
	if err != nil {
		return interruptedCell(err, "search", args)
	}
	for _, table := range []func(*experiment.Record) (*metric.Table, error){experiment.SearchCandidatesTable, experiment.SearchCorrelationTable} {
		t, err := table(rec)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, t.Markdown(), "\n")
	}
	fmt.Fprintf(stdout, "record: %s\n", experiment.RecordPath(e.ResultsDir, rec))
	return nil
}
