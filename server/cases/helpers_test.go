package cases_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

// sh is an instant in Asia/Shanghai.
func sh(y int, m time.Month, d, h, mi int) time.Time {
	return time.Date(y, m, d, h, mi, 0, 0, enforcement.Shanghai)
}

func doc(name string) string {
	s := sha256.Sum256([]byte(name))
	return hex.EncodeToString(s[:])
}

func fen(v int64) *int64 { return &v }

var (
	admin      = cases.Actor{ID: "u-admin", Role: cases.RoleAdmin}
	office     = cases.Actor{ID: "u-office", Role: cases.RoleOffice}
	supervisor = cases.Actor{ID: "u-sup", Role: cases.RoleSupervisor}
	officer    = cases.Actor{ID: "u-off", Role: cases.RoleOfficer}
	// now is the clock of every test unless it says otherwise.
	now = sh(2020, 8, 1, 12, 0)
)

// testRules are the rules the expectations below are computed by hand
// from: decision 90 days, service 7, defence 3, hearing request 3 days
// until 2021-07-14 and 5 days from 2021-07-15; hearing from 10,000 yuan;
// major from 30,000 yuan fine or 50,000 yuan confiscation, and any
// dumping_waste case.
func testRules() cases.Rules {
	since := sh(2000, 1, 1, 0, 0)
	return cases.Rules{
		Deadlines: []cases.DeadlineRule{
			{Name: cases.DeadlineDecision, Days: 90, EffectiveFrom: since},
			{Name: cases.DeadlineService, Days: 7, EffectiveFrom: since},
			{Name: cases.DeadlineDefence, Days: 3, EffectiveFrom: since},
			{Name: cases.DeadlineHearingRequest, Days: 5, EffectiveFrom: sh(2021, 7, 15, 0, 0)},
			{Name: cases.DeadlineHearingRequest, Days: 3, EffectiveFrom: since},
		},
		Hearing: []cases.HearingRule{{FineAtLeastFen: 1_000_000, EffectiveFrom: since}},
		Major: []cases.MajorRules{{FineAtLeastFen: 3_000_000, ConfiscationAtLeastFen: 5_000_000,
			Violations: []string{"dumping_waste"}, EffectiveFrom: since}},
	}
}

func filing() cases.Filing {
	return cases.Filing{
		ID: "c-1", CaseNo: "密保罚〔2020〕第0001号", Violation: "fishing_first_zone",
		Party: cases.Party{Name: "张三", IDNumber: "110228199001011234"}, Facts: "在一级保护区内垂钓",
		Circumstances: cases.Circumstances{Circumstance: cases.Ordinary, Zone: "first"},
		FiledAt:       sh(2020, 6, 1, 9, 0), Documents: []string{doc("filing")},
	}
}

func newCase(t *testing.T) cases.Case {
	t.Helper()
	c, err := cases.File(filing(), officer, now)
	if err != nil {
		t.Fatalf("File: %v", err)
	}
	return c
}

// The canonical steps of the path through the procedure. The proposed fine
// (15,000 yuan) reaches the hearing threshold and is not major.
var path = map[string]cases.Step{
	cases.ActionStartInvestigation: {Action: cases.ActionStartInvestigation, At: sh(2020, 6, 2, 9, 0)},
	cases.ActionServeNotice: {Action: cases.ActionServeNotice, At: sh(2020, 6, 10, 10, 0),
		ProposedFineFen: fen(1_500_000), Documents: []string{doc("notice")}},
	cases.ActionRequestHearing: {Action: cases.ActionRequestHearing, At: sh(2020, 6, 12, 10, 0)},
	cases.ActionSubmitReview:   {Action: cases.ActionSubmitReview, At: sh(2020, 6, 20, 10, 0)},
	cases.ActionRecordReview: {Action: cases.ActionRecordReview, At: sh(2020, 6, 22, 10, 0),
		Review: &cases.LegalReview{Reviewer: "李法制", Opinion: "事实清楚，同意", Date: sh(2020, 6, 22, 9, 0)}},
	cases.ActionDecide: {Action: cases.ActionDecide, At: sh(2020, 6, 25, 10, 0),
		DecidedFineFen: fen(1_500_000), Documents: []string{doc("decision")}},
	cases.ActionServeDecision: {Action: cases.ActionServeDecision, At: sh(2020, 6, 28, 10, 0), Documents: []string{doc("receipt")}},
	cases.ActionRecordPayment: {Action: cases.ActionRecordPayment, At: sh(2020, 7, 5, 10, 0)},
	cases.ActionEnforce:       {Action: cases.ActionEnforce, At: sh(2020, 7, 5, 10, 0), Documents: []string{doc("court")}},
	cases.ActionClose:         {Action: cases.ActionClose, At: sh(2020, 7, 10, 10, 0)},
	cases.ActionWithdraw:      {Action: cases.ActionWithdraw, At: sh(2020, 7, 10, 10, 0), Reason: "违法事实不能成立"},
	cases.ActionTransfer: {Action: cases.ActionTransfer, At: sh(2020, 7, 10, 10, 0), Documents: []string{doc("transfer")},
		Transfer: &cases.Transfer{Organ: "密云分局", Date: sh(2020, 7, 10, 9, 0)}},
	cases.ActionCorrectDecision: {Action: cases.ActionCorrectDecision, At: sh(2020, 7, 20, 10, 0),
		DecidedFineFen: fen(1_200_000), Reason: "计算错误更正"},
	cases.ActionRevoke: {Action: cases.ActionRevoke, At: sh(2020, 7, 25, 10, 0), Documents: []string{doc("revocation")},
		Reason: "行政复议决定撤销"},
}

// routes are the actions that lead from filed to each state.
var routes = map[cases.State][]string{
	cases.StateFiled:         nil,
	cases.StateInvestigating: {"start_investigation"},
	cases.StateNoticeServed:  {"start_investigation", "serve_notice"},
	cases.StateHearing:       {"start_investigation", "serve_notice", "request_hearing"},
	cases.StateLegalReview:   {"start_investigation", "serve_notice", "submit_review"},
	cases.StateDecided:       {"start_investigation", "serve_notice", "decide"},
	cases.StateServed:        {"start_investigation", "serve_notice", "decide", "serve_decision"},
	cases.StatePaid:          {"start_investigation", "serve_notice", "decide", "serve_decision", "record_payment"},
	cases.StateEnforced:      {"start_investigation", "serve_notice", "decide", "serve_decision", "enforce"},
	cases.StateClosed:        {"start_investigation", "serve_notice", "decide", "serve_decision", "record_payment", "close"},
	cases.StateWithdrawn:     {"withdraw"},
	cases.StateTransferred:   {"start_investigation", "transfer"},
}

func drive(t *testing.T, c cases.Case, rules cases.Rules, actions ...string) cases.Case {
	t.Helper()
	for _, a := range actions {
		var err error
		c, err = cases.Transition(c, path[a], admin, rules, now)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	return c
}

func caseIn(t *testing.T, s cases.State) cases.Case {
	t.Helper()
	c := drive(t, newCase(t), testRules(), routes[s]...)
	if c.State != s {
		t.Fatalf("route to %s ended in %s", s, c.State)
	}
	return c
}

// fieldsOf returns the field names of the ValidationError err wraps.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if !errors.Is(err, enforcement.ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	var verr *enforcement.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v wraps no ValidationError", err)
	}
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return slices.Compact(out)
}
