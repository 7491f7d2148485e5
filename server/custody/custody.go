package custody

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// State is where an item stands in custody.
type State string

// The states of an item. Returned, destroyed and auctioned are final: no
// action is allowed from them.
const (
	Received  State = "received"
	Stored    State = "stored"
	Returned  State = "returned"
	Destroyed State = "destroyed"
	Auctioned State = "auctioned"
)

// States lists every state in the order an item passes through them.
var States = []State{Received, Stored, Returned, Destroyed, Auctioned}

// Final reports whether s is a final state (returned, destroyed or
// auctioned), from which no action is allowed.
func Final(s State) bool {
	return s == Returned || s == Destroyed || s == Auctioned
}

// The actions. ActionReceive takes an item into custody (Receive); the
// others are the Apply steps listed in Moves.
const (
	ActionReceive = "receive"
	ActionStore   = "store"
	ActionMove    = "move"
	ActionValue   = "value"
	ActionReturn  = "return"
	ActionDestroy = "destroy"
	ActionAuction = "auction"
)

// The roles of an Actor; they are the server's auth roles.
const (
	RoleOfficer    = "officer"
	RoleSupervisor = "supervisor"
	RoleOffice     = "office"
	RoleAdmin      = "admin"
)

// The names of the fields a Step may carry, as Move.Requires and
// Move.Optional list them and as a ValidationError names them.
const (
	FieldLocation    = "location"
	FieldValueFen    = "value_fen"
	FieldProceedsFen = "proceeds_fen"
	FieldRecipient   = "recipient"
	FieldNote        = "note"
	FieldDocuments   = "documents"
)

// stepFields lists every field of a Step in a stable order.
var stepFields = []string{FieldLocation, FieldValueFen, FieldProceedsFen, FieldRecipient, FieldNote, FieldDocuments}

// Actor is who takes a step: a user id and one of the four roles. An empty
// id or any other role may not act (enforcement.ErrForbidden).
type Actor struct {
	ID   string `json:"id"`
	Role string `json:"role"`
}

// ItemID returns the id of line `line` (0-based index in Record.Items) of
// the record recordID: "{recordID}:{line}" with the line zero-padded to
// three digits, e.g. ItemID("01ABC", 0) == "01ABC:000".
func ItemID(recordID string, line int) string {
	return fmt.Sprintf("%s:%03d", recordID, line)
}

// Event is one step in the life of an item in custody: the action, the
// state it left (empty for receive) and the one it led to, who took it, the
// date of the act (At) and when it was recorded (RecordedAt), the fields it
// carried and the SHA-256 hex of its documents.
type Event struct {
	Action      string    `json:"action"`
	From        State     `json:"from,omitempty"`
	To          State     `json:"to"`
	Actor       Actor     `json:"actor"`
	At          time.Time `json:"at"`
	RecordedAt  time.Time `json:"recorded_at"`
	Location    string    `json:"location,omitempty"`
	ValueFen    int64     `json:"value_fen,omitempty"`
	ProceedsFen int64     `json:"proceeds_fen,omitempty"`
	Recipient   string    `json:"recipient,omitempty"`
	Note        string    `json:"note,omitempty"`
	Documents   []string  `json:"documents,omitempty"`
}

// Item is one item line of a confiscation record in custody.
//
// Name, Quantity and UnitValueFen are copied from the record's line, and
// RecordedValueFen is Quantity×UnitValueFen as recorded in the field.
// AppraisedValueFen is the latest appraisal (0 until a value step;
// AppraisedAt tells an appraisal of 0 from none). ProceedsFen is what an
// auction brought. Location is where the item is stored, or was last
// stored once it left custody; Recipient is to whom it was returned, or the
// witness of its destruction. Events lists every step, receive first.
type Item struct {
	ID                string    `json:"id"`
	RecordID          string    `json:"record_id"`
	Line              int       `json:"line"`
	Unit              string    `json:"unit"`
	Campaign          string    `json:"campaign,omitempty"`
	CaseID            string    `json:"case_id,omitempty"`
	Name              string    `json:"name"`
	Quantity          int64     `json:"quantity"`
	UnitValueFen      int64     `json:"unit_value_fen"`
	RecordedValueFen  int64     `json:"recorded_value_fen"`
	AppraisedValueFen int64     `json:"appraised_value_fen,omitempty"`
	AppraisedAt       time.Time `json:"appraised_at,omitzero"`
	ProceedsFen       int64     `json:"proceeds_fen,omitempty"`
	ConfiscatedAt     time.Time `json:"confiscated_at"`
	State             State     `json:"state"`
	Location          string    `json:"location,omitempty"`
	Recipient         string    `json:"recipient,omitempty"`
	Events            []Event   `json:"events,omitempty"`
}

// Receive takes line `line` of the confiscation record r into custody and
// returns the new Item in state received, with one receive Event. actor
// takes it at `at` (zero means now), optionally at location and tied to the
// penalty case caseID; documents (SHA-256 hex) may prove the hand-over.
//
// An actor with an empty id or a role other than the four is refused with
// enforcement.ErrForbidden. Otherwise every problem is reported at once
// with enforcement.ErrInvalid and a *enforcement.ValidationError naming the
// fields: r without an id, not of kind confiscation or voided; a line out
// of range; at in the future or before r.ObservedAt; a location or case id
// too long or not valid UTF-8; bad, duplicate or too many documents.
func Receive(r enforcement.Record, line int, caseID string, location string, actor Actor, at, now time.Time, documents []string) (Item, error) {
	if err := checkActor(actor); err != nil {
		return Item{}, fmt.Errorf("custody: %s: %w", ActionReceive, err)
	}
	if at.IsZero() {
		at = now
	}
	v := &validation{}
	if enforcement.IsBlank(r.ID) {
		v.Add("id", "the record has no id")
	}
	if r.Kind != enforcement.KindConfiscation {
		v.Add("kind", "must be %s, not %q", enforcement.KindConfiscation, r.Kind)
	}
	if r.Voided {
		v.Add("voided", "the record is voided")
	}
	if line < 0 || line >= len(r.Items) {
		v.Add("line", "must be between 0 and %d: the record has %d item lines", len(r.Items)-1, len(r.Items))
	}
	v.Instant("at", at, r.ObservedAt, now, false)
	v.Text(FieldLocation, location, enforcement.MaxTextRunes, false)
	v.Text("case_id", caseID, enforcement.MaxIDLength, false)
	v.Documents(documents)
	if err := v.Err(); err != nil {
		return Item{}, fmt.Errorf("custody: %s: %w", ActionReceive, err)
	}
	src := r.Items[line]
	it := Item{
		ID:               ItemID(r.ID, line),
		RecordID:         r.ID,
		Line:             line,
		Unit:             r.Unit,
		Campaign:         r.Campaign,
		CaseID:           caseID,
		Name:             src.Name,
		Quantity:         src.Quantity,
		UnitValueFen:     src.UnitValueFen,
		RecordedValueFen: src.Quantity * src.UnitValueFen,
		ConfiscatedAt:    r.ObservedAt,
		State:            Received,
		Location:         location,
	}
	it.Events = []Event{{
		Action:     ActionReceive,
		To:         Received,
		Actor:      actor,
		At:         at,
		RecordedAt: now,
		Location:   location,
		Documents:  slices.Clone(documents),
	}}
	return it, nil
}

// Step is one action a user asks to take on an item, with the fields it
// carries. At is the date of the act (the day the owner signed the return
// receipt, say); zero means now. The pointer fields are nil when not given.
type Step struct {
	Action      string    `json:"action"`
	At          time.Time `json:"at,omitzero"`
	Location    string    `json:"location,omitempty"`
	ValueFen    *int64    `json:"value_fen,omitempty"`
	ProceedsFen *int64    `json:"proceeds_fen,omitempty"`
	Recipient   string    `json:"recipient,omitempty"`
	Note        string    `json:"note,omitempty"`
	Documents   []string  `json:"documents,omitempty"`
}

// present reports whether the step carries the named field. A blank text
// counts as absent.
func (s Step) present(name string) bool {
	switch name {
	case FieldLocation:
		return !enforcement.IsBlank(s.Location)
	case FieldValueFen:
		return s.ValueFen != nil
	case FieldProceedsFen:
		return s.ProceedsFen != nil
	case FieldRecipient:
		return !enforcement.IsBlank(s.Recipient)
	case FieldNote:
		return !enforcement.IsBlank(s.Note)
	case FieldDocuments:
		return len(s.Documents) > 0
	}
	return false
}

// Move is one row of the transition table: the action, the states it may
// be taken from, the state it leads to ("" = the item stays where it is),
// the roles that may take it, and the fields (documents included) it
// requires and may carry. Any other field is an error.
type Move struct {
	Action   string
	From     []State
	To       State
	Roles    []string
	Requires []string
	Optional []string
}

var (
	anyRole    = []string{RoleOfficer, RoleSupervisor, RoleOffice, RoleAdmin}
	leadRoles  = []string{RoleSupervisor, RoleOffice, RoleAdmin}
	officeOnly = []string{RoleOffice, RoleAdmin}
	held       = []State{Received, Stored}
	noteOnly   = []string{FieldNote}
)

// Moves is the transition table: one row per action. Any officer may store
// and move an item; appraising, returning and destroying need a supervisor,
// the office or an admin, and only the office or an admin may auction.
// Returning, destroying and auctioning need documents (the return receipt,
// the destruction record, the auction record); the recipient of a return is
// the owner, that of a destruction the witness.
var Moves = []Move{
	{Action: ActionStore, From: []State{Received}, To: Stored, Roles: anyRole,
		Requires: []string{FieldLocation}, Optional: noteOnly},
	{Action: ActionMove, From: []State{Stored}, To: Stored, Roles: anyRole,
		Requires: []string{FieldLocation}, Optional: noteOnly},
	{Action: ActionValue, From: held, Roles: leadRoles,
		Requires: []string{FieldValueFen}, Optional: []string{FieldNote, FieldDocuments}},
	{Action: ActionReturn, From: held, To: Returned, Roles: leadRoles,
		Requires: []string{FieldRecipient, FieldDocuments}, Optional: noteOnly},
	{Action: ActionDestroy, From: held, To: Destroyed, Roles: leadRoles,
		Requires: []string{FieldRecipient, FieldDocuments}, Optional: noteOnly},
	{Action: ActionAuction, From: []State{Stored}, To: Auctioned, Roles: officeOnly,
		Requires: []string{FieldProceedsFen, FieldDocuments}, Optional: noteOnly},
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

// Allowed returns the actions the table allows from state s, in table order
// and whatever the role; it is empty for a final or unknown state.
func Allowed(s State) []string {
	var out []string
	for _, m := range Moves {
		if slices.Contains(m.From, s) {
			out = append(out, m.Action)
		}
	}
	return out
}

// TransitionError is the error of a step the item's state does not allow
// (see enforcement.TransitionError); it wraps enforcement.ErrConflict.
type TransitionError = enforcement.TransitionError

// IsTransitionError reports whether err is (or wraps) a *TransitionError
// and returns it.
func IsTransitionError(err error) (*TransitionError, bool) { return enforcement.IsTransitionError(err) }

func checkActor(a Actor) error {
	if enforcement.IsBlank(a.ID) {
		return fmt.Errorf("%w: no actor", enforcement.ErrForbidden)
	}
	if !slices.Contains(anyRole, a.Role) {
		return fmt.Errorf("%w: role %q may not act on items in custody", enforcement.ErrForbidden, a.Role)
	}
	return nil
}

// Apply applies one step to an item and returns the new item; it itself is
// never modified (the new item's Events is a fresh slice). The checks run
// in this order, and the first failing one decides the error:
//  1. the actor: an empty id or a role that is not one of the four →
//     enforcement.ErrForbidden;
//  2. the action: unknown (receive included, see Receive) →
//     enforcement.ErrInvalid;
//  3. the role policy of the action → enforcement.ErrForbidden;
//  4. the state: an unknown state → enforcement.ErrInvalid; an action not
//     allowed from it.State → *TransitionError (enforcement.ErrConflict)
//     listing the allowed actions;
//  5. the fields: each missing required field, each field the action does
//     not use ("not used by X") and each bad value (an amount outside
//     0..enforcement.MaxFineFen, a text too long or not valid UTF-8, a bad,
//     duplicate or surplus document, At in the future or before the last
//     event's At) → enforcement.ErrInvalid with a
//     *enforcement.ValidationError naming each;
//  6. the preconditions → *TransitionError with a Reason: a move to the
//     location the item is already at.
//
// On success the item takes the step's effect (store and move set
// Location, value sets AppraisedValueFen and AppraisedAt, return and
// destroy set Recipient, auction sets ProceedsFen), moves to the row's
// state, and gets an Event with At (zero means now), RecordedAt = now, the
// fields the step carried and its documents.
func Apply(it Item, s Step, actor Actor, now time.Time) (Item, error) {
	if err := checkActor(actor); err != nil {
		return Item{}, fmt.Errorf("custody: %s: %w", s.Action, err)
	}
	m, ok := MoveFor(s.Action)
	if !ok {
		v := &validation{}
		v.Add("action", "unknown action %q", s.Action)
		return Item{}, fmt.Errorf("custody: apply: %w", v.Err())
	}
	if !slices.Contains(m.Roles, actor.Role) {
		return Item{}, fmt.Errorf("custody: %s: %w: a %s may not %s", m.Action, enforcement.ErrForbidden, actor.Role, m.Action)
	}
	if !slices.Contains(States, it.State) {
		v := &validation{}
		v.Add("state", "unknown state %q", it.State)
		return Item{}, fmt.Errorf("custody: %s: %w", m.Action, v.Err())
	}
	if !slices.Contains(m.From, it.State) {
		return Item{}, &TransitionError{Domain: "custody", Action: m.Action, From: string(it.State), Allowed: Allowed(it.State)}
	}

	at := s.At
	if at.IsZero() {
		at = now
	}
	if err := checkFields(it, m, s, at, now); err != nil {
		return Item{}, fmt.Errorf("custody: %s: %w", m.Action, err)
	}
	if m.Action == ActionMove && strings.TrimSpace(s.Location) == strings.TrimSpace(it.Location) {
		return Item{}, &TransitionError{Domain: "custody", Action: m.Action, From: string(it.State),
			Reason: fmt.Sprintf("the item is already at %q", it.Location), Allowed: Allowed(it.State)}
	}

	ev := Event{Action: m.Action, From: it.State, To: m.To, Actor: actor, At: at, RecordedAt: now,
		Location: s.Location, Recipient: s.Recipient, Note: s.Note, Documents: slices.Clone(s.Documents)}
	if ev.To == "" {
		ev.To = it.State
	}
	if !s.present(FieldLocation) {
		ev.Location = ""
	}
	if !s.present(FieldRecipient) {
		ev.Recipient = ""
	}
	if !s.present(FieldNote) {
		ev.Note = ""
	}
	if len(ev.Documents) == 0 {
		ev.Documents = nil
	}

	next := it
	switch m.Action {
	case ActionStore, ActionMove:
		next.Location = s.Location
	case ActionValue:
		ev.ValueFen = *s.ValueFen
		next.AppraisedValueFen = *s.ValueFen
		next.AppraisedAt = at
	case ActionReturn, ActionDestroy:
		next.Recipient = s.Recipient
	case ActionAuction:
		ev.ProceedsFen = *s.ProceedsFen
		next.ProceedsFen = *s.ProceedsFen
	}
	next.State = ev.To
	events := make([]Event, len(it.Events), len(it.Events)+1)
	copy(events, it.Events)
	next.Events = append(events, ev)
	return next, nil
}

// checkFields reports each missing, unused or bad field of the step.
func checkFields(it Item, m Move, s Step, at, now time.Time) error {
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
	previous := it.ConfiscatedAt
	if n := len(it.Events); n > 0 {
		previous = it.Events[n-1].At
	}
	v.Instant("at", at, previous, now, false)
	if s.ValueFen != nil {
		v.Fen(FieldValueFen, *s.ValueFen)
	}
	if s.ProceedsFen != nil {
		v.Fen(FieldProceedsFen, *s.ProceedsFen)
	}
	v.Text(FieldLocation, s.Location, enforcement.MaxTextRunes, false)
	v.Text(FieldRecipient, s.Recipient, enforcement.MaxTextRunes, false)
	v.Text(FieldNote, s.Note, enforcement.MaxNoteRunes, false)
	v.Documents(s.Documents)
	return v.Err()
}
