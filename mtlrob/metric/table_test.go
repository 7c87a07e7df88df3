package metric

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestTableMarkdownCSVAndJSON(t *testing.T) {
	tab, err := NewTable("MNIST | natural", []string{"Main only", "Main+Aux1"}, []string{"clean", "PGD, untargeted"})
	if err != nil {
		t.Fatal(err)
	}
	tab.Corner = "Model"
	if err := tab.Set("Main only", "clean", 99.3); err != nil {
		t.Fatal(err)
	}
	if err := tab.SetRow("Main+Aux1", []float64{98.48, 32.756}); err != nil {
		t.Fatal(err)
	}
	wantMD := "**MNIST \\| natural**\n\n" +
		"| Model | clean | PGD, untargeted |\n" +
		"| --- | ---: | ---: |\n" +
		"| Main only | 99.30 | – |\n" +
		"| Main+Aux1 | 98.48 | 32.76 |\n"
	if got := tab.Markdown(); got != wantMD {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, wantMD)
	}
	// The comma in a column name is quoted, the missing cell is empty.
	wantCSV := "Model,clean,\"PGD, untargeted\"\nMain only,99.30,\nMain+Aux1,98.48,32.76\n"
	if got, err := tab.CSV(); err != nil || got != wantCSV {
		t.Errorf("CSV = %q, %v; want %q", got, err, wantCSV)
	}
	tab.Digits = -1
	if got, _ := tab.CSV(); !strings.Contains(got, "32.756") {
		t.Errorf("Digits -1: CSV %q, want the exact 32.756", got)
	}
	data, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"cells":[[99.3,null],[98.48,32.756]]`) {
		t.Errorf("JSON %s: want the missing cell as null", data)
	}
	var back Table
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if v, _ := back.At("Main only", "PGD, untargeted"); !math.IsNaN(v) {
		t.Errorf("decoded missing cell = %g, want NaN", v)
	}
	if v, _ := back.At("Main+Aux1", "PGD, untargeted"); v != 32.756 {
		t.Errorf("decoded cell = %g, want 32.756", v)
	}
	if back.Markdown() != tab.Markdown() {
		t.Errorf("JSON round trip changed the table:\n%s\nvs\n%s", back.Markdown(), tab.Markdown())
	}
}

func TestTableErrors(t *testing.T) {
	if _, err := NewTable("t", []string{"a", "a"}, []string{"x"}); err == nil || !strings.Contains(err.Error(), `rows 0 and 1 are both named "a"`) {
		t.Errorf("duplicate rows: error %v", err)
	}
	if _, err := NewTable("t", []string{"a"}, []string{""}); err == nil || !strings.Contains(err.Error(), "column 0 has an empty name") {
		t.Errorf("empty column: error %v", err)
	}
	tab, _ := NewTable("t", []string{"a"}, []string{"x", "y"})
	if err := tab.Set("b", "x", 1); err == nil || !strings.Contains(err.Error(), `no row "b"`) {
		t.Errorf("unknown row: error %v", err)
	}
	if err := tab.Set("a", "z", 1); err == nil || !strings.Contains(err.Error(), `no column "z"`) {
		t.Errorf("unknown column: error %v", err)
	}
	if err := tab.SetRow("a", []float64{1}); err == nil || !strings.Contains(err.Error(), "1 values for 2 columns") {
		t.Errorf("short row: error %v", err)
	}
	tab.Cells[0][1] = math.Inf(1)
	if _, err := json.Marshal(tab); err == nil {
		t.Errorf("infinite cell: JSON encoded without error")
	}
	tab.Cells = tab.Cells[:0]
	if _, err := tab.CSV(); err == nil || !strings.Contains(err.Error(), "0 rows of cells for 1 row names") {
		t.Errorf("malformed table: CSV error %v", err)
	}
	if err := json.Unmarshal([]byte(`{"title":"t","rows":["a"],"columns":["x"],"cells":[[1,2]]}`), new(Table)); err == nil {
		t.Errorf("decoding a row with 2 cells for 1 column: no error")
	}
}

func TestAccuracyTables(t *testing.T) {
	// Rows and columns in order of first appearance; Table 2 cells are 100 x main accuracy,
	// Table 3 cells 100 x the mean auxiliary accuracy; single-task models have no Table 3 row.
	evals := []Evaluation{
		{Model: "Main only", Condition: "clean", TaskAccuracy: []float64{0.99}},
		{Model: "Main+Aux1+Aux2", Condition: "clean", TaskAccuracy: []float64{0.98, 0.90, 0.80}},
		{Model: "Main only", Condition: "PGD", TaskAccuracy: []float64{0.25}},
		{Model: "Main+Aux1+Aux2", Condition: "PGD", TaskAccuracy: []float64{0.5, 0.7, 0.6}},
		{Model: "Main+Aux1", Condition: "PGD", TaskAccuracy: []float64{0.4, 0.75}},
	}
	main, err := MainAccuracyTable("Table 2", evals)
	if err != nil {
		t.Fatal(err)
	}
	want := "**Table 2**\n\n| Model | clean | PGD |\n| --- | ---: | ---: |\n" +
		"| Main only | 99.00 | 25.00 |\n| Main+Aux1+Aux2 | 98.00 | 50.00 |\n| Main+Aux1 | – | 40.00 |\n"
	if got := main.Markdown(); got != want {
		t.Errorf("Table 2:\n%s\nwant:\n%s", got, want)
	}
	aux, err := AuxAccuracyTable("Table 3", evals)
	if err != nil {
		t.Fatal(err)
	}
	want = "**Table 3**\n\n| Model | clean | PGD |\n| --- | ---: | ---: |\n" +
		"| Main+Aux1+Aux2 | 85.00 | 65.00 |\n| Main+Aux1 | – | 75.00 |\n"
	if got := aux.Markdown(); got != want {
		t.Errorf("Table 3:\n%s\nwant:\n%s", got, want)
	}
	if _, err := MainAccuracyTable("t", append(evals, evals[0])); err == nil || !strings.Contains(err.Error(), `"Main only" under "clean" appears twice`) {
		t.Errorf("repeated evaluation: error %v", err)
	}
}

func TestAccuracy(t *testing.T) {
	if a, err := Accuracy([]int32{1, 2, 3, 0}, []int32{1, 0, 3, 0}); err != nil || a != 0.75 {
		t.Errorf("Accuracy = %g, %v; want 0.75", a, err)
	}
	if _, err := Accuracy([]int32{1}, []int32{1, 2}); err == nil || !strings.Contains(err.Error(), "1 predictions and 2 labels") {
		t.Errorf("length mismatch: error %v", err)
	}
	if _, err := Accuracy(nil, nil); err == nil {
		t.Errorf("no examples: no error")
	}
	got, err := TaskAccuracies([][]int32{{0, 1}, {1, 1}}, [][]int32{{0, 0}, {1, 1}})
	if err != nil || len(got) != 2 || got[0] != 0.5 || got[1] != 1 {
		t.Errorf("TaskAccuracies = %v, %v; want [0.5 1]", got, err)
	}
}
