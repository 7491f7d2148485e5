package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// colMonitoringLog holds the monitoring event log of instances that share
// the store: one document per event, _id its number (see
// monitoring.Options.Shared). The body is the monitoring service's own
// encoding; the store keeps it as it is.
const colMonitoringLog = "monlog"

// colMonitoringCheckpoints holds checkpoints of the monitoring log: the
// alert state of every station after event n, under n's number; a
// checkpoint too large for one document keeps its further parts in
// colMonitoringCheckpointParts, under "{n}/{part}".
const (
	colMonitoringCheckpoints     = "monckpt"
	colMonitoringCheckpointParts = "monckptparts"
)

// numberedDoc is an opaque body stored under a number.
type numberedDoc struct {
	ID   string    `bson:"_id"`
	N    int64     `bson:"n"`
	At   time.Time `bson:"at"`
	Body []byte    `bson:"body"`
}

// insertNumbered stores body under number n in col; one already stored
// gives an error wrapping ErrDuplicate. what names the document in errors.
func (s *Store) insertNumbered(ctx context.Context, col, what string, n int64, body []byte) error {
	return s.insertNamed(ctx, col, what, seqClaimID(n), n, body)
}

// insertNamed is insertNumbered under the _id id.
func (s *Store) insertNamed(ctx context.Context, col, what, id string, n int64, body []byte) error {
	d := numberedDoc{ID: id, N: n, At: time.Now().UTC().Truncate(time.Millisecond), Body: body}
	if err := s.insertMany(ctx, col, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert %s %s: %w", what, id, err)
	}
	return nil
}

// getNumbered loads the body stored under number n in col; ErrNotFound
// when there is none.
func (s *Store) getNumbered(ctx context.Context, col, what string, n int64) ([]byte, error) {
	return s.getNamed(ctx, col, what, seqClaimID(n))
}

// getNamed is getNumbered by the _id id.
func (s *Store) getNamed(ctx context.Context, col, what, id string) ([]byte, error) {
	var d numberedDoc
	if err := s.findByID(ctx, col, id, &d); err != nil {
		return nil, fmt.Errorf("store: get %s %s: %w", what, id, err)
	}
	return d.Body, nil
}

// checkpointPartID is the _id of part of the checkpoint after event n.
func checkpointPartID(n int64, part int) string { return fmt.Sprintf("%s/%d", seqClaimID(n), part) }

// InsertMonitoringEvent stores event n of the monitoring log. An event with
// that number already stored (another instance took it first) gives an
// error wrapping ErrDuplicate.
func (s *Store) InsertMonitoringEvent(ctx context.Context, n int64, body []byte) error {
	return s.insertNumbered(ctx, colMonitoringLog, "monitoring event", n, body)
}

// GetMonitoringEvent loads the body of event n; ErrNotFound when it is not
// (yet) stored.
func (s *Store) GetMonitoringEvent(ctx context.Context, n int64) ([]byte, error) {
	return s.getNumbered(ctx, colMonitoringLog, "monitoring event", n)
}

// LastMonitoringEvent finds the number of the newest event with O(log n)
// lookups by _id, never a scan; 0 when the log is empty.
func (s *Store) LastMonitoringEvent(ctx context.Context) (int64, error) {
	n, err := lastSeq(func(n int64) (bool, error) {
		_, err := s.GetMonitoringEvent(ctx, n)
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

// InsertMonitoringCheckpoint stores the checkpoint after event n; one
// already stored gives an error wrapping ErrDuplicate.
func (s *Store) InsertMonitoringCheckpoint(ctx context.Context, n int64, body []byte) error {
	return s.insertNumbered(ctx, colMonitoringCheckpoints, "monitoring checkpoint", n, body)
}

// GetMonitoringCheckpoint loads the checkpoint after event n; ErrNotFound
// when none was stored.
func (s *Store) GetMonitoringCheckpoint(ctx context.Context, n int64) ([]byte, error) {
	return s.getNumbered(ctx, colMonitoringCheckpoints, "monitoring checkpoint", n)
}

// InsertMonitoringCheckpointPart stores part (1 and up) of the checkpoint
// after event n, written before the checkpoint itself; one already stored
// gives an error wrapping ErrDuplicate.
func (s *Store) InsertMonitoringCheckpointPart(ctx context.Context, n int64, part int, body []byte) error {
	return s.insertNamed(ctx, colMonitoringCheckpointParts, "monitoring checkpoint part", checkpointPartID(n, part), n, body)
}

// GetMonitoringCheckpointPart loads part of the checkpoint after event n;
// ErrNotFound when it is not stored.
func (s *Store) GetMonitoringCheckpointPart(ctx context.Context, n int64, part int) ([]byte, error) {
	return s.getNamed(ctx, colMonitoringCheckpointParts, "monitoring checkpoint part", checkpointPartID(n, part))
}

// DeleteMonitoringCheckpoint removes the checkpoint after event n, then
// its parts from 1 up to the first one missing, each by its _id; removing
// one that is not stored is no error.
func (s *Store) DeleteMonitoringCheckpoint(ctx context.Context, n int64) error {
	if _, err := s.db.Collection(colMonitoringCheckpoints).DeleteOne(ctx, bson.D{{Key: "_id", Value: seqClaimID(n)}}); err != nil {
		return fmt.Errorf("store: delete monitoring checkpoint %d: %w", n, err)
	}
	for part := 1; ; part++ {
		res, err := s.db.Collection(colMonitoringCheckpointParts).DeleteOne(ctx, bson.D{{Key: "_id", Value: checkpointPartID(n, part)}})
		if err != nil {
			return fmt.Errorf("store: delete monitoring checkpoint %d part %d: %w", n, part, err)
		}
		if res.DeletedCount == 0 {
			return nil
		}
	}
}
