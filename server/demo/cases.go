package demo

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

// TransferOrgan is the organ the demo year's transferred cases go to.
const TransferOrgan = "北京市公安局密云分局"

// stepsEnd is the latest time of day a step of the demo year is placed at:
// a step that would fall later is moved to it (or just after the step
// before), so that every history stands at the end of 2020 where its
// record's status says.
var stepsEnd = time.Date(2020, 12, 31, 18, 0, 0, 0, enforcement.Shanghai)

// The case documents of the demo year. Only their names exist: a step
// carries the stand-in hash docHash(caseNo, name).
const (
	docFiling       = "立案审批表"
	docInquiry      = "询问笔录"
	docInspection   = "现场检查笔录"
	docNotice       = "行政处罚事先告知书"
	docWaiver       = "陈述申辩放弃书"
	docReviewFiling = "法制审核送审表"
	docReview       = "法制审核意见书"
	docDecision     = "行政处罚决定书"
	docService      = "送达回证"
	docReceipt      = "罚没款票据"
	docClosing      = "结案报告"
	docTransfer     = "涉嫌犯罪案件移送书"
)

// docHash is the stand-in SHA-256 (hex) of a document of a demo case: the
// hash of "demo2020:{case number}:{document name}".
func docHash(caseNo, name string) string {
	sum := sha256.Sum256([]byte("demo2020:" + caseNo + ":" + name))
	return hex.EncodeToString(sum[:])
}

// CaseHistories builds the full procedure of every case record of y, in
// the order of case numbers: each case is opened with cases.File and taken
// step by step through cases.Transition under rules, so that its history
// is one the state machine allows (give cases.DefaultRules(); rules must
// have no Catalogue, since the demo cases name their violation by its text).
// now is when the steps are recorded (StepRecord.RecordedAt): it must not be
// before any step's date, the latest of which is 2020-12-31 18:00
// Asia/Shanghai.
//
// Every date derives from the record, so the result is deterministic but
// for RecordedAt:
//   - file at filed_at (立案审批表) and start_investigation shortly after
//     (询问笔录, 现场检查笔录), both by the record's first officer;
//   - for a decided record, serve_notice with the decided fine as the
//     proposed fine before the decision: early enough for the party's
//     defence (and hearing-request) periods to end by decided_at, or else,
//     as in an on-the-spot decision, shortly before it with the party's
//     written waiver (陈述申辩放弃书) on the decision; a decision that is
//     major under rules first goes through submit_review and record_review
//     by the legal office; decide at decided_at by the team's supervisor
//     (the office for the district team), serve_decision within a day,
//     record_payment two days later and close three days after that — up
//     to the record's status (decided, served, paid or closed). A warning
//     (no fine) has nothing to pay and is closed once served;
//   - for a record still open (investigating, notice_served, legal_review),
//     the notice two weeks after filing (at the latest on 30 December),
//     proposing the violation's usual fine, and the submission for legal
//     review four days later;
//   - for a transferred record, the transfer to TransferOrgan by the team's
//     lead a week after filing (移送书).
//
// Circumstances are minor up to a fine of 200 yuan, serious above 2,000
// yuan (and for a transferred case), ordinary between. The error names the
// case whose history cannot be built.
func CaseHistories(y Year, rules cases.Rules, now time.Time) ([]cases.Case, error) {
	var office cases.Actor
	leads := map[string]cases.Actor{}
	for _, u := range y.Users {
		switch u.Role {
		case RoleSupervisor:
			if _, ok := leads[u.Unit]; !ok {
				leads[u.Unit] = cases.Actor{ID: u.Username, Role: cases.RoleSupervisor}
			}
		case RoleOffice:
			if office.ID == "" {
				office = cases.Actor{ID: u.Username, Role: cases.RoleOffice}
			}
		}
	}
	if office.ID == "" {
		return nil, errors.New("demo.CaseHistories: the year has no office account")
	}
	unitNames := map[string]string{}
	for _, u := range y.Units {
		unitNames[u.ID] = u.Name
		if u.Tier == enforcement.TierDistrict {
			leads[u.ID] = office // the district team's decisions are the office's
		}
	}

	var recs []*enforcement.Record
	for i := range y.Records {
		if y.Records[i].Kind == enforcement.KindCase {
			recs = append(recs, &y.Records[i])
		}
	}
	slices.SortStableFunc(recs, func(a, b *enforcement.Record) int { return cmp.Compare(a.CaseNo, b.CaseNo) })

	out := make([]cases.Case, 0, len(recs))
	for _, r := range recs {
		lead, ok := leads[r.Unit]
		if !ok {
			return nil, fmt.Errorf("demo.CaseHistories: case %s (%s): no supervisor for unit %q", r.CaseNo, r.ID, r.Unit)
		}
		h := history{rec: r, rules: rules, now: now, lead: lead, office: office, unitName: unitNames[r.Unit]}
		c, err := h.build()
		if err != nil {
			return nil, fmt.Errorf("demo.CaseHistories: case %s (%s): %w", r.CaseNo, r.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// history builds the procedure of one case record.
type history struct {
	rec                   *enforcement.Record
	rules                 cases.Rules
	now                   time.Time
	officer, lead, office cases.Actor
	unitName              string

	c   cases.Case
	err error
}

func (h *history) build() (cases.Case, error) {
	r := h.rec
	if r.FiledAt == nil {
		return cases.Case{}, errors.New("no filed_at")
	}
	if len(r.Officers) == 0 {
		return cases.Case{}, errors.New("no officer")
	}
	h.officer = cases.Actor{ID: r.Officers[0], Role: cases.RoleOfficer}
	target := cases.State(r.Status)

	decided := r.DecidedAt != nil
	fine := r.FineFen
	switch {
	case decided && slices.Contains([]cases.State{cases.StateDecided, cases.StateServed, cases.StatePaid, cases.StateClosed}, target):
	case !decided && slices.Contains([]cases.State{cases.StateFiled, cases.StateInvestigating, cases.StateNoticeServed, cases.StateLegalReview}, target):
		fine = usualFine(r.Violation)
	case !decided && target == cases.StateTransferred:
	default:
		return cases.Case{}, fmt.Errorf("status %q (decided_at %v): no demo history leads there", r.Status, r.DecidedAt)
	}
	circ := circumstanceOf(fine)
	if target == cases.StateTransferred {
		circ = cases.Serious
	}

	filed := *r.FiledAt
	c, err := cases.File(cases.Filing{
		ID:            r.ID,
		CaseNo:        r.CaseNo,
		Unit:          r.Unit,
		Campaign:      r.Campaign,
		Violation:     r.Violation,
		Party:         cases.Party{Name: r.Party},
		Facts:         h.facts(),
		LegalBasis:    r.LegalBasis,
		Circumstances: cases.Circumstances{Circumstance: circ},
		FiledAt:       filed,
		Documents:     h.docs(docFiling),
	}, h.officer, h.now)
	if err != nil {
		return cases.Case{}, fmt.Errorf("file: %w", err)
	}
	h.c = c
	if h.done(target) {
		return h.c, nil
	}

	if !decided {
		h.undecided(filed, fine, target)
	} else {
		h.decided(filed, *r.DecidedAt, fine, target)
	}
	if h.err != nil {
		return cases.Case{}, h.err
	}
	if h.c.State != target {
		return cases.Case{}, fmt.Errorf("the history ends in %s, not %s", h.c.State, target)
	}
	return h.c, nil
}

// undecided takes a case without a decision to its state at the end of
// the year: still under investigation, notice served, in legal review, or
// transferred.
func (h *history) undecided(filed time.Time, proposed int64, target cases.State) {
	inv := filed.Add(30 * time.Minute)
	h.step(cases.Step{Action: cases.ActionStartInvestigation, At: inv, Documents: h.docs(docInquiry, docInspection)}, h.officer)
	if h.done(target) {
		return
	}
	if target == cases.StateTransferred {
		at := h.byYearEnd(inv, dayAt(filed, 7, 10, 0))
		h.step(cases.Step{Action: cases.ActionTransfer, At: at,
			Transfer:  &cases.Transfer{Organ: TransferOrgan, Date: at},
			Note:      "涉嫌犯罪，依法移送公安机关（行刑衔接）",
			Documents: h.docs(docTransfer)}, h.lead)
		return
	}
	notice := latest(inv.Add(time.Hour), earliest(dayAt(filed, 14, 10, 0), time.Date(2020, 12, 30, 10, 0, 0, 0, enforcement.Shanghai)))
	h.step(cases.Step{Action: cases.ActionServeNotice, At: notice, ProposedFineFen: &proposed,
		Documents: h.docs(docNotice)}, h.officer)
	if h.done(target) {
		return
	}
	h.step(cases.Step{Action: cases.ActionSubmitReview, At: h.byYearEnd(notice, dayAt(notice, 4, 10, 0)),
		Documents: h.docs(docReviewFiling)}, h.officer)
}

// decided takes a decided case from investigation to its decision at
// decided and on to the record's status.
func (h *history) decided(filed, decided time.Time, fine int64, target cases.State) {
	gap := decided.Sub(filed)
	if gap <= 0 {
		h.err = fmt.Errorf("decided_at %s is not after filed_at %s", decided, filed)
		return
	}
	inv := latest(filed, filed.Add(min(gap/5, 30*time.Minute)).Truncate(time.Minute))
	h.step(cases.Step{Action: cases.ActionStartInvestigation, At: inv, Documents: h.docs(docInquiry, docInspection)}, h.officer)

	// The notice: early enough for the party's periods to end by the
	// decision, else shortly before it (the party waives them in writing).
	days := 0
	for _, name := range []string{cases.DeadlineDefence, cases.DeadlineHearingRequest} {
		if d, ok := h.rules.DeadlineInForce(name, decided); ok {
			days = max(days, d.Days)
		}
	}
	notice := dayAt(decided, -(days + 1), 10, 0)
	if notice.Before(inv.Add(time.Hour)) {
		notice = latest(inv, inv.Add(decided.Sub(inv)/2).Truncate(time.Minute))
	}
	h.step(cases.Step{Action: cases.ActionServeNotice, At: notice, ProposedFineFen: &fine,
		Documents: h.docs(docNotice)}, h.officer)
	if h.err != nil {
		return
	}
	waiver := false
	for _, d := range cases.Due(h.c, h.rules) {
		if d.Owner == cases.OwnerParty && decided.Before(d.DueBy) {
			waiver = true
		}
	}

	if h.major(decided, fine) {
		span := decided.Sub(notice)
		submit := latest(notice, notice.Add(span/3).Truncate(time.Minute))
		reviewed := latest(submit, notice.Add(2*span/3).Truncate(time.Minute))
		h.step(cases.Step{Action: cases.ActionSubmitReview, At: submit, Documents: h.docs(docReviewFiling)}, h.officer)
		h.step(cases.Step{Action: cases.ActionRecordReview, At: reviewed,
			Review: &cases.LegalReview{Reviewer: h.office.ID, Date: reviewed,
				Opinion: "事实清楚，证据确凿，适用依据正确，程序合法，处罚适当，同意作出处罚决定。"},
			Documents: h.docs(docReview)}, h.office)
	}

	decision := cases.Step{Action: cases.ActionDecide, At: decided, DecidedFineFen: &fine, Documents: h.docs(docDecision)}
	if waiver {
		decision.Waiver = true
		decision.Documents = h.docs(docDecision, docWaiver)
	}
	h.step(decision, h.lead)
	if h.done(target) {
		return
	}

	served := dayAt(decided, 1, 10, 0)
	if gap < 24*time.Hour {
		served = decided.Add(5 * time.Minute) // handed over on the spot
	}
	served = h.byYearEnd(decided, served)
	h.step(cases.Step{Action: cases.ActionServeDecision, At: served, Documents: h.docs(docService)}, h.officer)
	if h.done(target) {
		return
	}

	closeAfter := served
	if fine > 0 {
		paid := h.byYearEnd(served, dayAt(served, 2, 11, 0))
		h.step(cases.Step{Action: cases.ActionRecordPayment, At: paid, Documents: h.docs(docReceipt)}, h.officer)
		if h.done(target) {
			return
		}
		closeAfter = paid
	}
	// A warning has nothing to pay: it is closed once served.
	h.step(cases.Step{Action: cases.ActionClose, At: h.byYearEnd(closeAfter, dayAt(closeAfter, 3, 15, 0)),
		Documents: h.docs(docClosing)}, h.lead)
}

// step applies one step through the state machine, unless an earlier one
// failed.
func (h *history) step(s cases.Step, a cases.Actor) {
	if h.err != nil {
		return
	}
	c, err := cases.Transition(h.c, s, a, h.rules, h.now)
	if err != nil {
		h.err = fmt.Errorf("%s at %s: %w", s.Action, s.At.In(enforcement.Shanghai).Format(time.RFC3339), err)
		return
	}
	h.c = c
}

// done reports whether the case has reached target (or a step failed).
func (h *history) done(target cases.State) bool { return h.err != nil || h.c.State == target }

// major reports whether a decision of fine at decided is major under the
// rules in force then, and so needs a recorded legal review.
func (h *history) major(decided time.Time, fine int64) bool {
	var mr *cases.MajorRules
	for i, m := range h.rules.Major {
		if !m.EffectiveFrom.After(decided) && (mr == nil || m.EffectiveFrom.After(mr.EffectiveFrom)) {
			mr = &h.rules.Major[i]
		}
	}
	if mr == nil {
		return false
	}
	major, _ := cases.IsMajor(cases.Case{Violation: h.rec.Violation, DecidedFineFen: fine, DecidedAt: decided}, *mr)
	return major
}

// byYearEnd is t, or — when t is after the last time steps of the demo year
// are placed at — that time, and never before 10 minutes after prev.
func (h *history) byYearEnd(prev, t time.Time) time.Time {
	if t.After(stepsEnd) {
		return latest(prev.Add(10*time.Minute), stepsEnd)
	}
	return t
}

func (h *history) docs(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = docHash(h.rec.CaseNo, n)
	}
	return out
}

// facts is a sentence on what the team found, from the record.
func (h *history) facts() string {
	r := h.rec
	unit := cmp.Or(h.unitName, r.Unit)
	s := fmt.Sprintf("%s，%s巡查中发现%s%s。", r.ObservedAt.In(enforcement.Shanghai).Format("2006年1月2日15时04分"),
		unit, r.Party, r.Violation)
	if r.Note != "" {
		s += r.Note
	}
	return s
}

// circumstanceOf grades a case by its fine: minor up to 200 yuan, serious
// above 2,000 yuan, ordinary between.
func circumstanceOf(fineFen int64) cases.Circumstance {
	switch {
	case fineFen <= 200_00:
		return cases.Minor
	case fineFen > 2_000_00:
		return cases.Serious
	}
	return cases.Ordinary
}

// usualFine is the most common fine (in fen) of the violation with this
// text, which an open case's notice proposes; 0 for an unknown text.
func usualFine(text string) int64 {
	for _, v := range append(slices.Clip(violations), grazingViolation) {
		if v.text != text {
			continue
		}
		best := 0
		for i, w := range v.fineWeight {
			if w > v.fineWeight[best] {
				best = i
			}
		}
		return v.fines[best] * 100
	}
	return 0
}

// dayAt is hour:minute, Asia/Shanghai, days days after t's day.
func dayAt(t time.Time, days, hour, minute int) time.Time {
	y, m, d := t.In(enforcement.Shanghai).Date()
	return time.Date(y, m, d+days, hour, minute, 0, 0, enforcement.Shanghai)
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
