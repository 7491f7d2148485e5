package enforcement

import (
	"errors"
	"fmt"
)

// The error kinds that cross package boundaries. Adapters wrap them (the store
// returns ErrNotFound, ErrExists and ErrUnavailable), services return them,
// and the HTTP API maps each to one status in a single table.
var (
	// ErrNotFound: no such object, or one the caller may not know exists.
	ErrNotFound = errors.New("not found")
	// ErrExists: an object with this id is already stored.
	ErrExists = errors.New("already stored")
	// ErrConflict: the request contradicts the stored state (a different
	// body under an existing id, a stale base revision).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the caller may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: a dependency (the store) cannot be reached now; retry.
	ErrUnavailable = errors.New("unavailable")
	// ErrStorageFull: the store's disk is full. It is a kind of
	// ErrUnavailable (errors.Is holds for both): retry once space returns.
	ErrStorageFull = fmt.Errorf("the store's disk is full: %w", ErrUnavailable)
	// ErrInvalid: the input breaks a rule; see the wrapped *ValidationError.
	ErrInvalid = errors.New("invalid input")
)
