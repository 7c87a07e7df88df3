package training

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// runState is what a checkpoint directory keeps beside the weights so that a resumed run continues the
// same run: the configuration the run was started with and the learning-curve points measured so far.
// It lives in <CheckpointDir>/run.json and is replaced atomically after every checkpoint.
type runState struct {
	Config Config `json:"config"`
	Curve  Curve  `json:"curve"`
}

const runStateFile = "run.json"

// resumeKey is the part of a Config that must match for a run to resume another: everything except
// Steps (a resumed run may go further), where the checkpoints live, how many are kept, and Quiet.
func resumeKey(c Config) Config {
	c.Steps, c.CheckpointDir, c.KeepCheckpoints, c.Quiet = 0, "", 0, false
	return c
}

// loadRunState reads dir's run.json. It returns the learning-curve points up to step (the step of the
// restored checkpoint), or an error naming the fields that differ when the checkpoints there were
// written by a run with another configuration: resuming them would silently mix two runs. A directory
// without run.json (checkpoints written before it existed) resumes with an empty curve.
func loadRunState(dir string, cfg Config, step int) (Curve, error) {
	path := filepath.Join(dir, runStateFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return Curve{}, nil
	}
	if err != nil {
		return Curve{}, fmt.Errorf("training: %w", err)
	}
	var st runState
	if err := json.Unmarshal(data, &st); err != nil {
		return Curve{}, fmt.Errorf("training: %s: %w (remove the directory to start afresh)", path, err)
	}
	if diff, err := configDiff(resumeKey(st.Config), resumeKey(cfg)); err != nil {
		return Curve{}, err
	} else if diff != "" {
		return Curve{}, fmt.Errorf("training: %s: the checkpoints there come from a run with another configuration (%s); "+
			"remove the directory to start afresh or use another CheckpointDir", path, diff)
	}
	c, n := st.Curve, 0
	for n < len(c.Step) && c.Step[n] <= step {
		n++
	}
	if len(c.Train) < n || len(c.Test) < n || (c.Selection != nil && len(c.Selection) < n) {
		return Curve{}, fmt.Errorf("training: %s: curve with %d steps but %d train, %d test points", path, len(c.Step), len(c.Train), len(c.Test))
	}
	out := Curve{Step: slices.Clone(c.Step[:n]), Train: slices.Clone(c.Train[:n]), Test: slices.Clone(c.Test[:n])}
	if c.Selection != nil {
		out.Selection = slices.Clone(c.Selection[:n])
	}
	return out, nil
}

// saveRunState writes dir's run.json through a temporary file and a rename.
func saveRunState(dir string, cfg Config, curve Curve) error {
	data, err := json.MarshalIndent(runState{Config: cfg, Curve: curve}, "", " ")
	if err != nil {
		return fmt.Errorf("training: %w", err)
	}
	path := filepath.Join(dir, runStateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("training: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("training: %w", err)
	}
	return nil
}

// configDiff lists the JSON fields in which a and b differ, "batch_size: 16 there, 32 now", or "".
func configDiff(there, now Config) (string, error) {
	var a, b map[string]any
	for _, p := range []struct {
		c Config
		m *map[string]any
	}{{there, &a}, {now, &b}} {
		data, err := json.Marshal(p.c)
		if err != nil {
			return "", fmt.Errorf("training: %w", err)
		}
		if err := json.Unmarshal(data, p.m); err != nil {
			return "", fmt.Errorf("training: %w", err)
		}
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		x, _ := json.Marshal(a[k])
		y, _ := json.Marshal(b[k])
		if string(x) != string(y) {
			diffs = append(diffs, fmt.Sprintf("%s: %s there, %s now", k, x, y))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; "), nil
}
