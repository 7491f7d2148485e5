// Package export writes tables as CSV and as Excel workbooks (.xlsx). It
// serves the "double publicity" (双公示) export of penalty decisions and the
// yearly totals, and knows nothing of either: a Table is a sheet name, its
// columns and its rows of cells.
//
// A cell is one of a small set of types, so that both formats show it the
// same way:
//
//   - string: text, as is (in CSV guarded against formula injection, see
//     WriteCSV);
//   - int, int64 and float64: a number (NaN and infinities are refused);
//   - Yuan: an amount of money held in fen, shown in yuan with two decimals
//     (12345 is 123.45);
//   - Date: an instant shown as its Asia/Shanghai calendar date YYYY-MM-DD;
//     the zero Date is an empty cell;
//   - nil: an empty cell.
//
// Any other value is refused with a *CellError naming the table, the row and
// the column, and nothing is written: every table is checked before the first
// byte goes out.
package export

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/baoshui/baoshui/server/enforcement"
)

// Column is one column of a table: Key is its stable machine name (used in
// errors), Title the header text shown to people (Chinese is fine).
type Column struct {
	Key   string
	Title string
}

// Table is one sheet of an export. Name is the sheet name in a workbook (see
// WriteXLSX for its rules; WriteCSV ignores it except in errors). Every row
// must have exactly one cell per column.
type Table struct {
	Name    string
	Columns []Column
	Rows    [][]any
}

// Yuan is an amount of money in fen (1 yuan = 100 fen) that is shown in yuan
// with two decimals: Yuan(50000) is 500.00.
type Yuan int64

// String formats the amount in yuan with two decimals ("123.45", "-0.05").
func (y Yuan) String() string {
	neg := y < 0
	u := uint64(y)
	if neg {
		u = -u // exact also for math.MinInt64
	}
	s := strconv.FormatUint(u/100, 10) + "." + fmt.Sprintf("%02d", u%100)
	if neg {
		return "-" + s
	}
	return s
}

// float returns the amount in yuan as a number.
func (y Yuan) float() float64 { return float64(y) / 100 }

// Date is an instant shown as its calendar date in Asia/Shanghai
// (enforcement.Shanghai), whatever the instant's own location: a decision
// taken at 2020-06-01 01:30 +08:00 is 2020-06-01, although it is still May
// 31 in UTC. It is a time.Time under another name, so Date(t) converts and
// time.Time(d) converts back. The zero Date is an empty cell.
type Date time.Time

// IsZero reports whether d is the zero instant (an empty cell).
func (d Date) IsZero() bool { return time.Time(d).IsZero() }

// String formats d as its Asia/Shanghai date YYYY-MM-DD, and the zero Date as
// "".
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return time.Time(d).In(enforcement.Shanghai).Format(time.DateOnly)
}

// civil returns midnight UTC of d's Asia/Shanghai date, the form in which a
// date goes into a workbook (Excel dates have no time zone).
func (d Date) civil() time.Time {
	y, m, day := time.Time(d).In(enforcement.Shanghai).Date()
	return time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
}

// CellError is the error of a cell WriteCSV or WriteXLSX cannot write: its
// table, its row (the index in Table.Rows, from 0), its column (the index
// in Table.Columns and that column's key; -1 and "" when the row itself is
// at fault, having the wrong number of cells) and what is wrong.
type CellError struct {
	Table  string
	Row    int
	Column int
	Key    string
	Reason string
}

func (e *CellError) Error() string {
	if e.Column < 0 {
		return fmt.Sprintf("export: table %q: rows[%d]: %s", e.Table, e.Row, e.Reason)
	}
	return fmt.Sprintf("export: table %q: rows[%d] column %d (%q): %s", e.Table, e.Row, e.Column, e.Key, e.Reason)
}

// ErrSheetName is wrapped by the error of a sheet name WriteXLSX refuses.
var ErrSheetName = errors.New("bad sheet name")

// The limits of a workbook that WriteXLSX checks.
const (
	// MaxSheetNameLength is Excel's limit on a sheet name, in UTF-16 code
	// units (one per Chinese character).
	MaxSheetNameLength = 31
	// MaxCellLength is Excel's limit on the text of a cell, in UTF-16
	// code units.
	MaxCellLength = 32767
	// MaxRows is Excel's limit on the rows of a sheet, the header
	// included.
	MaxRows = 1_048_576
)

// check validates a table's shape and cell types; xlsx adds the limits of a
// workbook.
func check(t Table, xlsx bool) error {
	if len(t.Columns) == 0 {
		return fmt.Errorf("export: table %q has no columns", t.Name)
	}
	if xlsx && len(t.Columns) > excelize.MaxColumns {
		return fmt.Errorf("export: table %q has %d columns, more than a sheet's %d", t.Name, len(t.Columns), excelize.MaxColumns)
	}
	if xlsx && len(t.Rows)+1 > MaxRows {
		return fmt.Errorf("export: table %q has %d rows, more than a sheet's %d with the header", t.Name, len(t.Rows), MaxRows-1)
	}
	for i, row := range t.Rows {
		if len(row) != len(t.Columns) {
			return &CellError{Table: t.Name, Row: i, Column: -1,
				Reason: fmt.Sprintf("%d cells for %d columns", len(row), len(t.Columns))}
		}
		for j, v := range row {
			bad := func(format string, args ...any) error {
				return &CellError{Table: t.Name, Row: i, Column: j, Key: t.Columns[j].Key, Reason: fmt.Sprintf(format, args...)}
			}
			switch v := v.(type) {
			case nil, int, int64, Yuan, Date:
			case string:
				if xlsx && utf16Len(v) > MaxCellLength {
					return bad("text of %d characters is longer than a cell's %d", utf16Len(v), MaxCellLength)
				}
			case float64:
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return bad("%v is not a number a sheet can hold", v)
				}
			default:
				return bad("unsupported cell type %T (want string, int, int64, float64, Yuan, Date or nil)", v)
			}
		}
	}
	return nil
}

// text is a checked cell as CSV shows it.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return guard(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case Yuan:
		return v.String()
	case Date:
		return v.String()
	}
	return ""
}

// guard defuses CSV formula injection: text that a spreadsheet would take
// for a formula or a command (starting with =, +, -, @, a tab or a carriage
// return) gets a leading single quote.
func guard(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// bom is the UTF-8 byte order mark, which makes Excel on Chinese Windows
// read a CSV file as UTF-8 rather than GBK.
const bom = "\uFEFF"

// WriteCSV writes t as CSV (RFC 4180, through encoding/csv): the UTF-8 byte
// order mark, a header row of the column titles, then one line per row, all
// ending in CRLF. Numbers are written plainly (float64 in the shortest form
// that reads back exactly), Yuan as "123.45", Date as "2020-06-01", nil and
// the zero Date as an empty field.
//
// Text fields (the titles too) are guarded against formula injection: one
// that starts with '=', '+', '-', '@', a tab or a carriage return gets a
// leading single quote ('), so that a spreadsheet shows it as text instead
// of evaluating it. Numbers, Yuan and Date are never prefixed, so a negative
// amount stays a number. (With CRLF line ends encoding/csv drops a lone
// carriage return inside a field; CRLF inside a field is kept.)
//
// A bad cell is a *CellError, returned before anything is written.
func WriteCSV(w io.Writer, t Table) error {
	if err := check(t, false); err != nil {
		return err
	}
	if _, err := io.WriteString(w, bom); err != nil {
		return fmt.Errorf("export: write csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	write := func(record []string) error {
		if len(record) == 1 && record[0] == "" {
			// encoding/csv would write an empty line, which readers
			// skip; a quoted empty field keeps the row.
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			_, err := io.WriteString(w, "\"\"\r\n")
			return err
		}
		return cw.Write(record)
	}
	record := make([]string, len(t.Columns))
	for j, c := range t.Columns {
		record[j] = guard(c.Title)
	}
	if err := write(record); err != nil {
		return fmt.Errorf("export: write csv: %w", err)
	}
	for _, row := range t.Rows {
		for j, v := range row {
			record[j] = text(v)
		}
		if err := write(record); err != nil {
			return fmt.Errorf("export: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: write csv: %w", err)
	}
	return nil
}

// checkSheetName validates a sheet name as Excel does: not empty, at most 31
// UTF-16 code units (for Chinese text, 31 characters), none of []:*?/\ and
// no leading or trailing single quote.
func checkSheetName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("export: sheet name %q: %w: empty", name, ErrSheetName)
	case !utf8.ValidString(name):
		return fmt.Errorf("export: sheet name %q: %w: not valid UTF-8", name, ErrSheetName)
	case utf16Len(name) > MaxSheetNameLength:
		return fmt.Errorf("export: sheet name %q: %w: longer than %d characters", name, ErrSheetName, MaxSheetNameLength)
	case strings.ContainsAny(name, `[]:*?/\`):
		return fmt.Errorf("export: sheet name %q: %w: contains one of []:*?/\\", name, ErrSheetName)
	case strings.HasPrefix(name, "'") || strings.HasSuffix(name, "'"):
		return fmt.Errorf("export: sheet name %q: %w: starts or ends with a single quote", name, ErrSheetName)
	}
	return nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// WriteXLSX writes the tables as an Excel workbook, one sheet per table in
// order (the first table takes the place of the default "Sheet1"). Each
// sheet has a bold header row of the column titles, frozen so that it stays
// in view, and column widths fitted to the longest text (a Chinese character
// counting double), within 8 and 60.
//
// Cells keep their type: int, int64 and float64 are numbers, Yuan is a
// number in yuan with the number format "0.00", Date is a date cell (the
// Asia/Shanghai date, at midnight) with the format "yyyy-mm-dd", strings are
// text cells (never formulas, so they need no injection guard), and nil and
// the zero Date are empty.
//
// Sheet names must be non-empty, at most 31 characters as Excel counts them
// (UTF-16 code units), free of []:*?/\ and of a leading or trailing single
// quote, and unique ignoring case, as Excel compares them; a bad name is an
// error wrapping ErrSheetName. There must be at least one table. A bad cell
// is a *CellError. Either is returned before anything is written.
func WriteXLSX(w io.Writer, tables ...Table) error {
	if len(tables) == 0 {
		return errors.New("export: write xlsx: no tables: a workbook needs at least one sheet")
	}
	seen := map[string]int{}
	for i, t := range tables {
		if err := checkSheetName(t.Name); err != nil {
			return err
		}
		key := strings.ToLower(t.Name)
		if j, dup := seen[key]; dup {
			return fmt.Errorf("export: sheet name %q: %w: tables %d and %d have the same name", t.Name, ErrSheetName, j, i)
		}
		seen[key] = i
		if err := check(t, true); err != nil {
			return err
		}
	}

	f := excelize.NewFile()
	defer f.Close()
	st, err := newStyles(f)
	if err != nil {
		return fmt.Errorf("export: write xlsx: %w", err)
	}
	first := f.GetSheetName(0)
	for i, t := range tables {
		if i == 0 {
			err = f.SetSheetName(first, t.Name)
		} else {
			_, err = f.NewSheet(t.Name)
		}
		if err != nil {
			return fmt.Errorf("export: write xlsx: sheet %q: %w", t.Name, err)
		}
		if err := writeSheet(f, t, st); err != nil {
			return fmt.Errorf("export: write xlsx: sheet %q: %w", t.Name, err)
		}
	}
	f.SetActiveSheet(0)
	if err := f.Write(w); err != nil {
		return fmt.Errorf("export: write xlsx: %w", err)
	}
	return nil
}

// styles are the cell styles of a workbook.
type styles struct {
	header, yuan, date int
}

func newStyles(f *excelize.File) (styles, error) {
	var s styles
	var err error
	if s.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return s, err
	}
	// Built-in number format 2 is "0.00".
	if s.yuan, err = f.NewStyle(&excelize.Style{NumFmt: 2}); err != nil {
		return s, err
	}
	dateFmt := "yyyy-mm-dd"
	if s.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt}); err != nil {
		return s, err
	}
	return s, nil
}

// The bounds of a fitted column width, in Excel's character units.
const (
	minWidth = 8
	maxWidth = 60
)

func writeSheet(f *excelize.File, t Table, st styles) error {
	sw, err := f.NewStreamWriter(t.Name)
	if err != nil {
		return err
	}
	// excelize puts each new width before the ones already set; setting
	// them from the last column keeps <cols> in ascending order, as Excel
	// expects.
	ws := widths(t)
	for j := len(ws) - 1; j >= 0; j-- {
		if err := sw.SetColWidth(j+1, j+1, ws[j]); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	row := make([]any, len(t.Columns))
	for j, c := range t.Columns {
		row[j] = excelize.Cell{StyleID: st.header, Value: c.Title}
	}
	if err := sw.SetRow("A1", row); err != nil {
		return err
	}
	for i, cells := range t.Rows {
		for j, v := range cells {
			switch v := v.(type) {
			case Yuan:
				row[j] = excelize.Cell{StyleID: st.yuan, Value: v.float()}
			case Date:
				if v.IsZero() {
					row[j] = nil
				} else {
					row[j] = excelize.Cell{StyleID: st.date, Value: v.civil()}
				}
			default: // nil, string, int, int64, float64
				row[j] = v
			}
		}
		ref, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(ref, row); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// widths fits each column to its longest shown text, two units of padding
// included, within minWidth and maxWidth.
func widths(t Table) []float64 {
	out := make([]float64, len(t.Columns))
	for j, c := range t.Columns {
		n := displayWidth(c.Title)
		for _, row := range t.Rows {
			n = max(n, displayWidth(text(row[j])))
		}
		out[j] = float64(min(max(n+2, minWidth), maxWidth))
	}
	return out
}

// displayWidth is the width of s in character cells, counting East Asian
// wide characters (Chinese, full-width forms) as two; it stops counting
// past maxWidth.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if wide(r) {
			n += 2
		} else {
			n++
		}
		if n > maxWidth {
			break
		}
	}
	return n
}

// wide reports whether r takes two character cells: Hangul Jamo, the CJK
// blocks, Hangul syllables and full-width forms.
func wide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115F,
		r >= 0x2E80 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3,
		r >= 0xF900 && r <= 0xFAFF,
		r >= 0xFE30 && r <= 0xFE4F,
		r >= 0xFF00 && r <= 0xFF60,
		r >= 0xFFE0 && r <= 0xFFE6,
		r >= 0x20000 && r <= 0x3FFFD:
		return true
	}
	return false
}
