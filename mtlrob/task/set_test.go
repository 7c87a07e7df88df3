package task

import (
	"slices"
	"strings"
	"testing"
)

// testSet is the main task "five" with the auxiliary tasks mod3 and half.
func testSet() Set {
	half := Map{
		Name:          "half",
		SourceClasses: []string{"a", "b", "c", "d", "e"},
		TargetClasses: []string{"low", "high"},
		Table:         []int{0, 0, 0, 1, 1},
	}
	return Set{
		Main: Main{Name: "five", ClassNames: []string{"a", "b", "c", "d", "e"}},
		Aux:  []Map{mod3(), half},
	}
}

func TestSetNamesSizesLabels(t *testing.T) {
	s := testSet()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Names(), []string{"main", "mod3", "half"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if got, want := s.Sizes(), []int{5, 3, 2}; !slices.Equal(got, want) {
		t.Errorf("Sizes() = %v, want %v", got, want)
	}
	y := []int32{0, 1, 2, 3, 4}
	got, err := s.Labels(y)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{{0, 1, 2, 3, 4}, {0, 1, 2, 0, 1}, {0, 0, 0, 1, 1}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("Labels(%v) = %v, want %v", y, got, want)
	}
	got[0][0] = 9
	if y[0] != 0 {
		t.Error("Labels returned y itself, want a copy")
	}
	if _, err := s.Labels([]int32{1, 7}); err == nil || !strings.Contains(err.Error(), "labels[1] = 7") {
		t.Errorf("Labels with label 7 error = %v, want it to name labels[1] = 7", err)
	}
}

func TestSetSelect(t *testing.T) {
	s := testSet()
	tests := []struct {
		names []string
		want  []string // Names() of the result
	}{
		{nil, []string{"main"}},
		{[]string{"main"}, []string{"main"}},
		{[]string{"half"}, []string{"main", "half"}},
		{[]string{"half", "mod3"}, []string{"main", "half", "mod3"}},
		{[]string{"main", "aux1"}, []string{"main", "mod3"}},
		{[]string{"aux2", "aux1"}, []string{"main", "half", "mod3"}},
	}
	for _, tt := range tests {
		got, err := s.Select(tt.names...)
		if err != nil {
			t.Errorf("Select(%q) error: %v", tt.names, err)
			continue
		}
		if !slices.Equal(got.Names(), tt.want) {
			t.Errorf("Select(%q).Names() = %v, want %v", tt.names, got.Names(), tt.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("Select(%q).Validate() = %v", tt.names, err)
		}
	}
	for _, tt := range []struct {
		names  []string
		errHas string
	}{
		{[]string{"parity"}, `no auxiliary task "parity": want one of ["mod3", "half"] (or aux1..aux2)`},
		{[]string{"aux3"}, `no auxiliary task "aux3"`},
		{[]string{"aux0"}, `no auxiliary task "aux0"`},
		{[]string{"mod3", "aux1"}, `"mod3" selected twice`},
	} {
		if _, err := s.Select(tt.names...); err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("Select(%q) error = %v, want it to contain %q", tt.names, err, tt.errHas)
		}
	}
}

func TestSetValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Set)
		errHas string
	}{
		{"bad main name", func(s *Set) { s.Main.Name = "" }, "main task"},
		{"two classes", func(s *Set) {
			s.Main.ClassNames = []string{"a", "b"}
			s.Aux = nil
		}, "2 classes: want at least 3"},
		{"aux named main", func(s *Set) { s.Aux[1].Name = "main" }, `auxiliary task 2 is named "main"`},
		{"repeated aux", func(s *Set) { s.Aux[1] = s.Aux[0] }, `auxiliary task 2 is named "mod3"`},
		{"invalid aux", func(s *Set) { s.Aux[1].Table = []int{0, 0, 0, 0, 0} }, `map "half": target class 1 ("high") is never used`},
		{"other sources", func(s *Set) {
			s.Aux[0].SourceClasses = []string{"a", "b", "c", "d", "E"}
		}, `map "mod3": source_classes differ from the main task's classes`},
		{"ids of another length", func(s *Set) { s.Main.ClassIDs = []string{"1", "2"} }, "2 class ids for 5 class names"},
		{"maps keyed by names, not ids", func(s *Set) { s.Main.ClassIDs = []string{"1", "2", "3", "4", "5"} }, "source_classes differ"},
	}
	for _, tt := range tests {
		s := testSet()
		tt.edit(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tt.name, err, tt.errHas)
		}
	}
}
