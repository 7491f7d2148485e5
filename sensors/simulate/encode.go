package simulate

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
)

// The payload formats of Encode and Config.Format.
const (
	// FormatJSON is a JSON object: "ts" and one member per value,
	// {"ts":"2024-05-01T08:00:00.000+08:00","ph":7.9,"do_mg_l":8.1}.
	FormatJSON = "json"
	// FormatSenML is a SenML pack (RFC 8428):
	// [{"bn":"urn:dev:station:res-dam:","bt":1714521600.000,"n":"ph","v":7.9},
	// {"n":"do_mg_l","u":"mg/L","v":8.1}].
	FormatSenML = "senml"
)

// ErrFormat is wrapped by the error of Encode for an unknown format.
var ErrFormat = errors.New("unknown payload format")

// senmlUnits are the units written in SenML records where they differ from
// sensors.ParamInfo.Unit: SenML's registered symbol for degrees Celsius and
// ASCII spellings of "µ", all of which the ingest accepts. pH has no unit
// and none is written.
var senmlUnits = map[sensors.Param]string{
	sensors.ParamTemp:         "Cel",
	sensors.ParamConductivity: "uS/cm",
	sensors.ParamChlA:         "ug/L",
}

// Encode writes sample s of station stationID as a message payload in
// format, FormatJSON or FormatSenML ("" is FormatJSON), in the form the
// ingest accepts on ingest.ReadingsTopic(stationID) (see
// ingest.DecodePayload). The values are listed in the order of
// sensors.Params and written in their shortest form, so that they decode to
// exactly the same numbers; the time is kept to the millisecond, in the
// Shanghai offset (+08:00) in JSON and as Unix seconds with three decimals
// in SenML, whose records carry the base name
// "urn:dev:station:{stationID}:" and each parameter's unit (none for pH).
//
// It fails for an unknown format (ErrFormat), an invalid station id, and a
// sample that sensors.ValidateSample refuses or that lies outside the
// years 1 to 9999.
func Encode(format, stationID string, s sensors.Sample) ([]byte, error) {
	if format == "" {
		format = FormatJSON
	}
	if format != FormatJSON && format != FormatSenML {
		return nil, fmt.Errorf("simulate.Encode: %w %q: want %q or %q", ErrFormat, format, FormatJSON, FormatSenML)
	}
	if !sensors.ValidStationID(stationID) {
		return nil, fmt.Errorf("simulate.Encode: invalid station id %q", stationID)
	}
	if err := sensors.ValidateSample(s); err != nil {
		return nil, fmt.Errorf("simulate.Encode: %w", err)
	}
	if y := s.Time.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("simulate.Encode: time %v is outside the years 1 to 9999", s.Time)
	}
	b := make([]byte, 0, 64+48*len(s.Values))
	first := true
	if format == FormatJSON {
		b = append(b, `{"ts":`...)
		b = strconv.AppendQuote(b, s.Time.In(shanghai).Format("2006-01-02T15:04:05.000Z07:00"))
		for _, info := range sensors.Params() {
			v, ok := s.Values[info.Param]
			if !ok {
				continue
			}
			b = append(b, ',')
			b = strconv.AppendQuote(b, string(info.Param))
			b = append(b, ':')
			b = appendNumber(b, v)
		}
		return append(b, '}'), nil
	}
	b = append(b, '[')
	for _, info := range sensors.Params() {
		v, ok := s.Values[info.Param]
		if !ok {
			continue
		}
		if first {
			b = append(b, `{"bn":`...)
			b = strconv.AppendQuote(b, ingest.StationURNPrefix+stationID+":")
			b = append(b, `,"bt":`...)
			if ms := s.Time.UnixMilli(); ms >= 0 {
				b = fmt.Appendf(b, "%d.%03d", ms/1000, ms%1000)
			} else { // before 1970: the ingest refuses it, but it is written right
				b = strconv.AppendFloat(b, float64(ms)/1000, 'f', 3, 64)
			}
			b = append(b, ',')
			first = false
		} else {
			b = append(b, ",{"...)
		}
		b = append(b, `"n":`...)
		b = strconv.AppendQuote(b, string(info.Param))
		unit, ok := senmlUnits[info.Param]
		if !ok {
			unit = info.Unit
		}
		if unit != "" {
			b = append(b, `,"u":`...)
			b = strconv.AppendQuote(b, unit)
		}
		b = append(b, `,"v":`...)
		b = appendNumber(b, v)
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// appendNumber appends v as a JSON number in its shortest form; v is finite.
func appendNumber(b []byte, v float64) []byte {
	if v == 0 {
		return append(b, '0') // also −0
	}
	if a := math.Abs(v); a < 1e-6 || a >= 1e21 {
		return strconv.AppendFloat(b, v, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}
