package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Map is a self-defined auxiliary task P_m: {0..K-1} -> {0..K_m-1}
// (001 §III-B, Eq. 2): y^m = P_m(y).
//
// A valid Map is surjective (every auxiliary class is the image of at least
// one main class) and coarser than the main task: 2 <= K_m < K. Maps are
// plain values: copying one is cheap, and Apply never modifies its input.
type Map struct {
	Name          string   `json:"name"` // e.g. "parity"; also the name of the task's head
	Description   string   `json:"description,omitempty"`
	SourceClasses []string `json:"source_classes"` // the K main-task class names or ids, index = main label
	TargetClasses []string `json:"target_classes"` // the K_m auxiliary class names, index = aux label
	Table         []int    `json:"table"`          // len K: Table[y] = P_m(y)
}

// K returns the number of main-task classes, len(m.SourceClasses).
func (m Map) K() int { return len(m.SourceClasses) }

// Km returns the number of auxiliary classes, len(m.TargetClasses).
func (m Map) Km() int { return len(m.TargetClasses) }

// Validate reports the first way in which m is not a self-defined task:
// an invalid name, empty or repeated class names, 2 <= K_m < K violated,
// a table of the wrong length, an out-of-range entry, or an auxiliary class
// that no main class maps to.
func (m Map) Validate() error {
	if err := checkName(m.Name); err != nil {
		return fmt.Errorf("task: map %q: %w", m.Name, err)
	}
	if err := checkClasses(m.SourceClasses); err != nil {
		return fmt.Errorf("task: map %q: source_classes: %w", m.Name, err)
	}
	if err := checkClasses(m.TargetClasses); err != nil {
		return fmt.Errorf("task: map %q: target_classes: %w", m.Name, err)
	}
	k, km := m.K(), m.Km()
	if km < 2 || km >= k {
		return fmt.Errorf("task: map %q: %d target classes for %d source classes: want 2 <= K_m < K", m.Name, km, k)
	}
	if len(m.Table) != k {
		return fmt.Errorf("task: map %q: table has %d entries: want one per source class (%d)", m.Name, len(m.Table), k)
	}
	used := make([]bool, km)
	for y, c := range m.Table {
		if c < 0 || c >= km {
			return fmt.Errorf("task: map %q: table[%d] (source class %q) = %d: want a target class in [0, %d)", m.Name, y, m.SourceClasses[y], c, km)
		}
		used[c] = true
	}
	for c, ok := range used {
		if !ok {
			return fmt.Errorf("task: map %q: target class %d (%q) is never used: a self-defined task must be surjective", m.Name, c, m.TargetClasses[c])
		}
	}
	return nil
}

// Apply returns P_m(y) for every main-task label in labels, in a new slice;
// m must be valid (see Validate). A label outside [0, K) is an error naming
// its index and value.
func (m Map) Apply(labels []int32) ([]int32, error) {
	out := make([]int32, len(labels))
	for i, y := range labels {
		if y < 0 || int(y) >= len(m.Table) {
			return nil, fmt.Errorf("task: map %q: labels[%d] = %d: want a main-task label in [0, %d)", m.Name, i, y, len(m.Table))
		}
		out[i] = int32(m.Table[y])
	}
	return out, nil
}

// Group returns the main-task labels that m maps to the auxiliary class c,
// in increasing order: the preimage P_m^{-1}(c).
func (m Map) Group(c int) []int {
	var g []int
	for y, t := range m.Table {
		if t == c {
			g = append(g, y)
		}
	}
	return g
}

// Parse decodes a Map from JSON (the encoding/json form of the struct;
// unknown fields are an error) and validates it.
func Parse(data []byte) (Map, error) {
	var m Map
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Map{}, fmt.Errorf("task: decoding map: %w", err)
	}
	if err := m.Validate(); err != nil {
		return Map{}, err
	}
	return m, nil
}

// ReadJSON reads and validates a Map stored as JSON in the file at path.
// Errors name the file.
func ReadJSON(path string) (Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Map{}, fmt.Errorf("task: %w", err)
	}
	m, err := Parse(data)
	if err != nil {
		return Map{}, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// FromKeys builds a Map whose source classes are sourceIDs (e.g. Tiny
// ImageNet wnids) and whose target classes are targetClasses, from assign,
// which maps every source id to the name of its target class. A source id
// missing from assign, a key of assign that is not a source id, or an
// unknown target name is an error naming it. The result is validated.
func FromKeys(name string, sourceIDs, targetClasses []string, assign map[string]string) (Map, error) {
	m := Map{
		Name:          name,
		SourceClasses: slices.Clone(sourceIDs),
		TargetClasses: slices.Clone(targetClasses),
		Table:         make([]int, len(sourceIDs)),
	}
	for y, id := range sourceIDs {
		target, ok := assign[id]
		if !ok {
			return Map{}, fmt.Errorf("task: map %q: source id %q has no target class", name, id)
		}
		c := slices.Index(targetClasses, target)
		if c < 0 {
			return Map{}, fmt.Errorf("task: map %q: source id %q is assigned %q: want one of %s", name, id, target, quoteList(targetClasses))
		}
		m.Table[y] = c
	}
	if len(assign) != len(sourceIDs) {
		var extra []string
		for id := range assign {
			if !slices.Contains(sourceIDs, id) {
				extra = append(extra, id)
			}
		}
		slices.Sort(extra)
		if len(extra) > 0 {
			return Map{}, fmt.Errorf("task: map %q: assignment for unknown source ids %s", name, quoteList(extra))
		}
	}
	if err := m.Validate(); err != nil {
		return Map{}, err
	}
	return m, nil
}

// fromTable builds and validates a Map; the built-in maps use it.
func fromTable(name, description string, source, target []string, table []int) (Map, error) {
	m := Map{
		Name:          name,
		Description:   description,
		SourceClasses: slices.Clone(source),
		TargetClasses: slices.Clone(target),
		Table:         table,
	}
	return m, m.Validate()
}

// checkName accepts task names usable as head scopes, file names, CSV
// columns and "main+aux" selections: ASCII letters, digits, '_' and '-'.
func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("name contains %q: want ASCII letters, digits, '_' or '-'", r)
		}
	}
	return nil
}

// checkClasses requires at least one class, and non-empty, unique names.
func checkClasses(names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("no classes")
	}
	seen := make(map[string]int, len(names))
	for i, s := range names {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("class %d has an empty name", i)
		}
		if j, ok := seen[s]; ok {
			return fmt.Errorf("classes %d and %d are both named %q: want unique names", j, i, s)
		}
		seen[s] = i
	}
	return nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
