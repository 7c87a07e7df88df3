// Package shard splits a grid of cells among processes, on one machine or many, that share one results
// directory: a Spec says which share of the cells a process takes (-shard i/n, or the array index of a
// cluster scheduler), and a Claimer makes sure that each cell is computed by one process at a time
// however the shares overlap, through claim files created exclusively (O_CREATE|O_EXCL) next to the
// records. Run drives the cells of a shard through both.
package shard

import (
	"fmt"
	"strconv"
	"strings"
)

// Spec is one shard of a grid: shard Index of Count, numbered from 0. The zero Spec (Count 0) and
// 0/1 both mean the whole grid.
type Spec struct {
	Index, Count int
	// Source says where the spec came from ("-shard", or the scheduler variables), for the logs.
	Source string
}

// Whole reports whether s selects every cell.
func (s Spec) Whole() bool { return s.Count <= 1 }

func (s Spec) String() string {
	if s.Whole() {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Parse reads a shard given as "i/n" (0 <= i < n), as the -shard flag takes it.
func Parse(s string) (Spec, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("shard: -shard %q: want i/n, shard i of n numbered from 0 (e.g. 0/4)", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case err1 != nil || err2 != nil:
		return Spec{}, fmt.Errorf("shard: -shard %q: want i/n with integers i and n (e.g. 0/4)", s)
	case n < 1:
		return Spec{}, fmt.Errorf("shard: -shard %q: the number of shards must be at least 1", s)
	case i < 0 || i >= n:
		return Spec{}, fmt.Errorf("shard: -shard %q: the index must be in 0..%d (shards are numbered from 0)", s, n-1)
	}
	return Spec{Index: i, Count: n, Source: "-shard " + s}, nil
}

// FromSLURM reads the shard of a SLURM array job (sbatch --array) from its environment, through getenv
// (os.Getenv): SLURM_ARRAY_TASK_ID, and the array's size from SLURM_ARRAY_TASK_COUNT or from
// SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_MAX (with SLURM_ARRAY_TASK_STEP when set, as --array=0-12:4
// sets it). The shard's index is the task's position in the array: --array=1-4 gives shards 0/4..3/4.
// ok is false, with no error, outside an array job (SLURM_ARRAY_TASK_ID unset). Arrays whose task IDs
// are not evenly spaced (--array=1,3,7) are refused: the position of a task cannot be known from its ID.
func FromSLURM(getenv func(string) string) (s Spec, ok bool, err error) {
	idStr := strings.TrimSpace(getenv("SLURM_ARRAY_TASK_ID"))
	if idStr == "" {
		return Spec{}, false, nil
	}
	num := func(name string, def int) (int, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("shard: %s=%q is not an integer", name, v)
		}
		return n, nil
	}
	id, err := num("SLURM_ARRAY_TASK_ID", 0)
	if err != nil {
		return Spec{}, false, err
	}
	lo, err := num("SLURM_ARRAY_TASK_MIN", 0)
	if err != nil {
		return Spec{}, false, err
	}
	step, err := num("SLURM_ARRAY_TASK_STEP", 1)
	if err != nil {
		return Spec{}, false, err
	}
	if step < 1 {
		return Spec{}, false, fmt.Errorf("shard: SLURM_ARRAY_TASK_STEP=%d: want at least 1", step)
	}
	count, err := num("SLURM_ARRAY_TASK_COUNT", -1)
	if err != nil {
		return Spec{}, false, err
	}
	if count == -1 {
		if strings.TrimSpace(getenv("SLURM_ARRAY_TASK_MAX")) == "" {
			return Spec{}, false, fmt.Errorf("shard: SLURM_ARRAY_TASK_ID=%d is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX: the number of shards is unknown (give -shard i/n)", id)
		}
		hi, err := num("SLURM_ARRAY_TASK_MAX", 0)
		if err != nil {
			return Spec{}, false, err
		}
		if hi < lo {
			return Spec{}, false, fmt.Errorf("shard: SLURM_ARRAY_TASK_MAX=%d is below SLURM_ARRAY_TASK_MIN=%d", hi, lo)
		}
		count = (hi-lo)/step + 1
	}
	src := fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d of %d", id, count)
	switch {
	case count < 1:
		return Spec{}, false, fmt.Errorf("shard: SLURM_ARRAY_TASK_COUNT=%d: want at least 1", count)
	case id < lo:
		return Spec{}, false, fmt.Errorf("shard: SLURM_ARRAY_TASK_ID=%d is below SLURM_ARRAY_TASK_MIN=%d", id, lo)
	case (id-lo)%step != 0 || (id-lo)/step >= count:
		return Spec{}, false, fmt.Errorf("shard: SLURM_ARRAY_TASK_ID=%d is not one of %d evenly spaced tasks from SLURM_ARRAY_TASK_MIN=%d (step %d): give each task -shard i/n instead", id, count, lo, step)
	}
	return Spec{Index: (id - lo) / step, Count: count, Source: src}, true, nil
}

// Resolve returns the shard of a process: the -shard flag's value when it is not empty, else the SLURM
// array task's (FromSLURM), else the whole grid.
func Resolve(flag string, getenv func(string) string) (Spec, error) {
	if strings.TrimSpace(flag) != "" {
		return Parse(flag)
	}
	s, ok, err := FromSLURM(getenv)
	if err != nil || !ok {
		return Spec{}, err
	}
	return s, nil
}

// Select returns the items of shard s, in their order. Items are grouped by key (a model's name, so that
// the cells of one model, which share its trained weights, run in one process one after the other);
// the groups are numbered in the order of their first item, and group g goes to shard g mod s.Count.
// Every process given the same items and the same Count agrees on the split.
func Select[T any](items []T, key func(T) string, s Spec) []T {
	if s.Whole() {
		return items
	}
	group := map[string]int{}
	var out []T
	for _, it := range items {
		k := key(it)
		g, ok := group[k]
		if !ok {
			g = len(group)
			group[k] = g
		}
		if g%s.Count == s.Index {
			out = append(out, it)
		}
	}
	return out
}
