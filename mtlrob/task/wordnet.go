package task

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// DefaultWordNetDir is where Debian's wordnet-base package installs the
// WordNet 3.0 database.
const DefaultWordNetDir = "/usr/share/wordnet"

// WordNetDirEnv names the environment variable that, when set, overrides
// DefaultWordNetDir.
const WordNetDirEnv = "MTLROB_WORDNET_DIR"

// WordNet 3.0 synsets that define the Tiny ImageNet tasks, checked against
// data.noun (the wnid of a synset is "n" and its 8-digit offset).
const (
	WnidArtifact = "n00021939" // artifact.n.01: artifact, artefact
	WnidAnimal   = "n00015388" // animal.n.01: animal, animate_being, beast, ...
	WnidMachine  = "n03699975" // machine.n.01: machine
)

// WordNetDir returns the directory OpenWordNet reads by default: the value
// of WordNetDirEnv when set, else DefaultWordNetDir.
func WordNetDir() string {
	if dir := os.Getenv(WordNetDirEnv); dir != "" {
		return dir
	}
	return DefaultWordNetDir
}

// WordNet is the noun hierarchy of a WordNet 3.0 database: every noun
// synset with its first word and its hypernyms ('@') and instance
// hypernyms ('@i'). Synsets are named by wnid, "n" followed by the 8-digit
// offset, as ImageNet names its classes (n01443537 is goldfish.n.01).
// A WordNet is read-only and safe for concurrent use.
type WordNet struct {
	path    string
	synsets map[uint32]synset
}

type synset struct {
	lemma     string
	hypernyms []uint32
}

// OpenWordNet reads dir/data.noun (dir "" means WordNetDir()). Lines are
// keyed by the offset they start with, so a fixture need not place them at
// those byte offsets; the license header (lines starting with spaces) is
// skipped. A malformed line is an error naming the file and line.
func OpenWordNet(dir string) (*WordNet, error) {
	if dir == "" {
		dir = WordNetDir()
	}
	path := filepath.Join(dir, "data.noun")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("task: wordnet: %w (install Debian package wordnet-base or set %s)", err, WordNetDirEnv)
	}
	wn := &WordNet{path: path, synsets: make(map[uint32]synset)}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 || line[0] == ' ' {
			continue
		}
		off, s, err := parseSynset(string(line))
		if err != nil {
			return nil, fmt.Errorf("task: wordnet: %s:%d: %w", path, i+1, err)
		}
		wn.synsets[off] = s
	}
	return wn, nil
}

// parseSynset parses the part of a data.noun line that precedes the gloss:
// offset lex_filenum ss_type w_cnt (word lex_id)... p_cnt (ptr offset pos st)...
func parseSynset(line string) (uint32, synset, error) {
	head, _, _ := strings.Cut(line, " | ")
	f := strings.Fields(head)
	if len(f) < 4 {
		return 0, synset{}, fmt.Errorf("%d fields: want offset, lex_filenum, ss_type, w_cnt, ...", len(f))
	}
	off, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil || len(f[0]) != 8 {
		return 0, synset{}, fmt.Errorf("offset %q: want 8 digits", f[0])
	}
	words, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil || words == 0 {
		return 0, synset{}, fmt.Errorf("word count %q: want a positive 2-digit hex number", f[3])
	}
	p := 4 + 2*int(words)
	if len(f) <= p {
		return 0, synset{}, fmt.Errorf("synset %s: line ends before its pointer count", f[0])
	}
	ptrs, err := strconv.Atoi(f[p])
	if err != nil || len(f) < p+1+4*ptrs {
		return 0, synset{}, fmt.Errorf("synset %s: pointer count %q does not match the line", f[0], f[p])
	}
	s := synset{lemma: strings.ReplaceAll(f[4], "_", " ")}
	for i := p + 1; i < p+1+4*ptrs; i += 4 {
		if (f[i] != "@" && f[i] != "@i") || f[i+2] != "n" {
			continue
		}
		h, err := strconv.ParseUint(f[i+1], 10, 32)
		if err != nil {
			return 0, synset{}, fmt.Errorf("synset %s: hypernym offset %q: want 8 digits", f[0], f[i+1])
		}
		s.hypernyms = append(s.hypernyms, uint32(h))
	}
	return uint32(off), s, nil
}

// Len returns the number of noun synsets.
func (wn *WordNet) Len() int { return len(wn.synsets) }

// Lemma returns the first word of the synset wnid, with spaces for
// underscores ("school bus" for n04146614).
func (wn *WordNet) Lemma(wnid string) (string, error) {
	off, err := wn.lookup(wnid)
	if err != nil {
		return "", err
	}
	return wn.synsets[off].lemma, nil
}

// Ancestors returns the transitive closure of the hypernyms and instance
// hypernyms of wnid, without wnid itself, nearest first (breadth-first, in
// pointer order) and without repeats. A cycle in the database does not loop.
// An unknown wnid, or a hypernym missing from the database, is an error
// naming it.
func (wn *WordNet) Ancestors(wnid string) ([]string, error) {
	off, err := wn.lookup(wnid)
	if err != nil {
		return nil, err
	}
	offs, err := wn.ancestors(off)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(offs))
	for i, o := range offs {
		out[i] = wnidOf(o)
	}
	return out, nil
}

// HasAncestor reports whether ancestor is among the Ancestors of wnid
// (a synset is not its own ancestor). Both must be in the database.
func (wn *WordNet) HasAncestor(wnid, ancestor string) (bool, error) {
	a, err := wn.lookup(ancestor)
	if err != nil {
		return false, err
	}
	off, err := wn.lookup(wnid)
	if err != nil {
		return false, err
	}
	offs, err := wn.ancestors(off)
	if err != nil {
		return false, err
	}
	return slices.Contains(offs, a), nil
}

func (wn *WordNet) ancestors(off uint32) ([]uint32, error) {
	seen := map[uint32]bool{off: true}
	var out []uint32
	queue := []uint32{off}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, h := range wn.synsets[cur].hypernyms {
			if seen[h] {
				continue
			}
			if _, ok := wn.synsets[h]; !ok {
				return nil, fmt.Errorf("task: wordnet: %s: synset %s, a hypernym of %s, is missing", wn.path, wnidOf(h), wnidOf(cur))
			}
			seen[h] = true
			out = append(out, h)
			queue = append(queue, h)
		}
	}
	return out, nil
}

// lookup parses a wnid and checks that the database holds it.
func (wn *WordNet) lookup(wnid string) (uint32, error) {
	digits, ok := strings.CutPrefix(wnid, "n")
	off, err := strconv.ParseUint(digits, 10, 32)
	if !ok || len(digits) != 8 || err != nil {
		return 0, fmt.Errorf("task: wordnet: %q is not a noun wnid: want \"n\" and 8 digits", wnid)
	}
	if _, ok := wn.synsets[uint32(off)]; !ok {
		return 0, fmt.Errorf("task: wordnet: synset %s not found in %s", wnid, wn.path)
	}
	return uint32(off), nil
}

func wnidOf(off uint32) string { return fmt.Sprintf("n%08d", off) }

// AncestorTarget defines an auxiliary class of MapByAncestor: the source
// synsets that are, or descend from, one of Ancestors (wnids).
type AncestorTarget struct {
	Class     string
	Ancestors []string
}

// MapByAncestor builds the Map name from the source classes sourceWnids
// by asking WordNet, for each source synset, which target it belongs to:
// the targets are checked in order and the first whose Ancestors include
// the synset itself or one of its ancestors wins; a synset that matches
// none goes to the class fallback.
//
// The target classes are the targets' classes in order; fallback takes its
// place among them when it is one of them (a target without ancestors only
// fixes the label of its class), else it comes last. An unknown wnid is an
// error naming it; the result must be a valid Map (every class used).
func MapByAncestor(name string, wn *WordNet, sourceWnids []string, targets []AncestorTarget, fallback string) (Map, error) {
	var classes []string
	var desc []string
	for _, t := range targets {
		classes = append(classes, t.Class)
		for _, a := range t.Ancestors {
			lemma, err := wn.Lemma(a)
			if err != nil {
				return Map{}, fmt.Errorf("task: map %q: target %q: %w", name, t.Class, err)
			}
			desc = append(desc, fmt.Sprintf("%s (%s) -> %s", a, lemma, t.Class))
		}
	}
	if !slices.Contains(classes, fallback) {
		classes = append(classes, fallback)
	}
	assign := make(map[string]string, len(sourceWnids))
	for _, w := range sourceWnids {
		anc, err := wn.Ancestors(w)
		if err != nil {
			return Map{}, fmt.Errorf("task: map %q: %w", name, err)
		}
		anc = append(anc, w)
		assign[w] = fallback
	match:
		for _, t := range targets {
			for _, a := range t.Ancestors {
				if slices.Contains(anc, a) {
					assign[w] = t.Class
					break match
				}
			}
		}
	}
	m, err := FromKeys(name, sourceWnids, classes, assign)
	if err != nil {
		return Map{}, err
	}
	m.Description = fmt.Sprintf("WordNet 3.0, first match: %s; else %s", strings.Join(desc, ", "), fallback)
	return m, nil
}

// TinyImageNetSet returns the task set of Tiny ImageNet (001 Table 1) for
// its classes wnids (wnids.txt order) and classNames (from words.txt; nil
// means each synset's first WordNet word). The auxiliary tasks, which 000
// calls rough categorisations, are WordNet hypernym questions:
//
//   - aux1 "origin": natural(0), artefact(1) = descendants of artifact.n.01
//     (WnidArtifact).
//   - aux2 "kind": animal(0) = descendants of animal.n.01 (WnidAnimal),
//     machine(1) = descendants of machine.n.01 (WnidMachine), others(2).
//
// WordNet's answer can differ from 001's hand labels: food, for instance,
// is not an artifact in WordNet, so processed food comes out natural; and a
// vehicle is not a machine (n04146614 school bus is an artefact in others).
func TinyImageNetSet(wn *WordNet, wnids, classNames []string) (Set, error) {
	if classNames == nil {
		classNames = make([]string, len(wnids))
		for i, w := range wnids {
			lemma, err := wn.Lemma(w)
			if err != nil {
				return Set{}, err
			}
			classNames[i] = lemma
		}
	}
	if len(classNames) != len(wnids) {
		return Set{}, fmt.Errorf("task: tinyimagenet: %d class names for %d wnids: want one per wnid", len(classNames), len(wnids))
	}
	origin, err := MapByAncestor("origin", wn, wnids, []AncestorTarget{
		{Class: "natural"},
		{Class: "artefact", Ancestors: []string{WnidArtifact}},
	}, "natural")
	if err != nil {
		return Set{}, err
	}
	kind, err := MapByAncestor("kind", wn, wnids, []AncestorTarget{
		{Class: "animal", Ancestors: []string{WnidAnimal}},
		{Class: "machine", Ancestors: []string{WnidMachine}},
	}, "others")
	if err != nil {
		return Set{}, err
	}
	s := Set{
		Main: Main{Name: "tinyimagenet", ClassNames: slices.Clone(classNames), ClassIDs: slices.Clone(wnids)},
		Aux:  []Map{origin, kind},
	}
	if err := s.Validate(); err != nil {
		return Set{}, err
	}
	return s, nil
}
