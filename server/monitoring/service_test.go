package monitoring_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

var t0 = time.Date(2024, 7, 4, 0, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func stations(t testing.TB) []sensors.Station {
	t.Helper()
	b, err := os.ReadFile("../../testdata/stations.json")
	if err != nil {
		t.Fatal(err)
	}
	sts, err := sensors.LoadStations(b)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

// deliver hands rs to the service as the ingest does: stored, then applied.
func deliver(ctx context.Context, svc *monitoring.Service, rs []ingest.Reading) error {
	if err := svc.StoreReadings(ctx, rs); err != nil {
		return err
	}
	return svc.Apply(ctx, rs)
}

func open(t *testing.T, s *store.Store, clk *clock) *monitoring.Service {
	t.Helper()
	svc, err := monitoring.Open(context.Background(), s, monitoring.Options{Now: clk.Now, TickInterval: time.Hour, Logger: slog.New(slog.DiscardHandler),
		Rules: sensors.AlertRules{ClearAfter: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// reading makes a classified reading of st at ts with TP = tp and a
// compliant rest.
func reading(st sensors.Station, ts time.Time, tp float64) ingest.Reading {
	smp := sensors.Sample{Time: ts, Values: map[sensors.Param]float64{
		sensors.ParamPH: 7.8, sensors.ParamDO: 8.1, sensors.ParamTP: tp, sensors.ParamNH3N: 0.1, sensors.ParamCODMn: 2.1,
	}}
	return ingest.Reading{Station: st.ID, Sample: smp, Result: sensors.ClassifySample(st, smp), ReceivedAt: ts.Add(time.Second)}
}

// TestReadingsAlertsAndRestart stores readings through the sink, checks
// the read models and the alerts, restarts the service on the same store
// and checks that it comes back with the same state and the ack kept.
func TestReadingsAlertsAndRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		clk := &clock{t: t0}
		svc := open(t, s, clk)
		var res sensors.Station
		for _, st := range stations(t) {
			if st.WaterBody == sensors.Reservoir && res.ID == "" {
				res = st
			}
		}
		if _, err := svc.PutStation(ctx, "admin", res, true); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.PutStation(ctx, "admin", res, true); !errors.Is(err, enforcement.ErrExists) {
			t.Fatalf("second create: %v, want ErrExists", err)
		}
		var published []string
		var pmu sync.Mutex
		svc.SetPublisher(func(topic string, payload []byte, retain bool) error {
			pmu.Lock()
			defer pmu.Unlock()
			if !retain {
				t.Errorf("alert on %s not retained", topic)
			}
			published = append(published, topic)
			return nil
		})
		// 0.02 is Class II at a reservoir (compliant), 0.05 Class IV.
		tps := []float64{0.02, 0.05, 0.06, 0.02, 0.02, 0.02}
		var rs []ingest.Reading
		for i, tp := range tps {
			rs = append(rs, reading(res, t0.Add(time.Duration(i)*5*time.Minute), tp))
		}
		clk.Set(t0.Add(30 * time.Minute))
		// Delivered in two batches, the second one twice (a redelivery).
		if err := deliver(ctx, svc, rs[:3]); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := deliver(ctx, svc, rs[3:]); err != nil {
				t.Fatal(err)
			}
		}
		if st := svc.Stats(); st.Readings != 6 || st.Duplicates != 3 || st.AlertsOpened != 1 || st.AlertsCleared != 1 {
			t.Fatalf("stats %+v, want 6 readings, 3 duplicates, 1 alert opened and cleared", st)
		}
		alerts := svc.Alerts(monitoring.AlertFilter{Station: res.ID})
		if len(alerts) != 1 {
			t.Fatalf("alerts %+v, want 1", alerts)
		}
		a := alerts[0]
		if a.State != sensors.AlertCleared || !a.OpenedAt.Equal(rs[1].Sample.Time) || !a.ClearedAt.Equal(rs[4].Sample.Time) ||
			a.Exceeding != 2 || a.Worst != sensors.ClassIV || len(a.Params) != 1 || a.Params[0] != sensors.ParamTP {
			t.Fatalf("alert %+v: want cleared at the second compliant sample, opened at the first exceedance, TP class IV twice", a)
		}
		if len(published) == 0 || published[0] != "baoshui/v1/alerts/"+res.ID {
			t.Fatalf("published %v", published)
		}
		acked, err := svc.Ack(ctx, "office", a.ID)
		if err != nil || acked.AckedBy != "office" || acked.Rev != a.Rev+1 {
			t.Fatalf("ack: %+v, %v", acked, err)
		}
		if _, err := svc.Ack(ctx, "office", "nope"); !errors.Is(err, enforcement.ErrNotFound) {
			t.Fatalf("ack of an unknown alert: %v", err)
		}
		view, err := svc.Station(res.ID)
		if err != nil || view.Latest == nil || !view.Latest.Time.Equal(rs[5].Sample.Time) || view.Status != "compliant" {
			t.Fatalf("station view %+v, %v", view, err)
		}
		series, err := svc.Readings(res.ID, t0, t0.Add(time.Hour), []sensors.Param{sensors.ParamTP}, 100)
		if err != nil || series.Resolution != "raw" || len(series.Params[sensors.ParamTP].Points) != 6 ||
			series.Params[sensors.ParamTP].Points[2].Value != 0.06 {
			t.Fatalf("series %+v, %v", series, err)
		}
		// All six fall in the first of two 30-minute buckets.
		series, err = svc.Readings(res.ID, t0, t0.Add(time.Hour), []sensors.Param{sensors.ParamTP}, 3)
		if err != nil {
			t.Fatal(err)
		}
		b := series.Params[sensors.ParamTP].Buckets
		if series.Resolution != "PT30M" || len(b) != 1 || b[0].Count != 6 || b[0].Max != 0.06 || b[0].Min != 0.02 {
			t.Fatalf("downsampled %+v", series)
		}
		q, err := svc.Quality(res.ID, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
		if err != nil || q.Samples != 6 || q.SamplesCompliant != 4 || len(q.Days) != 1 {
			t.Fatalf("quality %+v, %v", q, err)
		}

		// A restart rebuilds the same state from the store.
		svc.Close()
		svc2 := open(t, s, clk)
		again := svc2.Alerts(monitoring.AlertFilter{})
		if len(again) != 1 || again[0].ID != a.ID || again[0].AckedBy != "office" || again[0].State != sensors.AlertCleared {
			t.Fatalf("after restart: %+v", again)
		}
		if st := svc2.Stats(); st.Readings != 6 {
			t.Fatalf("after restart %d readings, want 6", st.Readings)
		}
		// A reading redelivered after the restart is a duplicate.
		if err := deliver(ctx, svc2, rs[:1]); err != nil || svc2.Stats().Duplicates != 1 {
			t.Fatalf("redelivery after restart: %v, %+v", err, svc2.Stats())
		}
	})
}

// TestSilenceAndCredentials checks the silence alert from the ticker and
// the credential's hash: the password authenticates, a rotation revokes it.
func TestSilenceAndCredentials(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	clk := &clock{t: t0}
	svc := open(t, s, clk)
	st := stations(t)[0]
	if _, err := svc.PutStation(ctx, "admin", st, true); err != nil {
		t.Fatal(err)
	}
	if err := deliver(ctx, svc, []ingest.Reading{reading(st, t0, 0.02)}); err != nil {
		t.Fatal(err)
	}
	// The station reports every 5 minutes; silent after 3 intervals.
	clk.Set(t0.Add(14 * time.Minute))
	svc.Tick(ctx)
	if n := len(svc.Alerts(monitoring.AlertFilter{Kind: sensors.AlertSilent})); n != 0 {
		t.Fatalf("%d silent alerts after 14 minutes", n)
	}
	clk.Set(t0.Add(16 * time.Minute))
	svc.Tick(ctx)
	open := svc.Alerts(monitoring.AlertFilter{Kind: sensors.AlertSilent, State: sensors.AlertOpen})
	if len(open) != 1 || !open[0].OpenedAt.Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("silent alerts %+v, want one opened at +15m", open)
	}
	if v, _ := svc.Station(st.ID); v.Status != "silent" {
		t.Fatalf("status %q, want silent", v.Status)
	}
	if err := deliver(ctx, svc, []ingest.Reading{reading(st, t0.Add(16*time.Minute), 0.02)}); err != nil {
		t.Fatal(err)
	}
	if n := len(svc.Alerts(monitoring.AlertFilter{State: sensors.AlertOpen})); n != 0 {
		t.Fatalf("%d open alerts after the station reported again", n)
	}

	c1, err := svc.IssueCredential(ctx, "admin", st.ID)
	if err != nil || c1.Username != st.ID || len(c1.Password) < 32 {
		t.Fatalf("credential %+v, %v", c1, err)
	}
	if got, ok := svc.Authenticate(st.ID, c1.Password); !ok || got != st.ID {
		t.Fatal("the issued password does not authenticate")
	}
	c2, err := svc.IssueCredential(ctx, "admin", st.ID)
	if err != nil || c2.Version != 2 || c2.Password == c1.Password {
		t.Fatalf("rotation %+v, %v", c2, err)
	}
	if _, ok := svc.Authenticate(st.ID, c1.Password); ok {
		t.Fatal("the rotated password still authenticates")
	}
	if _, ok := svc.Authenticate(st.ID, c2.Password); !ok {
		t.Fatal("the new password does not authenticate")
	}
	if _, err := svc.IssueCredential(ctx, "admin", "no-such-station"); !errors.Is(err, enforcement.ErrNotFound) {
		t.Fatalf("credential for an unknown station: %v", err)
	}
	// The hash, not the password, survives a restart.
	svc.Close()
	svc2, err := monitoring.Open(ctx, s, monitoring.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	if _, ok := svc2.Authenticate(st.ID, c2.Password); !ok {
		t.Fatal("after restart the password does not authenticate")
	}
	if v, _ := svc2.Station(st.ID); v.Credential == nil || v.Credential.Version != 2 {
		t.Fatalf("credential info after restart %+v", v.Credential)
	}
}

// TestSnapshot checks that a clean Close writes the read models and the
// next Open reads them instead of scanning, with the same state; and that
// after a write the snapshot is not trusted any more (a crash leaves it
// stale) and Open scans.
func TestSnapshot(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	clk := &clock{t: t0.Add(time.Hour)}
	path := filepath.Join(t.TempDir(), "sensors.snapshot")
	opts := monitoring.Options{Now: clk.Now, TickInterval: time.Hour, Logger: slog.New(slog.DiscardHandler), SnapshotPath: path,
		Rules: sensors.AlertRules{ClearAfter: 2}}
	svc, err := monitoring.Open(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	st := stations(t)[0]
	if _, err := svc.PutStation(ctx, "admin", st, true); err != nil {
		t.Fatal(err)
	}
	var rs []ingest.Reading
	for i, tp := range []float64{0.02, 0.05, 0.06, 0.02} {
		rs = append(rs, reading(st, t0.Add(time.Duration(i)*5*time.Minute), tp))
	}
	if err := deliver(ctx, svc, rs); err != nil {
		t.Fatal(err)
	}
	before, _ := svc.Station(st.ID)
	beforeSeries, _ := svc.Readings(st.ID, t0, t0.Add(time.Hour), nil, 100)
	beforeAlerts := svc.Alerts(monitoring.AlertFilter{})
	svc.Close()
	if svc.LoadedFrom != "scan" {
		t.Fatalf("first open from %q", svc.LoadedFrom)
	}

	svc2, err := monitoring.Open(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if svc2.LoadedFrom != "snapshot" {
		t.Fatalf("second open from %q, want snapshot", svc2.LoadedFrom)
	}
	after, _ := svc2.Station(st.ID)
	afterSeries, _ := svc2.Readings(st.ID, t0, t0.Add(time.Hour), nil, 100)
	if !reflect.DeepEqual(before, after) || !reflect.DeepEqual(beforeSeries, afterSeries) ||
		!reflect.DeepEqual(beforeAlerts, svc2.Alerts(monitoring.AlertFilter{})) {
		t.Fatalf("state after the snapshot differs:\n%+v\n%+v", before, after)
	}
	if svc2.Stats().Readings != 4 || len(beforeAlerts) != 1 || beforeAlerts[0].State != sensors.AlertOpen {
		t.Fatalf("stats %+v alerts %+v", svc2.Stats(), beforeAlerts)
	}
	// The open alert goes on from the snapshot: one more compliant sample
	// clears it (ClearAfter 2 here), as it would have without a restart.
	if err := deliver(ctx, svc2, []ingest.Reading{reading(st, t0.Add(20*time.Minute), 0.02)}); err != nil {
		t.Fatal(err)
	}
	if a := svc2.Alerts(monitoring.AlertFilter{}); len(a) != 1 || a[0].State != sensors.AlertCleared {
		t.Fatalf("after one more compliant sample: %+v", a)
	}
	// A crash: the service is not closed, so its write left the snapshot
	// stale; the next Open must scan and still see the fifth reading.
	svc3, err := monitoring.Open(ctx, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer svc3.Close()
	if svc3.LoadedFrom != "scan" || svc3.Stats().Readings != 5 {
		t.Fatalf("after a write without Close: from %q with %d readings, want a scan with 5", svc3.LoadedFrom, svc3.Stats().Readings)
	}
}

// TestReplayAfterCrash: readings stored without their alert revisions (the
// server died between the two writes) are replayed at the next start, and
// the alert they open is stored then; a second start finds it stored and
// derives nothing new.
func TestReplayAfterCrash(t *testing.T) {
	s := storetest.Open(t)
	ctx := context.Background()
	clk := &clock{t: t0.Add(time.Hour)}
	svc := open(t, s, clk)
	st := stations(t)[0]
	if _, err := svc.PutStation(ctx, "admin", st, true); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	var srs []monitoring.StoredReading
	// Stored in reverse order: the scan's order must not matter.
	for i, tp := range []float64{0.02, 0.02, 0.05, 0.02} {
		r := reading(st, t0.Add(time.Duration(3-i)*5*time.Minute), tp)
		srs = append(srs, monitoring.StoredReading{Station: st.ID, Time: r.Sample.Time, Values: r.Sample.Values,
			Assessment: r.Result.Assessment, Full: r.Result.Full, Exceeds: r.Result.Exceeds, ReceivedAt: r.ReceivedAt})
	}
	for _, err := range s.InsertReadings(ctx, srs) {
		if err != nil {
			t.Fatal(err)
		}
	}
	svc2 := open(t, s, clk)
	a := svc2.Alerts(monitoring.AlertFilter{})
	// At t0+5m TP 0.05 opens it; t0+10m and t0+15m are compliant: cleared
	// after two (ClearAfter 2 in open).
	if len(a) != 1 || !a[0].OpenedAt.Equal(t0.Add(5*time.Minute)) || a[0].State != sensors.AlertCleared || a[0].Rev != 3 {
		t.Fatalf("alerts after the replay: %+v", a)
	}
	svc2.Close()
	var revs int
	if err := s.ScanAlertEvents(ctx, func(monitoring.AlertEvent) error { revs++; return nil }); err != nil {
		t.Fatal(err)
	}
	if revs != 3 {
		t.Fatalf("%d alert revisions stored by the replay, want 3", revs)
	}
	svc3 := open(t, s, clk)
	if b := svc3.Alerts(monitoring.AlertFilter{}); !reflect.DeepEqual(a, b) {
		t.Fatalf("second start: %+v, want %+v", b, a)
	}
}

// TestFollowAnotherInstance: two services on one store, as two server
// instances; a station registered and a credential issued through one are
// in force in the other after following them, and the ingest and the
// broker of the other hear of them.
func TestFollowAnotherInstance(t *testing.T) {
	sts := storetest.Engines(t)[0].OpenShared(t, 2)
	clk := &clock{t: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	a, b := open(t, sts[0], clk), open(t, sts[1], clk)
	ctx := context.Background()
	var heard map[string]sensors.Station
	b.OnStations(func(m map[string]sensors.Station) { heard = m })
	var creds []monitoring.Credential
	b.OnCredential(func(c monitoring.Credential) { creds = append(creds, c) })

	st := stations(t)[0]
	v, err := a.PutStation(ctx, "admin", st, true)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := a.IssueCredential(ctx, "admin", st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := heard[st.ID]; ok {
		t.Fatal("b knows the station before following; the test shows nothing")
	}
	if err := b.FollowStation(ctx, st.ID, v.Version); err != nil {
		t.Fatal(err)
	}
	if err := b.FollowCredential(ctx, st.ID, issued.Version); err != nil {
		t.Fatal(err)
	}
	if _, ok := heard[st.ID]; !ok {
		t.Error("b's ingest did not hear of the station")
	}
	if len(creds) != 1 || creds[0].Version != issued.Version {
		t.Errorf("b's broker heard of %d credentials, want the one issued", len(creds))
	}
	if got, ok := b.Authenticate(st.ID, issued.Password); !ok || got != st.ID {
		t.Errorf("b does not authenticate the device with the password issued through a")
	}
	if err := b.FollowStation(ctx, st.ID, v.Version); err != nil || len(creds) != 1 {
		t.Errorf("following the same version again: %v", err)
	}
	if err := b.FollowStation(ctx, st.ID, v.Version+5); !errors.Is(err, enforcement.ErrNotFound) {
		t.Errorf("following a version not stored: %v; want not found", err)
	}
}
