package enforcement_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// validDir holds one JSON request sample per file; every file there must
// decode without error.
const validDir = "../../testdata/records/valid"

// testNow is the "now" every decode in these tests is judged against: the
// samples are all from 2020.
var testNow = time.Date(2020, 12, 31, 0, 0, 0, 0, time.UTC)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(validDir, name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

// patch loads fixture base, sets every key of set to its raw JSON value,
// deletes every key of del, and returns the resulting body.
func patch(t testing.TB, base string, set map[string]string, del []string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(readFixture(t, base), &m); err != nil {
		t.Fatalf("fixture %s: %v", base, err)
	}
	for k, v := range set {
		m[k] = json.RawMessage(v)
	}
	for _, k := range del {
		if _, ok := m[k]; !ok {
			t.Fatalf("fixture %s has no field %q to delete", base, k)
		}
		delete(m, k)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("patch %s: %v", base, err)
	}
	return b
}

// fieldSet returns the sorted distinct field names of a *ValidationError and
// fails the test if err is anything else or names no field.
func fieldSet(t testing.TB, err error) []string {
	t.Helper()
	var verr *enforcement.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error is %T (%v), want *ValidationError", err, err)
	}
	if len(verr.Fields) == 0 {
		t.Fatalf("ValidationError names no field")
	}
	var names []string
	for _, f := range verr.Fields {
		if f.Detail == "" {
			t.Errorf("field %q has an empty detail", f.Field)
		}
		if !slices.Contains(names, f.Field) {
			names = append(names, f.Field)
		}
	}
	sort.Strings(names)
	return names
}

func TestDecodeValid(t *testing.T) {
	cases := []struct {
		file  string
		check func(t *testing.T, in enforcement.Input)
	}{
		{"patrol.json", func(t *testing.T, in enforcement.Input) {
			r := in.Record
			if r.Kind != enforcement.KindPatrol || r.StartedAt == nil || r.EndedAt == nil {
				t.Fatalf("kind/started/ended = %v %v %v", r.Kind, r.StartedAt, r.EndedAt)
			}
			if r.Track == nil || len(r.Track.Coordinates) != 4 || len(r.TrackTimes) != 4 {
				t.Fatalf("track = %+v, times = %d", r.Track, len(r.TrackTimes))
			}
			if got := r.Track.Coordinates[1]; got != [2]float64{116.934384, 40.567999} {
				t.Errorf("track[1] = %v", got)
			}
			if !r.TrackTimes[3].Equal(mustTime(t, "2020-07-04T00:15:43Z")) {
				t.Errorf("track_times[3] = %v", r.TrackTimes[3])
			}
		}},
		{"patrol_open.json", func(t *testing.T, in enforcement.Input) {
			r := in.Record
			if r.Kind != enforcement.KindPatrol || r.EndedAt != nil || r.Track != nil || r.TrackTimes != nil {
				t.Fatalf("open patrol decoded as %+v", r)
			}
		}},
		{"expulsion.json", func(t *testing.T, in enforcement.Input) {
			r := in.Record
			if r.ID != "f47ac10b-58cc-4372-a567-0e02b2c3d479" || r.Kind != enforcement.KindExpulsion {
				t.Fatalf("id/kind = %q %q", r.ID, r.Kind)
			}
			if r.Persons != 3 || r.Activity != enforcement.ActivitySwimming {
				t.Errorf("persons/activity = %d %q", r.Persons, r.Activity)
			}
			if !r.ObservedAt.Equal(mustTime(t, "2020-07-04T07:20:00Z")) {
				t.Errorf("observed_at = %v", r.ObservedAt)
			}
			if r.Location == nil || r.Location.Coordinates != [2]float64{116.95, 40.52} {
				t.Errorf("location = %+v", r.Location)
			}
			if r.Unit != "town-xiwengzhuang" || len(r.Officers) != 2 || r.PatrolID == "" || r.Campaign != "summer-2020" {
				t.Errorf("links = %q %v %q %q", r.Unit, r.Officers, r.PatrolID, r.Campaign)
			}
			if r.Note != "劝离游泳人员" || len(r.Photos) != 1 || r.Photos[0].Size != 204800 {
				t.Errorf("note/photos = %q %+v", r.Note, r.Photos)
			}
			if in.CRS != "" {
				t.Errorf("crs = %q, want empty (WGS-84)", in.CRS)
			}
		}},
		{"grazing.json", func(t *testing.T, in enforcement.Input) {
			if in.Record.Kind != enforcement.KindGrazing || in.Record.Animals != 40 {
				t.Fatalf("kind/animals = %q %d", in.Record.Kind, in.Record.Animals)
			}
		}},
		{"grazing_no_count.json", func(t *testing.T, in enforcement.Input) {
			if in.Record.Kind != enforcement.KindGrazing || in.Record.Animals != 0 {
				t.Fatalf("kind/animals = %q %d", in.Record.Kind, in.Record.Animals)
			}
		}},
		{"vehicle.json", func(t *testing.T, in enforcement.Input) {
			r := in.Record
			if r.Kind != enforcement.KindVehicle || r.Vehicles != 2 || !slices.Equal(r.Plates, []string{"京A12345", "冀C6789X"}) {
				t.Fatalf("vehicle = %q %d %v", r.Kind, r.Vehicles, r.Plates)
			}
		}},
		{"confiscation.json", func(t *testing.T, in enforcement.Input) {
			r := in.Record
			want := []enforcement.Item{{Name: "fishing rod", Quantity: 3, UnitValueFen: 5000},
				{Name: "net", Quantity: 1, UnitValueFen: 12000}, {Name: "bait", Quantity: 2, UnitValueFen: 0}}
			if r.Kind != enforcement.KindConfiscation || !slices.Equal(r.Items, want) {
				t.Fatalf("items = %+v", r.Items)
			}
			if r.ItemCount() != 6 || r.ValueFen() != 27000 {
				t.Errorf("count/value = %d %d, want 6 27000", r.ItemCount(), r.ValueFen())
			}
		}},
		{"case.json", func(t *testing.T, in enforcement.Input) {
			r := in.Record
			if r.Kind != enforcement.KindCase || r.FineFen != 50000 || r.Status != "closed" || r.FiledAt == nil || r.DecidedAt == nil {
				t.Fatalf("case = %+v", r)
			}
			if r.CaseNo != "密保罚〔2020〕第0001号" || r.Party != "孟某" || r.Violation == "" || r.LegalBasis == "" {
				t.Errorf("case text = %q %q %q %q", r.CaseNo, r.Party, r.Violation, r.LegalBasis)
			}
			if !r.DecidedAt.Equal(mustTime(t, "2020-02-04T08:15:00Z")) {
				t.Errorf("decided_at = %v", r.DecidedAt)
			}
		}},
		{"case_filed.json", func(t *testing.T, in enforcement.Input) {
			r := in.Record
			if r.Kind != enforcement.KindCase || r.DecidedAt != nil || r.FineFen != 0 {
				t.Fatalf("case = %+v", r)
			}
			if r.Status != "filed" {
				t.Errorf("status = %q, want the default \"filed\"", r.Status)
			}
		}},
		{"expulsion_gcj02_server_fields.json", func(t *testing.T, in enforcement.Input) {
			r := in.Record
			if in.CRS != "gcj02" {
				t.Errorf("crs = %q, want gcj02", in.CRS)
			}
			if r.Persons != 1 || r.Activity != enforcement.ActivityFishing {
				t.Errorf("persons/activity = %d %q", r.Persons, r.Activity)
			}
			// Server fields in the input are ignored, not errors and not taken.
			if r.Rev != 0 || r.CreatedBy != "" || r.RecordedBy != "" || !r.ReceivedAt.IsZero() || r.Voided ||
				r.VoidReason != "" || r.UnitPath != nil || r.OriginalLocation != nil || r.BodySHA256 != "" {
				t.Errorf("server fields taken from the input: %+v", r)
			}
		}},
	}

	files, err := filepath.Glob(filepath.Join(validDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", validDir, err)
	}
	kinds := map[enforcement.Kind]bool{}
	inTable := map[string]bool{}
	for _, c := range cases {
		inTable[c.file] = true
		t.Run(strings.TrimSuffix(c.file, ".json"), func(t *testing.T) {
			in, err := enforcement.Decode(readFixture(t, c.file), testNow)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			kinds[in.Record.Kind] = true
			c.check(t, in)
		})
	}
	// Every fixture is in the table and every kind has a sample.
	for _, f := range files {
		if !inTable[filepath.Base(f)] {
			t.Errorf("fixture %s is not in the table", filepath.Base(f))
		}
	}
	for _, k := range enforcement.Kinds {
		if !kinds[k] {
			t.Errorf("no valid sample decoded as kind %q", k)
		}
	}
}

// TestDecodeValidEdges are inputs at the edge of a limit that must pass.
func TestDecodeValidEdges(t *testing.T) {
	cases := []struct {
		name string
		base string
		set  map[string]string
		del  []string
	}{
		{"lon lat at +max", "expulsion.json", map[string]string{"location": `{"type":"Point","coordinates":[180,90]}`}, nil},
		{"lon lat at -max", "expulsion.json", map[string]string{"location": `{"type":"Point","coordinates":[-180,-90]}`}, nil},
		{"persons 1", "expulsion.json", map[string]string{"persons": `1`}, nil},
		{"persons 1000", "expulsion.json", map[string]string{"persons": `1000`}, nil},
		{"every activity: fishing", "expulsion.json", map[string]string{"activity": `"fishing"`}, nil},
		{"every activity: visiting", "expulsion.json", map[string]string{"activity": `"visiting"`}, nil},
		{"every activity: other", "expulsion.json", map[string]string{"activity": `"other"`}, nil},
		{"observed 23h ahead", "expulsion.json", map[string]string{"observed_at": `"2020-12-31T23:00:00Z"`}, nil},
		{"observed exactly 24h ahead", "expulsion.json", map[string]string{"observed_at": `"2021-01-01T00:00:00Z"`}, nil},
		{"observed 2000-01-01 UTC", "expulsion.json", map[string]string{"observed_at": `"2000-01-01T00:00:00Z"`}, nil},
		{"server fields of wrong types", "expulsion.json", map[string]string{"rev": `"three"`, "voided": `"yes"`,
			"received_at": `42`, "created_by": `{}`, "unit_path": `"x"`, "body_sha256": `[1]`}, nil},
		{"crs upper case", "expulsion.json", map[string]string{"crs": `"BD09"`}, nil},
		{"crs wgs84", "expulsion.json", map[string]string{"crs": `"wgs84"`}, nil},
		{"crs null", "expulsion.json", map[string]string{"crs": `null`}, nil},
		{"animals 0", "grazing.json", map[string]string{"animals": `0`}, nil},
		{"equal track times", "patrol.json", map[string]string{"track_times": `["2020-07-04T07:35:00+08:00","2020-07-04T07:35:00+08:00","2020-07-04T07:35:00+08:00","2020-07-04T07:35:00+08:00"]`}, nil},
		{"track without times", "patrol.json", nil, []string{"track_times"}},
		{"decided same instant as filed", "case.json", map[string]string{"decided_at": `"2020-01-01T08:06:00Z"`}, nil},
		{"decided without fine", "case.json", map[string]string{"fine_fen": `0`}, nil},
		{"item value 0", "confiscation.json", map[string]string{"items": `[{"name":"x","quantity":1,"unit_value_fen":0}]`}, nil},
		{"altitude in position", "expulsion.json", map[string]string{"location": `{"type":"Point","coordinates":[116.95,40.52,150]}`}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := enforcement.Decode(patch(t, c.base, c.set, c.del), testNow); err != nil {
				t.Fatalf("Decode: %v", err)
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	long := strings.Repeat("a", enforcement.MaxIDLength+1)
	cases := []struct {
		name string
		raw  string // the whole body, when not built from base
		base string
		set  map[string]string
		del  []string
		want []string // the exact set of offending field names
	}{
		// Not a JSON object at all.
		{name: "malformed JSON", raw: `{"id": "x", "kind":`, want: []string{""}},
		{name: "empty body", raw: ``, want: []string{""}},
		{name: "JSON array", raw: `[{"id":"x"}]`, want: []string{""}},
		{name: "JSON null", raw: `null`, want: []string{""}},
		{name: "JSON string", raw: `"expulsion"`, want: []string{""}},
		{name: "JSON number", raw: `42`, want: []string{""}},
		{name: "two objects", raw: `{} {}`, want: []string{""}},
		{name: "empty object", raw: `{}`, want: []string{"id", "kind", "location", "observed_at", "unit"}},

		// Fields that do not belong.
		{name: "unknown field", base: "expulsion.json", set: map[string]string{"colour": `"red"`}, want: []string{"colour"}},
		{name: "field name in wrong case", base: "expulsion.json", set: map[string]string{"Persons": `3`}, want: []string{"Persons"}},
		{name: "unknown field inside location", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":[116.95,40.52],"crs":"gcj02"}`}, want: []string{"location"}},
		{name: "unknown field inside item", base: "confiscation.json",
			set: map[string]string{"items": `[{"name":"net","quantity":1,"unit_value_fen":100,"price":3}]`}, want: []string{"items"}},
		{name: "persons on a vehicle", base: "vehicle.json", set: map[string]string{"persons": `3`}, want: []string{"persons"}},
		{name: "track on an expulsion", base: "expulsion.json",
			set: map[string]string{"track": `{"type":"LineString","coordinates":[[116.9,40.5],[116.91,40.5]]}`}, want: []string{"track"}},
		{name: "fine on a grazing", base: "grazing.json", set: map[string]string{"fine_fen": `100`}, want: []string{"fine_fen"}},
		{name: "items on a case", base: "case.json", set: map[string]string{"items": `[]`}, want: []string{"items"}},
		{name: "started_at on a case", base: "case.json", set: map[string]string{"started_at": `"2020-01-01T12:00:00Z"`}, want: []string{"started_at"}},
		{name: "animals on a patrol (null value)", base: "patrol.json", set: map[string]string{"animals": `null`}, want: []string{"animals"}},

		// Wrong types.
		{name: "id number", base: "expulsion.json", set: map[string]string{"id": `42`}, want: []string{"id"}},
		{name: "kind number", base: "expulsion.json", set: map[string]string{"kind": `1`}, want: []string{"kind"}},
		{name: "persons string", base: "expulsion.json", set: map[string]string{"persons": `"3"`}, want: []string{"persons"}},
		{name: "persons fraction", base: "expulsion.json", set: map[string]string{"persons": `2.5`}, want: []string{"persons"}},
		{name: "persons bool", base: "expulsion.json", set: map[string]string{"persons": `true`}, want: []string{"persons"}},
		{name: "observed_at unix seconds", base: "expulsion.json", set: map[string]string{"observed_at": `1593847200`}, want: []string{"observed_at"}},
		{name: "observed_at not RFC 3339", base: "expulsion.json", set: map[string]string{"observed_at": `"2020-07-04 15:20:00"`}, want: []string{"observed_at"}},
		{name: "observed_at without zone", base: "expulsion.json", set: map[string]string{"observed_at": `"2020-07-04T15:20:00"`}, want: []string{"observed_at"}},
		{name: "location string", base: "expulsion.json", set: map[string]string{"location": `"116.95,40.52"`}, want: []string{"location"}},
		{name: "coordinates strings", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":["116.95","40.52"]}`}, want: []string{"location"}},
		{name: "officers string", base: "expulsion.json", set: map[string]string{"officers": `"officer-1"`}, want: []string{"officers"}},
		{name: "items object", base: "confiscation.json", set: map[string]string{"items": `{"name":"net"}`}, want: []string{"items"}},
		{name: "track_times string", base: "patrol.json", set: map[string]string{"track_times": `"2020-07-04T07:35:00+08:00"`}, want: []string{"track_times"}},
		{name: "crs number", base: "expulsion.json", set: map[string]string{"crs": `5`}, want: []string{"crs"}},
		{name: "photos object", base: "expulsion.json", set: map[string]string{"photos": `{}`}, want: []string{"photos"}},

		// Huge numbers: 1e999 is valid JSON syntax but no float64 or int64
		// holds it; the field is named as having the wrong type.
		{name: "longitude 1e999", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":[1e999,40.52]}`}, want: []string{"location"}},
		{name: "persons 1e999", base: "expulsion.json", set: map[string]string{"persons": `1e999`}, want: []string{"persons"}},
		{name: "persons 1e3 (not an integer literal)", base: "expulsion.json", set: map[string]string{"persons": `1e3`}, want: []string{"persons"}},
		{name: "persons beyond int64", base: "expulsion.json", set: map[string]string{"persons": `9223372036854775808`}, want: []string{"persons"}},
		{name: "unit value 1e999", base: "confiscation.json",
			set: map[string]string{"items": `[{"name":"net","quantity":1,"unit_value_fen":1e999}]`}, want: []string{"items"}},
		{name: "longitude 1e308 (finite, out of range)", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":[1e308,40.52]}`}, want: []string{"location.coordinates"}},

		// Missing required fields.
		{name: "missing id", base: "expulsion.json", del: []string{"id"}, want: []string{"id"}},
		{name: "missing kind", base: "grazing.json", del: []string{"kind"}, want: []string{"kind"}},
		{name: "missing observed_at", base: "expulsion.json", del: []string{"observed_at"}, want: []string{"observed_at"}},
		{name: "missing location", base: "expulsion.json", del: []string{"location"}, want: []string{"location"}},
		{name: "null location", base: "expulsion.json", set: map[string]string{"location": `null`}, want: []string{"location"}},
		{name: "missing unit", base: "expulsion.json", del: []string{"unit"}, want: []string{"unit"}},
		{name: "missing persons", base: "expulsion.json", del: []string{"persons"}, want: []string{"persons"}},
		{name: "missing activity", base: "expulsion.json", del: []string{"activity"}, want: []string{"activity"}},
		{name: "missing persons and activity", base: "expulsion.json", del: []string{"persons", "activity"}, want: []string{"activity", "persons"}},
		{name: "missing vehicles", base: "vehicle.json", del: []string{"vehicles"}, want: []string{"vehicles"}},
		{name: "missing items", base: "confiscation.json", del: []string{"items"}, want: []string{"items"}},
		{name: "empty items", base: "confiscation.json", set: map[string]string{"items": `[]`}, want: []string{"items"}},
		{name: "missing filed_at", base: "case.json", del: []string{"filed_at"}, want: []string{"filed_at"}},
		{name: "missing started_at", base: "patrol_open.json", del: []string{"started_at"}, want: []string{"started_at"}},
		{name: "empty id", base: "expulsion.json", set: map[string]string{"id": `""`}, want: []string{"id"}},
		{name: "zero observed_at", base: "expulsion.json", set: map[string]string{"observed_at": `"0001-01-01T00:00:00Z"`}, want: []string{"observed_at"}},

		// Location.
		{name: "latitude 91", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":[116.95,91]}`}, want: []string{"location.coordinates"}},
		{name: "latitude -90.5", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":[116.95,-90.5]}`}, want: []string{"location.coordinates"}},
		{name: "longitude 180.000001", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":[180.000001,40]}`}, want: []string{"location.coordinates"}},
		{name: "longitude -181", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":[-181,40]}`}, want: []string{"location.coordinates"}},
		{name: "lat lon swapped", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Point","coordinates":[40.52,116.95]}`}, want: []string{"location.coordinates"}},
		{name: "not a Point", base: "expulsion.json",
			set: map[string]string{"location": `{"type":"Polygon","coordinates":[116.95,40.52]}`}, want: []string{"location.type"}},
		{name: "location without type", base: "expulsion.json",
			set: map[string]string{"location": `{"coordinates":[116.95,40.52]}`}, want: []string{"location.type"}},
		{name: "location without coordinates", base: "expulsion.json",
			set:  map[string]string{"location": `{"type":"Point"}`},
			want: []string{"location"}},
		{name: "location with empty coordinates", base: "expulsion.json",
			set:  map[string]string{"location": `{"type":"Point","coordinates":[]}`},
			want: []string{"location"}},
		{name: "location with one coordinate", base: "expulsion.json",
			set:  map[string]string{"location": `{"type":"Point","coordinates":[116.95]}`},
			want: []string{"location"}},
		{name: "track position with one coordinate", base: "patrol.json",
			set:  map[string]string{"track": `{"type":"LineString","coordinates":[[116.933008],[116.934384,40.567999],[116.942969,40.570572],[116.952368,40.573491]]}`},
			want: []string{"track"}},
		{name: "crs unknown", base: "expulsion.json", set: map[string]string{"crs": `"epsg:3857"`}, want: []string{"crs"}},

		// Counts and money.
		{name: "persons 0", base: "expulsion.json", set: map[string]string{"persons": `0`}, want: []string{"persons"}},
		{name: "persons -1", base: "expulsion.json", set: map[string]string{"persons": `-1`}, want: []string{"persons"}},
		{name: "persons 1001", base: "expulsion.json", set: map[string]string{"persons": `1001`}, want: []string{"persons"}},
		{name: "vehicles 0", base: "vehicle.json", set: map[string]string{"vehicles": `0`}, want: []string{"vehicles"}},
		{name: "vehicles 501", base: "vehicle.json", set: map[string]string{"vehicles": `501`}, want: []string{"vehicles"}},
		{name: "empty plate", base: "vehicle.json", set: map[string]string{"plates": `["京A12345",""]`}, want: []string{"plates[1]"}},
		{name: "animals -1", base: "grazing.json", set: map[string]string{"animals": `-1`}, want: []string{"animals"}},
		{name: "animals 10001", base: "grazing.json", set: map[string]string{"animals": `10001`}, want: []string{"animals"}},
		{name: "item quantity 0", base: "confiscation.json",
			set: map[string]string{"items": `[{"name":"net","quantity":0,"unit_value_fen":100}]`}, want: []string{"items[0].quantity"}},
		{name: "item quantity missing", base: "confiscation.json",
			set: map[string]string{"items": `[{"name":"net","unit_value_fen":100}]`}, want: []string{"items[0].quantity"}},
		{name: "item unit value negative", base: "confiscation.json",
			set:  map[string]string{"items": `[{"name":"rod","quantity":1,"unit_value_fen":5},{"name":"net","quantity":1,"unit_value_fen":-1}]`},
			want: []string{"items[1].unit_value_fen"}},
		{name: "item unit value absurd", base: "confiscation.json",
			set: map[string]string{"items": `[{"name":"net","quantity":1,"unit_value_fen":1000000001}]`}, want: []string{"items[0].unit_value_fen"}},
		{name: "item without name", base: "confiscation.json",
			set: map[string]string{"items": `[{"quantity":1,"unit_value_fen":5}]`}, want: []string{"items[0].name"}},
		{name: "fine negative", base: "case.json", set: map[string]string{"fine_fen": `-100`}, want: []string{"fine_fen"}},

		// Enumerations.
		{name: "unknown kind", base: "expulsion.json", set: map[string]string{"kind": `"boat"`}, want: []string{"kind"}},
		{name: "kind in upper case", base: "grazing.json", set: map[string]string{"kind": `"GRAZING"`}, want: []string{"kind"}},
		{name: "unknown activity", base: "expulsion.json", set: map[string]string{"activity": `"hunting"`}, want: []string{"activity"}},
		{name: "unknown case status", base: "case.json", set: map[string]string{"status": `"lost"`}, want: []string{"status"}},

		// Times.
		{name: "observed_at 24h and 1s ahead", base: "expulsion.json",
			set: map[string]string{"observed_at": `"2021-01-01T00:00:01Z"`}, want: []string{"observed_at"}},
		{name: "observed_at far future", base: "expulsion.json",
			set: map[string]string{"observed_at": `"9999-12-31T23:59:59Z"`}, want: []string{"observed_at"}},
		{name: "observed_at before 2000", base: "expulsion.json",
			set: map[string]string{"observed_at": `"1999-12-31T23:59:59Z"`}, want: []string{"observed_at"}},
		{name: "started_at in the future", base: "patrol_open.json",
			set: map[string]string{"started_at": `"2021-02-01T00:00:00Z"`}, want: []string{"started_at"}},
		{name: "ended before started", base: "patrol.json",
			set: map[string]string{"ended_at": `"2020-07-04T07:00:00+08:00"`}, want: []string{"ended_at"}},
		{name: "filed_at before 2000", base: "case_filed.json",
			set: map[string]string{"filed_at": `"1990-01-01T00:00:00Z"`}, want: []string{"filed_at"}},

		// Ids.
		{name: "id with colon", base: "expulsion.json", set: map[string]string{"id": `"a:b"`}, want: []string{"id"}},
		{name: "id with slash", base: "expulsion.json", set: map[string]string{"id": `"a/b"`}, want: []string{"id"}},
		{name: "id with trailing newline", base: "expulsion.json", set: map[string]string{"id": `"abc\n"`}, want: []string{"id"}},
		{name: "id with space", base: "expulsion.json", set: map[string]string{"id": `"a b"`}, want: []string{"id"}},
		{name: "id starting with dash", base: "expulsion.json", set: map[string]string{"id": `"-abc"`}, want: []string{"id"}},
		{name: "id of 65 characters", base: "expulsion.json", set: map[string]string{"id": `"` + long + `"`}, want: []string{"id"}},
		{name: "id not ASCII", base: "expulsion.json", set: map[string]string{"id": `"记录一"`}, want: []string{"id"}},
		{name: "unit with slash", base: "expulsion.json", set: map[string]string{"unit": `"town/x"`}, want: []string{"unit"}},
		{name: "patrol_id with colon", base: "expulsion.json", set: map[string]string{"patrol_id": `"p:1"`}, want: []string{"patrol_id"}},

		// Patrol track.
		{name: "track_times shorter than track", base: "patrol.json",
			set: map[string]string{"track_times": `["2020-07-04T07:35:00+08:00","2020-07-04T07:46:37+08:00"]`}, want: []string{"track_times"}},
		{name: "track_times longer than track", base: "patrol.json",
			set:  map[string]string{"track_times": `["2020-07-04T07:35:00+08:00","2020-07-04T07:46:37+08:00","2020-07-04T07:56:56+08:00","2020-07-04T08:15:43+08:00","2020-07-04T08:20:00+08:00"]`},
			want: []string{"track_times"}},
		{name: "track_times empty list", base: "patrol.json", set: map[string]string{"track_times": `[]`}, want: []string{"track_times"}},
		{name: "decreasing track_times", base: "patrol.json",
			set:  map[string]string{"track_times": `["2020-07-04T07:35:00+08:00","2020-07-04T07:46:37+08:00","2020-07-04T07:40:00+08:00","2020-07-04T08:15:43+08:00"]`},
			want: []string{"track_times[2]"}},
		{name: "track_times without track", base: "patrol.json", del: []string{"track"}, want: []string{"track_times"}},
		{name: "track of one position", base: "patrol.json",
			set: map[string]string{"track": `{"type":"LineString","coordinates":[[116.93,40.56]]}`}, del: []string{"track_times"},
			want: []string{"track.coordinates"}},
		{name: "track not a LineString", base: "patrol.json",
			set:  map[string]string{"track": `{"type":"Point","coordinates":[[116.933008,40.567572],[116.934384,40.567999],[116.942969,40.570572],[116.952368,40.573491]]}`},
			want: []string{"track.type"}},
		{name: "track position out of range", base: "patrol.json",
			set:  map[string]string{"track": `{"type":"LineString","coordinates":[[116.933008,40.567572],[116.934384,40.567999],[216.942969,40.570572],[116.952368,40.573491]]}`},
			want: []string{"track.coordinates[2]"}},
		{name: "track_times before 2000", base: "patrol.json",
			set:  map[string]string{"track_times": `["0000-01-01T00:00:00+01:00","0000-01-01T00:00:00+01:00","0000-01-01T00:00:00+01:00","0000-01-01T00:00:00+01:00"]`},
			want: []string{"track_times[0]"}},

		// Case.
		{name: "fine without decided_at", base: "case.json", del: []string{"decided_at"}, want: []string{"decided_at"}},
		{name: "decided before filed", base: "case.json",
			set: map[string]string{"decided_at": `"2019-12-31T16:15:00+08:00"`}, want: []string{"decided_at"}},
		{name: "decided in the future", base: "case.json",
			set: map[string]string{"decided_at": `"2021-06-01T00:00:00Z"`}, want: []string{"decided_at"}},

		// Photos and text.
		{name: "photo hash not hex", base: "expulsion.json",
			set: map[string]string{"photos": `[{"sha256":"XYZ","size":10,"mime":"image/png"}]`}, want: []string{"photos[0].sha256"}},
		{name: "photo empty and not an image", base: "expulsion.json",
			set:  map[string]string{"photos": `[{"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","size":0,"mime":"application/pdf"}]`},
			want: []string{"photos[0].mime", "photos[0].size"}},
		{name: "note too long", base: "expulsion.json",
			set: map[string]string{"note": `"` + strings.Repeat("水", enforcement.MaxNoteRunes+1) + `"`}, want: []string{"note"}},
		{name: "empty officer", base: "expulsion.json", set: map[string]string{"officers": `["officer-1",""]`}, want: []string{"officers[1]"}},

		// Several errors at once: every one is named.
		{name: "several semantic errors", base: "expulsion.json",
			set: map[string]string{"id": `"a:b"`, "persons": `0`, "activity": `"hunting"`, "unit": `""`,
				"location": `{"type":"Point","coordinates":[116.95,95]}`, "observed_at": `"2021-03-01T00:00:00Z"`},
			want: []string{"activity", "id", "location.coordinates", "observed_at", "persons", "unit"}},
		{name: "several decode errors", base: "vehicle.json",
			set:  map[string]string{"colour": `"red"`, "persons": `3`, "vehicles": `"two"`, "observed_at": `"yesterday"`},
			want: []string{"colour", "observed_at", "persons", "vehicles"}},
		{name: "several case errors", base: "case.json",
			set:  map[string]string{"decided_at": `"2019-12-31T16:15:00+08:00"`, "status": `"lost"`, "fine_fen": `-1`},
			want: []string{"decided_at", "fine_fen", "status"}},
		{name: "decode error and semantic error together", base: "vehicle.json",
			set:  map[string]string{"vehicles": `"two"`, "id": `"a:b"`},
			want: []string{"id", "vehicles"}},
		{name: "foreign field and missing required fields", raw: `{"kind":"vehicle","persons":3}`,
			want: []string{"id", "location", "observed_at", "persons", "unit", "vehicles"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(c.raw)
			if c.base != "" {
				body = patch(t, c.base, c.set, c.del)
			}
			in, err := enforcement.Decode(body, testNow)
			if err == nil {
				t.Fatalf("Decode accepted %s as %+v", body, in.Record)
			}
			if in.Record.ID != "" || in.Record.Kind != "" {
				t.Errorf("Decode returned a partial record with its error: %+v", in.Record)
			}
			if got := fieldSet(t, err); !slices.Equal(got, c.want) {
				t.Errorf("offending fields = %q, want %q\nerror: %v", got, c.want, err)
			}
			if !strings.HasPrefix(err.Error(), "invalid record: ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

// TestDecodeEarliestInstant: whether observed_at lies before 2000 depends on
// the instant, not on the offset the client wrote it with.
func TestDecodeEarliestInstant(t *testing.T) {
	pairs := []struct{ name, a, b string }{
		{"2000-01-01T00:30Z", `"2000-01-01T00:30:00Z"`, `"1999-12-31T23:30:00-01:00"`},
		{"1999-12-31T21:00Z", `"1999-12-31T21:00:00Z"`, `"2000-01-01T05:00:00+08:00"`},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			_, errA := enforcement.Decode(patch(t, "expulsion.json", map[string]string{"observed_at": p.a}, nil), testNow)
			_, errB := enforcement.Decode(patch(t, "expulsion.json", map[string]string{"observed_at": p.b}, nil), testNow)
			if (errA == nil) != (errB == nil) {
				t.Errorf("same instant, different verdicts: %s -> %v; %s -> %v", p.a, errA, p.b, errB)
			}
		})
	}
}

func decodeFixture(t testing.TB, name string) enforcement.Record {
	t.Helper()
	in, err := enforcement.Decode(readFixture(t, name), testNow)
	if err != nil {
		t.Fatalf("Decode %s: %v", name, err)
	}
	return in.Record
}

func TestCanonicalHash(t *testing.T) {
	base := decodeFixture(t, "expulsion.json")
	h := base.CanonicalHash()
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("hash %q is not 64 lower-case hex digits", h)
	}
	if again := base.CanonicalHash(); again != h {
		t.Fatalf("hash not stable: %s then %s", h, again)
	}

	same := []struct {
		name   string
		change func(r *enforcement.Record)
	}{
		{"observed_at in UTC", func(r *enforcement.Record) { r.ObservedAt = r.ObservedAt.UTC() }},
		{"observed_at in UTC-5", func(r *enforcement.Record) { r.ObservedAt = r.ObservedAt.In(time.FixedZone("", -5*3600)) }},
		{"server fields set", func(r *enforcement.Record) {
			r.Rev = 7
			r.CreatedBy = "officer-1"
			r.RecordedBy = "officer-2"
			r.ReceivedAt = time.Date(2020, 7, 4, 8, 0, 0, 0, time.UTC)
			r.UnitPath = []string{"district", r.Unit}
			r.Voided = true
			r.VoidReason = "duplicate"
			r.BodySHA256 = "abc"
		}},
	}
	for _, c := range same {
		t.Run("same/"+c.name, func(t *testing.T) {
			r := base
			c.change(&r)
			if got := r.CanonicalHash(); got != h {
				t.Errorf("hash = %s, want %s", got, h)
			}
		})
	}
	t.Run("same/empty officers list and none", func(t *testing.T) {
		a, b := base, base
		a.Officers, b.Officers = nil, []string{}
		if a.CanonicalHash() != b.CanonicalHash() {
			t.Errorf(`"officers":[] and no officers hash differently`)
		}
	})

	differ := []struct {
		name   string
		change func(r *enforcement.Record)
	}{
		{"persons", func(r *enforcement.Record) { r.Persons++ }},
		{"activity", func(r *enforcement.Record) { r.Activity = enforcement.ActivityFishing }},
		{"observed_at by 1ns", func(r *enforcement.Record) { r.ObservedAt = r.ObservedAt.Add(time.Nanosecond) }},
		{"location", func(r *enforcement.Record) {
			r.Location = &enforcement.Point{Type: "Point", Coordinates: [2]float64{116.95, 40.53}}
		}},
		{"unit", func(r *enforcement.Record) { r.Unit = "town-other" }},
		{"note", func(r *enforcement.Record) { r.Note += "." }},
		{"officers", func(r *enforcement.Record) { r.Officers = []string{"officer-xiwengzhuang-1"} }},
		{"id", func(r *enforcement.Record) { r.ID = "other-id" }},
	}
	for _, c := range differ {
		t.Run("differs/"+c.name, func(t *testing.T) {
			r := base
			c.change(&r)
			if got := r.CanonicalHash(); got == h {
				t.Errorf("hash unchanged after changing %s", c.name)
			}
		})
	}

	t.Run("case times in other zones", func(t *testing.T) {
		c := decodeFixture(t, "case.json")
		want := c.CanonicalHash()
		zone := time.FixedZone("", 3*3600+1800)
		f, d := c.FiledAt.In(zone), c.DecidedAt.UTC()
		c.FiledAt, c.DecidedAt = &f, &d
		if got := c.CanonicalHash(); got != want {
			t.Errorf("hash = %s, want %s", got, want)
		}
	})
	t.Run("track times in other zones", func(t *testing.T) {
		p := decodeFixture(t, "patrol.json")
		want := p.CanonicalHash()
		tt := make([]time.Time, len(p.TrackTimes))
		for i, x := range p.TrackTimes {
			tt[i] = x.UTC()
		}
		s, e := p.StartedAt.UTC(), p.EndedAt.UTC()
		p.TrackTimes, p.StartedAt, p.EndedAt = tt, &s, &e
		if got := p.CanonicalHash(); got != want {
			t.Errorf("hash = %s, want %s", got, want)
		}
	})
	t.Run("decoded from another zone", func(t *testing.T) {
		r, err := enforcement.Decode(patch(t, "expulsion.json", map[string]string{"observed_at": `"2020-07-04T07:20:00Z"`}, nil), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Record.CanonicalHash(); got != h {
			t.Errorf("hash = %s, want %s", got, h)
		}
	})
}

// TestCanonicalHashOutOfRangeTrackTimes: two records that differ must not
// share a canonical hash, whatever times they carry.
func TestCanonicalHashOutOfRangeTrackTimes(t *testing.T) {
	times := `["0000-01-01T00:00:00+01:00","0000-01-01T00:00:00+01:00","0000-01-01T00:00:00+01:00","0000-01-01T00:00:00+01:00"]`
	a := patch(t, "patrol.json", map[string]string{"track_times": times, "note": `"a"`}, nil)
	b := patch(t, "patrol.json", map[string]string{"track_times": times, "note": `"b"`}, nil)
	ia, errA := enforcement.Decode(a, testNow)
	ib, errB := enforcement.Decode(b, testNow)
	if errA != nil || errB != nil {
		return // refusing such times is a fix too
	}
	if ia.Record.CanonicalHash() == ib.Record.CanonicalHash() {
		t.Errorf("records with notes %q and %q share the hash %s", ia.Record.Note, ib.Record.Note, ia.Record.CanonicalHash())
	}
}

func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(validDir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures in %s: %v", validDir, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"kind":"case"}`, `{"kind":"vehicle","persons":3}`,
		`{"id":"a","kind":"grazing","observed_at":"2020-05-12T09:00:00+08:00","location":{"type":"Point","coordinates":[1e999,0]},"unit":"u"}`,
		`{"id":"a","kind":"grazing","observed_at":"2020-05-12T09:00:00+08:00","location":{"type":"Point"},"unit":"u","rev":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := enforcement.Decode(data, testNow)
		if err != nil {
			var verr *enforcement.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error is %T (%v), want *ValidationError", err, err)
			}
			if len(verr.Fields) == 0 {
				t.Fatalf("ValidationError names no field")
			}
			return
		}
		h := in.Record.CanonicalHash()
		b, err := json.Marshal(in.Record)
		if err != nil {
			t.Fatalf("Marshal decoded record: %v", err)
		}
		again, err := enforcement.Decode(b, testNow)
		if err != nil {
			t.Fatalf("re-Decode of %s: %v", b, err)
		}
		if h2 := again.Record.CanonicalHash(); h2 != h {
			t.Fatalf("hash changed over a round trip: %s -> %s\ninput: %s\nmarshalled: %s", h, h2, data, b)
		}
	})
}

func TestValidationErrorMessage(t *testing.T) {
	_, err := enforcement.Decode(patch(t, "expulsion.json", map[string]string{"persons": `0`, "id": `"a:b"`}, nil), testNow)
	if err == nil {
		t.Fatal("Decode accepted persons 0 and id a:b")
	}
	var verr *enforcement.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error is %T", err)
	}
	// Fields are ordered by name and each appears in the message.
	if !sort.SliceIsSorted(verr.Fields, func(i, j int) bool { return verr.Fields[i].Field < verr.Fields[j].Field }) {
		t.Errorf("fields not sorted: %+v", verr.Fields)
	}
	for _, f := range verr.Fields {
		if !strings.Contains(err.Error(), f.Field+": "+f.Detail) {
			t.Errorf("message %q lacks %q", err.Error(), f.Field)
		}
	}
	// The detail is for a client: no Go type names.
	_, err = enforcement.Decode(patch(t, "expulsion.json", map[string]string{"persons": `"3"`}, nil), testNow)
	if err == nil || strings.Contains(err.Error(), "int64") || strings.Contains(err.Error(), "Go value") {
		t.Errorf("wrong-type message = %v", err)
	}
}
