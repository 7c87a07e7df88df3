package metric

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Table is a titled grid of float cells with named rows and columns: the
// shape of 001 Table 2 (rows: models such as "Main only", "Main+Aux1";
// columns: "clean", "PGD targeted", "PGD untargeted", "CW") and Table 3 (the
// same rows and columns, cells: auxiliary-task accuracy). A NaN cell is
// missing: NewTable starts with every cell missing, Markdown prints it as
// Missing, CSV as an empty field, JSON as null.
//
// The cells are stored as given: to print percentages as 001 does, store
// 100*accuracy. Tables are rendered from result records (architecture.md:
// "tables and figures are rendered from records, never retyped"); the
// experiment package renders its tables with this type.
type Table struct {
	Title string `json:"title"`
	// Corner is the header of the row-name column, e.g. "Model"; empty
	// renders as "".
	Corner  string   `json:"corner,omitempty"`
	Rows    []string `json:"rows"`
	Columns []string `json:"columns"`
	// Cells[r][c] is the value at row r, column c; NaN = missing.
	Cells [][]float64 `json:"cells"`
	// Digits is the number of digits after the decimal point when rendering;
	// 0 means 2 (001 prints accuracies as 98.89). Use a negative value for
	// the shortest exact representation.
	Digits int `json:"digits,omitempty"`
}

// Missing is how Markdown renders a missing (NaN) cell.
const Missing = "–"

// NewTable returns a table with the given row and column names and every
// cell missing. Row and column names must be non-empty and unique within
// their axis.
func NewTable(title string, rows, columns []string) (*Table, error) {
	t := &Table{Title: title, Rows: slices.Clone(rows), Columns: slices.Clone(columns)}
	t.Cells = make([][]float64, len(rows))
	for r := range t.Cells {
		t.Cells[r] = make([]float64, len(columns))
		for c := range t.Cells[r] {
			t.Cells[r][c] = math.NaN()
		}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// Validate checks that the names are non-empty and unique per axis and that
// Cells has one row of len(Columns) values per row name.
func (t *Table) Validate() error {
	if err := uniqueNames("row", t.Rows); err != nil {
		return fmt.Errorf("metric: table %q: %w", t.Title, err)
	}
	if err := uniqueNames("column", t.Columns); err != nil {
		return fmt.Errorf("metric: table %q: %w", t.Title, err)
	}
	if len(t.Cells) != len(t.Rows) {
		return fmt.Errorf("metric: table %q: %d rows of cells for %d row names: want one per row", t.Title, len(t.Cells), len(t.Rows))
	}
	for r, row := range t.Cells {
		if len(row) != len(t.Columns) {
			return fmt.Errorf("metric: table %q: row %q has %d cells for %d columns: want one per column", t.Title, t.Rows[r], len(row), len(t.Columns))
		}
	}
	return nil
}

// Set stores v at the named row and column. An unknown name is an error
// listing the known ones.
func (t *Table) Set(row, column string, v float64) error {
	r, c, err := t.index(row, column)
	if err != nil {
		return err
	}
	t.Cells[r][c] = v
	return nil
}

// At returns the value at the named row and column (NaN if missing).
func (t *Table) At(row, column string) (float64, error) {
	r, c, err := t.index(row, column)
	if err != nil {
		return math.NaN(), err
	}
	return t.Cells[r][c], nil
}

// SetRow stores one row: values in column order, len(Columns) of them.
func (t *Table) SetRow(row string, values []float64) error {
	r := slices.Index(t.Rows, row)
	if r < 0 {
		return fmt.Errorf("metric: table %q: no row %q: want one of %q", t.Title, row, t.Rows)
	}
	if len(values) != len(t.Columns) {
		return fmt.Errorf("metric: table %q: row %q: %d values for %d columns", t.Title, row, len(values), len(t.Columns))
	}
	copy(t.Cells[r], values)
	return nil
}

func (t *Table) index(row, column string) (int, int, error) {
	r := slices.Index(t.Rows, row)
	if r < 0 {
		return 0, 0, fmt.Errorf("metric: table %q: no row %q: want one of %q", t.Title, row, t.Rows)
	}
	c := slices.Index(t.Columns, column)
	if c < 0 {
		return 0, 0, fmt.Errorf("metric: table %q: no column %q: want one of %q", t.Title, column, t.Columns)
	}
	return r, c, nil
}

// format renders one cell with the table's precision ("" for NaN).
func (t *Table) format(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	switch {
	case t.Digits == 0:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case t.Digits < 0:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', t.Digits, 64)
}

// Markdown renders the table as a GitHub-flavoured Markdown table preceded
// by its title in bold (when set): a header row (Corner, then the column
// names), numbers right-aligned, missing cells as Missing. '|' in names is
// escaped.
func (t *Table) Markdown() string {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "**%s**\n\n", escapeMarkdown(t.Title))
	}
	b.WriteString("| " + escapeMarkdown(t.Corner))
	for _, c := range t.Columns {
		b.WriteString(" | " + escapeMarkdown(c))
	}
	b.WriteString(" |\n| ---")
	for range t.Columns {
		b.WriteString(" | ---:")
	}
	b.WriteString(" |\n")
	for r, name := range t.Rows {
		b.WriteString("| " + escapeMarkdown(name))
		for c := range t.Columns {
			s := Missing
			if r < len(t.Cells) && c < len(t.Cells[r]) && !math.IsNaN(t.Cells[r][c]) {
				s = t.format(t.Cells[r][c])
			}
			b.WriteString(" | " + s)
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

func escapeMarkdown(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteCSV writes the table as RFC 4180 CSV: a header record (Corner, then
// the column names), then one record per row (its name, then the cells with
// the table's precision; missing cells empty). The title is not written.
func (t *Table) WriteCSV(w io.Writer) error {
	if err := t.Validate(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{t.Corner}, t.Columns...)); err != nil {
		return fmt.Errorf("metric: table %q: %w", t.Title, err)
	}
	for r, name := range t.Rows {
		rec := make([]string, 0, 1+len(t.Columns))
		rec = append(rec, name)
		for _, v := range t.Cells[r] {
			rec = append(rec, t.format(v))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("metric: table %q: %w", t.Title, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("metric: table %q: %w", t.Title, err)
	}
	return nil
}

// CSV returns the table as CSV text (see WriteCSV), or an error for a
// malformed table.
func (t *Table) CSV() (string, error) {
	var b bytes.Buffer
	if err := t.WriteCSV(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// tableJSON is Table with nullable cells: encoding/json rejects NaN.
type tableJSON struct {
	Title   string       `json:"title"`
	Corner  string       `json:"corner,omitempty"`
	Rows    []string     `json:"rows"`
	Columns []string     `json:"columns"`
	Cells   [][]*float64 `json:"cells"`
	Digits  int          `json:"digits,omitempty"`
}

// MarshalJSON encodes the table with missing (NaN) cells as null; an
// infinite cell is an error.
func (t Table) MarshalJSON() ([]byte, error) {
	j := tableJSON{Title: t.Title, Corner: t.Corner, Rows: t.Rows, Columns: t.Columns, Digits: t.Digits}
	j.Cells = make([][]*float64, len(t.Cells))
	for r, row := range t.Cells {
		j.Cells[r] = make([]*float64, len(row))
		for c, v := range row {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("metric: table %q: cell [%d][%d] is %g: JSON has no infinity", t.Title, r, c, v)
			}
			if !math.IsNaN(v) {
				j.Cells[r][c] = &v
			}
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON writes (null cells become NaN) and
// validates the shape.
func (t *Table) UnmarshalJSON(data []byte) error {
	var j tableJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("metric: decoding table: %w", err)
	}
	*t = Table{Title: j.Title, Corner: j.Corner, Rows: j.Rows, Columns: j.Columns, Digits: j.Digits}
	t.Cells = make([][]float64, len(j.Cells))
	for r, row := range j.Cells {
		t.Cells[r] = make([]float64, len(row))
		for c, p := range row {
			if p == nil {
				t.Cells[r][c] = math.NaN()
			} else {
				t.Cells[r][c] = *p
			}
		}
	}
	return t.Validate()
}

func uniqueNames(axis string, names []string) error {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("%s %d has an empty name", axis, i)
		}
		if j, ok := seen[n]; ok {
			return fmt.Errorf("%ss %d and %d are both named %q: want unique names", axis, j, i, n)
		}
		seen[n] = i
	}
	return nil
}
