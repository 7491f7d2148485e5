package sensors

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Sample is one reading of a station: the instant it was measured and the
// values it reports, by field name. Values may hold any parameter of Params:
// the GB 3838-2002 parameters and the extras, which are kept but never
// classified.
type Sample struct {
	Time   time.Time         `json:"ts"`
	Values map[Param]float64 `json:"values"`
}

// ValidateSample checks s and returns nil, or a *ValidationError naming
// every offending field, sorted by field: "ts" when the time is missing,
// "values" when there is no value, an unknown field name, and each value
// that is NaN, ±Inf, a negative concentration or count, or a pH outside 0 to
// 14. It does not judge the time against a clock; the ingest does.
func ValidateSample(s Sample) error {
	verr := &ValidationError{Op: "sensors.ValidateSample"}
	for _, p := range sampleProblems(s) {
		verr.add(p)
	}
	return verr.orNil()
}

// sampleProblems returns the faults of s, sorted by field.
func sampleProblems(s Sample) []Problem {
	var out []Problem
	if s.Time.IsZero() {
		out = append(out, Problem{Field: "ts", Detail: "required: the instant of the measurement"})
	}
	if len(s.Values) == 0 {
		out = append(out, Problem{Field: "values", Detail: "required: at least one measured value"})
	}
	for p, v := range s.Values {
		info, ok := LookupParam(p)
		if !ok {
			out = append(out, Problem{Field: string(p), Detail: "unknown parameter"})
			continue
		}
		if d := checkValue(info, v); d != "" {
			out = append(out, Problem{Field: string(p), Detail: d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// Status says what classification made of one reported parameter.
type Status string

// The statuses of a ParamResult.
const (
	// StatusClassified: the parameter has a class.
	StatusClassified Status = "classified"
	// StatusNotEvaluated: a GB 3838-2002 parameter that the standard does
	// not evaluate for the station's water body (total nitrogen in a
	// river). The value is stored, not classified.
	StatusNotEvaluated Status = "not_evaluated"
	// StatusNoLimits: an extra (temperature, conductivity, turbidity,
	// chlorophyll-a), for which the standard sets no class limits. The
	// value is stored, never classified.
	StatusNoLimits Status = "no_limits"
)

// ParamResult is the classification of one reported parameter.
type ParamResult struct {
	Param Param   `json:"param"`
	Value float64 `json:"value"`
	// Status says whether the parameter was classified and, if not, why.
	Status Status `json:"status"`
	// Class is the parameter's class, or ClassNone unless Status is
	// StatusClassified.
	Class Class `json:"class,omitempty"`
	// Assessed reports whether the class counts in the assessment class.
	Assessed bool `json:"assessed"`
	// Note explains a parameter that is not classified; empty otherwise.
	Note string `json:"note,omitempty"`
}

// Exceedance (超标) names one parameter whose class is worse than the
// station's target class, with the target class's limit it crosses.
type Exceedance struct {
	Param Param   `json:"param"`
	Value float64 `json:"value"`
	// Class is the parameter's class, worse than Target.
	Class  Class `json:"class"`
	Target Class `json:"target_class"`
	// Direction is the direction of the parameter's limits.
	Direction Direction `json:"direction"`
	// Limit is the target class's limit that Value crosses: the upper
	// limit for AtMost, the lower limit for AtLeast (dissolved oxygen), and
	// for Range (pH) the end of the window on the side Value lies.
	Limit float64 `json:"limit"`
	// Multiple is the exceedance multiple (超标倍数): Value/Limit − 1 for
	// AtMost (0.05 mg/L of total phosphorus against the reservoir's Class
	// II limit 0.025 is 1, "exceeds by 1 times"); for AtLeast, the shortfall
	// as a share of the limit, (Limit − Value)/Limit (3 mg/L of dissolved
	// oxygen against Class II's 6 is 0.5; an empty 0 mg/L is 1). It is
	// always greater than 0 for AtMost and AtLeast. For Range it is 0: pH
	// has no multiple, the value is outside the 6–9 window (see Detail).
	Multiple float64 `json:"multiple"`
	// Assessed reports whether the parameter counts in the assessment
	// class; an exceedance of total nitrogen or fecal coliforms is listed
	// but does not make Result.Exceeds true.
	Assessed bool `json:"assessed"`
	// Detail says the same in words.
	Detail string `json:"detail"`
}

// Result is the classification of one sample at one station.
type Result struct {
	Station   string    `json:"station"`
	Time      time.Time `json:"ts"`
	WaterBody WaterBody `json:"water_body"`
	Target    Class     `json:"target_class"`
	// Params are the sample's valid values, classified or not, in the order
	// of Params (the GB 3838 table, then the extras).
	Params []ParamResult `json:"params"`
	// Assessment is the routine assessment class: the worst class among the
	// classified parameters that count in routine assessment, which leaves
	// out total nitrogen and fecal coliforms (and water temperature, which
	// is never classified). It is ClassNone when the sample reports none of
	// them or is invalid.
	Assessment Class `json:"assessment_class,omitempty"`
	// Full is the worst class among all the classified parameters the
	// sample reports, total nitrogen (reservoirs only) and fecal coliforms
	// included. It is ClassNone when nothing is classified or the sample
	// is invalid.
	Full Class `json:"full_class,omitempty"`
	// Worst are the parameters whose class equals Full, and WorstAssessed
	// those that count in routine assessment and whose class equals
	// Assessment; both in the order of Params.
	Worst         []Param `json:"worst,omitempty"`
	WorstAssessed []Param `json:"worst_assessed,omitempty"`
	// Exceeds reports whether the assessment class is worse than the
	// target: the sample is an exceedance (超标) in routine assessment. An
	// alert should follow this flag.
	Exceeds bool `json:"exceeds"`
	// Exceedances lists every classified parameter whose class is worse
	// than the target, in the order of Params, including total nitrogen and
	// fecal coliforms (marked Assessed false).
	Exceedances []Exceedance `json:"exceedances,omitempty"`
	// Missing are the parameters the station says it reports but the sample
	// lacks, in the station's order.
	Missing []Param `json:"missing,omitempty"`
	// Invalid names every fault of the sample (see ValidateSample) and of
	// the station's water body or target class. A result with any fault is
	// not classified as a whole: Assessment and Full are ClassNone, Worst,
	// WorstAssessed and Exceedances are empty and Exceeds is false; Params
	// still holds the valid values.
	Invalid []Problem `json:"invalid,omitempty"`
}

// Err returns nil for a valid result, or a *ValidationError listing
// r.Invalid.
func (r Result) Err() error {
	verr := &ValidationError{Op: "sensors.ClassifySample"}
	for _, p := range r.Invalid {
		verr.add(p)
	}
	return verr.orNil()
}

// ClassifySample classifies sample s of station st by single-factor
// evaluation (单因子评价法): each reported parameter gets its class from the
// table for the station's water body, the assessment class and the full
// class are the worst of the relevant parameters, and every parameter worse
// than the station's target class is listed as an exceedance. Total nitrogen
// in a river and the extras are kept in Params with a Status that says they
// are not classified.
//
// ClassifySample does not fail: an invalid sample (see ValidateSample), or a
// station without a valid water body or target class, gives a result that
// names each fault in Invalid and is not classified as a whole; check
// Result.Err, or call ValidateSample first. ClassifySample does not check
// that the sample comes from st, nor the rest of st (see ValidateStation).
func ClassifySample(st Station, s Sample) Result {
	r := Result{Station: st.ID, Time: s.Time, WaterBody: st.WaterBody, Target: st.TargetClass}
	r.Invalid = sampleProblems(s)
	if !st.WaterBody.Valid() {
		r.Invalid = append(r.Invalid, Problem{Field: "station.water_body",
			Detail: fmt.Sprintf("must be reservoir or river, got %q", string(st.WaterBody))})
	}
	if !st.TargetClass.ValidTarget() {
		r.Invalid = append(r.Invalid, Problem{Field: "station.target_class",
			Detail: fmt.Sprintf("must be one of I, II, III, IV, V, got %s", st.TargetClass)})
	}
	target := st.TargetClass
	if !target.ValidTarget() {
		target = ClassNone
	}
	for _, info := range params {
		v, ok := s.Values[info.Param]
		if !ok || checkValue(info, v) != "" {
			continue
		}
		pr := ParamResult{Param: info.Param, Value: v}
		i := limitIndex(st.WaterBody, info.Param)
		switch {
		case !info.Classified:
			pr.Status, pr.Note = StatusNoLimits, notClassifiedReason(info, st.WaterBody)
		case i < 0:
			pr.Status, pr.Note = StatusNotEvaluated, notClassifiedReason(info, st.WaterBody)
		default:
			l := &limits[i]
			pr.Status, pr.Class, pr.Assessed = StatusClassified, l.classOf(v), l.Routine
			r.Full = worst(r.Full, pr.Class)
			if l.Routine {
				r.Assessment = worst(r.Assessment, pr.Class)
			}
			if target != ClassNone && pr.Class.Worse(target) {
				r.Exceedances = append(r.Exceedances, exceedance(l, v, pr.Class, target))
			}
		}
		r.Params = append(r.Params, pr)
	}
	for _, p := range st.Params {
		if _, ok := s.Values[p]; !ok {
			r.Missing = append(r.Missing, p)
		}
	}
	if len(r.Invalid) > 0 {
		r.Assessment, r.Full, r.Exceedances = ClassNone, ClassNone, nil
		return r
	}
	for _, pr := range r.Params {
		if pr.Status != StatusClassified {
			continue
		}
		if pr.Class == r.Full {
			r.Worst = append(r.Worst, pr.Param)
		}
		if pr.Assessed && pr.Class == r.Assessment {
			r.WorstAssessed = append(r.WorstAssessed, pr.Param)
		}
	}
	r.Exceeds = target != ClassNone && r.Assessment.Worse(target)
	return r
}

// exceedance describes value v of row l, of class c, against target class
// target, which c is worse than.
func exceedance(l *Limit, v float64, c, target Class) Exceedance {
	limit := l.limit(target, v)
	e := Exceedance{Param: l.Param, Value: v, Class: c, Target: target, Direction: l.Direction,
		Limit: limit, Assessed: l.Routine}
	info, _ := LookupParam(l.Param)
	unit := ""
	if info.Unit != "" {
		unit = " " + info.Unit
	}
	switch l.Direction {
	case AtMost:
		e.Multiple = v/limit - 1
		e.Detail = fmt.Sprintf("%s %s%s is above the class %s limit %s%s: exceeds it by %s times (超标倍数)",
			l.Param, num(v), unit, target, num(limit), unit, strconv.FormatFloat(e.Multiple, 'f', 2, 64))
	case AtLeast:
		e.Multiple = (limit - v) / limit
		e.Detail = fmt.Sprintf("%s %s%s is below the class %s minimum %s%s: short of it by %s of the limit",
			l.Param, num(v), unit, target, num(limit), unit, strconv.FormatFloat(e.Multiple, 'f', 2, 64))
	default:
		b := l.Classes[target-1]
		e.Detail = fmt.Sprintf("%s %s%s is outside the %s–%s window of every class; no multiple is defined",
			l.Param, num(v), unit, num(b.Min), num(b.Max))
	}
	return e
}

// num formats a value with the fewest digits that read back exactly.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
