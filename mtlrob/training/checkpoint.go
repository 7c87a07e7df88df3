package training

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// Checkpointer saves GoMLX checkpoints of a store into Dir atomically: each checkpoint is written by
// GoMLX into a staging directory inside Dir, then its data file and, last, its JSON file are renamed
// into Dir. GoMLX lists a checkpoint by its JSON file, so a crash at any point leaves either the
// complete new checkpoint or none of it, never a truncated one that a resumed run would load.
// The Keep most recent checkpoints are kept.
type Checkpointer struct {
	Dir   string
	Keep  int
	store *model.Store
}

// NewCheckpointer returns a Checkpointer for store writing into dir (created if missing).
func NewCheckpointer(store *model.Store, dir string, keep int) (*Checkpointer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("training: checkpoint directory: %w", err)
	}
	return &Checkpointer{Dir: dir, Keep: keep, store: store}, nil
}

// Restore loads the latest intact checkpoint of dir, if any, into store and reports whether there was
// one. Checkpoints it had to skip are reported on stderr (see RestoreLatest).
func Restore(store *model.Store, dir string) (bool, error) {
	r, err := RestoreLatest(store, dir)
	if err != nil {
		return false, err
	}
	if msg := r.Message(); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
	}
	return r.Name != "", nil
}

// Restored says which checkpoint RestoreLatest loaded and which newer ones it skipped.
type Restored struct {
	Dir     string
	Name    string // base name of the loaded checkpoint, "" when dir holds none
	Skipped []SkippedCheckpoint
}

// SkippedCheckpoint is a checkpoint that could not be loaded, and why.
type SkippedCheckpoint struct {
	Name string
	Err  error
}

// Message is a one-line account of the skipped checkpoints, "" when none was skipped.
func (r Restored) Message() string {
	if len(r.Skipped) == 0 {
		return ""
	}
	var parts []string
	for _, s := range r.Skipped {
		parts = append(parts, fmt.Sprintf("%s (%v)", s.Name, s.Err))
	}
	return fmt.Sprintf("training: %s: skipped unreadable checkpoint(s) %s; restored %s", r.Dir, strings.Join(parts, ", "), r.Name)
}

// RestoreLatest loads the newest intact checkpoint of dir into store: a checkpoint that cannot be read
// (truncated or garbled data or metadata) is skipped, and the next older one tried. The store is left
// untouched by a failed attempt. It returns which checkpoint was loaded (Name "" when dir holds none)
// and which were skipped; when every checkpoint is unreadable, the error names each one and why, and
// says how to recover. Leftovers of interrupted saves (staging directories) are removed.
func RestoreLatest(store *model.Store, dir string) (Restored, error) {
	r := Restored{Dir: dir}
	if err := removeStaging(dir); err != nil {
		return r, err
	}
	names, err := listCheckpoints(dir)
	if err != nil || len(names) == 0 {
		return r, err
	}
	for i := len(names) - 1; i >= 0; i-- {
		err := loadCheckpoint(store, dir, names[i])
		if err == nil {
			r.Name = names[i]
			return r, nil
		}
		r.Skipped = append(r.Skipped, SkippedCheckpoint{Name: names[i], Err: err})
	}
	var parts []string
	for _, s := range r.Skipped {
		parts = append(parts, fmt.Sprintf("%s: %v", s.Name, s.Err))
	}
	return r, fmt.Errorf("training: %s: no intact checkpoint (%s); remove the directory to start the run afresh, "+
		"or restore its checkpoints from a backup", dir, strings.Join(parts, "; "))
}

// loadCheckpoint loads checkpoint base of dir into store. GoMLX loads only the newest checkpoint of a
// directory, so the checkpoint's two files are linked (or copied) into a staging directory of their own.
func loadCheckpoint(store *model.Store, dir, base string) error {
	staging, err := os.MkdirTemp(dir, ".staging-restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	for _, suffix := range []string{checkpoint.BinDataSuffix, checkpoint.JsonNameSuffix} {
		from, to := filepath.Join(dir, base+suffix), filepath.Join(staging, base+suffix)
		if err := os.Link(from, to); err != nil {
			if err := copyFile(from, to); err != nil {
				return err
			}
		}
	}
	if _, err := checkpoint.Build(store).Dir(staging).Immediate().Done(); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, base), err)
	}
	return nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// setAside renames the skipped checkpoints of r out of the list of checkpoints (to "corrupt-<name>"), so
// that a resumed run's new checkpoints are not shadowed or pruned in their favour; it returns the new names.
func setAside(r Restored) ([]string, error) {
	var moved []string
	for _, s := range r.Skipped {
		for _, suffix := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} { // the JSON first: it lists
			from := filepath.Join(r.Dir, s.Name+suffix)
			if err := os.Rename(from, filepath.Join(r.Dir, "corrupt-"+s.Name+suffix)); err != nil && !os.IsNotExist(err) {
				return moved, fmt.Errorf("training: setting aside %s: %w", from, err)
			}
		}
		moved = append(moved, filepath.Join(r.Dir, "corrupt-"+s.Name+checkpoint.JsonNameSuffix))
	}
	return moved, nil
}

// Save writes a checkpoint of the store's current variables and parameters.
func (c *Checkpointer) Save() error {
	staging, err := os.MkdirTemp(c.Dir, ".staging-")
	if err != nil {
		return fmt.Errorf("training: checkpoint: %w", err)
	}
	defer os.RemoveAll(staging)
	h, err := checkpoint.Build(c.store).Dir(staging).Keep(-1).Done()
	if err != nil {
		return fmt.Errorf("training: checkpoint in %s: %w", c.Dir, err)
	}
	if err := h.Save(); err != nil {
		return fmt.Errorf("training: checkpoint in %s: %w", c.Dir, err)
	}
	written, err := listCheckpoints(staging)
	if err != nil || len(written) != 1 {
		return fmt.Errorf("training: checkpoint in %s: GoMLX wrote %d checkpoints (%v), want 1", c.Dir, len(written), err)
	}
	existing, err := listCheckpoints(c.Dir)
	if err != nil {
		return err
	}
	next := 0
	if n := len(existing); n > 0 {
		fmt.Sscanf(existing[n-1], "checkpoint-n%07d", &next)
		next++
	}
	base := fmt.Sprintf("checkpoint-n%07d-step-%08d", next, optimizer.GetGlobalStep(c.store))
	for _, suffix := range []string{checkpoint.BinDataSuffix, checkpoint.JsonNameSuffix} { // the JSON last: it commits
		from := filepath.Join(staging, written[0]+suffix)
		if err := syncFile(from); err != nil {
			return fmt.Errorf("training: checkpoint: %w", err)
		}
		if err := os.Rename(from, filepath.Join(c.Dir, base+suffix)); err != nil {
			return fmt.Errorf("training: checkpoint: %w", err)
		}
	}
	return c.prune()
}

// prune removes all but the Keep most recent checkpoints (JSON first, so none is ever half-listed).
func (c *Checkpointer) prune() error {
	names, err := listCheckpoints(c.Dir)
	if err != nil || c.Keep <= 0 || len(names) <= c.Keep {
		return err
	}
	for _, base := range names[:len(names)-c.Keep] {
		for _, suffix := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} {
			if err := os.Remove(filepath.Join(c.Dir, base+suffix)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("training: pruning checkpoints: %w", err)
			}
		}
	}
	return nil
}

// listCheckpoints returns the base names of the complete checkpoints in dir, oldest first.
func listCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("training: listing checkpoints: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasPrefix(n, "checkpoint-") && strings.HasSuffix(n, checkpoint.JsonNameSuffix) {
			names = append(names, strings.TrimSuffix(n, checkpoint.JsonNameSuffix))
		}
	}
	sort.Strings(names)
	return names, nil
}

func removeStaging(dir string) error {
	matches, err := filepath.Glob(filepath.Join(dir, ".staging-*"))
	if err != nil {
		return err
	}
	for _, m := range matches {
		if err := os.RemoveAll(m); err != nil {
			return fmt.Errorf("training: removing an interrupted checkpoint: %w", err)
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bestKeeper keeps the best-scoring checkpoint in <dir>/best, with best.json saying which step it is.
type bestKeeper struct {
	ckpt *Checkpointer
	path string
}

// newBestKeeper opens <dir>/best and returns the best recorded so far (nil if none), for resumed runs.
func newBestKeeper(store *model.Store, dir string) (*bestKeeper, *Best, error) {
	c, err := NewCheckpointer(store, filepath.Join(dir, "best"), 1)
	if err != nil {
		return nil, nil, err
	}
	k := &bestKeeper{ckpt: c, path: filepath.Join(dir, "best", "best.json")}
	data, err := os.ReadFile(k.path)
	if os.IsNotExist(err) {
		return k, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("training: %w", err)
	}
	var b Best
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, nil, fmt.Errorf("training: %s: %w", k.path, err)
	}
	return k, &b, nil
}

// save writes the store as the best checkpoint, then best.json (atomically, through a rename).
func (k *bestKeeper) save(b Best) error {
	if err := k.ckpt.Save(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	tmp := k.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("training: %w", err)
	}
	return os.Rename(tmp, k.path)
}
