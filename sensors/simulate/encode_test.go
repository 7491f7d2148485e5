package simulate_test

import (
	"errors"
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/sensors/simulate"
)

func TestEncodeExact(t *testing.T) {
	s := sensors.Sample{
		Time: time.Date(2024, 5, 1, 0, 0, 0, 123_456_789, time.UTC),
		Values: map[sensors.Param]float64{
			sensors.ParamTP: 0.021, sensors.ParamPH: 7.9, sensors.ParamTemp: 18.5,
			sensors.ParamConductivity: 301, sensors.ParamChlA: 4.2,
		},
	}
	for _, c := range []struct {
		name, format, want string
	}{
		{"json", simulate.FormatJSON,
			`{"ts":"2024-05-01T08:00:00.123+08:00","ph":7.9,"tp_mg_l":0.021,"temp_c":18.5,"conductivity_us_cm":301,"chla_ug_l":4.2}`},
		{"empty format is json", "",
			`{"ts":"2024-05-01T08:00:00.123+08:00","ph":7.9,"tp_mg_l":0.021,"temp_c":18.5,"conductivity_us_cm":301,"chla_ug_l":4.2}`},
		{"senml", simulate.FormatSenML,
			`[{"bn":"urn:dev:station:res-dam:","bt":1714521600.123,"n":"ph","v":7.9},` +
				`{"n":"tp_mg_l","u":"mg/L","v":0.021},{"n":"temp_c","u":"Cel","v":18.5},` +
				`{"n":"conductivity_us_cm","u":"uS/cm","v":301},{"n":"chla_ug_l","u":"ug/L","v":4.2}]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := simulate.Encode(c.format, "res-dam", s)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestEncodeParses(t *testing.T) {
	sts := loadStations(t)
	parser := &ingest.Parser{Stations: byID(sts)}
	tm := time.Date(2025, 8, 14, 15, 5, 0, 0, shanghai)
	for _, format := range []string{simulate.FormatJSON, simulate.FormatSenML} {
		for _, st := range sts {
			t.Run(format+"/"+st.ID, func(t *testing.T) {
				s := simulate.NewGenerator(st, 1).Sample(tm)
				payload, err := simulate.Encode(format, st.ID, s)
				if err != nil {
					t.Fatal(err)
				}
				p, err := ingest.DecodePayload(payload)
				if err != nil {
					t.Fatalf("DecodePayload: %v\n%s", err, payload)
				}
				wantStation := ""
				if format == simulate.FormatSenML {
					wantStation = st.ID
				}
				if p.Station != wantStation {
					t.Errorf("payload names station %q, want %q", p.Station, wantStation)
				}
				if len(p.Samples) != 1 || !p.Samples[0].Time.Equal(tm) || !maps.Equal(p.Samples[0].Values, s.Values) {
					t.Errorf("decoded %+v, want %+v", p.Samples, s)
				}
				rs, err := parser.Parse(ingest.ReadingsTopic(st.ID), payload, tm)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(rs) != 1 || rs[0].Station != st.ID || len(rs[0].Result.Missing) != 0 {
					t.Errorf("Parse: %+v; want one complete reading of %s", rs, st.ID)
				}
			})
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	good := sensors.Sample{Time: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), Values: map[sensors.Param]float64{sensors.ParamPH: 7.9}}
	with := func(p sensors.Param, v float64) sensors.Sample {
		return sensors.Sample{Time: good.Time, Values: map[sensors.Param]float64{p: v}}
	}
	for _, c := range []struct {
		name      string
		format    string
		station   string
		sample    sensors.Sample
		errIs     error
		errSubstr string
	}{
		{"unknown format", "xml", "res-dam", good, simulate.ErrFormat, "xml"},
		{"format in capitals", "JSON", "res-dam", good, simulate.ErrFormat, "JSON"},
		{"station id with a slash", "json", "res/dam", good, nil, "station id"},
		{"empty station id", "senml", "", good, nil, "station id"},
		{"no time", "json", "res-dam", sensors.Sample{Values: good.Values}, sensors.ErrInvalid, "ts"},
		{"no values", "json", "res-dam", sensors.Sample{Time: good.Time}, sensors.ErrInvalid, "values"},
		{"NaN", "json", "res-dam", with(sensors.ParamTP, math.NaN()), sensors.ErrInvalid, "tp_mg_l"},
		{"infinite", "senml", "res-dam", with(sensors.ParamDO, math.Inf(1)), sensors.ErrInvalid, "do_mg_l"},
		{"negative concentration", "json", "res-dam", with(sensors.ParamNH3N, -0.1), sensors.ErrInvalid, "nh3n_mg_l"},
		{"pH above 14", "senml", "res-dam", with(sensors.ParamPH, 14.5), sensors.ErrInvalid, "ph"},
		{"unknown parameter", "json", "res-dam", with("lead_mg_l", 0.01), sensors.ErrInvalid, "lead_mg_l"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := simulate.Encode(c.format, c.station, c.sample)
			if err == nil {
				t.Fatalf("no error; payload %s", got)
			}
			if c.errIs != nil && !errors.Is(err, c.errIs) {
				t.Errorf("error %v does not wrap %v", err, c.errIs)
			}
			if !strings.Contains(err.Error(), c.errSubstr) {
				t.Errorf("error %q does not mention %q", err, c.errSubstr)
			}
		})
	}
}
