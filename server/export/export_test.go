package export_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/export"
)

// decided is 2020-06-01 01:30 in Shanghai, still May 31 in UTC: its date
// must come out as 2020-06-01.
var decided = time.Date(2020, 5, 31, 17, 30, 0, 0, time.UTC)

func sample() export.Table {
	return export.Table{
		Name: "双公示",
		Columns: []export.Column{
			{Key: "no", Title: "决定书文号"},
			{Key: "party", Title: "行政相对人名称"},
			{Key: "note", Title: "备注"},
			{Key: "fine", Title: "罚款金额（元）"},
			{Key: "date", Title: "处罚决定日期"},
			{Key: "count", Title: "件数"},
			{Key: "ratio", Title: "比例"},
		},
		Rows: [][]any{
			{"密保罚〔2020〕第0001号", "张三", "=HYPERLINK(\"http://x\")", export.Yuan(50000), export.Date(decided), 1, 0.25},
			{"密保罚〔2020〕第0002号", "李四", "-1+2", export.Yuan(-5), export.Date{}, int64(2), nil},
			{"密保罚〔2020〕第0003号", "Acme, \"Ltd\"", "@SUM(A1)", export.Yuan(123456), export.Date(decided.Add(24 * time.Hour)), 0, 1.5},
		},
	}
}

func TestYuanAndDate(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"zero yuan", export.Yuan(0).String(), "0.00"},
		{"yuan", export.Yuan(12345).String(), "123.45"},
		{"whole yuan", export.Yuan(50000).String(), "500.00"},
		{"negative fen", export.Yuan(-5).String(), "-0.05"},
		{"min int64", export.Yuan(math.MinInt64).String(), "-92233720368547758.08"},
		{"shanghai date", export.Date(decided).String(), "2020-06-01"},
		{"zero date", export.Date{}.String(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestWriteCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := export.WriteCSV(&buf, sample()); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	raw := buf.Bytes()
	if !bytes.HasPrefix(raw, []byte("\xEF\xBB\xBF")) {
		t.Fatalf("no UTF-8 BOM: % x", raw[:min(len(raw), 8)])
	}
	body := raw[3:]
	if n, crlf := bytes.Count(body, []byte("\n")), bytes.Count(body, []byte("\r\n")); n != crlf || n != 4 {
		t.Errorf("%d line ends, %d of them CRLF; want 4 CRLF", n, crlf)
	}
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if len(records) != 4 {
		t.Fatalf("%d records, want header and 3 rows", len(records))
	}
	for _, tc := range []struct {
		name      string
		row, col  int
		want      string
		rationale string
	}{
		{"header in Chinese", 0, 1, "行政相对人名称", "titles"},
		{"Chinese text", 1, 0, "密保罚〔2020〕第0001号", "text as is"},
		{"formula guarded", 1, 2, `'=HYPERLINK("http://x")`, "= prefixed"},
		{"minus guarded", 2, 2, "'-1+2", "- prefixed"},
		{"at guarded", 3, 2, "'@SUM(A1)", "@ prefixed"},
		{"quotes and comma", 3, 1, `Acme, "Ltd"`, "RFC 4180 quoting round trip"},
		{"yuan", 1, 3, "500.00", "two decimals"},
		{"negative yuan not guarded", 2, 3, "-0.05", "numbers are never prefixed"},
		{"yuan large", 3, 3, "1234.56", "two decimals"},
		{"date in Shanghai", 1, 4, "2020-06-01", "May 31 in UTC"},
		{"zero date empty", 2, 4, "", "zero date"},
		{"next date", 3, 4, "2020-06-02", "a day later"},
		{"int", 1, 5, "1", "int"},
		{"int64", 2, 5, "2", "int64"},
		{"float", 1, 6, "0.25", "float64"},
		{"nil empty", 2, 6, "", "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := records[tc.row][tc.col]; got != tc.want {
				t.Errorf("records[%d][%d] = %q, want %q (%s)", tc.row, tc.col, got, tc.want, tc.rationale)
			}
		})
	}
}

func TestCSVGuard(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string
	}{
		{"equals", "=1+1", "'=1+1"},
		{"plus", "+86 138", "'+86 138"},
		{"minus", "-x", "'-x"},
		{"at", "@cmd", "'@cmd"},
		{"tab", "\tx", "'\tx"},
		// With CRLF line ends encoding/csv drops a lone CR inside a field;
		// the guard has prefixed the field before that.
		{"carriage return", "\rx", "'x"},
		{"plain", "张三", "张三"},
		{"inner equals", "a=b", "a=b"},
		{"empty", "", ""},
		{"negative int", -3, "-3"},
		{"negative float", -1.5, "-1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tab := export.Table{Name: "t", Columns: []export.Column{{Key: "v", Title: "值"}}, Rows: [][]any{{tc.in}}}
			if err := export.WriteCSV(&buf, tab); err != nil {
				t.Fatal(err)
			}
			r, err := csv.NewReader(bytes.NewReader(buf.Bytes()[3:])).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(r) != 2 {
				t.Fatalf("%d records %q, want the header and one row", len(r), r)
			}
			if got := r[1][0]; got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriteXLSX(t *testing.T) {
	second := export.Table{
		Name:    "年度汇总",
		Columns: []export.Column{{Key: "year", Title: "年度"}, {Key: "fines", Title: "罚款（元）"}},
		Rows:    [][]any{{2020, export.Yuan(1_500_000)}},
	}
	var buf bytes.Buffer
	if err := export.WriteXLSX(&buf, sample(), second); err != nil {
		t.Fatalf("WriteXLSX: %v", err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	defer f.Close()

	if got := f.GetSheetList(); strings.Join(got, "|") != "双公示|年度汇总" {
		t.Fatalf("sheets %q, want [双公示 年度汇总] (Sheet1 renamed)", got)
	}
	panes, err := f.GetPanes("双公示")
	if err != nil || !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
		t.Errorf("panes %+v (%v), want the header row frozen", panes, err)
	}

	cell := func(sheet, ref string) (string, string, *excelize.Style) {
		t.Helper()
		shown, err := f.GetCellValue(sheet, ref)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := f.GetCellValue(sheet, ref, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		id, err := f.GetCellStyle(sheet, ref)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		return shown, raw, st
	}
	for _, tc := range []struct {
		name        string
		sheet, ref  string
		shown       string
		raw         string // "" = same as shown
		bold        bool
		numFmt      int
		customFmt   string
		wantNumeric bool
	}{
		{name: "header Chinese bold", sheet: "双公示", ref: "B1", shown: "行政相对人名称", bold: true},
		{name: "Chinese text", sheet: "双公示", ref: "A2", shown: "密保罚〔2020〕第0001号"},
		{name: "formula-like text stays text", sheet: "双公示", ref: "C2", shown: `=HYPERLINK("http://x")`},
		{name: "yuan", sheet: "双公示", ref: "D2", shown: "500.00", raw: "500", numFmt: 2, wantNumeric: true},
		{name: "yuan fraction", sheet: "双公示", ref: "D4", shown: "1234.56", raw: "1234.56", numFmt: 2, wantNumeric: true},
		{name: "date", sheet: "双公示", ref: "E2", shown: "2020-06-01", raw: "43983", customFmt: "yyyy-mm-dd", wantNumeric: true},
		{name: "zero date empty", sheet: "双公示", ref: "E3", shown: ""},
		{name: "int", sheet: "双公示", ref: "F2", shown: "1", wantNumeric: true},
		{name: "float", sheet: "双公示", ref: "G2", shown: "0.25", wantNumeric: true},
		{name: "nil empty", sheet: "双公示", ref: "G3", shown: ""},
		{name: "second sheet header", sheet: "年度汇总", ref: "B1", shown: "罚款（元）", bold: true},
		{name: "second sheet int", sheet: "年度汇总", ref: "A2", shown: "2020", wantNumeric: true},
		{name: "second sheet yuan", sheet: "年度汇总", ref: "B2", shown: "15000.00", raw: "15000", numFmt: 2, wantNumeric: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown, raw, st := cell(tc.sheet, tc.ref)
			if shown != tc.shown {
				t.Errorf("shown %q, want %q", shown, tc.shown)
			}
			wantRaw := tc.raw
			if wantRaw == "" {
				wantRaw = tc.shown
			}
			if raw != wantRaw {
				t.Errorf("raw value %q, want %q", raw, wantRaw)
			}
			if tc.wantNumeric {
				if _, err := strconv.ParseFloat(raw, 64); err != nil {
					t.Errorf("raw value %q is not a number", raw)
				}
				typ, err := f.GetCellType(tc.sheet, tc.ref)
				if err != nil || typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
					t.Errorf("cell type %v (%v), want a number", typ, err)
				}
			}
			if bold := st.Font != nil && st.Font.Bold; bold != tc.bold {
				t.Errorf("bold %t, want %t", bold, tc.bold)
			}
			if tc.numFmt != 0 && st.NumFmt != tc.numFmt {
				t.Errorf("number format %d, want %d (0.00)", st.NumFmt, tc.numFmt)
			}
			if tc.customFmt != "" && (st.CustomNumFmt == nil || *st.CustomNumFmt != tc.customFmt) {
				t.Errorf("custom number format %v, want %q", st.CustomNumFmt, tc.customFmt)
			}
		})
	}

	// The date column holds 10 characters, the party column a 7-character
	// Chinese title (14 cells wide).
	for _, tc := range []struct {
		name     string
		col      string
		min, max float64
	}{
		{"date column", "E", 10, 20},
		{"Chinese title column", "B", 14, 24},
		{"number column at least the minimum", "G", 8, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := f.GetColWidth("双公示", tc.col)
			if err != nil || w < tc.min || w > tc.max {
				t.Errorf("width %v (%v), want within [%v, %v]", w, err, tc.min, tc.max)
			}
		})
	}
}

func TestDateAtShanghaiMidnight(t *testing.T) {
	// 2020-06-01 00:00 Shanghai is 2020-05-31 16:00 UTC.
	at := time.Date(2020, 6, 1, 0, 0, 0, 0, enforcement.Shanghai)
	tab := export.Table{Name: "d", Columns: []export.Column{{Key: "d", Title: "日期"}}, Rows: [][]any{{export.Date(at.UTC())}}}
	var buf bytes.Buffer
	if err := export.WriteXLSX(&buf, tab); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("d", "A2"); v != "2020-06-01" {
		t.Errorf("got %q, want 2020-06-01", v)
	}
}

func TestErrors(t *testing.T) {
	cols := []export.Column{{Key: "a", Title: "甲"}, {Key: "b", Title: "乙"}}
	table := func(name string, rows ...[]any) export.Table {
		return export.Table{Name: name, Columns: cols, Rows: rows}
	}
	type cellWant struct {
		row, col int
		key      string
	}
	for _, tc := range []struct {
		name      string
		tables    []export.Table
		csvToo    bool
		cell      *cellWant
		sheetName bool
		contains  string
	}{
		{name: "bool cell", tables: []export.Table{table("s", []any{"x", 1}, []any{"y", true})}, csvToo: true,
			cell: &cellWant{1, 1, "b"}, contains: "bool"},
		{name: "time.Time cell", tables: []export.Table{table("s", []any{time.Now(), 1})}, csvToo: true,
			cell: &cellWant{0, 0, "a"}, contains: "time.Time"},
		{name: "int32 cell", tables: []export.Table{table("s", []any{"x", int32(1)})}, csvToo: true,
			cell: &cellWant{0, 1, "b"}, contains: "int32"},
		{name: "NaN", tables: []export.Table{table("s", []any{"x", math.NaN()})}, csvToo: true,
			cell: &cellWant{0, 1, "b"}, contains: "NaN"},
		{name: "short row", tables: []export.Table{table("s", []any{"x"})}, csvToo: true,
			cell: &cellWant{0, -1, ""}, contains: "1 cells for 2 columns"},
		{name: "no columns", tables: []export.Table{{Name: "s"}}, csvToo: true, contains: "no columns"},
		{name: "too long text", tables: []export.Table{table("s", []any{strings.Repeat("水", export.MaxCellLength+1), 1})},
			cell: &cellWant{0, 0, "a"}, contains: "longer"},
		{name: "no tables", contains: "no tables"},
		{name: "empty sheet name", tables: []export.Table{table("")}, sheetName: true, contains: "empty"},
		{name: "sheet name too long", tables: []export.Table{table(strings.Repeat("密", 32))}, sheetName: true, contains: "longer than 31"},
		{name: "sheet name with slash", tables: []export.Table{table("2020/06")}, sheetName: true, contains: "[]:*?/\\"},
		{name: "sheet name with bracket", tables: []export.Table{table("[x]")}, sheetName: true, contains: "[]:*?/\\"},
		{name: "sheet name with colon", tables: []export.Table{table("a:b")}, sheetName: true, contains: "[]:*?/\\"},
		{name: "sheet name with star", tables: []export.Table{table("a*")}, sheetName: true, contains: "[]:*?/\\"},
		{name: "sheet name with question mark", tables: []export.Table{table("a?")}, sheetName: true, contains: "[]:*?/\\"},
		{name: "sheet name with backslash", tables: []export.Table{table(`a\b`)}, sheetName: true, contains: "[]:*?/\\"},
		{name: "sheet name quoted", tables: []export.Table{table("'a'")}, sheetName: true, contains: "single quote"},
		{name: "duplicate sheet names", tables: []export.Table{table("汇总"), table("汇总")}, sheetName: true, contains: "tables 0 and 1"},
		{name: "duplicate ignoring case", tables: []export.Table{table("Totals"), table("TOTALS")}, sheetName: true, contains: "same name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := export.WriteXLSX(&buf, tc.tables...)
			if err == nil {
				t.Fatal("WriteXLSX: no error")
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written before the error", buf.Len())
			}
			errs := []error{err}
			if tc.csvToo {
				var cbuf bytes.Buffer
				cerr := export.WriteCSV(&cbuf, tc.tables[0])
				if cerr == nil {
					t.Fatal("WriteCSV: no error")
				}
				if cbuf.Len() != 0 {
					t.Errorf("WriteCSV wrote %d bytes before the error", cbuf.Len())
				}
				errs = append(errs, cerr)
			}
			for _, err := range errs {
				if !strings.Contains(err.Error(), tc.contains) {
					t.Errorf("error %q does not say %q", err, tc.contains)
				}
				if got := errors.Is(err, export.ErrSheetName); got != tc.sheetName {
					t.Errorf("errors.Is(%v, ErrSheetName) = %t, want %t", err, got, tc.sheetName)
				}
				var ce *export.CellError
				if tc.cell == nil {
					if errors.As(err, &ce) {
						t.Errorf("unexpected CellError %v", ce)
					}
					continue
				}
				if !errors.As(err, &ce) {
					t.Fatalf("error %v is not a *CellError", err)
				}
				if ce.Table != "s" || ce.Row != tc.cell.row || ce.Column != tc.cell.col || ce.Key != tc.cell.key {
					t.Errorf("CellError %+v, want table s rows[%d] column %d %q", ce, tc.cell.row, tc.cell.col, tc.cell.key)
				}
				if want := "rows[" + strconv.Itoa(tc.cell.row) + "]"; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
				if tc.cell.key != "" && !strings.Contains(err.Error(), strconv.Quote(tc.cell.key)) {
					t.Errorf("error %q does not name column %q", err, tc.cell.key)
				}
			}
		})
	}
}

func TestSheetNameOf31Chinese(t *testing.T) {
	name := strings.Repeat("密", 31)
	tab := export.Table{Name: name, Columns: []export.Column{{Key: "a", Title: "甲"}}}
	var buf bytes.Buffer
	if err := export.WriteXLSX(&buf, tab); err != nil {
		t.Fatalf("31 Chinese characters refused: %v", err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 1 || got[0] != name {
		t.Errorf("sheets %q, want [%s]", got, name)
	}
}
