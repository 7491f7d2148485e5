// Package cases is the pure domain core of an administrative penalty case
// (立案 to 结案) under the "three enforcement systems" of
// ../shared/domain/MIYUN-2020.md: the case state machine with its role
// policy, required fields and documents (full-process recording), the legal
// deadlines with their effective dates, the legal review gate for major
// decisions, the district's case numbers, and the catalogue of violations
// with their legal basis and penalty discretion bands.
//
// It imports only the standard library and server/enforcement (for the error
// kinds and ValidationError). Every function is pure: it takes the case and
// the clock as arguments and returns a new value; storage, HTTP and wiring
// are built on it elsewhere.
//
// Errors wrap the kinds of server/enforcement: enforcement.ErrInvalid with a
// *enforcement.ValidationError naming each bad field, enforcement.ErrConflict
// (an illegal transition is a *TransitionError naming the allowed actions),
// and enforcement.ErrForbidden for a role that may not act.
//
// Money is integer fen; "a day" and "a year" are Asia/Shanghai calendar
// days and years.
package cases
