package cases_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/cases"
)

// The shipped (illustrative) catalogue's basis for fishing_first_zone.
const fishingBasis = "《北京市密云水库保护条例》第二十条（示意）；《北京市密云水库保护条例》第四十条（示意，罚则）"

var authority = cases.Authority{Name: "北京市密云区水务局", CreditCode: "11110228MB0000000X"}

// decidedCase is a case decided on 2020-06-25 with a 500 yuan fine and no
// band snapshot.
func decidedCase() cases.Case {
	return cases.Case{
		ID: "c-1", CaseNo: "密保罚〔2020〕第0001号", Unit: "一中队", Violation: "fishing_first_zone",
		Party: cases.Party{Name: "张某", IDNumber: "110228199001011234"}, Facts: "在一级保护区内垂钓",
		State: cases.StateDecided, FiledAt: sh(2020, 6, 1, 9, 0), DecidedAt: sh(2020, 6, 25, 10, 0),
		DecidedFineFen: 50000,
	}
}

// day is midnight of a date in Asia/Shanghai.
func day(y int, m time.Month, d int) time.Time { return sh(y, m, d, 0, 0) }

func TestPenaltyRecordOf(t *testing.T) {
	cat := loadShipped(t)
	rules := cases.DefaultPublicityRules()
	type want struct {
		published    bool
		caseName     string
		partyID      string
		violation    string
		basis        string
		penaltyType  string
		content      string
		fine, conf   int64
		publishUntil time.Time
	}
	fine := want{published: true, caseName: "张某在一级保护区内垂钓案", partyID: "110228********1234",
		violation: "在一级保护区内垂钓", basis: fishingBasis, penaltyType: "罚款", content: "罚款人民币500.00元",
		fine: 50000, publishUntil: day(2021, 6, 25)}
	for _, tc := range []struct {
		name  string
		edit  func(*cases.Case)
		cat   *cases.Catalogue
		rules cases.PublicityRules
		want  want
	}{
		{name: "fine", cat: &cat, rules: rules, want: fine},
		{name: "warning", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.DecidedFineFen = 0 },
			want: func() want {
				w := fine
				w.penaltyType, w.content, w.fine, w.publishUntil = "警告", "警告", 0, day(2020, 9, 25)
				return w
			}()},
		{name: "fine and confiscation", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.ConfiscationFen = 120000 },
			want: func() want {
				w := fine
				w.penaltyType, w.content, w.conf = "罚款；没收非法财物", "罚款人民币500.00元；没收非法财物价值1200.00元", 120000
				return w
			}()},
		{name: "confiscation only", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.DecidedFineFen, c.ConfiscationFen = 0, 5 },
			want: func() want {
				w := fine
				w.penaltyType, w.content, w.fine, w.conf = "没收非法财物", "没收非法财物价值0.05元", 0, 5
				return w
			}()},
		{name: "revoked decision", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.State = cases.StateWithdrawn }},
		{name: "undecided", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.State, c.DecidedAt, c.DecidedFineFen = cases.StateNoticeServed, time.Time{}, 0 }},
		{name: "later states stay published", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.State = cases.StateClosed }, want: fine},
		{name: "basis from the band snapshot", cat: &cat, rules: rules,
			edit: func(c *cases.Case) {
				c.Band = &cases.BandCheck{Violation: c.Violation, Basis: []cases.Provision{
					{Law: "中华人民共和国水法", Version: "2016年修正", Article: "第三十三条"},
					{Law: "中华人民共和国水污染防治法", Version: "2017年修正", Article: "第八十五条"},
				}}
			},
			want: func() want {
				w := fine
				w.basis = "《中华人民共和国水法》第三十三条；《中华人民共和国水污染防治法》第八十五条"
				return w
			}()},
		{name: "empty band snapshot falls back to the catalogue", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.Band = &cases.BandCheck{Violation: c.Violation} }, want: fine},
		{name: "no catalogue", cat: nil, rules: rules,
			want: func() want {
				w := fine
				w.violation, w.caseName, w.basis = "fishing_first_zone", "张某fishing_first_zone案", ""
				return w
			}()},
		{name: "violation not in the catalogue", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.Violation = "oil_spill" },
			want: func() want {
				w := fine
				w.violation, w.caseName, w.basis = "oil_spill", "张某oil_spill案", ""
				return w
			}()},
		{name: "15-digit ID masked", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.Party.IDNumber = "110228900101123" },
			want: func() want { w := fine; w.partyID = "110228******123"; return w }()},
		{name: "no ID", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.Party.IDNumber = "" },
			want: func() want { w := fine; w.partyID = ""; return w }()},
		{name: "custom warning months", cat: &cat, rules: cases.PublicityRules{WarningMonths: 6, PenaltyMonths: 36},
			edit: func(c *cases.Case) { c.DecidedFineFen = 0 },
			want: func() want {
				w := fine
				w.penaltyType, w.content, w.fine, w.publishUntil = "警告", "警告", 0, day(2020, 12, 25)
				return w
			}()},
		{name: "custom penalty months", cat: &cat, rules: cases.PublicityRules{WarningMonths: 6, PenaltyMonths: 36},
			want: func() want { w := fine; w.publishUntil = day(2023, 6, 25); return w }()},
		{name: "zero rules are the defaults", cat: &cat, rules: cases.PublicityRules{}, want: fine},
		{name: "month end clamps", cat: &cat, rules: rules,
			edit: func(c *cases.Case) { c.DecidedFineFen, c.DecidedAt = 0, sh(2020, 11, 30, 15, 0) },
			want: func() want {
				w := fine
				w.penaltyType, w.content, w.fine, w.publishUntil = "警告", "警告", 0, day(2021, 2, 28)
				return w
			}()},
		{name: "Shanghai date of a UTC instant", cat: &cat, rules: rules,
			// 2020-05-31 17:00 UTC is 2020-06-01 01:00 in Shanghai.
			edit: func(c *cases.Case) { c.DecidedAt = time.Date(2020, 5, 31, 17, 0, 0, 0, time.UTC) },
			want: func() want { w := fine; w.publishUntil = day(2021, 6, 1); return w }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := decidedCase()
			if tc.edit != nil {
				tc.edit(&c)
			}
			if got := cases.Published(c); got != tc.want.published {
				t.Errorf("Published = %t, want %t", got, tc.want.published)
			}
			p, ok := cases.PenaltyRecordOf(c, tc.cat, authority, tc.rules)
			if ok != tc.want.published {
				t.Fatalf("PenaltyRecordOf ok = %t, want %t", ok, tc.want.published)
			}
			if !ok {
				if p != (cases.PenaltyRecord{}) {
					t.Errorf("unpublished case gave a record %+v", p)
				}
				return
			}
			w := tc.want
			for _, f := range []struct{ field, got, want string }{
				{"DecisionNo", p.DecisionNo, c.CaseNo},
				{"CaseName", p.CaseName, w.caseName},
				{"PartyName", p.PartyName, c.Party.Name},
				{"PartyID", p.PartyID, w.partyID},
				{"Violation", p.Violation, w.violation},
				{"Facts", p.Facts, c.Facts},
				{"Basis", p.Basis, w.basis},
				{"PenaltyType", p.PenaltyType, w.penaltyType},
				{"Content", p.Content, w.content},
				{"Authority", p.Authority, authority.Name},
				{"AuthorityCode", p.AuthorityCode, authority.CreditCode},
				{"Unit", p.Unit, c.Unit},
			} {
				if f.got != f.want {
					t.Errorf("%s = %q, want %q", f.field, f.got, f.want)
				}
			}
			if p.FineFen != w.fine || p.ConfiscationFen != w.conf {
				t.Errorf("amounts %d/%d fen, want %d/%d", p.FineFen, p.ConfiscationFen, w.fine, w.conf)
			}
			if !p.DecidedAt.Equal(c.DecidedAt) {
				t.Errorf("DecidedAt %v, want %v", p.DecidedAt, c.DecidedAt)
			}
			if !p.PublishUntil.Equal(w.publishUntil) {
				t.Errorf("PublishUntil %v, want %v", p.PublishUntil, w.publishUntil)
			}
		})
	}
}

func TestPublishedThroughTheProcedure(t *testing.T) {
	for _, tc := range []struct {
		state cases.State
		want  bool
	}{
		{cases.StateFiled, false},
		{cases.StateNoticeServed, false},
		{cases.StateDecided, true},
		{cases.StateServed, true},
		{cases.StateClosed, true},
		{cases.StateWithdrawn, false},
		{cases.StateTransferred, false},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			if got := cases.Published(caseIn(t, tc.state)); got != tc.want {
				t.Errorf("Published = %t, want %t", got, tc.want)
			}
		})
	}
}

// period builds cases decided at different times for the ordering and
// period tests: ties on the decision instant are ordered by case number.
func period(t *testing.T) []cases.Case {
	t.Helper()
	mk := func(no string, at time.Time, edit func(*cases.Case)) cases.Case {
		c := decidedCase()
		c.ID, c.CaseNo, c.DecidedAt = no, "密保罚〔2020〕第"+no+"号", at
		if edit != nil {
			edit(&c)
		}
		return c
	}
	return []cases.Case{
		mk("0005", sh(2020, 7, 1, 9, 0), nil),
		mk("0003", sh(2020, 6, 30, 23, 0), nil),
		mk("0002", sh(2020, 6, 1, 0, 0), nil),
		mk("0001", sh(2020, 6, 1, 0, 0), nil),
		mk("0004", sh(2020, 6, 15, 9, 0), func(c *cases.Case) { c.State = cases.StateWithdrawn }),
		mk("0006", time.Time{}, func(c *cases.Case) { c.State = cases.StateInvestigating }),
		mk("0000", sh(2020, 5, 31, 23, 59), nil),
	}
}

func TestPenaltyRecordsOrderAndPeriod(t *testing.T) {
	cat := loadShipped(t)
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"unbounded", time.Time{}, time.Time{}, []string{"0000", "0001", "0002", "0003", "0005"}},
		{"June", day(2020, 6, 1), day(2020, 7, 1), []string{"0001", "0002", "0003"}},
		{"from only", day(2020, 6, 2), time.Time{}, []string{"0003", "0005"}},
		{"to only", time.Time{}, day(2020, 6, 1), []string{"0000"}},
		{"empty period", day(2020, 8, 1), day(2020, 9, 1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, p := range cases.PenaltyRecords(period(t), &cat, authority, cases.DefaultPublicityRules(), tc.from, tc.to) {
				got = append(got, p.DecisionNo[len("密保罚〔2020〕第"):len(p.DecisionNo)-len("号")])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			var items []string
			for _, it := range cases.InformationList(period(t), &cat, tc.from, tc.to) {
				items = append(items, it.CaseNo[len("密保罚〔2020〕第"):len(it.CaseNo)-len("号")])
			}
			if !slices.Equal(items, tc.want) {
				t.Errorf("InformationList gave %q, want %q", items, tc.want)
			}
		})
	}
}

func TestPenaltyCells(t *testing.T) {
	c := decidedCase()
	c.ConfiscationFen = 120000
	p, ok := cases.PenaltyRecordOf(c, nil, authority, cases.DefaultPublicityRules())
	if !ok {
		t.Fatal("not published")
	}
	cells := p.Cells()
	if len(cells) != len(cases.PenaltyColumns) {
		t.Fatalf("%d cells for %d columns", len(cells), len(cases.PenaltyColumns))
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var asJSON map[string]any
	if err := json.Unmarshal(data, &asJSON); err != nil {
		t.Fatal(err)
	}
	if len(asJSON) != len(cases.PenaltyColumns) {
		t.Errorf("the record has %d JSON fields for %d columns", len(asJSON), len(cases.PenaltyColumns))
	}
	for i, col := range cases.PenaltyColumns {
		t.Run(col[0], func(t *testing.T) {
			if col[1] == "" {
				t.Error("no title")
			}
			j, ok := asJSON[col[0]]
			if !ok {
				t.Fatalf("no JSON field %q", col[0])
			}
			switch v := cells[i].(type) {
			case string:
				if j != v {
					t.Errorf("cell %q, JSON %v", v, j)
				}
			case int64:
				if j != float64(v) {
					t.Errorf("cell %d, JSON %v", v, j)
				}
			case time.Time:
				if j != v.Format(time.RFC3339Nano) {
					t.Errorf("cell %v, JSON %v", v, j)
				}
			default:
				t.Errorf("cell of type %T", v)
			}
		})
	}
	if cells[0] != c.CaseNo || cells[3] != "110228********1234" || cells[9] != int64(50000) || cells[10] != int64(120000) {
		t.Errorf("cells %v", cells)
	}
}

func TestInformationList(t *testing.T) {
	cat := loadShipped(t)
	driven := caseIn(t, cases.StateServed) // decided by u-admin on 2020-06-25
	reviewed := decidedCase()
	reviewed.ID, reviewed.CaseNo, reviewed.DecidedAt = "c-2", "密保罚〔2020〕第0002号", sh(2020, 7, 2, 9, 0)
	reviewed.Major, reviewed.Review = true, &cases.LegalReview{Reviewer: "李法制", Opinion: "同意", Date: sh(2020, 7, 1, 9, 0)}
	reviewed.DecidedFineFen = 0
	revoked := decidedCase()
	revoked.State = cases.StateWithdrawn

	got := cases.InformationList([]cases.Case{reviewed, revoked, driven}, &cat, time.Time{}, time.Time{})
	want := []cases.InformationItem{
		{CaseNo: driven.CaseNo, Violation: "在一级保护区内垂钓", Unit: "", DecidedBy: admin.ID, DecidedAt: driven.DecidedAt,
			Basis: fishingBasis, PenaltyType: "罚款", Content: "罚款人民币15000.00元"},
		{CaseNo: reviewed.CaseNo, Violation: "在一级保护区内垂钓", Unit: "一中队", DecidedBy: "", DecidedAt: reviewed.DecidedAt,
			Basis: fishingBasis, PenaltyType: "警告", Content: "警告", Major: true, Reviewed: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d items %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		t.Run(want[i].CaseNo, func(t *testing.T) {
			g, w := got[i], want[i]
			if !g.DecidedAt.Equal(w.DecidedAt) {
				t.Errorf("DecidedAt %v, want %v", g.DecidedAt, w.DecidedAt)
			}
			g.DecidedAt, w.DecidedAt = time.Time{}, time.Time{}
			if g != w {
				t.Errorf("got  %+v\nwant %+v", g, w)
			}
		})
	}
}
