package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// runState is what a checkpoint directory keeps beside the weights so that a resumed run continues the
// same run: the configuration the run was started with, its identity (data, tasks and their label maps,
// network, training step: see runIdentity) and the learning-curve points measured so far. It lives in
// <CheckpointDir>/run.json, is written before the run's first checkpoint and replaced atomically after
// every checkpoint.
type runState struct {
	Config   Config            `json:"config"`
	Identity map[string]string `json:"identity"`
	Curve    Curve             `json:"curve"`
}

const runStateFile = "run.json"

// resumeKey is the part of a Config that must match for a run to resume another: everything except
// Steps (a resumed run may go further), where the checkpoints live, how many are kept, and Quiet.
func resumeKey(c Config) Config {
	c.Steps, c.CheckpointDir, c.KeepCheckpoints, c.Quiet = 0, "", 0, false
	return c
}

// checkRunState reads dir's run.json and checks that the run described by cfg and identity may use the
// directory. It returns the stored state (nil when there is no run.json and no checkpoint: a fresh
// directory). It fails, naming run.json, every differing field with both values and what to do, when
// the directory was written by a run with another configuration or identity (resuming would silently
// mix two runs), when run.json is unreadable, and when checkpoints are there without a run.json (their
// run cannot be checked).
func checkRunState(dir string, cfg Config, identity map[string]string) (*runState, error) {
	path := filepath.Join(dir, runStateFile)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		names, lerr := listCheckpoints(dir)
		if lerr != nil {
			return nil, lerr
		}
		if len(names) > 0 {
			return nil, foreign("training: %s holds %d checkpoint(s) (newest %s) but no %s, so the run that wrote them cannot be checked: "+
				"remove the directory to start afresh, or use another checkpoint directory", dir, len(names), names[len(names)-1], runStateFile)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	var st runState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("training: %s: %w (remove the directory to start afresh)", path, err)
	}
	diff, err := configDiff(resumeKey(st.Config), resumeKey(cfg))
	if err != nil {
		return nil, err
	}
	var diffs []string
	if diff != "" {
		diffs = append(diffs, diff)
	}
	if st.Identity == nil {
		diffs = append(diffs, "identity: none there (run.json written before runs recorded their data, tasks and network), recorded now")
	} else {
		diffs = append(diffs, identityDiff(st.Identity, identity)...)
	}
	if len(diffs) > 0 {
		return nil, foreign("training: %s: the checkpoints there come from another run (%s); "+
			"use another checkpoint directory, or remove this one to start afresh", path, strings.Join(diffs, "; "))
	}
	return &st, nil
}

// curveUpTo returns the points of the stored curve up to step (the step of the restored checkpoint): a
// checkpoint older than run.json (a newer one was skipped as unreadable) continues the curve from there.
func curveUpTo(path string, c Curve, step int) (Curve, error) {
	n := 0
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
func saveRunState(dir string, cfg Config, identity map[string]string, curve Curve) error {
	data, err := json.MarshalIndent(runState{Config: cfg, Identity: identity, Curve: curve}, "", " ")
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

// ErrForeignCheckpoints is what a run refuses to resume: checkpoints written by another run (another
// identity or configuration), or checkpoints without the run.json that would say which run wrote them.
// A caller that owns the directory (a cache) may remove it and start afresh; errors.Is tells it.
var ErrForeignCheckpoints = errors.New("training: checkpoints of another run")

// foreignError is an error that is ErrForeignCheckpoints (errors.Is) with its own message.
type foreignError struct{ msg string }

func (e *foreignError) Error() string        { return e.msg }
func (e *foreignError) Is(target error) bool { return target == ErrForeignCheckpoints }

func foreign(format string, args ...any) error { return &foreignError{fmt.Sprintf(format, args...)} }
