// Command nbrun executes GoNB notebooks headlessly, in order, and fails when a cell failed: it is
// what `make notebooks` runs. nbconvert alone exits 0 when a Go cell panics or exits non-zero; nbrun
// reads each executed notebook back (package notebooks) and also checks the figures the notebook
// promises in notebooks.Figures.
//
//	nbrun [-inplace | -out DIR] [-jupyter PATH] [-timeout SECONDS] NOTEBOOK...
//
// With -inplace a notebook is replaced by its executed copy only when it passed, so the committed
// notebooks keep outputs from a good run. The budget is $MTLROB_BUDGET (default standard) and the
// figures go to $MTLROB_FIGURES_DIR, else figures/ at the repository root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/notebooks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nbrun:", err)
		os.Exit(1)
	}
}

func run() error {
	inplace := flag.Bool("inplace", false, "replace each notebook with its executed copy when it passed")
	out := flag.String("out", "", "directory for the executed copies and logs (default: a temporary directory)")
	jupyter := flag.String("jupyter", notebooks.DefaultJupyter, "the jupyter command")
	timeout := flag.Int("timeout", 3600, "seconds a single cell may run")
	flag.Parse()
	if flag.NArg() == 0 {
		return errors.New("no notebooks given")
	}
	budget, err := experiment.BudgetByName("")
	if err != nil {
		return err
	}
	figDir, err := experiment.FiguresDir()
	if err != nil {
		return err
	}
	if *out == "" {
		if *out, err = os.MkdirTemp("", "nbrun-"); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := notebooks.Options{Jupyter: *jupyter, DataDir: os.Getenv("JUPYTER_DATA_DIR"), OutDir: *out,
		CellTimeout: time.Duration(*timeout) * time.Second}
	failed := 0
	for _, path := range flag.Args() {
		name := filepath.Base(path)
		fmt.Printf("nbrun: %s (budget %s) ...\n", name, budget.Name)
		start := time.Now().Add(-time.Second) // file times may be coarser than the clock
		res, err := notebooks.Execute(ctx, path, opt)
		if err != nil {
			return err
		}
		expected, ok := notebooks.Figures[name]
		problems := res.Problems
		if !ok {
			problems = append(problems, notebooks.Problem{Kind: "figure", Where: name,
				Text: "no entry in notebooks.Figures (notebooks/run.go): list the figures it writes"})
		}
		problems = append(problems, notebooks.CheckFigures(figDir, expected, budget.Name, start)...)
		if len(problems) > 0 {
			failed++
			fmt.Printf("nbrun: %s FAILED after %s (executed copy: %s, log: %s)\n", name, res.Duration.Round(time.Second), res.Executed, res.Log)
			for _, p := range problems {
				fmt.Println(p)
			}
			continue
		}
		if *inplace {
			if err := notebooks.ReplaceWith(path, res.Executed); err != nil {
				return err
			}
		}
		fmt.Printf("nbrun: %s ok in %s, %d figures in %s\n", name, res.Duration.Round(time.Second), len(expected), figDir)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d notebooks failed", failed, flag.NArg())
	}
	return nil
}
