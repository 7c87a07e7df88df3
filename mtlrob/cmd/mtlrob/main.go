// Command mtlrob runs the workbench's long jobs from a terminal.
//
//	mtlrob backend                      print the backend the workbench would use
//	mtlrob train [flags]                train a multi-task model naturally, write its record and learning curves
//	mtlrob bench [flags]                time the workbench against the PyTorch reference (make bench)
//	mtlrob grid [flags]                 train and evaluate the paper grid, one record per cell
//	mtlrob eval [flags]                 evaluate one model (trains it first when needed)
//	mtlrob tables [flags]               render tables from the records
//	mtlrob search [flags]               search self-defined auxiliary tasks (003 RQ4)
//	mtlrob transfer [flags]             transfer of adversarial examples between models (004 §5)
//	mtlrob stale [flags]                list the records the current code would compute differently; exit 1 if any
//
// Run "mtlrob <command> -h" for the flags of a command. Errors are one line on stderr and exit status 1
// (2 for bad usage).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mtlrob/mtlrob/internal/bench"
	"github.com/mtlrob/mtlrob/mtlrob/arch"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/figure"
	"github.com/mtlrob/mtlrob/mtlrob/shard"
	"github.com/mtlrob/mtlrob/mtlrob/training"
	"github.com/mtlrob/mtlrob/mtlrob/transfer"
	"github.com/mtlrob/mtlrob/xla"
)

// errUsage marks errors that come from bad flags or arguments.
var errUsage = errors.New("usage")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	var sig *signalError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, &sig): // ended cleanly by SIGINT or SIGTERM: 130 or 143
		fmt.Fprintln(os.Stderr, "mtlrob:", err)
		os.Exit(sig.exitCode())
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "mtlrob:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "mtlrob:", err)
		os.Exit(1)
	}
}

var commands = []struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}{
	{"backend", "print the backend the workbench would use and exit", runBackend},
	{"train", "train a multi-task model naturally; write its record and learning-curve figure", runTrain},
	{"bench", "time training and attack steps side by side with the PyTorch reference", runBench},
	{"grid", "train and evaluate the models of the paper grid (skips cells whose record exists)", runGrid},
	{"eval", "evaluate one model: robustness (with rejection) or the attack-direction comparison", runEval},
	{"tables", "render the Markdown and CSV tables from the records", runTables},
	{"search", "search self-defined auxiliary tasks (003 RQ4): candidate maps, their proxies, PGD-AT of the best; writes its record", runSearch},
	{"transfer", "transferability (004 §5): attacks crafted on each model, evaluated on the others; writes its record, tables and figure", runTransfer},
	{"stale", "list the stale records (code, backend or dirty tree); exit status 1 when there is one", runStale},
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprintln(stderr, "usage: mtlrob <command> [flags]\n\ncommands:")
		for _, c := range commands {
			fmt.Fprintf(stderr, "  %-10s %s\n", c.name, c.summary)
		}
		if len(args) == 0 {
			return fmt.Errorf("%w: no command given", errUsage)
		}
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	return fmt.Errorf("%w: unknown command %q (run mtlrob -h)", errUsage, args[0])
}

func runBackend(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	_, line, err := xla.Default()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, line)
	return nil
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataset := fs.String("dataset", "fashion-mnist", "dataset registry name (fashion-mnist, mnist, cifar10, svhn, gtsrb)")
	aux := fs.String("aux", "all", `auxiliary tasks trained beside the main task, comma-separated; "all" or "none"`)
	budget := fs.String("budget", "", "budget preset: quick, standard or paper (default $MTLROB_BUDGET, else standard)")
	seed := fs.Int64("seed", 1, "seed of the initial weights, the data subset and the data order")
	out := fs.String("out", "figures", "directory for the figure; the record goes to <out>/results/")
	ckpt := fs.String("checkpoint", "", "checkpoint directory; a run resumes from the latest checkpoint found there")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := experiment.BudgetByName(*budget)
	if err != nil {
		return fmt.Errorf("%w: -budget: %v", errUsage, err)
	}
	var auxNames []string
	switch *aux {
	case "all":
	case "none", "":
		auxNames = []string{}
	default:
		auxNames = strings.Split(*aux, ",")
	}
	if err := checkOutputs(*out, *out, filepath.Join(resultsDir(*out), experiment.NaturalKind)); err != nil {
		return err
	}
	if err := experiment.CheckData(*dataset, b, *seed); err != nil {
		return err
	}
	backend, line, err := xla.Default()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "backend:", line)
	spec := experiment.NaturalSpec{Dataset: *dataset, Aux: auxNames, Budget: b, Seed: *seed, CheckpointDir: *ckpt, Quiet: *quiet}
	ctx, stop := signalContext(stderr)
	defer stop()
	rec, _, err := experiment.RunNaturalContext(ctx, backend, line, spec)
	if err != nil {
		return interruptedTrain(err, args)
	}
	recPath := experiment.RecordPath(filepath.Join(*out, "results"), rec)
	if err := experiment.WriteJSON(recPath, rec); err != nil {
		return err
	}
	res := rec.Results.(experiment.NaturalResults)
	fig, err := figure.LearningCurves(fmt.Sprintf("%s, %s budget", *dataset, b.Name), res.Curve)
	if err != nil {
		return err
	}
	paths, err := fig.Save(*out, "curves_"+rec.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained %s in %.1f s (%.3f s/step)\n", rec.Name, rec.Seconds, res.StepSeconds)
	for t, name := range res.Final.Tasks {
		fmt.Fprintf(stdout, "  test accuracy %-10s %.4f  (loss %.4f, %d examples)\n", name, res.Final.Accuracy[t], res.Final.Loss[t], res.Final.N)
	}
	fmt.Fprintln(stdout, "record:", recPath)
	fmt.Fprintln(stdout, "figure:", strings.Join(paths, ", "))
	return nil
}

// parse parses flags and refuses positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backends := fs.String("backends", "go,xla:cpu", "comma-separated backends (MTLROB_BACKEND syntax); one that cannot open is skipped with a note")
	models := fs.String("models", "lenet,resnet18", "comma-separated models: "+strings.Join(bench.ModelNames(), ", ")+", or wrn-D-K")
	rows := fs.String("rows", strings.Join(bench.Rows, ","), "comma-separated rows: "+strings.Join(slices.Concat(bench.Rows, bench.GPURows), ", "))
	batch := fs.Int("batch", 128, "batch size (>= 1)")
	rounds := fs.Int("rounds", 3, "interleaved rounds of Go and PyTorch repetitions per row (>= 1)")
	reps := fs.Int("reps", 3, "repetitions per round and side (>= 1)")
	rowSeconds := fs.Float64("row-seconds", 20, "timed seconds per row and side; slower sides are timed fewer times, at least once (negative: no cap)")
	python := fs.String("python", "/usr/bin/python3", "Python with torch (Debian python3-torch)")
	out := fs.String("out", "figures/bench", "directory for bench.json and bench.md")
	gpu := fs.Bool("gpu", false, "GPU benchmark: XLA CUDA against PyTorch CUDA, models "+strings.Join(bench.GPUModels, ",")+
		fmt.Sprintf(", batch %d, rows %s, python3 from PATH, -out figures/bench-gpu (flags given explicitly win)", bench.GPUBatch, strings.Join(bench.GPURows, ",")))
	allowRef := fs.String("allow-reference", "", "record the table against a misconfigured PyTorch reference (wrong BLAS build, "+
		"fewer threads than cores) for this REASON, which the table states with the problems; without it such a reference is an error")
	cpuFallback := fs.Bool("cpu-fallback", false, "with -gpu: the same code path on the CPU (pure-Go backend, PyTorch on the CPU) at a tiny size, to check it without a GPU")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	device := "cpu"
	var bs []bench.Backend
	if *gpu {
		defaults := map[string]func(){
			"models": func() { *models = strings.Join(bench.GPUModels, ",") },
			"rows":   func() { *rows = strings.Join(bench.GPURows, ",") },
			"batch":  func() { *batch = bench.GPUBatch },
			"python": func() { *python = "python3" },
			"out":    func() { *out = "figures/bench-gpu" },
		}
		if *cpuFallback {
			defaults["models"] = func() { *models = strings.Join(bench.GPUFallback.Models, ",") }
			defaults["batch"] = func() { *batch = bench.GPUFallback.Batch }
			defaults["python"] = func() {}
			defaults["rounds"] = func() { *rounds = 1 }
			defaults["reps"] = func() { *reps = 1 }
			defaults["out"] = func() { *out = filepath.Join(os.TempDir(), "mtlrob-bench-gpu-fallback") }
			defaults["allow-reference"] = func() { *allowRef = "CPU fallback of the GPU benchmark: a code-path check, not a measurement" }
		} else {
			device = "cuda"
		}
		for name, apply := range defaults {
			if !set[name] {
				apply()
			}
		}
		if set["backends"] {
			return fmt.Errorf("%w: -gpu picks its backend (%s); -backends does not apply", errUsage, bench.GPUSetting)
		}
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"batch", *batch}, {"rounds", *rounds}, {"reps", *reps}} {
		if err := checkCount(c.name, c.v); err != nil {
			return err
		}
	}
	if *rowSeconds == 0 {
		return fmt.Errorf("%w: -row-seconds 0: want seconds > 0, or negative for no cap", errUsage)
	}
	if err := checkOutputs(*out, *out); err != nil {
		return err
	}
	if *gpu {
		var err error
		if bs, err = bench.GPUBackends(xla.Open, *cpuFallback); err != nil {
			return err
		}
	} else {
		if *cpuFallback {
			return fmt.Errorf("%w: -cpu-fallback needs -gpu", errUsage)
		}
		for _, name := range strings.Split(*backends, ",") {
			b, line, err := xla.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "bench: skipping backend %s: %v\n", name, err)
				continue
			}
			bs = append(bs, bench.Backend{Name: name, Line: line, Backend: b})
		}
		if len(bs) == 0 {
			return fmt.Errorf("%w: -backends %q: none could be opened", errUsage, *backends)
		}
	}
	var ms []bench.Model
	for _, name := range strings.Split(*models, ",") {
		m, err := bench.ModelByName(name)
		if err != nil {
			return fmt.Errorf("%w: -models: %v", errUsage, err)
		}
		ms = append(ms, m)
	}
	rep, err := bench.Run(bs, bench.Config{Models: ms, Rows: strings.Split(*rows, ","), Batch: *batch, Rounds: *rounds,
		Reps: *reps, RowSeconds: *rowSeconds, Python: *python, Device: device,
		AllowReference: strings.TrimSpace(*allowRef), Log: stdout})
	if err != nil {
		return err
	}
	for name, line := range rep.BackendLines {
		rep.BackendLines[name] = experiment.RelativePaths(line)
	}
	md := rep.Markdown()
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, md)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := experiment.WriteJSON(filepath.Join(*out, "bench.json"), rep); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*out, "bench.md"), []byte(md), 0o644)
}

// env returns the experiment environment for a figures directory.
func env(out string, quiet bool, stdout io.Writer) (experiment.Env, error) {
	backend, line, err := xla.Default()
	if err != nil {
		return experiment.Env{}, err
	}
	fmt.Fprintln(stdout, "backend:", line)
	cache, err := experiment.CacheDir()
	if err != nil {
		return experiment.Env{}, err
	}
	if err := experiment.CheckWritable(cache); err != nil {
		return experiment.Env{}, fmt.Errorf("model cache: %w", err)
	}
	return experiment.Env{Backend: backend, BackendLine: line, ResultsDir: filepath.Join(out, "results"), CacheDir: cache, Quiet: quiet}, nil
}

// interruptibleEnv is env with a Context that SIGINT and SIGTERM cancel (signalContext): a training in
// progress ends after its step with a checkpoint in the cache. Call stop when the command ends.
func interruptibleEnv(out string, quiet bool, stdout, stderr io.Writer) (e experiment.Env, stop func(), err error) {
	if e, err = env(out, quiet, stdout); err != nil {
		return e, nil, err
	}
	e.Context, stop = signalContext(stderr)
	return e, stop, nil
}

func runGrid(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grid", flag.ContinueOnError)
	fs.SetOutput(stderr)
	budget := fs.String("budget", "", "budget preset: quick, standard or paper (default $MTLROB_BUDGET, else standard)")
	seed := fs.Int64("seed", 1, "seed of every model of the paper grid")
	grid := fs.String("grid", "paper", "which grid: paper (001/004's tables, one seed) or headline (the small CNN's answers over -seeds: Fashion-MNIST, then MNIST)")
	archFlag := fs.String("arch", "smallcnn", "network of every cell of the paper grid: smallcnn (the committed records') or any of "+strings.Join(arch.Names(), ", ")+
		" (lenet is 001's multi-head LeNet, 12x the multiply-adds)")
	seeds := fs.String("seeds", "1,2,3", "seeds of the headline grid, comma-separated")
	out := fs.String("out", "figures", "figures directory; records go to <out>/results/, tables to <out>/tables/")
	only := fs.String("only", "", "run only the cells whose model name contains this string")
	list := fs.Bool("list", false, "list the cells and exit")
	quiet := fs.Bool("quiet", false, "no progress bars")
	shardFlag := fs.String("shard", "", "run shard i/n of the grid (numbered from 0; the cells of one model stay together), default $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT in a SLURM array job, else the whole grid; every cell is claimed under <out>/results/.claims/ before it runs, so shards may overlap")
	steal := fs.Bool("steal-claims", false, "take over the claims of cells held by processes on other hosts (after those died); claims of dead processes of this host are taken over anyway")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := experiment.BudgetByName(*budget)
	if err != nil {
		return fmt.Errorf("%w: -budget: %v", errUsage, err)
	}
	spec, err := shard.Resolve(*shardFlag, os.Getenv)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var all []experiment.Cell
	var transferSpec *transfer.Spec // the paper grid's transfer analysis, nil for other grids
	switch *grid {
	case "paper":
		if _, err := arch.ByName(*archFlag, []string{"main"}, []int{10}, [3]int{28, 28, 1}); err != nil {
			return fmt.Errorf("%w: -arch: %v", errUsage, err)
		}
		all = experiment.PaperGrid(b, *seed)
		for i := range all {
			all[i].Model.Arch = *archFlag
		}
		// After its cells, the paper grid transfers adversarial examples between its Fashion-MNIST models
		// (004 §5, package transfer), in the last shard.
		ts, err := transfer.DefaultSpec("fashion-mnist", *archFlag, b, *seed)
		if err != nil {
			return err
		}
		transferSpec = &ts
	case "headline":
		var ss []int64
		for _, f := range strings.Split(*seeds, ",") {
			var s int64
			if _, err := fmt.Sscan(strings.TrimSpace(f), &s); err != nil {
				return fmt.Errorf("%w: -seeds %q: %q is not an integer", errUsage, *seeds, f)
			}
			ss = append(ss, s)
		}
		all = append(experiment.HeadlineGrid(b, ss), experiment.HeadlineMNISTGrid(b, ss)...) // Fashion-MNIST first
	default:
		return fmt.Errorf("%w: -grid %q: want paper or headline", errUsage, *grid)
	}
	if transferSpec != nil && *only != "" && !strings.Contains(transfer.Kind+" "+transferSpec.Name(), *only) {
		transferSpec = nil // -only selects some of the cells, not the transfer analysis
	}
	selected, err := experiment.SelectCells(all, *only)
	if err != nil && transferSpec == nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cells := shardCells(selected, spec)
	if transferSpec != nil && !spec.Whole() && spec.Index != spec.Count-1 {
		transferSpec = nil // the last shard runs it
	}
	if !spec.Whole() {
		fmt.Fprintf(stdout, "shard %s (%s): %d of the %d cells\n", spec, spec.Source, len(cells), len(selected))
	}
	if *list {
		for i, c := range cells {
			fmt.Fprintf(stdout, "%2d %-10s %s\n", i+1, c.Analysis, c.Model.Name())
		}
		if transferSpec != nil {
			fmt.Fprintf(stdout, "%2d %-10s %s\n", len(cells)+1, transfer.Kind, transferSpec.Name())
		}
		return nil
	}
	if err := checkInputs(*out, []string{resultsDir(*out), filepath.Join(*out, "tables")}, cellData(cells)); err != nil {
		return err
	}
	if len(cells) == 0 && transferSpec == nil {
		return nil // a shard beyond the grid's models
	}
	e, stop, err := interruptibleEnv(*out, *quiet, stdout, stderr)
	if err != nil {
		return err
	}
	defer stop()
	if len(cells) > 0 {
		if err := runShard(e, cells, selected, *steal, spec, filepath.Join(*out, "tables"), stdout); err != nil {
			return interruptedCell(err, "grid", args)
		}
	}
	if transferSpec != nil {
		claims := &shard.Claimer{Dir: claimsDir(e.ResultsDir), Steal: *steal, Shard: spec.String()}
		if _, err := shard.Run([]shard.Job{transferJob(e, *transferSpec, *out)}, shard.Options{Claims: claims, Log: stdout, Context: e.Context,
			Later: func(err error) bool { return errors.Is(err, training.ErrLocked) }}); err != nil {
			return interruptedCell(err, "grid", args)
		}
	}
	return nil
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataset := fs.String("dataset", "fashion-mnist", "dataset registry name")
	archName := fs.String("arch", "lenet", "architecture (lenet, smallcnn, alexnet, resnet18, wrn-D-K)")
	aux := fs.String("aux", "all", `auxiliary tasks, comma-separated; "all" or "none"`)
	training := fs.String("training", "natural", "training: "+strings.Join(experiment.Trainings, ", "))
	analysis := fs.String("analysis", "robustness", "robustness (clean, PGD, targeted PGD, CW, rejection, adaptive attack), directions (ARP of "+
		"Single/Total/SignTotal/WGD/DGBA) or vulnerability (003: relative and marginal task vulnerability, the WGD attack)")
	budget := fs.String("budget", "", "budget preset (default $MTLROB_BUDGET, else standard)")
	seed := fs.Int64("seed", 1, "seed")
	out := fs.String("out", "figures", "figures directory; the record goes to <out>/results/")
	quiet := fs.Bool("quiet", false, "no progress bars")
	if err := parse(fs, args); err != nil {
		return err
	}
	b, err := experiment.BudgetByName(*budget)
	if err != nil {
		return fmt.Errorf("%w: -budget: %v", errUsage, err)
	}
	set, err := experiment.Tasks(*dataset, nil)
	if err != nil {
		return fmt.Errorf("%w: -dataset: %v", errUsage, err)
	}
	var auxNames []string
	switch *aux {
	case "all":
		for _, m := range set.Aux {
			auxNames = append(auxNames, m.Name)
		}
	case "none", "":
		auxNames = []string{}
	default:
		auxNames = strings.Split(*aux, ",")
	}
	if _, err := set.Select(auxNames...); err != nil {
		return fmt.Errorf("%w: -aux: %v", errUsage, err)
	}
	cell := experiment.Cell{Model: experiment.ModelSpec{Dataset: *dataset, Arch: *archName, Aux: auxNames, Training: *training, Budget: b, Seed: *seed},
		Analysis: *analysis}
	if !contains(experiment.Trainings, *training) {
		return fmt.Errorf("%w: -training %q: want one of %v", errUsage, *training, experiment.Trainings)
	}
	if analyses := append(slices.Clone(experiment.Analyses), vulnerabilityAnalysis); !contains(analyses, *analysis) {
		return fmt.Errorf("%w: -analysis %q: want one of %v", errUsage, *analysis, analyses)
	}
	e, stop, err := preparedEnv(*out, []string{resultsDir(*out)}, cellData([]experiment.Cell{cell}), *quiet, stdout, stderr)
	if err != nil {
		return err
	}
	defer stop()
	run := cell.Run
	if *analysis == vulnerabilityAnalysis {
		run = func(e experiment.Env) (*experiment.Record, error) {
			return experiment.LoadOrAnalyseVulnerability(e, cell.Model)
		}
	}
	rec, err := run(e)
	if err != nil {
		return interruptedCell(err, "eval", args)
	}
	if *analysis == vulnerabilityAnalysis {
		t, err := experiment.VulnerabilityTableWithIntervals(rec)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, t.Markdown())
	}
	fmt.Fprintf(stdout, "%s record %s (%.0f s)\n", rec.Kind, experiment.RecordPath(e.ResultsDir, rec), rec.Seconds)
	if res, ok := experiment.As[experiment.RobustnessResults](rec.Results); ok {
		for _, c := range res.Sanity.Failed() {
			fmt.Fprintf(stdout, "sanity check (Carlini et al. 2019) %s\n", c)
		}
	}
	return nil
}

func runTables(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tables", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "figures", "figures directory: reads <out>/results/, writes <out>/tables/")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkOutputs(*out, filepath.Join(*out, "tables")); err != nil {
		return err
	}
	if err := experiment.CheckRecords(resultsDir(*out)); err != nil {
		return err
	}
	md, err := experiment.RenderTables(resultsDir(*out), filepath.Join(*out, "tables"))
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, md)
	return renderTransferTables(resultsDir(*out), filepath.Join(*out, "tables"), stdout)
}

// errStale is the error of a stale listing that found stale records.
var errStale = errors.New("stale records")

func runStale(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "figures", "figures directory: checks every record under <out>/results/")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, line, err := xla.Default()
	if err != nil {
		return err
	}
	current, err := experiment.CodeFingerprint(line)
	if err != nil {
		return err
	}
	stale, n, err := experiment.StaleRecords(filepath.Join(*out, "results"), line)
	if err != nil {
		return err
	}
	for _, s := range stale {
		fmt.Fprintf(stdout, "%s: %s\n", s.Path, strings.Join(s.Reasons, "; "))
	}
	if len(stale) > 0 {
		fmt.Fprint(stdout, staleSummary(stale))
	}
	fmt.Fprintf(stdout, "%d of %d records stale (current: %s)\n", len(stale), n, current)
	if len(stale) > 0 {
		return fmt.Errorf("%w: %d of %d (recompute them with MTLROB_STALE=recompute make figures)", errStale, len(stale), n)
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
