package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
	"github.com/baoshui/baoshui/server/zones"
)

func sampleRecord(id string, rev int64) enforcement.Record {
	at := time.Date(2020, 7, 4, 7, 20, 0, 0, time.UTC)
	start := at.Add(-time.Hour)
	return enforcement.Record{
		ID: id, Rev: rev, Kind: enforcement.KindPatrol, ObservedAt: at,
		Location: &enforcement.Point{Type: "Point", Coordinates: [2]float64{116.95, 40.52}},
		Unit:     "town-gaoling", UnitPath: []string{"miyun", "town-gaoling"}, Officers: []string{"officer-1"}, StartedAt: &start, EndedAt: &at,
		Track:            &enforcement.LineString{Type: "LineString", Coordinates: []enforcement.Position{{116.95, 40.52}, {116.96, 40.53}}},
		TrackTimes:       []time.Time{start, at},
		Photos:           []enforcement.Photo{{SHA256: fmt.Sprintf("%064x", 1), Size: 10, MIME: "image/jpeg"}},
		OriginalLocation: &enforcement.OriginalLocation{CRS: "gcj02", Coordinates: [2]float64{116.956, 40.521}},
		CreatedBy:        "officer-1", RecordedBy: "officer-1", ReceivedAt: at.Add(time.Minute), BodySHA256: "abc",
	}
}

func TestRevisionsRoundTripAndDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := sampleRecord("rec-a", 1)
		b := sampleRecord("rec-b", 1)
		b.Kind, b.Track, b.TrackTimes, b.StartedAt, b.EndedAt = enforcement.KindConfiscation, nil, nil, nil, nil
		b.Items = []enforcement.Item{{Name: "渔网", Quantity: 3, UnitValueFen: 2500}}
		errs := s.InsertRevisions(ctx, []enforcement.Record{a, b})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("insert %d: %v", i, err)
			}
		}
		errs = s.InsertRevisions(ctx, []enforcement.Record{a, sampleRecord("rec-c", 1)})
		if !errors.Is(errs[0], store.ErrDuplicate) {
			t.Errorf("second insert of rec-a:1: got %v, want ErrDuplicate", errs[0])
		}
		if errs[1] != nil {
			t.Errorf("rec-c in the same batch as a duplicate: %v", errs[1])
		}
		got, err := s.GetRevision(ctx, "rec-a", 1)
		if err != nil {
			t.Fatal(err)
		}
		if got.StateHash() != a.StateHash() {
			t.Errorf("round trip changed the record:\n got %+v\nwant %+v", got, a)
		}
		gb, err := s.GetRevision(ctx, "rec-b", 1)
		if err != nil || gb.ValueFen() != 7500 {
			t.Errorf("rec-b: %v value %d", err, gb.ValueFen())
		}
		if _, err := s.GetRevision(ctx, "rec-a", 2); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing revision: got %v, want ErrNotFound", err)
		}
		if err := s.MarkSuperseded(ctx, "rec-a", 1, 2); err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := s.ScanHeads(ctx, func(enforcement.Record) error { n++; return nil }); err != nil || n != 2 {
			t.Errorf("scan: %d heads, %v; want 2 (rec-a:1 is superseded)", n, err)
		}
	})
}

func TestLastAuditFindsTheHeadByID(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	for _, total := range []int{0, 1, 2, 3, 7, 8, 9, 40, 41} {
		t.Run(fmt.Sprint(total), func(t *testing.T) {
			s := storetest.Open(t)
			c := audit.NewChain(audit.Entry{})
			var entries []audit.Entry
			for i := 0; i < total; i++ {
				entries = append(entries, c.Next(audit.Entry{At: time.Now(), Actor: "a", Action: "create", Object: fmt.Sprint(i)}))
			}
			if total > 0 {
				if _, err := s.InsertAudit(ctx, entries); err != nil {
					t.Fatal(err)
				}
			}
			last, err := s.LastAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if last.Seq != int64(total) {
				t.Fatalf("last seq %d, want %d", last.Seq, total)
			}
			v := audit.NewVerifier()
			if err := s.ScanAudit(ctx, v.Add); err != nil || v.Count() != int64(total) {
				t.Fatalf("verify: %v after %d", err, v.Count())
			}
		})
	}
	_ = s
}

// TestOpenTwiceIsIdempotent reopens a database whose indexes exist: FerretDB
// drops the connection if createIndexes repeats an existing index.
func TestOpenTwiceIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if errs := s.InsertRevisions(ctx, []enforcement.Record{sampleRecord("keep", 1)}); errs[0] != nil {
			t.Fatal(errs[0])
		}
		again, err := store.Open(ctx, store.Config{MongoURI: s.URI(), Database: s.DatabaseName()})
		if err != nil {
			t.Fatalf("second open of the same database: %v", err)
		}
		defer again.Close(ctx)
		if _, err := again.GetRevision(ctx, "keep", 1); err != nil {
			t.Errorf("record lost across reopen: %v", err)
		}
	})
}

func TestPlacesRoundTripAndBulkUpdate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var revs []enforcement.Record
		for i := 0; i < 50; i++ { // more than one bulk write of MaxBatch
			r := sampleRecord(fmt.Sprintf("p%02d", i), 1)
			r.Place = &enforcement.Place{ZonesVersion: 3, Zone: "first", Town: "town-gaoling", Cell: "cell-r01c02",
				CellDistanceM: 12.5, Cells: []string{"cell-r01c02", "cell-r01c03"}}
			r.Effort = &enforcement.Effort{DistanceM: 1234.5, DurationS: 3600, MovingS: 3000, StoppedS: 600, Fixes: 2}
			revs = append(revs, r)
		}
		for _, err := range s.InsertRevisions(ctx, revs) {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetRevision(ctx, "p07", 1)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(*got.Place) != fmt.Sprint(*revs[7].Place) || *got.Effort != *revs[7].Effort {
			t.Fatalf("round trip: place %+v effort %+v", got.Place, got.Effort)
		}
		var ups []enforcement.PlaceUpdate
		for i := 0; i < 50; i++ {
			ups = append(ups, enforcement.PlaceUpdate{ID: fmt.Sprintf("p%02d", i), Rev: 1, Place: enforcement.Place{ZonesVersion: 4, Town: fmt.Sprintf("area-%d", i)}})
		}
		ups = append(ups, enforcement.PlaceUpdate{ID: "never-stored", Rev: 1, Place: enforcement.Place{ZonesVersion: 4}})
		if err := s.SetPlaces(ctx, ups); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 39, 40, 49} {
			got, err := s.GetRevision(ctx, fmt.Sprintf("p%02d", i), 1)
			if err != nil || got.Place.ZonesVersion != 4 || got.Place.Town != fmt.Sprintf("area-%d", i) || got.Effort == nil {
				t.Errorf("p%02d after SetPlaces: %v %+v", i, err, got.Place)
			}
		}
		if _, err := s.GetRevision(ctx, "never-stored", 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetPlaces created a revision: %v", err)
		}
	})
}

func TestZoneVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v := zones.Version{Layer: "grid", Version: 1, GeoJSON: []byte(`{"type":"FeatureCollection","features":[]}`), SHA256: "x",
			Features: 0, CreatedBy: "admin", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		if err := s.InsertZoneVersion(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertZoneVersion(ctx, v); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("the same version twice: %v, want ErrDuplicate", err)
		}
		v2 := v
		v2.Version, v2.GeoJSON = 2, []byte(`{"type":"FeatureCollection","features":[{}]}`)
		if err := s.InsertZoneVersion(ctx, v2); err != nil {
			t.Fatal(err)
		}
		all, err := s.ZoneVersions(ctx)
		if err != nil || len(all) != 2 {
			t.Fatalf("versions: %v %+v", err, all)
		}
		for _, got := range all {
			want := map[int64]zones.Version{1: v, 2: v2}[got.Version]
			if string(got.GeoJSON) != string(want.GeoJSON) || got.CreatedBy != "admin" || !got.CreatedAt.Equal(want.CreatedAt) || got.Layer != "grid" {
				t.Errorf("version %d: %+v", got.Version, got)
			}
		}
	})
}

func TestSyncLedger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		l := s.Ledger()
		if n, err := l.Last(ctx, "phone-1"); err != nil || n != 0 {
			t.Fatalf("empty ledger: last %d %v", n, err)
		}
		at := time.Date(2020, 7, 4, 10, 0, 0, 0, time.UTC)
		var rs []mobilesync.Result
		for seq := int64(1); seq <= 37; seq++ {
			r := mobilesync.Result{Seq: seq, Status: mobilesync.StatusApplied, RecordID: fmt.Sprint("r", seq), Rev: 1, ServerTime: at}
			if seq == 5 {
				r.Status, r.Problem = mobilesync.StatusRejected, []byte(`{"type":"/problems/validation"}`)
			}
			rs = append(rs, r)
		}
		// Two calls, the second one across the store's bulk limit.
		for _, part := range [][]mobilesync.Result{rs[:3], rs[3:]} {
			for i, err := range l.PutMany(ctx, "phone-1", part) {
				if err != nil {
					t.Fatalf("seq %d: %v", part[i].Seq, err)
				}
			}
		}
		errs := l.PutMany(ctx, "phone-1", []mobilesync.Result{{Seq: 7, Status: mobilesync.StatusApplied}, {Seq: 38, Status: mobilesync.StatusApplied}})
		if !errors.Is(errs[0], mobilesync.ErrExists) || errs[1] != nil {
			t.Errorf("seq 7 twice, 38 new: %v, want ErrExists and nil", errs)
		}
		if n, err := l.Last(ctx, "phone-1"); err != nil || n != 38 {
			t.Errorf("last: %d %v, want 38", n, err)
		}
		if n, err := l.Last(ctx, "phone-2"); err != nil || n != 0 {
			t.Errorf("another device: %d %v", n, err)
		}
		r, err := l.Get(ctx, "phone-1", 5)
		if err != nil || r.Status != mobilesync.StatusRejected || string(r.Problem) != `{"type":"/problems/validation"}` || !r.ServerTime.Equal(at) {
			t.Errorf("seq 5: %+v %v", r, err)
		}
		if _, err := l.Get(ctx, "phone-1", 39); !errors.Is(err, mobilesync.ErrNotFound) {
			t.Errorf("seq 39: %v", err)
		}
	})
}

// TestInsertManyOfDuplicatesDoesNotHang: FerretDB hangs on bulk writes of
// 50–100 statements that match stored documents (DESIGN.md §2); inserts of
// already stored _ids are not such statements. Four callers at once insert
// MaxInsertBatch documents that all exist: each gets its duplicate-key
// errors, in time.
func TestInsertManyOfDuplicatesDoesNotHang(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		l := s.Ledger()
		rs := make([]mobilesync.Result, store.MaxInsertBatch)
		for i := range rs {
			rs[i] = mobilesync.Result{Seq: int64(i + 1), Status: mobilesync.StatusApplied}
		}
		for i, err := range l.PutMany(ctx, "phone-dup", rs) {
			if err != nil {
				t.Fatalf("seq %d: %v", i+1, err)
			}
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, err := range l.PutMany(ctx, "phone-dup", rs) {
					if !errors.Is(err, mobilesync.ErrExists) {
						t.Errorf("seq %d again: %v, want ErrExists", i+1, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
}

// TestFindByIDUsesAnIndex: FerretDB's own _id index does not serve its find
// by _id (a scan of the table up to the match); the store adds one that
// does, on every collection it writes.
func TestFindByIDUsesAnIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, col := range []string{"records", "audit", "sync_ledger", "track_chunks", "fs.chunks", "seqlog", "monlog", "monckpt", "monckptparts"} {
			plan, err := s.ExplainFindByID(ctx, col)
			if err != nil {
				t.Fatalf("%s: %v", col, err)
			}
			if s.Engine() == "mongodb" && plan == "" {
				continue
			}
			if !strings.Contains(plan, "_baoshui_id") {
				t.Errorf("%s: a find by _id does not use the index:\n%s", col, plan)
			}
		}
	})
}
