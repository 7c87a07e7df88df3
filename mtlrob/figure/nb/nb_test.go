package nb

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/experiment"
	"github.com/mtlrob/mtlrob/mtlrob/figure"
	"github.com/mtlrob/mtlrob/mtlrob/task"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

func TestTaskTable(t *testing.T) {
	set, err := task.ForDataset("mnist")
	if err != nil {
		t.Fatal(err)
	}
	got := TaskTable(set)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 12 {
		t.Fatalf("%d lines, want a header, a separator and 10 rows:\n%s", len(lines), got)
	}
	for _, want := range []string{
		"| y | mnist class | parity (K_m = 2) | prime (K_m = 2) |",
		"| 2 | 2 | even (0) | prime (1) |",
		"| 9 | 9 | odd (1) | not prime (0) |",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if got := mdEscape("a|b_c*"); got != `a\|b\_c\*` {
		t.Errorf("mdEscape = %q", got)
	}
}

func TestSaveWritesIntoTheFiguresDirAndShowChecksPNG(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(experiment.FiguresEnv, dir)
	var out bytes.Buffer
	Stdout = &out
	defer func() { Stdout = os.Stdout }()
	p := plot.New()
	p.Title.Text = "line"
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l)
	paths, err := Save(figure.Single(p, 4*vg.Inch, 3*vg.Inch), "unit")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "unit.png"), filepath.Join(dir, "unit.svg")}
	if len(paths) != 2 || paths[0] != want[0] || paths[1] != want[1] {
		t.Fatalf("paths %q, want %q", paths, want)
	}
	if !strings.Contains(out.String(), "figure: ") {
		t.Errorf("Save printed %q, want the figure's paths", out.String())
	}
	if err := Show(paths[1]); err == nil || !strings.Contains(err.Error(), "not a PNG") {
		t.Errorf("Show(SVG): error %v", err)
	}
	if err := Show(filepath.Join(dir, "missing.png")); err == nil {
		t.Error("Show of a missing file succeeded")
	}
}

func TestCheckEndsTheCell(t *testing.T) {
	code := -1
	exit = func(c int) { code = c }
	defer func() { exit = os.Exit }()
	Check(nil)
	if code != -1 {
		t.Fatal("Check(nil) ended the cell")
	}
	if v := Must(7, nil); v != 7 || code != -1 {
		t.Fatalf("Must(7, nil) = %d", v)
	}
	Check(os.ErrNotExist)
	if code != 1 {
		t.Fatalf("Check(err) exited with %d, want 1", code)
	}
}

func TestShortPaths(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil || home == "/" {
		t.Skip("no home directory")
	}
	if got := ShortPaths("plugin " + home + "/x.so"); got != "plugin ~/x.so" {
		t.Fatalf("ShortPaths = %q", got)
	}
}
