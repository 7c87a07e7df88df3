package task

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var loadWordNet = sync.OnceValues(func() (*WordNet, error) { return OpenWordNet("") })

// realWordNet returns the installed WordNet 3.0 database, or skips the test.
func realWordNet(t *testing.T) *WordNet {
	t.Helper()
	if _, err := os.Stat(filepath.Join(WordNetDir(), "data.noun")); err != nil {
		t.Skipf("WordNet 3.0 noun database not found in %s (install Debian package wordnet-base or set %s): %v", WordNetDir(), WordNetDirEnv, err)
	}
	wn, err := loadWordNet()
	if err != nil {
		t.Fatal(err)
	}
	return wn
}

// The truths below were read off data.noun by hand (following '@' and '@i'
// pointers offset by offset), independently of this package.

func TestWordNetOffsets(t *testing.T) {
	wn := realWordNet(t)
	if wn.Len() != 82115 { // WordNet 3.0 has 82,115 noun synsets
		t.Errorf("Len() = %d, want 82115", wn.Len())
	}
	for wnid, want := range map[string]string{
		WnidArtifact: "artifact",
		WnidAnimal:   "animal",
		WnidMachine:  "machine",
		"n01443537":  "goldfish",
		"n04146614":  "school bus",
		"n00001740":  "entity",
	} {
		if got, err := wn.Lemma(wnid); err != nil || got != want {
			t.Errorf("Lemma(%s) = %q, %v, want %q", wnid, got, err, want)
		}
	}
}

func TestWordNetAncestors(t *testing.T) {
	wn := realWordNet(t)
	// school_bus -> bus -> public_transport -> conveyance -> instrumentality
	// -> artifact -> whole -> object -> physical_entity -> entity.
	want := []string{"n02924116", "n04019101", "n03100490", "n03575240", "n00021939", "n00003553", "n00002684", "n00001930", "n00001740"}
	if got, err := wn.Ancestors("n04146614"); err != nil || !slices.Equal(got, want) {
		t.Errorf("Ancestors(school bus) = %v, %v, want %v", got, err, want)
	}
	if got, err := wn.Ancestors("n00001740"); err != nil || len(got) != 0 {
		t.Errorf("Ancestors(entity) = %v, %v, want none", got, err)
	}
	for _, tt := range []struct {
		wnid, ancestor string
		want           bool
	}{
		{"n01443537", WnidAnimal, true},    // goldfish
		{"n01443537", WnidArtifact, false}, // goldfish
		{"n04146614", WnidArtifact, true},  // school bus
		{"n04146614", WnidMachine, false},  // school bus: a conveyance, not a machine
		{"n04179913", WnidMachine, true},   // sewing machine, via textile_machine
		{WnidAnimal, "n01443537", false},   // not upside down
		{WnidAnimal, WnidAnimal, false},    // not its own ancestor
	} {
		if got, err := wn.HasAncestor(tt.wnid, tt.ancestor); err != nil || got != tt.want {
			t.Errorf("HasAncestor(%s, %s) = %v, %v, want %v", tt.wnid, tt.ancestor, got, err, tt.want)
		}
	}
	for _, bad := range []string{"n99999999", "n0144353", "x01443537", "01443537"} {
		if _, err := wn.HasAncestor(bad, WnidAnimal); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("HasAncestor(%q, animal) error = %v, want it to name %q", bad, err, bad)
		}
	}
}

func TestTinyImageNetSet(t *testing.T) {
	wn := realWordNet(t)
	classes := []struct {
		wnid, lemma, origin, kind string
	}{
		{"n01443537", "goldfish", "natural", "animal"},
		{"n02124075", "Egyptian cat", "natural", "animal"},
		{"n01910747", "jellyfish", "natural", "animal"},
		{"n04146614", "school bus", "artefact", "others"}, // bus < public transport < conveyance
		{"n03977966", "police van", "artefact", "others"}, // van < truck < motor vehicle
		{"n04070727", "refrigerator", "artefact", "others"},
		{"n02791270", "barbershop", "artefact", "others"},
		{"n03400231", "frying pan", "artefact", "others"},
		{"n04179913", "sewing machine", "artefact", "machine"},
		{"n02977058", "cash machine", "artefact", "machine"},
		{"n07749582", "lemon", "natural", "others"},
		{"n07873807", "pizza", "natural", "others"}, // dish < nutriment < food: not an artifact
		{"n07920052", "espresso", "natural", "others"},
		{"n09193705", "alp", "natural", "others"},
		{"n12267677", "acorn", "natural", "others"},
	}
	var wnids, lemmas []string
	for _, c := range classes {
		wnids = append(wnids, c.wnid)
		lemmas = append(lemmas, c.lemma)
	}
	s, err := TinyImageNetSet(wn, wnids, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Names(), []string{"main", "origin", "kind"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if !slices.Equal(s.Main.ClassIDs, wnids) || !slices.Equal(s.Main.ClassNames, lemmas) {
		t.Errorf("Main = %+v, want ids %v and WordNet's names %v", s.Main, wnids, lemmas)
	}
	if got, want := s.Aux[0].TargetClasses, []string{"natural", "artefact"}; !slices.Equal(got, want) {
		t.Errorf("origin classes = %v, want %v", got, want)
	}
	if got, want := s.Aux[1].TargetClasses, []string{"animal", "machine", "others"}; !slices.Equal(got, want) {
		t.Errorf("kind classes = %v, want %v", got, want)
	}
	for y, c := range classes {
		origin := s.Aux[0].TargetClasses[s.Aux[0].Table[y]]
		kind := s.Aux[1].TargetClasses[s.Aux[1].Table[y]]
		if origin != c.origin || kind != c.kind {
			t.Errorf("%s (%s): origin %s, kind %s; want %s, %s", c.wnid, c.lemma, origin, kind, c.origin, c.kind)
		}
	}

	names := slices.Clone(lemmas)
	names[0] = "goldfish, Carassius auratus" // as in words.txt
	if s, err := TinyImageNetSet(wn, wnids, names); err != nil || s.Main.ClassNames[0] != names[0] {
		t.Errorf("TinyImageNetSet with names: %v, %v", s.Main.ClassNames, err)
	}
	if _, err := TinyImageNetSet(wn, wnids, names[:3]); err == nil || !strings.Contains(err.Error(), "3 class names for 15 wnids") {
		t.Errorf("TinyImageNetSet with 3 names error = %v", err)
	}
	bad := append(slices.Clone(wnids), "n99999999")
	if _, err := TinyImageNetSet(wn, bad, nil); err == nil || !strings.Contains(err.Error(), "n99999999") {
		t.Errorf("TinyImageNetSet with an unknown wnid error = %v, want it to name n99999999", err)
	}
	if _, err := TinyImageNetSet(wn, wnids[:4], nil); err == nil || !strings.Contains(err.Error(), `map "kind": target class 1 ("machine") is never used`) {
		t.Errorf("TinyImageNetSet without machines error = %v, want a surjectivity error", err)
	}
}

// fixture is a tiny data.noun: a license header, a root, a chain with an
// instance hypernym, a two-synset cycle and a dangling pointer. Lines are
// not at their offsets, which OpenWordNet does not require.
const fixture = `  1 This software and database is being provided to you, the LICENSEE, by  
  2 Princeton University under the following license.  
00000010 03 n 01 root 0 000 | the root  
00000020 03 n 02 thing 0 object 0 001 @ 00000010 n 0000 | a thing  
00000030 03 n 01 pet 0 002 @ 00000020 n 0000 ~ 00000040 n 0000 | a pet  
00000040 03 n 01 Rex 0 001 @i 00000030 n 0000 | an instance  
00000050 03 n 01 hen 0 001 @ 00000060 n 0000 | one half of a cycle  
00000060 03 n 01 egg 0 002 @ 00000050 n 0000 @ 00000010 n 0000 | the other half  
00000070 03 n 01 orphan 0 001 @ 00000099 n 0000 | its hypernym is missing  
`

func writeFixture(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.noun"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWordNetFixture(t *testing.T) {
	dir := writeFixture(t, fixture)
	wn, err := OpenWordNet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if wn.Len() != 7 {
		t.Errorf("Len() = %d, want 7", wn.Len())
	}
	for _, tt := range []struct {
		wnid string
		want []string
	}{
		{"n00000040", []string{"n00000030", "n00000020", "n00000010"}}, // via '@i'
		{"n00000050", []string{"n00000060", "n00000010"}},              // the cycle ends
		{"n00000060", []string{"n00000050", "n00000010"}},
	} {
		if got, err := wn.Ancestors(tt.wnid); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Ancestors(%s) = %v, %v, want %v", tt.wnid, got, err, tt.want)
		}
	}
	if ok, err := wn.HasAncestor("n00000050", "n00000050"); err != nil || ok {
		t.Errorf("HasAncestor(hen, hen) in a cycle = %v, %v, want false", ok, err)
	}
	for _, tt := range []struct{ wnid, errHas string }{
		{"n00000070", "synset n00000099, a hypernym of n00000070, is missing"},
		{"n00000080", "synset n00000080 not found in " + filepath.Join(dir, "data.noun")},
	} {
		if _, err := wn.Ancestors(tt.wnid); err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("Ancestors(%s) error = %v, want it to contain %q", tt.wnid, err, tt.errHas)
		}
	}

	t.Setenv(WordNetDirEnv, dir)
	if wn, err := OpenWordNet(""); err != nil || wn.Len() != 7 {
		t.Errorf("OpenWordNet with %s set: %v", WordNetDirEnv, err)
	}
	missing := filepath.Join(t.TempDir(), "none")
	if _, err := OpenWordNet(missing); err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "wordnet-base") {
		t.Errorf("OpenWordNet(missing) error = %v, want it to name the directory and the package", err)
	}
	broken := writeFixture(t, fixture+"00000080 03 n 01 cut 0 002 @ 00000010 n 0000\n")
	if _, err := OpenWordNet(broken); err == nil || !strings.Contains(err.Error(), "data.noun:10") || !strings.Contains(err.Error(), "pointer count") {
		t.Errorf("OpenWordNet(truncated line) error = %v, want it to name data.noun:10", err)
	}
}

func TestMapByAncestor(t *testing.T) {
	wn, err := OpenWordNet(writeFixture(t, fixture))
	if err != nil {
		t.Fatal(err)
	}
	src := []string{"n00000010", "n00000020", "n00000030", "n00000040", "n00000050"}
	// First match wins: Rex (an instance of pet) is a pet before a thing;
	// the root matches nothing and takes the fallback, which comes last.
	m, err := MapByAncestor("m", wn, src, []AncestorTarget{
		{Class: "pet", Ancestors: []string{"n00000030"}},
		{Class: "thing", Ancestors: []string{"n00000020", "n00000060"}},
	}, "other")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"pet", "thing", "other"}; !slices.Equal(m.TargetClasses, want) {
		t.Errorf("TargetClasses = %v, want %v", m.TargetClasses, want)
	}
	if want := []int{2, 1, 0, 0, 1}; !slices.Equal(m.Table, want) {
		t.Errorf("Table = %v, want %v", m.Table, want)
	}
	// A fallback named among the targets keeps its place.
	m, err = MapByAncestor("m", wn, src, []AncestorTarget{
		{Class: "plain"},
		{Class: "pet", Ancestors: []string{"n00000030"}},
	}, "plain")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.TargetClasses, []string{"plain", "pet"}) || !slices.Equal(m.Table, []int{0, 0, 1, 1, 0}) {
		t.Errorf("MapByAncestor with a named fallback = %v %v", m.TargetClasses, m.Table)
	}
	for _, tt := range []struct {
		src     []string
		targets []AncestorTarget
		errHas  string
	}{
		{append(src, "n00000070"), []AncestorTarget{{"pet", []string{"n00000030"}}}, "n00000099"},
		{append(src, "n00000011"), []AncestorTarget{{"pet", []string{"n00000030"}}}, "n00000011 not found"},
		{src, []AncestorTarget{{"pet", []string{"n00000031"}}}, `target "pet": task: wordnet: synset n00000031 not found`},
		{src, []AncestorTarget{{"pet", []string{"n00000099"}}}, "n00000099 not found"},
	} {
		if _, err := MapByAncestor("m", wn, tt.src, tt.targets, "other"); err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("MapByAncestor error = %v, want it to contain %q", err, tt.errHas)
		}
	}
}
