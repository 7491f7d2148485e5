package sensors

import (
	"fmt"
	"math"
)

// Param is the field name of a measured parameter, as it appears in a
// reading's payload and in a station's list of parameters: the field names
// of the GB 3838-2002 table (shared/domain/GB3838-2002.md) and the
// unclassified extras that automatic stations also report.
type Param string

// The parameters with GB 3838-2002 class limits, in the order of the table.
const (
	ParamPH             Param = "ph"                   // pH, no unit
	ParamDO             Param = "do_mg_l"              // dissolved oxygen, mg/L
	ParamCODMn          Param = "codmn_mg_l"           // permanganate index, mg/L
	ParamCOD            Param = "cod_mg_l"             // chemical oxygen demand, mg/L
	ParamBOD5           Param = "bod5_mg_l"            // five-day biochemical oxygen demand, mg/L
	ParamNH3N           Param = "nh3n_mg_l"            // ammonia nitrogen, mg/L
	ParamTP             Param = "tp_mg_l"              // total phosphorus, mg/L
	ParamTN             Param = "tn_mg_l"              // total nitrogen, mg/L
	ParamFecalColiforms Param = "fecal_coliform_per_l" // fecal coliforms, per litre
)

// The extras: measured and stored, never classified (GB 3838-2002 sets them
// no class limits).
const (
	ParamTemp         Param = "temp_c"             // water temperature, °C
	ParamConductivity Param = "conductivity_us_cm" // conductivity, µS/cm
	ParamTurbidity    Param = "turbidity_ntu"      // turbidity, NTU
	ParamChlA         Param = "chla_ug_l"          // chlorophyll-a, µg/L
)

// ParamInfo describes one parameter the package knows.
type ParamInfo struct {
	// Param is the field name.
	Param Param `json:"param"`
	// Name is the Chinese name and NameEN the English one.
	Name   string `json:"name"`
	NameEN string `json:"name_en"`
	// Unit is the unit of the values ("" for pH).
	Unit string `json:"unit"`
	// Classified reports whether GB 3838-2002 sets the parameter class
	// limits for at least one water body (see Limits for which).
	Classified bool `json:"classified"`
	// Min and Max bound the values that are valid input, inclusive; a value
	// outside them, or one that is not finite, is refused. They are ±Inf
	// where there is no bound: concentrations, counts, conductivity and
	// turbidity may not be negative, pH lies within 0 to 14, and the water
	// temperature need only be finite.
	Min float64 `json:"-"`
	Max float64 `json:"-"`
}

var inf = math.Inf(1)

// params is the catalogue of every parameter, in the order of the GB 3838
// table followed by the extras. Results list parameters in this order.
var params = [...]ParamInfo{
	{ParamPH, "pH", "pH", "", true, 0, 14},
	{ParamDO, "溶解氧", "dissolved oxygen", "mg/L", true, 0, inf},
	{ParamCODMn, "高锰酸盐指数", "permanganate index (CODMn)", "mg/L", true, 0, inf},
	{ParamCOD, "化学需氧量", "chemical oxygen demand (COD)", "mg/L", true, 0, inf},
	{ParamBOD5, "五日生化需氧量", "five-day biochemical oxygen demand (BOD5)", "mg/L", true, 0, inf},
	{ParamNH3N, "氨氮", "ammonia nitrogen (NH3-N)", "mg/L", true, 0, inf},
	{ParamTP, "总磷", "total phosphorus", "mg/L", true, 0, inf},
	{ParamTN, "总氮", "total nitrogen", "mg/L", true, 0, inf},
	{ParamFecalColiforms, "粪大肠菌群", "fecal coliforms", "per L", true, 0, inf},
	{ParamTemp, "水温", "water temperature", "°C", false, -inf, inf},
	{ParamConductivity, "电导率", "conductivity", "µS/cm", false, 0, inf},
	{ParamTurbidity, "浊度", "turbidity", "NTU", false, 0, inf},
	{ParamChlA, "叶绿素a", "chlorophyll-a", "µg/L", false, 0, inf},
}

// paramIndex maps a field name to its position in params.
var paramIndex = func() map[Param]int {
	m := make(map[Param]int, len(params))
	for i, p := range params {
		m[p.Param] = i
	}
	return m
}()

// Params returns the catalogue of every parameter the package knows: the
// GB 3838-2002 parameters in the order of the table, then the extras. The
// slice is a copy.
func Params() []ParamInfo { return append([]ParamInfo(nil), params[:]...) }

// LookupParam returns the description of p, and false for a name the
// package does not know.
func LookupParam(p Param) (ParamInfo, bool) {
	i, ok := paramIndex[p]
	if !ok {
		return ParamInfo{}, false
	}
	return params[i], true
}

// Known reports whether p is a parameter the package knows.
func (p Param) Known() bool {
	_, ok := paramIndex[p]
	return ok
}

// checkValue returns why v is not a valid value of info, or "" when it is.
func checkValue(info ParamInfo, v float64) string {
	switch {
	case math.IsNaN(v):
		return "must be a number, got NaN"
	case math.IsInf(v, 0):
		return fmt.Sprintf("must be finite, got %v", v)
	case v < info.Min || v > info.Max:
		if math.IsInf(info.Max, 1) {
			return fmt.Sprintf("must not be negative, got %v", v)
		}
		return fmt.Sprintf("must be within %v to %v, got %v", info.Min, info.Max, v)
	}
	return ""
}

// WaterBody is the kind of water a station samples. It picks the column of
// the total-phosphorus limits and whether total nitrogen is evaluated.
type WaterBody string

// The water bodies.
const (
	// Reservoir is a lake or reservoir: the lake-and-reservoir column of
	// total phosphorus applies, and total nitrogen is evaluated.
	Reservoir WaterBody = "reservoir"
	// River is a river section: the river column of total phosphorus
	// applies, and total nitrogen is stored but not evaluated.
	River WaterBody = "river"
)

// WaterBodies lists the water bodies.
var WaterBodies = []WaterBody{Reservoir, River}

// Valid reports whether b is one of WaterBodies.
func (b WaterBody) Valid() bool { return b == Reservoir || b == River }
