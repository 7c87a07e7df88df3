package shard

import (
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		i, n    int
		wantErr string
	}{
		{"0/4", 0, 4, ""},
		{"3/4", 3, 4, ""},
		{" 1 / 2 ", 1, 2, ""},
		{"0/1", 0, 1, ""},
		{"4/4", 0, 0, "-shard \"4/4\": the index must be in 0..3 (shards are numbered from 0)"},
		{"-1/4", 0, 0, "the index must be in 0..3"},
		{"1/0", 0, 0, "the number of shards must be at least 1"},
		{"2", 0, 0, "-shard \"2\": want i/n"},
		{"a/4", 0, 0, "-shard \"a/4\": want i/n with integers"},
		{"1/4/2", 0, 0, "want i/n with integers"},
		{"", 0, 0, "want i/n"},
	} {
		s, err := Parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) = %v, %v; want an error containing %q", tc.in, s, err, tc.wantErr)
			}
			continue
		}
		if err != nil || s.Index != tc.i || s.Count != tc.n {
			t.Errorf("Parse(%q) = %+v, %v; want %d/%d", tc.in, s, err, tc.i, tc.n)
		}
	}
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestFromSLURM(t *testing.T) {
	for _, tc := range []struct {
		name    string
		getenv  func(string) string
		ok      bool
		i, n    int
		wantErr string
	}{
		{"not an array job", env("SLURM_JOB_ID", "12"), false, 0, 0, ""},
		{"--array=0-3 by count", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "3"), true, 2, 4, ""},
		{"--array=1-4", env("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_COUNT", "4", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "4"), true, 0, 4, ""},
		{"min/max without count", env("SLURM_ARRAY_TASK_ID", "7", "SLURM_ARRAY_TASK_MIN", "5", "SLURM_ARRAY_TASK_MAX", "8"), true, 2, 4, ""},
		{"--array=0-12:4", env("SLURM_ARRAY_TASK_ID", "8", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_MAX", "12", "SLURM_ARRAY_TASK_STEP", "4"), true, 2, 4, ""},
		{"count only, min 0", env("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "5"), true, 3, 5, ""},
		{"id without size", env("SLURM_ARRAY_TASK_ID", "3"), false, 0, 0, "neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX"},
		{"bad id", env("SLURM_ARRAY_TASK_ID", "x", "SLURM_ARRAY_TASK_COUNT", "4"), false, 0, 0, `SLURM_ARRAY_TASK_ID="x" is not an integer`},
		{"bad count", env("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_COUNT", "four"), false, 0, 0, `SLURM_ARRAY_TASK_COUNT="four" is not an integer`},
		{"bad max", env("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_MAX", "3.5"), false, 0, 0, `SLURM_ARRAY_TASK_MAX="3.5" is not an integer`},
		{"zero count", env("SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_COUNT", "0"), false, 0, 0, "SLURM_ARRAY_TASK_COUNT=0"},
		{"max below min", env("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_MIN", "3", "SLURM_ARRAY_TASK_MAX", "1"), false, 0, 0, "SLURM_ARRAY_TASK_MAX=1 is below SLURM_ARRAY_TASK_MIN=3"},
		{"id below min", env("SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_COUNT", "4"), false, 0, 0, "SLURM_ARRAY_TASK_ID=0 is below SLURM_ARRAY_TASK_MIN=1"},
		{"--array=1,3,7", env("SLURM_ARRAY_TASK_ID", "7", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "7", "SLURM_ARRAY_TASK_COUNT", "3"), false, 0, 0, "SLURM_ARRAY_TASK_ID=7 is not one of 3 evenly spaced tasks"},
		{"bad step", env("SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_COUNT", "2", "SLURM_ARRAY_TASK_STEP", "0"), false, 0, 0, "SLURM_ARRAY_TASK_STEP=0"},
	} {
		s, ok, err := FromSLURM(tc.getenv)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: FromSLURM = %+v, %v; want an error containing %q", tc.name, s, err, tc.wantErr)
			}
			continue
		}
		if err != nil || ok != tc.ok || s.Index != tc.i || s.Count != tc.n {
			t.Errorf("%s: FromSLURM = %+v, %v, %v; want %d/%d, ok %v", tc.name, s, ok, err, tc.i, tc.n, tc.ok)
		}
	}
}

func TestResolve(t *testing.T) {
	slurm := env("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_COUNT", "4")
	if s, err := Resolve("", slurm); err != nil || s.String() != "1/4" || !strings.Contains(s.Source, "SLURM_ARRAY_TASK_ID=1") {
		t.Errorf("Resolve from SLURM = %+v, %v; want 1/4 from SLURM_ARRAY_TASK_ID", s, err)
	}
	if s, err := Resolve("3/8", slurm); err != nil || s.String() != "3/8" {
		t.Errorf("Resolve(-shard 3/8) = %+v, %v; want the flag over the scheduler", s, err)
	}
	if s, err := Resolve("", env()); err != nil || !s.Whole() {
		t.Errorf("Resolve() = %+v, %v; want the whole grid", s, err)
	}
	if _, err := Resolve("9/8", slurm); err == nil || !strings.Contains(err.Error(), "-shard") {
		t.Errorf("Resolve(9/8) = %v; want an error naming -shard", err)
	}
}

// TestSelectSplitsByKey: every item is in exactly one shard, items of one key in the same shard, and
// the shards are balanced in keys.
func TestSelectSplitsByKey(t *testing.T) {
	type cell struct{ model, analysis string }
	var items []cell
	for m := 0; m < 11; m++ {
		items = append(items, cell{fmt.Sprint("m", m), "robustness"})
		if m%3 == 0 {
			items = append(items, cell{fmt.Sprint("m", m), "directions"})
		}
	}
	key := func(c cell) string { return c.model }
	for n := 1; n <= 5; n++ {
		seen := map[cell]int{}
		shardOf := map[string]int{}
		for i := 0; i < n; i++ {
			got := Select(items, key, Spec{Index: i, Count: n})
			models := map[string]bool{}
			for _, c := range got {
				seen[c]++
				models[c.model] = true
				if s, ok := shardOf[c.model]; ok && s != i {
					t.Errorf("n=%d: model %s in shards %d and %d", n, c.model, s, i)
				}
				shardOf[c.model] = i
			}
			if want := 11 / n; len(models) < want || len(models) > want+1 {
				t.Errorf("n=%d: shard %d has %d models, want %d or %d", n, i, len(models), want, want+1)
			}
		}
		for _, c := range items {
			if seen[c] != 1 {
				t.Errorf("n=%d: %v in %d shards", n, c, seen[c])
			}
		}
	}
}
