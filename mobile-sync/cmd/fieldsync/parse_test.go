package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/mobile-sync/client"
)

var now = time.Date(2020, 7, 4, 15, 20, 0, 0, time.FixedZone("CST", 8*3600))

func TestParseCapture(t *testing.T) {
	wang := client.Session{Username: "wang", Unit: "town-a"}
	for _, tc := range []struct {
		name    string
		args    string
		session client.Session
		want    string // fields of the record JSON, as "k=v" pairs
		wantErr string
	}{
		{"expulsion", "expulsion --persons 3 --activity swimming --at 40.52,116.95", wang,
			`kind="expulsion" location={"type":"Point","coordinates":[116.95,40.52]} unit="town-a" officers=["wang"] persons=3 activity="swimming" observed_at="2020-07-04T15:20:00+08:00"`, ""},
		{"single-dash flags and spaces", "expulsion -persons 1 -activity other -at 40.52,_116.95", wang,
			`location={"type":"Point","coordinates":[116.95,40.52]}`, ""},
		{"gcj02", "grazing --animals 12 --at 40.52,116.95 --gcj02 --unit village-x --observed-at 2020-07-01T06:00:00+08:00", wang,
			`crs="gcj02" animals=12 unit="village-x" observed_at="2020-07-01T06:00:00+08:00"`, ""},
		{"vehicle plates", "vehicle --vehicles 2 --plates 京A12345,京B67890 --plates 冀C1 --at 40.5,116.9 --officer li --officer zhao", wang,
			`vehicles=2 plates=["京A12345","京B67890","冀C1"] officers=["li","zhao"]`, ""},
		{"confiscation items", "confiscation --item 渔网:2:1500 --item rod:a:b:1:0 --at 40.5,116.9", wang,
			`items=[{"name":"渔网","quantity":2,"unit_value_fen":1500},{"name":"rod:a:b","quantity":1,"unit_value_fen":0}]`, ""},
		{"patrol", "patrol --started 2020-07-04T08:00:00+08:00 --ended 2020-07-04T12:00:00+08:00 --at 40.5,116.9", wang,
			`started_at="2020-07-04T08:00:00+08:00" ended_at="2020-07-04T12:00:00+08:00" observed_at="2020-07-04T08:00:00+08:00"`, ""},

		{"swapped coordinates", "expulsion --persons 3 --activity swimming --at 116.95,40.52", wang, "",
			"latitude 116.95 is outside ±90; the numbers may be swapped: --at takes latitude first, try --at 40.52,116.95"},
		{"off the globe", "expulsion --persons 3 --activity swimming --at 95,200", wang, "", "latitude 95 is outside ±90"},
		{"one number", "grazing --at 40.52", wang, "", "want lat,lon"},
		{"no place", "grazing", wang, "", "--at lat,lon is required"},
		{"flag of another kind", "grazing --persons 3 --at 40.5,116.9", wang, "", "--persons is for expulsion records"},
		{"no persons", "expulsion --activity fishing --at 40.5,116.9", wang, "", "--persons N (1 or more) is required"},
		{"unknown activity", "expulsion --persons 2 --activity diving --at 40.5,116.9", wang, "", "--activity must be one of fishing, swimming, visiting, other"},
		{"no vehicles", "vehicle --at 40.5,116.9", wang, "", "--vehicles N (1 or more) is required"},
		{"no items", "confiscation --at 40.5,116.9", wang, "", "at least one --item"},
		{"item without value", "confiscation --item net:2 --at 40.5,116.9", wang, "", "want name:quantity:unit_value_fen"},
		{"item quantity 0", "confiscation --item net:0:100 --at 40.5,116.9", wang, "", "quantity must be a whole number, 1 or more"},
		{"item in yuan", "confiscation --item net:1:15.5 --at 40.5,116.9", wang, "", "whole fen"},
		{"bad time", "grazing --at 40.5,116.9 --observed-at yesterday", wang, "", "--observed-at \"yesterday\": want an RFC 3339 time"},
		{"no unit", "grazing --at 40.5,116.9", client.Session{}, "", "no unit: give --unit, or sign in first"},
		{"unknown kind", "fishing --at 40.5,116.9", wang, "", `unknown kind "fishing"`},
		{"a case", "case", wang, "", `unknown kind "case"`},
		{"no kind", "--at 40.5,116.9", wang, "", "which kind?"},
		{"both crs", "grazing --at 40.5,116.9 --gcj02 --bd09", wang, "", "not both"},
		{"unknown flag", "grazing --at 40.5,116.9 --sheep 3", wang, "", "flag provided but not defined: -sheep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := strings.Fields(tc.args)
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "_", " ")
			}
			spec, _, err := parseCapture(args, now, tc.session)
			if tc.wantErr != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want a usage error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(spec.Record)
			var got map[string]json.RawMessage
			_ = json.Unmarshal(b, &got)
			for _, kv := range strings.Split(tc.want, " ") {
				k, v, _ := strings.Cut(kv, "=")
				if string(got[k]) != v {
					t.Errorf("%s = %s, want %s (record %s)", k, got[k], v, b)
				}
			}
		})
	}
}

func TestReadTrack(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file, body string
		points           int
		timed            bool
		wantErr          string
	}{
		{"gpx with times", "a.gpx", `<?xml version="1.0"?><gpx version="1.1"><trk><trkseg>
			<trkpt lat="40.52" lon="116.95"><time>2020-07-04T00:00:00Z</time></trkpt>
			<trkpt lat="40.53" lon="116.96"><time>2020-07-04T00:00:05Z</time></trkpt></trkseg></trk></gpx>`, 2, true, ""},
		{"gpx without times", "b.gpx", `<gpx><trk><trkseg><trkpt lat="40.52" lon="116.95"/><trkpt lat="40.53" lon="116.96"/></trkseg></trk></gpx>`, 2, false, ""},
		{"geojson feature with unix ms", "c.geojson", `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[116.95,40.52],[116.96,40.53,12]]},
			"properties":{"times":[1593820800000,1593820805000]}}`, 2, true, ""},
		{"geojson collection with coordTimes", "d.json", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}},
			{"type":"Feature","geometry":{"type":"LineString","coordinates":[[116.95,40.52],[116.96,40.53]]},"properties":{"coordTimes":["2020-07-04T00:00:00Z","2020-07-04T00:00:05Z"]}}]}`, 2, true, ""},
		{"bare linestring", "e.json", `{"type":"LineString","coordinates":[[116.95,40.52],[116.96,40.53],[116.97,40.54]]}`, 3, false, ""},
		{"one point", "f.json", `{"type":"LineString","coordinates":[[116.95,40.52]]}`, 0, false, "a track needs 2 or more"},
		{"lat lon swapped", "g.json", `{"type":"LineString","coordinates":[[40.52,116.95],[40.53,116.96]]}`, 0, false, "off the globe"},
		{"times do not match", "h.json", `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[116.95,40.52],[116.96,40.53]]},"properties":{"times":[1]}}`, 0, false, "1 times for 2 positions"},
		{"a polygon", "i.json", `{"type":"Polygon","coordinates":[]}`, 0, false, "want a LineString"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := readTrack(write(tc.file, tc.body))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.points) != tc.points || tr.timed() != tc.timed {
				t.Errorf("%d points, timed %v; want %d, %v", len(tr.points), tr.timed(), tc.points, tc.timed)
			}
			if tr.points[0] != (client.Point{Lon: 116.95, Lat: 40.52}) {
				t.Errorf("first point %+v", tr.points[0])
			}
		})
	}
}

func TestExplain(t *testing.T) {
	three := pending{records: 3}
	for _, tc := range []struct {
		name     string
		err      error
		p        pending
		wantMsg  string
		wantCode int
	}{
		{"offline", fmt.Errorf("client: sync: push: %w: dial tcp: connection refused", client.ErrOffline), three,
			"server unreachable: 3 records stay queued; run fieldsync sync when online", exitOffline},
		{"offline with one record and photos", fmt.Errorf("client: sync: %w", client.ErrOffline), pending{records: 1, photos: 2},
			"server unreachable: 1 record and 2 photos stay queued; run fieldsync sync when online", exitOffline},
		{"offline, one record", client.ErrOffline, pending{records: 1},
			"server unreachable: 1 record stays queued; run fieldsync sync when online", exitOffline},
		{"unavailable", fmt.Errorf("client: sync: %w: %w", client.ErrUnavailable, &client.Problem{Type: "/problems/unavailable", Status: 503, Detail: "store down"}), three,
			"the server is unavailable (503 unavailable: store down): 3 records stay queued; run fieldsync sync later", exitOffline},
		{"token expired", fmt.Errorf("client: sync: %w", client.ErrSignInRequired), three,
			"sign in again with fieldsync login; 3 records stay queued", exitError},
		{"device not registered", fmt.Errorf("client: sync: %w", client.ErrDeviceNotRegistered), three,
			"this device is not registered to your account: run fieldsync login again to register it; 3 records stay queued", exitError},
		{"wrong password", fmt.Errorf("client: login: %w", &client.Problem{Type: "/problems/bad-credentials", Status: 401}), pending{},
			"sign-in refused: wrong username or password", exitError},
		{"another problem", &client.Problem{Type: "/problems/forbidden", Status: 403, Detail: "the role viewer may not record.create"}, pending{},
			"the server refused: 403 forbidden: the role viewer may not record.create", exitError},
		{"interrupted", fmt.Errorf("client: sync: push: %w", context.Canceled), three, "interrupted; 3 records stay queued", exitError},
		{"usage", usagef("capture: which kind?"), pending{}, "capture: which kind?", exitUsage},
		{"no server", client.ErrNoServer, pending{}, "no server known: give -server URL once (it is remembered)", exitUsage},
		{"anything else", errors.New("disk full"), pending{}, "disk full", exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, code := explain(tc.err, tc.p)
			if msg != tc.wantMsg || code != tc.wantCode {
				t.Errorf("%q exit %d\nwant %q exit %d", msg, code, tc.wantMsg, tc.wantCode)
			}
		})
	}
}

func TestDescribeSync(t *testing.T) {
	for _, tc := range []struct {
		name string
		rep  client.Report
		want string
	}{
		{"nothing", client.Report{}, "sent 0 records; pulled 0 changes"},
		{"everything", client.Report{Applied: 2, Rejected: 1, BlobsUploaded: 1, ChunksSent: 3, Pull: client.PullReport{Records: 3}, KeptAside: 1},
			"sent 3 records (2 stored, 1 kept aside), 1 photo, 3 track chunks; pulled 3 changes\n1 item kept aside for correction: see fieldsync queue"},
		{"clock and resync", client.Report{Applied: 1, ClockSuspect: true, ClockOffset: 12 * time.Minute, Pull: client.PullReport{Records: 1, FullResync: true}},
			"sent 1 record (1 stored); pulled 1 change (a full resync: the server had forgotten this device's place)\nwarning: this device's clock is off by 12m0s; set it right (the server flags these records)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(describeSync(tc.rep), "\n"); got != tc.want {
				t.Errorf("%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
