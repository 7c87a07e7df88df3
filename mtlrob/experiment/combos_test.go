package experiment

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mtlrob/mtlrob/mtlrob/task"
	"github.com/mtlrob/mtlrob/mtlrob/training"
)

func TestAuxCombinationsAreTable2sRows(t *testing.T) {
	set, err := task.ForDataset("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{}, {"category"}, {"region"}, {"category", "region"}}
	if got := AuxCombinations(set); !reflect.DeepEqual(got, want) {
		t.Fatalf("AuxCombinations = %q, want %q", got, want)
	}
	one, _ := set.Select("region")
	if got := AuxCombinations(one); !reflect.DeepEqual(got, [][]string{{}, {"region"}}) {
		t.Fatalf("one auxiliary task: %q (main+all would repeat main+region)", got)
	}
	specs, err := CompareSpecs("mnist", Budgets["quick"], 2)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		set, err := Tasks(s.Dataset, s.Aux)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, s.Name(set))
	}
	wantNames := []string{"natural_mnist_lenet_main_quick_seed2", "natural_mnist_lenet_main+parity_quick_seed2",
		"natural_mnist_lenet_main+prime_quick_seed2", "natural_mnist_lenet_main+parity+prime_quick_seed2"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("run names %q, want %q", names, wantNames)
	}
	if _, err := CompareSpecs("imagenet", Budgets["quick"], 1); err == nil {
		t.Fatal("CompareSpecs accepted an unknown dataset")
	}
	if ComboLabel([]string{"main"}) != "main only" || ComboLabel([]string{"main", "a", "b"}) != "main+a+b" {
		t.Fatal("ComboLabel")
	}
}

func TestNaturalTable(t *testing.T) {
	rec := func(tasks []string, acc ...float64) *Record {
		return &Record{Name: strings.Join(tasks, "+"), Results: NaturalResults{Tasks: tasks, StepSeconds: 0.25,
			Final: training.Scores{Tasks: tasks, Accuracy: acc, Loss: acc, N: 10},
			Curve: training.Curve{Step: []int{100, 200}}}}
	}
	got, err := NaturalTable([]*Record{rec([]string{"main"}, 0.8), rec([]string{"main", "region"}, 0.81234, 0.95)})
	if err != nil {
		t.Fatal(err)
	}
	want := "| tasks | main accuracy | region accuracy | steps | s/step |\n" +
		"|---|---:|---:|---:|---:|\n" +
		"| main only | 0.8000 | – | 200 | 0.250 |\n" +
		"| main+region | 0.8123 | 0.9500 | 200 | 0.250 |\n"
	if got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
	if _, err := NaturalTable([]*Record{{Name: "x", Results: map[string]any{}}}); err == nil {
		t.Fatal("a record without NaturalResults was accepted")
	}
}

func TestFiguresDir(t *testing.T) {
	t.Setenv(FiguresEnv, "/some/where")
	if d, err := FiguresDir(); err != nil || d != "/some/where" {
		t.Fatalf("with $%s: %q, %v", FiguresEnv, d, err)
	}
	if d, err := ResultsDir(); err != nil || d != "/some/where/results" {
		t.Fatalf("ResultsDir: %q, %v", d, err)
	}
	t.Setenv(FiguresEnv, "")
	root := t.TempDir()
	sub := root + "/notebooks/deeper"
	if err := mkdirs(sub); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(root+"/go.mod", "module github.com/mtlrob/mtlrob\n\ngo 1.27.0\n"); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if d, err := FiguresDir(); err != nil || d != root+"/figures" {
		t.Fatalf("from %s: %q, %v; want %s/figures", sub, d, err, root)
	}
	if err := writeFile(root+"/go.mod", "module example.com/other\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := FiguresDir(); err == nil || !strings.Contains(err.Error(), FiguresEnv) {
		t.Fatalf("outside the repository: error %v, want one naming $%s", err, FiguresEnv)
	}
}

func mkdirs(d string) error { return os.MkdirAll(d, 0o755) }

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }
