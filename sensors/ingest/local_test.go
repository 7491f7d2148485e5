package ingest_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
)

// TestLocalSubmit drives an ingest without a client, as the embedded
// broker does: readings and a quarantined message reach the sink, each ack
// is called once and only after the sink took the message (not while it
// fails), and Submit refuses once the ingest is closed.
func TestLocalSubmit(t *testing.T) {
	st := testStation()
	sink := ingest.NewMemorySink()
	sink.SetFailure(errors.New("store down"))
	in, err := ingest.StartLocal(ingest.Config{Stations: map[string]sensors.Station{st.ID: st}, RetryMin: time.Millisecond,
		RetryMax: 5 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, sink)
	if err != nil {
		t.Fatal(err)
	}
	b := base()
	var acked atomic.Int32
	ack := func() { acked.Add(1) }
	for i, p := range []string{reading(b, 0, 7.5, 0.02), "not json", reading(b, 1, 7.6, 0.03)} {
		if !in.Submit(ingest.ReadingsTopic(st.ID), []byte(p), false, ack) {
			t.Fatalf("message %d refused", i)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := acked.Load(); n != 0 {
		t.Fatalf("%d messages acknowledged while the sink fails", n)
	}
	sink.SetFailure(nil)
	waitFor(t, "the acks", 5*time.Second, func() bool { return acked.Load() == 3 })
	if sink.Len() != 2 || len(sink.Quarantined()) != 1 {
		t.Fatalf("sink holds %d readings and %d quarantined, want 2 and 1", sink.Len(), len(sink.Quarantined()))
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if in.Submit(ingest.ReadingsTopic(st.ID), []byte(reading(b, 2, 7.5, 0.02)), false, ack) {
		t.Fatal("a closed ingest took a message")
	}
	if err := in.Publish("baoshui/v1/alerts/x", nil, true); err == nil {
		t.Fatal("a local ingest published without a broker connection")
	}
	time.Sleep(20 * time.Millisecond)
	if n := acked.Load(); n != 3 {
		t.Fatalf("%d acks, want 3", n)
	}
}

// orderedSink is a MemorySink whose writes take a random time, and which
// records the order of Apply and the most writes seen at once.
type orderedSink struct {
	*ingest.MemorySink
	inFlight, most atomic.Int32
	mu             sync.Mutex
	applied        []time.Time
	failApply      int // the next Apply calls that fail
}

func (s *orderedSink) StoreReadings(ctx context.Context, rs []ingest.Reading) error {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
	return s.MemorySink.StoreReadings(ctx, rs)
}

func (s *orderedSink) Apply(_ context.Context, rs []ingest.Reading) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failApply > 0 {
		s.failApply--
		return errors.New("the log is out of reach")
	}
	for _, r := range rs {
		s.applied = append(s.applied, r.Sample.Time)
	}
	return nil
}

// TestOrderedSinkWritesOverlapAppliesInOrder checks that batches are
// written to an OrderedSink two at a time but applied and acknowledged in
// the order they were received.
func TestOrderedSinkWritesOverlapAppliesInOrder(t *testing.T) {
	st := testStation()
	sink := &orderedSink{MemorySink: ingest.NewMemorySink()}
	in, err := ingest.StartLocal(ingest.Config{Stations: map[string]sensors.Station{st.ID: st}, BatchSize: 20,
		FlushInterval: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, sink)
	if err != nil {
		t.Fatal(err)
	}
	b := base()
	const n = 1000
	var acked atomic.Int32
	var ackOrder []int
	var amu sync.Mutex
	for i := 0; i < n; i++ {
		i := i
		in.Submit(ingest.ReadingsTopic(st.ID), []byte(reading(b, i, 7.5, 0.02)), false, func() {
			amu.Lock()
			ackOrder = append(ackOrder, i)
			amu.Unlock()
			acked.Add(1)
		})
	}
	waitFor(t, "every ack", 20*time.Second, func() bool { return acked.Load() == n })
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if len(sink.applied) != n {
		t.Fatalf("%d readings applied, want %d", len(sink.applied), n)
	}
	for i := 1; i < n; i++ {
		if !sink.applied[i].After(sink.applied[i-1]) || ackOrder[i] != i {
			t.Fatalf("out of order at %d: applied %v after %v, ack %d", i, sink.applied[i], sink.applied[i-1], ackOrder[i])
		}
	}
	if m := sink.most.Load(); m != ingest.DefaultParallel {
		t.Errorf("at most %d writes at once, want %d", m, ingest.DefaultParallel)
	}
}

// TestFailedApplyIsRetriedBeforeTheAck: a batch whose Apply fails is
// applied again, once it succeeds, and acknowledged only then.
func TestFailedApplyIsRetriedBeforeTheAck(t *testing.T) {
	st := testStation()
	sink := &orderedSink{MemorySink: ingest.NewMemorySink(), failApply: 3}
	in, err := ingest.StartLocal(ingest.Config{Stations: map[string]sensors.Station{st.ID: st}, FlushInterval: time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, sink)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var acked atomic.Int32
	if !in.Submit(ingest.ReadingsTopic(st.ID), []byte(reading(base(), 0, 7.5, 0.02)), false, func() {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if sink.failApply != 0 || len(sink.applied) != 1 {
			t.Errorf("acknowledged with %d failures to come and %d readings applied", sink.failApply, len(sink.applied))
		}
		acked.Add(1)
	}) {
		t.Fatal("submit refused")
	}
	waitFor(t, "the ack", 10*time.Second, func() bool { return acked.Load() == 1 })
	if st := in.Stats(); st.StoreErrors != 3 {
		t.Errorf("%d sink errors counted, want the 3 failed applies", st.StoreErrors)
	}
}
