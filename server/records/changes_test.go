package records_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// TestChangesTombstoneRetention: a void older than the retention leaves the
// feed, and a cursor from before it expires — also after a restart from a
// scan and from a snapshot.
func TestChangesTombstoneRetention(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	var mu sync.Mutex
	clock := now
	tick := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	snap := filepath.Join(t.TempDir(), "read-models.snapshot")
	openAt := func() *records.Service {
		svc, err := records.Open(ctx, st, tree(), records.Options{Now: tick, TombstoneRetention: 90 * 24 * time.Hour, SnapshotPath: snap})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := openAt()
	me := records.Actor{Username: "office"}
	var revs []int64
	for _, id := range []string{"t1", "t2", "t3"} {
		res, err := svc.Create(ctx, me, decode(t, expulsion(id, "town-a", 2, "2020-07-04T15:20:00+08:00")))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, res.Record.Rev)
	}
	before, err := svc.Changes(ctx, "", 100, nil)
	if err != nil || len(before.Changes) != 3 {
		t.Fatalf("before the void: %d changes, %v", len(before.Changes), err)
	}
	if _, err := svc.Void(ctx, me, "t2", revs[1], "entered twice"); err != nil {
		t.Fatal(err)
	}
	after, err := svc.Changes(ctx, before.NextCursor, 100, nil)
	if err != nil || len(after.Changes) != 1 || !after.Changes[0].Voided {
		t.Fatalf("the tombstone: %+v, %v", after.Changes, err)
	}
	ids := func(p records.ChangePage) (s []string) {
		for _, r := range p.Changes {
			s = append(s, r.ID)
		}
		return s
	}
	check := func(name string, svc *records.Service) {
		t.Helper()
		cases := []struct {
			name, cursor string
			want         []string
			expired      bool
		}{
			{"full sync leaves the old tombstone out", "", []string{"t1", "t3"}, false},
			{"a cursor from before the void expires", before.NextCursor, nil, true},
			{"a cursor after the void is still good", after.NextCursor, nil, false},
		}
		for _, c := range cases {
			p, err := svc.Changes(ctx, c.cursor, 100, nil)
			if c.expired {
				if !errors.Is(err, records.ErrCursorExpired) {
					t.Errorf("%s: %s: %v, want ErrCursorExpired", name, c.name, err)
				}
				continue
			}
			if err != nil || fmt.Sprint(ids(p)) != fmt.Sprint(c.want) {
				t.Errorf("%s: %s: %v %v, want %v", name, c.name, ids(p), err, c.want)
			}
		}
	}
	// Within the retention the tombstone is served and nothing expires.
	mu.Lock()
	clock = now.Add(89 * 24 * time.Hour)
	mu.Unlock()
	if p, err := svc.Changes(ctx, before.NextCursor, 100, nil); err != nil || len(p.Changes) != 1 {
		t.Fatalf("within the retention: %v %v", ids(p), err)
	}
	mu.Lock()
	clock = now.Add(91 * 24 * time.Hour)
	mu.Unlock()
	check("running", svc)
	svc.Close()
	svc = openAt()
	if svc.LoadedFrom != "snapshot" {
		t.Fatalf("loaded from %s, want snapshot", svc.LoadedFrom)
	}
	check("from a snapshot", svc)
	svc.Close()
	if err := os.Remove(snap); err != nil {
		t.Fatal(err)
	}
	svc = openAt()
	defer svc.Close()
	if svc.LoadedFrom != "scan" {
		t.Fatalf("loaded from %s, want scan", svc.LoadedFrom)
	}
	check("from a scan", svc)
}
