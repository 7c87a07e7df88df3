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
// 100*accuracy. Tables are rendered from result records, never retyped
// (every number in a table is one a record holds); the
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
	// Lo and Hi, when non-nil, have the shape of Cells and hold a
	// confidence interval for each cell, in the cells' units (NaN = none):
	// Markdown prints "98.48 [98.21, 98.72]", CSV adds the columns
	// "<column> lo" and "<column> hi" after every column that has one, JSON
	// the nullable "lo" and "hi" grids. SetInterval allocates them.
	Lo [][]float64 `json:"lo,omitempty"`
	Hi [][]float64 `json:"hi,omitempty"`
	// PColumns names the columns that hold p-values: Markdown renders them
	// with FormatP ("0.031", "< 0.001") instead of Digits, CSV exactly.
	PColumns []string `json:"p_columns,omitempty"`
	// Notes are footnotes: Markdown prints them under the table, one line
	// each; CSV leaves them out.
	Notes []string `json:"notes,omitempty"`
}

// Missing is how Markdown renders a missing (NaN) cell.
const Missing = "–"

// NewTable returns a table with the given row and column names and every
// cell missing. Row and column names must be non-empty and unique within
// their axis.
func NewTable(title string, rows, columns []string) (*Table, error) {
	t := &Table{Title: title, Rows: slices.Clone(rows), Columns: slices.Clone(columns)}
	t.Cells = nanGrid(len(rows), len(columns))
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
	if (t.Lo == nil) != (t.Hi == nil) {
		return fmt.Errorf("metric: table %q: interval bounds Lo and Hi: want both or neither", t.Title)
	}
	for name, g := range map[string][][]float64{"Lo": t.Lo, "Hi": t.Hi} {
		if g == nil {
			continue
		}
		if len(g) != len(t.Rows) {
			return fmt.Errorf("metric: table %q: %d rows of %s for %d row names: want the shape of Cells", t.Title, len(g), name, len(t.Rows))
		}
		for r, row := range g {
			if len(row) != len(t.Columns) {
				return fmt.Errorf("metric: table %q: row %q has %d %s bounds for %d columns: want the shape of Cells", t.Title, t.Rows[r], len(row), name, len(t.Columns))
			}
		}
	}
	for _, c := range t.PColumns {
		if !slices.Contains(t.Columns, c) {
			return fmt.Errorf("metric: table %q: p-value column %q is not a column: want one of %q", t.Title, c, t.Columns)
		}
	}
	return nil
}

// SetInterval stores v with its confidence interval [lo, hi] at the named
// row and column, allocating Lo and Hi (every interval missing) on first
// use.
func (t *Table) SetInterval(row, column string, v, lo, hi float64) error {
	r, c, err := t.index(row, column)
	if err != nil {
		return err
	}
	if t.Lo == nil || t.Hi == nil {
		t.Lo, t.Hi = nanGrid(len(t.Rows), len(t.Columns)), nanGrid(len(t.Rows), len(t.Columns))
	}
	t.Cells[r][c], t.Lo[r][c], t.Hi[r][c] = v, lo, hi
	return nil
}

// AppendColumns adds columns (unique, non-empty names) after the existing
// ones, with every cell and interval missing.
func (t *Table) AppendColumns(names ...string) error {
	cols := append(slices.Clone(t.Columns), names...)
	if err := uniqueNames("column", cols); err != nil {
		return fmt.Errorf("metric: table %q: %w", t.Title, err)
	}
	t.Columns = cols
	for _, g := range [][][]float64{t.Cells, t.Lo, t.Hi} {
		for r := range g {
			for range names {
				g[r] = append(g[r], math.NaN())
			}
		}
	}
	return nil
}

// interval returns the interval of cell (r, c) and whether it has one.
func (t *Table) interval(r, c int) (lo, hi float64, ok bool) {
	if r >= len(t.Lo) || r >= len(t.Hi) || c >= len(t.Lo[r]) || c >= len(t.Hi[r]) {
		return math.NaN(), math.NaN(), false
	}
	lo, hi = t.Lo[r][c], t.Hi[r][c]
	return lo, hi, !math.IsNaN(lo) && !math.IsNaN(hi)
}

// hasInterval reports whether any cell of column c has an interval.
func (t *Table) hasInterval(c int) bool {
	for r := range t.Rows {
		if _, _, ok := t.interval(r, c); ok {
			return true
		}
	}
	return false
}

func nanGrid(rows, cols int) [][]float64 {
	g := make([][]float64, rows)
	for r := range g {
		g[r] = make([]float64, cols)
		for c := range g[r] {
			g[r][c] = math.NaN()
		}
	}
	return g
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
// names), numbers right-aligned, missing cells as Missing, a cell with a
// confidence interval as "value [lo, hi]", p-value columns (PColumns) by
// FormatP; then the Notes, one line each, after a blank line. '|' in names
// and notes is escaped.
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
		for c, col := range t.Columns {
			s := Missing
			switch {
			case r >= len(t.Cells) || c >= len(t.Cells[r]) || math.IsNaN(t.Cells[r][c]):
			case slices.Contains(t.PColumns, col):
				s = FormatP(t.Cells[r][c])
			default:
				s = t.format(t.Cells[r][c])
				if lo, hi, ok := t.interval(r, c); ok {
					s += " [" + t.format(lo) + ", " + t.format(hi) + "]"
				}
			}
			b.WriteString(" | " + s)
		}
		b.WriteString(" |\n")
	}
	if len(t.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.Notes {
			b.WriteString(escapeMarkdown(n) + "\n")
		}
	}
	return b.String()
}

func escapeMarkdown(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteCSV writes the table as RFC 4180 CSV: a header record (Corner, then
// the column names), then one record per row (its name, then the cells with
// the table's precision; missing cells empty). A column with confidence
// intervals is followed by the columns "<column> lo" and "<column> hi";
// p-value columns are written exactly. The title and notes are not written.
func (t *Table) WriteCSV(w io.Writer) error {
	if err := t.Validate(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	withCI := make([]bool, len(t.Columns))
	header := []string{t.Corner}
	for c, col := range t.Columns {
		header = append(header, col)
		if withCI[c] = t.hasInterval(c); withCI[c] {
			header = append(header, col+" lo", col+" hi")
		}
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("metric: table %q: %w", t.Title, err)
	}
	for r, name := range t.Rows {
		rec := make([]string, 0, len(header))
		rec = append(rec, name)
		for c, v := range t.Cells[r] {
			switch {
			case slices.Contains(t.PColumns, t.Columns[c]) && !math.IsNaN(v):
				rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
			default:
				rec = append(rec, t.format(v))
			}
			if withCI[c] {
				lo, hi, _ := t.interval(r, c)
				rec = append(rec, t.format(lo), t.format(hi))
			}
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
	Title    string       `json:"title"`
	Corner   string       `json:"corner,omitempty"`
	Rows     []string     `json:"rows"`
	Columns  []string     `json:"columns"`
	Cells    [][]*float64 `json:"cells"`
	Digits   int          `json:"digits,omitempty"`
	Lo       [][]*float64 `json:"lo,omitempty"`
	Hi       [][]*float64 `json:"hi,omitempty"`
	PColumns []string     `json:"p_columns,omitempty"`
	Notes    []string     `json:"notes,omitempty"`
}

// MarshalJSON encodes the table with missing (NaN) cells as null; an
// infinite cell is an error.
func (t Table) MarshalJSON() ([]byte, error) {
	j := tableJSON{Title: t.Title, Corner: t.Corner, Rows: t.Rows, Columns: t.Columns, Digits: t.Digits, PColumns: t.PColumns, Notes: t.Notes}
	var err error
	if j.Cells, err = nullable(t.Title, "cell", t.Cells); err != nil {
		return nil, err
	}
	if t.Lo != nil {
		if j.Lo, err = nullable(t.Title, "lower bound", t.Lo); err != nil {
			return nil, err
		}
	}
	if t.Hi != nil {
		if j.Hi, err = nullable(t.Title, "upper bound", t.Hi); err != nil {
			return nil, err
		}
	}
	return json.Marshal(j)
}

// nullable returns g with NaN as nil; an infinite value is an error.
func nullable(title, what string, g [][]float64) ([][]*float64, error) {
	out := make([][]*float64, len(g))
	for r, row := range g {
		out[r] = make([]*float64, len(row))
		for c, v := range row {
			if math.IsInf(v, 0) {
				return nil, fmt.Errorf("metric: table %q: %s [%d][%d] is %g: JSON has no infinity", title, what, r, c, v)
			}
			if !math.IsNaN(v) {
				out[r][c] = &v
			}
		}
	}
	return out, nil
}

// fromNullable returns g with nil as NaN (nil for a nil g).
func fromNullable(g [][]*float64) [][]float64 {
	if g == nil {
		return nil
	}
	out := make([][]float64, len(g))
	for r, row := range g {
		out[r] = make([]float64, len(row))
		for c, p := range row {
			if p == nil {
				out[r][c] = math.NaN()
			} else {
				out[r][c] = *p
			}
		}
	}
	return out
}

// UnmarshalJSON decodes what MarshalJSON writes (null cells become NaN) and
// validates the shape.
func (t *Table) UnmarshalJSON(data []byte) error {
	var j tableJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("metric: decoding table: %w", err)
	}
	*t = Table{Title: j.Title, Corner: j.Corner, Rows: j.Rows, Columns: j.Columns, Digits: j.Digits, PColumns: j.PColumns, Notes: j.Notes}
	t.Cells, t.Lo, t.Hi = fromNullable(j.Cells), fromNullable(j.Lo), fromNullable(j.Hi)
	if t.Cells == nil {
		t.Cells = [][]float64{}
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
