package enforcement_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

func TestDecodeTrackChunk(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		n      int
		fields []string // the fields named, in order
	}{
		{"two wgs84 fixes", `{"points":[[116.95,40.52,1593820800000],[116.951,40.521,1593820805000]]}`, 2, nil},
		{"gcj02 input", `{"points":[[116.95,40.52,1593820800000]],"crs":"gcj02"}`, 1, nil},
		{"the same time twice", `{"points":[[116.95,40.52,1593820800000],[116.95,40.52,1593820800000]]}`, 2, nil},
		{"not json", `{"points":`, 0, []string{"body"}},
		{"an unknown member", `{"points":[[116.95,40.52,0]],"speed":3}`, 0, []string{"body"}},
		{"no points", `{"points":[]}`, 0, []string{"points"}},
		{"an unknown crs", `{"points":[[116.95,40.52,0]],"crs":"utm"}`, 0, []string{"crs"}},
		{"lat and lon swapped", `{"points":[[40.52,116.95,1593820800000]]}`, 0, []string{"points[0]"}},
		{"two numbers", `{"points":[[116.95,40.52]]}`, 0, []string{"points[0]"}},
		{"a time that goes back", `{"points":[[116.95,40.52,1593820805000],[116.95,40.52,1593820800000]]}`, 0, []string{"points[1]"}},
		{"a negative time", `{"points":[[116.95,40.52,-1]]}`, 0, []string{"points[0]"}},
		{"a fractional time", `{"points":[[116.95,40.52,1.5]]}`, 0, []string{"points[0]"}},
		{"a time after 2100", `{"points":[[116.95,40.52,4102444800001]]}`, 0, []string{"points[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fixes, err := enforcement.DecodeTrackChunk([]byte(c.body))
			if c.fields == nil {
				if err != nil || len(fixes) != c.n {
					t.Fatalf("%d fixes, %v; want %d", len(fixes), err, c.n)
				}
				return
			}
			var verr *enforcement.ValidationError
			if !errors.Is(err, enforcement.ErrInvalid) || !errors.As(err, &verr) {
				t.Fatalf("%v, want a validation error", err)
			}
			var got []string
			for _, f := range verr.Fields {
				got = append(got, f.Field)
			}
			if len(got) != len(c.fields) || got[0] != c.fields[0] {
				t.Errorf("fields %v, want %v", got, c.fields)
			}
		})
	}
	// GCJ-02 input is stored as WGS-84: about 500 m away near Miyun.
	g, _ := enforcement.DecodeTrackChunk([]byte(`{"points":[[116.95,40.52,0]],"crs":"gcj02"}`))
	if d := math.Hypot(g[0].Point[0]-116.95, g[0].Point[1]-40.52); d < 0.002 || d > 0.01 {
		t.Errorf("gcj02 fix %v not converted", g[0].Point)
	}
}

func FuzzDecodeTrackChunk(f *testing.F) {
	f.Add([]byte(`{"points":[[116.95,40.52,1593820800000]],"crs":"bd09"}`))
	f.Add([]byte(`{"points":[[1e309,40.52,0]]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fixes, err := enforcement.DecodeTrackChunk(body)
		if err != nil {
			if !errors.Is(err, enforcement.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(fixes) == 0 || len(fixes) > enforcement.MaxChunkPoints {
			t.Fatalf("%d fixes accepted", len(fixes))
		}
		for i, f := range fixes {
			if math.IsNaN(f.Point[0]) || math.IsNaN(f.Point[1]) || (i > 0 && f.Time.Before(fixes[i-1].Time)) {
				t.Fatalf("fix %d accepted: %+v", i, f)
			}
		}
	})
}

func TestDecodeFromDevice(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	rec := func(at string) []byte {
		return []byte(`{"id":"d1","kind":"expulsion","observed_at":"` + at + `","location":{"type":"Point","coordinates":[116.95,40.52]},` +
			`"unit":"town-a","persons":2,"activity":"fishing","server_seq":7,"sync":{"device_id":"p","seq":3},"place":{"zone":"first"},"effort":null,"photos_pending":["x"]}`)
	}
	reset := now.Sub(time.Date(1970, 1, 1, 0, 5, 0, 0, time.UTC)) // a clock reset to 1970 five minutes ago
	cases := []struct {
		name   string
		at     string
		offset time.Duration
		ok     bool
	}{
		{"a right clock", "2026-11-29T07:59:00Z", 0, true},
		{"a clock reset to 1970, judged as the instant it stands for", "1970-01-01T00:04:00Z", reset, true},
		{"the same time without the offset", "1970-01-01T00:04:00Z", 0, false},
		{"a clock a year ahead", "2027-11-29T07:59:00Z", -365 * 24 * time.Hour, true},
		{"a year ahead without the offset", "2027-11-29T07:59:00Z", 0, false},
	}
	for _, c := range cases {
		in, err := enforcement.DecodeFromDevice(rec(c.at), now, c.offset)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
			continue
		}
		if err == nil && in.Record.ObservedAt.Format(time.RFC3339) != c.at {
			t.Errorf("%s: observed_at %s, want it kept as sent (%s)", c.name, in.Record.ObservedAt, c.at)
		}
	}
}
