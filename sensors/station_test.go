package sensors_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/sensors"
)

const stationsFile = "../testdata/stations.json"

func loadShipped(t testing.TB) []sensors.Station {
	t.Helper()
	b, err := os.ReadFile(stationsFile)
	if err != nil {
		t.Fatalf("read %s: %v", stationsFile, err)
	}
	sts, err := sensors.LoadStations(b)
	if err != nil {
		t.Fatalf("LoadStations(%s): %v", stationsFile, err)
	}
	return sts
}

func TestShippedStations(t *testing.T) {
	sts := loadShipped(t)
	if len(sts) < 12 {
		t.Fatalf("%d stations, want at least 12", len(sts))
	}
	byID := map[string]sensors.Station{}
	counts := map[sensors.WaterBody]int{}
	for i, st := range sts {
		if err := sensors.ValidateStation(st); err != nil {
			t.Errorf("stations[%d]: %v", i, err)
		}
		if _, dup := byID[st.ID]; dup {
			t.Errorf("duplicate id %q", st.ID)
		}
		byID[st.ID] = st
		counts[st.WaterBody]++
		if !st.Approximate {
			t.Errorf("%s is not marked approximate", st.ID)
		}
		if st.NameEN == "" {
			t.Errorf("%s has no English name", st.ID)
		}
	}
	if counts[res] < 5 || counts[river] < 5 {
		t.Errorf("water bodies = %v, want at least 5 reservoir points and 5 river sections", counts)
	}
	tests := []struct {
		id     string
		name   string
		body   sensors.WaterBody
		target sensors.Class
	}{
		{"res-dam", "密云水库坝前", res, cII},
		{"res-centre", "密云水库库中心", res, cII},
		{"res-chao-arm", "密云水库潮河库区", res, cII},
		{"res-bai-arm", "密云水库白河库区", res, cII},
		{"inflow-chao", "潮河入库口", river, cII},
		{"inflow-bai", "白河入库口", river, cII},
		{"trib-qingshui", "清水河入库断面", river, cIII},
		{"trib-andamu", "安达木河太师屯断面", river, cIII},
		{"trib-baimaguan", "白马关河冯家峪断面", river, cIII},
	}
	for _, tc := range tests {
		st, ok := byID[tc.id]
		if !ok {
			t.Errorf("no station %q", tc.id)
			continue
		}
		if st.Name != tc.name || st.WaterBody != tc.body || st.TargetClass != tc.target {
			t.Errorf("%s = %q %s %v, want %q %s %v", tc.id, st.Name, st.WaterBody, st.TargetClass, tc.name, tc.body, tc.target)
		}
	}
	// Every reservoir point and both inflows have target Class II (GB3838-2002.md).
	for _, st := range sts {
		if (st.WaterBody == res || strings.HasPrefix(st.ID, "inflow-")) && st.TargetClass != cII {
			t.Errorf("%s: target %v, want II", st.ID, st.TargetClass)
		}
		if st.WaterBody == res && !st.Reports(sensors.ParamTN) {
			t.Errorf("%s: a reservoir station that does not report total nitrogen", st.ID)
		}
		if st.Interval != sensors.Interval(5*time.Minute) && st.Interval != sensors.Interval(15*time.Minute) {
			t.Errorf("%s: interval %s", st.ID, st.Interval)
		}
	}
	// The arms lie to the north-east and north-west of the centre, the
	// inflows beyond them.
	c := byID["res-centre"].Location
	for _, tc := range []struct {
		id     string
		east   bool
		minLat float64
	}{
		{"res-chao-arm", true, c.Lat + 0.03}, {"inflow-chao", true, 40.59},
		{"res-bai-arm", false, c.Lat + 0.03}, {"inflow-bai", false, 40.59},
	} {
		l := byID[tc.id].Location
		if (l.Lon > c.Lon) != tc.east || l.Lat < tc.minLat {
			t.Errorf("%s at %v is not where it belongs (centre %v)", tc.id, l, c)
		}
	}
}

// TestShippedStationsOnTheZones checks the shipped positions against the
// approximate zone geometry of testdata/zones: reservoir points in the water,
// river sections outside it, the inflows at its edge (in the 300 m band of
// the first-level zone) and the tributary sections within 10 km of the
// protection zones.
func TestShippedStationsOnTheZones(t *testing.T) {
	b, err := os.ReadFile("../testdata/zones/protection.geojson")
	if err != nil {
		t.Skipf("no zone layer: %v", err)
	}
	zones, err := geo.ParseLayer(geo.LayerProtection, b)
	if err != nil {
		t.Fatalf("ParseLayer: %v", err)
	}
	for _, st := range loadShipped(t) {
		m, dist := zones.Nearest(st.Location.Point())
		inWater := dist == 0 && m.Level == geo.LevelWater
		switch {
		case st.WaterBody == res && !inWater:
			t.Errorf("%s (%v) is not in the water: %s at %.0f m", st.ID, st.Location, m.Level, dist)
		case st.WaterBody == river && inWater:
			t.Errorf("river section %s (%v) lies in the reservoir", st.ID, st.Location)
		}
		if strings.HasPrefix(st.ID, "inflow-") {
			if m, ok := zones.Locate(st.Location.Point()); !ok || m.Level != geo.LevelFirst {
				t.Errorf("%s (%v) is not in the first-level zone next to the water: %+v", st.ID, st.Location, m)
			}
		}
		if st.WaterBody == river && dist > 10000 {
			t.Errorf("%s (%v) is %.0f m from the protection zones", st.ID, st.Location, dist)
		}
	}
}

// problemFields returns the fields of a *ValidationError, failing the test
// for any other error.
func problemFields(t *testing.T, err error) []string {
	t.Helper()
	var verr *sensors.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if !errors.Is(err, sensors.ErrInvalid) {
		t.Errorf("error does not wrap ErrInvalid")
	}
	var fields []string
	for _, p := range verr.Problems {
		if p.Detail == "" {
			t.Errorf("problem of %q has no detail", p.Field)
		}
		fields = append(fields, p.Field)
	}
	return fields
}

// goodStation is a valid station object; tests patch it.
const goodStation = `{"id":"s1","name":"测试站","name_en":"Test station","location":{"type":"Point","coordinates":[116.95,40.53]},` +
	`"water_body":"reservoir","target_class":"II","params":["ph","tp_mg_l","temp_c"],"interval":"PT5M"}`

// with returns goodStation with each member key set to the raw JSON value
// that follows it, or removed when that value is "".
func with(keyValues ...string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(goodStation), &m); err != nil {
		panic(err)
	}
	for i := 0; i+1 < len(keyValues); i += 2 {
		if key, value := keyValues[i], keyValues[i+1]; value == "" {
			delete(m, key)
		} else {
			m[key] = json.RawMessage(value)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func file(stations ...string) string {
	return `{"note":"test","stations":[` + strings.Join(stations, ",") + `]}`
}

func TestLoadStationsRefuses(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string // the exact problems, as Problem.String renders them
	}{
		{"not JSON", `{"stations": [`, []string{"stations file malformed JSON: unexpected end of input"}},
		{"an array", `[` + goodStation + `]`, []string{"stations file must be a JSON object, got an array"}},
		{"empty input", ``, []string{"stations file malformed JSON: unexpected end of input"}},
		{"trailing data", file(goodStation) + `{}`, []string{"stations file unexpected data after the object"}},
		{"unknown top-level member", `{"stations":[` + goodStation + `],"version":1}`, []string{"version: unknown member"}},
		{"note not a string", `{"note":1,"stations":[` + goodStation + `]}`, []string{"note: wrong type: got number"}},
		{"no stations", `{"note":"x"}`, []string{"stations: required: an array of station objects"}},
		{"stations not an array", `{"stations":{}}`, []string{"stations: must be an array of station objects"}},
		{"stations null", `{"stations":null}`, []string{"stations: must be an array of station objects"}},
		{"no station", `{"stations":[]}`, []string{"stations: must hold at least one station"}},
		{"repeated top-level member", `{"stations":[` + goodStation + `],"stations":[]}`, []string{"stations: repeated member"}},
		{"station not an object", file(goodStation, `"s2"`), []string{"stations[1]: station must be a JSON object, got a string"}},
		{"station null", file(`null`), []string{"stations[0]: station must be a JSON object, got null"}},
		{"unknown station member", file(with("owner", `"x"`)),
			[]string{`stations[0].owner: unknown member (station "s1")`}},
		{"repeated station member", file(strings.Replace(goodStation, `"id":"s1"`, `"id":"s1","id":"s2"`, 1)),
			[]string{`stations[0].id: repeated member (station "s1")`}},
		{"duplicate id", file(goodStation, goodStation, with("id", `"s2"`), goodStation),
			[]string{`stations[1].id: duplicate id: stations[0] has the same id (station "s1")`,
				`stations[3].id: duplicate id: stations[0] has the same id (station "s1")`}},
		{"missing id", file(with("id", "")),
			[]string{"stations[0].id: required: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"}},
		{"id with a slash", file(with("id", `"res/dam"`)),
			[]string{`stations[0].id: required: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (station "res/dam")`}},
		{"id too long", file(with("id", `"`+strings.Repeat("a", 65)+`"`)),
			[]string{`stations[0].id: required: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit (station "` + strings.Repeat("a", 65) + `")`}},
		{"id a number", file(with("id", `7`)), []string{"stations[0].id: wrong type: got number"}},
		{"blank name", file(with("name", `"  "`)), []string{`stations[0].name: required: a non-blank name (station "s1")`}},
		{"missing name", file(with("name", "")), []string{`stations[0].name: required: a non-blank name (station "s1")`}},
		{"control character in name_en", file(with("name_en", `"a\u0007b"`)),
			[]string{`stations[0].name_en: must not contain control characters (station "s1")`}},
		{"name too long", file(with("name", `"`+strings.Repeat("水", 101)+`"`)),
			[]string{`stations[0].name: at most 100 characters (station "s1")`}},
		{"missing location", file(with("location", "")),
			[]string{`stations[0].location: required: a GeoJSON Point [lon, lat] (WGS-84); [0, 0] is taken as missing (station "s1")`}},
		{"location a polygon", file(with("location", `{"type":"Polygon","coordinates":[116.9,40.5]}`)),
			[]string{`stations[0].location: type: must be "Point" (station "s1")`}},
		{"location with altitude", file(with("location", `{"type":"Point","coordinates":[116.9,40.5,150]}`)),
			[]string{`stations[0].location: coordinates: must be [lon, lat], two numbers (station "s1")`}},
		{"location with crs", file(with("location", `{"type":"Point","coordinates":[116.9,40.5],"crs":"gcj02"}`)),
			[]string{`stations[0].location: unknown member "crs": must be a GeoJSON Point {"type": "Point", "coordinates": [lon, lat]} (station "s1")`}},
		{"latitude null", file(with("location", `{"type":"Point","coordinates":[116.9,null]}`)),
			[]string{`stations[0].location: coordinates: must be [lon, lat], two numbers (station "s1")`}},
		{"location a pair", file(with("location", `[116.9,40.5]`)),
			[]string{`stations[0].location: must be a GeoJSON Point {"type": "Point", "coordinates": [lon, lat]}: must be a JSON object, got an array (station "s1")`}},
		{"longitude out of range", file(with("location", `{"type":"Point","coordinates":[216.9,40.5]}`)),
			[]string{`stations[0].location: coordinates [216.9, 40.5] are outside [-180, 180] × [-90, 90] (station "s1")`}},
		{"latitude out of range", file(with("location", `{"type":"Point","coordinates":[40.5,116.9]}`)),
			[]string{`stations[0].location: coordinates [40.5, 116.9] are outside [-180, 180] × [-90, 90] (station "s1")`}},
		{"water body lake", file(with("water_body", `"lake"`)),
			[]string{`stations[0].water_body: must be reservoir or river, got "lake" (station "s1")`}},
		{"target VI", file(with("target_class", `"VI"`)),
			[]string{`stations[0].target_class: must be one of I, II, III, IV, V, got "VI" (station "s1")`}},
		{"target worse than V", file(with("target_class", `"劣V"`)),
			[]string{`stations[0].target_class: must be one of I, II, III, IV, V, got 劣V (station "s1")`}},
		{"target a number", file(with("target_class", `2`)),
			[]string{`stations[0].target_class: wrong type: got number (station "s1")`}},
		{"missing target", file(with("target_class", "")),
			[]string{`stations[0].target_class: must be one of I, II, III, IV, V, got none (station "s1")`}},
		{"unknown and repeated params", file(with("params", `["ph","tp_mg_l","tp","ph"]`)),
			[]string{`stations[0].params[2]: unknown parameter "tp" (station "s1")`,
				`stations[0].params[3]: ph repeats params[0] (station "s1")`}},
		{"no params", file(with("params", `[]`)),
			[]string{`stations[0].params: required: the parameters the station reports (station "s1")`}},
		{"params null", file(with("params", `null`)),
			[]string{`stations[0].params: must not be null (station "s1")`}},
		{"river reporting only TN and extras", file(with("water_body", `"river"`, "params", `["tn_mg_l","temp_c"]`)),
			[]string{`stations[0].params: none of them is classified for a river station (station "s1")`}},
		{"interval missing", file(with("interval", "")),
			[]string{`stations[0].interval: required: an ISO 8601 duration such as "PT5M", or a number of seconds (station "s1")`}},
		{"interval in months", file(with("interval", `"P1M"`)),
			[]string{`stations[0].interval: "P1M" is not an ISO 8601 duration such as "PT5M", "PT1H30M" or "P1D" (station "s1")`}},
		{"interval fraction of a second", file(with("interval", `0.5`)),
			[]string{`stations[0].interval: 0.5 is not a whole number of seconds (station "s1")`}},
		{"interval negative", file(with("interval", `-300`)),
			[]string{`stations[0].interval: -300 seconds is negative (station "s1")`}},
		{"interval too long", file(with("interval", `"P8D"`)),
			[]string{`stations[0].interval: P8D is outside PT1S to P7D (station "s1")`}},
		{"interval zero", file(with("interval", `"PT0S"`)),
			[]string{`stations[0].interval: required: an ISO 8601 duration such as "PT5M", or a number of seconds (station "s1")`}},
		{"interval a boolean", file(with("interval", `true`)),
			[]string{`stations[0].interval: must be an ISO 8601 duration such as "PT5M", or a number of seconds (station "s1")`}},
		{"approximate a string", file(with("approximate", `"yes"`)),
			[]string{`stations[0].approximate: wrong type: got string (station "s1")`}},
		{"every problem of two stations", file(
			`{"id":"a","name":"","location":{"type":"Point","coordinates":[0,0]},"water_body":"sea","target_class":"0","params":["x"],"interval":"soon","extra":1}`,
			`{"id":"a"}`),
			[]string{
				`stations[0].target_class: must be one of I, II, III, IV, V, got "0" (station "a")`,
				`stations[0].interval: "soon" is not an ISO 8601 duration such as "PT5M", "PT1H30M" or "P1D" (station "a")`,
				`stations[0].extra: unknown member (station "a")`,
				`stations[0].name: required: a non-blank name (station "a")`,
				`stations[0].location: required: a GeoJSON Point [lon, lat] (WGS-84); [0, 0] is taken as missing (station "a")`,
				`stations[0].water_body: must be reservoir or river, got "sea" (station "a")`,
				`stations[0].params[0]: unknown parameter "x" (station "a")`,
				`stations[1].name: required: a non-blank name (station "a")`,
				`stations[1].location: required: a GeoJSON Point [lon, lat] (WGS-84); [0, 0] is taken as missing (station "a")`,
				`stations[1].water_body: must be reservoir or river, got "" (station "a")`,
				`stations[1].target_class: must be one of I, II, III, IV, V, got none (station "a")`,
				`stations[1].params: required: the parameters the station reports (station "a")`,
				`stations[1].interval: required: an ISO 8601 duration such as "PT5M", or a number of seconds (station "a")`,
				`stations[1].id: duplicate id: stations[0] has the same id (station "a")`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sts, err := sensors.LoadStations([]byte(tc.data))
			if err == nil {
				t.Fatalf("LoadStations accepted it: %+v", sts)
			}
			if sts != nil {
				t.Errorf("stations returned beside the error: %+v", sts)
			}
			problemFields(t, err)
			var verr *sensors.ValidationError
			errors.As(err, &verr)
			var got []string
			for _, p := range verr.Problems {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.want)
			}
			if want := "sensors.LoadStations: " + strings.Join(tc.want, "; "); err.Error() != want {
				t.Errorf("error:\n got %s\nwant %s", err, want)
			}
		})
	}
}

func TestLoadStationsAccepts(t *testing.T) {
	sts, err := sensors.LoadStations([]byte(`{"stations":[` + with("interval", `300`) + `,` +
		strings.Replace(with("id", `"s2"`), `"PT5M"`, `"PT1H30M"`, 1) + `]}`))
	if err != nil {
		t.Fatalf("LoadStations: %v", err)
	}
	want := sensors.Station{ID: "s1", Name: "测试站", NameEN: "Test station",
		Location: sensors.Location{Lon: 116.95, Lat: 40.53}, WaterBody: res, TargetClass: cII,
		Params: []sensors.Param{"ph", "tp_mg_l", "temp_c"}, Interval: sensors.Interval(5 * time.Minute)}
	if len(sts) != 2 || !reflect.DeepEqual(sts[0], want) {
		t.Fatalf("stations[0] = %+v\nwant %+v", sts[0], want)
	}
	if sts[1].ID != "s2" || sts[1].Interval.Duration() != 90*time.Minute {
		t.Errorf("stations[1] = %+v", sts[1])
	}
}

// TestLoadStationsCapsProblems checks that a huge broken file lists at most
// MaxProblems problems and counts the rest.
func TestLoadStationsCapsProblems(t *testing.T) {
	var list []string
	for range 60 {
		list = append(list, `{"id":"x"}`)
	}
	_, err := sensors.LoadStations([]byte(file(list...)))
	var verr *sensors.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v", err)
	}
	// Each station lacks six fields; all but the first repeat the id.
	if len(verr.Problems) != sensors.MaxProblems || verr.Omitted != 60*6+59-sensors.MaxProblems {
		t.Errorf("problems = %d, omitted = %d", len(verr.Problems), verr.Omitted)
	}
	if !strings.HasSuffix(err.Error(), " (and 319 more problems)") {
		t.Errorf("error does not count the omitted problems: ...%s", err.Error()[len(err.Error())-40:])
	}
}

func TestValidateStation(t *testing.T) {
	if err := sensors.ValidateStation(reservoirStation); err != nil {
		t.Errorf("reservoirStation: %v", err)
	}
	bad := sensors.Station{
		ID:          "a b",
		Name:        "\xff",
		NameEN:      " ",
		Location:    sensors.Location{Lon: 181, Lat: 0},
		WaterBody:   "Reservoir",
		TargetClass: sensors.Class(8),
		Params:      []sensors.Param{"ph", "ph"},
		Interval:    sensors.Interval(1500 * time.Millisecond),
	}
	err := sensors.ValidateStation(bad)
	fields := problemFields(t, err)
	want := []string{"id", "name", "name_en", "location", "water_body", "target_class", "params[1]", "interval"}
	if !slices.Equal(fields, want) {
		t.Errorf("fields = %v, want %v", fields, want)
	}
	if !strings.HasPrefix(err.Error(), "sensors.ValidateStation: id: ") ||
		!strings.Contains(err.Error(), "interval: PT1.5S is not a whole number of seconds") ||
		!strings.Contains(err.Error(), "target_class: must be one of I, II, III, IV, V, got Class(8)") {
		t.Errorf("error = %v", err)
	}
	// A river station whose only classified parameter would be TN.
	st := riverStation
	st.Params = []sensors.Param{"tn_mg_l", "turbidity_ntu"}
	if got := problemFields(t, sensors.ValidateStation(st)); !slices.Equal(got, []string{"params"}) {
		t.Errorf("river with TN only: fields %v", got)
	}
	st.WaterBody = res
	if err := sensors.ValidateStation(st); err != nil {
		t.Errorf("reservoir with TN only: %v", err)
	}
	st.Interval = sensors.MinInterval
	if err := sensors.ValidateStation(st); err != nil {
		t.Errorf("interval at the minimum: %v", err)
	}
	st.Interval = sensors.MaxInterval
	if err := sensors.ValidateStation(st); err != nil {
		t.Errorf("interval at the maximum: %v", err)
	}
	st.Interval = sensors.MaxInterval + sensors.Interval(time.Second)
	if got := problemFields(t, sensors.ValidateStation(st)); !slices.Equal(got, []string{"interval"}) {
		t.Errorf("interval beyond the maximum: fields %v", got)
	}
}

// TestStationRoundTrip checks that a station written with encoding/json
// reads back the same through DecodeStation, in the documented shape.
func TestStationRoundTrip(t *testing.T) {
	for _, st := range loadShipped(t) {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("Marshal %s: %v", st.ID, err)
		}
		got, err := sensors.DecodeStation(b)
		if err != nil {
			t.Fatalf("DecodeStation(%s): %v", b, err)
		}
		if !reflect.DeepEqual(got, st) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", st.ID, got, st)
		}
	}
	b, _ := json.Marshal(reservoirStation)
	for _, want := range []string{`"id":"res-dam"`, `"location":{"type":"Point","coordinates":[116.8565,40.4913]}`,
		`"water_body":"reservoir"`, `"target_class":"II"`, `"interval":"PT5M"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	if strings.Contains(string(b), "approximate") || strings.Contains(string(b), "name_en") {
		t.Errorf("empty optional members written: %s", b)
	}
}

func TestDecodeStation(t *testing.T) {
	st, err := sensors.DecodeStation([]byte(goodStation))
	if err != nil || st.ID != "s1" || st.TargetClass != cII {
		t.Fatalf("DecodeStation = %+v, %v", st, err)
	}
	st, err = sensors.DecodeStation([]byte(with("water_body", `"lake"`)))
	if err == nil || st.ID != "" {
		t.Fatalf("DecodeStation accepted a lake: %+v", st)
	}
	want := `sensors.DecodeStation: water_body: must be reservoir or river, got "lake"`
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
}

func TestInterval(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"PT5M", 5 * time.Minute, "PT5M"},
		{"PT1H", time.Hour, "PT1H"},
		{"PT1H30M", 90 * time.Minute, "PT1H30M"},
		{"PT90S", 90 * time.Second, "PT1M30S"},
		{"PT30S", 30 * time.Second, "PT30S"},
		{"P1D", 24 * time.Hour, "P1D"},
		{"P1DT2H3M4S", 26*time.Hour + 3*time.Minute + 4*time.Second, "P1DT2H3M4S"},
		{"PT0S", 0, "PT0S"},
		{"PT3600S", time.Hour, "PT1H"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := sensors.ParseInterval(tc.in)
			if err != nil || got.Duration() != tc.want {
				t.Fatalf("ParseInterval(%q) = %v, %v; want %v", tc.in, got.Duration(), err, tc.want)
			}
			if s := got.String(); s != tc.out {
				t.Errorf("String() = %q, want %q", s, tc.out)
			}
			var d sensors.Interval
			if err := json.Unmarshal([]byte(`"`+tc.in+`"`), &d); err != nil || d != got {
				t.Errorf("UnmarshalJSON = %v, %v", d, err)
			}
			b, err := json.Marshal(d)
			if err != nil || string(b) != `"`+tc.out+`"` {
				t.Errorf("MarshalJSON = %s, %v", b, err)
			}
		})
	}
	for _, in := range []string{"", "P", "PT", "5M", "pt5m", "P1M", "P1Y", "P1W", "PT1.5S", "-PT5M", "PT5M ", "P1H", "PT1D", "P1234567890D"} {
		if d, err := sensors.ParseInterval(in); err == nil || !errors.Is(err, sensors.ErrInvalid) {
			t.Errorf("ParseInterval(%q) = %v, %v; want ErrInvalid", in, d, err)
		}
	}
	var d sensors.Interval
	if err := json.Unmarshal([]byte(`900`), &d); err != nil || d.Duration() != 15*time.Minute {
		t.Errorf("Unmarshal 900 = %v, %v", d, err)
	}
	for _, in := range []string{`1.5`, `-1`, `true`, `null`, `{}`, `1e30`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal %s accepted: %v", in, d)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{1500 * time.Millisecond, "PT1.5S"},
		{-5 * time.Minute, "-PT5M"},
		{math.MinInt64, "-P106751DT23H47M16.854775808S"},
		{math.MaxInt64, "P106751DT23H47M16.854775807S"},
	} {
		if got := sensors.Interval(tc.d).String(); got != tc.want {
			t.Errorf("Interval(%v).String() = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestLocationJSON(t *testing.T) {
	var l sensors.Location
	if err := json.Unmarshal([]byte(`{"coordinates":[117.0837,40.6001],"type":"Point"}`), &l); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if l != (sensors.Location{Lon: 117.0837, Lat: 40.6001}) || l.Point()[0] != 117.0837 || l.Point()[1] != 40.6001 {
		t.Errorf("location = %+v, point %v", l, l.Point())
	}
	for _, in := range []string{`{"type":"Point"}`, `{"coordinates":[1,2]}`, `{"type":"point","coordinates":[1,2]}`,
		`{"type":"Point","coordinates":[1]}`, `{"type":"Point","coordinates":["1","2"]}`, `{"type":"Point","coordinates":[1,2],"type":"Point"}`,
		`null`, `"116.9,40.5"`} {
		if err := json.Unmarshal([]byte(in), &l); err == nil || !errors.Is(err, sensors.ErrInvalid) {
			t.Errorf("Unmarshal %s: %v, want ErrInvalid", in, err)
		}
	}
	if _, err := json.Marshal(sensors.Location{Lon: 1, Lat: 2}); err != nil {
		t.Errorf("Marshal: %v", err)
	}
}

// FuzzLoadStations: no input panics, and what is accepted is valid and
// survives a round trip through JSON.
func FuzzLoadStations(f *testing.F) {
	if b, err := os.ReadFile(stationsFile); err == nil {
		f.Add(b)
	}
	f.Add([]byte(file(goodStation)))
	f.Add([]byte(file(with("interval", `300`), with("id", `"s2"`))))
	f.Add([]byte(`{"stations":[{"id":"a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sts, err := sensors.LoadStations(data)
		if err != nil {
			if !errors.Is(err, sensors.ErrInvalid) || err.Error() == "" {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		ids := map[string]bool{}
		for _, st := range sts {
			if err := sensors.ValidateStation(st); err != nil {
				t.Fatalf("accepted an invalid station: %v", err)
			}
			if ids[st.ID] {
				t.Fatalf("accepted a duplicate id %q", st.ID)
			}
			ids[st.ID] = true
			b, err := json.Marshal(st)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			back, err := sensors.DecodeStation(b)
			if err != nil || !reflect.DeepEqual(back, st) {
				t.Fatalf("round trip: %+v, %v; want %+v", back, err, st)
			}
		}
	})
}
