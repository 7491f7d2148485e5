package ingest_test

import (
	"errors"
	"io"
	"log/slog"
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
