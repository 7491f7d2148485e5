package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
)

// snapshotDocID is the _id of the meta document that names the read-model
// snapshot matching the store's contents.
const snapshotDocID = "read-model-snapshot"

type snapshotDoc struct {
	ID    string `bson:"_id"`
	Token string `bson:"token"`
}

// SnapshotToken returns the token of the read-model snapshot that matches the
// store, or "" when there is none (never written, or records were written
// since).
func (s *Store) SnapshotToken(ctx context.Context) (string, error) {
	var d snapshotDoc
	err := s.findByID(ctx, colMeta, snapshotDocID, &d)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: snapshot token: %w", err)
	}
	return d.Token, nil
}

// SetSnapshotToken records that the snapshot with token matches the store as
// it is now. The next record write through any Store clears it.
func (s *Store) SetSnapshotToken(ctx context.Context, token string) error {
	if err := s.clearSnapshotToken(ctx); err != nil {
		return err
	}
	if err := s.insertMany(ctx, colMeta, []any{snapshotDoc{ID: snapshotDocID, Token: token}})[0]; err != nil {
		return fmt.Errorf("store: set snapshot token: %w", err)
	}
	s.tokenCleared.Store(false)
	return nil
}

func (s *Store) clearSnapshotToken(ctx context.Context) error {
	if _, err := s.db.Collection(colMeta).DeleteOne(ctx, bson.D{{Key: "_id", Value: snapshotDocID}}); err != nil {
		return fmt.Errorf("store: clear snapshot token: %w", classify(err))
	}
	return nil
}

// invalidateSnapshot clears the snapshot token before the first record write
// of this Store, so that no snapshot taken earlier is trusted afterwards.
func (s *Store) invalidateSnapshot(ctx context.Context) error {
	if s.tokenCleared.Load() {
		return nil
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.tokenCleared.Load() {
		return nil
	}
	if err := s.clearSnapshotToken(ctx); err != nil {
		return err
	}
	s.tokenCleared.Store(true)
	return nil
}

// sensorsSnapshotDocID is the _id of the meta document that names the
// monitoring service's snapshot matching the store's water-quality data.
const sensorsSnapshotDocID = "sensors-snapshot"

// SensorsSnapshotToken returns the token of the monitoring snapshot that
// matches the store, or "" when there is none (never written, or stations,
// credentials, readings, quarantined messages or alerts were written since).
func (s *Store) SensorsSnapshotToken(ctx context.Context) (string, error) {
	var d snapshotDoc
	err := s.findByID(ctx, colMeta, sensorsSnapshotDocID, &d)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: sensors snapshot token: %w", err)
	}
	return d.Token, nil
}

// SetSensorsSnapshotToken records that the monitoring snapshot with token
// matches the store as it is now. The next water-quality write through any
// Store clears it.
func (s *Store) SetSensorsSnapshotToken(ctx context.Context, token string) error {
	if _, err := s.db.Collection(colMeta).DeleteOne(ctx, bson.D{{Key: "_id", Value: sensorsSnapshotDocID}}); err != nil {
		return fmt.Errorf("store: set sensors snapshot token: %w", classify(err))
	}
	if err := s.insertMany(ctx, colMeta, []any{snapshotDoc{ID: sensorsSnapshotDocID, Token: token}})[0]; err != nil {
		return fmt.Errorf("store: set sensors snapshot token: %w", err)
	}
	s.sensorsTokenCleared.Store(false)
	return nil
}

// invalidateSensorsSnapshot clears the monitoring snapshot's token before
// the first water-quality write of this Store.
func (s *Store) invalidateSensorsSnapshot(ctx context.Context) error {
	if s.sensorsTokenCleared.Load() {
		return nil
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.sensorsTokenCleared.Load() {
		return nil
	}
	if _, err := s.db.Collection(colMeta).DeleteOne(ctx, bson.D{{Key: "_id", Value: sensorsSnapshotDocID}}); err != nil {
		return fmt.Errorf("store: clear sensors snapshot token: %w", classify(err))
	}
	s.sensorsTokenCleared.Store(true)
	return nil
}
