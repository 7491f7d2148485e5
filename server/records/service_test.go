package records_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

func tree() *enforcement.UnitTree {
	t := enforcement.NewUnitTree()
	t.Put(enforcement.Unit{ID: "miyun", Name: "密云", Tier: enforcement.TierDistrict})
	t.Put(enforcement.Unit{ID: "town-a", Name: "A", Tier: enforcement.TierTown, Parent: "miyun"})
	t.Put(enforcement.Unit{ID: "town-b", Name: "B", Tier: enforcement.TierTown, Parent: "miyun"})
	t.Put(enforcement.Unit{ID: "village-a1", Name: "A1", Tier: enforcement.TierVillage, Parent: "town-a"})
	return t
}

var now = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

func open(t *testing.T, st *store.Store) *records.Service {
	t.Helper()
	svc, err := records.Open(context.Background(), st, tree(), records.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

func decode(t *testing.T, body string) enforcement.Record {
	t.Helper()
	in, err := enforcement.Decode([]byte(body), now)
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return in.Record
}

func expulsion(id, unit string, persons int, at string) string {
	return fmt.Sprintf(`{"id":%q,"kind":"expulsion","observed_at":%q,"location":{"type":"Point","coordinates":[116.95,40.52]},"unit":%q,"persons":%d,"activity":"swimming"}`, id, at, unit, persons)
}

func TestCreateIsIdempotentByID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc := open(t, st)
		ctx := context.Background()
		me := records.Actor{Username: "officer-a"}
		r := decode(t, expulsion("r1", "town-a", 3, "2020-07-04T15:20:00+08:00"))
		res, err := svc.Create(ctx, me, r)
		if err != nil || !res.Created || res.Record.Rev != 1 {
			t.Fatalf("first create: %+v %v", res, err)
		}
		again, err := svc.Create(ctx, me, r)
		if err != nil || again.Created || again.Record.BodySHA256 != res.Record.BodySHA256 {
			t.Fatalf("same body again: %+v %v; want the stored record, not created", again, err)
		}
		other := decode(t, expulsion("r1", "town-a", 4, "2020-07-04T15:20:00+08:00"))
		_, err = svc.Create(ctx, me, other)
		var ce *records.ConflictError
		if !errors.As(err, &ce) || ce.Current.Persons != 3 {
			t.Fatalf("different body under the same id: %v; want a conflict carrying the stored record", err)
		}
		got := svc.Totals(records.TotalsQuery{From: enforcement.DayFromDate(2020, 1, 1), To: enforcement.DayFromDate(2021, 1, 1)})
		if got.Totals.PersonsCleared != 3 {
			t.Errorf("persons cleared %d after a retry and a conflict, want 3", got.Totals.PersonsCleared)
		}
	})
}

func TestConcurrentDuplicateCreatesCountOnce(t *testing.T) {
	st := storetest.Open(t)
	svc := open(t, st)
	r := decode(t, expulsion("dup", "town-a", 2, "2020-07-04T15:20:00+08:00"))
	var wg sync.WaitGroup
	var created sync.Map
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := svc.Create(context.Background(), records.Actor{Username: "u"}, r)
			if err != nil {
				t.Error(err)
				return
			}
			if res.Created {
				created.Store(i, true)
			}
		}()
	}
	wg.Wait()
	n := 0
	created.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d calls report creating the record, want exactly 1", n)
	}
	got := svc.Totals(records.TotalsQuery{From: enforcement.DayFromDate(2020, 1, 1), To: enforcement.DayFromDate(2021, 1, 1)})
	if got.Totals.PersonsCleared != 2 {
		t.Errorf("persons cleared %d, want 2", got.Totals.PersonsCleared)
	}
}

func TestCorrectAndVoid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc := open(t, st)
		ctx := context.Background()
		me := records.Actor{Username: "officer-a"}
		if _, err := svc.Create(ctx, me, decode(t, expulsion("r1", "town-a", 3, "2020-07-04T15:20:00+08:00"))); err != nil {
			t.Fatal(err)
		}
		year := records.TotalsQuery{From: enforcement.DayFromDate(2020, 1, 1), To: enforcement.DayFromDate(2021, 1, 1)}
		fix := decode(t, expulsion("r1", "town-a", 5, "2020-07-04T15:20:00+08:00"))
		res, err := svc.Correct(ctx, records.Actor{Username: "sup"}, 1, fix)
		if err != nil || res.Record.Rev != 2 || res.Record.CreatedBy != "officer-a" || res.Record.RecordedBy != "sup" {
			t.Fatalf("correct: %+v %v", res.Record, err)
		}
		if n := svc.Totals(year).Totals.PersonsCleared; n != 5 {
			t.Errorf("after correction persons %d, want 5 (counted once)", n)
		}
		var ce *records.ConflictError
		if _, err := svc.Correct(ctx, me, 1, fix); !errors.As(err, &ce) || ce.Current.Rev != 2 {
			t.Errorf("stale base_rev: %v, want a conflict with rev 2", err)
		}
		hist, err := svc.History(ctx, "r1")
		if err != nil || len(hist) != 2 || hist[0].Persons != 3 || hist[1].Persons != 5 {
			t.Fatalf("history: %v %+v", err, hist)
		}
		if _, err := svc.Void(ctx, me, "r1", 2, "entered twice"); err != nil {
			t.Fatal(err)
		}
		if n := svc.Totals(year).Totals.PersonsCleared; n != 0 {
			t.Errorf("after void persons %d, want 0", n)
		}
		if _, err := svc.Void(ctx, me, "r1", 3, "again"); !errors.As(err, &ce) {
			t.Errorf("void of a void: %v, want conflict", err)
		}
		if _, err := svc.Void(ctx, me, "nope", 1, "x"); !errors.Is(err, enforcement.ErrNotFound) {
			t.Errorf("void of an unknown record: %v", err)
		}
		// A restart rebuilds the same state from the store.
		svc.Close()
		again := open(t, st)
		if n := again.Totals(year).Totals.PersonsCleared; n != 0 {
			t.Errorf("after restart persons %d, want 0", n)
		}
		if h, _ := again.Head("r1"); h.Rev != 3 || !h.Voided {
			t.Errorf("after restart head %+v", h)
		}
		v := audit.NewVerifier()
		if err := st.ScanAudit(ctx, v.Add); err != nil || v.Count() != 3 {
			t.Errorf("audit: %v after %d entries, want 3 valid", err, v.Count())
		}
	})
}

func TestListPagesWithoutGapsOrRepeats(t *testing.T) {
	st := storetest.Open(t)
	svc := open(t, st)
	ctx := context.Background()
	base := time.Date(2020, 5, 1, 8, 0, 0, 0, enforcement.Shanghai)
	want := map[string]bool{}
	for i := 0; i < 95; i++ {
		unit := []string{"town-a", "town-b", "village-a1"}[i%3]
		at := base.Add(time.Duration(i/2) * time.Hour) // pairs share a time: the id breaks the tie
		id := fmt.Sprintf("l%03d", i)
		if _, err := svc.Create(ctx, records.Actor{Username: "u"}, decode(t, expulsion(id, unit, 1, at.Format(time.RFC3339)))); err != nil {
			t.Fatal(err)
		}
		if unit != "town-b" {
			want[id] = true
		}
	}
	got := map[string]bool{}
	cursor := ""
	var last enforcement.Record
	for pages := 0; ; pages++ {
		p, err := svc.List(ctx, records.Filter{Unit: "town-a"}, cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			if got[r.ID] {
				t.Fatalf("%s listed twice", r.ID)
			}
			if last.ID != "" && r.ObservedAt.After(last.ObservedAt) {
				t.Fatalf("%s out of order after %s", r.ID, last.ID)
			}
			got[r.ID], last = true, r
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(got) != len(want) {
		t.Errorf("listed %d records of town-a's subtree, want %d", len(got), len(want))
	}
	if _, err := svc.List(ctx, records.Filter{}, "!!", 10); !errors.Is(err, records.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}

// TestTotalsReadModelAgreesWithPipeline checks the in-memory per-day totals
// against $match/$group pipelines run by the store, for random periods and
// filters over random records, corrections and voids.
func TestTotalsReadModelAgreesWithPipeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc := open(t, st)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(7, 11))
		units := []string{"town-a", "town-b", "village-a1"}
		campaigns := []string{"", "百日整治"}
		var ids []string
		for i := 0; i < 120; i++ {
			at := time.Date(2020, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), 0, 0, 0, enforcement.Shanghai)
			unit, camp := units[rng.IntN(3)], campaigns[rng.IntN(2)]
			id := fmt.Sprintf("t%03d", i)
			common := fmt.Sprintf(`"id":%q,"observed_at":%q,"location":{"type":"Point","coordinates":[116.9,40.5]},"unit":%q,"campaign":%q`,
				id, at.Format(time.RFC3339), unit, camp)
			var body string
			switch rng.IntN(5) {
			case 0:
				body = fmt.Sprintf(`{%s,"kind":"expulsion","persons":%d,"activity":%q}`, common, 1+rng.IntN(5),
					enforcement.Activities[rng.IntN(4)])
			case 1:
				body = fmt.Sprintf(`{%s,"kind":"grazing"}`, common)
			case 2:
				body = fmt.Sprintf(`{%s,"kind":"vehicle","vehicles":%d}`, common, 1+rng.IntN(3))
			case 3:
				body = fmt.Sprintf(`{%s,"kind":"confiscation","items":[{"name":"渔网","quantity":%d,"unit_value_fen":%d}]}`,
					common, 1+rng.IntN(4), rng.IntN(50000))
			case 4:
				decided := at.Add(time.Duration(rng.IntN(60*24)) * time.Hour)
				if decided.After(now) {
					decided = now.Add(-time.Hour)
				}
				body = fmt.Sprintf(`{%s,"kind":"case","filed_at":%q,"decided_at":%q,"fine_fen":%d}`, common,
					at.Format(time.RFC3339), decided.Format(time.RFC3339), 100*(1+rng.IntN(5000)))
			}
			if _, err := svc.Create(ctx, records.Actor{Username: "u"}, decode(t, body)); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		for _, id := range ids[:15] {
			if _, err := svc.Void(ctx, records.Actor{Username: "u"}, id, 1, "test"); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids[15:30] {
			r, err := svc.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			r.Unit = units[rng.IntN(3)]
			r.Persons, r.Vehicles = r.Persons*2, r.Vehicles*3
			if _, err := svc.Correct(ctx, records.Actor{Username: "u"}, r.Rev, r.ClientPart()); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 12; i++ {
			from := enforcement.DayFromDate(2020, time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
			to := from + enforcement.Day(1+rng.IntN(200))
			unit := []string{"", "miyun", "town-a", "town-b", "village-a1"}[rng.IntN(5)]
			camp := campaigns[rng.IntN(2)]
			got := svc.Totals(records.TotalsQuery{From: from, To: to, Unit: unit, Campaign: camp}).Totals
			want, err := st.TotalsPipeline(ctx, from, to, unit, camp)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s..%s unit %q campaign %q:\n read model %+v\n pipeline   %+v", from, to, unit, camp, got, want)
			}
		}
	})
}

// TestLoadAfterACrashBetweenCorrectionAndMark: a correction whose older
// revision was never marked superseded (the process died in between) still
// counts once after a restart.
func TestLoadAfterACrashBetweenCorrectionAndMark(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	r1 := decode(t, expulsion("c1", "town-a", 3, "2020-07-04T15:20:00+08:00"))
	r1.Rev, r1.BodySHA256 = 1, r1.CanonicalHash()
	r2 := decode(t, expulsion("c1", "town-b", 7, "2020-07-04T15:20:00+08:00")) // moved to town-b
	r2.Rev = 2
	other := decode(t, expulsion("c2", "town-b", 1, "2020-07-05T15:20:00+08:00"))
	other.Rev = 1
	// Stored in an order that puts the higher revision first for one scan
	// order or the other; neither revision is marked superseded.
	for _, r := range []enforcement.Record{r2, other, r1} {
		if errs := st.InsertRevisions(ctx, []enforcement.Record{r}); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	svc := open(t, st)
	year := records.TotalsQuery{From: enforcement.DayFromDate(2020, 1, 1), To: enforcement.DayFromDate(2021, 1, 1)}
	if n := svc.Totals(year).Totals.PersonsCleared; n != 8 {
		t.Errorf("persons %d, want 8 (7 from c1's rev 2, 1 from c2)", n)
	}
	if h, _ := svc.Head("c1"); h.Rev != 2 {
		t.Errorf("head of c1 is rev %d, want 2", h.Rev)
	}
	townA := year
	townA.Unit = "town-a"
	if n := svc.Totals(townA).Totals.PersonsCleared; n != 0 {
		t.Errorf("town-a persons %d, want 0: the correction moved c1 to town-b", n)
	}
}

// TestSnapshotIsUsedOnlyWhileItMatchesTheStore: a clean Close writes the read
// models to a file that the next Open uses; any record write in between (here
// through another Store on the same database) makes the next Open scan.
func TestSnapshotIsUsedOnlyWhileItMatchesTheStore(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "read-models.snapshot")
	openSnap := func() *records.Service {
		svc, err := records.Open(ctx, st, tree(), records.Options{SnapshotPath: path, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	year := records.TotalsQuery{From: enforcement.DayFromDate(2020, 1, 1), To: enforcement.DayFromDate(2021, 1, 1)}
	svc := openSnap()
	for i, unit := range []string{"town-a", "town-b", "village-a1"} {
		body := expulsion(fmt.Sprintf("s%d", i), unit, i+1, "2020-07-04T15:20:00+08:00")
		if _, err := svc.Create(ctx, records.Actor{Username: "u"}, decode(t, body)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Void(ctx, records.Actor{Username: "u"}, "s0", 1, "test"); err != nil {
		t.Fatal(err)
	}
	want := svc.Totals(year)
	svc.Close()

	svc = openSnap()
	if svc.LoadedFrom != "snapshot" {
		t.Fatalf("after a clean close the read models came from %q, want snapshot", svc.LoadedFrom)
	}
	if got := svc.Totals(year); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("totals from the snapshot %+v, want %+v", got.Totals, want.Totals)
	}
	if h, ok := svc.Head("s0"); !ok || !h.Voided || h.Rev != 2 || h.Unit != "town-a" {
		t.Errorf("head from the snapshot: %+v %v", h, ok)
	}
	page, err := svc.List(ctx, records.Filter{Unit: "town-a"}, "", 10)
	if err != nil || len(page.Records) != 1 {
		t.Errorf("list from the snapshot: %v %d records, want the one of village-a1", err, len(page.Records))
	}
	svc.Close()

	other, err := store.Open(ctx, store.Config{MongoURI: st.URI(), Database: st.DatabaseName()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	extra := decode(t, expulsion("behind-its-back", "town-b", 10, "2020-07-05T15:20:00+08:00"))
	extra.Rev = 1
	if errs := other.InsertRevisions(ctx, []enforcement.Record{extra}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	svc = openSnap()
	defer svc.Close()
	if svc.LoadedFrom != "scan" {
		t.Errorf("after a write by another store the read models came from %q, want scan", svc.LoadedFrom)
	}
	if n := svc.Totals(year).Totals.PersonsCleared; n != want.Totals.PersonsCleared+10 {
		t.Errorf("persons %d, want %d", n, want.Totals.PersonsCleared+10)
	}
}
