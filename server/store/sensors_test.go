package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// cst is China Standard Time, so that the tests write times that are not
// in UTC and check that they come back in UTC.
var cst = time.FixedZone("CST", 8*3600)

// ms is t as the store gives it back: UTC, to the millisecond.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// sameTime reports whether got is want as the store gives it back.
func sameTime(got, want time.Time) bool {
	return got.Equal(ms(want)) && got.Location() == time.UTC
}

func TestSensorsReadingID(t *testing.T) {
	for _, tc := range []struct {
		name    string
		station string
		ts      time.Time
		want    string
	}{
		{"UTC with milliseconds", "miyun-01", time.Date(2026, 3, 1, 8, 5, 9, 123_000_000, time.UTC), "miyun-01:2026-03-01T08:05:09.123Z"},
		{"whole second keeps .000", "s", time.Date(2026, 3, 1, 8, 5, 9, 0, time.UTC), "s:2026-03-01T08:05:09.000Z"},
		{"another zone is written in UTC", "s", time.Date(2026, 3, 2, 0, 30, 0, 5_000_000, cst), "s:2026-03-01T16:30:00.005Z"},
		{"sub-millisecond is truncated, not rounded", "s", time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC), "s:2026-12-31T23:59:59.999Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.ReadingID(tc.station, tc.ts); got != tc.want {
				t.Errorf("ReadingID(%q, %v) = %q, want %q", tc.station, tc.ts, got, tc.want)
			}
		})
	}
}

func sampleStation(id string) sensors.Station {
	return sensors.Station{ID: id, Name: "密云水库坝前", NameEN: "Miyun dam", Location: sensors.Location{Lon: 116.95, Lat: 40.53},
		WaterBody: sensors.Reservoir, TargetClass: sensors.ClassII,
		Params: []sensors.Param{sensors.ParamPH, sensors.ParamTP, sensors.ParamTemp}, Interval: sensors.Interval(5 * time.Minute)}
}

func TestSensorsStationVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 3, 2, 9, 0, 0, 123_456_789, cst)
		a1 := monitoring.StationVersion{Station: sampleStation("a"), Version: 1, CreatedBy: "admin", CreatedAt: at}
		a2 := a1
		a2.Version, a2.Station.Interval, a2.Station.Approximate = 2, sensors.Interval(15*time.Minute), true
		b1 := monitoring.StationVersion{Station: sampleStation("b"), Version: 1, CreatedBy: "other", CreatedAt: at.Add(time.Hour)}
		b1.Station.WaterBody, b1.Station.NameEN = sensors.River, ""
		for _, v := range []monitoring.StationVersion{a2, b1, a1} {
			if err := s.InsertStationVersion(ctx, v); err != nil {
				t.Fatalf("insert %s v%d: %v", v.Station.ID, v.Version, err)
			}
		}
		dup := a1
		dup.CreatedBy = "late admin"
		if err := s.InsertStationVersion(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("a v1 twice: %v, want ErrDuplicate", err)
		}
		bad := monitoring.StationVersion{Station: sampleStation("c"), Version: 1}
		bad.Station.TargetClass = sensors.ClassNone
		if err := s.InsertStationVersion(ctx, bad); err == nil || errors.Is(err, store.ErrDuplicate) {
			t.Errorf("a station DecodeStation refuses: %v, want an error other than ErrDuplicate", err)
		}
		got, err := s.StationVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []monitoring.StationVersion{a1, a2, b1} // by station, then version
		if len(got) != len(want) {
			t.Fatalf("%d versions, want %d: %+v", len(got), len(want), got)
		}
		for i, w := range want {
			g := got[i]
			if !reflect.DeepEqual(g.Station, w.Station) || g.Version != w.Version || g.CreatedBy != w.CreatedBy || !sameTime(g.CreatedAt, w.CreatedAt) {
				t.Errorf("version %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	})
}

func TestSensorsCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 3, 2, 9, 0, 0, 987_654_321, cst)
		c1 := monitoring.Credential{Station: "a", Version: 1, Username: "station-a", Salt: []byte{0, 1, 0xff, 0xfe},
			Hash: bytes.Repeat([]byte{0xde, 0xad, 0x00, 0xbe}, 8), IssuedBy: "admin", IssuedAt: at}
		c2 := c1
		c2.Version, c2.Salt, c2.Hash, c2.IssuedAt = 2, []byte{0x80, 0x00}, bytes.Repeat([]byte{0x7f}, 32), at.Add(time.Minute)
		for _, c := range []monitoring.Credential{c2, c1} {
			if err := s.InsertCredential(ctx, c); err != nil {
				t.Fatalf("insert v%d: %v", c.Version, err)
			}
		}
		if err := s.InsertCredential(ctx, c1); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("v1 twice: %v, want ErrDuplicate", err)
		}
		got, err := s.Credentials(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []monitoring.Credential{c1, c2}
		if len(got) != len(want) {
			t.Fatalf("%d credentials, want %d", len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.Station != w.Station || g.Version != w.Version || g.Username != w.Username || !bytes.Equal(g.Salt, w.Salt) ||
				!bytes.Equal(g.Hash, w.Hash) || g.IssuedBy != w.IssuedBy || !sameTime(g.IssuedAt, w.IssuedAt) {
				t.Errorf("credential %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	})
}

// tenValues is a reading's values: ten parameters, none of them whole.
func tenValues(k int) map[sensors.Param]float64 {
	ps := []sensors.Param{sensors.ParamPH, sensors.ParamDO, sensors.ParamCODMn, sensors.ParamNH3N, sensors.ParamTP,
		sensors.ParamTN, sensors.ParamTemp, sensors.ParamConductivity, sensors.ParamTurbidity, sensors.ParamChlA}
	m := make(map[sensors.Param]float64, len(ps))
	for i, p := range ps {
		m[p] = float64(k)*0.001 + float64(i) + 0.1
	}
	return m
}

func checkReading(t *testing.T, got, want monitoring.StoredReading) {
	t.Helper()
	if got.Station != want.Station || !sameTime(got.Time, want.Time) || !reflect.DeepEqual(got.Values, want.Values) ||
		got.Assessment != want.Assessment || got.Full != want.Full || got.Exceeds != want.Exceeds || !sameTime(got.ReceivedAt, want.ReceivedAt) {
		t.Errorf("reading %s:\n got %+v\nwant %+v", store.ReadingID(want.Station, want.Time), got, want)
	}
}

func TestSensorsReadingsRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		// 16:30 UTC is 00:30 the next day in Shanghai.
		base := time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC)
		var rs []monitoring.StoredReading
		classes := []sensors.Class{sensors.ClassNone, sensors.ClassI, sensors.ClassII, sensors.ClassIII, sensors.ClassIV,
			sensors.ClassV, sensors.ClassWorseThanV}
		for i, c := range classes {
			rs = append(rs, monitoring.StoredReading{Station: "a", Time: base.Add(time.Duration(i)*time.Minute + 7_654_321).In(cst),
				Values: tenValues(i), Assessment: c, Full: classes[len(classes)-1-i], Exceeds: c > sensors.ClassII,
				ReceivedAt: base.Add(time.Duration(i)*time.Minute + 2*time.Second + 999_999)})
		}
		rs = append(rs, monitoring.StoredReading{Station: "b", Time: base, Values: map[sensors.Param]float64{}, ReceivedAt: base})
		for i, err := range s.InsertReadings(ctx, rs) {
			if err != nil {
				t.Fatalf("reading %d: %v", i, err)
			}
		}
		got := map[string]monitoring.StoredReading{}
		if err := s.ScanReadings(ctx, func(r monitoring.StoredReading) error {
			got[store.ReadingID(r.Station, r.Time)] = r
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rs) {
			t.Fatalf("scan: %d readings, want %d", len(got), len(rs))
		}
		for _, w := range rs {
			g, ok := got[store.ReadingID(w.Station, w.Time)]
			if !ok {
				t.Errorf("reading %s not scanned", store.ReadingID(w.Station, w.Time))
				continue
			}
			checkReading(t, g, w)
		}

		// The stored document: its _id, and the Shanghai day derived on write.
		client, err := mongo.Connect(ctx, options.Client().ApplyURI(s.URI()))
		if err != nil {
			t.Fatal(err)
		}
		defer client.Disconnect(ctx)
		var doc struct {
			Day string `bson:"day"`
		}
		if err := client.Database(s.DatabaseName()).Collection("readings").FindOne(ctx, bson.D{{Key: "_id", Value: "b:2026-03-01T16:30:00.000Z"}}).Decode(&doc); err != nil {
			t.Fatalf("find by _id: %v", err)
		}
		if doc.Day != "2026-03-02" {
			t.Errorf("day of 2026-03-01T16:30Z is %q, want the Shanghai date 2026-03-02", doc.Day)
		}
	})
}

func TestSensorsInsertReadingsRefusesWhatCannotBeStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		good := func(i int) monitoring.StoredReading {
			return monitoring.StoredReading{Station: "a", Time: at.Add(time.Duration(i) * time.Second), Values: tenValues(i),
				Assessment: sensors.ClassII, Full: sensors.ClassIII, ReceivedAt: at}
		}
		cases := []struct {
			name string
			edit func(*monitoring.StoredReading)
		}{
			{"assessment not a class", func(r *monitoring.StoredReading) { r.Assessment = sensors.Class(9) }},
			{"full not a class", func(r *monitoring.StoredReading) { r.Full = sensors.Class(7) }},
			{"NaN value", func(r *monitoring.StoredReading) { r.Values[sensors.ParamPH] = math.NaN() }},
			{"infinite value", func(r *monitoring.StoredReading) { r.Values[sensors.ParamTP] = math.Inf(1) }},
			{"dotted name", func(r *monitoring.StoredReading) { r.Values["a.b"] = 1 }},
			{"dollar name", func(r *monitoring.StoredReading) { r.Values["$x"] = 1 }},
			{"empty name", func(r *monitoring.StoredReading) { r.Values[""] = 1 }},
		}
		// Each bad reading sits between two good ones of the same call.
		var rs []monitoring.StoredReading
		for i, tc := range cases {
			bad := good(3*i + 1)
			tc.edit(&bad)
			rs = append(rs, good(3*i), bad, good(3*i+2))
		}
		errs := s.InsertReadings(ctx, rs)
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if err := errs[3*i+1]; err == nil || errors.Is(err, store.ErrDuplicate) {
					t.Errorf("bad reading: %v, want an error other than ErrDuplicate", err)
				}
				if errs[3*i] != nil || errs[3*i+2] != nil {
					t.Errorf("good readings beside it: %v, %v", errs[3*i], errs[3*i+2])
				}
			})
		}
		n := 0
		if err := s.ScanReadings(ctx, func(monitoring.StoredReading) error { n++; return nil }); err != nil || n != 2*len(cases) {
			t.Errorf("scan: %d readings, %v; want %d", n, err, 2*len(cases))
		}
	})
}

// TestSensorsInsertReadingsBatch: 1,201 readings in one call (three
// InsertMany batches), of which 300 are already stored and one is the
// repeat of an earlier one in the same batch. Exactly those 301 report
// ErrDuplicate, and the first copy of the repeated reading is the one kept.
func TestSensorsInsertReadingsBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		all := make([]monitoring.StoredReading, 1200)
		for i := range all {
			st := fmt.Sprintf("s%d", i%3)
			all[i] = monitoring.StoredReading{Station: st, Time: base.Add(time.Duration(i) * time.Minute), Values: tenValues(i),
				Assessment: sensors.ClassII, Full: sensors.ClassIII, ReceivedAt: base.Add(time.Duration(i)*time.Minute + time.Second)}
		}
		stored := map[int]bool{}
		var first []monitoring.StoredReading
		for i := 0; i < len(all); i += 4 { // every fourth: 300, spread over every batch
			stored[i] = true
			first = append(first, all[i])
		}
		for i, err := range s.InsertReadings(ctx, first) {
			if err != nil {
				t.Fatalf("first insert, reading %d: %v", i, err)
			}
		}
		const orig, repeatAt = 101, 400 // the repeat is in the same InsertMany batch as the original
		repeat := all[orig]
		repeat.Values = tenValues(9999)
		repeat.Exceeds = true
		batch := append(append(append([]monitoring.StoredReading{}, all[:repeatAt]...), repeat), all[repeatAt:]...)
		errs := s.InsertReadings(ctx, batch)
		if len(errs) != len(batch) {
			t.Fatalf("%d results for %d readings", len(errs), len(batch))
		}
		dups := 0
		for j, err := range errs {
			i, isRepeat := j, j == repeatAt
			if j > repeatAt {
				i = j - 1
			}
			wantDup := isRepeat || stored[i]
			if wantDup {
				dups++
			}
			switch {
			case wantDup && !errors.Is(err, store.ErrDuplicate):
				t.Errorf("batch[%d] (repeat %v, stored before %v): %v, want ErrDuplicate", j, isRepeat, stored[i], err)
			case !wantDup && err != nil:
				t.Errorf("batch[%d]: %v, want nil", j, err)
			}
		}
		if dups != 301 {
			t.Fatalf("the test expects 301 duplicates, counted %d", dups)
		}
		got := map[string]monitoring.StoredReading{}
		if err := s.ScanReadings(ctx, func(r monitoring.StoredReading) error {
			id := store.ReadingID(r.Station, r.Time)
			if _, seen := got[id]; seen {
				t.Errorf("reading %s scanned twice", id)
			}
			got[id] = r
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(all) {
			t.Fatalf("scan: %d distinct readings, want %d", len(got), len(all))
		}
		for _, i := range []int{0, orig, 499, 500, 1000, 1199} {
			checkReading(t, got[store.ReadingID(all[i].Station, all[i].Time)], all[i])
		}
	})
}

func TestSensorsQuarantine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 3, 1, 12, 0, 0, 456_789_000, cst)
		q := monitoring.QuarantineEntry{ID: "q-1", Topic: "baoshui/v1/stations/a/readings",
			Payload: []byte{'{', 0x00, 0xff, 0xfe, '"', 0xc3, 0x28, '}'}, Station: "a", Reason: "malformed",
			Detail: "not JSON", ReceivedAt: at}
		other := monitoring.QuarantineEntry{ID: "q-2", Topic: "baoshui/v1/stations/b/readings", Payload: []byte(`{"ts":1}`),
			Station: "b", Reason: "invalid", Detail: "ts: not a time", ReceivedAt: at.Add(time.Second)}
		for _, e := range []monitoring.QuarantineEntry{q, other} {
			if err := s.InsertQuarantine(ctx, e); err != nil {
				t.Fatalf("insert %s: %v", e.ID, err)
			}
		}
		again := q
		again.ReceivedAt, again.Detail = at.Add(time.Hour), "redelivered"
		if err := s.InsertQuarantine(ctx, again); err != nil {
			t.Errorf("the same message again: %v, want nil", err)
		}
		got := map[string][]monitoring.QuarantineEntry{}
		if err := s.ScanQuarantine(ctx, func(e monitoring.QuarantineEntry) error {
			got[e.ID] = append(got[e.ID], e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("scan: %d ids, want 2: %+v", len(got), got)
		}
		for _, w := range []monitoring.QuarantineEntry{q, other} { // the first stored is kept
			es := got[w.ID]
			if len(es) != 1 {
				t.Errorf("%s kept %d times, want once", w.ID, len(es))
				continue
			}
			g := es[0]
			if g.Topic != w.Topic || !bytes.Equal(g.Payload, w.Payload) || g.Station != w.Station || g.Reason != w.Reason ||
				g.Detail != w.Detail || !sameTime(g.ReceivedAt, w.ReceivedAt) {
				t.Errorf("%s:\n got %+v\nwant %+v", w.ID, g, w)
			}
		}
	})
}

func sampleAlert(rev int) sensors.Alert {
	opened := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	a := sensors.Alert{ID: "a:exceedance:2026-03-01T08:00:00.000Z", Station: "a", Kind: sensors.AlertExceedance,
		State: sensors.AlertOpen, Target: sensors.ClassII, OpenedAt: opened, UpdatedAt: opened.Add(time.Duration(rev) * 5 * time.Minute),
		Worst: sensors.ClassIV, Params: []sensors.Param{sensors.ParamTP},
		Latest: []sensors.Exceedance{{Param: sensors.ParamTP, Value: 0.05, Class: sensors.ClassIV, Target: sensors.ClassII,
			Direction: sensors.AtMost, Limit: 0.025, Multiple: 1, Assessed: true, Detail: "总磷超标1倍"}},
		Exceeding: rev, Rev: rev}
	a.Peaks = a.Latest
	return a
}

func TestSensorsAlertEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a1, a2 := sampleAlert(1), sampleAlert(2)
		a2.State, a2.ClearedAt, a2.AckedBy, a2.AckedAt = sensors.AlertCleared, a2.UpdatedAt, "duty", a2.UpdatedAt.Add(time.Second)
		silent := sensors.Alert{ID: "b:silent:2026-03-01T09:00:00.000Z", Station: "b", Kind: sensors.AlertSilent,
			State: sensors.AlertOpen, Target: sensors.ClassIII, OpenedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
			UpdatedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), LastReading: time.Date(2026, 3, 1, 8, 40, 0, 0, time.UTC), Rev: 1}
		noTarget := sampleAlert(1)
		noTarget.ID, noTarget.Target = "c:exceedance:x", sensors.ClassNone // its JSON would not decode back
		evs := []monitoring.AlertEvent{{Alert: a1, Rev: 1}, {Alert: a2, Rev: 2}, {Alert: silent, Rev: 1}, {Alert: a1, Rev: 1}, {Alert: noTarget, Rev: 1}}
		errs := s.InsertAlertEvents(ctx, evs)
		for i, tc := range []struct {
			name    string
			wantDup bool
			wantErr bool
		}{
			{"a rev 1", false, false},
			{"a rev 2", false, false},
			{"silent rev 1", false, false},
			{"a rev 1 again in the same call", true, true},
			{"alert without a target class", false, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if (errs[i] != nil) != tc.wantErr || errors.Is(errs[i], store.ErrDuplicate) != tc.wantDup {
					t.Errorf("got %v, want error %v, ErrDuplicate %v", errs[i], tc.wantErr, tc.wantDup)
				}
			})
		}
		if errs := s.InsertAlertEvents(ctx, evs[1:2]); !errors.Is(errs[0], store.ErrDuplicate) {
			t.Errorf("a rev 2 in a later call: %v, want ErrDuplicate", errs[0])
		}
		got := map[string]monitoring.AlertEvent{}
		if err := s.ScanAlertEvents(ctx, func(ev monitoring.AlertEvent) error {
			got[store.AlertEventID(ev.Alert.ID, ev.Rev)] = ev
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("scan: %d events, want 3", len(got))
		}
		for _, w := range evs[:3] {
			g, ok := got[store.AlertEventID(w.Alert.ID, w.Rev)]
			if !ok || !reflect.DeepEqual(g, w) {
				t.Errorf("event %s:\n got %+v\nwant %+v", store.AlertEventID(w.Alert.ID, w.Rev), g, w)
			}
		}
	})
}
