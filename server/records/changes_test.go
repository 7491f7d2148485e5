package records_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// TestChangesPagedWhileWritingSkipNothing pages through the changes while
// eight writers create, correct and void records; every record ends up
// pulled, in its last revision, and the server sequence only grows.
func TestChangesPagedWhileWritingSkipNothing(t *testing.T) {
	st := storetest.Open(t)
	svc := open(t, st)
	ctx := context.Background()
	me := records.Actor{Username: "office"}
	const n = 240
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				r := decode(t, expulsion(fmt.Sprintf("c%03d", i), []string{"town-a", "town-b"}[i%2], 1+i%4, "2020-07-04T15:20:00+08:00"))
				res, err := svc.Create(ctx, me, r)
				if err != nil {
					t.Error(err)
					return
				}
				switch i % 10 {
				case 3:
					r.Persons++
					_, err = svc.Correct(ctx, me, res.Record.Rev, r)
				case 7:
					_, err = svc.Void(ctx, me, r.ID, res.Record.Rev, "entered twice")
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	latest := map[string]int64{} // id → rev last pulled
	voided := map[string]bool{}
	cursor := ""
	var lastSeq int64 = -1
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := svc.Changes(ctx, cursor, 17, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Changes {
			if r.ServerSeq <= lastSeq {
				t.Fatalf("%s at seq %d after seq %d: the sequence went back", r.ID, r.ServerSeq, lastSeq)
			}
			lastSeq = r.ServerSeq
			latest[r.ID], voided[r.ID] = r.Rev, r.Voided
		}
		cursor = page.NextCursor
		if finished && !page.HasMore {
			break
		}
	}
	if len(latest) != n {
		t.Fatalf("pulled %d records, want %d", len(latest), n)
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("c%03d", i)
		h, _ := svc.Head(id)
		if latest[id] != h.Rev || voided[id] != h.Voided {
			t.Errorf("%s: pulled rev %d voided %v, stored rev %d voided %v", id, latest[id], voided[id], h.Rev, h.Voided)
		}
	}
	// Nothing more after the end; only town-a's records for a town-a reader.
	if page, err := svc.Changes(ctx, cursor, 10, nil); err != nil || len(page.Changes) != 0 || page.NextCursor != cursor {
		t.Errorf("after the end: %d changes, cursor %q, %v", len(page.Changes), page.NextCursor, err)
	}
	page, err := svc.Changes(ctx, "", 1000, func(unit, _ string) bool { return unit == "town-a" })
	if err != nil || len(page.Changes) != n/2 {
		t.Errorf("town-a sees %d, want %d (%v)", len(page.Changes), n/2, err)
	}
	if _, err := svc.Changes(ctx, "%%%", 10, nil); !errors.Is(err, records.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}
