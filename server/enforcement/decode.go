package enforcement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what one record may say. A count beyond them is a typing slip or
// an attack, not a day on the shore.
const (
	MaxPersons       = 1000
	MaxAnimals       = 10000
	MaxVehicles      = 500
	MaxItems         = 200
	MaxItemQuantity  = 100000
	MaxUnitValueFen  = 10_000_000_00 // ten million yuan
	MaxFineFen       = 100_000_000_00
	MaxOfficers      = 50
	MaxPhotos        = 50
	MaxPlates        = 500
	MaxTrackPoints   = 20000
	MaxNoteRunes     = 4000
	MaxTextRunes     = 500
	MaxIDLength      = 64
	maxFutureSkew    = 24 * time.Hour
	earliestObserved = 2000
)

// FieldError names one offending field of an input and what is wrong with it.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// ValidationError lists every offending field of one input. It is the only
// error Decode returns.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return "invalid record: " + strings.Join(parts, "; ")
}

func (e *ValidationError) add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	sort.SliceStable(e.Fields, func(i, j int) bool { return e.Fields[i].Field < e.Fields[j].Field })
	return e
}

// field describes one input field: which kinds may carry it (nil = all) and
// how to decode it into a record.
type field struct {
	kinds  []Kind
	decode func(r *Record, raw json.RawMessage) error
}

func into[T any](set func(r *Record, v T)) func(*Record, json.RawMessage) error {
	return func(r *Record, raw json.RawMessage) error {
		var v T
		if err := strictUnmarshal(raw, &v); err != nil {
			return err
		}
		set(r, v)
		return nil
	}
}

var fields = map[string]field{
	"id":          {nil, into(func(r *Record, v string) { r.ID = v })},
	"kind":        {nil, into(func(r *Record, v Kind) { r.Kind = v })},
	"observed_at": {nil, into(func(r *Record, v time.Time) { r.ObservedAt = v })},
	"gnss_at":     {nil, into(func(r *Record, v *time.Time) { r.GNSSAt = v })},
	"location":    {nil, into(func(r *Record, v *Point) { r.Location = v })},
	"crs":         {nil, nil}, // handled by the caller: it says how to read location
	"unit":        {nil, into(func(r *Record, v string) { r.Unit = v })},
	"officers":    {nil, into(func(r *Record, v []string) { r.Officers = v })},
	"patrol_id":   {nil, into(func(r *Record, v string) { r.PatrolID = v })},
	"campaign":    {nil, into(func(r *Record, v string) { r.Campaign = v })},
	"note":        {nil, into(func(r *Record, v string) { r.Note = v })},
	"photos":      {nil, into(func(r *Record, v []Photo) { r.Photos = v })},

	"started_at":  {[]Kind{KindPatrol}, into(func(r *Record, v *time.Time) { r.StartedAt = v })},
	"ended_at":    {[]Kind{KindPatrol}, into(func(r *Record, v *time.Time) { r.EndedAt = v })},
	"track":       {[]Kind{KindPatrol}, into(func(r *Record, v *LineString) { r.Track = v })},
	"track_times": {[]Kind{KindPatrol}, into(func(r *Record, v []time.Time) { r.TrackTimes = v })},

	"persons":  {[]Kind{KindExpulsion}, into(func(r *Record, v int64) { r.Persons = v })},
	"activity": {[]Kind{KindExpulsion}, into(func(r *Record, v Activity) { r.Activity = v })},

	"animals": {[]Kind{KindGrazing}, into(func(r *Record, v int64) { r.Animals = v })},

	"vehicles": {[]Kind{KindVehicle}, into(func(r *Record, v int64) { r.Vehicles = v })},
	"plates":   {[]Kind{KindVehicle}, into(func(r *Record, v []string) { r.Plates = v })},

	"items": {[]Kind{KindConfiscation}, into(func(r *Record, v []Item) { r.Items = v })},

	"case_no":     {[]Kind{KindCase}, into(func(r *Record, v string) { r.CaseNo = v })},
	"violation":   {[]Kind{KindCase}, into(func(r *Record, v string) { r.Violation = v })},
	"legal_basis": {[]Kind{KindCase}, into(func(r *Record, v string) { r.LegalBasis = v })},
	"party":       {[]Kind{KindCase}, into(func(r *Record, v string) { r.Party = v })},
	"fine_fen":    {[]Kind{KindCase}, into(func(r *Record, v int64) { r.FineFen = v })},
	"status":      {[]Kind{KindCase}, into(func(r *Record, v string) { r.Status = v })},
	"filed_at":    {[]Kind{KindCase}, into(func(r *Record, v *time.Time) { r.FiledAt = v })},
	"decided_at":  {[]Kind{KindCase}, into(func(r *Record, v *time.Time) { r.DecidedAt = v })},
}

// serverFields are assigned by the server; a client that sends a stored
// record back (to correct it) may include them, and they are ignored.
var serverFields = map[string]bool{
	"rev": true, "original_location": true, "unit_path": true, "created_by": true, "recorded_by": true,
	"received_at": true, "voided": true, "void_reason": true, "body_sha256": true,
	"zone": true, "town": true, "cell": true, "server_seq": true, "sync": true, "place": true, "effort": true,
	"photos_pending": true,
}

// Input is a decoded record before its coordinates are normalised: CRS is
// the coordinate system the client said its location is in ("" = WGS-84).
type Input struct {
	Record Record
	CRS    string
}

// Decode parses one record from JSON and validates it against DESIGN.md §3.
// now bounds how far in the future observed_at may lie. On failure it returns
// a *ValidationError naming every offending field, never a partial record.
// Coordinates are checked for range but not converted: the caller converts
// from Input.CRS to WGS-84.
func Decode(data []byte, now time.Time) (Input, error) { return decode(data, now, 0) }

// DecodeFromDevice is Decode for a record sent by a phone whose clock is
// offset from the server's (server minus device, measured at the push): its
// times are checked as the instants they stand for, t + offset, so that a
// phone whose clock was reset to 1970 or runs a year ahead has its records
// stored (as sent, and flagged by the caller) rather than refused.
func DecodeFromDevice(data []byte, now time.Time, offset time.Duration) (Input, error) {
	return decode(data, now, offset)
}

func decode(data []byte, now time.Time, shift time.Duration) (Input, error) {
	verr := &ValidationError{}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		verr.add("", "body is not a JSON object: %s", jsonProblem(err))
		return Input{}, verr
	}
	if raw == nil {
		verr.add("", "body is not a JSON object: null")
		return Input{}, verr
	}
	var in Input
	r := &in.Record
	if k, ok := raw["kind"]; ok {
		if err := strictUnmarshal(k, &r.Kind); err != nil {
			verr.add("kind", "%s", err)
		}
	}
	kindKnown := r.Kind.Valid()
	for name, value := range raw {
		if name == "kind" {
			continue
		}
		if serverFields[name] {
			continue
		}
		if name == "crs" {
			if err := strictUnmarshal(value, &in.CRS); err != nil {
				verr.add(name, "%s", err)
			}
			continue
		}
		f, ok := fields[name]
		if !ok {
			verr.add(name, "unknown field")
			continue
		}
		if kindKnown && f.kinds != nil && !containsKind(f.kinds, r.Kind) {
			verr.add(name, "not a field of a %s record", r.Kind)
			continue
		}
		if err := f.decode(r, value); err != nil {
			verr.add(name, "%s", err)
		}
	}
	// Validate even when some fields failed to decode, so that one answer
	// names every offending field; a field that failed to decode is not
	// reported a second time as missing.
	failed := map[string]bool{}
	for _, f := range verr.Fields {
		failed[f.Field] = true
	}
	if failed["track"] {
		failed["track_times"] = true // checked against the track that failed
	}
	rules := &ValidationError{}
	validate(&in, now, shift, rules)
	for _, f := range rules.Fields {
		if !failed[rootField(f.Field)] {
			verr.Fields = append(verr.Fields, f)
		}
	}
	if err := verr.orNil(); err != nil {
		return Input{}, err
	}
	return in, nil
}

// Valid reports whether k is one of the record kinds.
func (k Kind) Valid() bool { return containsKind(Kinds, k) }

// Valid reports whether a is one of the expulsion activities.
func (a Activity) Valid() bool {
	for _, x := range Activities {
		if x == a {
			return true
		}
	}
	return false
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// ValidID reports whether s may be used as a client-generated id: 1 to 64
// characters of letters, digits, '.', '_' or '-' (UUIDs and ULIDs qualify).
// The store builds document ids from it, so ':' is excluded.
func ValidID(s string) bool {
	return len(s) > 0 && len(s) <= MaxIDLength && idPattern.MatchString(s)
}

// Validate checks the semantic rules of a decoded input and appends every
// violation to verr.
func Validate(in *Input, now time.Time, verr *ValidationError) { validate(in, now, 0, verr) }

func validate(in *Input, now time.Time, shift time.Duration, verr *ValidationError) {
	r := &in.Record
	if !ValidID(r.ID) {
		verr.add("id", "required: 1 to %d letters, digits, '.', '_' or '-' (a UUID or ULID)", MaxIDLength)
	}
	if !r.Kind.Valid() {
		verr.add("kind", "must be one of patrol, expulsion, grazing, vehicle, confiscation, case")
	}
	checkTime(verr, "observed_at", r.ObservedAt, now, shift, true)
	if r.GNSSAt != nil {
		// Satellite time does not depend on the phone's clock.
		checkTime(verr, "gnss_at", *r.GNSSAt, now, 0, true)
	}
	switch strings.ToLower(in.CRS) {
	case "", "wgs84", "gcj02", "bd09":
		in.CRS = strings.ToLower(in.CRS)
	default:
		verr.add("crs", "must be wgs84, gcj02 or bd09")
	}
	if r.Location == nil {
		verr.add("location", "required: a GeoJSON Point [lon, lat]")
	} else {
		if r.Location.Type != "Point" {
			verr.add("location.type", `must be "Point"`)
		}
		checkPosition(verr, "location.coordinates", r.Location.Coordinates)
	}
	if !ValidID(r.Unit) {
		verr.add("unit", "required: the id of the team")
	}
	if len(r.Officers) > MaxOfficers {
		verr.add("officers", "at most %d", MaxOfficers)
	}
	for i, o := range r.Officers {
		if o == "" || utf8.RuneCountInString(o) > MaxTextRunes {
			verr.add(fmt.Sprintf("officers[%d]", i), "must be a user id")
		}
	}
	if r.PatrolID != "" && !ValidID(r.PatrolID) {
		verr.add("patrol_id", "must be a record id")
	}
	checkText(verr, "campaign", r.Campaign, MaxTextRunes)
	checkText(verr, "note", r.Note, MaxNoteRunes)
	if len(r.Photos) > MaxPhotos {
		verr.add("photos", "at most %d", MaxPhotos)
	}
	for i, p := range r.Photos {
		if !sha256Pattern.MatchString(p.SHA256) {
			verr.add(fmt.Sprintf("photos[%d].sha256", i), "must be 64 lower-case hex digits")
		}
		if p.Size <= 0 || p.Size > 50<<20 {
			verr.add(fmt.Sprintf("photos[%d].size", i), "must be 1 byte to 50 MiB")
		}
		if !strings.HasPrefix(p.MIME, "image/") {
			verr.add(fmt.Sprintf("photos[%d].mime", i), "must be an image/* type")
		}
	}
	switch r.Kind {
	case KindPatrol:
		validatePatrol(r, now, shift, verr)
	case KindExpulsion:
		checkCount(verr, "persons", r.Persons, 1, MaxPersons)
		if !r.Activity.Valid() {
			verr.add("activity", "must be one of fishing, swimming, visiting, other")
		}
	case KindGrazing:
		checkCount(verr, "animals", r.Animals, 0, MaxAnimals)
	case KindVehicle:
		checkCount(verr, "vehicles", r.Vehicles, 1, MaxVehicles)
		if len(r.Plates) > MaxPlates {
			verr.add("plates", "at most %d", MaxPlates)
		}
		for i, p := range r.Plates {
			if p == "" || utf8.RuneCountInString(p) > 20 {
				verr.add(fmt.Sprintf("plates[%d]", i), "must be 1 to 20 characters")
			}
		}
	case KindConfiscation:
		if len(r.Items) == 0 || len(r.Items) > MaxItems {
			verr.add("items", "required: 1 to %d items", MaxItems)
		}
		for i, it := range r.Items {
			if it.Name == "" || utf8.RuneCountInString(it.Name) > MaxTextRunes {
				verr.add(fmt.Sprintf("items[%d].name", i), "required, at most %d characters", MaxTextRunes)
			}
			checkCount(verr, fmt.Sprintf("items[%d].quantity", i), it.Quantity, 1, MaxItemQuantity)
			checkCount(verr, fmt.Sprintf("items[%d].unit_value_fen", i), it.UnitValueFen, 0, MaxUnitValueFen)
		}
	case KindCase:
		validateCase(r, now, shift, verr)
	}
}

func validatePatrol(r *Record, now time.Time, shift time.Duration, verr *ValidationError) {
	if r.StartedAt == nil {
		verr.add("started_at", "required for a patrol")
	} else {
		checkTime(verr, "started_at", *r.StartedAt, now, shift, true)
	}
	if r.EndedAt != nil {
		checkTime(verr, "ended_at", *r.EndedAt, now, shift, true)
		if r.StartedAt != nil && r.EndedAt.Before(*r.StartedAt) {
			verr.add("ended_at", "must not be before started_at")
		}
	}
	if r.Track != nil {
		if r.Track.Type != "LineString" {
			verr.add("track.type", `must be "LineString"`)
		}
		n := len(r.Track.Coordinates)
		if n < 2 || n > MaxTrackPoints {
			verr.add("track.coordinates", "must have 2 to %d positions", MaxTrackPoints)
		}
		for i, p := range r.Track.Coordinates {
			if len(verr.Fields) > 20 {
				break
			}
			checkPosition(verr, fmt.Sprintf("track.coordinates[%d]", i), p)
		}
		if r.TrackTimes != nil && len(r.TrackTimes) != n {
			verr.add("track_times", "must have one time per track position")
		}
	} else if r.TrackTimes != nil {
		verr.add("track_times", "given without a track")
	}
	for i, t := range r.TrackTimes {
		n := len(verr.Fields)
		if checkTime(verr, fmt.Sprintf("track_times[%d]", i), t, now, shift, true); len(verr.Fields) > n {
			break // one bad time is enough to name
		}
	}
	for i := 1; i < len(r.TrackTimes); i++ {
		if r.TrackTimes[i].Before(r.TrackTimes[i-1]) {
			verr.add(fmt.Sprintf("track_times[%d]", i), "must not be before the time before it")
			break
		}
	}
}

// CaseStatuses are the statuses a case record may carry; the case workflow
// decides which transitions are allowed.
var CaseStatuses = []string{"filed", "investigating", "notice_served", "hearing", "legal_review",
	"decided", "served", "paid", "enforced", "closed", "withdrawn", "transferred"}

func validateCase(r *Record, now time.Time, shift time.Duration, verr *ValidationError) {
	checkText(verr, "case_no", r.CaseNo, 100)
	checkText(verr, "violation", r.Violation, MaxTextRunes)
	checkText(verr, "legal_basis", r.LegalBasis, MaxTextRunes)
	checkText(verr, "party", r.Party, MaxTextRunes)
	checkCount(verr, "fine_fen", r.FineFen, 0, MaxFineFen)
	if r.Status == "" {
		r.Status = "filed"
	}
	known := false
	for _, s := range CaseStatuses {
		known = known || s == r.Status
	}
	if !known {
		verr.add("status", "must be one of %s", strings.Join(CaseStatuses, ", "))
	}
	if r.FiledAt == nil {
		verr.add("filed_at", "required for a case")
	} else {
		checkTime(verr, "filed_at", *r.FiledAt, now, shift, true)
	}
	if r.DecidedAt != nil {
		checkTime(verr, "decided_at", *r.DecidedAt, now, shift, true)
		if r.FiledAt != nil && r.DecidedAt.Before(*r.FiledAt) {
			verr.add("decided_at", "must not be before filed_at")
		}
	}
	if r.FineFen > 0 && r.DecidedAt == nil {
		verr.add("decided_at", "required when a fine is set: a fine exists only once decided")
	}
}

// checkTime checks t, as the instant t + shift (a device's time corrected
// by its clock offset), against the earliest year and now.
func checkTime(verr *ValidationError, name string, t, now time.Time, shift time.Duration, required bool) {
	switch {
	case t.IsZero():
		if required {
			verr.add(name, "required: an RFC 3339 instant")
		}
	case t.Add(shift).UTC().Year() < earliestObserved:
		verr.add(name, "before the year %d", earliestObserved)
	case t.Add(shift).After(now.Add(maxFutureSkew)):
		verr.add(name, "more than 24 hours in the future")
	}
}

func checkPosition(verr *ValidationError, name string, p Position) {
	lon, lat := p[0], p[1]
	if math.IsNaN(lon) || math.IsInf(lon, 0) || lon < -180 || lon > 180 {
		verr.add(name, "longitude must be within [-180, 180]")
	}
	if math.IsNaN(lat) || math.IsInf(lat, 0) || lat < -90 || lat > 90 {
		verr.add(name, "latitude must be within [-90, 90]")
	}
}

func checkCount(verr *ValidationError, name string, v, lo, hi int64) {
	if v < lo || v > hi {
		verr.add(name, "must be between %d and %d", lo, hi)
	}
}

func checkText(verr *ValidationError, name, s string, max int) {
	if !utf8.ValidString(s) {
		verr.add(name, "must be valid UTF-8")
	} else if utf8.RuneCountInString(s) > max {
		verr.add(name, "at most %d characters", max)
	}
}

// strictUnmarshal decodes one field value and refuses unknown nested fields.
func strictUnmarshal(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", jsonProblem(err))
	}
	return nil
}

// jsonProblem turns an encoding/json error into a message for a client, without
// Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case asErr(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%s: wrong type: got %s", te.Field, te.Value)
		}
		return "wrong type: got " + te.Value
	case asErr(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case strings.Contains(err.Error(), "parsing time"):
		return "must be an RFC 3339 instant"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }

// rootField is the top-level field name of a path such as items[2].name.
func rootField(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}
