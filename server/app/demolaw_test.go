package app_test

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/custody"
	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/enforcement"
)

// TestDemoYearCases starts the server with the demo year and checks that
// its cases, custody, campaign and publicity agree with the 2020 figures:
// 381 cases filed, 476,600 yuan of fines decided in 2020 (some cases still
// open at year end, four transferred), 2,105 items worth 599,390 yuan in
// custody, and the double publicity list of every decision in force; then
// it restarts the server and checks that nothing was loaded twice.
func TestDemoYearCases(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir, "-demo", "1")
	a := start(t, cfg)
	check := func(t *testing.T, base string) {
		office := newClient(t, base).login("office", demo.Password)
		var totals struct{ Totals enforcement.Totals }
		post(t, office, "GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, 200, &totals)
		if totals.Totals.CasesFiled != 381 || totals.Totals.FinesFen != 47_660_000 {
			t.Fatalf("2020 totals %+v", totals.Totals)
		}
		type caseRow struct {
			ID             string      `json:"id"`
			State          cases.State `json:"state"`
			DecidedFineFen int64       `json:"decided_fine_fen"`
		}
		// The year's figures as the district reports them, downloaded.
		want2020 := []string{"6683", "2543", "1782", "1986", "372", "5", "879", "2105", "599390", "381", "476600"}
		st, b, _ := office.raw("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01&format=xlsx", nil)
		if st != 200 {
			t.Fatalf("totals xlsx: %d", st)
		}
		wb, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if sheets := wb.GetSheetList(); !slices.Equal(sheets, []string{"合计", "按月", "按单位"}) {
			t.Errorf("sheets %v", sheets)
		}
		for i, want := range want2020 {
			cell, _ := excelize.CoordinatesToCellName(i+2, 2)
			v, err := wb.GetCellValue("合计", cell, excelize.Options{RawCellValue: true})
			if err != nil || v != want {
				t.Errorf("xlsx 合计 %s = %q, want %s (%v)", cell, v, want, err)
			}
		}
		if months, _ := wb.GetRows("按月"); len(months) != 13 {
			t.Errorf("按月 has %d rows, want a header and 12 months", len(months))
		}
		st, b, _ = office.raw("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01&format=csv", nil)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
		if st != 200 || err != nil || len(recs) < 2 {
			t.Fatalf("totals csv: %d %v", st, err)
		}
		for i, want := range want2020 {
			if i == 8 || i == 10 {
				want += ".00" // yuan
			}
			if recs[1][i+1] != want {
				t.Errorf("csv column %s = %q, want %s", recs[0][i+1], recs[1][i+1], want)
			}
		}

		var list struct{ Cases []caseRow }
		seen := map[string]bool{}
		for path := "/api/v1/cases?limit=100"; path != ""; {
			var page struct {
				Cases []caseRow `json:"cases"`
				Total int       `json:"total"`
				Next  string    `json:"next"`
			}
			post(t, office, "GET", path, nil, 200, &page)
			if page.Total != 381 || len(page.Cases) > 100 {
				t.Fatalf("a page of %d cases of %d", len(page.Cases), page.Total)
			}
			for _, c := range page.Cases {
				if seen[c.ID] {
					t.Fatalf("case %s on two pages", c.ID)
				}
				seen[c.ID] = true
			}
			list.Cases = append(list.Cases, page.Cases...)
			path = ""
			if page.Next != "" {
				path = "/api/v1/cases?limit=100&cursor=" + page.Next
			}
		}
		post(t, office, "GET", "/api/v1/cases?cursor=bogus", nil, 400, nil)
		var overdue struct {
			Overdue    []struct{ ID string } `json:"overdue"`
			Total      int                   `json:"total"`
			ByDeadline map[string]int        `json:"by_deadline"`
		}
		post(t, office, "GET", "/api/v1/cases/overdue?limit=5", nil, 200, &overdue)
		if overdue.Total != 9 || len(overdue.Overdue) != 5 || overdue.ByDeadline["decision"] != 9 {
			t.Errorf("the 9 cases open since 2020 are past their decision deadline: %+v", overdue)
		}
		states := map[cases.State]int{}
		var fines int64
		for _, c := range list.Cases {
			states[c.State]++
			if c.State == cases.StateClosed || c.State == cases.StatePaid {
				fines += c.DecidedFineFen
			}
		}
		if len(list.Cases) != 381 || fines != totals.Totals.FinesFen || states[cases.StateTransferred] != 4 ||
			states[cases.StateInvestigating]+states[cases.StateNoticeServed]+states[cases.StateLegalReview] != 9 {
			t.Errorf("%d cases, states %v, decided fines %d fen", len(list.Cases), states, fines)
		}

		var rec reconciliation
		post(t, office, "GET", "/api/v1/custody/reconciliation?from=2020-01-01&to=2021-01-01", nil, 200, &rec)
		if !rec.Reconciliation.Balanced || rec.Reconciliation.CustodyItems != 2105 || rec.Reconciliation.CustodyValueFen != 59_939_000 ||
			rec.Custody.ByState[custody.Stored].Items != 2105 {
			t.Errorf("custody %+v", rec)
		}

		var rep campaignReport
		post(t, office, "GET", "/api/v1/campaigns/"+demo.Campaign+"/report", nil, 200, &rep)
		var camp struct{ Totals enforcement.Totals }
		post(t, office, "GET", "/api/v1/reports/totals?from="+demo.CampaignFrom+"&to=2020-09-09&campaign="+demo.Campaign, nil, 200, &camp)
		if !reflect.DeepEqual(rep.Totals, camp.Totals) || rep.Totals.PersonsCleared == 0 || rep.Operations != 3 || rep.Cases.Filed == 0 {
			t.Errorf("campaign report %+v, totals of its records %+v", rep, camp.Totals)
		}
		var op operationAnswer
		post(t, office, "GET", "/api/v1/operations/demo-op-1", nil, 200, &op)
		if op.Agencies != 3 || op.Figures.Records == 0 {
			t.Errorf("operation %+v", op)
		}

		st, b, _ = office.raw("GET", "/api/v1/publicity/penalties?from=2020-01-01&to=2021-01-01&format=xlsx", nil)
		if st != 200 {
			t.Fatalf("xlsx: %d", st)
		}
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows(f.GetSheetList()[0])
		if err == nil && len(rows) > 1 && (rows[1][6] == "" || !strings.Contains(rows[1][len(rows[1])-1], "保水")) {
			t.Errorf("a publicity row without its basis or team name: %q", rows[1])
		}
		if err != nil || len(rows)-1 != states[cases.StateClosed]+states[cases.StatePaid] {
			t.Errorf("%d publicity rows for %d decisions (%v)", len(rows)-1, states[cases.StateClosed]+states[cases.StatePaid], err)
		}
	}
	t.Run("first start", func(t *testing.T) { check(t, a.URL()) })
	if err := a.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := start(t, cfg)
	t.Run("after a restart", func(t *testing.T) { check(t, b.URL()) })
}
