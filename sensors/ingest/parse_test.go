package ingest_test

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
)

// The stations of the unit tests: a reservoir point and a river section,
// both with target class II.
var (
	resStation = sensors.Station{ID: "res", Name: "库区", WaterBody: sensors.Reservoir, TargetClass: sensors.ClassII,
		Params: []sensors.Param{"ph", "do_mg_l", "tp_mg_l", "tn_mg_l", "temp_c"}, Interval: sensors.Interval(5 * time.Minute)}
	rivStation = sensors.Station{ID: "riv", Name: "河", WaterBody: sensors.River, TargetClass: sensors.ClassII,
		Params: []sensors.Param{"ph", "tp_mg_l"}, Interval: sensors.Interval(5 * time.Minute)}
	testStations = map[string]sensors.Station{"res": resStation, "riv": rivStation}
	// receivedAt is the receiving clock of the unit tests.
	receivedAt = time.Date(2024, 5, 1, 0, 30, 0, 0, time.UTC)
)

const resTopic = "baoshui/v1/stations/res/readings"

// sampleSummary renders a reading compactly: time, sorted values, the
// assessment class and the exceedance flag.
func sampleSummary(r ingest.Reading) string {
	var vals []string
	for p, v := range r.Sample.Values {
		vals = append(vals, string(p)+"="+strconv.FormatFloat(v, 'g', -1, 64))
	}
	slices.Sort(vals)
	s := r.Station + " " + r.Sample.Time.UTC().Format("2006-01-02T15:04:05.000Z") + " " + strings.Join(vals, ",") +
		" assessment=" + r.Result.Assessment.String()
	if r.Result.Exceeds {
		s += " exceeds"
	}
	return s
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		topic   string // resTopic when empty
		payload string
		want    []string      // sampleSummary of each reading
		reason  ingest.Reason // when refused
		detail  string        // a part of the refusal's detail
	}{
		// JSON objects.
		{name: "JSON object", payload: `{"ts":"2024-05-01T08:00:00+08:00","ph":7.9,"do_mg_l":8.1,"tp_mg_l":0.021,"temp_c":18.5}`,
			want: []string{"res 2024-05-01T00:00:00.000Z do_mg_l=8.1,ph=7.9,temp_c=18.5,tp_mg_l=0.021 assessment=II"}},
		{name: "JSON object exceeding the target", payload: `{"ts":"2024-05-01T00:00:00Z","tp_mg_l":0.05}`,
			want: []string{"res 2024-05-01T00:00:00.000Z tp_mg_l=0.05 assessment=III exceeds"}},
		{name: "river station: TN stored, not classified", topic: "baoshui/v1/stations/riv/readings",
			payload: `{"ts":"2024-05-01T00:00:00Z","tp_mg_l":0.1,"tn_mg_l":3}`,
			want:    []string{"riv 2024-05-01T00:00:00.000Z tn_mg_l=3,tp_mg_l=0.1 assessment=II"}},
		{name: "sub-millisecond time truncated", payload: `{"ts":"2024-05-01T00:00:00.123999Z","ph":7}`,
			want: []string{"res 2024-05-01T00:00:00.123Z ph=7 assessment=I"}},
		{name: "water below zero degrees", payload: `{"ts":"2024-01-10T00:00:00Z","temp_c":-0.4,"ph":7.2}`,
			want: []string{"res 2024-01-10T00:00:00.000Z ph=7.2,temp_c=-0.4 assessment=I"}},
		{name: "five minutes ahead of the clock", payload: `{"ts":"2024-05-01T00:35:00Z","ph":7}`,
			want: []string{"res 2024-05-01T00:35:00.000Z ph=7 assessment=I"}},
		{name: "whitespace around the object", payload: " \n{\"ts\":\"2024-05-01T00:00:00Z\",\"ph\":7}\n",
			want: []string{"res 2024-05-01T00:00:00.000Z ph=7 assessment=I"}},

		{name: "not JSON", payload: `hello`, reason: ingest.ReasonMalformed, detail: "not valid JSON"},
		{name: "empty payload", payload: ``, reason: ingest.ReasonMalformed, detail: "unexpected end"},
		{name: "a JSON string", payload: `"ph=7"`, reason: ingest.ReasonMalformed, detail: "got a string"},
		{name: "truncated object", payload: `{"ts":"2024-05-01T00:00:00Z","ph":7`, reason: ingest.ReasonMalformed},
		{name: "value as a string", payload: `{"ts":"2024-05-01T00:00:00Z","ph":"7.1"}`,
			reason: ingest.ReasonMalformed, detail: "ph: must be a number, got a string"},
		{name: "null value", payload: `{"ts":"2024-05-01T00:00:00Z","ph":null}`,
			reason: ingest.ReasonMalformed, detail: "ph: must be a number, got null"},
		{name: "nested value", payload: `{"ts":"2024-05-01T00:00:00Z","ph":{"v":7}}`,
			reason: ingest.ReasonMalformed, detail: "got an object"},
		{name: "NaN literal", payload: `{"ts":"2024-05-01T00:00:00Z","tp_mg_l":NaN}`, reason: ingest.ReasonMalformed},
		{name: "number out of range", payload: `{"ts":"2024-05-01T00:00:00Z","tp_mg_l":1e400}`,
			reason: ingest.ReasonMalformed, detail: "out of range"},
		{name: "duplicate member", payload: `{"ts":"2024-05-01T00:00:00Z","ph":7,"ph":8}`,
			reason: ingest.ReasonMalformed, detail: `"ph" given twice`},
		{name: "trailing data", payload: `{"ts":"2024-05-01T00:00:00Z","ph":7} {}`,
			reason: ingest.ReasonMalformed, detail: "after the JSON value"},
		{name: "ts without offset", payload: `{"ts":"2024-05-01T08:00:00","ph":7}`,
			reason: ingest.ReasonMalformed, detail: "RFC 3339"},
		{name: "ts with a space", payload: `{"ts":"2024-05-01 08:00:00+08:00","ph":7}`,
			reason: ingest.ReasonMalformed, detail: "RFC 3339"},
		{name: "ts as a number", payload: `{"ts":1714521600,"ph":7}`,
			reason: ingest.ReasonMalformed, detail: "ts: must be a string"},
		{name: "no ts", payload: `{"ph":7}`, reason: ingest.ReasonInvalidSample, detail: "ts: required"},
		{name: "no values", payload: `{"ts":"2024-05-01T00:00:00Z"}`, reason: ingest.ReasonInvalidSample, detail: "values: required"},
		{name: "unknown field", payload: `{"ts":"2024-05-01T00:00:00Z","ph":7,"foo_mg_l":1}`,
			reason: ingest.ReasonInvalidSample, detail: "foo_mg_l: unknown parameter"},
		{name: "negative concentration", payload: `{"ts":"2024-05-01T00:00:00Z","nh3n_mg_l":-0.2}`,
			reason: ingest.ReasonInvalidSample, detail: "nh3n_mg_l: must not be negative"},
		{name: "pH beyond 14", payload: `{"ts":"2024-05-01T00:00:00Z","ph":15}`,
			reason: ingest.ReasonInvalidSample, detail: "ph: must be within 0 to 14"},
		{name: "an hour in the future", payload: `{"ts":"2024-05-01T01:30:00Z","ph":7}`,
			reason: ingest.ReasonTime, detail: "1h0m0s ahead"},
		{name: "clock not set", payload: `{"ts":"1970-01-01T00:00:00Z","ph":7}`,
			reason: ingest.ReasonTime, detail: "clock is not set"},

		// Topics.
		{name: "unknown station", topic: "baoshui/v1/stations/nowhere/readings", payload: `{"ts":"2024-05-01T00:00:00Z","ph":7}`,
			reason: ingest.ReasonUnknownStation, detail: `"nowhere"`},
		{name: "topic with an extra level", topic: "baoshui/v1/stations/res/x/readings", payload: `{}`, reason: ingest.ReasonTopic},
		{name: "topic of another kind", topic: "baoshui/v1/alerts/res", payload: `{}`, reason: ingest.ReasonTopic},
		{name: "topic with a bad station id", topic: "baoshui/v1/stations/-res/readings", payload: `{}`, reason: ingest.ReasonTopic},
		{name: "payload too large", payload: `{"ts":"2024-05-01T00:00:00Z","ph":7` + strings.Repeat(" ", ingest.MaxPayload) + `}`,
			reason: ingest.ReasonTooLarge},

		// SenML packs.
		{name: "SenML with base name and base time",
			payload: `[{"bn":"urn:dev:station:res:","bt":1714521600,"n":"ph","v":7.9},{"n":"tp_mg_l","u":"mg/L","v":0.02},{"n":"temp_c","u":"Cel","v":18}]`,
			want:    []string{"res 2024-05-01T00:00:00.000Z ph=7.9,temp_c=18,tp_mg_l=0.02 assessment=II"}},
		{name: "SenML backlog of two times, out of order",
			payload: `[{"bn":"urn:dev:station:res:","bt":1714521600,"n":"ph","v":7.5,"t":300},{"n":"ph","v":7.4},{"n":"tp_mg_l","v":0.06,"t":300}]`,
			want: []string{"res 2024-05-01T00:00:00.000Z ph=7.4 assessment=I",
				"res 2024-05-01T00:05:00.000Z ph=7.5,tp_mg_l=0.06 assessment=IV exceeds"}},
		{name: "SenML without base name",
			payload: `[{"n":"ph","v":7,"t":1714521600.0004},{"n":"do_mg_l","v":9,"t":1714521600}]`,
			want:    []string{"res 2024-05-01T00:00:00.000Z do_mg_l=9,ph=7 assessment=I"}},
		{name: "SenML full names and a base value",
			payload: `[{"bv":7,"bt":1714521600},{"n":"urn:dev:station:res:ph","v":0.5}]`,
			want:    []string{"res 2024-05-01T00:00:00.000Z ph=7.5 assessment=I"}},
		{name: "SenML milliseconds rounded",
			payload: `[{"n":"ph","v":7,"t":1714521600.1235}]`,
			want:    []string{"res 2024-05-01T00:00:00.124Z ph=7 assessment=I"}},
		{name: "SenML version 10 and unknown labels ignored",
			payload: `[{"bver":10,"bn":"urn:dev:station:res:","bt":1714521600,"n":"ph","v":7,"ut":300,"note":"x"}]`,
			want:    []string{"res 2024-05-01T00:00:00.000Z ph=7 assessment=I"}},

		{name: "SenML base name of another station", payload: `[{"bn":"urn:dev:station:riv:","bt":1714521600,"n":"ph","v":7}]`,
			reason: ingest.ReasonStationMismatch, detail: `"riv"`},
		{name: "SenML records of two stations",
			payload: `[{"bt":1714521600,"n":"urn:dev:station:res:ph","v":7},{"n":"urn:dev:station:riv:ph","v":7}]`,
			reason:  ingest.ReasonStationMismatch},
		{name: "SenML relative time", payload: `[{"n":"ph","v":7,"t":-5}]`, reason: ingest.ReasonTime, detail: "relative"},
		{name: "SenML small positive time", payload: `[{"n":"ph","v":7,"t":1000}]`, reason: ingest.ReasonTime, detail: "relative"},
		{name: "SenML time beyond 9999", payload: `[{"n":"ph","v":7,"t":1e12}]`, reason: ingest.ReasonTime},
		{name: "SenML without time", payload: `[{"n":"ph","v":7}]`, reason: ingest.ReasonInvalidSample, detail: "ts: required"},
		{name: "SenML in the future", payload: `[{"n":"ph","v":7,"t":1714600000}]`, reason: ingest.ReasonTime, detail: "ahead"},
		{name: "SenML string value", payload: `[{"n":"ph","vs":"7","t":1714521600}]`, reason: ingest.ReasonMalformed, detail: "numeric"},
		{name: "SenML boolean value", payload: `[{"n":"ph","vb":true,"t":1714521600}]`, reason: ingest.ReasonMalformed, detail: "numeric"},
		{name: "SenML sum", payload: `[{"n":"ph","s":7,"t":1714521600}]`, reason: ingest.ReasonMalformed, detail: "sums"},
		{name: "SenML must-understand label", payload: `[{"n":"ph","v":7,"t":1714521600,"foo_":1}]`,
			reason: ingest.ReasonMalformed, detail: "must-understand"},
		{name: "SenML wrong unit", payload: `[{"n":"temp_c","u":"mg/L","v":7,"t":1714521600}]`,
			reason: ingest.ReasonInvalidSample, detail: `unit "mg/L"`},
		{name: "SenML wrong base unit", payload: `[{"bu":"ug/L","n":"tp_mg_l","v":7,"t":1714521600}]`,
			reason: ingest.ReasonInvalidSample, detail: `unit "ug/L"`},
		{name: "SenML record not an object", payload: `[1]`, reason: ingest.ReasonMalformed, detail: "record 0: must be a JSON object"},
		{name: "SenML empty pack", payload: `[]`, reason: ingest.ReasonMalformed, detail: "without a measured value"},
		{name: "SenML base fields only", payload: `[{"bn":"urn:dev:station:res:","bt":1714521600}]`,
			reason: ingest.ReasonMalformed, detail: "without a measured value"},
		{name: "SenML name without value", payload: `[{"n":"ph","t":1714521600}]`, reason: ingest.ReasonMalformed, detail: "no numeric value"},
		{name: "SenML value without name", payload: `[{"v":7,"t":1714521600}]`, reason: ingest.ReasonMalformed, detail: "no name"},
		{name: "SenML value as a string", payload: `[{"n":"ph","v":"7","t":1714521600}]`, reason: ingest.ReasonMalformed, detail: "v: must be a number"},
		{name: "SenML repeated parameter", payload: `[{"bt":1714521600,"n":"ph","v":7},{"n":"ph","v":7.1}]`,
			reason: ingest.ReasonMalformed, detail: "given twice"},
		{name: "SenML repeated label", payload: `[{"n":"ph","v":7,"v":8,"t":1714521600}]`,
			reason: ingest.ReasonMalformed, detail: `label "v" given twice`},
		{name: "SenML version 11", payload: `[{"bver":11,"n":"ph","v":7,"t":1714521600}]`,
			reason: ingest.ReasonMalformed, detail: "version"},
		{name: "SenML station URN without field", payload: `[{"n":"urn:dev:station:res","v":7,"t":1714521600}]`,
			reason: ingest.ReasonMalformed, detail: "want urn:dev:station:"},
		{name: "SenML unknown field", payload: `[{"n":"colour","v":7,"t":1714521600}]`,
			reason: ingest.ReasonInvalidSample, detail: "colour: unknown parameter"},
		{name: "SenML negative value", payload: `[{"n":"tp_mg_l","v":-1,"t":1714521600}]`,
			reason: ingest.ReasonInvalidSample, detail: "must not be negative"},
		{name: "SenML one bad sample of two", payload: `[{"bt":1714521600,"n":"ph","v":7},{"n":"ph","v":-1,"t":60}]`,
			reason: ingest.ReasonInvalidSample},
	}
	p := ingest.Parser{Stations: testStations}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			topic := tc.topic
			if topic == "" {
				topic = resTopic
			}
			rs, err := p.Parse(topic, []byte(tc.payload), receivedAt)
			if tc.reason != "" {
				var rej *ingest.RejectError
				if !errors.As(err, &rej) {
					t.Fatalf("Parse = %d readings, error %v; want a %s refusal", len(rs), err, tc.reason)
				}
				if rej.Reason != tc.reason || !strings.Contains(rej.Detail, tc.detail) {
					t.Errorf("refused %s: %s\nwant %s, detail containing %q", rej.Reason, rej.Detail, tc.reason, tc.detail)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, sampleSummary(r))
				if !r.ReceivedAt.Equal(receivedAt) || r.Result.Station != r.Station || r.Result.Err() != nil {
					t.Errorf("reading %+v", r)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("readings:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParseMaxFuture(t *testing.T) {
	payload := []byte(`{"ts":"2024-05-01T01:30:00Z","ph":7}`) // an hour ahead
	p := ingest.Parser{Stations: testStations, MaxFuture: 2 * time.Hour}
	if _, err := p.Parse(resTopic, payload, receivedAt); err != nil {
		t.Errorf("MaxFuture 2h: %v", err)
	}
	p.MaxFuture = 59 * time.Minute
	if _, err := p.Parse(resTopic, payload, receivedAt); err == nil {
		t.Errorf("MaxFuture 59m: accepted")
	}
}

func TestReadingID(t *testing.T) {
	tests := []struct {
		name    string
		station string
		ts      time.Time
		want    string
	}{
		{"UTC", "res-dam", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), "res-dam:2024-05-01T00:00:00.000Z"},
		{"offset converted to UTC", "res-dam", time.Date(2024, 5, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600)),
			"res-dam:2024-05-01T00:00:00.000Z"},
		{"milliseconds", "inflow-chao", time.Date(2024, 5, 1, 0, 0, 0, 7e6, time.UTC), "inflow-chao:2024-05-01T00:00:00.007Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ingest.ReadingID(tc.station, tc.ts); got != tc.want {
				t.Errorf("ReadingID = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStationFromTopic(t *testing.T) {
	tests := []struct {
		topic string
		want  string
		ok    bool
	}{
		{"baoshui/v1/stations/res-dam/readings", "res-dam", true},
		{"baoshui/v1/stations/+/readings", "", false},
		{"baoshui/v1/stations//readings", "", false},
		{"baoshui/v1/stations/a/b/readings", "", false},
		{"baoshui/v2/stations/a/readings", "", false},
		{"baoshui/v1/stations/a/readings/", "", false},
	}
	for _, tc := range tests {
		got, ok := ingest.StationFromTopic(tc.topic)
		if got != tc.want || ok != tc.ok {
			t.Errorf("StationFromTopic(%q) = %q, %v; want %q, %v", tc.topic, got, ok, tc.want, tc.ok)
		}
	}
	if got := ingest.ReadingsTopic("res-dam"); got != "baoshui/v1/stations/res-dam/readings" {
		t.Errorf("ReadingsTopic = %q", got)
	}
}

// encodeObject writes s as a JSON object payload.
func encodeObject(s sensors.Sample) []byte {
	b := []byte(`{"ts":"` + s.Time.UTC().Format(time.RFC3339Nano) + `"`)
	for p, v := range s.Values {
		b = append(b, `,"`+string(p)+`":`...)
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '}')
}

// FuzzParse checks that no payload makes Parse panic or return something
// inconsistent: a refusal is a *RejectError with a known reason and a
// detail; an accepted reading is valid, of the topic's station, its time
// kept to the millisecond, and written back as a JSON object it parses to
// the same sample.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"ts":"2024-05-01T08:00:00+08:00","ph":7.9,"do_mg_l":8.1,"tp_mg_l":0.021,"temp_c":18.5}`,
		`{"ts":"2024-05-01T00:00:00.123999Z","ph":7}`,
		`{"ts":"2024-05-01T00:00:00Z","ph":7,"ph":8}`,
		`{"ph":"7"}`, `hello`, ``, `[]`, `[1]`, `null`, `{"ts":1}`,
		`[{"bn":"urn:dev:station:res:","bt":1714521600,"n":"ph","v":7.5,"t":300},{"n":"ph","v":7.4},{"n":"tp_mg_l","v":0.06,"t":300}]`,
		`[{"bv":7,"bt":1714521600},{"n":"urn:dev:station:res:ph","v":0.5}]`,
		`[{"n":"temp_c","u":"Cel","v":-1,"t":1714521600.0005,"foo_":1}]`,
		`[{"bver":10,"n":"ph","v":7,"t":-5}]`,
	} {
		f.Add(s)
	}
	p := ingest.Parser{Stations: testStations}
	known := map[ingest.Reason]bool{}
	for _, r := range ingest.Reasons {
		known[r] = true
	}
	f.Fuzz(func(t *testing.T, payload string) {
		rs, err := p.Parse(resTopic, []byte(payload), receivedAt)
		if err != nil {
			var rej *ingest.RejectError
			if !errors.As(err, &rej) || !known[rej.Reason] || rej.Detail == "" || rs != nil {
				t.Fatalf("Parse(%q): %d readings, error %#v", payload, len(rs), err)
			}
			return
		}
		if len(rs) == 0 {
			t.Fatalf("Parse(%q): no reading and no error", payload)
		}
		for _, r := range rs {
			if r.Station != "res" || sensors.ValidateSample(r.Sample) != nil || r.Result.Err() != nil {
				t.Fatalf("Parse(%q): invalid reading %+v", payload, r)
			}
			if r.Sample.Time.Nanosecond()%int(time.Millisecond) != 0 || r.Sample.Time.Location() != time.UTC {
				t.Fatalf("Parse(%q): time %v not UTC milliseconds", payload, r.Sample.Time)
			}
			for _, v := range r.Sample.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("Parse(%q): value %v", payload, v)
				}
			}
			again, err := p.Parse(resTopic, encodeObject(r.Sample), receivedAt)
			if err != nil || len(again) != 1 || !again[0].Sample.Time.Equal(r.Sample.Time) ||
				len(again[0].Sample.Values) != len(r.Sample.Values) {
				t.Fatalf("Parse(%q): %+v does not round-trip: %v, %+v", payload, r.Sample, err, again)
			}
			for k, v := range r.Sample.Values {
				if w := again[0].Sample.Values[k]; w != v && !(v == 0 && w == 0) {
					t.Fatalf("Parse(%q): %s = %v, round trip %v", payload, k, v, w)
				}
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	payloads := []struct{ name, payload string }{
		{"JSON object", `{"ts":"2024-05-01T08:00:00+08:00","ph":7.9,"do_mg_l":8.1,"codmn_mg_l":2.1,"nh3n_mg_l":0.12,` +
			`"tp_mg_l":0.021,"tn_mg_l":1.1,"temp_c":18.5,"conductivity_us_cm":310,"turbidity_ntu":3.2,"chla_ug_l":4.1}`},
		{"SenML pack", `[{"bn":"urn:dev:station:res:","bt":1714521600,"n":"ph","v":7.9},{"n":"do_mg_l","u":"mg/L","v":8.1},` +
			`{"n":"codmn_mg_l","v":2.1},{"n":"nh3n_mg_l","v":0.12},{"n":"tp_mg_l","v":0.021},{"n":"tn_mg_l","v":1.1},` +
			`{"n":"temp_c","u":"Cel","v":18.5},{"n":"conductivity_us_cm","v":310},{"n":"turbidity_ntu","v":3.2},{"n":"chla_ug_l","v":4.1}]`},
	}
	p := ingest.Parser{Stations: testStations}
	for _, pl := range payloads {
		b.Run(pl.name, func(b *testing.B) {
			payload := []byte(pl.payload)
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := p.Parse(resTopic, payload, receivedAt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
