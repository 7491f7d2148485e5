// Package custody is the pure domain core of the custody of confiscated
// goods (罚没物品保管): it follows each item line of a confiscation record
// from the moment the team takes it into custody until it leaves custody.
//
// An item line becomes an Item with Receive (state received). The steps
// Apply takes are listed in the transition table Moves: it is stored at a
// location and moved between locations, appraised (a new appraisal replaces
// the previous one), and finally returned to its owner, destroyed before a
// witness or auctioned. Returned, destroyed and auctioned are final. Every
// step is kept as an Event naming who acted, when the act took place (At),
// when it was recorded (RecordedAt) and the documents that prove it
// (SHA-256 hex of the files; the bytes travel separately). Returning,
// destroying and auctioning require documents, and only a supervisor, the
// office or an admin may take them; only the office or an admin may
// auction.
//
// Summarize totals items by state, and Reconcile compares those totals with
// the enforcement totals (enforcement.Totals) of the same records, so that
// an item recorded in the field but never received into custody shows up as
// a difference.
//
// The package imports only the standard library and server/enforcement (for
// the record, the error kinds and ValidationError). Every function is pure:
// it takes the clock as an argument, returns new values and never modifies
// its inputs; storage, HTTP and wiring are built on it elsewhere. Times are
// kept exactly as given; the service truncates them.
//
// Errors wrap the kinds of server/enforcement: enforcement.ErrInvalid with a
// *enforcement.ValidationError naming each bad field, enforcement.ErrConflict
// (a step the item's state does not allow is a *TransitionError naming the
// allowed actions), and enforcement.ErrForbidden for an actor or role that
// may not act.
//
// Money is integer fen.
package custody
