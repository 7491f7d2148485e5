package api

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/export"
)

// The formats of the publicity lists.
const (
	mimeCSV  = "text/csv; charset=utf-8"
	mimeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// publicityQuery reads from, to (optional) and format (json, csv, xlsx).
func publicityQuery(c *gin.Context) (from, to time.Time, format string, ok bool) {
	var fs fields
	from, to = optionalPeriod(c, &fs)
	format = c.DefaultQuery("format", "json")
	switch format {
	case "json", "csv", "xlsx":
	default:
		fs.bad("format", "must be json, csv or xlsx")
	}
	return from, to, format, !fs.answer(c)
}

// publicityPenalties is the "double publicity" (双公示) list of the penalty
// decisions in the period: published decisions only, so a revoked one is
// withdrawn from it.
func (s *server) publicityPenalties(c *gin.Context) {
	from, to, format, ok := publicityQuery(c)
	if !ok {
		return
	}
	rows := cases.PenaltyRecords(s.Cases.All(s.unitVisible(principal(c))), s.Cases.Rules().Catalogue, s.Authority,
		cases.DefaultPublicityRules(), from, to)
	for i := range rows {
		rows[i].Unit = s.unitName(rows[i].Unit)
	}
	if format == "json" {
		c.JSON(http.StatusOK, gin.H{"authority": s.Authority, "penalties": rows})
		return
	}
	t := export.Table{Name: "行政处罚", Columns: columns(cases.PenaltyColumns)}
	for _, r := range rows {
		t.Rows = append(t.Rows, cells(r.Cells()))
	}
	s.sendTable(c, format, "shuanggongshi-penalties", t)
}

// informationColumns are the columns of the enforcement information list.
var informationColumns = [][2]string{
	{"case_no", "案件编号"}, {"violation", "违法行为"}, {"unit", "承办单位"}, {"decided_by", "决定人"},
	{"decided_at", "决定日期"}, {"basis", "执法依据"}, {"penalty_type", "处罚类别"}, {"content", "处罚内容"},
	{"major", "重大执法决定"}, {"reviewed", "法制审核"},
}

// publicityInformation is the enforcement information list (执法信息公示):
// what was decided, by whom, when and on which basis.
func (s *server) publicityInformation(c *gin.Context) {
	from, to, format, ok := publicityQuery(c)
	if !ok {
		return
	}
	items := cases.InformationList(s.Cases.All(s.unitVisible(principal(c))), s.Cases.Rules().Catalogue, from, to)
	for i := range items {
		items[i].Unit = s.unitName(items[i].Unit)
	}
	if format == "json" {
		c.JSON(http.StatusOK, gin.H{"information": items})
		return
	}
	yes := func(b bool) string {
		if b {
			return "是"
		}
		return "否"
	}
	t := export.Table{Name: "执法信息公示", Columns: columns(informationColumns)}
	for _, it := range items {
		t.Rows = append(t.Rows, []any{it.CaseNo, it.Violation, it.Unit, it.DecidedBy, export.Date(it.DecidedAt), it.Basis,
			it.PenaltyType, it.Content, yes(it.Major), yes(it.Reviewed)})
	}
	s.sendTable(c, format, "enforcement-information", t)
}

// unitName is the name of a team as the public lists show it (its id when
// the team is unknown).
func (s *server) unitName(id string) string {
	if u, ok := s.Accounts.Units.Get(id); ok && u.Name != "" {
		return u.Name
	}
	return id
}

func columns(cs [][2]string) []export.Column {
	out := make([]export.Column, len(cs))
	for i, col := range cs {
		out[i] = export.Column{Key: col[0], Title: col[1]}
	}
	return out
}

// cells converts plain values to export cells: an int64 is an amount in fen
// and a time.Time a date.
func cells(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		switch v := v.(type) {
		case int64:
			out[i] = export.Yuan(v)
		case time.Time:
			out[i] = export.Date(v)
		default:
			out[i] = v
		}
	}
	return out
}

// sendTable answers t as a CSV or XLSX download named name.
func (s *server) sendTable(c *gin.Context, format, name string, t export.Table) {
	if format == "xlsx" {
		s.sendTables(c, name, t)
		return
	}
	var buf bytes.Buffer
	if err := export.WriteCSV(&buf, t); err != nil {
		fail(c, fmt.Errorf("export %s: %w", name, err))
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	c.Data(http.StatusOK, mimeCSV, buf.Bytes())
}

// sendTables answers ts as one Excel workbook named name, a sheet each.
func (s *server) sendTables(c *gin.Context, name string, ts ...export.Table) {
	var buf bytes.Buffer
	if err := export.WriteXLSX(&buf, ts...); err != nil {
		fail(c, fmt.Errorf("export %s: %w", name, err))
		return
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.xlsx"`, name))
	c.Data(http.StatusOK, mimeXLSX, buf.Bytes())
}
