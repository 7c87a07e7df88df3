// Package notebooks executes the workbench's GoNB notebooks headlessly and checks what they did.
//
// Jupyter's nbconvert exits 0 even when a Go cell panics or exits with a non-zero status (GoNB
// reports those as cell output), so Execute reads the executed notebook back: an error output, or
// "panic:" or "exit status N" in a cell's stderr, is a Problem. CheckFigures checks that the figures
// a notebook promises (Figures) were written and are valid PNG and SVG files of a sensible size.
//
// `make notebooks` runs them through the command notebooks/nbrun; the test in this package runs
// every notebook on the quick budget into a temporary directory.
package notebooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// DefaultJupyter is the Jupyter the Makefile installs (Debian's), never one from pip or pyenv.
const DefaultJupyter = "/usr/bin/jupyter"

// KernelName is the name under which the Makefile registers the GoNB kernel.
const KernelName = "gonb"

// Options of Execute.
type Options struct {
	// Jupyter is the jupyter command. Default DefaultJupyter.
	Jupyter string
	// DataDir is the JUPYTER_DATA_DIR that holds the registered GoNB kernel (.jupyter/ at the
	// repository root, see `make kernel`). Default: $JUPYTER_DATA_DIR as inherited.
	DataDir string
	// OutDir receives the executed notebook and nbconvert's log (name.log). Required.
	OutDir string
	// CellTimeout is how long a single cell may run. Default 1 hour.
	CellTimeout time.Duration
	// Env is added to the environment of nbconvert and so of the kernel and its cells, e.g.
	// "MTLROB_BUDGET=quick" or "MTLROB_FIGURES_DIR=out/figs".
	Env []string
}

// Problem is something wrong in an executed notebook.
type Problem struct {
	Cell  int    // index of the cell in the notebook
	ID    string // the cell's id
	Kind  string // "error output", "panic", "exit status", "not executed", "figure"
	Text  string // the evidence: the error or the stderr text (trimmed)
	Where string // the notebook or figure file
}

func (p Problem) String() string {
	if p.Kind == "figure" {
		return fmt.Sprintf("%s: %s", p.Where, p.Text)
	}
	return fmt.Sprintf("%s: cell %d (id %q): %s:\n%s", filepath.Base(p.Where), p.Cell, p.ID, p.Kind, indent(p.Text))
}

// Result of executing one notebook.
type Result struct {
	Notebook string        // the source notebook
	Executed string        // the executed copy, in Options.OutDir
	Log      string        // nbconvert's stdout and stderr (GoNB's log included)
	Duration time.Duration // wall time of nbconvert
	Problems []Problem     // what Check found in the executed copy
}

// Execute runs every cell of the notebook at path with the GoNB kernel, through `jupyter nbconvert
// --execute --allow-errors`, writing the executed copy to opt.OutDir (the source is not touched),
// and checks it (see Check). The kernel runs in the notebook's own directory, as in Jupyter. The
// error is for a notebook that could not be executed at all (nbconvert failed, or ctx ended); a
// notebook whose cells failed comes back with Problems.
func Execute(ctx context.Context, path string, opt Options) (*Result, error) {
	if opt.OutDir == "" {
		return nil, errors.New("notebooks: Execute needs an output directory")
	}
	if opt.Jupyter == "" {
		opt.Jupyter = DefaultJupyter
	}
	if opt.CellTimeout == 0 {
		opt.CellTimeout = time.Hour
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("notebooks: %w", err)
	}
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("notebooks: %w", err)
	}
	name := filepath.Base(abs)
	res := &Result{Notebook: abs, Executed: filepath.Join(opt.OutDir, name), Log: filepath.Join(opt.OutDir, strings.TrimSuffix(name, ".ipynb")+".log")}
	cmd := exec.CommandContext(ctx, opt.Jupyter, "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
		"--ExecutePreprocessor.kernel_name="+KernelName,
		fmt.Sprintf("--ExecutePreprocessor.timeout=%d", int(opt.CellTimeout.Seconds())),
		"--ExecutePreprocessor.record_timing=False",
		"--output-dir", opt.OutDir, "--output", name, abs)
	cmd.Dir = filepath.Dir(abs)
	cmd.Env = os.Environ()
	if opt.DataDir != "" {
		cmd.Env = append(cmd.Env, "JUPYTER_DATA_DIR="+opt.DataDir)
	}
	cmd.Env = append(cmd.Env, opt.Env...)
	cmd.WaitDelay = 10 * time.Second
	logFile, err := os.Create(res.Log)
	if err != nil {
		return nil, fmt.Errorf("notebooks: %w", err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	err = cmd.Run()
	res.Duration = time.Since(start)
	if ctx.Err() != nil {
		return res, fmt.Errorf("notebooks: %s: stopped after %s: %w (log: %s)", name, res.Duration.Round(time.Second), ctx.Err(), res.Log)
	}
	if err != nil {
		return res, fmt.Errorf("notebooks: %s: jupyter nbconvert: %v\n%s", name, err, indent(tail(res.Log, 40)))
	}
	if res.Problems, err = Check(res.Executed); err != nil {
		return res, err
	}
	return res, nil
}

// exitStatus matches the line GoNB writes when a cell's program exits with a non-zero status.
var exitStatus = regexp.MustCompile(`(?m)^exit status [0-9]+`)

// Check reads an executed notebook and returns its problems: every error output, every stderr
// stream that holds "panic:" or "exit status N", and every code cell that was not executed. An
// unreadable notebook is an error.
func Check(executed string) ([]Problem, error) {
	data, err := os.ReadFile(executed)
	if err != nil {
		return nil, fmt.Errorf("notebooks: %w", err)
	}
	var nb notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("notebooks: %s: %w", executed, err)
	}
	var problems []Problem
	for i, c := range nb.Cells {
		if c.CellType != "code" {
			continue
		}
		add := func(kind, text string) {
			problems = append(problems, Problem{Cell: i, ID: c.ID, Kind: kind, Text: strings.TrimSpace(text), Where: executed})
		}
		if c.ExecutionCount == nil {
			add("not executed", "the cell has no execution count")
		}
		for _, o := range c.Outputs {
			switch {
			case o.OutputType == "error":
				add("error output", o.EName+": "+o.EValue+"\n"+strings.Join(o.Traceback, "\n"))
			case o.OutputType == "stream" && o.Name == "stderr":
				text := o.text()
				if strings.Contains(text, "panic:") {
					add("panic", text)
				} else if exitStatus.MatchString(text) {
					add("exit status", text)
				}
			}
		}
	}
	return problems, nil
}

// notebook is the part of the nbformat 4 JSON that Check reads.
type notebook struct {
	Cells []struct {
		CellType       string   `json:"cell_type"`
		ID             string   `json:"id"`
		ExecutionCount *int     `json:"execution_count"`
		Outputs        []output `json:"outputs"`
	} `json:"cells"`
}

type output struct {
	OutputType string          `json:"output_type"`
	Name       string          `json:"name"`
	Text       json.RawMessage `json:"text"` // a string or a list of strings
	EName      string          `json:"ename"`
	EValue     string          `json:"evalue"`
	Traceback  []string        `json:"traceback"`
}

// text joins a stream's text, which nbformat stores as a string or a list of lines.
func (o output) text() string {
	var s string
	if json.Unmarshal(o.Text, &s) == nil {
		return s
	}
	var lines []string
	_ = json.Unmarshal(o.Text, &lines)
	return strings.Join(lines, "")
}

// Figures lists, for each notebook file, the figures it writes (names without .png/.svg); "{budget}"
// stands for the name of the budget it ran with, "{search-budget}" for the task search's
// (SearchBudgetName). Every notebook needs an entry (an empty list when
// it draws nothing): the notebook test fails for one without.
var Figures = map[string][]string{
	"01_self_defined_tasks.ipynb": {
		"tasks_fashion-mnist",
		"samples_fashion-mnist_category",
		"samples_fashion-mnist_region",
		"samples_fashion-mnist_random3",
	},
	"02_multi_task_training.ipynb": {
		"compare_main_fashion-mnist_smallcnn_{budget}_seed1",
		"compare_heads_fashion-mnist_smallcnn_{budget}_seed1",
		"final_accuracy_fashion-mnist_smallcnn_{budget}_seed1",
		"curves_natural_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
	},
	"03_adversarial_training.ipynb": {
		"robustness_fashion-mnist_smallcnn_{budget}_seed1",
		"adversarial_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
	},
	"04_rejection.ipynb": {
		"rejection_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
		"adaptive_fashion-mnist_smallcnn_{budget}_seed1",
	},
	"05_attack_directions.ipynb": {
		"arp_eps_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
		"task_arp_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
		"transfer_fashion-mnist_smallcnn_{budget}_seed1",
	},
	"06_vulnerability.ipynb": {
		"vulnerability_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
		"relative_vulnerability_fashion-mnist_smallcnn_{budget}_seed1",
		"gradient_cosine_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
	},
	"09_answers.ipynb": {
		"headline_fashion-mnist_smallcnn_{budget}",
		"directions_seeds_fashion-mnist_smallcnn_{budget}",
	},
	"07_mixed_perturbations.ipynb": {
		"mp_vs_pgd_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
		"curves_adversarial_fashion-mnist_smallcnn_main+category+region_{budget}_seed1",
	},
	"08_task_search.ipynb": {
		"search_candidates_fashion-mnist_lenet_{search-budget}_seed1",
		"search_proxies_fashion-mnist_lenet_{search-budget}_seed1",
		"search_robust_fashion-mnist_lenet_{search-budget}_seed1",
		"search_candidates_mnist_lenet_{search-budget}_seed1",
		"search_proxies_mnist_lenet_{search-budget}_seed1",
		"search_robust_mnist_lenet_{search-budget}_seed1",
	},
}

// Minimum size of a figure's PNG: smaller means an empty or broken rendering.
const (
	minPNGBytes  = 8 << 10
	minPNGPixels = 400
)

// SearchBudgetName is the budget of notebook 08's task search, as experiment.SearchBudget chooses it:
// $MTLROB_SEARCH_BUDGET, "quick" when unset.
func SearchBudgetName() string {
	if b := os.Getenv("MTLROB_SEARCH_BUDGET"); b != "" {
		return b
	}
	return "quick"
}

// CheckFigures checks that dir holds name.png and name.svg for every name (with "{budget}"
// replaced by budget and "{search-budget}" by SearchBudgetName()), written at or after since
// (unless since is zero: a figure left over from an earlier run does not count), that each PNG
// decodes and is at least 400 pixels wide and high and 8 KiB large, and that each SVG is an SVG
// document. It returns a Problem per failure.
func CheckFigures(dir string, names []string, budget string, since time.Time) []Problem {
	var problems []Problem
	for _, n := range names {
		n = strings.ReplaceAll(strings.ReplaceAll(n, "{budget}", budget), "{search-budget}", SearchBudgetName())
		bad := func(path, format string, args ...any) {
			problems = append(problems, Problem{Kind: "figure", Where: path, Text: fmt.Sprintf(format, args...)})
		}
		pngPath, svgPath := filepath.Join(dir, n+".png"), filepath.Join(dir, n+".svg")
		for _, p := range []string{pngPath, svgPath} {
			if st, err := os.Stat(p); err == nil && st.ModTime().Before(since) {
				bad(p, "not written by this run (last written %s)", st.ModTime().Format(time.RFC3339))
			}
		}
		data, err := os.ReadFile(pngPath)
		if err != nil {
			bad(pngPath, "not written: %v", err)
		} else if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
			bad(pngPath, "not a PNG: %v", err)
		} else if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			bad(pngPath, "broken PNG: %v", err)
		} else if cfg.Width < minPNGPixels || cfg.Height < minPNGPixels || len(data) < minPNGBytes {
			bad(pngPath, "too small to be a figure: %dx%d pixels, %d bytes", cfg.Width, cfg.Height, len(data))
		}
		if data, err := os.ReadFile(svgPath); err != nil {
			bad(svgPath, "not written: %v", err)
		} else if !bytes.Contains(data[:min(len(data), 512)], []byte("<svg")) {
			bad(svgPath, "not an SVG document")
		}
	}
	return problems
}

// List returns the notebooks of dir in reading order: the files named NN_*.ipynb, sorted.
func List(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "[0-9][0-9]_*.ipynb"))
	if err != nil {
		return nil, fmt.Errorf("notebooks: %w", err)
	}
	sort.Strings(paths)
	return paths, nil
}

// ReplaceWith atomically replaces the notebook at dst with the file src (an executed copy).
func ReplaceWith(dst, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("notebooks: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return fmt.Errorf("notebooks: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("notebooks: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("notebooks: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("notebooks: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("notebooks: %w", err)
	}
	return nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
