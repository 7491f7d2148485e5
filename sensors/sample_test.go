package sensors_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
)

var sampleTime = time.Date(2020, 7, 4, 7, 20, 0, 0, time.UTC)

// reservoirStation and riverStation are stations as the shipped file has
// them: the reservoir body and an inflow section, both with target Class II.
var (
	reservoirStation = sensors.Station{
		ID: "res-dam", Name: "密云水库坝前", WaterBody: res, TargetClass: cII,
		Location: sensors.Location{Lon: 116.8565, Lat: 40.4913},
		Params: []sensors.Param{"ph", "do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tp_mg_l", "tn_mg_l",
			"temp_c", "conductivity_us_cm", "turbidity_ntu", "chla_ug_l"},
		Interval: sensors.Interval(5 * time.Minute),
	}
	riverStation = sensors.Station{
		ID: "inflow-chao", Name: "潮河入库口", WaterBody: river, TargetClass: cII,
		Location: sensors.Location{Lon: 117.0801, Lat: 40.5978},
		Params: []sensors.Param{"ph", "do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tp_mg_l", "tn_mg_l",
			"temp_c", "conductivity_us_cm", "turbidity_ntu"},
		Interval: sensors.Interval(5 * time.Minute),
	}
)

func sample(values map[sensors.Param]float64) sensors.Sample {
	return sensors.Sample{Time: sampleTime, Values: values}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// paramClasses returns "param=class" for each classified parameter and
// "param:status" for the others, in result order.
func paramClasses(r sensors.Result) []string {
	var out []string
	for _, p := range r.Params {
		if p.Status == sensors.StatusClassified {
			out = append(out, string(p.Param)+"="+p.Class.String())
		} else {
			out = append(out, string(p.Param)+":"+string(p.Status))
		}
	}
	return out
}

// exceedanceSummary is the part of an Exceedance a test pins exactly;
// Multiple is compared separately, to within rounding.
type exceedanceSummary struct {
	Param    sensors.Param
	Value    float64
	Class    sensors.Class
	Limit    float64
	Multiple float64
	Assessed bool
}

func TestClassifySample(t *testing.T) {
	tests := []struct {
		name          string
		station       sensors.Station
		values        map[sensors.Param]float64
		params        []string
		assessment    sensors.Class
		full          sensors.Class
		worst         []sensors.Param
		worstAssessed []sensors.Param
		exceeds       bool
		exceedances   []exceedanceSummary
		missing       []sensors.Param
	}{
		{
			name:    "reservoir: TN worse than V, assessment II",
			station: reservoirStation,
			values: map[sensors.Param]float64{"ph": 7.9, "do_mg_l": 8.4, "codmn_mg_l": 2.6, "nh3n_mg_l": 0.12,
				"tp_mg_l": 0.02, "tn_mg_l": 2.3, "temp_c": 22.5, "conductivity_us_cm": 356,
				"turbidity_ntu": 2.1, "chla_ug_l": 4.2},
			params: []string{"ph=I", "do_mg_l=I", "codmn_mg_l=II", "nh3n_mg_l=I", "tp_mg_l=II", "tn_mg_l=劣V",
				"temp_c:no_limits", "conductivity_us_cm:no_limits", "turbidity_ntu:no_limits", "chla_ug_l:no_limits"},
			assessment:    cII,
			full:          cWorse,
			worst:         []sensors.Param{"tn_mg_l"},
			worstAssessed: []sensors.Param{"codmn_mg_l", "tp_mg_l"},
			exceeds:       false,
			exceedances:   []exceedanceSummary{{"tn_mg_l", 2.3, cWorse, 0.5, 3.6, false}},
		},
		{
			name:    "river: TN stored, not evaluated; TP on the river column",
			station: riverStation,
			values: map[sensors.Param]float64{"ph": 8.1, "do_mg_l": 9, "codmn_mg_l": 3.1, "nh3n_mg_l": 0.2,
				"tp_mg_l": 0.1, "tn_mg_l": 3.5, "temp_c": 19, "conductivity_us_cm": 420, "turbidity_ntu": 35},
			params: []string{"ph=I", "do_mg_l=I", "codmn_mg_l=II", "nh3n_mg_l=II", "tp_mg_l=II", "tn_mg_l:not_evaluated",
				"temp_c:no_limits", "conductivity_us_cm:no_limits", "turbidity_ntu:no_limits"},
			assessment:    cII,
			full:          cII,
			worst:         []sensors.Param{"codmn_mg_l", "nh3n_mg_l", "tp_mg_l"},
			worstAssessed: []sensors.Param{"codmn_mg_l", "nh3n_mg_l", "tp_mg_l"},
		},
		{
			name:          "same TP 0.1: Class IV and an exceedance in the reservoir",
			station:       reservoirStation,
			values:        map[sensors.Param]float64{"tp_mg_l": 0.1},
			params:        []string{"tp_mg_l=IV"},
			assessment:    cIV,
			full:          cIV,
			worst:         []sensors.Param{"tp_mg_l"},
			worstAssessed: []sensors.Param{"tp_mg_l"},
			exceeds:       true,
			exceedances:   []exceedanceSummary{{"tp_mg_l", 0.1, cIV, 0.025, 3, true}},
			missing:       []sensors.Param{"ph", "do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tn_mg_l", "temp_c", "conductivity_us_cm", "turbidity_ntu", "chla_ug_l"},
		},
		{
			name:    "river exceedances: TP 0.15 and low DO",
			station: riverStation,
			values: map[sensors.Param]float64{"ph": 7.2, "do_mg_l": 3, "codmn_mg_l": 3.9, "nh3n_mg_l": 0.5,
				"tp_mg_l": 0.15, "tn_mg_l": 1, "temp_c": 26, "conductivity_us_cm": 400, "turbidity_ntu": 80},
			params: []string{"ph=I", "do_mg_l=IV", "codmn_mg_l=II", "nh3n_mg_l=II", "tp_mg_l=III", "tn_mg_l:not_evaluated",
				"temp_c:no_limits", "conductivity_us_cm:no_limits", "turbidity_ntu:no_limits"},
			assessment:    cIV,
			full:          cIV,
			worst:         []sensors.Param{"do_mg_l"},
			worstAssessed: []sensors.Param{"do_mg_l"},
			exceeds:       true,
			exceedances: []exceedanceSummary{
				{"do_mg_l", 3, cIV, 6, 0.5, true},
				{"tp_mg_l", 0.15, cIII, 0.1, 0.5, true},
			},
		},
		{
			name:          "no oxygen at all: multiple 1",
			station:       reservoirStation,
			values:        map[sensors.Param]float64{"do_mg_l": 0, "ph": 7, "codmn_mg_l": 2, "nh3n_mg_l": 0.1, "tp_mg_l": 0.01, "tn_mg_l": 0.2, "temp_c": 4, "conductivity_us_cm": 300, "turbidity_ntu": 1, "chla_ug_l": 1},
			params:        []string{"ph=I", "do_mg_l=劣V", "codmn_mg_l=I", "nh3n_mg_l=I", "tp_mg_l=I", "tn_mg_l=I", "temp_c:no_limits", "conductivity_us_cm:no_limits", "turbidity_ntu:no_limits", "chla_ug_l:no_limits"},
			assessment:    cWorse,
			full:          cWorse,
			worst:         []sensors.Param{"do_mg_l"},
			worstAssessed: []sensors.Param{"do_mg_l"},
			exceeds:       true,
			exceedances:   []exceedanceSummary{{"do_mg_l", 0, cWorse, 6, 1, true}},
		},
		{
			name:          "pH above the window",
			station:       reservoirStation,
			values:        map[sensors.Param]float64{"ph": 9.5, "tp_mg_l": 0.02},
			params:        []string{"ph=劣V", "tp_mg_l=II"},
			assessment:    cWorse,
			full:          cWorse,
			worst:         []sensors.Param{"ph"},
			worstAssessed: []sensors.Param{"ph"},
			exceeds:       true,
			exceedances:   []exceedanceSummary{{"ph", 9.5, cWorse, 9, 0, true}},
			missing:       []sensors.Param{"do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tn_mg_l", "temp_c", "conductivity_us_cm", "turbidity_ntu", "chla_ug_l"},
		},
		{
			name:          "pH below the window",
			station:       riverStation,
			values:        map[sensors.Param]float64{"ph": 5.5},
			params:        []string{"ph=劣V"},
			assessment:    cWorse,
			full:          cWorse,
			worst:         []sensors.Param{"ph"},
			worstAssessed: []sensors.Param{"ph"},
			exceeds:       true,
			exceedances:   []exceedanceSummary{{"ph", 5.5, cWorse, 6, 0, true}},
			missing:       []sensors.Param{"do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tp_mg_l", "tn_mg_l", "temp_c", "conductivity_us_cm", "turbidity_ntu"},
		},
		{
			name:          "exactly at every Class II limit: no exceedance",
			station:       reservoirStation,
			values:        map[sensors.Param]float64{"ph": 6, "do_mg_l": 6, "codmn_mg_l": 4, "cod_mg_l": 15, "bod5_mg_l": 3, "nh3n_mg_l": 0.5, "tp_mg_l": 0.025, "tn_mg_l": 0.5, "fecal_coliform_per_l": 2000},
			params:        []string{"ph=I", "do_mg_l=II", "codmn_mg_l=II", "cod_mg_l=I", "bod5_mg_l=I", "nh3n_mg_l=II", "tp_mg_l=II", "tn_mg_l=II", "fecal_coliform_per_l=II"},
			assessment:    cII,
			full:          cII,
			worst:         []sensors.Param{"do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tp_mg_l", "tn_mg_l", "fecal_coliform_per_l"},
			worstAssessed: []sensors.Param{"do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tp_mg_l"},
			missing:       []sensors.Param{"temp_c", "conductivity_us_cm", "turbidity_ntu", "chla_ug_l"},
		},
		{
			name:    "fecal coliforms: full class only, listed but not an assessed exceedance",
			station: riverStation,
			values: map[sensors.Param]float64{"ph": 7.6, "do_mg_l": 7.6, "codmn_mg_l": 1.8, "nh3n_mg_l": 0.1,
				"tp_mg_l": 0.02, "fecal_coliform_per_l": 5000, "cod_mg_l": 12, "bod5_mg_l": 2},
			params:        []string{"ph=I", "do_mg_l=I", "codmn_mg_l=I", "cod_mg_l=I", "bod5_mg_l=I", "nh3n_mg_l=I", "tp_mg_l=I", "fecal_coliform_per_l=III"},
			assessment:    cI,
			full:          cIII,
			worst:         []sensors.Param{"fecal_coliform_per_l"},
			worstAssessed: []sensors.Param{"ph", "do_mg_l", "codmn_mg_l", "cod_mg_l", "bod5_mg_l", "nh3n_mg_l", "tp_mg_l"},
			exceedances:   []exceedanceSummary{{"fecal_coliform_per_l", 5000, cIII, 2000, 1.5, false}},
			missing:       []sensors.Param{"tn_mg_l", "temp_c", "conductivity_us_cm", "turbidity_ntu"},
		},
		{
			name:    "a tributary with target III: TP 0.25 exceeds, COD 20 does not",
			station: sensors.Station{ID: "trib-andamu", WaterBody: river, TargetClass: cIII},
			values:  map[sensors.Param]float64{"tp_mg_l": 0.25, "cod_mg_l": 20, "bod5_mg_l": 10.5},
			params:  []string{"cod_mg_l=III", "bod5_mg_l=劣V", "tp_mg_l=IV"},
			// BOD5 10.5 against the Class III limit 4: 10.5/4 − 1 = 1.625.
			assessment:    cWorse,
			full:          cWorse,
			worst:         []sensors.Param{"bod5_mg_l"},
			worstAssessed: []sensors.Param{"bod5_mg_l"},
			exceeds:       true,
			exceedances: []exceedanceSummary{
				{"bod5_mg_l", 10.5, cWorse, 4, 1.625, true},
				{"tp_mg_l", 0.25, cIV, 0.2, 0.25, true},
			},
		},
		{
			name:       "extras only: nothing classified",
			station:    reservoirStation,
			values:     map[sensors.Param]float64{"temp_c": -0.3, "turbidity_ntu": 0, "conductivity_us_cm": 310, "chla_ug_l": 12},
			params:     []string{"temp_c:no_limits", "conductivity_us_cm:no_limits", "turbidity_ntu:no_limits", "chla_ug_l:no_limits"},
			assessment: sensors.ClassNone,
			full:       sensors.ClassNone,
			missing:    []sensors.Param{"ph", "do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tp_mg_l", "tn_mg_l"},
		},
		{
			name:          "TN only, reservoir: full class without an assessment class",
			station:       reservoirStation,
			values:        map[sensors.Param]float64{"tn_mg_l": 1.2},
			params:        []string{"tn_mg_l=IV"},
			assessment:    sensors.ClassNone,
			full:          cIV,
			worst:         []sensors.Param{"tn_mg_l"},
			exceedances:   []exceedanceSummary{{"tn_mg_l", 1.2, cIV, 0.5, 1.4, false}},
			missing:       []sensors.Param{"ph", "do_mg_l", "codmn_mg_l", "nh3n_mg_l", "tp_mg_l", "temp_c", "conductivity_us_cm", "turbidity_ntu", "chla_ug_l"},
			worstAssessed: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sensors.ClassifySample(tc.station, sample(tc.values))
			if err := r.Err(); err != nil || r.Invalid != nil {
				t.Fatalf("Err() = %v, Invalid = %v", err, r.Invalid)
			}
			if r.Station != tc.station.ID || !r.Time.Equal(sampleTime) || r.WaterBody != tc.station.WaterBody || r.Target != tc.station.TargetClass {
				t.Errorf("header = %q %v %q %v", r.Station, r.Time, r.WaterBody, r.Target)
			}
			if got := paramClasses(r); !slices.Equal(got, tc.params) {
				t.Errorf("params:\n got %v\nwant %v", got, tc.params)
			}
			if r.Assessment != tc.assessment || r.Full != tc.full {
				t.Errorf("assessment, full = %v, %v; want %v, %v", r.Assessment, r.Full, tc.assessment, tc.full)
			}
			if !slices.Equal(r.Worst, tc.worst) || !slices.Equal(r.WorstAssessed, tc.worstAssessed) {
				t.Errorf("worst = %v, worst assessed = %v; want %v, %v", r.Worst, r.WorstAssessed, tc.worst, tc.worstAssessed)
			}
			if r.Exceeds != tc.exceeds {
				t.Errorf("Exceeds = %v, want %v", r.Exceeds, tc.exceeds)
			}
			if len(r.Exceedances) != len(tc.exceedances) {
				t.Fatalf("exceedances = %+v\nwant %+v", r.Exceedances, tc.exceedances)
			}
			for i, want := range tc.exceedances {
				e := r.Exceedances[i]
				got := exceedanceSummary{e.Param, e.Value, e.Class, e.Limit, want.Multiple, e.Assessed}
				if got != want || !near(e.Multiple, want.Multiple) {
					t.Errorf("exceedance %d = %+v (multiple %v), want %+v", i, got, e.Multiple, want)
				}
				if e.Target != tc.station.TargetClass || e.Detail == "" {
					t.Errorf("exceedance %d: target %v, detail %q", i, e.Target, e.Detail)
				}
			}
			if !slices.Equal(r.Missing, tc.missing) {
				t.Errorf("missing = %v, want %v", r.Missing, tc.missing)
			}
		})
	}
}

// TestExceedanceDetail pins the wording of each direction.
func TestExceedanceDetail(t *testing.T) {
	tests := []struct {
		name   string
		st     sensors.Station
		values map[sensors.Param]float64
		want   string
	}{
		{"at most", reservoirStation, map[sensors.Param]float64{"tp_mg_l": 0.05},
			"tp_mg_l 0.05 mg/L is above the class II limit 0.025 mg/L: exceeds it by 1.00 times (超标倍数)"},
		{"at least", riverStation, map[sensors.Param]float64{"do_mg_l": 4.5},
			"do_mg_l 4.5 mg/L is below the class II minimum 6 mg/L: short of it by 0.25 of the limit"},
		{"range", riverStation, map[sensors.Param]float64{"ph": 9.2},
			"ph 9.2 is outside the 6–9 window of every class; no multiple is defined"},
		{"counts", riverStation, map[sensors.Param]float64{"fecal_coliform_per_l": 3000},
			"fecal_coliform_per_l 3000 per L is above the class II limit 2000 per L: exceeds it by 0.50 times (超标倍数)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sensors.ClassifySample(tc.st, sample(tc.values))
			if len(r.Exceedances) != 1 {
				t.Fatalf("exceedances = %+v", r.Exceedances)
			}
			if got := r.Exceedances[0].Detail; got != tc.want {
				t.Errorf("detail:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestClassifySampleNotes checks that the result says why a parameter is
// not classified.
func TestClassifySampleNotes(t *testing.T) {
	r := sensors.ClassifySample(riverStation, sample(map[sensors.Param]float64{"tn_mg_l": 4, "temp_c": 20}))
	want := []sensors.ParamResult{
		{Param: "tn_mg_l", Value: 4, Status: sensors.StatusNotEvaluated,
			Note: "GB 3838-2002 does not evaluate it for river stations; it is stored, not classified"},
		{Param: "temp_c", Value: 20, Status: sensors.StatusNoLimits,
			Note: "GB 3838-2002 sets it no class limits; it is stored, never classified"},
	}
	if !reflect.DeepEqual(r.Params, want) {
		t.Errorf("params =\n %+v\nwant\n %+v", r.Params, want)
	}
	if r.Full != sensors.ClassNone || r.Assessment != sensors.ClassNone || r.Exceeds || r.Exceedances != nil {
		t.Errorf("river TN was classified: %+v", r)
	}
	// The same TN in the reservoir is classified, in the full class only.
	r = sensors.ClassifySample(reservoirStation, sample(map[sensors.Param]float64{"tn_mg_l": 4}))
	if len(r.Params) != 1 || r.Params[0].Class != cWorse || r.Params[0].Assessed || r.Params[0].Note != "" {
		t.Errorf("reservoir TN = %+v", r.Params)
	}
}

// TestClassifySampleInvalid checks that an invalid sample names every fault
// and is not classified as a whole.
func TestClassifySampleInvalid(t *testing.T) {
	tests := []struct {
		name   string
		st     sensors.Station
		s      sensors.Sample
		fields []string
		want   string // Err().Error()
	}{
		{"NaN, negative, unknown and Inf", reservoirStation,
			sample(map[sensors.Param]float64{"ph": 7.1, "tp_mg_l": math.NaN(), "nh3n_mg_l": -0.2, "foo_mg_l": 1,
				"do_mg_l": math.Inf(1), "tn_mg_l": 5}),
			[]string{"do_mg_l", "foo_mg_l", "nh3n_mg_l", "tp_mg_l"},
			"sensors.ClassifySample: do_mg_l: must be finite, got +Inf; foo_mg_l: unknown parameter; " +
				"nh3n_mg_l: must not be negative, got -0.2; tp_mg_l: must be a number, got NaN"},
		{"pH out of 0 to 14", riverStation,
			sample(map[sensors.Param]float64{"ph": 15}),
			[]string{"ph"}, "sensors.ClassifySample: ph: must be within 0 to 14, got 15"},
		{"negative pH", riverStation,
			sample(map[sensors.Param]float64{"ph": -1}),
			[]string{"ph"}, "sensors.ClassifySample: ph: must be within 0 to 14, got -1"},
		{"no time, no values", riverStation, sensors.Sample{},
			[]string{"ts", "values"},
			"sensors.ClassifySample: ts: required: the instant of the measurement; values: required: at least one measured value"},
		{"station without water body or target", sensors.Station{ID: "x"},
			sample(map[sensors.Param]float64{"tp_mg_l": 0.3}),
			[]string{"station.water_body", "station.target_class"},
			`sensors.ClassifySample: station.water_body: must be reservoir or river, got ""; station.target_class: must be one of I, II, III, IV, V, got none`},
		{"station with target worse than V", sensors.Station{ID: "x", WaterBody: river, TargetClass: cWorse},
			sample(map[sensors.Param]float64{"tp_mg_l": 0.3}),
			[]string{"station.target_class"},
			`sensors.ClassifySample: station.target_class: must be one of I, II, III, IV, V, got 劣V`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sensors.ClassifySample(tc.st, tc.s)
			var fields []string
			for _, p := range r.Invalid {
				fields = append(fields, p.Field)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("invalid fields = %v, want %v", fields, tc.fields)
			}
			err := r.Err()
			if err == nil || !errors.Is(err, sensors.ErrInvalid) || err.Error() != tc.want {
				t.Errorf("Err():\n got %v\nwant %s", err, tc.want)
			}
			if r.Assessment != sensors.ClassNone || r.Full != sensors.ClassNone || r.Exceeds ||
				r.Exceedances != nil || r.Worst != nil || r.WorstAssessed != nil {
				t.Errorf("an invalid sample was classified: %+v", r)
			}
			for _, p := range r.Params {
				if slices.Contains(tc.fields, string(p.Param)) {
					t.Errorf("invalid value %s is in Params", p.Param)
				}
			}
		})
	}
	// The valid values of an invalid sample are still reported, classified.
	r := sensors.ClassifySample(reservoirStation, tests[0].s)
	if got := paramClasses(r); !slices.Equal(got, []string{"ph=I", "tn_mg_l=劣V"}) {
		t.Errorf("params of an invalid sample = %v", got)
	}
}

func TestValidateSample(t *testing.T) {
	if err := sensors.ValidateSample(sample(map[sensors.Param]float64{"ph": 7, "temp_c": -2, "turbidity_ntu": 0})); err != nil {
		t.Errorf("valid sample: %v", err)
	}
	err := sensors.ValidateSample(sample(map[sensors.Param]float64{"chla_ug_l": -1, "conductivity_us_cm": math.Inf(-1), "ts": 1}))
	var verr *sensors.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	want := "sensors.ValidateSample: chla_ug_l: must not be negative, got -1; conductivity_us_cm: must be finite, got -Inf; ts: unknown parameter"
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
}

// TestResultJSON checks that a result encodes (no NaN can reach it) with the
// class notation of the reports.
func TestResultJSON(t *testing.T) {
	r := sensors.ClassifySample(reservoirStation, sample(map[sensors.Param]float64{
		"ph": 7.9, "tp_mg_l": 0.02, "tn_mg_l": 2.3, "temp_c": 21, "do_mg_l": math.NaN()}))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	s := string(b)
	for _, want := range []string{`"station":"res-dam"`, `"target_class":"II"`, `"invalid":[{"field":"do_mg_l"`,
		`{"param":"tn_mg_l","value":2.3,"status":"classified","class":"劣V","assessed":false}`,
		`{"param":"temp_c","value":21,"status":"no_limits","assessed":false,"note":`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "assessment_class") || strings.Contains(s, "full_class") {
		t.Errorf("an invalid result carries a class: %s", s)
	}
	r = sensors.ClassifySample(reservoirStation, sample(map[sensors.Param]float64{"ph": 7.9, "tp_mg_l": 0.02, "tn_mg_l": 2.3}))
	b, _ = json.Marshal(r)
	for _, want := range []string{`"assessment_class":"II"`, `"full_class":"劣V"`, `"exceeds":false`,
		`"exceedances":[{"param":"tn_mg_l","value":2.3,"class":"劣V","target_class":"II","direction":"at_most","limit":0.5,`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
}
