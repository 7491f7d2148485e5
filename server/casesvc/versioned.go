package casesvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// RevisionStore is what the versioned registries (custody items, campaigns,
// operations) need of the store: revisions inserted by _id "{id}:{rev}"
// into a named collection (a duplicate wraps enforcement.ErrExists), and
// one scan of a collection at start.
type RevisionStore interface {
	InsertRevision(ctx context.Context, col, id string, rev int, actor string, at time.Time, body []byte) error
	ScanRevisions(ctx context.Context, col string, fn func(id string, rev int, body []byte) error) error
	// GetDocRevision loads one revision's JSON by _id; an error wrapping
	// enforcement.ErrNotFound when it is not stored.
	GetDocRevision(ctx context.Context, col, id string, rev int) ([]byte, error)
}

// The collections of the versioned registries; the store knows them by
// these names.
const (
	colCustody    = "custody_items"
	colCampaigns  = "campaigns"
	colOperations = "joint_operations"
)

// versioned is a registry of documents of type T kept as revisions: the
// latest revision of each id in memory, every change a new revision
// inserted by deterministic _id. Changes are serialised by its mutex.
type versioned[T any] struct {
	col   string
	st    RevisionStore
	mu    sync.RWMutex
	heads map[string]*revHead[T]
}

type revHead[T any] struct {
	v   T
	rev int
}

// loadVersioned reads every revision of col and keeps the latest of each id.
func loadVersioned[T any](ctx context.Context, st RevisionStore, col string) (*versioned[T], error) {
	m := &versioned[T]{col: col, st: st, heads: map[string]*revHead[T]{}}
	err := st.ScanRevisions(ctx, col, func(id string, rev int, body []byte) error {
		var v T
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("decode %s revision %s:%d: %w", col, id, rev, err)
		}
		if cur, ok := m.heads[id]; !ok || cur.rev < rev {
			m.heads[id] = &revHead[T]{v: v, rev: rev}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", col, err)
	}
	return m, nil
}

// follow makes revision rev of id, which another server instance stored,
// the latest here unless a newer one is.
func (m *versioned[T]) follow(ctx context.Context, id string, rev int64) error {
	if _, cur, ok := m.get(id); ok && int64(cur) >= rev {
		return nil
	}
	body, err := m.st.GetDocRevision(ctx, m.col, id, int(rev))
	if err != nil {
		return fmt.Errorf("follow %s %s: %w", m.col, id, err)
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("follow %s %s: decode revision %d: %w", m.col, id, rev, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.heads[id]; !ok || int64(h.rev) < rev {
		m.heads[id] = &revHead[T]{v: v, rev: int(rev)}
	}
	return nil
}

// get returns the latest revision of id.
func (m *versioned[T]) get(id string) (T, int, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	h, ok := m.heads[id]
	if !ok {
		var zero T
		return zero, 0, false
	}
	return h.v, h.rev, true
}

// each calls fn with the latest revision of every id, in no set order,
// under the read lock (fn must not call back into m).
func (m *versioned[T]) each(fn func(v T, rev int)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, h := range m.heads {
		fn(h.v, h.rev)
	}
}

// put stores the next revision of id. baseRev is the revision the change
// was prepared on: 0 creates id (enforcement.ErrExists when it exists), any
// other must be the current one (enforcement.ErrConflict otherwise, and
// enforcement.ErrNotFound for an unknown id). change gets the current value
// (the zero T when creating) under the lock and returns the new one or an
// error, which put returns as is.
func (m *versioned[T]) put(ctx context.Context, id string, baseRev int, actor string, now time.Time,
	change func(cur T) (T, error)) (T, int, error) {
	var zero T
	m.mu.Lock()
	defer m.mu.Unlock()
	h, exists := m.heads[id]
	switch {
	case baseRev == 0 && exists:
		return zero, 0, fmt.Errorf("%s %s: %w", m.col, id, enforcement.ErrExists)
	case baseRev != 0 && !exists:
		return zero, 0, fmt.Errorf("%s %s: %w", m.col, id, enforcement.ErrNotFound)
	case exists && baseRev != h.rev:
		return zero, 0, fmt.Errorf("%s %s: %w: base_rev %d is not the current revision %d; it changed, reload it",
			m.col, id, enforcement.ErrConflict, baseRev, h.rev)
	}
	cur := zero
	if exists {
		cur = h.v
	}
	next, err := change(cur)
	if err != nil {
		return zero, 0, err
	}
	body, err := json.Marshal(next)
	if err != nil {
		return zero, 0, fmt.Errorf("%s %s: encode: %w", m.col, id, err)
	}
	rev := baseRev + 1
	if err := m.st.InsertRevision(ctx, m.col, id, rev, actor, now, body); err != nil {
		if errors.Is(err, enforcement.ErrExists) {
			return zero, 0, fmt.Errorf("%s %s: %w: revision %d was stored by another server; reload it",
				m.col, id, enforcement.ErrConflict, rev)
		}
		return zero, 0, fmt.Errorf("%s %s: %w", m.col, id, err)
	}
	m.heads[id] = &revHead[T]{v: next, rev: rev}
	return next, rev, nil
}
