package api

import (
	"sort"

	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/export"
	"github.com/baoshui/baoshui/server/records"
)

// totalsColumns are the figures as the district reports them, in its order.
var totalsColumns = []export.Column{
	{Key: "group", Title: "统计范围"},
	{Key: "persons_cleared", Title: "清退人员（人）"},
	{Key: "fishing", Title: "其中钓鱼"},
	{Key: "swimming", Title: "其中游泳"},
	{Key: "visiting", Title: "其中游人"},
	{Key: "other", Title: "其中其他"},
	{Key: "grazing_stopped", Title: "制止放牧（起）"},
	{Key: "vehicles_cleared", Title: "清出车辆（辆）"},
	{Key: "items_confiscated", Title: "罚没物品（件）"},
	{Key: "confiscated_value", Title: "罚没物品价值（元）"},
	{Key: "cases_filed", Title: "立案（起）"},
	{Key: "fines", Title: "罚款（元）"},
}

func totalsRow(group string, t enforcement.Totals) []any {
	return []any{group, t.PersonsCleared, t.ByActivity[enforcement.ActivityFishing], t.ByActivity[enforcement.ActivitySwimming],
		t.ByActivity[enforcement.ActivityVisiting], t.ByActivity[enforcement.ActivityOther], t.GrazingStopped, t.VehiclesCleared,
		t.ItemsConfiscated, export.Yuan(t.ConfiscatedValueFen), t.CasesFiled, export.Yuan(t.FinesFen)}
}

// totalsTable is a sheet of a totals report: the whole period ("合计"),
// the months ("按月") or the teams ("按单位", by name). With all, the one
// table holds the total, then the months, then the teams (the CSV).
func (s *server) totalsTable(sheet string, rep records.TotalsReport, all bool) export.Table {
	t := export.Table{Name: sheet, Columns: totalsColumns}
	total := "合计 " + rep.From + " 至 " + rep.To + "（不含）"
	if sheet == "合计" {
		t.Rows = append(t.Rows, totalsRow(total, rep.Totals))
	}
	if sheet == "按月" || all {
		months := make([]string, 0, len(rep.ByMonth))
		for m := range rep.ByMonth {
			months = append(months, m)
		}
		sort.Strings(months)
		for _, m := range months {
			t.Rows = append(t.Rows, totalsRow(m, rep.ByMonth[m]))
		}
	}
	if sheet == "按单位" || all {
		units := make([]string, 0, len(rep.ByUnit))
		for u := range rep.ByUnit {
			units = append(units, u)
		}
		sort.Strings(units)
		for _, u := range units {
			t.Rows = append(t.Rows, totalsRow(s.unitName(u), rep.ByUnit[u]))
		}
	}
	return t
}
