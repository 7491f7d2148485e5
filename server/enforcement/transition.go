package enforcement

import (
	"errors"
	"fmt"
	"strings"
)

// TransitionError is the error of a step that the state of a procedure (a
// penalty case, an item in custody) does not allow: an action not allowed
// from the state, or one whose precondition fails (Reason says which).
// Allowed lists the actions allowed from the current state, in the order of
// the procedure's table. Domain names the procedure in the message. It
// wraps ErrConflict.
type TransitionError struct {
	Domain  string
	Action  string
	From    string
	Reason  string
	Allowed []string
}

// Error names the action, the state, the reason and the allowed actions.
func (e *TransitionError) Error() string {
	msg := fmt.Sprintf("%s: %s from %s: conflict", e.Domain, e.Action, e.From)
	if e.Reason != "" {
		msg += ": " + e.Reason
	} else {
		msg += ": not allowed"
	}
	if len(e.Allowed) == 0 {
		return msg + "; no action is allowed from " + e.From
	}
	return msg + "; allowed: " + strings.Join(e.Allowed, ", ")
}

// Unwrap makes errors.Is(err, ErrConflict) hold.
func (e *TransitionError) Unwrap() error { return ErrConflict }

// IsTransitionError reports whether err is (or wraps) a *TransitionError
// and returns it.
func IsTransitionError(err error) (*TransitionError, bool) {
	var te *TransitionError
	ok := errors.As(err, &te)
	return te, ok
}
