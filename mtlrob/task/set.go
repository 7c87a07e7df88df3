package task

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MainName is the name of the main task T_0 in every task list of the
// workbench (Set.Names, head scopes, result records).
const MainName = "main"

// Main describes the main task T_0: the dataset's own K classes.
type Main struct {
	// Name identifies the main task; by convention the dataset's name
	// ("mnist"). Task lists still call the main task MainName.
	Name string `json:"name"`
	// ClassNames are the dataset's official class names, index = label.
	ClassNames []string `json:"class_names"`
	// ClassIDs, when set, are the K class identifiers that the auxiliary
	// maps' SourceClasses use instead of the names (Tiny ImageNet wnids).
	ClassIDs []string `json:"class_ids,omitempty"`
}

// Classes returns the identifiers the auxiliary maps are keyed by:
// ClassIDs when set, else ClassNames.
func (m Main) Classes() []string {
	if len(m.ClassIDs) > 0 {
		return m.ClassIDs
	}
	return m.ClassNames
}

// Set is the main task plus its auxiliary tasks, in order: the task list
// every model, trainer, attack and metric of the workbench is built from.
// Task i of a Set is the main task for i = 0 and Aux[i-1] otherwise.
type Set struct {
	Main Main  `json:"main"`
	Aux  []Map `json:"aux"` // all with SourceClasses equal to Main.Classes()
}

// Names returns MainName followed by the auxiliary task names: the task
// order everywhere in the workbench.
func (s Set) Names() []string {
	names := make([]string, 0, 1+len(s.Aux))
	names = append(names, MainName)
	for _, m := range s.Aux {
		names = append(names, m.Name)
	}
	return names
}

// Sizes returns the number of classes of each task, in task order:
// K, then each K_m.
func (s Set) Sizes() []int {
	sizes := make([]int, 0, 1+len(s.Aux))
	sizes = append(sizes, len(s.Main.ClassNames))
	for _, m := range s.Aux {
		sizes = append(sizes, m.Km())
	}
	return sizes
}

// Labels returns the labels of every task for the main-task labels y, in
// task order: a copy of y, then P_m(y) for each auxiliary map. A label
// outside [0, K) is an error naming its index and value.
func (s Set) Labels(y []int32) ([][]int32, error) {
	k := len(s.Main.ClassNames)
	for i, v := range y {
		if v < 0 || int(v) >= k {
			return nil, fmt.Errorf("task: %s: labels[%d] = %d: want a main-task label in [0, %d)", s.Main.Name, i, v, k)
		}
	}
	out := make([][]int32, 0, 1+len(s.Aux))
	out = append(out, slices.Clone(y))
	for _, m := range s.Aux {
		ym, err := m.Apply(y)
		if err != nil {
			return nil, err
		}
		out = append(out, ym)
	}
	return out, nil
}

// Select returns the Set with the same main task and the named auxiliary
// tasks, in the given order. A name is an auxiliary task's name, or "auxN"
// for the N-th auxiliary task (1-based, as in 001 Table 2's "Main+Aux1")
// when no task has that name; MainName is accepted and skipped, so
// Select("main") and Select() give the main task alone. An unknown or
// repeated name is an error listing the available ones.
func (s Set) Select(names ...string) (Set, error) {
	out := Set{Main: s.Main}
	seen := make(map[int]bool)
	for _, name := range names {
		if name == MainName {
			continue
		}
		i := s.auxIndex(name)
		if i < 0 {
			return Set{}, fmt.Errorf("task: %s: no auxiliary task %q: want one of %s (or aux1..aux%d)", s.Main.Name, name, quoteList(s.Names()[1:]), len(s.Aux))
		}
		if seen[i] {
			return Set{}, fmt.Errorf("task: %s: auxiliary task %q selected twice", s.Main.Name, s.Aux[i].Name)
		}
		seen[i] = true
		out.Aux = append(out.Aux, s.Aux[i])
	}
	return out, nil
}

// auxIndex resolves an auxiliary task name or "auxN" alias; -1 if unknown.
func (s Set) auxIndex(name string) int {
	if i := slices.IndexFunc(s.Aux, func(m Map) bool { return m.Name == name }); i >= 0 {
		return i
	}
	if n, ok := strings.CutPrefix(name, "aux"); ok {
		if i, err := strconv.Atoi(n); err == nil && 1 <= i && i <= len(s.Aux) {
			return i - 1
		}
	}
	return -1
}

// Validate checks the main task (a valid name, at least three unique class
// names, ClassIDs of the same length when set) and every auxiliary map:
// valid, named uniquely and not MainName, with SourceClasses equal to
// Main.Classes().
func (s Set) Validate() error {
	if err := checkName(s.Main.Name); err != nil {
		return fmt.Errorf("task: main task %q: %w", s.Main.Name, err)
	}
	if err := checkClasses(s.Main.ClassNames); err != nil {
		return fmt.Errorf("task: main task %q: class_names: %w", s.Main.Name, err)
	}
	k := len(s.Main.ClassNames)
	if len(s.Main.ClassIDs) > 0 {
		if err := checkClasses(s.Main.ClassIDs); err != nil {
			return fmt.Errorf("task: main task %q: class_ids: %w", s.Main.Name, err)
		}
		if len(s.Main.ClassIDs) != k {
			return fmt.Errorf("task: main task %q: %d class ids for %d class names: want one id per class", s.Main.Name, len(s.Main.ClassIDs), k)
		}
	}
	if k < 3 {
		return fmt.Errorf("task: main task %q: %d classes: want at least 3 so that an auxiliary task can have 2 <= K_m < K", s.Main.Name, k)
	}
	seen := map[string]bool{MainName: true}
	for i, m := range s.Aux {
		if seen[m.Name] {
			return fmt.Errorf("task: %s: auxiliary task %d is named %q: want a unique name other than %q", s.Main.Name, i+1, m.Name, MainName)
		}
		seen[m.Name] = true
		if err := m.Validate(); err != nil {
			return err
		}
		if !slices.Equal(m.SourceClasses, s.Main.Classes()) {
			return fmt.Errorf("task: %s: map %q: source_classes differ from the main task's classes", s.Main.Name, m.Name)
		}
	}
	return nil
}
