// Package nb holds the few helpers the GoNB notebooks share, so that their cells stay short calls of
// the library: open and describe the backend, save a figure under figures/ and show it inline,
// show Markdown, and report an error by ending the cell.
//
// Outside a notebook (a test, a command) nothing is displayed: Save prints the paths it wrote,
// Markdown prints its source and Show does nothing. Only notebooks need this package (it imports
// GoNB's gonbui, which also keeps GoNB in go.mod); mtlrob/figure does not import GoNB.
package nb

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/figure"
	"github.com/mtlrob/mtlrob/xla"
)

// Stdout is where Backend prints, and Save and Markdown print outside a notebook; tests replace it.
var Stdout io.Writer = os.Stdout

// exit ends the cell; tests replace it.
var exit = os.Exit

// Check reports a non-nil err on stderr as "error: ..." and ends the cell with exit status 1, which
// the notebook test and `make notebooks` catch. Notebooks call it where library code returns an error.
func Check(err error) {
	if err == nil {
		return
	}
	gonbui.Sync()
	fmt.Fprintln(os.Stderr, "error:", err)
	exit(1)
}

// Must returns v when err is nil, and otherwise reports err and ends the cell as Check does.
func Must[T any](v T, err error) T {
	Check(err)
	return v
}

// Backend opens the workbench's backend (xla.Default: XLA CUDA or CPU when a plugin is found, else
// the pure-Go one), prints its one-line description, which says simd=on or off, with the repository
// and home directories shortened, and returns the backend and the full line for records. The first
// cell of every notebook calls it.
func Backend() (compute.Backend, string) {
	b, line := OpenBackend()
	fmt.Fprintln(Stdout, "backend:", ShortPaths(line))
	return b, line
}

// OpenBackend is Backend without the printing, for cells that need a backend only to compute a
// missing record.
func OpenBackend() (compute.Backend, string) {
	b, line, err := xla.Default()
	Check(err)
	return b, line
}

// ShortPaths writes the repository root as "<repo>" and the home directory as "~" in s.
func ShortPaths(s string) string {
	if out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
		if root := strings.TrimSpace(string(out)); root != "" {
			s = strings.ReplaceAll(s, root+string(filepath.Separator), "<repo>"+string(filepath.Separator))
		}
	}
	if home, err := os.UserHomeDir(); err == nil && home != "/" && home != "" {
		s = strings.ReplaceAll(s, home+string(filepath.Separator), "~"+string(filepath.Separator))
	}
	return s
}

// InlineDPI is the resolution of the copy of a figure that Save shows inline: about the width of a
// notebook page for the usual 11-inch figure, and half the bytes of the 150 dpi file it writes.
const InlineDPI = 100

// Save writes fig as name.png and name.svg into experiment.FiguresDir() (figures/ at the repository
// root, or $MTLROB_FIGURES_DIR) and returns both paths. In a notebook it shows the figure inline (at
// InlineDPI, to keep the saved notebook small) with the paths under it; elsewhere it prints the paths.
func Save(fig *figure.Figure, name string) ([]string, error) {
	dir, err := experiment.FiguresDir()
	if err != nil {
		return nil, err
	}
	paths, err := fig.Save(dir, name)
	if err != nil {
		return nil, err
	}
	if !gonbui.IsNotebook {
		fmt.Fprintln(Stdout, "figure:", ShortPaths(strings.Join(paths, ", ")))
		return paths, nil
	}
	inline, err := fig.PNG(InlineDPI)
	if err != nil {
		return nil, err
	}
	gonbui.DisplayPng(inline)
	// Through the display channel too, so that the line stays under its figure (stdout is a separate
	// stream that GoNB may interleave differently).
	Markdownf("Written: `%s`, `%s`", ShortPaths(paths[0]), ShortPaths(paths[1]))
	return paths, nil
}

// Show displays PNG files inline, in order, and waits until GoNB has them. Outside a notebook it
// does nothing. A file that cannot be read, or is not a PNG, is an error.
func Show(paths ...string) error {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("nb: %w", err)
		}
		if !strings.HasPrefix(string(data), "\x89PNG\r\n\x1a\n") {
			return fmt.Errorf("nb: %s is not a PNG file", p)
		}
		gonbui.DisplayPng(data)
	}
	gonbui.Sync()
	return nil
}

// Markdown shows md rendered in a notebook, and prints it as it is outside one.
func Markdown(md string) {
	if !gonbui.IsNotebook {
		fmt.Fprintln(Stdout, md)
		return
	}
	gonbui.DisplayMarkdown(md)
	gonbui.Sync()
}

// Markdownf is Markdown with fmt.Sprintf formatting.
func Markdownf(format string, args ...any) { Markdown(fmt.Sprintf(format, args...)) }

// ResultsDir is experiment.ResultsDir, ending the cell on error: where the notebooks' records live.
func ResultsDir() string { return Must(experiment.ResultsDir()) }

// Examples describes the test images n examples of a budget mean: "all" for 0 (the whole test
// subset), else "the first n".
func Examples(n int) string {
	if n <= 0 {
		return "all"
	}
	return fmt.Sprintf("the first %d", n)
}

// AttackImages describes the test images a budget's attacks run on: its AttackExamples, or, for the
// heavy analyses (CW, the worst case, the direction comparison, the vulnerability analysis), its
// HeavyExamples when that is smaller (the rule of experiment's Budget).
func AttackImages(b experiment.Budget, heavy bool) string {
	n := b.AttackExamples
	if heavy && b.HeavyExamples > 0 && (n == 0 || b.HeavyExamples < n) {
		n = b.HeavyExamples
	}
	return Examples(n)
}
