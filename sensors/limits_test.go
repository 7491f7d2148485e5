package sensors_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/baoshui/baoshui/sensors"
)

// Shorter names for the tables.
const (
	cI     = sensors.ClassI
	cII    = sensors.ClassII
	cIII   = sensors.ClassIII
	cIV    = sensors.ClassIV
	cV     = sensors.ClassV
	cWorse = sensors.ClassWorseThanV
	res    = sensors.Reservoir
	river  = sensors.River
)

// edgeRow is one row of GB 3838-2002 for one water body, written out again
// here, independently of the package's table, with the class expected at
// each limit and just beyond it.
type edgeRow struct {
	param  sensors.Param
	body   sensors.WaterBody
	lower  bool       // true: the limits are lower bounds (dissolved oxygen)
	limits [5]float64 // Class I to Class V
	at     [5]sensors.Class
	beyond [5]sensors.Class // one representable step past the limit, on the bad side
}

// The same expectations hold for every at-most row whose five limits differ.
var (
	plainAt     = [5]sensors.Class{cI, cII, cIII, cIV, cV}
	plainBeyond = [5]sensors.Class{cII, cIII, cIV, cV, cWorse}
	// COD and BOD5: Class I and II share a limit, so a value at it is Class
	// I (the best class it meets) and just above it is Class III.
	sharedAt     = [5]sensors.Class{cI, cI, cIII, cIV, cV}
	sharedBeyond = [5]sensors.Class{cIII, cIII, cIV, cV, cWorse}
)

var edgeRows = func() []edgeRow {
	var rows []edgeRow
	for _, b := range []sensors.WaterBody{res, river} {
		rows = append(rows,
			edgeRow{sensors.ParamDO, b, true, [5]float64{7.5, 6, 5, 3, 2}, plainAt, plainBeyond},
			edgeRow{sensors.ParamCODMn, b, false, [5]float64{2, 4, 6, 10, 15}, plainAt, plainBeyond},
			edgeRow{sensors.ParamCOD, b, false, [5]float64{15, 15, 20, 30, 40}, sharedAt, sharedBeyond},
			edgeRow{sensors.ParamBOD5, b, false, [5]float64{3, 3, 4, 6, 10}, sharedAt, sharedBeyond},
			edgeRow{sensors.ParamNH3N, b, false, [5]float64{0.15, 0.5, 1.0, 1.5, 2.0}, plainAt, plainBeyond},
			edgeRow{sensors.ParamFecalColiforms, b, false, [5]float64{200, 2000, 10000, 20000, 40000}, plainAt, plainBeyond},
		)
	}
	return append(rows,
		edgeRow{sensors.ParamTP, river, false, [5]float64{0.02, 0.1, 0.2, 0.3, 0.4}, plainAt, plainBeyond},
		edgeRow{sensors.ParamTP, res, false, [5]float64{0.01, 0.025, 0.05, 0.1, 0.2}, plainAt, plainBeyond},
		edgeRow{sensors.ParamTN, res, false, [5]float64{0.2, 0.5, 1.0, 1.5, 2.0}, plainAt, plainBeyond},
	)
}()

// TestClassifyValueEdges checks every limit of every parameter and water-body
// column: the value exactly at the limit (limits are inclusive) and the next
// representable float64 beyond it.
func TestClassifyValueEdges(t *testing.T) {
	n := 0
	for _, row := range edgeRows {
		for k, limit := range row.limits {
			beyond := math.Nextafter(limit, math.Inf(1))
			if row.lower {
				beyond = math.Nextafter(limit, math.Inf(-1))
			}
			roman := sensors.Class(k + 1).String()
			for _, tc := range []struct {
				edge  string
				value float64
				want  sensors.Class
			}{
				{"at", limit, row.at[k]},
				{"beyond", beyond, row.beyond[k]},
			} {
				n++
				t.Run(fmt.Sprintf("%s/%s/%s/%s", row.param, row.body, roman, tc.edge), func(t *testing.T) {
					got, err := sensors.ClassifyValue(row.body, row.param, tc.value)
					if err != nil {
						t.Fatalf("ClassifyValue(%s, %s, %v): %v", row.body, row.param, tc.value, err)
					}
					if got != tc.want {
						t.Errorf("ClassifyValue(%s, %s, %v) = %v, want %v", row.body, row.param, tc.value, got, tc.want)
					}
				})
			}
		}
	}
	if n != 150 {
		t.Errorf("ran %d edge cases, want 150 (15 columns × 5 classes × 2)", n)
	}
}

// TestClassifyValueReported checks values at the precision instruments
// report (three decimals for mg/L), beside the limits and well inside.
func TestClassifyValueReported(t *testing.T) {
	tests := []struct {
		name  string
		body  sensors.WaterBody
		param sensors.Param
		value float64
		want  sensors.Class
	}{
		{"tp reservoir 0.026 is III", res, sensors.ParamTP, 0.026, cIII},
		{"tp reservoir 0.024 is II", res, sensors.ParamTP, 0.024, cII},
		{"tp reservoir 0.011 is II", res, sensors.ParamTP, 0.011, cII},
		{"tp river 0.021 is II", river, sensors.ParamTP, 0.021, cII},
		{"tp river 0.101 is III", river, sensors.ParamTP, 0.101, cIII},
		{"tp river 0.401 is worse than V", river, sensors.ParamTP, 0.401, cWorse},
		{"tp reservoir 0.201 is worse than V", res, sensors.ParamTP, 0.201, cWorse},
		{"nh3n 0.151 is II", res, sensors.ParamNH3N, 0.151, cII},
		{"nh3n 0.51 is III", river, sensors.ParamNH3N, 0.51, cIII},
		{"codmn 4.01 is III", res, sensors.ParamCODMn, 4.01, cIII},
		{"do 5.99 is III", res, sensors.ParamDO, 5.99, cIII},
		{"do 7.51 is I", river, sensors.ParamDO, 7.51, cI},
		{"do 1.99 is worse than V", res, sensors.ParamDO, 1.99, cWorse},
		{"do 0 is worse than V", res, sensors.ParamDO, 0, cWorse},
		{"do 14 is I", res, sensors.ParamDO, 14, cI},
		{"tn 0.21 is II", res, sensors.ParamTN, 0.21, cII},
		{"tn 2.01 is worse than V", res, sensors.ParamTN, 2.01, cWorse},
		{"codmn 0 is I", res, sensors.ParamCODMn, 0, cI},
		{"fecal 0 is I", river, sensors.ParamFecalColiforms, 0, cI},
		{"fecal 40001 is worse than V", river, sensors.ParamFecalColiforms, 40001, cWorse},
		{"cod 15.5 is III", res, sensors.ParamCOD, 15.5, cIII},
		{"bod5 3.5 is III", river, sensors.ParamBOD5, 3.5, cIII},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sensors.ClassifyValue(tc.body, tc.param, tc.value)
			if err != nil {
				t.Fatalf("ClassifyValue: %v", err)
			}
			if got != tc.want {
				t.Errorf("ClassifyValue(%s, %s, %v) = %v, want %v", tc.body, tc.param, tc.value, got, tc.want)
			}
		})
	}
}

// TestClassifyValuePH checks the 6–9 window: inclusive at both ends, the
// same for every class (so Class I inside), worse than V outside, for both
// water bodies; and 0 to 14 as the valid input.
func TestClassifyValuePH(t *testing.T) {
	tests := []struct {
		name  string
		value float64
		want  sensors.Class
	}{
		{"6 is inside", 6, cI},
		{"9 is inside", 9, cI},
		{"7.5 is inside", 7.5, cI},
		{"just below 6", math.Nextafter(6, 0), cWorse},
		{"just above 9", math.Nextafter(9, 14), cWorse},
		{"5.99", 5.99, cWorse},
		{"9.01", 9.01, cWorse},
		{"0 is valid and outside", 0, cWorse},
		{"14 is valid and outside", 14, cWorse},
	}
	for _, b := range []sensors.WaterBody{res, river} {
		for _, tc := range tests {
			t.Run(string(b)+"/"+tc.name, func(t *testing.T) {
				got, err := sensors.ClassifyValue(b, sensors.ParamPH, tc.value)
				if err != nil {
					t.Fatalf("ClassifyValue: %v", err)
				}
				if got != tc.want {
					t.Errorf("ClassifyValue(%s, ph, %v) = %v, want %v", b, tc.value, got, tc.want)
				}
			})
		}
	}
}

// TestClassifyValueTPColumns checks that one total-phosphorus value falls in
// different classes in a river and in the reservoir.
func TestClassifyValueTPColumns(t *testing.T) {
	tests := []struct {
		value        float64
		river, resvr sensors.Class
	}{
		{0.01, cI, cI},
		{0.02, cI, cII},
		{0.025, cII, cII},
		{0.05, cII, cIII},
		{0.1, cII, cIV},
		{0.15, cIII, cV},
		{0.2, cIII, cV},
		{0.25, cIV, cWorse},
		{0.4, cV, cWorse},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.value), func(t *testing.T) {
			gr, err1 := sensors.ClassifyValue(river, sensors.ParamTP, tc.value)
			gs, err2 := sensors.ClassifyValue(res, sensors.ParamTP, tc.value)
			if err1 != nil || err2 != nil {
				t.Fatalf("errors: %v, %v", err1, err2)
			}
			if gr != tc.river || gs != tc.resvr {
				t.Errorf("tp %v: river %v reservoir %v, want %v and %v", tc.value, gr, gs, tc.river, tc.resvr)
			}
		})
	}
}

// TestClassifyValueErrors checks the refusals: each names the field and
// wraps the right error kind.
func TestClassifyValueErrors(t *testing.T) {
	tests := []struct {
		name  string
		body  sensors.WaterBody
		param sensors.Param
		value float64
		kind  error
		want  string // the exact error text
	}{
		{"tn in a river", river, sensors.ParamTN, 0.3, sensors.ErrNotClassified,
			"sensors.ClassifyValue: tn_mg_l: not classified: GB 3838-2002 does not evaluate it for river stations; it is stored, not classified"},
		{"temperature", res, sensors.ParamTemp, 12, sensors.ErrNotClassified,
			"sensors.ClassifyValue: temp_c: not classified: GB 3838-2002 sets it no class limits; it is stored, never classified"},
		{"negative temperature is valid but unclassified", res, sensors.ParamTemp, -0.4, sensors.ErrNotClassified,
			"sensors.ClassifyValue: temp_c: not classified: GB 3838-2002 sets it no class limits; it is stored, never classified"},
		{"chlorophyll-a", res, sensors.ParamChlA, 3, sensors.ErrNotClassified,
			"sensors.ClassifyValue: chla_ug_l: not classified: GB 3838-2002 sets it no class limits; it is stored, never classified"},
		{"turbidity", river, sensors.ParamTurbidity, 3, sensors.ErrNotClassified,
			"sensors.ClassifyValue: turbidity_ntu: not classified: GB 3838-2002 sets it no class limits; it is stored, never classified"},
		{"conductivity", river, sensors.ParamConductivity, 300, sensors.ErrNotClassified,
			"sensors.ClassifyValue: conductivity_us_cm: not classified: GB 3838-2002 sets it no class limits; it is stored, never classified"},
		{"unknown parameter", res, "tp_mgl", 0.1, sensors.ErrUnknownParam,
			`sensors.ClassifyValue: "tp_mgl": unknown parameter`},
		{"NaN", res, sensors.ParamTP, math.NaN(), sensors.ErrInvalid,
			"sensors.ClassifyValue: tp_mg_l: must be a number, got NaN"},
		{"+Inf", res, sensors.ParamNH3N, math.Inf(1), sensors.ErrInvalid,
			"sensors.ClassifyValue: nh3n_mg_l: must be finite, got +Inf"},
		{"-Inf DO", river, sensors.ParamDO, math.Inf(-1), sensors.ErrInvalid,
			"sensors.ClassifyValue: do_mg_l: must be finite, got -Inf"},
		{"NaN temperature", res, sensors.ParamTemp, math.NaN(), sensors.ErrInvalid,
			"sensors.ClassifyValue: temp_c: must be a number, got NaN"},
		{"negative concentration", res, sensors.ParamCODMn, -0.01, sensors.ErrInvalid,
			"sensors.ClassifyValue: codmn_mg_l: must not be negative, got -0.01"},
		{"negative DO", res, sensors.ParamDO, -1, sensors.ErrInvalid,
			"sensors.ClassifyValue: do_mg_l: must not be negative, got -1"},
		{"negative TN in a river is invalid first", river, sensors.ParamTN, -1, sensors.ErrInvalid,
			"sensors.ClassifyValue: tn_mg_l: must not be negative, got -1"},
		{"negative fecal coliforms", res, sensors.ParamFecalColiforms, -5, sensors.ErrInvalid,
			"sensors.ClassifyValue: fecal_coliform_per_l: must not be negative, got -5"},
		{"negative turbidity", res, sensors.ParamTurbidity, -0.5, sensors.ErrInvalid,
			"sensors.ClassifyValue: turbidity_ntu: must not be negative, got -0.5"},
		{"pH below 0", res, sensors.ParamPH, -0.1, sensors.ErrInvalid,
			"sensors.ClassifyValue: ph: must be within 0 to 14, got -0.1"},
		{"pH above 14", river, sensors.ParamPH, 14.2, sensors.ErrInvalid,
			"sensors.ClassifyValue: ph: must be within 0 to 14, got 14.2"},
		{"unknown water body", "lake", sensors.ParamTP, 0.1, sensors.ErrInvalid,
			`sensors.ClassifyValue: water_body: must be reservoir or river, got "lake"`},
		{"unknown water body and bad value", "", sensors.ParamTP, -1, sensors.ErrInvalid,
			`sensors.ClassifyValue: water_body: must be reservoir or river, got ""; tp_mg_l: must not be negative, got -1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sensors.ClassifyValue(tc.body, tc.param, tc.value)
			if err == nil {
				t.Fatalf("ClassifyValue(%s, %s, %v) = %v, want an error", tc.body, tc.param, tc.value, got)
			}
			if got != sensors.ClassNone {
				t.Errorf("class = %v alongside the error, want none", got)
			}
			if !errors.Is(err, tc.kind) {
				t.Errorf("error %v does not wrap %v", err, tc.kind)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

// TestClassifyValueNegativeZero: -0 is not negative.
func TestClassifyValueNegativeZero(t *testing.T) {
	got, err := sensors.ClassifyValue(res, sensors.ParamTP, math.Copysign(0, -1))
	if err != nil || got != cI {
		t.Fatalf("ClassifyValue(-0) = %v, %v; want I", got, err)
	}
}

// TestLimitTable checks the shape of the one table: direction and bounds
// agree, the class intervals nest, each (water body, parameter) has at most
// one row, every classified parameter has a row and no extra has one, and
// only total nitrogen and fecal coliforms are outside routine assessment.
func TestLimitTable(t *testing.T) {
	rows := sensors.Limits()
	if len(rows) != 10 {
		t.Fatalf("Limits() has %d rows, want the 10 of the GB 3838 table", len(rows))
	}
	inf := math.Inf(1)
	seen := map[string]bool{}
	for _, l := range rows {
		for i, b := range l.Classes {
			switch l.Direction {
			case sensors.AtMost:
				if b.Min != -inf || math.IsInf(b.Max, 0) {
					t.Errorf("%s class %d: %+v is not an at-most bound", l.Name, i+1, b)
				}
			case sensors.AtLeast:
				if b.Max != inf || math.IsInf(b.Min, 0) {
					t.Errorf("%s class %d: %+v is not an at-least bound", l.Name, i+1, b)
				}
			case sensors.Range:
				if math.IsInf(b.Min, 0) || math.IsInf(b.Max, 0) || b.Min > b.Max {
					t.Errorf("%s class %d: %+v is not a window", l.Name, i+1, b)
				}
			default:
				t.Errorf("%s: direction %q", l.Name, l.Direction)
			}
			if i > 0 {
				prev := l.Classes[i-1]
				if b.Min > prev.Min || b.Max < prev.Max {
					t.Errorf("%s: class %d %+v does not contain class %d %+v", l.Name, i+1, b, i, prev)
				}
			}
		}
		for _, body := range l.Bodies {
			key := string(body) + "/" + string(l.Param)
			if seen[key] {
				t.Errorf("two rows for %s", key)
			}
			seen[key] = true
			got, ok := sensors.LimitFor(body, l.Param)
			if !ok || got.Name != l.Name {
				t.Errorf("LimitFor(%s) = %q, %v; want %q", key, got.Name, ok, l.Name)
			}
		}
		wantRoutine := l.Param != sensors.ParamTN && l.Param != sensors.ParamFecalColiforms
		if l.Routine != wantRoutine {
			t.Errorf("%s: Routine = %v, want %v", l.Name, l.Routine, wantRoutine)
		}
	}
	for _, p := range sensors.Params() {
		_, inRes := sensors.LimitFor(res, p.Param)
		_, inRiver := sensors.LimitFor(river, p.Param)
		if p.Classified != (inRes || inRiver) {
			t.Errorf("%s: Classified = %v but rows for reservoir %v, river %v", p.Param, p.Classified, inRes, inRiver)
		}
	}
	if _, ok := sensors.LimitFor(river, sensors.ParamTN); ok {
		t.Errorf("LimitFor(river, tn) found a row; TN is evaluated only for reservoirs")
	}
	// Limits returns copies.
	rows[0].Classes[0].Max = 99
	rows[0].Bodies[0] = "lake"
	if again := sensors.Limits(); again[0].Classes[0].Max == 99 || again[0].Bodies[0] == "lake" {
		t.Errorf("modifying the result of Limits changed the table")
	}
}

// TestParams checks the catalogue: the GB 3838 parameters in table order,
// then the extras.
func TestParams(t *testing.T) {
	var names []string
	for _, p := range sensors.Params() {
		names = append(names, string(p.Param))
	}
	want := []string{"ph", "do_mg_l", "codmn_mg_l", "cod_mg_l", "bod5_mg_l", "nh3n_mg_l", "tp_mg_l",
		"tn_mg_l", "fecal_coliform_per_l", "temp_c", "conductivity_us_cm", "turbidity_ntu", "chla_ug_l"}
	if !slices.Equal(names, want) {
		t.Errorf("Params() =\n %v\nwant\n %v", names, want)
	}
	info, ok := sensors.LookupParam(sensors.ParamNH3N)
	if !ok || info.Name != "氨氮" || info.Unit != "mg/L" || !info.Classified {
		t.Errorf("LookupParam(nh3n) = %+v, %v", info, ok)
	}
	if _, ok := sensors.LookupParam("ts"); ok || sensors.Param("ts").Known() {
		t.Errorf(`"ts" is known as a parameter`)
	}
	for _, p := range []sensors.Param{sensors.ParamTemp, sensors.ParamConductivity, sensors.ParamTurbidity, sensors.ParamChlA} {
		info, _ := sensors.LookupParam(p)
		if info.Classified || !strings.Contains(strings.Join(want[9:], " "), string(p)) {
			t.Errorf("%s: %+v, want an unclassified extra", p, info)
		}
	}
}
