package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// ledgerDoc is one entry of a device's sync ledger: the result of one
// mutation, stored once under {device}:{seq}.
type ledgerDoc struct {
	ID         string    `bson:"_id"`
	Device     string    `bson:"device"`
	Seq        int64     `bson:"seq"`
	Status     string    `bson:"status"`
	RecordID   string    `bson:"record_id,omitempty"`
	Rev        int64     `bson:"rev,omitempty"`
	ServerTime time.Time `bson:"server_time"`
	Problem    string    `bson:"problem,omitempty"`
	Current    string    `bson:"current,omitempty"`
}

// LedgerID is the deterministic _id of a device's ledger entry.
func LedgerID(device string, seq int64) string { return fmt.Sprintf("%s:%012d", device, seq) }

// Ledger is the sync ledger in the store; it implements mobilesync.Ledger.
type Ledger struct{ s *Store }

// Ledger returns the store's sync ledger.
func (s *Store) Ledger() Ledger { return Ledger{s} }

// Get implements mobilesync.Ledger: the entry by _id.
func (l Ledger) Get(ctx context.Context, device string, seq int64) (mobilesync.Result, error) {
	var d ledgerDoc
	err := l.s.findByID(ctx, colSyncLedger, LedgerID(device, seq), &d)
	if isNotFound(err) {
		return mobilesync.Result{}, fmt.Errorf("store: ledger %s: %w", LedgerID(device, seq), mobilesync.ErrNotFound)
	}
	if err != nil {
		return mobilesync.Result{}, fmt.Errorf("store: ledger %s: %w", LedgerID(device, seq), err)
	}
	r := mobilesync.Result{Seq: d.Seq, Status: mobilesync.Status(d.Status), RecordID: d.RecordID, Rev: d.Rev,
		ServerTime: d.ServerTime.UTC()}
	if d.Problem != "" {
		r.Problem = []byte(d.Problem)
	}
	if d.Current != "" {
		r.Current = []byte(d.Current)
	}
	return r, nil
}

// PutMany implements mobilesync.Ledger: inserts in bulk; a seq already
// stored gives an error wrapping mobilesync.ErrExists.
func (l Ledger) PutMany(ctx context.Context, device string, rs []mobilesync.Result) []error {
	docs := make([]any, len(rs))
	for i, r := range rs {
		docs[i] = ledgerDoc{ID: LedgerID(device, r.Seq), Device: device, Seq: r.Seq, Status: string(r.Status), RecordID: r.RecordID,
			Rev: r.Rev, ServerTime: r.ServerTime, Problem: string(r.Problem), Current: string(r.Current)}
	}
	errs := l.s.insertMany(ctx, colSyncLedger, docs)
	for i, err := range errs {
		switch {
		case errors.Is(err, ErrDuplicate):
			errs[i] = fmt.Errorf("store: ledger %s: %w", LedgerID(device, rs[i].Seq), mobilesync.ErrExists)
		case err != nil:
			errs[i] = fmt.Errorf("store: ledger %s: %w", LedgerID(device, rs[i].Seq), err)
		}
	}
	return errs
}

// Last implements mobilesync.Ledger with O(log n) lookups by _id: a
// device's seqs are gap-free from 1.
func (l Ledger) Last(ctx context.Context, device string) (int64, error) {
	n, err := lastSeq(func(seq int64) (bool, error) {
		_, err := l.Get(ctx, device, seq)
		if err == nil {
			return true, nil
		}
		if errors.Is(err, mobilesync.ErrNotFound) {
			return false, nil
		}
		return false, err
	})
	if err != nil {
		return 0, fmt.Errorf("store: ledger last of %s: %w", device, err)
	}
	return n, nil
}
