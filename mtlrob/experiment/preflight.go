package experiment

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mtlrob/mtlrob/datasets"
)

// Preflight checks, run by the commands before their long work, so that a problem found there does
// not cost a training run: CheckWritable for outputs, CheckData for the splits, CheckRecords for the
// records a command will read.

// CheckWritable makes sure files can be created in dir: it creates dir and its missing parents, then
// creates and removes a probe file there. The error names dir and says what failed (a parent that is
// a file, a read-only directory, a full disk).
func CheckWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("experiment: output directory %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".mtlrob-probe-*")
	if err != nil {
		return fmt.Errorf("experiment: output directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	_, err = f.Write([]byte("probe\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("experiment: output directory %s is not writable: %w", dir, err)
	}
	return nil
}

// CheckSplits refuses a train or test split that a model cannot be trained and evaluated on: an empty
// split, images whose shape differs between the splits (the train split's is the model's input), or
// a test split with another number of classes. The error names the dataset, the split and the field,
// with what was expected.
func CheckSplits(name string, train, test *datasets.Dataset) error {
	for _, ds := range []*datasets.Dataset{train, test} {
		if ds.N <= 0 {
			return fmt.Errorf("experiment: %s %s split (%s): %d examples, want at least 1", name, ds.Split, ds.Source, ds.N)
		}
	}
	if tr, te := [3]int{train.Height, train.Width, train.Channels}, [3]int{test.Height, test.Width, test.Channels}; tr != te {
		return fmt.Errorf("experiment: %s test split (%s): images %dx%dx%d (height x width x channels), want %dx%dx%d, the train split's and the model's input",
			name, test.Source, te[0], te[1], te[2], tr[0], tr[1], tr[2])
	}
	if len(test.ClassNames) != len(train.ClassNames) {
		return fmt.Errorf("experiment: %s test split (%s): %d classes, want %d, the train split's",
			name, test.Source, len(test.ClassNames), len(train.ClassNames))
	}
	return nil
}

// CheckData loads a dataset's splits as Data does for a budget and seed and checks them with
// CheckSplits.
func CheckData(name string, b Budget, seed int64) error {
	train, test, err := Data(name, b, seed)
	if err != nil {
		return err
	}
	return CheckSplits(name, train, test)
}

// CheckRecords reads every record under resultsDir as the commands and renderers will, and returns
// the first that cannot be read, with its file named: records of the known kinds with their typed
// readers (unknown fields refused), any other *.json as JSON whose kind is its directory's. A missing
// resultsDir holds no records and is no error.
func CheckRecords(resultsDir string) error {
	if _, err := os.Stat(resultsDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	readers := map[string]func(string) ([]*Record, error){
		RobustnessKind: ReadRobustness, DirectionsKind: ReadDirections, ModelKind: ReadModels,
		TaskSearchKind: ReadTaskSearches, VulnerabilityKind: ReadVulnerability,
	}
	for _, kind := range slices.Sorted(maps.Keys(readers)) {
		if _, err := readers[kind](resultsDir); err != nil {
			return recordError(err)
		}
	}
	return filepath.WalkDir(resultsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("experiment: reading records: %w", err)
		}
		if d.IsDir() || filepath.Ext(path) != ".json" || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		kind := filepath.Base(filepath.Dir(path))
		if _, ok := readers[kind]; ok {
			return nil
		}
		if kind == NaturalKind {
			_, err := ReadNatural(path)
			return recordError(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return recordError(fmt.Errorf("experiment: %w", err))
		}
		var rec provenanceOnly
		if err := json.Unmarshal(data, &rec); err != nil {
			return recordError(fmt.Errorf("experiment: %s: %w", path, err))
		}
		if rec.Kind != kind {
			return recordError(fmt.Errorf("experiment: %s: kind %q, want %q (its directory)", path, rec.Kind, kind))
		}
		return nil
	})
}

// recordError adds to a record-reading error what to do about it.
func recordError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("unreadable record: %w (fix or remove the file; nothing was computed)", err)
}
