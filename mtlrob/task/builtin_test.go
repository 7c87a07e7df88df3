package task

import (
	"slices"
	"strings"
	"testing"
)

// builtin returns ForDataset(name) or fails the test.
func builtin(t *testing.T, name string) Set {
	t.Helper()
	s, err := ForDataset(name)
	if err != nil {
		t.Fatalf("ForDataset(%q): %v", name, err)
	}
	return s
}

// checkTables compares every auxiliary table of s with want, in task order.
func checkTables(t *testing.T, s Set, want ...[]int) {
	t.Helper()
	if len(s.Aux) != len(want) {
		t.Fatalf("%s: %d auxiliary tasks, want %d", s.Main.Name, len(s.Aux), len(want))
	}
	for m, w := range want {
		if !slices.Equal(s.Aux[m].Table, w) {
			t.Errorf("%s: %s table = %v, want %v", s.Main.Name, s.Aux[m].Name, s.Aux[m].Table, w)
		}
	}
}

// members returns the table of the classes 0..k-1 that gives label 1 to the
// listed classes and 0 to the others.
func members(k int, ones ...int) []int {
	table := make([]int, k)
	for _, y := range ones {
		table[y] = 1
	}
	return table
}

func span(lo, hi int) []int {
	var s []int
	for y := lo; y <= hi; y++ {
		s = append(s, y)
	}
	return s
}

func TestDigits(t *testing.T) {
	// 000, "How labels for auxiliary tasks are assigned", transcribed:
	// | identity                   | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |
	// | auxtask1 (odd-even)        | 0 | 1 | 0 | 1 | 0 | 1 | 0 | 1 | 0 | 1 |
	// | auxtask2 (prime-composite) | 0 | 0 | 1 | 1 | 0 | 1 | 0 | 1 | 0 | 0 |
	readme := [][]int{
		{0, 1, 0, 1, 0, 1, 0, 1, 0, 1},
		{0, 0, 1, 1, 0, 1, 0, 1, 0, 0},
	}
	for _, name := range []string{"mnist", "svhn"} {
		s := builtin(t, name)
		if got, want := s.Main.ClassNames, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; !slices.Equal(got, want) {
			t.Errorf("%s class names = %q, want %q", name, got, want)
		}
		if got, want := s.Names(), []string{"main", "parity", "prime"}; !slices.Equal(got, want) {
			t.Errorf("%s tasks = %v, want %v", name, got, want)
		}
		checkTables(t, s, readme...)
		// The same by arithmetic: parity = d % 2, prime = d is prime.
		for d := range 10 {
			if s.Aux[0].Table[d] != d%2 {
				t.Errorf("%s: parity(%d) = %d", name, d, s.Aux[0].Table[d])
			}
			isPrime := d >= 2
			for p := 2; p*p <= d; p++ {
				isPrime = isPrime && d%p != 0
			}
			if got := s.Aux[1].Table[d] == 1; got != isPrime {
				t.Errorf("%s: prime(%d) = %v", name, d, got)
			}
		}
	}
}

func TestFashionMNIST(t *testing.T) {
	s := builtin(t, "fashion-mnist")
	names := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	if !slices.Equal(s.Main.ClassNames, names) {
		t.Errorf("class names = %q, want %q", s.Main.ClassNames, names)
	}
	if got, want := s.Sizes(), []int{10, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("Sizes() = %v, want %v", got, want)
	}
	category := map[string]string{
		"T-shirt/top": "clothing", "Trouser": "clothing", "Pullover": "clothing", "Dress": "clothing", "Coat": "clothing", "Shirt": "clothing",
		"Sandal": "footwear", "Sneaker": "footwear", "Ankle boot": "footwear",
		"Bag": "bag",
	}
	region := map[string]string{
		"T-shirt/top": "upper body", "Pullover": "upper body", "Coat": "upper body", "Shirt": "upper body",
		"Trouser": "lower body", "Dress": "full body",
		"Sandal": "feet or none", "Sneaker": "feet or none", "Ankle boot": "feet or none", "Bag": "feet or none",
	}
	for m, want := range []map[string]string{category, region} {
		aux := s.Aux[m]
		for y, c := range aux.Table {
			if got := aux.TargetClasses[c]; got != want[names[y]] {
				t.Errorf("%s(%s) = %q, want %q", aux.Name, names[y], got, want[names[y]])
			}
		}
	}
}

func TestCIFAR10(t *testing.T) {
	s := builtin(t, "cifar10")
	names := []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
	if !slices.Equal(s.Main.ClassNames, names) {
		t.Errorf("class names = %q, want %q", s.Main.ClassNames, names)
	}
	if got, want := s.Aux[1].TargetClasses, []string{"land", "sky", "water"}; !slices.Equal(got, want) {
		t.Errorf("habitat classes = %q, want %q", got, want)
	}
	habitat := make([]int, 10) // land
	habitat[0], habitat[2] = 1, 1
	habitat[8] = 2
	checkTables(t, s, members(10, 0, 1, 8, 9), habitat)
}

func TestGTSRB(t *testing.T) {
	s := builtin(t, "gtsrb")
	if len(s.Main.ClassNames) != 43 {
		t.Fatalf("%d classes, want 43", len(s.Main.ClassNames))
	}
	for y, want := range map[int]string{
		0: "Speed limit (20km/h)", 6: "End of speed limit (80km/h)", 12: "Priority road", 13: "Yield", 14: "Stop",
		17: "No entry", 31: "Wild animals crossing", 40: "Roundabout mandatory", 42: "End of no passing by vehicles over 3.5 metric tons",
	} {
		if got := s.Main.ClassNames[y]; got != want {
			t.Errorf("class %d = %q, want %q", y, got, want)
		}
	}
	polygon := append(span(11, 14), span(18, 31)...)
	characters := append(span(0, 8), 14)
	checkTables(t, s, members(43, polygon...), members(43, characters...))
	// And circle(0) is exactly {0-10, 15, 16, 17, 32-42}, as 000 lists it.
	var circle []int
	for y, c := range s.Aux[0].Table {
		if c == 0 {
			circle = append(circle, y)
		}
	}
	if want := slices.Concat(span(0, 10), []int{15, 16, 17}, span(32, 42)); !slices.Equal(circle, want) {
		t.Errorf("circle = %v, want %v", circle, want)
	}
}

func TestForDataset(t *testing.T) {
	for _, name := range Datasets {
		s := builtin(t, name)
		if s.Main.Name != name {
			t.Errorf("ForDataset(%q).Main.Name = %q", name, s.Main.Name)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("ForDataset(%q): %v", name, err)
		}
		// Fresh values: changing one set leaves the next call alone.
		s.Aux[0].Table[0] = 99
		if builtin(t, name).Aux[0].Table[0] == 99 {
			t.Errorf("ForDataset(%q) returns shared tables", name)
		}
	}
	for _, tt := range []struct{ name, errHas string }{
		{"imagenet", `unknown dataset "imagenet": want one of ["mnist", "svhn", "fashion-mnist", "cifar10", "gtsrb"]`},
		{"tinyimagenet", "TinyImageNetSet"},
	} {
		if _, err := ForDataset(tt.name); err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("ForDataset(%q) error = %v, want it to contain %q", tt.name, err, tt.errHas)
		}
	}
}
