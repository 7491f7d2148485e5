package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// TestAuditInsertStopsAtATakenSequence: two writers chain from the same
// head; the second's insert must store nothing at or after the first
// sequence number the other took, so that the chain never links past an
// entry that is not stored.
func TestAuditInsertStopsAtATakenSequence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		c := audit.NewChain(audit.Entry{})
		first := c.Next(audit.Entry{At: time.Now(), Actor: "a", Action: "x", Object: "o:1"})
		if n, err := s.InsertAudit(ctx, []audit.Entry{first}); n != 1 || err != nil {
			t.Fatalf("first entry: %d %v", n, err)
		}
		one, other := *c, *c
		mine := []audit.Entry{one.Next(audit.Entry{At: time.Now(), Actor: "a", Action: "x", Object: "o:2"})}
		theirs := []audit.Entry{other.Next(audit.Entry{At: time.Now(), Actor: "b", Action: "y", Object: "o:2"})}
		for i := 3; i <= 5; i++ {
			theirs = append(theirs, other.Next(audit.Entry{At: time.Now(), Actor: "b", Action: "y", Object: fmt.Sprintf("o:%d", i)}))
		}
		if n, err := s.InsertAudit(ctx, mine); n != 1 || err != nil {
			t.Fatalf("a's entry 2: %d %v", n, err)
		}
		n, err := s.InsertAudit(ctx, theirs)
		if n != 0 || !errors.Is(err, enforcement.ErrExists) {
			t.Fatalf("b's entries 2-5 after a took 2: stored %d, %v; want 0 and a duplicate", n, err)
		}
		for seq := int64(3); seq <= 5; seq++ {
			if _, err := s.GetAudit(ctx, seq); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("entry %d: %v; want it not stored (it links to b's entry 2, which is not)", seq, err)
			}
		}
		// A collision in the middle of a batch: a continues with 3 to 6
		// after b stored its own 5.
		five := theirs[3]
		five.Prev = mine[0].Hash
		if n, err := s.InsertAudit(ctx, []audit.Entry{five}); n != 1 || err != nil {
			t.Fatalf("b's entry 5: %d %v", n, err)
		}
		var more []audit.Entry
		for i := 3; i <= 6; i++ {
			more = append(more, one.Next(audit.Entry{At: time.Now(), Actor: "a", Action: "x", Object: fmt.Sprintf("o:%d", i)}))
		}
		n, err = s.InsertAudit(ctx, more)
		if n != 2 || !errors.Is(err, enforcement.ErrExists) {
			t.Fatalf("a's entries 3-6 after b took 5: stored %d, %v; want 2 and a duplicate", n, err)
		}
		if _, err := s.GetAudit(ctx, 6); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("entry 6: %v; want it not stored", err)
		}
		for _, e := range more[:2] {
			if got, err := s.GetAudit(ctx, e.Seq); err != nil || got.Hash != e.Hash {
				t.Errorf("entry %d: %v, hash %.8s; want a's, reported stored (%.8s)", e.Seq, err, got.Hash, e.Hash)
			}
		}
	})
}

// TestAuditInsertOfManyStopsAtATakenSequence: a batch larger than the
// engine's own internal batches (FerretDB's 100) must stop at a taken
// number too, and store nothing after it.
func TestAuditInsertOfManyStopsAtATakenSequence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		one := audit.NewChain(audit.Entry{})
		other := *one
		var mine []audit.Entry
		for i := range 250 {
			mine = append(mine, one.Next(audit.Entry{At: time.Now(), Actor: "a", Action: "x", Object: fmt.Sprint("o:", i)}))
		}
		var theirs []audit.Entry
		for i := range 30 {
			theirs = append(theirs, other.Next(audit.Entry{At: time.Now(), Actor: "b", Action: "y", Object: fmt.Sprint("o:", i)}))
		}
		if n, err := s.InsertAudit(ctx, theirs[29:]); n != 1 || err != nil { // b's entry 30 alone
			t.Fatalf("b's entry 30: %d %v", n, err)
		}
		n, err := s.InsertAudit(ctx, mine)
		if n != 29 || !errors.Is(err, enforcement.ErrExists) {
			t.Fatalf("a's 250 entries with 30 taken: stored %d, %v; want 29 and a duplicate", n, err)
		}
		for _, seq := range []int64{31, 100, 101, 150, 250} {
			if _, err := s.GetAudit(ctx, seq); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("entry %d: %v; want it not stored (it comes after the taken 30)", seq, err)
			}
		}
	})
}

// TestSeqClaims: claims are stored once by number and found again by _id.
func TestSeqClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if last, err := s.LastSeqClaim(ctx); err != nil || last.N != 0 {
			t.Fatalf("empty log: %+v %v", last, err)
		}
		at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
		first := int64(1)
		for n := int64(1); n <= 9; n++ {
			c := enforcement.SeqClaim{N: n, First: first, Size: n % 3, At: at, By: "a",
				Revs: []enforcement.RevRef{{ID: fmt.Sprint("r", n), Rev: 1}}, Chunks: []enforcement.ChunkRef{{Patrol: "p", Seq: int(n)}}}
			if err := s.InsertSeqClaim(ctx, c); err != nil {
				t.Fatal(err)
			}
			first = c.End()
		}
		err := s.InsertSeqClaim(ctx, enforcement.SeqClaim{N: 5, First: 99, By: "b"})
		if !errors.Is(err, enforcement.ErrExists) {
			t.Errorf("claim 5 again: %v; want a duplicate", err)
		}
		last, err := s.LastSeqClaim(ctx)
		if err != nil || last.N != 9 || last.By != "a" || !last.At.Equal(at) || len(last.Revs) != 1 || last.Revs[0].ID != "r9" ||
			len(last.Chunks) != 1 || last.Chunks[0].Seq != 9 {
			t.Errorf("last claim: %+v %v", last, err)
		}
		if _, err := s.GetSeqClaim(ctx, 10); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("claim 10: %v; want not found", err)
		}
	})
}

// TestSeqBodies: a claim's body gives back the revisions stored under it,
// once.
func TestSeqBodies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.GetSeqBody(ctx, 1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no body yet: %v", err)
		}
		at := time.Date(2020, 7, 4, 7, 20, 0, 0, time.UTC)
		revs := []enforcement.Record{
			{ID: "r1", Rev: 1, Kind: enforcement.KindExpulsion, ObservedAt: at, Unit: "town-a", Persons: 3,
				Activity: enforcement.ActivitySwimming, ServerSeq: 7, ReceivedAt: at},
			{ID: "r2", Rev: 2, Kind: enforcement.KindVehicle, ObservedAt: at, Unit: "town-b", Vehicles: 2, ServerSeq: 8, ReceivedAt: at},
		}
		if err := s.InsertSeqBody(ctx, 1, revs); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertSeqBody(ctx, 1, nil); !errors.Is(err, enforcement.ErrExists) {
			t.Errorf("a second body for claim 1: %v; want a duplicate", err)
		}
		got, err := s.GetSeqBody(ctx, 1)
		if err != nil || len(got) != 2 || got[0].ID != "r1" || got[0].Persons != 3 || got[0].ServerSeq != 7 ||
			got[1].Vehicles != 2 || got[1].Rev != 2 || !got[1].ObservedAt.Equal(at) {
			t.Errorf("body of claim 1: %+v %v", got, err)
		}
		if err := s.InsertSeqBody(ctx, 2, nil); err != nil {
			t.Errorf("an empty body (nothing stored under the claim): %v", err)
		}
		if got, err := s.GetSeqBody(ctx, 2); err != nil || len(got) != 0 {
			t.Errorf("empty body: %+v %v", got, err)
		}
	})
}

// TestSeqBodyTooLarge: a body past MaxSeqBodyBytes is left out, and the
// store says so instead of failing the insert or keeping half of it.
func TestSeqBodyTooLarge(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	at := time.Date(2020, 7, 4, 7, 20, 0, 0, time.UTC)
	note := strings.Repeat("长", 1000) // 3,000 bytes of UTF-8
	var revs []enforcement.Record
	for i := 0; len(revs)*3000 <= store.MaxSeqBodyBytes; i++ {
		revs = append(revs, enforcement.Record{ID: fmt.Sprint("r", i), Rev: 1, Kind: enforcement.KindExpulsion, ObservedAt: at,
			Unit: "town-a", Persons: 1, Activity: enforcement.ActivitySwimming, Note: note, ServerSeq: int64(i + 1), ReceivedAt: at})
	}
	if err := s.InsertSeqBody(ctx, 1, revs); err != nil {
		t.Fatalf("a body of %d revisions: %v; want it stored as left out", len(revs), err)
	}
	if _, err := s.GetSeqBody(ctx, 1); !errors.Is(err, enforcement.ErrSeqBodyLeftOut) {
		t.Errorf("the body of claim 1: %v; want ErrSeqBodyLeftOut", err)
	}
	if err := s.InsertSeqBody(ctx, 2, revs[:10]); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetSeqBody(ctx, 2); err != nil || len(got) != 10 || got[9].Note != note {
		t.Errorf("a small body: %d revisions, %v", len(got), err)
	}
}

// TestMonitoringLog: events are stored by number once, read back as
// stored, and the last number is found by lookups.
func TestMonitoringLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if n, err := s.LastMonitoringEvent(ctx); n != 0 || err != nil {
			t.Fatalf("empty log: last %d, %v", n, err)
		}
		for n := int64(1); n <= 5; n++ {
			if err := s.InsertMonitoringEvent(ctx, n, []byte(fmt.Sprintf(`{"n":%d}`, n))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.InsertMonitoringEvent(ctx, 3, []byte(`{"other":true}`)); !errors.Is(err, enforcement.ErrExists) {
			t.Fatalf("second event 3: %v; want a duplicate", err)
		}
		if b, err := s.GetMonitoringEvent(ctx, 3); err != nil || string(b) != `{"n":3}` {
			t.Fatalf("event 3: %q, %v; want the first one stored", b, err)
		}
		if _, err := s.GetMonitoringEvent(ctx, 6); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("event 6: %v; want not found", err)
		}
		if n, err := s.LastMonitoringEvent(ctx); n != 5 || err != nil {
			t.Fatalf("last %d, %v; want 5", n, err)
		}
		// Checkpoints are kept apart from the events, by the same rules.
		if _, err := s.GetMonitoringCheckpoint(ctx, 5); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("checkpoint 5 before any: %v; want not found", err)
		}
		if err := s.InsertMonitoringCheckpoint(ctx, 5, []byte(`{"at":5}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertMonitoringCheckpoint(ctx, 5, []byte(`{"again":5}`)); !errors.Is(err, enforcement.ErrExists) {
			t.Fatalf("second checkpoint 5: %v; want a duplicate", err)
		}
		if b, err := s.GetMonitoringCheckpoint(ctx, 5); err != nil || string(b) != `{"at":5}` {
			t.Fatalf("checkpoint 5: %q, %v", b, err)
		}
		if b, _ := s.GetMonitoringEvent(ctx, 5); string(b) != `{"n":5}` {
			t.Fatalf("event 5 after its checkpoint: %q", b)
		}
		if err := s.DeleteMonitoringCheckpoint(ctx, 5); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetMonitoringCheckpoint(ctx, 5); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("checkpoint 5 after its deletion: %v; want not found", err)
		}
		if err := s.DeleteMonitoringCheckpoint(ctx, 5); err != nil {
			t.Fatalf("deleting a checkpoint twice: %v", err)
		}
		if b, _ := s.GetMonitoringEvent(ctx, 5); string(b) != `{"n":5}` {
			t.Fatalf("event 5 after its checkpoint's deletion: %q", b)
		}
	})
}
