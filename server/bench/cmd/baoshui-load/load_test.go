package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/app"
)

// TestLoadAgainstInProcessServer runs the generator for three seconds
// against a real server in this process (embedded store, embedded broker,
// no write rate limit) holding a district, a town team, an office user and
// three officers, and no station: the load registers its stations. Every
// endpoint must have been exercised without an error, and the server must
// have stored exactly what it acknowledged.
func TestLoadAgainstInProcessServer(t *testing.T) {
	ctx := context.Background()
	c, err := app.LoadConfig("test", []string{"-http-addr", "127.0.0.1:0", "-mqtt-addr", "127.0.0.1:0",
		"-data-dir", t.TempDir(), "-bootstrap-admin", "admin:baoshui2020", "-write-rate", "0"},
		func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Start(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	if a.Broker == nil {
		t.Fatal("no embedded broker")
	}

	api := newAPIClient(a.URL(), 4, 30*time.Second, newRecorder())
	admin, err := api.login("admin", "baoshui2020")
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []map[string]string{
		{"id": "miyun", "name": "密云区保水大队", "tier": "district"},
		{"id": "town-a", "name": "甲镇", "tier": "town", "parent": "miyun"},
	} {
		if _, err := admin.call("", "POST", "/api/v1/units", body, nil); err != nil {
			t.Fatalf("POST /api/v1/units %s: %v", body["id"], err)
		}
	}
	for _, u := range []struct{ name, role, unit string }{
		{"office", "office", "miyun"}, {"officer-a-1", "officer", "town-a"}, {"officer-a-2", "officer", "town-a"}, {"officer-a-3", "officer", "town-a"},
	} {
		body := map[string]string{"username": u.name, "password": "baoshui2020", "name": u.name, "role": u.role, "unit": u.unit}
		if _, err := admin.call("", "POST", "/api/v1/users", body, nil); err != nil {
			t.Fatalf("POST /api/v1/users %s: %v", u.name, err)
		}
	}

	cfg := DefaultConfig()
	cfg.URL, cfg.MQTTAddr = a.URL(), a.Broker.Addr()
	cfg.Duration = 3 * time.Second
	cfg.Officers, cfg.Batch, cfg.PushInterval = 4, 3, 200*time.Millisecond
	cfg.Browsers, cfg.BrowseInterval = 3, 40*time.Millisecond
	cfg.Stations, cfg.PublishInterval = 3, 200*time.Millisecond
	cfg.Settle = 10 * time.Second
	cfg.ServerNote = "The server runs in the test's own process."
	cfg.Out = ""
	rep, err := Run(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	md := rep.Markdown()
	t.Log("\n" + md)

	for _, name := range []string{epPush, epIncidents, epHeat, epTotals, epRecord, epPublish} {
		e, ok := rep.Endpoint(name)
		switch {
		case !ok:
			t.Errorf("%s: not in the report", name)
		case e.Count == 0:
			t.Errorf("%s: no operation", name)
		case e.Errors > 0:
			t.Errorf("%s: %d errors: %v", name, e.Errors, e.Messages)
		case e.P50 <= 0 || e.P50 > e.P95 || e.P95 > e.P99 || e.P99 > e.Max:
			t.Errorf("%s: latencies out of order: %s %s %s %s", name, e.P50, e.P95, e.P99, e.Max)
		}
		if !strings.Contains(md, "| `"+name+"` |") {
			t.Errorf("%s: no row in the Markdown", name)
		}
	}
	s := rep.Sync
	if s.Applied == 0 || s.Applied != s.Mutations || s.Rejected+s.Conflict+s.Duplicates > 0 {
		t.Errorf("sync: %+v, want every mutation applied", s)
	}
	if !rep.RecordsMatch() {
		t.Errorf("records: %d applied, incidents %d → %d; totals expected %s, grew by %s", s.Applied,
			s.IncidentsBefore, s.IncidentsAfter, s.ExpectedTotals, s.TotalsDelta)
	}
	if s.ExpectedTotals.PersonsCleared == 0 {
		t.Errorf("no expulsion among %d records: the mix is not exercised", s.Applied)
	}
	m := rep.MQTT
	if m.Registered != 3 || m.Acked == 0 || m.Failed > 0 || !rep.ReadingsMatch() {
		t.Errorf("readings: %+v, want 3 stations registered and every acknowledged reading stored", m)
	}
	if rep.Resources.Samples < 2 || rep.Resources.RSSPeak <= 0 || rep.Resources.CPUSeconds <= 0 {
		t.Errorf("resources: %+v", rep.Resources)
	}
	if !rep.ChecksPass() || strings.Contains(md, "MISMATCH") {
		t.Error("the report's checks do not pass")
	}
}

// TestQuantile checks the nearest-rank quantiles the report gives.
func TestQuantile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.95, 95 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		if got := quantile(lat, c.q); got != c.want {
			t.Errorf("quantile(1..100 ms, %g) = %s, want %s", c.q, got, c.want)
		}
	}
	if got := quantile(lat[:1], 0.99); got != time.Millisecond {
		t.Errorf("quantile of one = %s", got)
	}
}

// TestConfigCheck names the bad knobs.
func TestConfigCheck(t *testing.T) {
	c := DefaultConfig()
	if err := c.check(); err != nil {
		t.Fatalf("the default configuration: %v", err)
	}
	c.URL, c.Batch, c.PublishInterval = "http://127.0.0.1:1", 0, 0
	err := c.check()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"-batch", "-publish-interval", "-mqtt"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v: does not name %s", err, want)
		}
	}
}

func TestTrend(t *testing.T) {
	t0 := time.Unix(0, 0)
	var ss []sample
	for i := range 100 {
		ss = append(ss, sample{at: t0.Add(time.Duration(i) * time.Second), rss: float64(i), heap: 2 * float64(i), goroutines: 10})
	}
	tr := trend(ss, 10)
	if len(tr) != 10 {
		t.Fatalf("%d parts", len(tr))
	}
	// 99 s in ten parts of 9.9 s: the first holds samples 0–9 (mean 4.5),
	// the last 90–99 (mean 94.5).
	if tr[0].RSS != 4.5 || tr[9].RSS != 94.5 || tr[9].Heap != 189 || tr[5].Goroutines != 10 {
		t.Errorf("trend %+v … %+v", tr[0], tr[9])
	}
	if trend(ss[:15], 10) != nil {
		t.Error("a trend from 15 samples")
	}
}
