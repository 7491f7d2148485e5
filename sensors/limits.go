package sensors

import (
	"fmt"
	"slices"
)

// Direction says how a parameter's class limits bound its value.
type Direction string

// The directions.
const (
	// AtMost: the limit is the highest value a class allows (most
	// parameters: the less the better).
	AtMost Direction = "at_most"
	// AtLeast: the limit is the lowest value a class allows (dissolved
	// oxygen: the more the better).
	AtLeast Direction = "at_least"
	// Range: a class allows the values within [Min, Max] (pH, whose window
	// 6–9 is the same for every class).
	Range Direction = "range"
)

// Bound is the inclusive interval of the values one class allows: Min <= v
// <= Max. A side without a limit is infinite.
type Bound struct {
	Min float64
	Max float64
}

// contains reports whether v lies within b, bounds included.
func (b Bound) contains(v float64) bool { return v >= b.Min && v <= b.Max }

// Limit is one row of the GB 3838-2002 table: the class limits of one
// parameter for the water bodies it applies to.
type Limit struct {
	// Param is the parameter's field name.
	Param Param
	// Name names the row in English, as the table does.
	Name string
	// Direction says which side of Classes is bounded.
	Direction Direction
	// Classes[c-1] is the interval of values Class c allows, for c from
	// ClassI to ClassV. The intervals nest: each contains the one before.
	Classes [5]Bound
	// Bodies are the water bodies the row applies to. For each water body
	// and parameter at most one row applies; a parameter with no row for a
	// water body is not evaluated there.
	Bodies []WaterBody
	// Routine reports whether the parameter counts in the routine national
	// assessment (the assessment class); total nitrogen and fecal coliforms
	// do not, and count only in the full class.
	Routine bool
}

// limit returns the target-side limit of class c (ClassI to ClassV): the
// upper bound for AtMost, the lower bound for AtLeast. For Range it returns
// the bound on the side of v, and the lower bound when v lies within.
func (l Limit) limit(c Class, v float64) float64 {
	b := l.Classes[c-1]
	switch l.Direction {
	case AtMost:
		return b.Max
	case AtLeast:
		return b.Min
	}
	if v > b.Max {
		return b.Max
	}
	return b.Min
}

// classOf returns the best class whose interval contains v, or
// ClassWorseThanV.
func (l Limit) classOf(v float64) Class {
	for i, b := range l.Classes {
		if b.contains(v) {
			return ClassI + Class(i)
		}
	}
	return ClassWorseThanV
}

// appliesTo reports whether the row applies to water body b.
func (l Limit) appliesTo(b WaterBody) bool { return slices.Contains(l.Bodies, b) }

// atMost builds the intervals of an AtMost row from the limits of Class I
// to Class V.
func atMost(i, ii, iii, iv, v float64) [5]Bound {
	return [5]Bound{{-inf, i}, {-inf, ii}, {-inf, iii}, {-inf, iv}, {-inf, v}}
}

// atLeast builds the intervals of an AtLeast row from the limits of Class I
// to Class V.
func atLeast(i, ii, iii, iv, v float64) [5]Bound {
	return [5]Bound{{i, inf}, {ii, inf}, {iii, inf}, {iv, inf}, {v, inf}}
}

// window builds the intervals of a Range row whose window is the same for
// every class.
func window(lo, hi float64) [5]Bound {
	b := Bound{lo, hi}
	return [5]Bound{b, b, b, b, b}
}

var (
	bothBodies    = []WaterBody{Reservoir, River}
	reservoirOnly = []WaterBody{Reservoir}
	riverOnly     = []WaterBody{River}
)

// limits is the GB 3838-2002 table of shared/domain/GB3838-2002.md, and the
// only place the limits are written. Classification reads nothing else.
var limits = [...]Limit{
	{ParamPH, "pH", Range, window(6, 9), bothBodies, true},
	{ParamDO, "dissolved oxygen", AtLeast, atLeast(7.5, 6, 5, 3, 2), bothBodies, true},
	{ParamCODMn, "permanganate index (CODMn)", AtMost, atMost(2, 4, 6, 10, 15), bothBodies, true},
	{ParamCOD, "chemical oxygen demand (COD)", AtMost, atMost(15, 15, 20, 30, 40), bothBodies, true},
	{ParamBOD5, "five-day biochemical oxygen demand (BOD5)", AtMost, atMost(3, 3, 4, 6, 10), bothBodies, true},
	{ParamNH3N, "ammonia nitrogen (NH3-N)", AtMost, atMost(0.15, 0.5, 1.0, 1.5, 2.0), bothBodies, true},
	{ParamTP, "total phosphorus, rivers", AtMost, atMost(0.02, 0.1, 0.2, 0.3, 0.4), riverOnly, true},
	{ParamTP, "total phosphorus, lakes and reservoirs", AtMost, atMost(0.01, 0.025, 0.05, 0.1, 0.2), reservoirOnly, true},
	{ParamTN, "total nitrogen (lakes and reservoirs)", AtMost, atMost(0.2, 0.5, 1.0, 1.5, 2.0), reservoirOnly, false},
	{ParamFecalColiforms, "fecal coliforms (per litre)", AtMost, atMost(200, 2000, 10000, 20000, 40000), bothBodies, false},
}

// Limits returns the rows of the GB 3838-2002 table the package classifies
// with, in the order of the table. The rows are copies.
func Limits() []Limit {
	out := make([]Limit, len(limits))
	for i, l := range limits {
		l.Bodies = slices.Clone(l.Bodies)
		out[i] = l
	}
	return out
}

// LimitFor returns the row that classifies p for water body b, and false
// when none does: for an unknown parameter or water body, for an extra, and
// for total nitrogen in a river.
func LimitFor(b WaterBody, p Param) (Limit, bool) {
	if i := limitIndex(b, p); i >= 0 {
		return limits[i], true
	}
	return Limit{}, false
}

// limitIndex returns the index in limits of the row for (b, p), or -1.
func limitIndex(b WaterBody, p Param) int {
	for i := range limits {
		if limits[i].Param == p && limits[i].appliesTo(b) {
			return i
		}
	}
	return -1
}

// ClassifyValue returns the class of one value v of parameter p at a station
// on water body b: the best class whose limit v meets, limits included (a
// value equal to the Class II limit is Class II), or ClassWorseThanV when v
// is beyond the Class V limit. A pH within 6–9 is Class I, and outside it
// ClassWorseThanV; dissolved oxygen is bounded below.
//
// It fails with an error wrapping ErrUnknownParam for a name the package
// does not know, ErrNotClassified for an extra or for total nitrogen in a
// river, and ErrInvalid (a *ValidationError naming the field) for an unknown
// water body or an invalid value: NaN, ±Inf, a negative concentration, or a
// pH outside 0 to 14.
func ClassifyValue(b WaterBody, p Param, v float64) (Class, error) {
	const op = "sensors.ClassifyValue"
	info, ok := LookupParam(p)
	if !ok {
		return ClassNone, fmt.Errorf("%s: %q: %w", op, string(p), ErrUnknownParam)
	}
	verr := &ValidationError{Op: op}
	if !b.Valid() {
		verr.addf("water_body", "must be reservoir or river, got %q", string(b))
	}
	if d := checkValue(info, v); d != "" {
		verr.addf(string(p), "%s", d)
	}
	if err := verr.orNil(); err != nil {
		return ClassNone, err
	}
	i := limitIndex(b, p)
	if i < 0 {
		return ClassNone, fmt.Errorf("%s: %s: %w: %s", op, p, ErrNotClassified, notClassifiedReason(info, b))
	}
	return limits[i].classOf(v), nil
}

// notClassifiedReason says why info has no class for water body b.
func notClassifiedReason(info ParamInfo, b WaterBody) string {
	if !info.Classified {
		return "GB 3838-2002 sets it no class limits; it is stored, never classified"
	}
	return fmt.Sprintf("GB 3838-2002 does not evaluate it for %s stations; it is stored, not classified", b)
}
