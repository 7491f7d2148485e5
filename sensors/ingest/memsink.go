package ingest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
)

// MemorySink is a Sink in memory, for tests and demonstrations. It keeps
// the contract of a real store: a reading is kept once by its id
// (Reading.ID, the store's _id), a second copy counts as a duplicate and is
// not an error, and a call with more than MaxBatchSize readings is refused.
// SetFailure makes it fail on demand. It is safe for concurrent use.
type MemorySink struct {
	mu          sync.Mutex
	readings    map[string]Reading
	quarantined []Quarantined
	duplicates  int
	calls       int
	failed      int
	failure     error
}

// NewMemorySink returns an empty MemorySink.
func NewMemorySink() *MemorySink { return &MemorySink{readings: make(map[string]Reading)} }

// StoreReadings implements Sink.
func (s *MemorySink) StoreReadings(_ context.Context, rs []Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failure != nil {
		s.failed++
		return fmt.Errorf("ingest.MemorySink.StoreReadings: %w", s.failure)
	}
	if len(rs) == 0 || len(rs) > MaxBatchSize {
		return fmt.Errorf("ingest.MemorySink.StoreReadings: %d readings, want 1 to %d", len(rs), MaxBatchSize)
	}
	for _, r := range rs {
		id := r.ID()
		if _, ok := s.readings[id]; ok {
			s.duplicates++
			continue
		}
		s.readings[id] = r
	}
	return nil
}

// Quarantine implements Sink.
func (s *MemorySink) Quarantine(_ context.Context, q Quarantined) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.failure != nil {
		s.failed++
		return fmt.Errorf("ingest.MemorySink.Quarantine: %w", s.failure)
	}
	s.quarantined = append(s.quarantined, q)
	return nil
}

// SetFailure makes every call fail with err from now on, or, with nil,
// succeed again.
func (s *MemorySink) SetFailure(err error) {
	s.mu.Lock()
	s.failure = err
	s.mu.Unlock()
}

// Readings returns the stored readings, ordered by station and time.
func (s *MemorySink) Readings() []Reading {
	s.mu.Lock()
	out := make([]Reading, 0, len(s.readings))
	for _, r := range s.readings {
		out = append(out, r)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Reading) int {
		return cmp.Or(cmp.Compare(a.Station, b.Station), a.Sample.Time.Compare(b.Sample.Time))
	})
	return out
}

// Len returns the number of stored readings.
func (s *MemorySink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.readings)
}

// Quarantined returns the quarantined messages, in the order received.
func (s *MemorySink) Quarantined() []Quarantined {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.quarantined)
}

// Duplicates returns how many readings arrived that were already stored.
func (s *MemorySink) Duplicates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicates
}

// Calls returns how many calls the sink received, and how many of them
// failed.
func (s *MemorySink) Calls() (calls, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.failed
}
