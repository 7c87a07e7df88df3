package task

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// mod3 is a valid map of five classes onto three.
func mod3() Map {
	return Map{
		Name:          "mod3",
		SourceClasses: []string{"a", "b", "c", "d", "e"},
		TargetClasses: []string{"zero", "one", "two"},
		Table:         []int{0, 1, 2, 0, 1},
	}
}

func TestMapValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Map)
		errHas []string // "" list: valid
	}{
		{"valid", func(*Map) {}, nil},
		{"empty name", func(m *Map) { m.Name = "" }, []string{"empty name"}},
		{"name with space", func(m *Map) { m.Name = "mod 3" }, []string{`"mod 3"`, "want ASCII letters"}},
		{"no sources", func(m *Map) { m.SourceClasses = nil }, []string{`"mod3"`, "source_classes", "no classes"}},
		{"empty source", func(m *Map) { m.SourceClasses[2] = " " }, []string{"source_classes", "class 2 has an empty name"}},
		{"repeated source", func(m *Map) { m.SourceClasses[3] = "a" }, []string{"source_classes", "classes 0 and 3", "unique"}},
		{"repeated target", func(m *Map) { m.TargetClasses[2] = "one" }, []string{"target_classes", "classes 1 and 2"}},
		{"one target", func(m *Map) { m.TargetClasses = []string{"all"}; m.Table = []int{0, 0, 0, 0, 0} }, []string{"1 target classes for 5", "2 <= K_m < K"}},
		{"as many targets as sources", func(m *Map) {
			m.TargetClasses = []string{"0", "1", "2", "3", "4"}
			m.Table = []int{0, 1, 2, 3, 4}
		}, []string{"5 target classes for 5", "2 <= K_m < K"}},
		{"short table", func(m *Map) { m.Table = m.Table[:4] }, []string{"table has 4 entries", "(5)"}},
		{"negative entry", func(m *Map) { m.Table[1] = -1 }, []string{`table[1] (source class "b") = -1`, "[0, 3)"}},
		{"entry too large", func(m *Map) { m.Table[4] = 3 }, []string{"table[4]", "= 3"}},
		{"not surjective", func(m *Map) { m.Table = []int{0, 1, 0, 0, 1} }, []string{
			`task: map "mod3": target class 2 ("two") is never used: a self-defined task must be surjective`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mod3()
			tt.edit(&m)
			err := m.Validate()
			if tt.errHas == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.errHas)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate() = %q, want it to contain %q", err, s)
				}
			}
		})
	}
}

func TestMapApply(t *testing.T) {
	m := mod3()
	if m.K() != 5 || m.Km() != 3 {
		t.Fatalf("K, Km = %d, %d, want 5, 3", m.K(), m.Km())
	}
	in := []int32{4, 0, 3, 2, 1, 2}
	got, err := m.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{1, 0, 0, 2, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("Apply(%v) = %v, want %v", in, got, want)
	}
	if want := []int32{4, 0, 3, 2, 1, 2}; !slices.Equal(in, want) {
		t.Errorf("Apply modified its input: %v", in)
	}
	for _, bad := range [][]int32{{0, 5}, {0, -1}} {
		_, err := m.Apply(bad)
		want := "labels[1] = " + map[int32]string{5: "5", -1: "-1"}[bad[1]]
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"mod3"`) {
			t.Errorf("Apply(%v) error = %v, want it to name the map and %q", bad, err, want)
		}
	}
	if got, err := m.Apply(nil); err != nil || len(got) != 0 {
		t.Errorf("Apply(nil) = %v, %v, want empty, nil", got, err)
	}
}

func TestMapGroup(t *testing.T) {
	m := mod3()
	for c, want := range [][]int{{0, 3}, {1, 4}, {2}} {
		if got := m.Group(c); !slices.Equal(got, want) {
			t.Errorf("Group(%d) = %v, want %v", c, got, want)
		}
	}
}

func TestMapJSON(t *testing.T) {
	m := mod3()
	m.Description = "label mod 3"
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"mod3","description":"label mod 3","source_classes":["a","b","c","d","e"],"target_classes":["zero","one","two"],"table":[0,1,2,0,1]}`
	if string(data) != want {
		t.Errorf("json.Marshal = %s, want %s", data, want)
	}
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("Parse(Marshal(m)) = %+v, want %+v", got, m)
	}

	dir := t.TempDir()
	good := filepath.Join(dir, "mod3.json")
	os.WriteFile(good, data, 0o644)
	if got, err := ReadJSON(good); err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("ReadJSON = %+v, %v, want %+v", got, err, m)
	}

	for _, tt := range []struct{ name, json, errHas string }{
		{"not surjective", `{"name":"p","source_classes":["a","b","c"],"target_classes":["x","y"],"table":[0,0,0]}`, `target class 1 ("y") is never used`},
		{"unknown field", `{"name":"p","sources":["a"]}`, `unknown field "sources"`},
		{"syntax", `{"name":`, "decoding map"},
	} {
		path := filepath.Join(dir, tt.name+".json")
		os.WriteFile(path, []byte(tt.json), 0o644)
		_, err := ReadJSON(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("%s: ReadJSON error = %v, want it to name %s and contain %q", tt.name, err, path, tt.errHas)
		}
	}
	missing := filepath.Join(dir, "missing.json")
	if _, err := ReadJSON(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadJSON(missing) error = %v, want it to name the file", err)
	}
}

func TestFromKeys(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	targets := []string{"x", "y"}
	m, err := FromKeys("k", ids, targets, map[string]string{"n1": "y", "n2": "x", "n3": "y"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Table, []int{1, 0, 1}) || !slices.Equal(m.SourceClasses, ids) || !slices.Equal(m.TargetClasses, targets) {
		t.Errorf("FromKeys = %+v", m)
	}
	for _, tt := range []struct {
		name   string
		assign map[string]string
		errHas string
	}{
		{"missing id", map[string]string{"n1": "y", "n3": "x"}, `source id "n2" has no target class`},
		{"unknown target", map[string]string{"n1": "y", "n2": "z", "n3": "x"}, `source id "n2" is assigned "z": want one of ["x", "y"]`},
		{"unknown id", map[string]string{"n1": "y", "n2": "x", "n3": "x", "n9": "x", "n0": "y"}, `unknown source ids ["n0", "n9"]`},
		{"not surjective", map[string]string{"n1": "y", "n2": "y", "n3": "y"}, `target class 0 ("x") is never used`},
	} {
		_, err := FromKeys("k", ids, targets, tt.assign)
		if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), `map "k"`) {
			t.Errorf("%s: FromKeys error = %v, want it to name the map and contain %q", tt.name, err, tt.errHas)
		}
	}
}
