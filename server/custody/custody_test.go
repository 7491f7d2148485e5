package custody

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

var (
	observed = time.Date(2024, 6, 1, 9, 0, 0, 0, enforcement.Shanghai)
	now      = observed.Add(30 * 24 * time.Hour)

	officer    = Actor{ID: "u-officer", Role: RoleOfficer}
	supervisor = Actor{ID: "u-super", Role: RoleSupervisor}
	office     = Actor{ID: "u-office", Role: RoleOffice}
	admin      = Actor{ID: "u-admin", Role: RoleAdmin}
)

func doc(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func fen(v int64) *int64 { return &v }

func record() enforcement.Record {
	return enforcement.Record{
		ID:         "01ABC",
		Kind:       enforcement.KindConfiscation,
		ObservedAt: observed,
		Unit:       "unit-xwz",
		Campaign:   "summer-2024",
		Items: []enforcement.Item{
			{Name: "fishing rod", Quantity: 3, UnitValueFen: 150_00},
			{Name: "net", Quantity: 1, UnitValueFen: 80_00},
			{Name: "inflatable boat", Quantity: 1, UnitValueFen: 1200_00},
		},
	}
}

// received returns line 0 of record() received one day after it was observed.
func received(t *testing.T) Item {
	t.Helper()
	it, err := Receive(record(), 0, "", "", officer, observed.Add(24*time.Hour), now, []string{doc("handover")})
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return it
}

// apply applies steps in order and fails the test on any error.
func apply(t *testing.T, it Item, steps ...Step) Item {
	t.Helper()
	for _, s := range steps {
		var err error
		it, err = Apply(it, s, admin, now)
		if err != nil {
			t.Fatalf("Apply %s: %v", s.Action, err)
		}
	}
	return it
}

func day(n int) time.Time { return observed.Add(time.Duration(n) * 24 * time.Hour) }

var (
	storeA   = Step{Action: ActionStore, At: day(2), Location: "evidence room A"}
	returnIt = Step{Action: ActionReturn, At: day(3), Recipient: "Zhang San", Documents: []string{doc("receipt")}}
	destroy  = Step{Action: ActionDestroy, At: day(3), Recipient: "Li Si (witness)", Documents: []string{doc("destruction")}}
	auction  = Step{Action: ActionAuction, At: day(3), ProceedsFen: fen(900_00), Documents: []string{doc("auction")}}
)

// fieldsOf returns the field names of the *enforcement.ValidationError in
// err, or nil.
func fieldsOf(err error) []string {
	var ve *enforcement.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestItemID(t *testing.T) {
	for _, c := range []struct {
		record string
		line   int
		want   string
	}{
		{"01ABC", 0, "01ABC:000"},
		{"01ABC", 7, "01ABC:007"},
		{"r", 42, "r:042"},
		{"r", 199, "r:199"},
	} {
		if got := ItemID(c.record, c.line); got != c.want {
			t.Errorf("ItemID(%q, %d) = %q, want %q", c.record, c.line, got, c.want)
		}
	}
}

func TestReceive(t *testing.T) {
	r := record()
	at := day(1)
	docs := []string{doc("handover")}
	it, err := Receive(r, 2, "case-7", "boat shed", supervisor, at, now, docs)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	want := Item{
		ID: "01ABC:002", RecordID: "01ABC", Line: 2, Unit: "unit-xwz", Campaign: "summer-2024", CaseID: "case-7",
		Name: "inflatable boat", Quantity: 1, UnitValueFen: 1200_00, RecordedValueFen: 1200_00,
		ConfiscatedAt: observed, State: Received, Location: "boat shed",
		Events: []Event{{Action: ActionReceive, To: Received, Actor: supervisor, At: at, RecordedAt: now,
			Location: "boat shed", Documents: []string{doc("handover")}}},
	}
	if !reflect.DeepEqual(it, want) {
		t.Fatalf("Receive =\n%+v\nwant\n%+v", it, want)
	}
	docs[0] = doc("changed")
	if it.Events[0].Documents[0] != doc("handover") {
		t.Error("the event shares the documents slice of the caller")
	}

	it, err = Receive(r, 0, "", "", officer, time.Time{}, now, nil)
	if err != nil {
		t.Fatalf("Receive with zero at: %v", err)
	}
	if !it.Events[0].At.Equal(now) || it.RecordedValueFen != 450_00 || it.Events[0].Documents != nil {
		t.Errorf("zero at: got at %v, value %d, documents %v; want now, 45000, nil",
			it.Events[0].At, it.RecordedValueFen, it.Events[0].Documents)
	}
}

func TestReceiveErrors(t *testing.T) {
	voided := record()
	voided.Voided = true
	patrol := record()
	patrol.Kind = enforcement.KindPatrol
	noID := record()
	noID.ID = ""
	empty := record()
	empty.Items = nil
	tooMany := make([]string, MaxDocuments+1)
	for i := range tooMany {
		tooMany[i] = doc(fmt.Sprint(i))
	}

	for _, c := range []struct {
		name      string
		r         enforcement.Record
		line      int
		caseID    string
		location  string
		actor     Actor
		at        time.Time
		docs      []string
		forbidden bool
		fields    []string
	}{
		{name: "wrong kind", r: patrol, fields: []string{"kind"}},
		{name: "voided", r: voided, fields: []string{"voided"}},
		{name: "no record id", r: noID, fields: []string{"id"}},
		{name: "negative line", r: record(), line: -1, fields: []string{"line"}},
		{name: "line past the end", r: record(), line: 3, fields: []string{"line"}},
		{name: "record without items", r: empty, fields: []string{"line"}},
		{name: "at in the future", r: record(), at: now.Add(time.Second), fields: []string{"at"}},
		{name: "at before observed", r: record(), at: observed.Add(-time.Second), fields: []string{"at"}},
		{name: "upper-case document", r: record(), docs: []string{strings.ToUpper(doc("x"))}, fields: []string{"documents[0]"}},
		{name: "duplicate document", r: record(), docs: []string{doc("x"), doc("x")}, fields: []string{"documents[1]"}},
		{name: "too many documents", r: record(), docs: tooMany, fields: []string{"documents"}},
		{name: "location too long", r: record(), location: strings.Repeat("库", enforcement.MaxTextRunes+1), fields: []string{"location"}},
		{name: "location not UTF-8", r: record(), location: "room \xff", fields: []string{"location"}},
		{name: "case id too long", r: record(), caseID: strings.Repeat("c", enforcement.MaxIDLength+1), fields: []string{"case_id"}},
		{name: "every problem at once", r: voided, line: 9, at: now.Add(time.Hour), docs: []string{"nope"},
			fields: []string{"at", "documents[0]", "line", "voided"}},
		{name: "no actor", r: patrol, actor: Actor{Role: RoleAdmin}, forbidden: true},
		{name: "unknown role", r: record(), actor: Actor{ID: "u", Role: "guest"}, forbidden: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			actor := c.actor
			if actor == (Actor{}) {
				actor = officer
			}
			at := c.at
			if at.IsZero() {
				at = day(1)
			}
			it, err := Receive(c.r, c.line, c.caseID, c.location, actor, at, now, c.docs)
			if err == nil {
				t.Fatalf("Receive succeeded: %+v", it)
			}
			if c.forbidden {
				if !errors.Is(err, enforcement.ErrForbidden) || errors.Is(err, enforcement.ErrInvalid) {
					t.Fatalf("err = %v, want ErrForbidden", err)
				}
				return
			}
			if !errors.Is(err, enforcement.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if got := fieldsOf(err); !slices.Equal(got, c.fields) {
				t.Fatalf("fields = %v, want %v (err %v)", got, c.fields, err)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	want := map[State][]string{
		Received:  {ActionStore, ActionValue, ActionReturn, ActionDestroy},
		Stored:    {ActionMove, ActionValue, ActionReturn, ActionDestroy, ActionAuction},
		Returned:  nil,
		Destroyed: nil,
		Auctioned: nil,
		"lost":    nil,
	}
	for s, w := range want {
		if got := Allowed(s); !slices.Equal(got, w) {
			t.Errorf("Allowed(%s) = %v, want %v", s, got, w)
		}
		if Final(s) != (s == Returned || s == Destroyed || s == Auctioned) {
			t.Errorf("Final(%s) = %v", s, Final(s))
		}
	}
	for _, m := range Moves {
		for _, f := range m.From {
			if Final(f) || !slices.Contains(States, f) {
				t.Errorf("%s: from %q is final or unknown", m.Action, f)
			}
		}
		if m.To != "" && !slices.Contains(States, m.To) {
			t.Errorf("%s: to unknown state %q", m.Action, m.To)
		}
		for _, r := range m.Roles {
			if !slices.Contains(anyRole, r) {
				t.Errorf("%s: unknown role %q", m.Action, r)
			}
		}
	}
}

// kind of outcome an Apply case expects.
const (
	ok        = "ok"
	forbidden = "forbidden"
	invalid   = "invalid"
	conflict  = "conflict"
)

func TestApply(t *testing.T) {
	type fixture func(t *testing.T) Item
	var (
		atReceived fixture = received
		atStored   fixture = func(t *testing.T) Item { return apply(t, received(t), storeA) }
		atReturned fixture = func(t *testing.T) Item { return apply(t, received(t), returnIt) }
		atDestroy  fixture = func(t *testing.T) Item { return apply(t, atStored(t), destroy) }
		atAuction  fixture = func(t *testing.T) Item { return apply(t, atStored(t), auction) }
		atUnknown  fixture = func(t *testing.T) Item { it := received(t); it.State = "lost"; return it }
	)
	storedAllowed := []string{ActionMove, ActionValue, ActionReturn, ActionDestroy, ActionAuction}
	receivedAllowed := []string{ActionStore, ActionValue, ActionReturn, ActionDestroy}
	tooMany := make([]string, MaxDocuments+1)
	for i := range tooMany {
		tooMany[i] = doc(fmt.Sprint(i))
	}

	for _, c := range []struct {
		name    string
		item    fixture
		step    Step
		actor   Actor
		want    string   // ok, forbidden, invalid or conflict
		fields  []string // invalid: the fields named
		allowed []string // conflict: TransitionError.Allowed
		reason  string   // conflict: a part of TransitionError.Reason ("" = none)
		check   func(t *testing.T, before, after Item)
	}{
		// store
		{name: "store from received by officer", item: atReceived, step: storeA, actor: officer, want: ok,
			check: func(t *testing.T, _, it Item) {
				if it.State != Stored || it.Location != "evidence room A" {
					t.Errorf("state %s at %q, want stored at evidence room A", it.State, it.Location)
				}
			}},
		{name: "store with a note", item: atReceived, actor: officer, want: ok,
			step: Step{Action: ActionStore, At: day(2), Location: "shed", Note: "wet, dried first"},
			check: func(t *testing.T, _, it Item) {
				if n := it.Events[len(it.Events)-1].Note; n != "wet, dried first" {
					t.Errorf("note = %q", n)
				}
			}},
		{name: "store from stored", item: atStored, step: storeA, actor: officer, want: conflict, allowed: storedAllowed},
		{name: "store from returned", item: atReturned, step: storeA, actor: admin, want: conflict, allowed: nil},
		{name: "store without location", item: atReceived, step: Step{Action: ActionStore}, actor: officer,
			want: invalid, fields: []string{"location"}},
		{name: "store with a blank location", item: atReceived, step: Step{Action: ActionStore, Location: " \u3000"}, actor: officer,
			want: invalid, fields: []string{"location"}},
		{name: "store with documents it does not use", item: atReceived, actor: officer, want: invalid, fields: []string{"documents"},
			step: Step{Action: ActionStore, Location: "A", Documents: []string{doc("x")}}},
		{name: "store with value and recipient it does not use", item: atReceived, actor: officer, want: invalid,
			fields: []string{"recipient", "value_fen"},
			step:   Step{Action: ActionStore, Location: "A", ValueFen: fen(1), Recipient: "x"}},
		{name: "store location too long", item: atReceived, actor: officer, want: invalid, fields: []string{"location"},
			step: Step{Action: ActionStore, Location: strings.Repeat("a", enforcement.MaxTextRunes+1)}},
		{name: "store location not UTF-8", item: atReceived, actor: officer, want: invalid, fields: []string{"location"},
			step: Step{Action: ActionStore, Location: "\xc3("}},

		// move
		{name: "move from stored by officer", item: atStored, actor: officer, want: ok,
			step: Step{Action: ActionMove, At: day(4), Location: "evidence room B"},
			check: func(t *testing.T, _, it Item) {
				e := it.Events[len(it.Events)-1]
				if it.State != Stored || it.Location != "evidence room B" || e.From != Stored || e.To != Stored || e.Location != "evidence room B" {
					t.Errorf("after move: state %s at %q, event %+v", it.State, it.Location, e)
				}
			}},
		{name: "move from received", item: atReceived, actor: officer, want: conflict, allowed: receivedAllowed,
			step: Step{Action: ActionMove, Location: "B"}},
		{name: "move from destroyed", item: atDestroy, actor: admin, want: conflict, allowed: nil,
			step: Step{Action: ActionMove, Location: "B"}},
		{name: "move to the same location", item: atStored, actor: officer, want: conflict, allowed: storedAllowed,
			reason: "already at", step: Step{Action: ActionMove, Location: "evidence room A"}},
		{name: "move to the same location with spaces", item: atStored, actor: officer, want: conflict, allowed: storedAllowed,
			reason: "already at", step: Step{Action: ActionMove, Location: " evidence room A "}},
		{name: "move without location", item: atStored, actor: officer, want: invalid, fields: []string{"location"},
			step: Step{Action: ActionMove, Note: "moved"}},
		{name: "move fields checked before the same-location precondition", item: atStored, actor: officer,
			want: invalid, fields: []string{"documents"},
			step: Step{Action: ActionMove, Location: "evidence room A", Documents: []string{doc("x")}}},

		// value
		{name: "value from received by supervisor", item: atReceived, actor: supervisor, want: ok,
			step: Step{Action: ActionValue, At: day(2), ValueFen: fen(400_00)},
			check: func(t *testing.T, _, it Item) {
				e := it.Events[len(it.Events)-1]
				if it.State != Received || it.AppraisedValueFen != 400_00 || !it.AppraisedAt.Equal(day(2)) ||
					e.ValueFen != 400_00 || e.From != Received || e.To != Received {
					t.Errorf("after value: %+v, event %+v", it, e)
				}
				if it.RecordedValueFen != 450_00 {
					t.Errorf("recorded value changed to %d", it.RecordedValueFen)
				}
			}},
		{name: "value from stored by office with documents", item: atStored, actor: office, want: ok,
			step: Step{Action: ActionValue, At: day(3), ValueFen: fen(10), Documents: []string{doc("appraisal")}, Note: "rusty"},
			check: func(t *testing.T, _, it Item) {
				e := it.Events[len(it.Events)-1]
				if it.State != Stored || it.AppraisedValueFen != 10 || !slices.Equal(e.Documents, []string{doc("appraisal")}) || e.Note != "rusty" {
					t.Errorf("after value: %+v, event %+v", it, e)
				}
			}},
		{name: "value zero is an appraisal", item: atReceived, actor: admin, want: ok,
			step: Step{Action: ActionValue, At: day(2), ValueFen: fen(0)},
			check: func(t *testing.T, _, it Item) {
				if it.AppraisedValueFen != 0 || !it.AppraisedAt.Equal(day(2)) {
					t.Errorf("appraised %d at %v, want 0 at %v", it.AppraisedValueFen, it.AppraisedAt, day(2))
				}
			}},
		{name: "value by officer", item: atReceived, actor: officer, want: forbidden, step: Step{Action: ActionValue, ValueFen: fen(1)}},
		{name: "value without value_fen", item: atReceived, actor: supervisor, want: invalid, fields: []string{"value_fen"},
			step: Step{Action: ActionValue}},
		{name: "value negative", item: atReceived, actor: supervisor, want: invalid, fields: []string{"value_fen"},
			step: Step{Action: ActionValue, ValueFen: fen(-1)}},
		{name: "value above the maximum", item: atReceived, actor: supervisor, want: invalid, fields: []string{"value_fen"},
			step: Step{Action: ActionValue, ValueFen: fen(enforcement.MaxFineFen + 1)}},
		{name: "value with recipient and location it does not use", item: atStored, actor: supervisor, want: invalid,
			fields: []string{"location", "recipient"},
			step:   Step{Action: ActionValue, ValueFen: fen(1), Recipient: "x", Location: "y"}},
		{name: "value from auctioned", item: atAuction, actor: admin, want: conflict, allowed: nil,
			step: Step{Action: ActionValue, ValueFen: fen(1)}},

		// return
		{name: "return from received by supervisor", item: atReceived, step: returnIt, actor: supervisor, want: ok,
			check: func(t *testing.T, _, it Item) {
				e := it.Events[len(it.Events)-1]
				if it.State != Returned || it.Recipient != "Zhang San" || e.Recipient != "Zhang San" || e.From != Received || e.To != Returned {
					t.Errorf("after return: %+v, event %+v", it, e)
				}
			}},
		{name: "return from stored keeps the last location", item: atStored, step: returnIt, actor: office, want: ok,
			check: func(t *testing.T, _, it Item) {
				if it.State != Returned || it.Location != "evidence room A" {
					t.Errorf("after return: state %s at %q", it.State, it.Location)
				}
			}},
		{name: "return by officer", item: atStored, step: returnIt, actor: officer, want: forbidden},
		{name: "return without recipient and documents", item: atStored, actor: supervisor, want: invalid,
			fields: []string{"documents", "recipient"}, step: Step{Action: ActionReturn, Note: "owner came"}},
		{name: "return with proceeds it does not use", item: atStored, actor: supervisor, want: invalid,
			fields: []string{"proceeds_fen"},
			step:   Step{Action: ActionReturn, Recipient: "x", Documents: []string{doc("r")}, ProceedsFen: fen(0)}},
		{name: "return from returned", item: atReturned, step: returnIt, actor: admin, want: conflict, allowed: nil},

		// destroy
		{name: "destroy from received by supervisor", item: atReceived, step: destroy, actor: supervisor, want: ok,
			check: func(t *testing.T, _, it Item) {
				if it.State != Destroyed || it.Recipient != "Li Si (witness)" {
					t.Errorf("after destroy: state %s, recipient %q", it.State, it.Recipient)
				}
			}},
		{name: "destroy from stored by admin", item: atStored, step: destroy, actor: admin, want: ok,
			check: func(t *testing.T, _, it Item) {
				if it.State != Destroyed {
					t.Errorf("state %s, want destroyed", it.State)
				}
			}},
		{name: "destroy by officer", item: atStored, step: destroy, actor: officer, want: forbidden},
		{name: "destroy without the destruction record", item: atStored, actor: supervisor, want: invalid,
			fields: []string{"documents"}, step: Step{Action: ActionDestroy, Recipient: "witness"}},
		{name: "destroy without a witness", item: atStored, actor: supervisor, want: invalid,
			fields: []string{"recipient"}, step: Step{Action: ActionDestroy, Documents: []string{doc("d")}}},
		{name: "destroy from auctioned", item: atAuction, step: destroy, actor: admin, want: conflict, allowed: nil},

		// auction
		{name: "auction from stored by office", item: atStored, step: auction, actor: office, want: ok,
			check: func(t *testing.T, _, it Item) {
				e := it.Events[len(it.Events)-1]
				if it.State != Auctioned || it.ProceedsFen != 900_00 || e.ProceedsFen != 900_00 || e.To != Auctioned {
					t.Errorf("after auction: %+v, event %+v", it, e)
				}
			}},
		{name: "auction from stored by admin", item: atStored, step: auction, actor: admin, want: ok},
		{name: "auction by supervisor", item: atStored, step: auction, actor: supervisor, want: forbidden},
		{name: "auction by officer", item: atStored, step: auction, actor: officer, want: forbidden},
		{name: "auction from received", item: atReceived, step: auction, actor: office, want: conflict, allowed: receivedAllowed},
		{name: "auction from destroyed", item: atDestroy, step: auction, actor: office, want: conflict, allowed: nil},
		{name: "auction without proceeds", item: atStored, actor: office, want: invalid, fields: []string{"proceeds_fen"},
			step: Step{Action: ActionAuction, Documents: []string{doc("a")}}},
		{name: "auction without documents", item: atStored, actor: office, want: invalid, fields: []string{"documents"},
			step: Step{Action: ActionAuction, ProceedsFen: fen(5)}},
		{name: "auction negative proceeds", item: atStored, actor: office, want: invalid, fields: []string{"proceeds_fen"},
			step: Step{Action: ActionAuction, ProceedsFen: fen(-5), Documents: []string{doc("a")}}},

		// actor, action and check order
		{name: "no actor id", item: atReceived, step: storeA, actor: Actor{Role: RoleAdmin}, want: forbidden},
		{name: "unknown role", item: atReceived, step: storeA, actor: Actor{ID: "u", Role: "visitor"}, want: forbidden},
		{name: "bad actor before unknown action", item: atReceived, step: Step{Action: "sell"}, actor: Actor{ID: "u"}, want: forbidden},
		{name: "unknown action", item: atReceived, step: Step{Action: "sell"}, actor: admin, want: invalid, fields: []string{"action"}},
		{name: "receive is not a step", item: atReceived, step: Step{Action: ActionReceive}, actor: admin, want: invalid, fields: []string{"action"}},
		{name: "role before state", item: atReturned, step: auction, actor: officer, want: forbidden},
		{name: "state before fields", item: atReturned, step: Step{Action: ActionDestroy}, actor: admin, want: conflict, allowed: nil},
		{name: "unknown state", item: atUnknown, step: storeA, actor: admin, want: invalid, fields: []string{"state"}},

		// times
		{name: "at before the previous event", item: atStored, actor: officer, want: invalid, fields: []string{"at"},
			step: Step{Action: ActionMove, At: day(2).Add(-time.Second), Location: "B"}},
		{name: "at equal to the previous event", item: atStored, actor: officer, want: ok,
			step: Step{Action: ActionMove, At: day(2), Location: "B"}},
		{name: "at in the future", item: atStored, actor: officer, want: invalid, fields: []string{"at"},
			step: Step{Action: ActionMove, At: now.Add(time.Minute), Location: "B"}},
		{name: "zero at means now", item: atStored, actor: officer, want: ok,
			step: Step{Action: ActionMove, Location: "B"},
			check: func(t *testing.T, _, it Item) {
				e := it.Events[len(it.Events)-1]
				if !e.At.Equal(now) || !e.RecordedAt.Equal(now) {
					t.Errorf("at %v recorded %v, want both %v", e.At, e.RecordedAt, now)
				}
			}},

		// documents and texts
		{name: "document not hex", item: atStored, actor: admin, want: invalid, fields: []string{"documents[0]"},
			step: Step{Action: ActionReturn, Recipient: "x", Documents: []string{"receipt.pdf"}}},
		{name: "document upper-case", item: atStored, actor: admin, want: invalid, fields: []string{"documents[1]"},
			step: Step{Action: ActionReturn, Recipient: "x", Documents: []string{doc("a"), strings.ToUpper(doc("b"))}}},
		{name: "document listed twice", item: atStored, actor: admin, want: invalid, fields: []string{"documents[1]"},
			step: Step{Action: ActionReturn, Recipient: "x", Documents: []string{doc("a"), doc("a")}}},
		{name: "too many documents", item: atStored, actor: admin, want: invalid, fields: []string{"documents"},
			step: Step{Action: ActionReturn, Recipient: "x", Documents: tooMany}},
		{name: "note too long", item: atStored, actor: admin, want: invalid, fields: []string{"note"},
			step: Step{Action: ActionReturn, Recipient: "x", Documents: []string{doc("a")}, Note: strings.Repeat("n", enforcement.MaxNoteRunes+1)}},
		{name: "recipient too long", item: atStored, actor: admin, want: invalid, fields: []string{"recipient"},
			step: Step{Action: ActionReturn, Recipient: strings.Repeat("r", enforcement.MaxTextRunes+1), Documents: []string{doc("a")}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := c.item(t)
			got, err := Apply(before, c.step, c.actor, now)
			switch c.want {
			case ok:
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if len(got.Events) != len(before.Events)+1 {
					t.Fatalf("events %d, want %d", len(got.Events), len(before.Events)+1)
				}
				e := got.Events[len(got.Events)-1]
				if e.Action != c.step.Action || e.Actor != c.actor || e.From != before.State || e.To != got.State || !e.RecordedAt.Equal(now) {
					t.Errorf("event %+v does not record the step", e)
				}
				if c.check != nil {
					c.check(t, before, got)
				}
				return
			case forbidden:
				if !errors.Is(err, enforcement.ErrForbidden) {
					t.Fatalf("err = %v, want ErrForbidden", err)
				}
			case invalid:
				if !errors.Is(err, enforcement.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				if f := fieldsOf(err); !slices.Equal(f, c.fields) {
					t.Fatalf("fields = %v, want %v (err %v)", f, c.fields, err)
				}
			case conflict:
				te, isTE := IsTransitionError(err)
				if !isTE || !errors.Is(err, enforcement.ErrConflict) {
					t.Fatalf("err = %v, want a *TransitionError", err)
				}
				if te.Action != c.step.Action || State(te.From) != before.State || !slices.Equal(te.Allowed, c.allowed) {
					t.Errorf("TransitionError %+v, want action %s from %s allowed %v", te, c.step.Action, before.State, c.allowed)
				}
				if c.reason == "" && te.Reason != "" || !strings.Contains(te.Reason, c.reason) {
					t.Errorf("reason %q, want one containing %q", te.Reason, c.reason)
				}
			}
			if !reflect.DeepEqual(got, Item{}) {
				t.Errorf("Apply returned %+v with its error", got)
			}
		})
	}
}

func TestApplyLifecycle(t *testing.T) {
	it := received(t)
	it = apply(t, it,
		Step{Action: ActionStore, At: day(1), Location: "A"},
		Step{Action: ActionValue, At: day(2), ValueFen: fen(300_00)},
		Step{Action: ActionMove, At: day(3), Location: "B"},
		Step{Action: ActionValue, At: day(4), ValueFen: fen(250_00), Documents: []string{doc("second")}},
		Step{Action: ActionAuction, At: day(5), ProceedsFen: fen(260_00), Documents: []string{doc("auction")}},
	)
	var actions []string
	for _, e := range it.Events {
		actions = append(actions, e.Action)
	}
	wantActions := []string{ActionReceive, ActionStore, ActionValue, ActionMove, ActionValue, ActionAuction}
	if !slices.Equal(actions, wantActions) {
		t.Errorf("events %v, want %v", actions, wantActions)
	}
	if it.State != Auctioned || it.Location != "B" || it.AppraisedValueFen != 250_00 || !it.AppraisedAt.Equal(day(4)) ||
		it.ProceedsFen != 260_00 || it.RecordedValueFen != 450_00 {
		t.Errorf("after the lifecycle: %+v", it)
	}
	if len(Allowed(it.State)) != 0 {
		t.Errorf("actions allowed from auctioned: %v", Allowed(it.State))
	}
}

func TestApplyDoesNotMutate(t *testing.T) {
	base := received(t)
	// Give Events spare capacity, so that an append in place would be
	// visible through another result.
	base.Events = append(make([]Event, 0, 8), base.Events...)
	snapshot := base
	snapshot.Events = slices.Clone(base.Events)

	docs := []string{doc("receipt")}
	a, err := Apply(base, Step{Action: ActionReturn, At: day(2), Recipient: "owner", Documents: docs}, supervisor, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Apply(base, Step{Action: ActionStore, At: day(2), Location: "A"}, officer, now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(base, snapshot) {
		t.Errorf("Apply modified its input:\n%+v\nwas\n%+v", base, snapshot)
	}
	if len(base.Events) != 1 {
		t.Errorf("input has %d events, want 1", len(base.Events))
	}
	if a.Events[1].Action != ActionReturn || b.Events[1].Action != ActionStore {
		t.Errorf("results share events: a %s, b %s", a.Events[1].Action, b.Events[1].Action)
	}
	if &a.Events[0] == &base.Events[0] {
		t.Error("the result's Events aliases the input's")
	}
	docs[0] = doc("tampered")
	if a.Events[1].Documents[0] != doc("receipt") {
		t.Error("the event shares the step's documents slice")
	}
	// A failed step leaves the input alone too.
	if _, err := Apply(base, Step{Action: ActionMove, Location: "B"}, officer, now); err == nil {
		t.Fatal("move from received succeeded")
	}
	if !reflect.DeepEqual(base, snapshot) {
		t.Error("a failed Apply modified its input")
	}
}

func TestTransitionErrorMessage(t *testing.T) {
	e := &TransitionError{Domain: "custody", Action: ActionAuction, From: string(Received), Allowed: Allowed(Received)}
	if got, want := e.Error(), "custody: auction from received: conflict: not allowed; allowed: store, value, return, destroy"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &TransitionError{Domain: "custody", Action: ActionMove, From: string(Returned)}
	if got, want := e.Error(), "custody: move from returned: conflict: not allowed; no action is allowed from returned"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &TransitionError{Domain: "custody", Action: ActionMove, From: string(Stored), Reason: `the item is already at "A"`, Allowed: []string{ActionMove}}
	if got, want := e.Error(), `custody: move from stored: conflict: the item is already at "A"; allowed: move`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(fmt.Errorf("wrapped: %w", e), enforcement.ErrConflict) {
		t.Error("a TransitionError is not an ErrConflict")
	}
}

// items returns line 0 (3 rods, 450 yuan) stored and appraised, line 1 (a
// net, 80 yuan) destroyed and line 2 (a boat, 1200 yuan) auctioned.
func items(t *testing.T) []Item {
	t.Helper()
	r := record()
	var out []Item
	for line := range r.Items {
		it, err := Receive(r, line, "", "", officer, day(1), now, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, it)
	}
	out[0] = apply(t, out[0], storeA, Step{Action: ActionValue, At: day(3), ValueFen: fen(400_00)})
	out[1] = apply(t, out[1], destroy)
	out[2] = apply(t, out[2], storeA, Step{Action: ActionValue, At: day(3), ValueFen: fen(1000_00)},
		Step{Action: ActionAuction, At: day(4), ProceedsFen: fen(1100_00), Documents: []string{doc("auction")}})
	return out
}

func TestSummarize(t *testing.T) {
	s := Summarize(items(t))
	want := Summary{
		Total: Tally{Lines: 3, Items: 5, RecordedValueFen: 1730_00, AppraisedValueFen: 1400_00, ProceedsFen: 1100_00},
		ByState: map[State]Tally{
			Received:  {},
			Stored:    {Lines: 1, Items: 3, RecordedValueFen: 450_00, AppraisedValueFen: 400_00},
			Returned:  {},
			Destroyed: {Lines: 1, Items: 1, RecordedValueFen: 80_00},
			Auctioned: {Lines: 1, Items: 1, RecordedValueFen: 1200_00, AppraisedValueFen: 1000_00, ProceedsFen: 1100_00},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Summarize =\n%+v\nwant\n%+v", s, want)
	}

	empty := Summarize(nil)
	if empty.Total != (Tally{}) || len(empty.ByState) != len(States) {
		t.Errorf("Summarize(nil) = %+v", empty)
	}
}

func TestReconcile(t *testing.T) {
	all := items(t)
	r := record()
	for _, c := range []struct {
		name   string
		items  []Item
		totals enforcement.Totals
		want   Reconciliation
	}{
		{name: "balanced", items: all,
			totals: enforcement.Totals{ItemsConfiscated: r.ItemCount(), ConfiscatedValueFen: r.ValueFen()},
			want: Reconciliation{TotalsItems: 5, TotalsValueFen: 1730_00, CustodyItems: 5, CustodyValueFen: 1730_00,
				Balanced: true}},
		{name: "a line not received", items: all[:2],
			totals: enforcement.Totals{ItemsConfiscated: 5, ConfiscatedValueFen: 1730_00},
			want: Reconciliation{TotalsItems: 5, TotalsValueFen: 1730_00, CustodyItems: 4, CustodyValueFen: 530_00,
				NotReceivedItems: 1, NotReceivedValueFen: 1200_00}},
		{name: "more in custody than in the totals", items: all,
			totals: enforcement.Totals{ItemsConfiscated: 4, ConfiscatedValueFen: 1650_00},
			want: Reconciliation{TotalsItems: 4, TotalsValueFen: 1650_00, CustodyItems: 5, CustodyValueFen: 1730_00,
				NotReceivedItems: -1, NotReceivedValueFen: -80_00}},
		{name: "same pieces, different value", items: all,
			totals: enforcement.Totals{ItemsConfiscated: 5, ConfiscatedValueFen: 1700_00},
			want: Reconciliation{TotalsItems: 5, TotalsValueFen: 1700_00, CustodyItems: 5, CustodyValueFen: 1730_00,
				NotReceivedValueFen: -30_00}},
		{name: "nothing anywhere", want: Reconciliation{Balanced: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Reconcile(Summarize(c.items), c.totals); got != c.want {
				t.Errorf("Reconcile = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	it := apply(t, received(t), storeA, Step{Action: ActionValue, At: day(3), ValueFen: fen(1)})
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "record_id", "line", "unit", "campaign", "name", "quantity", "unit_value_fen",
		"recorded_value_fen", "appraised_value_fen", "appraised_at", "confiscated_at", "state", "location", "events"} {
		if _, ok := m[k]; !ok {
			t.Errorf("item JSON lacks %q: %s", k, b)
		}
	}
	for _, k := range []string{"case_id", "proceeds_fen", "recipient"} {
		if _, ok := m[k]; ok {
			t.Errorf("item JSON has empty %q: %s", k, b)
		}
	}
	first := m["events"].([]any)[0].(map[string]any)
	if _, ok := first["from"]; ok {
		t.Errorf("receive event has a from: %v", first)
	}
	if first["recorded_at"] == nil || first["actor"].(map[string]any)["role"] != RoleOfficer {
		t.Errorf("receive event JSON: %v", first)
	}
	var back Item
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID != it.ID || len(back.Events) != 3 || back.Events[2].ValueFen != 1 || !back.AppraisedAt.Equal(day(3)) {
		t.Errorf("round trip: %+v", back)
	}

	var s Step
	if err := json.Unmarshal([]byte(`{"action":"value","value_fen":0,"note":"n"}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.ValueFen == nil || *s.ValueFen != 0 || s.Note != "n" || !s.At.IsZero() {
		t.Errorf("step decoded as %+v", s)
	}
}
