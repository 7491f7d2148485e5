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
	if !ok && c.Location != nil {
		return createCaseRecord(ctx, recs, now, c)
	}
	if !ok || h.Kind != enforcement.KindCase || h.Voided {
		return nil
	}
	stored, err := recs.Get(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("mirror case %s: %w", c.ID, err)
	}
	status, fine, decided := outcome(c)
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

// outcome is what the field record of a case says of its procedure: the
// status, and the fine and date of a decision in force.
func outcome(c cases.Case) (status string, fine int64, decided *time.Time) {
	if cases.Published(c) {
		d := c.DecidedAt
		return string(c.State), c.DecidedFineFen, &d
	}
	return string(c.State), 0, nil
}

// createCaseRecord stores the field record of a case filed at the office
// with the place of the violation, as its filer, so that the totals count
// it like the cases captured in the field.
func createCaseRecord(ctx context.Context, recs *records.Service, now func() time.Time, c cases.Case) error {
	status, fine, decided := outcome(c)
	filed := c.FiledAt
	r := enforcement.Record{ID: c.ID, Kind: enforcement.KindCase, ObservedAt: filed, Location: c.Location, Unit: c.Unit,
		Campaign: c.Campaign, Note: c.Facts, CaseNo: c.CaseNo, Violation: c.Violation, LegalBasis: c.LegalBasis,
		Party: c.Party.Name, FineFen: fine, Status: status, FiledAt: &filed, DecidedAt: decided}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("case record %s: %w", c.ID, err)
	}
	in, err := enforcement.Decode(b, now())
	if err == nil {
		r, err = recs.Prepare(in)
	}
	if err == nil {
		_, err = recs.Create(ctx, records.Actor{Username: c.Steps[0].Actor.ID}, r)
	}
	if err != nil {
		return fmt.Errorf("case record %s: %w", c.ID, err)
	}
	return nil
}
