package task

import "fmt"

// The built-in self-defined tasks of 001 (Table 1) as its authors' README
// (000, "How labels for auxiliary tasks are assigned") numbers them, plus
// Fashion-MNIST tasks for CPU-scale runs. Every dataset keeps a per-class
// table with its official class names; the maps are built from it.

// Datasets lists the names ForDataset accepts.
var Datasets = []string{"mnist", "svhn", "fashion-mnist", "cifar10", "gtsrb"}

// ForDataset returns the task set of a dataset: its main task with the
// official class names and the two auxiliary tasks of 001 Table 1, in the
// order aux1, aux2. name is one of Datasets; Tiny ImageNet's tasks come from
// WordNet through TinyImageNetSet.
func ForDataset(name string) (Set, error) {
	var s Set
	switch name {
	case "mnist", "svhn":
		s = digitSet(name)
	case "fashion-mnist":
		s = fashionSet()
	case "cifar10":
		s = cifar10Set()
	case "gtsrb":
		s = gtsrbSet()
	case "tinyimagenet", "tiny-imagenet":
		return Set{}, fmt.Errorf("task: %s: the tasks derive from WordNet: use TinyImageNetSet", name)
	default:
		return Set{}, fmt.Errorf("task: unknown dataset %q: want one of %s", name, quoteList(Datasets))
	}
	if err := s.Validate(); err != nil {
		return Set{}, fmt.Errorf("task: built-in tasks of %s: %w", name, err) // a bug, caught by the tests
	}
	return s, nil
}

// builtinMap is an auxiliary task of a built-in set, less its table.
type builtinMap struct {
	name, description string
	targets           []string
}

// builtinSet assembles a Set from the columns of a per-class table:
// names[y] is class y's official name and tables[m][y] its label for the
// auxiliary task maps[m]. Validation is left to ForDataset.
func builtinSet(dataset string, names []string, maps []builtinMap, tables ...[]int) Set {
	s := Set{Main: Main{Name: dataset, ClassNames: names}}
	for m, b := range maps {
		s.Aux = append(s.Aux, Map{
			Name:          b.name,
			Description:   b.description,
			SourceClasses: names,
			TargetClasses: b.targets,
			Table:         tables[m],
		})
	}
	return s
}

// Digits (MNIST, SVHN): 000's per-digit table, transcribed.
//
// aux1 "parity": even(0), odd(1), i.e. digit % 2. 000's prose says
// "odd(0), even(1)", but its table, which is the data, maps 0->0 and 1->1;
// 001 Table 1 lists "odd(1), even(2)". We follow the table.
//
// aux2 "prime": not prime(0), prime(1) with the primes {2, 3, 5, 7}. 000
// calls class 0 "composite number"; it also holds 0 and 1, which are
// neither, as 000's table assigns them.
//
// SVHN's class "0" is the digit 0 (the raw .mat files label it 10; the
// datasets package maps it to 0 before it gets here).
var digitTable = []struct {
	name          string
	parity, prime int
}{
	{"0", 0, 0},
	{"1", 1, 0},
	{"2", 0, 1},
	{"3", 1, 1},
	{"4", 0, 0},
	{"5", 1, 1},
	{"6", 0, 0},
	{"7", 1, 1},
	{"8", 0, 0},
	{"9", 1, 0},
}

func digitSet(dataset string) Set {
	n := len(digitTable)
	names, parity, prime := make([]string, n), make([]int, n), make([]int, n)
	for y, c := range digitTable {
		names[y], parity[y], prime[y] = c.name, c.parity, c.prime
	}
	maps := []builtinMap{
		{"parity", "aux1 (000, 001 Table 1): even(0), odd(1) as 000's per-digit table assigns them (its prose says odd(0), even(1))", []string{"even", "odd"}},
		{"prime", "aux2 (000, 001 Table 1): prime or not; prime(1) = {2, 3, 5, 7}", []string{"not prime", "prime"}},
	}
	return builtinSet(dataset, names, maps, parity, prime)
}

// Fashion-MNIST (Zalando's class names). Not in 001; our choice, for
// CPU-scale runs.
//
// aux1 "category": clothing(0), footwear(1) = {Sandal, Sneaker, Ankle boot},
// bag(2) = {Bag}.
//
// aux2 "region", where the item is worn: upper body(0) = {T-shirt/top,
// Pullover, Coat, Shirt}, lower body(1) = {Trouser}, full body(2) = {Dress},
// feet or none(3) = {Sandal, Sneaker, Bag, Ankle boot}. A coat counts as
// upper body (it is worn over the upper-body garments). The bag, carried
// rather than worn, shares a class with footwear so that region is not a
// refinement of category: the two tasks split the classes differently.
var fashionTable = []struct {
	name             string
	category, region int
}{
	{"T-shirt/top", 0, 0},
	{"Trouser", 0, 1},
	{"Pullover", 0, 0},
	{"Dress", 0, 2},
	{"Coat", 0, 0},
	{"Sandal", 1, 3},
	{"Shirt", 0, 0},
	{"Sneaker", 1, 3},
	{"Bag", 2, 3},
	{"Ankle boot", 1, 3},
}

func fashionSet() Set {
	n := len(fashionTable)
	names, category, region := make([]string, n), make([]int, n), make([]int, n)
	for y, c := range fashionTable {
		names[y], category[y], region[y] = c.name, c.category, c.region
	}
	maps := []builtinMap{
		{"category", "aux1 (ours): clothing(0), footwear(1), bag(2)", []string{"clothing", "footwear", "bag"}},
		{"region", "aux2 (ours): body region worn on: upper(0), lower(1), full(2), feet or none(3)", []string{"upper body", "lower body", "full body", "feet or none"}},
	}
	return builtinSet("fashion-mnist", names, maps, category, region)
}

// CIFAR10 (Krizhevsky's class names, batches.meta order).
//
// aux1 "vehicle": animal(0), vehicle(1) = {airplane, automobile, ship,
// truck} (000; 001 Table 1 lists "animal(1), vehicle(2)").
//
// aux2 "habitat", the main activity area: land(0), sky(1) = {airplane,
// bird}, water(2) = {ship} (000; 001 Table 1 lists "sky(1), ground(2),
// water(3)", another order). The frog, an amphibian, is ambiguous: we put
// it on land with the other animals, as neither 000 nor 001 names a
// water animal.
var cifar10Table = []struct {
	name             string
	vehicle, habitat int
}{
	{"airplane", 1, 1},
	{"automobile", 1, 0},
	{"bird", 0, 1},
	{"cat", 0, 0},
	{"deer", 0, 0},
	{"dog", 0, 0},
	{"frog", 0, 0},
	{"horse", 0, 0},
	{"ship", 1, 2},
	{"truck", 1, 0},
}

func cifar10Set() Set {
	n := len(cifar10Table)
	names, vehicle, habitat := make([]string, n), make([]int, n), make([]int, n)
	for y, c := range cifar10Table {
		names[y], vehicle[y], habitat[y] = c.name, c.vehicle, c.habitat
	}
	maps := []builtinMap{
		{"vehicle", "aux1 (000, 001 Table 1): animal(0) or vehicle(1)", []string{"animal", "vehicle"}},
		{"habitat", "aux2 (000, 001 Table 1): main activity area land(0), sky(1), water(2); frog on land", []string{"land", "sky", "water"}},
	}
	return builtinSet("cifar10", names, maps, vehicle, habitat)
}

// GTSRB: the 43 class names in their conventional form (the signnames.csv
// that accompanies most GTSRB distributions; the official archive numbers
// the classes 00000..00042).
//
// aux1 "shape", the frame of the sign (000; 001 Table 1): circle(0),
// polygon(1) = triangles, the diamond (12), the inverted triangle (13) and
// the octagon (14).
//
// aux2 "content" (000; 001 Table 1 lists "character(1), symbol(2)"):
// symbol only(0), includes characters(1) = the numerals of 0-8 and STOP (14).
var gtsrbTable = []struct {
	name           string
	shape, content int
}{
	{"Speed limit (20km/h)", 0, 1},
	{"Speed limit (30km/h)", 0, 1},
	{"Speed limit (50km/h)", 0, 1},
	{"Speed limit (60km/h)", 0, 1},
	{"Speed limit (70km/h)", 0, 1},
	{"Speed limit (80km/h)", 0, 1},
	{"End of speed limit (80km/h)", 0, 1},
	{"Speed limit (100km/h)", 0, 1},
	{"Speed limit (120km/h)", 0, 1},
	{"No passing", 0, 0},
	{"No passing for vehicles over 3.5 metric tons", 0, 0},
	{"Right-of-way at the next intersection", 1, 0},
	{"Priority road", 1, 0},
	{"Yield", 1, 0},
	{"Stop", 1, 1},
	{"No vehicles", 0, 0},
	{"Vehicles over 3.5 metric tons prohibited", 0, 0},
	{"No entry", 0, 0},
	{"General caution", 1, 0},
	{"Dangerous curve to the left", 1, 0},
	{"Dangerous curve to the right", 1, 0},
	{"Double curve", 1, 0},
	{"Bumpy road", 1, 0},
	{"Slippery road", 1, 0},
	{"Road narrows on the right", 1, 0},
	{"Road work", 1, 0},
	{"Traffic signals", 1, 0},
	{"Pedestrians", 1, 0},
	{"Children crossing", 1, 0},
	{"Bicycles crossing", 1, 0},
	{"Beware of ice/snow", 1, 0},
	{"Wild animals crossing", 1, 0},
	{"End of all speed and passing limits", 0, 0},
	{"Turn right ahead", 0, 0},
	{"Turn left ahead", 0, 0},
	{"Ahead only", 0, 0},
	{"Go straight or right", 0, 0},
	{"Go straight or left", 0, 0},
	{"Keep right", 0, 0},
	{"Keep left", 0, 0},
	{"Roundabout mandatory", 0, 0},
	{"End of no passing", 0, 0},
	{"End of no passing by vehicles over 3.5 metric tons", 0, 0},
}

func gtsrbSet() Set {
	n := len(gtsrbTable)
	names, shape, content := make([]string, n), make([]int, n), make([]int, n)
	for y, c := range gtsrbTable {
		names[y], shape[y], content[y] = c.name, c.shape, c.content
	}
	maps := []builtinMap{
		{"shape", "aux1 (000, 001 Table 1): frame shape circle(0) or polygon(1)", []string{"circle", "polygon"}},
		{"content", "aux2 (000, 001 Table 1): symbol only(0) or includes characters(1)", []string{"symbol only", "includes characters"}},
	}
	return builtinSet("gtsrb", names, maps, shape, content)
}
