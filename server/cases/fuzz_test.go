package cases_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
)

// FuzzTransition feeds arbitrary step bodies, as POST /cases/{id}/steps
// decodes them, to every state and role: Transition never panics, never
// changes its input, refuses with one of the three error kinds, and an
// accepted step adds exactly one step record and leaves a known state and
// amounts within bounds, a decided amount changed only by a decision or a
// correction.
func FuzzTransition(f *testing.F) {
	for _, s := range path {
		b, _ := json.Marshal(s)
		f.Add(b, uint8(0), uint8(0))
	}
	f.Add([]byte(`{"action":"decide","decided_fine_fen":-1}`), uint8(5), uint8(2))
	f.Add([]byte(`{"action":"revoke","reason":"x","documents":["`+doc("r")+`"]}`), uint8(9), uint8(1))
	f.Add([]byte(`{"action":"transfer","transfer":{}}`), uint8(2), uint8(3))
	actors := []cases.Actor{admin, office, supervisor, officer, {ID: "x", Role: "device"}}
	cs := map[cases.State]cases.Case{}
	f.Fuzz(func(t *testing.T, body []byte, state, who uint8) {
		var step cases.Step
		if json.Unmarshal(body, &step) != nil {
			return
		}
		st := cases.States[int(state)%len(cases.States)]
		c, ok := cs[st]
		if !ok {
			c = caseIn(t, st)
			cs[st] = c
		}
		before := len(c.Steps)
		got, err := cases.Transition(c, step, actors[int(who)%len(actors)], testRules(), now)
		if len(c.Steps) != before || c.State != st {
			t.Fatalf("the input case changed")
		}
		if err != nil {
			if !errors.Is(err, enforcement.ErrInvalid) && !errors.Is(err, enforcement.ErrConflict) && !errors.Is(err, enforcement.ErrForbidden) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if len(got.Steps) != before+1 || !slices.Contains(cases.States, got.State) {
			t.Fatalf("%s from %s: %d steps, state %q", step.Action, st, len(got.Steps), got.State)
		}
		if got.DecidedFineFen < 0 || got.DecidedFineFen > enforcement.MaxFineFen || got.ProposedFineFen < 0 {
			t.Fatalf("amounts out of bounds: %+v", got)
		}
		if got.DecidedFineFen != c.DecidedFineFen && !c.DecidedAt.IsZero() &&
			step.Action != cases.ActionCorrectDecision && step.Action != cases.ActionDecide {
			t.Fatalf("%s changed the decided fine", step.Action)
		}
		if err := cases.CheckAmendment(c, got); err != nil {
			t.Fatalf("CheckAmendment refuses what Transition made: %v", err)
		}
	})
}
