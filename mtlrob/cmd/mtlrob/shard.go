package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/shard"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

// claimsDir is where the grid's cells are claimed: <results>/.claims/<analysis>/<model name>.claim.
func claimsDir(results string) string { return filepath.Join(results, ".claims") }

// shardCells returns the cells of shard spec: the cells of one model go to one shard (they share its
// trained weights, which only one process may train at a time), models in turn to shards 0..n-1.
func shardCells(cells []experiment.Cell, spec shard.Spec) []experiment.Cell {
	return shard.Select(cells, func(c experiment.Cell) string { return c.Model.Name() }, spec)
}

// cellJob is the shard job of a grid cell: claimed as <analysis>/<model name>, done when its record is
// on file, run as experiment.RunGrid runs a cell.
func cellJob(e experiment.Env, c experiment.Cell) shard.Job {
	name := c.Model.Name()
	rec := experiment.RecordPath(e.ResultsDir, &experiment.Record{Kind: c.Analysis, Name: name})
	return shard.Job{
		Key:   c.Analysis + "/" + name,
		Label: c.Analysis + " " + name,
		Done:  func() bool { _, err := os.Stat(rec); return err == nil },
		Run:   func() error { _, err := c.Run(e); return err },
	}
}

// runShard runs the cells of a shard each under its claim (shard.Run) and, when every cell of the
// grid (all, the cells of every shard) has its record, renders the tables, under a claim of its own so
// that two shards ending together do not write them at once.
func runShard(e experiment.Env, cells, all []experiment.Cell, steal bool, spec shard.Spec, tablesDir string, stdout io.Writer) error {
	claims := &shard.Claimer{Dir: claimsDir(e.ResultsDir), Steal: steal, Shard: spec.String()}
	jobs := make([]shard.Job, len(cells))
	for i, c := range cells {
		jobs[i] = cellJob(e, c)
	}
	sum, err := shard.Run(jobs, shard.Options{Claims: claims, Log: stdout, Context: e.Context,
		Failed: func(err error) bool { return errors.Is(err, experiment.ErrFailedRun) },
		Later:  func(err error) bool { return errors.Is(err, training.ErrLocked) }})
	if !spec.Whole() || len(sum.Held)+len(sum.DoneElsewhere)+len(sum.TookOver) > 0 {
		fmt.Fprintf(stdout, "shard %s: %s\n", spec, sum)
	}
	if err != nil {
		if e.Context != nil && e.Context.Err() != nil && !errors.Is(err, training.ErrInterrupted) {
			err = fmt.Errorf("%w: %w", training.ErrInterrupted, err)
		}
		return err
	}
	missing := 0
	for _, c := range all {
		if !cellJob(e, c).Done() {
			missing++
		}
	}
	if missing > 0 {
		fmt.Fprintf(stdout, "tables not rendered: %d of the grid's %d cells have no record yet (the shard that ends last renders them; or run: mtlrob tables -out %s)\n",
			missing, len(all), filepath.Dir(e.ResultsDir))
		return nil
	}
	lease, err := claims.Acquire("tables")
	var held *shard.HeldError
	if errors.As(err, &held) {
		fmt.Fprintf(stdout, "tables not rendered here: %v\n", held)
		return nil
	}
	if err != nil {
		return err
	}
	defer lease.Release()
	md, err := experiment.RenderTables(e.ResultsDir, tablesDir)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, md)
	return nil
}
