package monitoring_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// openShared opens a service that shares its store with others; it
// follows them only when told (CatchUp) and before each event of its own.
func openShared(t *testing.T, s *store.Store, clk *clock) *monitoring.Service {
	t.Helper()
	svc, err := monitoring.Open(context.Background(), s, monitoring.Options{Now: clk.Now, TickInterval: time.Hour,
		Logger: slog.New(slog.DiscardHandler), Rules: sensors.AlertRules{ClearAfter: 2}, Shared: true, FollowInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// published collects the topics a service publishes alerts on.
type published struct {
	mu     sync.Mutex
	topics []string
}

func (p *published) publish(topic string, _ []byte, _ bool) error {
	p.mu.Lock()
	p.topics = append(p.topics, topic)
	p.mu.Unlock()
	return nil
}

func (p *published) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.topics) }

// state is everything a service answers about the given stations.
type state struct {
	Stats       monitoring.Stats
	Alerts      []sensors.Alert
	Views       []monitoring.StationView
	Series      []monitoring.Series
	Quality     []sensors.QualityReport
	Quarantined []monitoring.QuarantineEntry
	QuarN       int64
}

func stateOf(t *testing.T, svc *monitoring.Service, from, to time.Time, ids ...string) state {
	t.Helper()
	s := state{Stats: svc.Stats(), Alerts: svc.Alerts(monitoring.AlertFilter{})}
	s.Stats.Duplicates = 0 // counted by the receiver only
	for _, id := range ids {
		v, err := svc.Station(id)
		if err != nil {
			t.Fatal(err)
		}
		sr, err := svc.Readings(id, from, to, nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		q, err := svc.Quality(id, from, to)
		if err != nil {
			t.Fatal(err)
		}
		s.Views, s.Series, s.Quality = append(s.Views, v), append(s.Series, sr), append(s.Quality, q)
	}
	s.Quarantined, s.QuarN = svc.Quarantined()
	return s
}

// TestSharedLogKeepsInstancesAlike: two instances on one store each
// receive part of the readings, in batches whose times interleave, some
// twice, one stored by an instance that "died" before applying it; one
// acknowledges an alert, the other opens a silent alert by its tick and
// keeps a quarantined message. Both must end with the same read models and
// alerts as each other, and as a third instance started afterwards from
// the store; without the log each would hold only what it received.
func TestSharedLogKeepsInstancesAlike(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			sts := e.OpenShared(t, 3)
			clk := &clock{t: t0}
			a, b := openShared(t, sts[0], clk), openShared(t, sts[1], clk)
			var pubA, pubB published
			a.SetPublisher(pubA.publish)
			b.SetPublisher(pubB.publish)
			all := stations(t)
			res, quiet := all[0], all[1]
			for _, st := range []sensors.Station{res, quiet} {
				if _, err := a.PutStation(ctx, "admin", st, true); err != nil {
					t.Fatal(err)
				}
			}
			// b learns of the stations from the readings' events alone.
			tps := []float64{0.02, 0.05, 0.06, 0.02, 0.05, 0.02, 0.02, 0.05, 0.02, 0.02}
			rs := make([]ingest.Reading, len(tps))
			for i, tp := range tps {
				rs[i] = reading(res, t0.Add(time.Duration(i)*5*time.Minute), tp)
			}
			rs = append(rs, reading(quiet, t0, 0.02))
			clk.Set(t0.Add(time.Hour))
			batches := []struct {
				to *monitoring.Service
				rs []ingest.Reading
			}{
				{a, []ingest.Reading{rs[0], rs[2], rs[10]}},
				{b, []ingest.Reading{rs[1], rs[3]}}, // older than a's latest
				{a, []ingest.Reading{rs[4], rs[6]}},
				{b, []ingest.Reading{rs[5], rs[7]}},
				{b, []ingest.Reading{rs[4], rs[6]}}, // redelivered to the other
			}
			for i, bt := range batches {
				if err := deliver(ctx, bt.to, bt.rs); err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					continue
				}
				// a's first batch opens an alert, which a publishes; b
				// follows it without publishing it again.
				if err := b.CatchUp(ctx); err != nil {
					t.Fatal(err)
				}
				if na, nb := pubA.count(), pubB.count(); na == 0 || nb != 0 {
					t.Errorf("a published %d alert messages and b %d; want the one that logged the change alone", na, nb)
				}
			}
			// a stores 8 and "dies" before applying it; the broker hands it
			// to b, which finds it stored.
			if err := a.StoreReadings(ctx, rs[8:9]); err != nil {
				t.Fatal(err)
			}
			if err := deliver(ctx, b, rs[8:10]); err != nil {
				t.Fatal(err)
			}
			if err := a.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			alerts := a.Alerts(monitoring.AlertFilter{Station: res.ID, Kind: sensors.AlertExceedance})
			if len(alerts) == 0 {
				t.Fatal("no exceedance alert: the test shows nothing")
			}
			acked, err := b.Ack(ctx, "office", alerts[0].ID)
			if err != nil || acked.AckedBy != "office" {
				t.Fatalf("ack through b: %+v, %v", acked, err)
			}
			// quiet reported once, at t0; it is overdue 15 minutes later.
			a.Tick(ctx)
			if err := b.Quarantine(ctx, ingest.Quarantined{Topic: "baoshui/v1/stations/x/readings", Payload: []byte("{"),
				Reason: "bad_json", Detail: "unexpected end", ReceivedAt: clk.Now()}); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*monitoring.Service{a, b} {
				if err := s.CatchUp(ctx); err != nil {
					t.Fatal(err)
				}
			}
			from, to := t0.Add(-24*time.Hour), t0.Add(24*time.Hour)
			sa, sb := stateOf(t, a, from, to, res.ID, quiet.ID), stateOf(t, b, from, to, res.ID, quiet.ID)
			if sa.Stats.Readings != int64(len(rs)) {
				t.Errorf("a holds %d readings, want the %d sent, each once", sa.Stats.Readings, len(rs))
			}
			if len(a.Alerts(monitoring.AlertFilter{Kind: sensors.AlertSilent, State: sensors.AlertOpen})) != 1 {
				t.Error("a's tick opened no silent alert for the quiet station")
			}
			for _, x := range a.Alerts(monitoring.AlertFilter{Station: res.ID}) {
				if x.ID == acked.ID && (x.AckedBy != "office" || x.Rev != acked.Rev) {
					t.Errorf("a holds %+v, not b's acknowledgement %+v", x, acked)
				}
			}
			if sa.QuarN != 1 {
				t.Errorf("a holds %d quarantined messages, want b's one", sa.QuarN)
			}
			if !reflect.DeepEqual(sa, sb) {
				t.Errorf("a and b differ:\na %+v\nb %+v", sa, sb)
			}
			// The counters since the start aside, a third instance started
			// from the store holds the same.
			c := openShared(t, sts[2], clk)
			sc := stateOf(t, c, from, to, res.ID, quiet.ID)
			for _, st := range []*monitoring.Stats{&sa.Stats, &sc.Stats} {
				st.Quarantined, st.AlertsOpened, st.AlertsCleared = 0, 0, 0
			}
			if !reflect.DeepEqual(sa, sc) {
				t.Errorf("a and a third instance started from the store differ:\na %+v\nc %+v", sa, sc)
			}
		})
	}
}

// TestApplyFailsWholeWhenTheLogFails: when the event cannot be logged,
// Apply applies nothing and says so; the ingest's retry then applies the
// readings once.
func TestApplyFailsWholeWhenTheLogFails(t *testing.T) {
	sts := storetest.Engines(t)[0].OpenShared(t, 1)
	clk := &clock{t: t0.Add(time.Hour)}
	svc := openShared(t, sts[0], clk)
	ctx := context.Background()
	st := stations(t)[0]
	if _, err := svc.PutStation(ctx, "admin", st, true); err != nil {
		t.Fatal(err)
	}
	rs := []ingest.Reading{reading(st, t0, 0.02), reading(st, t0.Add(5*time.Minute), 0.05)}
	if err := svc.StoreReadings(ctx, rs); err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := svc.Apply(gone, rs); err == nil {
		t.Fatal("Apply with the store out of reach succeeded")
	}
	if n := svc.Stats().Readings; n != 0 {
		t.Fatalf("a failed Apply applied %d readings", n)
	}
	for i := 0; i < 2; i++ {
		if err := svc.Apply(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	if st := svc.Stats(); st.Readings != 2 || st.AlertsOpened != 1 || st.Events != 2 {
		t.Fatalf("after the retries: %+v; want 2 readings, 1 alert, 2 events", st)
	}
	if _, err := svc.Ack(gone, "office", "nope"); !errors.Is(err, context.Canceled) {
		t.Fatalf("ack with the store out of reach: %v", err)
	}
}

// TestStartOverlappingTheLogMatchesFollowers: an instance that starts while
// a reading is stored but not yet logged reads it in its scan, and the log
// then brings a tick's silent alert before that reading. Its alerts must be
// those of the instances that followed the log all along (the reading
// clears the silent alert), whether it starts from the log's first
// checkpoint or from a later one.
func TestStartOverlappingTheLogMatchesFollowers(t *testing.T) {
	for _, every := range []int64{500, 2} {
		t.Run(fmt.Sprintf("checkpoint every %d events", every), func(t *testing.T) {
			monitoring.SetCheckpointEvery(t, every)
			ctx := context.Background()
			sts := storetest.Engines(t)[0].OpenShared(t, 3)
			clk := &clock{t: t0}
			a, b := openShared(t, sts[0], clk), openShared(t, sts[1], clk)
			st := stations(t)[0]
			if _, err := a.PutStation(ctx, "admin", st, true); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 4; i++ {
				if err := deliver(ctx, a, []ingest.Reading{reading(st, t0.Add(time.Duration(i)*5*time.Minute), 0.02)}); err != nil {
					t.Fatal(err)
				}
			}
			clk.Set(t0.Add(2 * time.Hour))
			late := []ingest.Reading{reading(st, t0.Add(16*time.Minute), 0.02)}
			if err := a.StoreReadings(ctx, late); err != nil {
				t.Fatal(err)
			}
			c := openShared(t, sts[2], clk)
			a.Tick(ctx) // silent since 15 minutes after the reading at +15m
			if err := a.Apply(ctx, late); err != nil {
				t.Fatal(err)
			}
			silent := a.Alerts(monitoring.AlertFilter{Kind: sensors.AlertSilent})
			if len(silent) != 1 || silent[0].State != sensors.AlertCleared {
				t.Fatalf("a's silent alerts %+v; want one, cleared by the late reading", silent)
			}
			from, to := t0.Add(-24*time.Hour), t0.Add(24*time.Hour)
			sa := stateOf(t, a, from, to, st.ID)
			for name, s := range map[string]*monitoring.Service{"b": b, "c": c} {
				if err := s.CatchUp(ctx); err != nil {
					t.Fatal(err)
				}
				got := stateOf(t, s, from, to, st.ID)
				if !reflect.DeepEqual(got.Alerts, sa.Alerts) || !reflect.DeepEqual(got.Views, sa.Views) || got.Stats.Readings != sa.Stats.Readings {
					t.Errorf("%s differs from a:\n%s alerts %+v, %d readings\na alerts %+v, %d readings", name, name, got.Alerts, got.Stats.Readings,
						sa.Alerts, sa.Stats.Readings)
				}
			}
		})
	}
}

// TestOldCheckpointsAreRemoved checks that only the newest checkpoints of
// the log stay in the store, and that an instance started afterwards still
// starts from the newest one alike.
func TestOldCheckpointsAreRemoved(t *testing.T) {
	monitoring.SetCheckpointEvery(t, 2)
	ctx := context.Background()
	sts := storetest.Engines(t)[0].OpenShared(t, 2)
	clk := &clock{t: t0}
	a := openShared(t, sts[0], clk)
	st := stations(t)[0]
	if _, err := a.PutStation(ctx, "admin", st, true); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		tp := 0.02
		if i >= 15 {
			tp = 0.3 // an exceedance alert open at the end
		}
		if err := deliver(ctx, a, []ingest.Reading{reading(st, t0.Add(time.Duration(i)*5*time.Minute), tp)}); err != nil {
			t.Fatal(err)
		}
		a.WaitCheckpoint() // or the next would be skipped while it is written
	}
	last := a.Stats().Events
	if last < 20 {
		t.Fatalf("%d events logged, want at least 20", last)
	}
	newest := last - last%2
	for n := int64(0); n <= last; n += 2 {
		_, err := sts[0].GetMonitoringCheckpoint(ctx, n)
		switch kept := n > newest-6; {
		case kept && err != nil:
			t.Errorf("checkpoint %d (of the newest three, the newest %d): %v", n, newest, err)
		case !kept && !errors.Is(err, store.ErrNotFound):
			t.Errorf("checkpoint %d is still stored (%v); only the three newest should be", n, err)
		}
	}
	b := openShared(t, sts[1], clk)
	from, to := t0.Add(-24*time.Hour), t0.Add(24*time.Hour)
	sa, sb := stateOf(t, a, from, to, st.ID), stateOf(t, b, from, to, st.ID)
	if !reflect.DeepEqual(sa.Alerts, sb.Alerts) || len(sa.Alerts) == 0 {
		t.Errorf("an instance started after the pruning lists %+v; the running one %+v", sb.Alerts, sa.Alerts)
	}
}

// TestCheckpointInParts splits every checkpoint into a part a station. An
// instance started afterwards must go on like the running one: the
// stations' alerts, open at the newest checkpoint, are cleared by the
// readings that follow on both, which takes the watches' states from
// every part. A removed checkpoint takes its parts along.
func TestCheckpointInParts(t *testing.T) {
	monitoring.SetCheckpointEvery(t, 4)
	monitoring.SetCheckpointPartBytes(t, 1)
	ctx := context.Background()
	sts := storetest.Engines(t)[0].OpenShared(t, 2)
	clk := &clock{t: t0}
	a := openShared(t, sts[0], clk)
	all := stations(t)[:3]
	for _, st := range all {
		if _, err := a.PutStation(ctx, "admin", st, true); err != nil {
			t.Fatal(err)
		}
	}
	deliverRound := func(i int, tp float64) {
		t.Helper()
		for _, st := range all {
			if err := deliver(ctx, a, []ingest.Reading{reading(st, t0.Add(time.Duration(i)*5*time.Minute), tp)}); err != nil {
				t.Fatal(err)
			}
			a.WaitCheckpoint() // or the next would be skipped while it is written
		}
	}
	// 30 events; every station exceeds in the last rounds.
	for i := 0; i < 10; i++ {
		tp := 0.02
		if i >= 7 {
			tp = 0.3
		}
		deliverRound(i, tp)
	}
	last := a.Stats().Events
	newest := last - last%4
	for part := 1; part < len(all); part++ {
		if _, err := sts[0].GetMonitoringCheckpointPart(ctx, newest, part); err != nil {
			t.Errorf("part %d of the newest checkpoint %d: %v", part, newest, err)
		}
		if _, err := sts[0].GetMonitoringCheckpointPart(ctx, newest-12, part); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("part %d of the removed checkpoint %d: %v; want it removed too", part, newest-12, err)
		}
	}
	if _, err := sts[0].GetMonitoringCheckpointPart(ctx, newest, len(all)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("part %d of checkpoint %d: %v; want none past a station a part", len(all), newest, err)
	}
	b := openShared(t, sts[1], clk)
	for i := 10; i < 13; i++ {
		deliverRound(i, 0.02)
	}
	if err := b.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	as, bs := a.Alerts(monitoring.AlertFilter{}), b.Alerts(monitoring.AlertFilter{})
	cleared := 0
	for _, al := range as {
		if al.State == sensors.AlertCleared {
			cleared++
		}
	}
	if cleared != len(all) || !reflect.DeepEqual(as, bs) {
		t.Errorf("an instance started from the parts lists %+v;\nthe running one %+v (want one alert a station, cleared)", bs, as)
	}
}

// slowCheckpoints is a store whose checkpoint writes wait until released.
type slowCheckpoints struct {
	*store.Store
	release chan struct{}
}

func (s slowCheckpoints) InsertMonitoringCheckpoint(ctx context.Context, n int64, body []byte) error {
	if n > 0 { // the start's checkpoint 0 is written before the ingest runs
		<-s.release
	}
	return s.Store.InsertMonitoringCheckpoint(ctx, n, body)
}

// TestCheckpointDoesNotHoldTheIngest checks that readings go on being
// applied while a checkpoint is written, and that the checkpoints due
// meanwhile are skipped rather than queued.
func TestCheckpointDoesNotHoldTheIngest(t *testing.T) {
	monitoring.SetCheckpointEvery(t, 2)
	ctx := context.Background()
	raw := storetest.Engines(t)[0].OpenShared(t, 1)[0]
	slow := slowCheckpoints{Store: raw, release: make(chan struct{})}
	clk := &clock{t: t0}
	a, err := monitoring.Open(ctx, slow, monitoring.Options{Now: clk.Now, TickInterval: time.Hour,
		Logger: slog.New(slog.DiscardHandler), Rules: sensors.AlertRules{ClearAfter: 2}, Shared: true, FollowInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	released := false
	t.Cleanup(func() {
		if !released {
			close(slow.release)
		}
		a.Close()
	})
	st := stations(t)[0]
	if _, err := a.PutStation(ctx, "admin", st, true); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := 0; i < 8; i++ {
			if err := deliver(ctx, a, []ingest.Reading{reading(st, t0.Add(time.Duration(i)*5*time.Minute), 0.02)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the readings wait for the checkpoint being written")
	}
	last := a.Stats().Events
	close(slow.release)
	released = true
	a.WaitCheckpoint()
	var stored []int64
	for n := int64(1); n <= last; n++ {
		if _, err := raw.GetMonitoringCheckpoint(ctx, n); err == nil {
			stored = append(stored, n)
		}
	}
	if len(stored) != 1 {
		t.Errorf("checkpoints %v stored after %d events; want only the one being written when the others were due", stored, last)
	}
}
