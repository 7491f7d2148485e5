package cases

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// State is where a case stands in its procedure.
type State string

// The states of a case. Closed, withdrawn and transferred are final.
const (
	StateFiled         State = "filed"
	StateInvestigating State = "investigating"
	StateNoticeServed  State = "notice_served"
	StateHearing       State = "hearing"
	StateLegalReview   State = "legal_review"
	StateDecided       State = "decided"
	StateServed        State = "served"
	StatePaid          State = "paid"
	StateEnforced      State = "enforced"
	StateClosed        State = "closed"
	StateWithdrawn     State = "withdrawn"
	StateTransferred   State = "transferred"
)

// States lists every state in procedural order. It matches
// enforcement.CaseStatuses.
var States = []State{StateFiled, StateInvestigating, StateNoticeServed, StateHearing, StateLegalReview,
	StateDecided, StateServed, StatePaid, StateEnforced, StateClosed, StateWithdrawn, StateTransferred}

// The actions. ActionFile opens a case (File); the others are Transition
// steps listed in Moves.
const (
	ActionFile               = "file"
	ActionStartInvestigation = "start_investigation"
	ActionServeNotice        = "serve_notice"
	ActionRequestHearing     = "request_hearing"
	ActionSubmitReview       = "submit_review"
	ActionRecordReview       = "record_review"
	ActionDecide             = "decide"
	ActionServeDecision      = "serve_decision"
	ActionRecordPayment      = "record_payment"
	ActionEnforce            = "enforce"
	ActionClose              = "close"
	ActionWithdraw           = "withdraw"
	ActionTransfer           = "transfer"
	ActionCorrectDecision    = "correct_decision"
	ActionRevoke             = "revoke"
)

// The names of the fields a Step may carry, as Move.Requires and
// Move.Optional list them and as ValidationError and StepRecord.Fields name
// them.
const (
	FieldProposedFineFen = "proposed_fine_fen"
	FieldDecidedFineFen  = "decided_fine_fen"
	FieldConfiscationFen = "confiscation_fen"
	FieldCircumstances   = "circumstances"
	FieldJustification   = "justification"
	FieldReason          = "reason"
	FieldReviewReviewer  = "review.reviewer"
	FieldReviewOpinion   = "review.opinion"
	FieldReviewDate      = "review.date"
	FieldTransferOrgan   = "transfer.organ"
	FieldTransferDate    = "transfer.date"
	FieldWaiver          = "waiver"
	FieldNote            = "note"
	FieldDocuments       = "documents"
)

// Move is one row of the transition table: the action, the states it may
// be taken from, the state it leads to ("" = the case stays where it is),
// the roles that may take it, the fields (and documents) it requires and
// may carry, and its deadline rules:
//   - Deadline names the deadline the step meets; taking it after that
//     deadline is allowed but marks the step Late (it shows as overdue until
//     then, see Overdue);
//   - Window names a period of the party's; the step is refused after it
//     ends;
//   - NotBefore names the party's periods that must have ended before the
//     step, unless the party waived them (the waiver field, with a document).
type Move struct {
	Action    string
	From      []State
	To        State
	Roles     []Role
	Requires  []string
	Optional  []string
	Deadline  string
	Window    string
	NotBefore []string
}

var (
	anyRole    = []Role{RoleOfficer, RoleSupervisor, RoleOffice, RoleAdmin}
	leadRoles  = []Role{RoleSupervisor, RoleOffice, RoleAdmin}
	officeOnly = []Role{RoleOffice, RoleAdmin}
	open       = []State{StateFiled, StateInvestigating, StateNoticeServed, StateHearing, StateLegalReview}
	common     = []string{FieldNote, FieldDocuments}
)

// Moves is the transition table: one row per action. An officer may never
// decide, and only the legal office (office, admin) records a legal review,
// corrects a decision or revokes it. A revoked decision (撤销, by the organ
// itself or on reconsideration or judgment) moves the case to withdrawn and
// keeps its decision date and amounts, so that the record of what was
// decided stays; RevokedAt marks it and takes it off the public lists.
var Moves = []Move{
	{Action: ActionStartInvestigation, From: []State{StateFiled}, To: StateInvestigating, Roles: anyRole,
		Optional: common},
	{Action: ActionServeNotice, From: []State{StateInvestigating}, To: StateNoticeServed, Roles: anyRole,
		Requires: []string{FieldProposedFineFen, FieldDocuments},
		Optional: []string{FieldConfiscationFen, FieldCircumstances, FieldJustification, FieldNote}},
	{Action: ActionRequestHearing, From: []State{StateNoticeServed}, To: StateHearing, Roles: anyRole,
		Optional: common, Window: DeadlineHearingRequest},
	{Action: ActionSubmitReview, From: []State{StateNoticeServed, StateHearing}, To: StateLegalReview, Roles: anyRole,
		Optional: common},
	{Action: ActionRecordReview, From: []State{StateLegalReview}, Roles: officeOnly,
		Requires: []string{FieldReviewReviewer, FieldReviewOpinion, FieldReviewDate}, Optional: common},
	{Action: ActionDecide, From: []State{StateNoticeServed, StateHearing, StateLegalReview}, To: StateDecided, Roles: leadRoles,
		Requires: []string{FieldDecidedFineFen, FieldDocuments},
		Optional: []string{FieldConfiscationFen, FieldCircumstances, FieldJustification, FieldWaiver, FieldNote},
		Deadline: DeadlineDecision, NotBefore: []string{DeadlineDefence, DeadlineHearingRequest}},
	{Action: ActionServeDecision, From: []State{StateDecided}, To: StateServed, Roles: anyRole,
		Requires: []string{FieldDocuments}, Optional: []string{FieldNote}, Deadline: DeadlineService},
	{Action: ActionRecordPayment, From: []State{StateServed}, To: StatePaid, Roles: anyRole, Optional: common},
	{Action: ActionEnforce, From: []State{StateServed}, To: StateEnforced, Roles: leadRoles,
		Requires: []string{FieldDocuments}, Optional: []string{FieldNote}},
	{Action: ActionClose, From: []State{StateServed, StatePaid, StateEnforced}, To: StateClosed, Roles: leadRoles, Optional: common},
	{Action: ActionWithdraw, From: open, To: StateWithdrawn, Roles: leadRoles,
		Requires: []string{FieldReason}, Optional: common},
	{Action: ActionTransfer, From: open, To: StateTransferred, Roles: leadRoles,
		Requires: []string{FieldTransferOrgan, FieldTransferDate, FieldDocuments}, Optional: []string{FieldNote}},
	{Action: ActionCorrectDecision, From: []State{StateDecided, StateServed, StatePaid, StateEnforced}, Roles: officeOnly,
		Requires: []string{FieldReason, FieldDecidedFineFen},
		Optional: []string{FieldConfiscationFen, FieldJustification, FieldNote, FieldDocuments}},
	{Action: ActionRevoke, From: []State{StateDecided, StateServed, StatePaid, StateEnforced, StateClosed}, To: StateWithdrawn,
		Roles: officeOnly, Requires: []string{FieldReason, FieldDocuments}, Optional: []string{FieldNote}},
}

// Step is one action a user asks to take on a case, with the fields it
// carries. At is the legal date of the act (the day a notice was handed
// over, say); zero means now. The pointer fields are nil when not given.
type Step struct {
	Action          string         `json:"action"`
	At              time.Time      `json:"at,omitzero"`
	ProposedFineFen *int64         `json:"proposed_fine_fen,omitempty"`
	DecidedFineFen  *int64         `json:"decided_fine_fen,omitempty"`
	ConfiscationFen *int64         `json:"confiscation_fen,omitempty"`
	Circumstances   *Circumstances `json:"circumstances,omitempty"`
	Justification   string         `json:"justification,omitempty"`
	Reason          string         `json:"reason,omitempty"`
	Review          *LegalReview   `json:"review,omitempty"`
	Transfer        *Transfer      `json:"transfer,omitempty"`
	// Waiver records that the party waived its defence and hearing-request
	// periods in writing; the waiver document is among Documents.
	Waiver    bool     `json:"waiver,omitempty"`
	Note      string   `json:"note,omitempty"`
	Documents []string `json:"documents,omitempty"`
}

// present reports whether the step carries the named field.
func (s Step) present(name string) bool {
	switch name {
	case FieldProposedFineFen:
		return s.ProposedFineFen != nil
	case FieldDecidedFineFen:
		return s.DecidedFineFen != nil
	case FieldConfiscationFen:
		return s.ConfiscationFen != nil
	case FieldCircumstances:
		return s.Circumstances != nil
	case FieldJustification:
		return !enforcement.IsBlank(s.Justification)
	case FieldReason:
		return !enforcement.IsBlank(s.Reason)
	case FieldReviewReviewer:
		return s.Review != nil && !enforcement.IsBlank(s.Review.Reviewer)
	case FieldReviewOpinion:
		return s.Review != nil && !enforcement.IsBlank(s.Review.Opinion)
	case FieldReviewDate:
		return s.Review != nil && !s.Review.Date.IsZero()
	case FieldTransferOrgan:
		return s.Transfer != nil && !enforcement.IsBlank(s.Transfer.Organ)
	case FieldTransferDate:
		return s.Transfer != nil && !s.Transfer.Date.IsZero()
	case FieldWaiver:
		return s.Waiver
	case FieldNote:
		return !enforcement.IsBlank(s.Note)
	case FieldDocuments:
		return len(s.Documents) > 0
	}
	return false
}

var stepFields = []string{FieldProposedFineFen, FieldDecidedFineFen, FieldConfiscationFen, FieldCircumstances,
	FieldJustification, FieldReason, FieldReviewReviewer, FieldReviewOpinion, FieldReviewDate,
	FieldTransferOrgan, FieldTransferDate, FieldWaiver, FieldNote, FieldDocuments}

// TransitionError is the error of a step the case's state does not allow:
// an action not allowed from the state, or one whose legal precondition
// fails (Reason says which), with the actions the table allows from the
// current state (see enforcement.TransitionError). It wraps
// enforcement.ErrConflict.
type TransitionError = enforcement.TransitionError

// Allowed returns the actions the table allows from state s, in table order
// (whatever the role).
func Allowed(s State) []string {
	var out []string
	for _, m := range Moves {
		if slices.Contains(m.From, s) {
			out = append(out, m.Action)
		}
	}
	return out
}

// MoveFor returns the table row of an action.
func MoveFor(action string) (Move, bool) {
	for _, m := range Moves {
		if m.Action == action {
			return m, true
		}
	}
	return Move{}, false
}

func checkActor(a Actor) error {
	if enforcement.IsBlank(a.ID) {
		return fmt.Errorf("%w: no actor", enforcement.ErrForbidden)
	}
	switch a.Role {
	case RoleOfficer, RoleSupervisor, RoleOffice, RoleAdmin:
		return nil
	}
	return fmt.Errorf("%w: role %q may not act on cases", enforcement.ErrForbidden, a.Role)
}

// Transition applies one step to a case and returns the new case; c itself
// is never modified. The checks run in this order, and the first failing
// one decides the error:
//  1. the actor: an empty id or a role that is not one of the four →
//     enforcement.ErrForbidden;
//  2. the action: unknown → enforcement.ErrInvalid;
//  3. the role policy of the action (an officer may never decide) →
//     enforcement.ErrForbidden;
//  4. the state: an action not allowed from c.State → *TransitionError
//     (enforcement.ErrConflict) listing the allowed actions; a decided
//     amount given to any action but decide and correct_decision once the
//     case is decided → enforcement.ErrConflict;
//  5. the fields: each missing required field, each field the action does
//     not use and each bad value (negative fine, bad document hash, At in
//     the future or before the previous step) → enforcement.ErrInvalid with
//     a *enforcement.ValidationError naming each;
//  6. the legal preconditions → *TransitionError with a Reason: a hearing
//     request below the hearing threshold or after its period; a decision
//     before the party's defence (and, when a hearing could be requested,
//     hearing-request) period ended without a waiver; a major decision
//     (IsMajor with the MajorRules in force on the decision date) without a
//     recorded legal review;
//  7. the catalogue, when rules.Catalogue is set: serve_notice, decide and
//     correct_decision check the fine with Catalogue.Check and keep its
//     BandCheck on the case; a fine outside every band without a
//     justification → enforcement.ErrInvalid.
//
// correct_decision (office or admin, with a reason) is the only way to
// change a decided amount; the step keeps the previous amounts in its
// fields and does not re-run the major gate, since only the legal office
// may take it.
//
// The applied step is appended to Steps with At (the act's date), now (when
// it was recorded), the fields it carried and its documents; a step that
// meets a deadline after it passed is marked Late.
func Transition(c Case, step Step, actor Actor, rules Rules, now time.Time) (Case, error) {
	if err := checkActor(actor); err != nil {
		return Case{}, fmt.Errorf("cases: %s: %w", step.Action, err)
	}
	m, ok := MoveFor(step.Action)
	if !ok {
		v := &validation{}
		v.Add("action", "unknown action %q", step.Action)
		return Case{}, fmt.Errorf("cases: transition: %w", v.Err())
	}
	if !slices.Contains(m.Roles, actor.Role) {
		return Case{}, fmt.Errorf("cases: %s: %w: a %s may not %s", m.Action, enforcement.ErrForbidden, actor.Role, m.Action)
	}
	if !slices.Contains(States, c.State) {
		v := &validation{}
		v.Add("state", "unknown state %q", c.State)
		return Case{}, fmt.Errorf("cases: %s: %w", m.Action, v.Err())
	}
	if !slices.Contains(m.From, c.State) {
		return Case{}, &TransitionError{Domain: "cases", Action: m.Action, From: string(c.State), Allowed: Allowed(c.State)}
	}
	if (step.DecidedFineFen != nil || step.ConfiscationFen != nil) && !c.DecidedAt.IsZero() &&
		m.Action != ActionDecide && m.Action != ActionCorrectDecision {
		return Case{}, fmt.Errorf("cases: %s: %w: a decided amount changes only through %s", m.Action, enforcement.ErrConflict, ActionCorrectDecision)
	}

	at := step.At
	if at.IsZero() {
		at = now
	}
	if err := checkFields(c, m, step, at, now); err != nil {
		return Case{}, fmt.Errorf("cases: %s: %w", m.Action, err)
	}

	next := c
	next.Steps = slices.Clone(c.Steps)
	next.MajorReasons = slices.Clone(c.MajorReasons)
	rec := StepRecord{Action: m.Action, From: c.State, To: m.To, Actor: actor, At: at, RecordedAt: now,
		Fields: map[string]string{}, Documents: slices.Clone(step.Documents)}
	if m.To == "" {
		rec.To = c.State
	}
	next.State = rec.To
	refuse := func(format string, args ...any) (Case, error) {
		return Case{}, &TransitionError{Domain: "cases", Action: m.Action, From: string(c.State), Reason: fmt.Sprintf(format, args...), Allowed: Allowed(c.State)}
	}

	if step.Circumstances != nil {
		next.Circumstances = *step.Circumstances
	}
	if step.ConfiscationFen != nil {
		next.ConfiscationFen = *step.ConfiscationFen
	}
	switch m.Action {
	case ActionServeNotice:
		next.ProposedFineFen = *step.ProposedFineFen
		next.NoticeAt = at
		eligible, threshold := hearingEligible(next, rules)
		rec.Fields["hearing_right"] = strconv.FormatBool(eligible)
		if threshold >= 0 {
			rec.Fields["hearing_threshold_fen"] = strconv.FormatInt(threshold, 10)
		}
	case ActionRequestHearing:
		if eligible, threshold := hearingEligible(c, rules); !eligible {
			return refuse("the proposed fine %d fen is below the hearing threshold %d fen", c.ProposedFineFen, threshold)
		}
		if d, ok := windowOf(c, rules, m.Window); ok && !at.Before(d.DueBy) {
			return refuse("the hearing request period ended on %s", d.DueDate)
		}
	case ActionRecordReview:
		r := *step.Review
		next.Review = &r
	case ActionDecide:
		next.DecidedFineFen = *step.DecidedFineFen
		next.DecidedAt = at
		if !step.Waiver {
			for _, name := range m.NotBefore {
				if name == DeadlineHearingRequest {
					if eligible, _ := hearingEligible(c, rules); !eligible || visited(c, StateHearing) {
						continue
					}
				}
				if d, ok := windowOf(c, rules, name); ok && at.Before(d.DueBy) {
					return refuse("the party's %s period runs until %s (end of day) and was not waived", name, d.DueDate)
				}
			}
		}
		major, reasons := false, []string(nil)
		if mr, ok := majorInForce(rules, at); ok {
			major, reasons = IsMajor(next, mr)
		}
		if major && next.Review == nil {
			return refuse("a major decision (%s) needs a recorded legal review", strings.Join(reasons, "; "))
		}
		next.Major, next.MajorReasons = major, reasons
	case ActionServeDecision:
		next.ServedAt = at
	case ActionClose:
		if c.State == StateServed && (c.DecidedFineFen > 0 || c.ConfiscationFen > 0) {
			return refuse("the decision imposes %d fen of fine and %d fen of confiscation: it closes once paid or enforced; only a warning closes once served",
				c.DecidedFineFen, c.ConfiscationFen)
		}
		next.ClosedAt = at
	case ActionRevoke:
		next.RevokedAt = at
	case ActionTransfer:
		t := *step.Transfer
		next.Transfer = &t
	case ActionCorrectDecision:
		rec.Fields["previous_decided_fine_fen"] = strconv.FormatInt(c.DecidedFineFen, 10)
		rec.Fields["previous_confiscation_fen"] = strconv.FormatInt(c.ConfiscationFen, 10)
		next.DecidedFineFen = *step.DecidedFineFen
	}

	if rules.Catalogue != nil {
		var fine int64 = -1
		switch m.Action {
		case ActionServeNotice:
			fine = next.ProposedFineFen
		case ActionDecide, ActionCorrectDecision:
			fine = next.DecidedFineFen
		}
		if fine >= 0 {
			bc, err := rules.Catalogue.Check(next.Violation, next.Circumstances, fine, step.Justification)
			if err != nil {
				return Case{}, fmt.Errorf("cases: %s: %w", m.Action, err)
			}
			next.Band = &bc
			if bc.Flagged() {
				rec.Fields["band_flagged"] = "true"
			}
		}
	}

	if m.Deadline != "" {
		if d, ok := deadlineOf(c, rules, m.Deadline); ok && !at.Before(d.DueBy) {
			rec.Late = true
		}
	}
	for _, name := range stepFields {
		if name != FieldDocuments && step.present(name) {
			rec.Fields[name] = step.fieldText(name)
		}
	}
	if len(rec.Fields) == 0 {
		rec.Fields = nil
	}
	next.Steps = append(next.Steps, rec)
	return next, nil
}

// checkFields reports each missing, unused or bad field of the step.
func checkFields(c Case, m Move, s Step, at, now time.Time) error {
	v := &validation{}
	for _, name := range m.Requires {
		if !s.present(name) {
			v.Add(name, "required for %s", m.Action)
		}
	}
	for _, name := range stepFields {
		if s.present(name) && !slices.Contains(m.Requires, name) && !slices.Contains(m.Optional, name) {
			v.Add(name, "not used by %s", m.Action)
		}
	}
	// An empty review or transfer given to an action that takes none.
	if s.Review != nil && !slices.Contains(m.Requires, FieldReviewReviewer) &&
		!s.present(FieldReviewReviewer) && !s.present(FieldReviewOpinion) && !s.present(FieldReviewDate) {
		v.Add("review", "not used by %s", m.Action)
	}
	if s.Transfer != nil && !slices.Contains(m.Requires, FieldTransferOrgan) &&
		!s.present(FieldTransferOrgan) && !s.present(FieldTransferDate) {
		v.Add("transfer", "not used by %s", m.Action)
	}
	var previous time.Time
	if n := len(c.Steps); n > 0 {
		previous = c.Steps[n-1].At
	} else {
		previous = c.FiledAt
	}
	v.Instant("at", at, previous, now, false)
	if s.ProposedFineFen != nil {
		v.Fen(FieldProposedFineFen, *s.ProposedFineFen)
	}
	if s.DecidedFineFen != nil {
		v.Fen(FieldDecidedFineFen, *s.DecidedFineFen)
	}
	if s.ConfiscationFen != nil {
		v.Fen(FieldConfiscationFen, *s.ConfiscationFen)
	}
	if s.Circumstances != nil {
		v.circumstances(FieldCircumstances, *s.Circumstances, true)
	}
	v.Text(FieldJustification, s.Justification, enforcement.MaxNoteRunes, false)
	v.Text(FieldReason, s.Reason, enforcement.MaxNoteRunes, false)
	v.Text(FieldNote, s.Note, enforcement.MaxNoteRunes, false)
	if s.Review != nil {
		v.Text(FieldReviewReviewer, s.Review.Reviewer, enforcement.MaxTextRunes, false)
		v.Text(FieldReviewOpinion, s.Review.Opinion, enforcement.MaxNoteRunes, false)
		v.Instant(FieldReviewDate, s.Review.Date, c.FiledAt, now, false)
	}
	if s.Transfer != nil {
		v.Text(FieldTransferOrgan, s.Transfer.Organ, enforcement.MaxTextRunes, false)
		v.Instant(FieldTransferDate, s.Transfer.Date, c.FiledAt, now, false)
	}
	if s.Waiver && len(s.Documents) == 0 {
		v.Add(FieldWaiver, "needs the party's written waiver among the documents")
	}
	v.Documents(s.Documents)
	return v.Err()
}

// fieldText formats a present field for StepRecord.Fields.
func (s Step) fieldText(name string) string {
	switch name {
	case FieldProposedFineFen:
		return strconv.FormatInt(*s.ProposedFineFen, 10)
	case FieldDecidedFineFen:
		return strconv.FormatInt(*s.DecidedFineFen, 10)
	case FieldConfiscationFen:
		return strconv.FormatInt(*s.ConfiscationFen, 10)
	case FieldCircumstances:
		return s.Circumstances.String()
	case FieldJustification:
		return s.Justification
	case FieldReason:
		return s.Reason
	case FieldReviewReviewer:
		return s.Review.Reviewer
	case FieldReviewOpinion:
		return s.Review.Opinion
	case FieldReviewDate:
		return s.Review.Date.UTC().Format(time.RFC3339)
	case FieldTransferOrgan:
		return s.Transfer.Organ
	case FieldTransferDate:
		return s.Transfer.Date.UTC().Format(time.RFC3339)
	case FieldWaiver:
		return "true"
	case FieldNote:
		return s.Note
	}
	return ""
}

// visited reports whether the case was ever in state s.
func visited(c Case, s State) bool {
	for _, st := range c.Steps {
		if st.To == s {
			return true
		}
	}
	return c.State == s
}

// IsTransitionError reports whether err is (or wraps) a *TransitionError
// and returns it.
func IsTransitionError(err error) (*TransitionError, bool) { return enforcement.IsTransitionError(err) }
