package mobilesync

import (
	"context"
	"fmt"
	"sync"
)

// MemoryLedger is a Ledger in memory, for clients' tests and for a server
// without a store. It is safe for concurrent use.
type MemoryLedger struct {
	mu sync.Mutex
	m  map[string]map[int64]Result
}

// NewMemoryLedger returns an empty ledger.
func NewMemoryLedger() *MemoryLedger { return &MemoryLedger{m: map[string]map[int64]Result{}} }

// Get implements Ledger.
func (l *MemoryLedger) Get(_ context.Context, device string, seq int64) (Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.m[device][seq]
	if !ok {
		return Result{}, fmt.Errorf("ledger %s:%d: %w", device, seq, ErrNotFound)
	}
	return r, nil
}

// PutMany implements Ledger.
func (l *MemoryLedger) PutMany(_ context.Context, device string, rs []Result) []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[device] == nil {
		l.m[device] = map[int64]Result{}
	}
	errs := make([]error, len(rs))
	for i, r := range rs {
		if _, ok := l.m[device][r.Seq]; ok {
			errs[i] = fmt.Errorf("ledger %s:%d: %w", device, r.Seq, ErrExists)
			continue
		}
		l.m[device][r.Seq] = r
	}
	return errs
}

// Last implements Ledger.
func (l *MemoryLedger) Last(_ context.Context, device string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var last int64
	for seq := range l.m[device] {
		last = max(last, seq)
	}
	return last, nil
}
