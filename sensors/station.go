package sensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// Limits on what a station may say.
const (
	// MaxIDLength is the longest station id, in bytes.
	MaxIDLength = 64
	// MaxNameRunes is the longest name or English name, in characters.
	MaxNameRunes = 100
	// MinInterval and MaxInterval bound a station's expected reporting
	// interval, inclusive.
	MinInterval = Interval(time.Second)
	MaxInterval = Interval(7 * 24 * time.Hour)
)

// Station is an automatic water-quality monitoring station: a point on the
// reservoir or a river section, the class it must meet and what it reports.
// Its device credential is not part of it; the server keeps that.
type Station struct {
	// ID identifies the station; it is the {station_id} of the MQTT topic
	// baoshui/v1/stations/{station_id}/readings and the prefix of the
	// stored readings' ids, so it is 1 to MaxIDLength letters, digits, '.',
	// '_' or '-', starting with a letter or digit (no '/', '+', '#', ':').
	ID string `json:"id"`
	// Name is the Chinese name, NameEN the English one (optional).
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
	// Location is where the station samples, WGS-84.
	Location Location `json:"location"`
	// WaterBody picks the total-phosphorus column and whether total
	// nitrogen is evaluated.
	WaterBody WaterBody `json:"water_body"`
	// TargetClass is the class the station's water must meet (Class II for
	// the reservoir body and the Chao and Bai river inflows); a sample whose
	// assessment class is worse is an exceedance.
	TargetClass Class `json:"target_class"`
	// Params are the parameters the station reports, without repeats: field
	// names of Params, at least one of them classified for WaterBody.
	Params []Param `json:"params"`
	// Interval is the expected time between two readings; a station silent
	// for longer is overdue.
	Interval Interval `json:"interval"`
	// Approximate marks a station whose location is illustrative, not the
	// surveyed position of a real station.
	Approximate bool `json:"approximate,omitempty"`
}

// Reports reports whether the station lists p among its parameters.
func (st Station) Reports(p Param) bool {
	for _, q := range st.Params {
		if q == p {
			return true
		}
	}
	return false
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidStationID reports whether s may be a station id (see Station.ID).
func ValidStationID(s string) bool {
	return len(s) > 0 && len(s) <= MaxIDLength && idPattern.MatchString(s)
}

// ValidateStation checks every field of st and returns nil, or a
// *ValidationError naming every offending field in the order of the
// struct: id, name, name_en, location, water_body, target_class, params
// (each bad entry as params[i]) and interval.
func ValidateStation(st Station) error {
	verr := &ValidationError{Op: "sensors.ValidateStation"}
	for _, p := range stationProblems(st) {
		verr.add(p)
	}
	return verr.orNil()
}

// stationProblems returns the faults of st, in the order of the struct.
func stationProblems(st Station) []Problem {
	var out []Problem
	add := func(field, format string, args ...any) {
		out = append(out, Problem{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	if !ValidStationID(st.ID) {
		add("id", "required: 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit", MaxIDLength)
	}
	if d := nameProblem(st.Name, true); d != "" {
		add("name", "%s", d)
	}
	if d := nameProblem(st.NameEN, false); d != "" {
		add("name_en", "%s", d)
	}
	lon, lat := st.Location.Lon, st.Location.Lat
	switch {
	case lon == 0 && lat == 0:
		add("location", "required: a GeoJSON Point [lon, lat] (WGS-84); [0, 0] is taken as missing")
	case !(lon >= -180 && lon <= 180) || !(lat >= -90 && lat <= 90):
		add("location", "coordinates [%v, %v] are outside [-180, 180] × [-90, 90]", lon, lat)
	}
	if !st.WaterBody.Valid() {
		add("water_body", "must be reservoir or river, got %q", string(st.WaterBody))
	}
	if !st.TargetClass.ValidTarget() {
		add("target_class", "must be one of I, II, III, IV, V, got %s", st.TargetClass)
	}
	if len(st.Params) == 0 {
		add("params", "required: the parameters the station reports")
	}
	first := map[Param]int{}
	classified := false
	for i, p := range st.Params {
		field := "params[" + strconv.Itoa(i) + "]"
		if !p.Known() {
			add(field, "unknown parameter %q", string(p))
			continue
		}
		if j, dup := first[p]; dup {
			add(field, "%s repeats params[%d]", p, j)
			continue
		}
		first[p] = i
		classified = classified || limitIndex(st.WaterBody, p) >= 0
	}
	if len(st.Params) > 0 && st.WaterBody.Valid() && !classified {
		add("params", "none of them is classified for a %s station", st.WaterBody)
	}
	switch d := st.Interval; {
	case d == 0:
		add("interval", `required: an ISO 8601 duration such as "PT5M", or a number of seconds`)
	case d < MinInterval || d > MaxInterval:
		add("interval", "%s is outside %s to %s", d, MinInterval, MaxInterval)
	case time.Duration(d)%time.Second != 0:
		add("interval", "%s is not a whole number of seconds", d)
	}
	return out
}

// nameProblem returns why s is not a valid name, or "".
func nameProblem(s string, required bool) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.TrimSpace(s) == "":
		if required || s != "" {
			return "required: a non-blank name"
		}
	case utf8.RuneCountInString(s) > MaxNameRunes:
		return fmt.Sprintf("at most %d characters", MaxNameRunes)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// DecodeStation reads one station from a JSON object, strictly: an unknown
// or repeated member, a value of the wrong type or any fault ValidateStation
// finds is refused. On failure it returns a *ValidationError naming every
// offending field, and no station.
func DecodeStation(data []byte) (Station, error) {
	verr := &ValidationError{Op: "sensors.DecodeStation"}
	st, probs := decodeStation(data)
	for _, p := range probs {
		verr.add(p)
	}
	if err := verr.orNil(); err != nil {
		return Station{}, err
	}
	return st, nil
}

// decodeStation decodes and validates one station object. A field that
// fails to decode is not reported a second time by the validation.
func decodeStation(data []byte) (Station, []Problem) {
	var st Station
	ms, err := objectMembers(data)
	if err != nil {
		return st, []Problem{{Detail: "station " + err.Error()}}
	}
	var out []Problem
	seen, failed := map[string]bool{}, map[string]bool{}
	for _, m := range ms {
		if seen[m.key] {
			out = append(out, Problem{Field: m.key, Detail: "repeated member"})
			failed[m.key] = true
			continue
		}
		seen[m.key] = true
		var err error
		switch m.key {
		case "id":
			err = strictUnmarshal(m.value, &st.ID)
		case "name":
			err = strictUnmarshal(m.value, &st.Name)
		case "name_en":
			err = strictUnmarshal(m.value, &st.NameEN)
		case "location":
			st.Location, err = decodeLocation(m.value)
		case "water_body":
			err = strictUnmarshal(m.value, &st.WaterBody)
		case "target_class":
			var s string
			if err = strictUnmarshal(m.value, &s); err == nil {
				if st.TargetClass, err = ParseClass(s); err != nil {
					err = fmt.Errorf("must be one of I, II, III, IV, V, got %q", s)
				}
			}
		case "params":
			err = strictUnmarshal(m.value, &st.Params)
		case "interval":
			st.Interval, err = decodeInterval(m.value)
		case "approximate":
			err = strictUnmarshal(m.value, &st.Approximate)
		default:
			err = errors.New("unknown member")
		}
		if err != nil {
			out = append(out, Problem{Field: m.key, Detail: err.Error()})
			failed[m.key] = true
		}
	}
	for _, p := range stationProblems(st) {
		if !failed[rootField(p.Field)] {
			out = append(out, p)
		}
	}
	return st, out
}

// rootField is the top-level member name of a path such as params[2].
func rootField(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

// LoadStations reads a stations file such as testdata/stations.json: a JSON
// object with the member "stations", an array of at least one station
// object (see DecodeStation), and an optional string "note" (say there that
// the locations are approximate). It is strict: an unknown or repeated
// member, at any level, a wrong type, a fault ValidateStation finds and two
// stations with the same id are refused. On failure it returns a
// *ValidationError naming every problem found, each with its path (as in
// "stations[3].target_class") and, when known, the station's id; otherwise
// the stations in the order of the file.
func LoadStations(data []byte) ([]Station, error) {
	verr := &ValidationError{Op: "sensors.LoadStations"}
	ms, err := objectMembers(data)
	if err != nil {
		verr.addf("", "stations file %s", err)
		return nil, verr
	}
	var list json.RawMessage
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.key] {
			verr.addf(m.key, "repeated member")
			continue
		}
		seen[m.key] = true
		switch m.key {
		case "note":
			var s string
			if err := strictUnmarshal(m.value, &s); err != nil {
				verr.addf("note", "%s", err)
			}
		case "stations":
			list = m.value
		default:
			verr.addf(m.key, "unknown member")
		}
	}
	var raws []json.RawMessage
	switch {
	case list == nil:
		verr.addf("stations", "required: an array of station objects")
	case !bytes.HasPrefix(bytes.TrimSpace(list), []byte("[")):
		verr.addf("stations", "must be an array of station objects")
	default:
		if err := strictUnmarshal(list, &raws); err != nil {
			verr.addf("stations", "%s", err)
		} else if len(raws) == 0 {
			verr.addf("stations", "must hold at least one station")
		}
	}
	out := make([]Station, 0, len(raws))
	ids := map[string]int{}
	for i, raw := range raws {
		st, probs := decodeStation(raw)
		prefix := "stations[" + strconv.Itoa(i) + "]"
		for _, p := range probs {
			p.Field = joinPath(prefix, p.Field)
			p.Station = st.ID
			verr.add(p)
		}
		if st.ID != "" {
			if j, dup := ids[st.ID]; dup {
				verr.add(Problem{Field: prefix + ".id", Station: st.ID,
					Detail: fmt.Sprintf("duplicate id: stations[%d] has the same id", j)})
			} else {
				ids[st.ID] = i
			}
		}
		out = append(out, st)
	}
	if err := verr.orNil(); err != nil {
		return nil, err
	}
	return out, nil
}

// joinPath appends field to the path prefix.
func joinPath(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}

// Location is a position in WGS-84 degrees. In JSON it is a GeoJSON Point,
// {"type": "Point", "coordinates": [lon, lat]}.
type Location struct {
	Lon float64
	Lat float64
}

// Point returns l as an orb.Point, [lon, lat], for the geo package.
func (l Location) Point() orb.Point { return orb.Point{l.Lon, l.Lat} }

// MarshalJSON writes l as a GeoJSON Point.
func (l Location) MarshalJSON() ([]byte, error) {
	if math.IsNaN(l.Lon) || math.IsNaN(l.Lat) || math.IsInf(l.Lon, 0) || math.IsInf(l.Lat, 0) {
		return nil, fmt.Errorf("sensors.Location.MarshalJSON: %w: coordinates [%v, %v] are not finite", ErrInvalid, l.Lon, l.Lat)
	}
	return fmt.Appendf(nil, `{"type":"Point","coordinates":[%s,%s]}`, num(l.Lon), num(l.Lat)), nil
}

// UnmarshalJSON reads a GeoJSON Point strictly: the members "type" (which
// must be "Point") and "coordinates" (exactly [lon, lat], no altitude) and
// no other. It does not check the ranges; ValidateStation does.
func (l *Location) UnmarshalJSON(b []byte) error {
	v, err := decodeLocation(b)
	if err != nil {
		return fmt.Errorf("sensors.Location.UnmarshalJSON: %w: %v", ErrInvalid, err)
	}
	*l = v
	return nil
}

// decodeLocation reads a GeoJSON Point as UnmarshalJSON describes.
func decodeLocation(raw []byte) (Location, error) {
	const want = `must be a GeoJSON Point {"type": "Point", "coordinates": [lon, lat]}`
	ms, err := objectMembers(raw)
	if err != nil {
		return Location{}, fmt.Errorf("%s: %v", want, err)
	}
	var typ string
	var coords []*float64
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.key] {
			return Location{}, fmt.Errorf("repeated member %q", m.key)
		}
		seen[m.key] = true
		switch m.key {
		case "type":
			if err := strictUnmarshal(m.value, &typ); err != nil || typ != "Point" {
				return Location{}, errors.New(`type: must be "Point"`)
			}
		case "coordinates":
			if err := strictUnmarshal(m.value, &coords); err != nil || len(coords) != 2 || coords[0] == nil || coords[1] == nil {
				return Location{}, errors.New("coordinates: must be [lon, lat], two numbers")
			}
		default:
			return Location{}, fmt.Errorf("unknown member %q: %s", m.key, want)
		}
	}
	if !seen["type"] || !seen["coordinates"] {
		return Location{}, errors.New(want)
	}
	return Location{Lon: *coords[0], Lat: *coords[1]}, nil
}

// Interval is a station's expected reporting interval. In JSON it is an ISO
// 8601 duration of days, hours, minutes and seconds ("PT5M", "PT1H30M",
// "P1D") or a whole number of seconds (300); it is written in the ISO form.
type Interval time.Duration

// Duration returns d as a time.Duration.
func (d Interval) Duration() time.Duration { return time.Duration(d) }

// String returns d as an ISO 8601 duration, such as "PT5M" or "P1DT2H";
// zero is "PT0S", and a fraction of a second is written in the seconds.
func (d Interval) String() string {
	sign, total := "", time.Duration(d)
	if total < 0 {
		sign = "-"
	}
	secs := total / time.Second
	frac := total % time.Second
	if secs < 0 || frac < 0 {
		secs, frac = -secs, -frac // both fit: only the most negative Duration has no opposite
	}
	days, h, m, s := int64(secs/86400), int64(secs/3600%24), int64(secs/60%60), int64(secs%60)
	var b strings.Builder
	b.WriteString(sign + "P")
	if days > 0 {
		b.WriteString(strconv.FormatInt(days, 10) + "D")
	}
	if h > 0 || m > 0 || s > 0 || frac > 0 || days == 0 {
		b.WriteString("T")
		if h > 0 {
			b.WriteString(strconv.FormatInt(h, 10) + "H")
		}
		if m > 0 {
			b.WriteString(strconv.FormatInt(m, 10) + "M")
		}
		if s > 0 || frac > 0 || (h == 0 && m == 0) {
			b.WriteString(strconv.FormatFloat(float64(s)+frac.Seconds(), 'f', -1, 64) + "S")
		}
	}
	return b.String()
}

var isoDuration = regexp.MustCompile(`^P(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$`)

// ParseInterval reads an ISO 8601 duration of whole days, hours, minutes
// and seconds, such as "PT5M", "PT1H30M" or "P1D". Years, months, weeks and
// fractions are refused: a year or a month has no fixed length.
func ParseInterval(s string) (Interval, error) {
	d, err := parseISO(s)
	if err != nil {
		return 0, fmt.Errorf("sensors.ParseInterval: %w: %v", ErrInvalid, err)
	}
	return d, nil
}

// parseISO is ParseInterval without the operation's name.
func parseISO(s string) (Interval, error) {
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, fmt.Errorf(`%q is not an ISO 8601 duration such as "PT5M", "PT1H30M" or "P1D"`, s)
	}
	var secs int64
	for i, unit := range [...]int64{86400, 3600, 60, 1} {
		if m[i+1] != "" {
			n, _ := strconv.ParseInt(m[i+1], 10, 64) // at most 9 digits
			secs += n * unit
		}
	}
	return secondsInterval(float64(secs))
}

// secondsInterval converts a whole, non-negative number of seconds.
func secondsInterval(secs float64) (Interval, error) {
	switch {
	case secs < 0 || math.IsNaN(secs):
		return 0, fmt.Errorf("%v seconds is negative", secs)
	case secs != math.Trunc(secs):
		return 0, fmt.Errorf("%v is not a whole number of seconds", secs)
	case secs > float64(MaxInterval/Interval(time.Second))*1000:
		return 0, fmt.Errorf("%v seconds is far beyond %s", secs, MaxInterval)
	}
	return Interval(time.Duration(secs) * time.Second), nil
}

// MarshalJSON writes d as an ISO 8601 duration string.
func (d Interval) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads an ISO 8601 duration string or a whole number of
// seconds. It does not check the range; ValidateStation does.
func (d *Interval) UnmarshalJSON(b []byte) error {
	v, err := decodeInterval(b)
	if err != nil {
		return fmt.Errorf("sensors.Interval.UnmarshalJSON: %w: %v", ErrInvalid, err)
	}
	*d = v
	return nil
}

// decodeInterval reads an interval as UnmarshalJSON describes.
func decodeInterval(raw []byte) (Interval, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errors.New(jsonProblem(err))
		}
		return parseISO(s)
	}
	var n json.Number
	if err := strictUnmarshal(raw, &n); err != nil {
		return 0, errors.New(`must be an ISO 8601 duration such as "PT5M", or a number of seconds`)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not a number of seconds", n)
	}
	return secondsInterval(f)
}
