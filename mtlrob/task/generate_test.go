package task

import (
	"slices"
	"strings"
	"testing"
)

// blockConfusion returns a K x K confusion matrix with diag on the diagonal, within between distinct
// classes of the same block and 1 elsewhere: the obvious grouping is the blocks.
func blockConfusion(block []int, diag, within float64) [][]float64 {
	k := len(block)
	c := make([][]float64, k)
	for i := range c {
		c[i] = make([]float64, k)
		for j := range c[i] {
			switch {
			case i == j:
				c[i][j] = diag
			case block[i] == block[j]:
				c[i][j] = within
			default:
				c[i][j] = 1
			}
		}
	}
	return c
}

func names(k int) []string {
	s := make([]string, k)
	for i := range s {
		s[i] = string(rune('a' + i))
	}
	return s
}

func TestConfusionSimilarity(t *testing.T) {
	// Row sums 10, 20, 10: rates r01 = 0.2, r10 = 0.5, so s01 = 0.35; r02 = 0.1, r20 = 0, s02 = 0.05; r12 = 0.25, r21 = 0.4, s12 = 0.325.
	c := [][]float64{{7, 2, 1}, {10, 5, 5}, {0, 4, 6}}
	s, err := ConfusionSimilarity(c)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{0, 0.35, 0.05}, {0.35, 0, 0.325}, {0.05, 0.325, 0}}
	for i := range want {
		for j := range want[i] {
			if d := s[i][j] - want[i][j]; d > 1e-12 || d < -1e-12 {
				t.Errorf("S[%d][%d] = %g, want %g", i, j, s[i][j], want[i][j])
			}
		}
	}
	for _, tt := range []struct {
		c    [][]float64
		want string
	}{
		{[][]float64{{1, 0}, {0, 1}}, "want K >= 3"},
		{[][]float64{{1, 0, 0}, {0, 1}, {0, 0, 1}}, "row 1 has 2 entries"},
		{[][]float64{{1, 0, 0}, {0, -1, 0}, {0, 0, 1}}, "confusion[1][1] = -1"},
	} {
		if _, err := ConfusionSimilarity(tt.c); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ConfusionSimilarity(%v) error %v, want %q", tt.c, err, tt.want)
		}
	}
}

func TestConfusionGenerators(t *testing.T) {
	for _, tt := range []struct {
		name  string
		block []int // the hand-made confusable blocks
		km    int
		group []int // GroupConfusable's table: the blocks, numbered by smallest member
		sep   func(t *testing.T, table []int)
	}{
		{
			name: "three blocks of two", block: []int{0, 0, 1, 1, 2, 2}, km: 3,
			group: []int{0, 0, 1, 1, 2, 2},
		},
		{
			name: "interleaved blocks", block: []int{0, 1, 0, 1, 0, 1}, km: 2,
			group: []int{0, 1, 0, 1, 0, 1},
		},
		{
			name: "two blocks of three, two groups", block: []int{0, 0, 0, 1, 1, 1}, km: 2,
			group: []int{0, 0, 0, 1, 1, 1},
		},
		{
			name: "Fashion-MNIST-like tops", block: []int{0, 1, 0, 2, 0, 3, 0, 4, 5, 6}, km: 4,
			// T-shirt(0), pullover(2), coat(4), shirt(6) confuse each other; the rest 1 apart and equally confused.
			group: nil,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := len(tt.block)
			c := blockConfusion(tt.block, 100, 20)
			g, err := GroupConfusable("group", names(k), c, tt.km)
			if err != nil {
				t.Fatal(err)
			}
			if tt.group != nil && !slices.Equal(g.Table, tt.group) {
				t.Errorf("GroupConfusable table %v, want %v", g.Table, tt.group)
			}
			// Every pair in the same block lands in the same group whenever the block fits in one.
			for i := range k {
				for j := range k {
					if tt.block[i] == tt.block[j] && g.Table[i] != g.Table[j] {
						t.Errorf("GroupConfusable: classes %d and %d of one block in groups %d and %d", i, j, g.Table[i], g.Table[j])
					}
				}
			}
			s, err := SeparateConfusable("separate", names(k), c, tt.km)
			if err != nil {
				t.Fatal(err)
			}
			// Balanced sizes, and no two classes of a block together unless the block has more members than groups.
			sizes := make([]int, tt.km)
			for _, c := range s.Table {
				sizes[c]++
			}
			if slices.Max(sizes)-slices.Min(sizes) > 1 {
				t.Errorf("SeparateConfusable group sizes %v: want sizes differing by at most one", sizes)
			}
			blockSize := map[int]int{}
			for _, b := range tt.block {
				blockSize[b]++
			}
			for i := range k {
				for j := i + 1; j < k; j++ {
					if tt.block[i] == tt.block[j] && blockSize[tt.block[i]] <= tt.km && s.Table[i] == s.Table[j] {
						t.Errorf("SeparateConfusable table %v: confusable classes %d and %d share group %d", s.Table, i, j, s.Table[i])
					}
				}
			}
			for _, m := range []Map{g, s} {
				if err := m.Validate(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestSeparateConfusableExact(t *testing.T) {
	// Blocks {0,1,2} and {3,4,5} into 3 groups: each group must take one class of each block.
	c := blockConfusion([]int{0, 0, 0, 1, 1, 1}, 100, 30)
	m, err := SeparateConfusable("sep", names(6), c, 3)
	if err != nil {
		t.Fatal(err)
	}
	for g := range 3 {
		members := m.Group(g)
		if len(members) != 2 || (members[0] < 3) == (members[1] < 3) {
			t.Errorf("group %d = %v: want one class of {0,1,2} and one of {3,4,5} (table %v)", g, members, m.Table)
		}
	}
	if !slices.Equal(m.TargetClasses, []string{"0", "1", "2"}) || !strings.Contains(m.Description, "a/"+m.SourceClasses[m.Group(0)[1]]+"; ") {
		t.Errorf("targets %q, description %q: want numbered targets and the groups in the description", m.TargetClasses, m.Description)
	}
}

func TestGeneratorErrors(t *testing.T) {
	c := blockConfusion([]int{0, 0, 1, 1}, 10, 5)
	for _, tt := range []struct {
		classes []string
		km      int
		want    string
	}{
		{names(4), 1, "1 groups for 4 classes: want 2 <= K_m < K"},
		{names(4), 4, "4 groups for 4 classes"},
		{names(3), 2, "confusion matrix of 4 rows for 3 classes"},
	} {
		for _, gen := range []func(string, []string, [][]float64, int) (Map, error){GroupConfusable, SeparateConfusable} {
			if _, err := gen("x", tt.classes, c, tt.km); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		}
	}
}

func TestAgglomerateAverageLinkage(t *testing.T) {
	// Items 0,1 very similar (0.9); 2 is closer to the pair on average (0.5, 0.4) than to 3 (0.1); 3 alone.
	sim := [][]float64{
		{0, 0.9, 0.5, 0},
		{0.9, 0, 0.4, 0},
		{0.5, 0.4, 0, 0.1},
		{0, 0, 0.1, 0},
	}
	for k, want := range map[int][]int{4: {0, 1, 2, 3}, 3: {0, 0, 1, 2}, 2: {0, 0, 0, 1}, 1: {0, 0, 0, 0}} {
		if got := Agglomerate(sim, k); !slices.Equal(got, want) {
			t.Errorf("Agglomerate(k=%d) = %v, want %v", k, got, want)
		}
	}
}

func TestWordNetPartition(t *testing.T) {
	wn := realWordNet(t)
	// goldfish, great white shark (fish); school bus, sports car (vehicles); tabby cat, Egyptian cat (cats).
	wnids := []string{"n01443537", "n04146614", "n02123045", "n01484850", "n04285008", "n02124075"}
	m, err := WordNetPartition("semantic", wn, wnids, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 2, 0, 1, 2}; !slices.Equal(m.Table, want) {
		t.Errorf("table %v (targets %q), want %v", m.Table, m.TargetClasses, want)
	}
	if _, err := WordNetPartition("x", wn, wnids, 6); err == nil {
		t.Error("6 groups of 6 classes: want an error")
	}
	if _, err := WordNetPartition("x", wn, []string{"n01443537", "n00000031", "n04146614"}, 2); err == nil || !strings.Contains(err.Error(), "n00000031") {
		t.Errorf("unknown wnid: error %v, want one naming it", err)
	}
}
