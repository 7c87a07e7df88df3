package experiment

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mtlrob/mtlrob/datasets"
)

// FiguresEnv names the environment variable that sends figures and their result records somewhere
// other than the repository's figures/ directory (the notebook test points it at a temporary one).
const FiguresEnv = "MTLROB_FIGURES_DIR"

// FiguresDir is where the notebooks write their figures: $MTLROB_FIGURES_DIR when set, else figures/
// in the repository root, the first directory at or above the working directory whose go.mod
// declares module github.com/mtlrob/mtlrob (a GoNB cell runs in the notebook's directory, so its
// figures land in the repository's figures/). The directory need not exist.
func FiguresDir() (string, error) {
	if d := os.Getenv(FiguresEnv); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("experiment: no figures directory: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if declaresModule(filepath.Join(d, "go.mod"), datasets.ModulePath) {
			return filepath.Join(d, "figures"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("experiment: no figures directory: $%s is unset and no go.mod of %s is at or above %s",
				FiguresEnv, datasets.ModulePath, wd)
		}
	}
}

// ResultsDir is FiguresDir()/results, under which records live as <kind>/<name>.json (see RecordPath).
func ResultsDir() (string, error) {
	d, err := FiguresDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "results"), nil
}

// declaresModule reports whether the go.mod file at path declares module mod.
func declaresModule(path, mod string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], "\"`") == mod
		}
	}
	return false
}
