package cases_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

// TestEveryMove takes every action of the table from every state it is
// allowed from, and checks the state it leads to and the step it records.
func TestEveryMove(t *testing.T) {
	want := map[string]cases.State{ // the table, written out by hand
		"start_investigation": "investigating", "serve_notice": "notice_served", "request_hearing": "hearing",
		"submit_review": "legal_review", "record_review": "", "decide": "decided", "serve_decision": "served",
		"record_payment": "paid", "enforce": "enforced", "close": "closed", "withdraw": "withdrawn",
		"transfer": "transferred", "correct_decision": "", "revoke": "withdrawn",
	}
	n := 0
	for _, m := range cases.Moves {
		for _, from := range m.From {
			t.Run(m.Action+"_from_"+string(from), func(t *testing.T) {
				c := caseIn(t, from)
				if m.Action == cases.ActionClose && from == cases.StateServed {
					c.DecidedFineFen = 0 // a warning: nothing to pay, closed once served
				}
				before := len(c.Steps)
				got, err := cases.Transition(c, path[m.Action], admin, testRules(), now)
				if err != nil {
					t.Fatalf("Transition: %v", err)
				}
				to := want[m.Action]
				if to == "" {
					to = from
				}
				if got.State != to {
					t.Errorf("state = %s, want %s", got.State, to)
				}
				if len(got.Steps) != before+1 {
					t.Fatalf("steps = %d, want %d", len(got.Steps), before+1)
				}
				last := got.Steps[before]
				if last.Action != m.Action || last.From != from || last.To != to || last.Actor != admin ||
					!last.At.Equal(path[m.Action].At) || !last.RecordedAt.Equal(now) {
					t.Errorf("step = %+v", last)
				}
				if !slices.Equal(last.Documents, path[m.Action].Documents) {
					t.Errorf("documents = %v, want %v", last.Documents, path[m.Action].Documents)
				}
				if c.State != from || len(c.Steps) != before {
					t.Errorf("the input case changed: %s, %d steps", c.State, len(c.Steps))
				}
			})
			n++
		}
	}
	if n != 34 {
		t.Errorf("%d moves tried, the table has 34", n)
	}
}

func TestIllegalTransitions(t *testing.T) {
	open := func(first ...string) []string { return append(first, "withdraw", "transfer") }
	decidedOn := func(first ...string) []string { return append(first, "correct_decision", "revoke") }
	tests := []struct {
		name    string
		state   cases.State
		action  string
		allowed []string
	}{
		{"decide a filed case", cases.StateFiled, "decide", open("start_investigation")},
		{"notice before investigating", cases.StateFiled, "serve_notice", open("start_investigation")},
		{"hearing before notice", cases.StateInvestigating, "request_hearing", open("serve_notice")},
		{"second hearing request", cases.StateHearing, "request_hearing", open("submit_review", "decide")},
		{"hearing after review began", cases.StateLegalReview, "request_hearing", open("record_review", "decide")},
		{"review recorded outside review", cases.StateNoticeServed, "record_review", open("request_hearing", "submit_review", "decide")},
		{"withdraw a decided case", cases.StateDecided, "withdraw", decidedOn("serve_decision")},
		{"decide twice", cases.StateDecided, "decide", decidedOn("serve_decision")},
		{"close a fine before payment", cases.StateServed, "close", decidedOn("record_payment", "enforce", "close")},
		{"enforce a paid case", cases.StatePaid, "enforce", decidedOn("close")},
		{"transfer an enforced case", cases.StateEnforced, "transfer", decidedOn("close")},
		{"reopen a closed case", cases.StateClosed, "start_investigation", []string{"revoke"}},
		{"correct a closed case", cases.StateClosed, "correct_decision", []string{"revoke"}},
		{"revoke an undecided case", cases.StateNoticeServed, "revoke", open("request_hearing", "submit_review", "decide")},
		{"revoke twice", cases.StateWithdrawn, "revoke", nil},
		{"act on a withdrawn case", cases.StateWithdrawn, "serve_notice", nil},
		{"decide a transferred case", cases.StateTransferred, "decide", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := caseIn(t, tt.state)
			_, err := cases.Transition(c, path[tt.action], admin, testRules(), now)
			if !errors.Is(err, enforcement.ErrConflict) {
				t.Fatalf("error %v, want ErrConflict", err)
			}
			te, ok := cases.IsTransitionError(err)
			if !ok {
				t.Fatalf("error %T is not a *TransitionError", err)
			}
			if cases.State(te.From) != tt.state || te.Action != tt.action || !slices.Equal(te.Allowed, tt.allowed) {
				t.Errorf("got %s from %s allowed %v, want allowed %v", te.Action, te.From, te.Allowed, tt.allowed)
			}
			for _, a := range tt.allowed {
				if !strings.Contains(err.Error(), a) {
					t.Errorf("message %q does not name %s", err, a)
				}
			}
		})
	}
}

func TestRolePolicy(t *testing.T) {
	tests := []struct {
		name   string
		state  cases.State
		action string
		actor  cases.Actor
		ok     bool
	}{
		{"officer may not decide", cases.StateLegalReview, "decide", officer, false},
		{"officer may not decide even from a filed case", cases.StateFiled, "decide", officer, false},
		{"supervisor decides", cases.StateLegalReview, "decide", supervisor, true},
		{"office decides", cases.StateLegalReview, "decide", office, true},
		{"officer serves the notice", cases.StateInvestigating, "serve_notice", officer, true},
		{"officer may not record a review", cases.StateLegalReview, "record_review", officer, false},
		{"supervisor may not record a review", cases.StateLegalReview, "record_review", supervisor, false},
		{"supervisor may not correct a decision", cases.StateServed, "correct_decision", supervisor, false},
		{"office corrects a decision", cases.StateServed, "correct_decision", office, true},
		{"supervisor may not revoke a decision", cases.StateClosed, "revoke", supervisor, false},
		{"office revokes a decision", cases.StateClosed, "revoke", office, true},
		{"officer may not withdraw", cases.StateFiled, "withdraw", officer, false},
		{"officer may not transfer", cases.StateInvestigating, "transfer", officer, false},
		{"a device never acts", cases.StateFiled, "start_investigation", cases.Actor{ID: "d-1", Role: "device"}, false},
		{"an anonymous admin never acts", cases.StateFiled, "start_investigation", cases.Actor{Role: cases.RoleAdmin}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cases.Transition(caseIn(t, tt.state), path[tt.action], tt.actor, testRules(), now)
			if tt.ok && err != nil {
				t.Fatalf("Transition: %v", err)
			}
			if !tt.ok && !errors.Is(err, enforcement.ErrForbidden) {
				t.Fatalf("error %v, want ErrForbidden", err)
			}
		})
	}
}

func TestMissingAndBadFields(t *testing.T) {
	tests := []struct {
		name   string
		state  cases.State
		step   cases.Step
		fields []string
	}{
		{"notice without penalty or document", cases.StateInvestigating,
			cases.Step{Action: "serve_notice"}, []string{"documents", "proposed_fine_fen"}},
		{"withdraw without reason", cases.StateFiled,
			cases.Step{Action: "withdraw", Reason: "  "}, []string{"reason"}},
		{"transfer without organ, date, document", cases.StateFiled,
			cases.Step{Action: "transfer"}, []string{"documents", "transfer.date", "transfer.organ"}},
		{"transfer with an empty organ", cases.StateFiled,
			cases.Step{Action: "transfer", Transfer: &cases.Transfer{Date: sh(2020, 6, 3, 0, 0)}, Documents: []string{doc("t")}},
			[]string{"transfer.organ"}},
		{"review without reviewer, opinion, date", cases.StateLegalReview,
			cases.Step{Action: "record_review", Review: &cases.LegalReview{}}, []string{"review.date", "review.opinion", "review.reviewer"}},
		{"a fine on the investigation step", cases.StateFiled,
			cases.Step{Action: "start_investigation", ProposedFineFen: fen(100)}, []string{"proposed_fine_fen"}},
		{"negative fine and bad hash", cases.StateInvestigating,
			cases.Step{Action: "serve_notice", ProposedFineFen: fen(-1), Documents: []string{"abc"}},
			[]string{"documents[0]", "proposed_fine_fen"}},
		{"same document twice", cases.StateServed,
			cases.Step{Action: "record_payment", Documents: []string{doc("a"), doc("a")}}, []string{"documents[1]"}},
		{"a step in the future", cases.StateFiled,
			cases.Step{Action: "start_investigation", At: now.AddDate(0, 0, 1)}, []string{"at"}},
		{"a step before the previous one", cases.StateInvestigating,
			cases.Step{Action: "withdraw", Reason: "x", At: sh(2020, 6, 1, 0, 0)}, []string{"at"}},
		{"a waiver without its document", cases.StateNoticeServed,
			cases.Step{Action: "decide", DecidedFineFen: fen(1), Waiver: true}, []string{"documents", "waiver"}},
		{"a bad circumstance", cases.StateInvestigating,
			cases.Step{Action: "serve_notice", ProposedFineFen: fen(1), Documents: []string{doc("n")},
				Circumstances: &cases.Circumstances{Circumstance: "grave"}}, []string{"circumstances.circumstance"}},
		{"unknown action", cases.StateFiled, cases.Step{Action: "approve"}, []string{"action"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cases.Transition(caseIn(t, tt.state), tt.step, admin, testRules(), now)
			if got := fieldsOf(t, err); !slices.Equal(got, tt.fields) {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestMajorDecisionNeedsReview(t *testing.T) {
	major := path["serve_notice"]
	major.ProposedFineFen = fen(3_500_000)
	decide := path["decide"]
	decide.DecidedFineFen = fen(3_500_000)
	rules := testRules()

	c := drive(t, newCase(t), rules, "start_investigation")
	c, err := cases.Transition(c, major, officer, rules, now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cases.Transition(c, decide, supervisor, rules, now)
	te, ok := cases.IsTransitionError(err)
	if !ok || !errors.Is(err, enforcement.ErrConflict) || !strings.Contains(te.Reason, "legal review") {
		t.Fatalf("decide without review: %v", err)
	}
	if !slices.Contains(te.Allowed, "submit_review") {
		t.Errorf("allowed %v does not offer submit_review", te.Allowed)
	}

	c = drive(t, c, rules, "submit_review")
	if _, err := cases.Transition(c, decide, supervisor, rules, now); err == nil {
		t.Fatal("decided in review before the review was recorded")
	}
	c = drive(t, c, rules, "record_review")
	got, err := cases.Transition(c, decide, supervisor, rules, now)
	if err != nil {
		t.Fatalf("decide after review: %v", err)
	}
	wantReasons := []string{"decided fine 3500000 fen is at or above 3000000 fen"}
	if got.State != cases.StateDecided || !got.Major || !slices.Equal(got.MajorReasons, wantReasons) {
		t.Errorf("state %s major %v reasons %q", got.State, got.Major, got.MajorReasons)
	}
	if got.Review == nil || got.Review.Reviewer != "李法制" {
		t.Errorf("review = %+v", got.Review)
	}

	// A decided fine below the threshold makes the same case an ordinary one.
	small := decide
	small.DecidedFineFen = fen(2_999_999)
	c2 := drive(t, newCase(t), rules, "start_investigation")
	c2, _ = cases.Transition(c2, major, officer, rules, now)
	if got, err := cases.Transition(c2, small, supervisor, rules, now); err != nil || got.Major {
		t.Errorf("decide below threshold: major %v, %v", got.Major, err)
	}
}

func TestHearingRequest(t *testing.T) {
	rules := testRules()
	low := path["serve_notice"]
	low.ProposedFineFen = fen(999_999)
	c := drive(t, newCase(t), rules, "start_investigation")
	c, err := cases.Transition(c, low, officer, rules, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Steps[len(c.Steps)-1].Fields["hearing_right"] != "false" {
		t.Errorf("notice step fields %v", c.Steps[len(c.Steps)-1].Fields)
	}
	_, err = cases.Transition(c, path["request_hearing"], officer, rules, now)
	if te, ok := cases.IsTransitionError(err); !ok || !strings.Contains(te.Reason, "below the hearing threshold 1000000 fen") {
		t.Errorf("hearing below threshold: %v", err)
	}

	// Notice on 2020-06-10 10:00: 3 days (the rule before 2021-07-15), the
	// period ends at the end of 2020-06-13.
	c = caseIn(t, cases.StateNoticeServed)
	tests := []struct {
		name string
		at   []int
		ok   bool
	}{
		{"on the last day", []int{2020, 6, 13, 23, 59}, true},
		{"at midnight after the last day", []int{2020, 6, 14, 0, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := cases.Step{Action: "request_hearing", At: sh(tt.at[0], 6, tt.at[2], tt.at[3], tt.at[4])}
			_, err := cases.Transition(c, step, officer, rules, now)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if !tt.ok && !strings.Contains(err.Error(), "ended on 2020-06-13") {
				t.Errorf("message %q", err)
			}
		})
	}
}

func TestDecideWaitsForTheParty(t *testing.T) {
	rules := testRules()
	c := caseIn(t, cases.StateNoticeServed) // notice 2020-06-10 10:00
	early := cases.Step{Action: "decide", At: sh(2020, 6, 13, 18, 0), DecidedFineFen: fen(1_500_000), Documents: []string{doc("d")}}
	_, err := cases.Transition(c, early, supervisor, rules, now)
	if te, ok := cases.IsTransitionError(err); !ok || !strings.Contains(te.Reason, "defence period runs until 2020-06-13") {
		t.Fatalf("early decision: %v", err)
	}
	waived := early
	waived.Waiver = true
	waived.Documents = []string{doc("d"), doc("waiver")}
	got, err := cases.Transition(c, waived, supervisor, rules, now)
	if err != nil {
		t.Fatalf("waived: %v", err)
	}
	if got.Steps[len(got.Steps)-1].Fields["waiver"] != "true" {
		t.Errorf("fields %v", got.Steps[len(got.Steps)-1].Fields)
	}
	onTime := early
	onTime.At = sh(2020, 6, 14, 0, 0)
	if _, err := cases.Transition(c, onTime, supervisor, rules, now); err != nil {
		t.Errorf("decision after the periods: %v", err)
	}
}

func TestDecidedAmountOnlyThroughCorrection(t *testing.T) {
	rules := testRules()
	c := caseIn(t, cases.StateDecided)
	sneaky := path["serve_decision"]
	sneaky.DecidedFineFen = fen(1)
	_, err := cases.Transition(c, sneaky, admin, rules, now)
	if !errors.Is(err, enforcement.ErrConflict) || !strings.Contains(err.Error(), "correct_decision") {
		t.Fatalf("amount through serve_decision: %v", err)
	}

	noReason := path["correct_decision"]
	noReason.Reason = ""
	if got := fieldsOf(t, func() error { _, err := cases.Transition(c, noReason, office, rules, now); return err }()); !slices.Equal(got, []string{"reason"}) {
		t.Errorf("fields %v", got)
	}

	corrected, err := cases.Transition(c, path["correct_decision"], office, rules, now)
	if err != nil {
		t.Fatal(err)
	}
	last := corrected.Steps[len(corrected.Steps)-1]
	if corrected.DecidedFineFen != 1_200_000 || corrected.State != cases.StateDecided ||
		last.Fields["previous_decided_fine_fen"] != "1500000" || last.Fields["reason"] != "计算错误更正" {
		t.Errorf("corrected: fine %d state %s fields %v", corrected.DecidedFineFen, corrected.State, last.Fields)
	}
	if err := cases.CheckAmendment(c, corrected); err != nil {
		t.Errorf("CheckAmendment(correction) = %v", err)
	}

	edited := c
	edited.DecidedFineFen = 100
	tampered := corrected
	tampered.Steps = slices.Clone(corrected.Steps)
	tampered.Steps[0].Actor = admin
	undecided := caseIn(t, cases.StateNoticeServed)
	undecidedEdit := undecided
	undecidedEdit.ProposedFineFen = 1
	tests := []struct {
		name            string
		stored, updated cases.Case
		conflict        bool
	}{
		{"amount edited without a step", c, edited, true},
		{"amount corrected through the step", c, corrected, false},
		{"a recorded step rewritten", c, tampered, true},
		{"a recorded step removed", corrected, c, true},
		{"before the decision the store may update freely", undecided, undecidedEdit, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cases.CheckAmendment(tt.stored, tt.updated)
			if tt.conflict != errors.Is(err, enforcement.ErrConflict) || !tt.conflict && err != nil {
				t.Errorf("CheckAmendment = %v, want conflict %v", err, tt.conflict)
			}
		})
	}
}

func TestFile(t *testing.T) {
	c := newCase(t)
	if c.State != cases.StateFiled || len(c.Steps) != 1 || c.Steps[0].Action != "file" || c.Steps[0].To != cases.StateFiled {
		t.Errorf("filed case %+v", c)
	}
	bad := cases.Filing{CaseNo: "2020-1", FiledAt: now.Add(1), Documents: []string{"x"}}
	_, err := cases.File(bad, officer, now)
	want := []string{"case_no", "documents[0]", "filed_at", "id", "party.name", "violation"}
	if got := fieldsOf(t, err); !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
	if _, err := cases.File(filing(), cases.Actor{ID: "x", Role: "device"}, now); !errors.Is(err, enforcement.ErrForbidden) {
		t.Errorf("device files: %v", err)
	}
}

func TestCatalogueInTransition(t *testing.T) {
	cat := loadShipped(t)
	rules := testRules()
	rules.Catalogue = &cat
	c := drive(t, newCase(t), rules, "start_investigation") // fishing, ordinary, first offence
	notice := path["serve_notice"]
	notice.ProposedFineFen = fen(300_000) // above every band (max 200,000)
	_, err := cases.Transition(c, notice, officer, rules, now)
	if got := fieldsOf(t, err); !slices.Equal(got, []string{"justification"}) {
		t.Fatalf("fields %v", got)
	}
	notice.Justification = "多次劝阻无效，情节特别恶劣"
	got, err := cases.Transition(c, notice, officer, rules, now)
	if err != nil {
		t.Fatal(err)
	}
	b := got.Band
	if b == nil || !b.Matched || b.Band.MinFen != 20000 || b.Band.MaxFen != 50000 || !b.OutsideBand || !b.OutsideEvery ||
		got.Steps[len(got.Steps)-1].Fields["band_flagged"] != "true" {
		t.Errorf("band snapshot %+v", b)
	}
}

// TestRevoke checks that revoking a decision keeps what was decided, marks
// when it was revoked, and needs the reason and the revoking document.
func TestRevoke(t *testing.T) {
	c := caseIn(t, cases.StateClosed)
	got, err := cases.Transition(c, path[cases.ActionRevoke], office, testRules(), now)
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if got.State != cases.StateWithdrawn || !got.RevokedAt.Equal(path[cases.ActionRevoke].At) {
		t.Errorf("state %s revoked_at %v", got.State, got.RevokedAt)
	}
	if !got.DecidedAt.Equal(c.DecidedAt) || got.DecidedFineFen != c.DecidedFineFen || got.DecidedFineFen == 0 {
		t.Errorf("decision changed: %v %d, was %v %d", got.DecidedAt, got.DecidedFineFen, c.DecidedAt, c.DecidedFineFen)
	}
	if err := cases.CheckAmendment(c, got); err != nil {
		t.Errorf("CheckAmendment: %v", err)
	}
	bare := path[cases.ActionRevoke]
	bare.Reason, bare.Documents = "", nil
	_, err = cases.Transition(c, bare, office, testRules(), now)
	var ve *enforcement.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Field != "documents" || ve.Fields[1].Field != "reason" {
		t.Errorf("revoke without reason or documents: %v", err)
	}
}
