package cases_test

import (
	"slices"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/cases"
)

type due struct {
	name, date string
	days       int
}

func dues(items []cases.DueItem) []due {
	var out []due
	for _, d := range items {
		out = append(out, due{d.Name, d.DueDate, d.Days})
		y, m, dd := d.DueBy.In(time.FixedZone("CST", 8*3600)).Add(-time.Nanosecond).Date()
		if got := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Format(time.DateOnly); got != d.DueDate {
			panic("DueBy " + d.DueBy.String() + " is not the end of " + d.DueDate)
		}
	}
	return out
}

func TestDue(t *testing.T) {
	rules := testRules()
	atMidnightUTC := newCase(t)
	atMidnightUTC.FiledAt = time.Date(2020, 5, 31, 16, 30, 0, 0, time.UTC) // 2020-06-01 00:30 in Shanghai
	lowNotice := caseIn(t, cases.StateNoticeServed)
	lowNotice.ProposedFineFen = 999_999
	tests := []struct {
		name string
		c    cases.Case
		want []due
	}{
		// 2020-06-01 + 90 days: 29 left in June, 31 in July, 30 in August.
		{"filed", newCase(t), []due{{"decision", "2020-08-30", 90}}},
		{"filed just after midnight in Shanghai", atMidnightUTC, []due{{"decision", "2020-08-30", 90}}},
		{"investigating", caseIn(t, cases.StateInvestigating), []due{{"decision", "2020-08-30", 90}}},
		{"notice served, hearing possible", caseIn(t, cases.StateNoticeServed),
			[]due{{"defence", "2020-06-13", 3}, {"hearing_request", "2020-06-13", 3}, {"decision", "2020-08-30", 90}}},
		{"notice served below the hearing threshold", lowNotice,
			[]due{{"defence", "2020-06-13", 3}, {"decision", "2020-08-30", 90}}},
		{"in legal review", caseIn(t, cases.StateLegalReview), []due{{"decision", "2020-08-30", 90}}},
		{"decided on 2020-06-25", caseIn(t, cases.StateDecided), []due{{"service", "2020-07-02", 7}}},
		{"served", caseIn(t, cases.StateServed), nil},
		{"closed", caseIn(t, cases.StateClosed), nil},
		{"transferred", caseIn(t, cases.StateTransferred), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dues(cases.Due(tt.c, rules)); !slices.Equal(got, tt.want) {
				t.Errorf("Due = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDeadlineByEffectiveDate: the hearing request period went from 3 to 5
// days on 2021-07-15; the notice date decides which applies.
func TestDeadlineByEffectiveDate(t *testing.T) {
	rules := testRules()
	tests := []struct {
		name   string
		notice time.Time
		want   due
	}{
		{"the day before the change", sh(2021, 7, 14, 23, 59), due{"hearing_request", "2021-07-17", 3}},
		{"the instant of the change", sh(2021, 7, 15, 0, 0), due{"hearing_request", "2021-07-20", 5}},
		{"after the change", sh(2021, 9, 30, 15, 0), due{"hearing_request", "2021-10-05", 5}},
		{"years before", sh(2020, 12, 30, 8, 0), due{"hearing_request", "2021-01-02", 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := caseIn(t, cases.StateNoticeServed)
			c.NoticeAt = tt.notice
			var got []due
			for _, d := range dues(cases.Due(c, rules)) {
				if d.name == "hearing_request" {
					got = append(got, d)
				}
			}
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("hearing_request = %v, want %v", got, tt.want)
			}
		})
	}

	// The same rule applied by Transition: a request on 2021-07-18 is late
	// for a notice of 2021-07-14 and in time for one of 2021-07-15.
	for _, tc := range []struct {
		notice time.Time
		ok     bool
	}{{sh(2021, 7, 14, 10, 0), false}, {sh(2021, 7, 15, 10, 0), true}} {
		c := caseIn(t, cases.StateNoticeServed)
		c.NoticeAt = tc.notice
		c.Steps[len(c.Steps)-1].At = tc.notice
		_, err := cases.Transition(c, cases.Step{Action: "request_hearing", At: sh(2021, 7, 18, 9, 0)}, officer, rules, sh(2021, 8, 1, 0, 0))
		if (err == nil) != tc.ok {
			t.Errorf("notice %s: request on 2021-07-18: %v, want ok %v", tc.notice, err, tc.ok)
		}
	}
}

func TestOverdue(t *testing.T) {
	rules := testRules()
	tests := []struct {
		name string
		c    cases.Case
		now  time.Time
		want []due
	}{
		{"filed, last day of the decision period", newCase(t), sh(2020, 8, 30, 23, 59), nil},
		{"filed, the day after", newCase(t), sh(2020, 8, 31, 0, 0), []due{{"decision", "2020-08-30", 90}}},
		{"notice served, party periods lapsed, decision not due", caseIn(t, cases.StateNoticeServed), sh(2020, 7, 1, 0, 0), nil},
		{"notice served, decision overdue", caseIn(t, cases.StateNoticeServed), sh(2020, 9, 1, 0, 0), []due{{"decision", "2020-08-30", 90}}},
		{"decided, service in time", caseIn(t, cases.StateDecided), sh(2020, 7, 2, 23, 0), nil},
		{"decided, service overdue", caseIn(t, cases.StateDecided), sh(2020, 7, 3, 0, 0), []due{{"service", "2020-07-02", 7}}},
		{"closed is never overdue", caseIn(t, cases.StateClosed), sh(2030, 1, 1, 0, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dues(cases.Overdue(tt.c, rules, tt.now)); !slices.Equal(got, tt.want) {
				t.Errorf("Overdue = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLateStep(t *testing.T) {
	rules := testRules()
	c := caseIn(t, cases.StateDecided) // decided 2020-06-25, service due by end of 2020-07-02
	for _, tc := range []struct {
		at   time.Time
		late bool
	}{{sh(2020, 7, 2, 23, 0), false}, {sh(2020, 7, 3, 0, 0), true}} {
		step := path["serve_decision"]
		step.At = tc.at
		got, err := cases.Transition(c, step, officer, rules, now)
		if err != nil {
			t.Fatal(err)
		}
		if l := got.Steps[len(got.Steps)-1].Late; l != tc.late {
			t.Errorf("served at %s: late %v, want %v", tc.at, l, tc.late)
		}
	}
}

func TestRulesValidate(t *testing.T) {
	if err := cases.DefaultRules().Validate(); err != nil {
		t.Fatalf("DefaultRules: %v", err)
	}
	if err := testRules().Validate(); err != nil {
		t.Fatalf("testRules: %v", err)
	}
	bad := testRules()
	bad.Deadlines = append(bad.Deadlines,
		cases.DeadlineRule{Name: "appeal", Days: 60, EffectiveFrom: now},
		cases.DeadlineRule{Name: "service", Days: 0, WorkingDays: true, EffectiveFrom: sh(2000, 1, 1, 0, 0)})
	bad.Major = append(bad.Major, cases.MajorRules{FineAtLeastFen: -1})
	want := []string{"deadlines[5].name", "deadlines[6].days", "deadlines[6].effective_from", "deadlines[6].working_days",
		"major[1].effective_from", "major[1].fine_at_least_fen"}
	if got := fieldsOf(t, bad.Validate()); !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
	missing := cases.Rules{Deadlines: testRules().Deadlines[:2]}
	if got := fieldsOf(t, missing.Validate()); !slices.Equal(got, []string{"deadlines"}) {
		t.Errorf("fields = %v", got)
	}
}
