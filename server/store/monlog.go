package store

import (
	"context"
	"fmt"
	"time"
)

// colMonitoringLog holds the monitoring event log of instances that share
// the store: one document per event, _id its number (see
// monitoring.Options.Shared). The body is the monitoring service's own
// encoding; the store keeps it as it is.
const colMonitoringLog = "monlog"

type monitoringEventDoc struct {
	ID   string    `bson:"_id"`
	N    int64     `bson:"n"`
	At   time.Time `bson:"at"`
	Body []byte    `bson:"body"`
}

// InsertMonitoringEvent stores event n of the monitoring log. An event with
// that number already stored (another instance took it first) gives an
// error wrapping ErrDuplicate.
func (s *Store) InsertMonitoringEvent(ctx context.Context, n int64, body []byte) error {
	d := monitoringEventDoc{ID: seqClaimID(n), N: n, At: time.Now().UTC().Truncate(time.Millisecond), Body: body}
	if err := s.insertMany(ctx, colMonitoringLog, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert monitoring event %d: %w", n, err)
	}
	return nil
}

// GetMonitoringEvent loads the body of event n; ErrNotFound when it is not
// (yet) stored.
func (s *Store) GetMonitoringEvent(ctx context.Context, n int64) ([]byte, error) {
	var d monitoringEventDoc
	if err := s.findByID(ctx, colMonitoringLog, seqClaimID(n), &d); err != nil {
		return nil, fmt.Errorf("store: get monitoring event %d: %w", n, err)
	}
	return d.Body, nil
}

// LastMonitoringEvent finds the number of the newest event with O(log n)
// lookups by _id, never a scan; 0 when the log is empty.
func (s *Store) LastMonitoringEvent(ctx context.Context) (int64, error) {
	n, err := lastSeq(func(n int64) (bool, error) {
		var d monitoringEventDoc
		err := s.findByID(ctx, colMonitoringLog, seqClaimID(n), &d)
		if isNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return 0, fmt.Errorf("store: last monitoring event: %w", err)
	}
	return n, nil
}

// colMonitoringCheckpoints holds checkpoints of the monitoring log: the
// alert state of every station after event n, under n's number.
const colMonitoringCheckpoints = "monckpt"

// InsertMonitoringCheckpoint stores the checkpoint after event n; one
// already stored gives an error wrapping ErrDuplicate.
func (s *Store) InsertMonitoringCheckpoint(ctx context.Context, n int64, body []byte) error {
	d := monitoringEventDoc{ID: seqClaimID(n), N: n, At: time.Now().UTC().Truncate(time.Millisecond), Body: body}
	if err := s.insertMany(ctx, colMonitoringCheckpoints, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert monitoring checkpoint %d: %w", n, err)
	}
	return nil
}

// GetMonitoringCheckpoint loads the checkpoint after event n; ErrNotFound
// when none was stored.
func (s *Store) GetMonitoringCheckpoint(ctx context.Context, n int64) ([]byte, error) {
	var d monitoringEventDoc
	if err := s.findByID(ctx, colMonitoringCheckpoints, seqClaimID(n), &d); err != nil {
		return nil, fmt.Errorf("store: get monitoring checkpoint %d: %w", n, err)
	}
	return d.Body, nil
}
