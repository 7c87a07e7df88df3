package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/figure"
	"github.com/mtlrob/mtlrob/mtlrob/shard"
	"github.com/mtlrob/mtlrob/mtlrob/transfer"
)

// runTransfer is `mtlrob transfer`: the transferability experiment (transfer.LoadOrRun, 004 §5) of the
// default models of a dataset, architecture, budget and seed. It writes the record under
// <out>/results/transfer/, the tables to <out>/tables/transfer_<name>.md (and stdout) and the figure
// <out>/transfer_<name>.{png,svg}.
func runTransfer(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("transfer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataset := fs.String("dataset", "fashion-mnist", "dataset registry name")
	archName := fs.String("arch", "smallcnn", "architecture of every model: "+strings.Join(arch.Names(), ", "))
	budget := fs.String("budget", "", "budget preset: quick, standard or paper (default $"+experiment.BudgetEnv+", else standard)")
	seed := fs.Int64("seed", 1, "seed of every model and of the attacks' random starts")
	out := fs.String("out", "figures", "figures directory: the record goes to <out>/results/transfer/, tables to <out>/tables/, the figure to <out>/")
	quiet := fs.Bool("quiet", false, "no progress bars")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := experiment.BudgetByName(*budget)
	if err != nil {
		return fmt.Errorf("%w: -budget: %v", errUsage, err)
	}
	if _, err := experiment.Tasks(*dataset, nil); err != nil {
		return fmt.Errorf("%w: -dataset: %v", errUsage, err)
	}
	if _, err := arch.ByName(*archName, []string{"main"}, []int{10}, [3]int{28, 28, 1}); err != nil {
		return fmt.Errorf("%w: -arch: %v", errUsage, err)
	}
	spec, err := transfer.DefaultSpec(*dataset, *archName, b, *seed)
	if err == nil {
		err = spec.Validate()
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	tables := filepath.Join(*out, "tables")
	if _, err := transfer.ReadAll(resultsDir(*out)); err != nil { // strictly: unknown fields, ranges
		return fmt.Errorf("unreadable record: %w (fix or remove the file; nothing was computed)", err)
	}
	e, stop, err := preparedEnv(*out, []string{resultsDir(*out), tables}, []dataKey{{*dataset, b, *seed}}, *quiet, stdout, stderr)
	if err != nil {
		return err
	}
	defer stop()
	rec, err := transfer.LoadOrRun(e, spec)
	if err != nil {
		return interruptedCell(err, "transfer", args)
	}
	md, mdPath, err := writeTransferTables(rec, tables)
	if err != nil {
		return err
	}
	paths, err := saveTransferFigure(rec, spec, *out)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, md)
	fmt.Fprintf(stdout, "record: %s (%.0f s)\ntables: %s\nfigure: %s\n", transfer.Path(e.ResultsDir, spec), rec.Seconds, mdPath, strings.Join(paths, ", "))
	return nil
}

// saveTransferFigure draws a transfer record (figure.TransferHeatmaps) into out as
// transfer_<name>.png and .svg and returns the paths.
func saveTransferFigure(rec *experiment.Record, spec transfer.Spec, out string) ([]string, error) {
	fig, err := figure.TransferHeatmaps("", rec) // the record's own title, as the notebooks draw it
	if err != nil {
		return nil, err
	}
	return fig.Save(out, spec.FigureName())
}

// transferJob is the paper grid's transfer analysis as a shard job: claimed as transfer/<name>, done when
// its record is on file; running it loads or trains its models (the grid's cells train them first) and
// writes the record, its tables under out/tables and its figure under out.
func transferJob(e experiment.Env, spec transfer.Spec, out string) shard.Job {
	path := transfer.Path(e.ResultsDir, spec)
	return shard.Job{
		Key:   transfer.Kind + "/" + spec.Name(),
		Label: transfer.Kind + " " + spec.Name(),
		Done:  func() bool { _, err := os.Stat(path); return err == nil },
		Run: func() error {
			rec, err := transfer.LoadOrRun(e, spec)
			if err != nil {
				return err
			}
			if _, _, err := writeTransferTables(rec, filepath.Join(out, "tables")); err != nil {
				return err
			}
			_, err = saveTransferFigure(rec, spec, out)
			return err
		},
	}
}

// writeTransferTables writes the tables of a transfer record to dir/transfer_<name>.md and returns their
// Markdown and the file's path.
func writeTransferTables(rec *experiment.Record, dir string) (md, path string, err error) {
	if md, err = transfer.Markdown(rec); err != nil {
		return "", "", err
	}
	path = filepath.Join(dir, transfer.Kind+"_"+rec.Name+".md")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	return md, path, os.WriteFile(path, []byte(md), 0o644)
}

// renderTransferTables is the transfer part of `mtlrob tables`: every transfer record under resultsDir
// rendered to outDir (writeTransferTables) and to w.
func renderTransferTables(resultsDir, outDir string, w io.Writer) error {
	recs, err := transfer.ReadAll(resultsDir)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		md, _, err := writeTransferTables(rec, outDir)
		if err != nil {
			return err
		}
		fmt.Fprint(w, md)
	}
	return nil
}
