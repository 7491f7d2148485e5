package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

// caseMirrorActor is who the record revisions written by mirrorCase are
// recorded as.
const caseMirrorActor = "case-procedure"

// mirrorCase keeps the field record of a case (kind case, the same id),
// which the enforcement totals count, in step with its procedure: the
// status, and the fine and decision date of a decision in force (none
// before the decision or once it is revoked). A case filed without a field
// record has nothing to mirror. It writes a correction only when something
// changed.
func mirrorCase(ctx context.Context, recs *records.Service, now func() time.Time, c cases.Case) error {
	h, ok := recs.Head(c.ID)
	if !ok || h.Kind != enforcement.KindCase || h.Voided {
		return nil
	}
	stored, err := recs.Get(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("mirror case %s: %w", c.ID, err)
	}
	status, fine := string(c.State), int64(0)
	var decided *time.Time
	if cases.Published(c) {
		d := c.DecidedAt
		decided, fine = &d, c.DecidedFineFen
	}
	sameDecision := (decided == nil) == (stored.DecidedAt == nil) && (decided == nil || decided.Equal(*stored.DecidedAt))
	if stored.Status == status && stored.FineFen == fine && sameDecision && stored.CaseNo == c.CaseNo {
		return nil
	}
	// The client part of the stored revision, through the decoder that
	// checks every record, with the procedure's outcome.
	b, err := json.Marshal(stored)
	if err != nil {
		return fmt.Errorf("mirror case %s: %w", c.ID, err)
	}
	in, err := enforcement.Decode(b, now())
	if err != nil {
		return fmt.Errorf("mirror case %s: %w", c.ID, err)
	}
	in.Record.Status, in.Record.FineFen, in.Record.DecidedAt, in.Record.CaseNo = status, fine, decided, c.CaseNo
	r, err := recs.Prepare(in)
	if err != nil {
		return fmt.Errorf("mirror case %s: %w", c.ID, err)
	}
	if _, err := recs.Correct(ctx, records.Actor{Username: caseMirrorActor}, stored.Rev, r); err != nil {
		return fmt.Errorf("mirror case %s: %w", c.ID, err)
	}
	return nil
}
