package demo

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

// caseRecords are the case records of y in the order of case numbers.
func caseRecords(y Year) []enforcement.Record {
	var out []enforcement.Record
	for _, r := range y.Records {
		if r.Kind == enforcement.KindCase {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b enforcement.Record) int { return strings.Compare(a.CaseNo, b.CaseNo) })
	return out
}

// violationOf is the violation type of a case record, by its text.
func violationOf(t *testing.T, text string) violation {
	t.Helper()
	for _, v := range append(slices.Clip(violations), grazingViolation) {
		if v.text == text {
			return v
		}
	}
	t.Fatalf("unknown violation %q", text)
	return violation{}
}

func TestYearEndCases(t *testing.T) {
	recs := caseRecords(year())
	december := time.Date(2020, 12, 1, 0, 0, 0, 0, enforcement.Shanghai)
	var open, transferred []enforcement.Record
	for _, r := range recs {
		switch r.Status {
		case "investigating", "notice_served", "legal_review":
			open = append(open, r)
		case "transferred":
			transferred = append(transferred, r)
		}
	}

	t.Run("open", func(t *testing.T) {
		if len(open) != numOpen {
			t.Fatalf("%d cases open at the end of the year, want %d", len(open), numOpen)
		}
		for k, r := range open {
			if want := openStatuses[k%len(openStatuses)]; r.Status != want {
				t.Errorf("%s: status %q, want %q (in turn, in the order of filing)", r.CaseNo, r.Status, want)
			}
			if r.FiledAt.Before(openFrom) {
				t.Errorf("%s (%s) filed %s, before %s", r.CaseNo, r.Status, r.FiledAt, openFrom)
			}
		}
		// They are the last-filed cases that are not warnings.
		var last []string
		for i := len(recs) - 1; i >= 0 && len(last) < numOpen; i-- {
			if recs[i].DecidedAt == nil || recs[i].FineFen != 0 { // not a warning
				last = append(last, recs[i].CaseNo)
			}
		}
		slices.Reverse(last)
		var got []string
		for _, r := range open {
			got = append(got, r.CaseNo)
		}
		if !slices.Equal(got, last) {
			t.Errorf("open cases %v, want the last-filed %v", got, last)
		}
	})

	t.Run("transferred", func(t *testing.T) {
		if len(transferred) != numTransferred {
			t.Fatalf("%d cases transferred, want %d", len(transferred), numTransferred)
		}
		for _, r := range transferred {
			if !r.FiledAt.Before(december) {
				t.Errorf("%s filed %s, not before December", r.CaseNo, r.FiledAt)
			}
			if r.Violation != "使用电鱼器具在水库内捕捞" {
				t.Errorf("%s: violation %q, want electrofishing", r.CaseNo, r.Violation)
			}
		}
	})

	t.Run("decided fines", func(t *testing.T) {
		var sum int64
		decided, warnings := 0, 0
		for _, r := range recs {
			if r.DecidedAt == nil {
				if r.FineFen != 0 {
					t.Errorf("%s (%s): a fine of %d fen without a decision", r.CaseNo, r.Status, r.FineFen)
				}
				continue
			}
			decided++
			sum += r.FineFen
			if r.FineFen == 0 {
				warnings++
				continue
			}
			v := violationOf(t, r.Violation)
			if yuan := r.FineFen / 100; r.FineFen%10000 != 0 || yuan < v.minYuan || yuan > v.maxYuan {
				t.Errorf("%s: fine %d fen outside %d–%d yuan or not whole hundreds", r.CaseNo, r.FineFen, v.minYuan, v.maxYuan)
			}
		}
		if sum != Reported2020.FinesFen {
			t.Errorf("Σ decided fines %d fen, want %d", sum, Reported2020.FinesFen)
		}
		if want := len(recs) - numOpen - numTransferred; decided != want {
			t.Errorf("%d decided cases, want %d", decided, want)
		}
		if warnings != 5 {
			t.Errorf("%d warnings, want 5", warnings)
		}
	})
}

// TestYearEndChangesOnlyCases checks that leaving cases open and
// transferring some draws nothing from the random source: without it the
// year is the same but for case records, and those differ only in status,
// fine and decision.
func TestYearEndChangesOnlyCases(t *testing.T) {
	with, without := year(), generate(Seed, false)
	if len(with.Records) != len(without.Records) {
		t.Fatalf("%d records, %d without yearEnd", len(with.Records), len(without.Records))
	}
	changed := 0
	for i := range with.Records {
		a, b := with.Records[i], without.Records[i]
		if a.Kind != enforcement.KindCase {
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("record %d (%s %s) differs", i, a.Kind, a.ID)
			}
			continue
		}
		if reflect.DeepEqual(a, b) {
			continue
		}
		changed++
		a.Status, a.FineFen, a.DecidedAt = b.Status, b.FineFen, b.DecidedAt
		if !reflect.DeepEqual(a, b) {
			t.Errorf("case %s differs in more than status, fine and decision", a.CaseNo)
		}
		if with.Records[i].DecidedAt != nil && (with.Records[i].Status != b.Status || !with.Records[i].DecidedAt.Equal(*b.DecidedAt)) {
			t.Errorf("decided case %s: status or decision changed", a.CaseNo)
		}
	}
	t.Logf("%d case records differ", changed)
}

// histories is CaseHistories(year(), DefaultRules(), now), made once.
var histories = sync.OnceValues(func() ([]cases.Case, error) {
	return CaseHistories(year(), cases.DefaultRules(), time.Now())
})

func TestCaseHistories(t *testing.T) {
	y := year()
	recs := caseRecords(y)
	hs, err := histories()
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != int(Reported2020.CasesFiled) || len(hs) != len(recs) {
		t.Fatalf("%d histories, want %d", len(hs), Reported2020.CasesFiled)
	}
	lead := map[string]cases.Actor{DistrictUnit: {ID: "office", Role: cases.RoleOffice}}
	for _, u := range y.Users {
		if u.Role == RoleSupervisor {
			lead[u.Unit] = cases.Actor{ID: u.Username, Role: cases.RoleSupervisor}
		}
	}
	names := []string{docFiling, docInquiry, docInspection, docNotice, docWaiver, docReviewFiling, docReview,
		docDecision, docService, docReceipt, docClosing, docTransfer}
	yearEnd := time.Date(2021, 1, 1, 0, 0, 0, 0, enforcement.Shanghai)

	var fines2020 int64
	ends := map[cases.State]int{}
	for i, c := range hs {
		r := recs[i]
		ends[c.State]++
		if want := fmt.Sprintf("密保罚〔2020〕第%04d号", i+1); c.CaseNo != want || c.ID != r.ID {
			t.Errorf("history %d: %s (%s), want %s (%s)", i, c.CaseNo, c.ID, want, r.ID)
		}
		if string(c.State) != r.Status {
			t.Errorf("%s ends in %s, its record says %s", c.CaseNo, c.State, r.Status)
		}
		if c.Unit != r.Unit || c.Campaign != r.Campaign || c.Violation != r.Violation || c.Party != (cases.Party{Name: r.Party}) ||
			c.Facts == "" || !c.FiledAt.Equal(*r.FiledAt) {
			t.Errorf("%s: filing does not match its record", c.CaseNo)
		}
		if r.DecidedAt != nil {
			if !c.DecidedAt.Equal(*r.DecidedAt) || c.DecidedFineFen != r.FineFen || c.ProposedFineFen != r.FineFen {
				t.Errorf("%s: decided %s, %d fen (proposed %d); record %s, %d fen",
					c.CaseNo, c.DecidedAt, c.DecidedFineFen, c.ProposedFineFen, r.DecidedAt, r.FineFen)
			}
			if c.DecidedAt.Before(yearEnd) {
				fines2020 += c.DecidedFineFen
			}
		} else if !c.DecidedAt.IsZero() || c.DecidedFineFen != 0 {
			t.Errorf("%s (%s) has a decision", c.CaseNo, c.State)
		}
		if c.Major && c.Review == nil {
			t.Errorf("%s: a major decision without a legal review", c.CaseNo)
		}
		switch c.State {
		case cases.StateTransferred:
			if c.Transfer == nil || c.Transfer.Organ != TransferOrgan || c.Circumstances.Circumstance != cases.Serious {
				t.Errorf("%s: transfer %+v, circumstances %s", c.CaseNo, c.Transfer, c.Circumstances)
			}
		case cases.StateNoticeServed, cases.StateLegalReview:
			if c.NoticeAt.Month() != time.December || c.NoticeAt.Year() != 2020 {
				t.Errorf("%s: notice served %s, not in December 2020", c.CaseNo, c.NoticeAt)
			}
		}
		if want := circumstanceOf(r.FineFen); r.DecidedAt != nil && c.Circumstances.Circumstance != want {
			t.Errorf("%s: circumstance %s for a fine of %d fen, want %s", c.CaseNo, c.Circumstances.Circumstance, r.FineFen, want)
		}

		for k, s := range c.Steps {
			switch {
			case k == 0 && (s.Action != cases.ActionFile || s.Actor != cases.Actor{ID: r.Officers[0], Role: cases.RoleOfficer}):
				t.Errorf("%s: first step %s by %v", c.CaseNo, s.Action, s.Actor)
			case s.Action == cases.ActionDecide || s.Action == cases.ActionClose || s.Action == cases.ActionTransfer:
				if s.Actor != lead[r.Unit] {
					t.Errorf("%s: %s by %v, want %v", c.CaseNo, s.Action, s.Actor, lead[r.Unit])
				}
			case s.Action == cases.ActionRecordReview:
				if s.Actor != (cases.Actor{ID: "office", Role: cases.RoleOffice}) {
					t.Errorf("%s: review recorded by %v", c.CaseNo, s.Actor)
				}
			}
			if k > 0 && s.At.Before(c.Steps[k-1].At) {
				t.Errorf("%s: step %d (%s) before the step before it", c.CaseNo, k, s.Action)
			}
			if !s.At.Before(yearEnd) || s.Late {
				t.Errorf("%s: step %s at %s (late %v)", c.CaseNo, s.Action, s.At, s.Late)
			}
			for _, d := range s.Documents {
				if !slices.ContainsFunc(names, func(n string) bool { return docHash(c.CaseNo, n) == d }) {
					t.Errorf("%s: step %s: document %s is not one of the case's", c.CaseNo, s.Action, d)
				}
			}
		}
	}
	if fines2020 != Reported2020.FinesFen {
		t.Errorf("Σ decided fines in 2020 = %d fen, want %d", fines2020, Reported2020.FinesFen)
	}
	want := map[cases.State]int{}
	for _, r := range recs {
		want[cases.State(r.Status)]++
	}
	if !reflect.DeepEqual(ends, want) {
		t.Errorf("histories end in %v, records say %v", ends, want)
	}
	t.Logf("histories end in %v", ends)
}

// TestCaseHistoriesPaths checks one case of each kind of path step by step.
func TestCaseHistoriesPaths(t *testing.T) {
	hs, err := histories()
	if err != nil {
		t.Fatal(err)
	}
	actions := func(c cases.Case) string {
		var a []string
		for _, s := range c.Steps {
			a = append(a, s.Action)
		}
		return strings.Join(a, " ")
	}
	waived := func(c cases.Case) bool {
		return slices.ContainsFunc(c.Steps, func(s cases.StepRecord) bool { return s.Fields[cases.FieldWaiver] == "true" })
	}
	const decided = "file start_investigation serve_notice decide serve_decision record_payment"
	tests := []struct {
		name    string
		match   func(c cases.Case) bool
		actions string
		docs    []string // of the last step
	}{
		{"closed after the party's periods", func(c cases.Case) bool { return c.State == cases.StateClosed && c.DecidedFineFen > 0 && !waived(c) },
			decided + " close", []string{docClosing}},
		{"decided on the spot, periods waived", func(c cases.Case) bool { return c.State == cases.StateClosed && waived(c) },
			decided + " close", []string{docClosing}},
		{"warning", func(c cases.Case) bool { return c.State == cases.StateClosed && c.DecidedFineFen == 0 },
			"file start_investigation serve_notice decide serve_decision close", []string{docClosing}},
		{"paid", func(c cases.Case) bool { return c.State == cases.StatePaid },
			decided, []string{docReceipt}},
		{"investigating", func(c cases.Case) bool { return c.State == cases.StateInvestigating },
			"file start_investigation", []string{docInquiry, docInspection}},
		{"notice served", func(c cases.Case) bool { return c.State == cases.StateNoticeServed },
			"file start_investigation serve_notice", []string{docNotice}},
		{"legal review", func(c cases.Case) bool { return c.State == cases.StateLegalReview },
			"file start_investigation serve_notice submit_review", []string{docReviewFiling}},
		{"transferred", func(c cases.Case) bool { return c.State == cases.StateTransferred },
			"file start_investigation transfer", []string{docTransfer}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := slices.IndexFunc(hs, tc.match)
			if i < 0 {
				t.Fatal("no such case")
			}
			c := hs[i]
			if got := actions(c); got != tc.actions {
				t.Errorf("%s: %s, want %s", c.CaseNo, got, tc.actions)
			}
			var want []string
			for _, n := range tc.docs {
				want = append(want, docHash(c.CaseNo, n))
			}
			if last := c.Steps[len(c.Steps)-1]; !slices.Equal(last.Documents, want) {
				t.Errorf("%s: %s carries %v, want %v", c.CaseNo, last.Action, last.Documents, want)
			}
		})
	}
}

func TestCaseHistoriesWaiveOnlyWhenNeeded(t *testing.T) {
	hs, err := histories()
	if err != nil {
		t.Fatal(err)
	}
	waivers := 0
	for _, c := range hs {
		if c.DecidedAt.IsZero() {
			continue
		}
		i := slices.IndexFunc(c.Steps, func(s cases.StepRecord) bool { return s.Action == cases.ActionDecide })
		d := c.Steps[i]
		// The party's periods of DefaultRules in 2020: 3 days after the
		// notice's day, for the defence and the hearing request alike.
		y, m, day := c.NoticeAt.In(enforcement.Shanghai).Date()
		ended := !d.At.Before(time.Date(y, m, day+4, 0, 0, 0, 0, enforcement.Shanghai))
		waived := d.Fields[cases.FieldWaiver] == "true"
		if waived == ended {
			t.Errorf("%s: notice %s, decision %s, waiver %v", c.CaseNo, c.NoticeAt, d.At, waived)
		}
		if waived {
			waivers++
			if !slices.Contains(d.Documents, docHash(c.CaseNo, docWaiver)) {
				t.Errorf("%s: waiver without its document", c.CaseNo)
			}
		}
	}
	t.Logf("%d decisions with a waiver", waivers)
}

// TestCaseHistoriesMajorDecisions lowers the major-decision threshold (no
// demo fine reaches the 30,000 yuan of DefaultRules) so that some decisions
// need a legal review, which the office records before the decision.
func TestCaseHistoriesMajorDecisions(t *testing.T) {
	tests := []struct {
		name      string
		threshold int64 // fen
	}{
		{"default rules", 30_000_00},
		{"5,000 yuan", 5_000_00},
		{"2,000 yuan", 2_000_00},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules := cases.DefaultRules()
			rules.Major[0].FineAtLeastFen = tc.threshold
			hs, err := CaseHistories(year(), rules, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			majors := 0
			for _, c := range hs {
				wantMajor := !c.DecidedAt.IsZero() && c.DecidedFineFen >= tc.threshold
				if c.Major != wantMajor {
					t.Errorf("%s: fine %d fen, major %v", c.CaseNo, c.DecidedFineFen, c.Major)
				}
				if !c.Major {
					if c.State != cases.StateLegalReview && c.Review != nil {
						t.Errorf("%s: a review of a decision that is not major", c.CaseNo)
					}
					continue
				}
				majors++
				i := slices.IndexFunc(c.Steps, func(s cases.StepRecord) bool { return s.Action == cases.ActionRecordReview })
				if c.Review == nil || i < 0 || c.Steps[i+1].Action != cases.ActionDecide || c.Review.Reviewer != "office" ||
					c.Steps[i].Actor != (cases.Actor{ID: "office", Role: cases.RoleOffice}) {
					t.Errorf("%s: major decision, review %+v", c.CaseNo, c.Review)
				}
			}
			if tc.threshold < 30_000_00 && majors == 0 {
				t.Error("no major decision")
			}
			t.Logf("%d major decisions", majors)
		})
	}
}

func TestCaseHistoriesAreDeterministic(t *testing.T) {
	a, err := CaseHistories(year(), cases.DefaultRules(), time.Date(2021, 1, 1, 0, 0, 0, 0, enforcement.Shanghai))
	if err != nil {
		t.Fatal(err)
	}
	b, err := CaseHistories(year(), cases.DefaultRules(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, hs := range [][]cases.Case{a, b} {
		for i := range hs {
			for k := range hs[i].Steps {
				hs[i].Steps[k].RecordedAt = time.Time{}
			}
		}
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two calls differ in more than RecordedAt")
	}
}

func TestCaseHistoriesErrors(t *testing.T) {
	with := func(edit func(y *Year)) Year {
		y := year()
		y.Records = slices.Clone(y.Records)
		y.Users = slices.Clone(y.Users)
		edit(&y)
		return y
	}
	firstCase := func(y *Year) *enforcement.Record {
		i := slices.IndexFunc(y.Records, func(r enforcement.Record) bool { return r.Kind == enforcement.KindCase })
		return &y.Records[i]
	}
	tests := []struct {
		name string
		y    Year
		now  time.Time
		want error // wrapped, when set
		text string
	}{
		{"now before the steps", year(), time.Date(2020, 12, 1, 0, 0, 0, 0, enforcement.Shanghai), enforcement.ErrInvalid, ""},
		{"status no history leads to", with(func(y *Year) { firstCase(y).Status = "withdrawn" }), time.Now(), nil, `status "withdrawn"`},
		{"open but decided", with(func(y *Year) { firstCase(y).Status = "investigating" }), time.Now(), nil, `status "investigating"`},
		{"no office", with(func(y *Year) {
			y.Users = slices.DeleteFunc(y.Users, func(u User) bool { return u.Role == RoleOffice })
		}), time.Now(), nil, "no office account"},
		{"no supervisor", with(func(y *Year) {
			y.Users = slices.DeleteFunc(y.Users, func(u User) bool { return u.Role == RoleSupervisor })
		}), time.Now(), nil, "no supervisor"},
		{"decided before filed", with(func(y *Year) {
			r := firstCase(y)
			d := r.FiledAt.Add(-time.Hour)
			r.DecidedAt = &d
		}), time.Now(), nil, "is not after filed_at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CaseHistories(tc.y, cases.DefaultRules(), tc.now)
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("error %v, want %v", err, tc.want)
			case !strings.Contains(err.Error(), tc.text) || !strings.HasPrefix(err.Error(), "demo.CaseHistories: "):
				t.Errorf("error %q, want it to say %q", err, tc.text)
			}
		})
	}
}
