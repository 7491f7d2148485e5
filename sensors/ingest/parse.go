package ingest

// This file decodes and checks the payload of one MQTT message. Two formats
// are accepted on baoshui/v1/stations/{station_id}/readings:
//
// A JSON object: the instant of the measurement as "ts" (RFC 3339, with
// an offset) and one member per measured value, named by its GB 3838 field
// name (sensors.Param), each a JSON number:
//
//	{"ts": "2024-05-01T08:00:00+08:00", "ph": 7.9, "do_mg_l": 8.1, "tp_mg_l": 0.021}
//
// A SenML pack (RFC 8428, JSON representation): an array of records. Base
// name, base time, base unit and base value apply to their record and the
// following ones, as the RFC says. The resolved name of a record is the
// field name, optionally prefixed by StationURNPrefix, the station id and a
// colon: with bn "urn:dev:station:res-dam:" and n "tp_mg_l" the record is
// total phosphorus at station res-dam, and the station must be the one of
// the topic. The resolved time (bt + t, seconds since the Unix epoch) must
// be absolute: SenML's relative times (below 2^28) would resolve to a new
// instant on every redelivery and defeat de-duplication, so they are
// refused. Records at different times make one sample each, so a pack may
// carry a station's backlog. Only numeric values ("v") are accepted; string,
// boolean and data values and sums are refused, and so is any field whose
// label ends in "_" (the RFC's must-understand fields); other unknown labels
// are ignored, as the RFC says. A unit ("u" or "bu"), when given, must be
// the parameter's unit (see unitOK).
//
// Times are kept to the millisecond (an RFC 3339 time is truncated, a SenML
// time rounded), the precision of the store's dates and of a reading's id.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/baoshui/baoshui/sensors"
)

// Reason is a short code saying why a message was refused; it is the label
// of the quarantine counters and of the log.
type Reason string

// The reasons a message is refused.
const (
	// ReasonTopic: the topic is not baoshui/v1/stations/{station_id}/readings
	// with a valid station id.
	ReasonTopic Reason = "bad_topic"
	// ReasonUnknownStation: the topic names a station that is not
	// registered.
	ReasonUnknownStation Reason = "unknown_station"
	// ReasonTooLarge: the payload is longer than MaxPayload.
	ReasonTooLarge Reason = "too_large"
	// ReasonMalformed: not JSON, neither an object nor an array, a value
	// that is not a number, a duplicate member, or a SenML pack this
	// package cannot read.
	ReasonMalformed Reason = "malformed"
	// ReasonStationMismatch: the payload names a station (a SenML base
	// name) other than the topic's: a device writing for another station.
	ReasonStationMismatch Reason = "station_mismatch"
	// ReasonInvalidSample: the sample breaks a rule of the sensors
	// package (sensors.ValidateSample): no time, no value, an unknown
	// field name, NaN, a negative concentration, a pH outside 0 to 14;
	// or a SenML unit that is not the parameter's.
	ReasonInvalidSample Reason = "invalid_sample"
	// ReasonTime: the time is too far in the future (beyond
	// Parser.MaxFuture ahead of the receiving clock), before MinTime, or a
	// relative SenML time.
	ReasonTime Reason = "ts_out_of_range"
)

// Reasons lists every Reason, for counters that want a zero for each.
var Reasons = []Reason{ReasonTopic, ReasonUnknownStation, ReasonTooLarge, ReasonMalformed,
	ReasonStationMismatch, ReasonInvalidSample, ReasonTime}

// RejectError says why a message was refused.
type RejectError struct {
	Reason Reason
	// Detail says what is wrong, for a person.
	Detail string
}

// Error returns "reason: detail".
func (e *RejectError) Error() string { return string(e.Reason) + ": " + e.Detail }

func reject(r Reason, format string, args ...any) *RejectError {
	return &RejectError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Limits of what a message may carry.
const (
	// MaxPayload is the longest payload accepted, in bytes: room for a
	// SenML backlog of about a thousand records.
	MaxPayload = 64 << 10
	// DefaultMaxFuture is how far ahead of the receiving clock a reading's
	// time may be, by default: station clocks drift, but not by more.
	DefaultMaxFuture = 10 * time.Minute
	// StationURNPrefix starts a SenML name that names its station:
	// "urn:dev:station:{station_id}:{field}". It is usually given as the
	// base name, "urn:dev:station:{station_id}:".
	StationURNPrefix = "urn:dev:station:"
	// senmlVersion is the SenML version this package reads (RFC 8428).
	senmlVersion = 10
	// minAbsoluteSenML is 2^28: smaller SenML times are relative.
	minAbsoluteSenML = 1 << 28
)

// MinTime is the earliest time a reading may have: a station whose clock
// was reset reports 1970 or 2000, which must not be stored as data.
var MinTime = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// The topic of the readings.
const (
	topicPrefix = "baoshui/v1/stations/"
	topicSuffix = "/readings"
	// DefaultTopic is the filter the ingest subscribes to by default.
	DefaultTopic = topicPrefix + "+" + topicSuffix
)

// ReadingsTopic returns the topic station publishes its readings on.
func ReadingsTopic(station string) string { return topicPrefix + station + topicSuffix }

// StationFromTopic returns the station id of a readings topic, and false
// when topic is not baoshui/v1/stations/{station_id}/readings with a valid
// station id (sensors.ValidStationID).
func StationFromTopic(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, topicPrefix)
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, topicSuffix)
	if !ok || !sensors.ValidStationID(id) {
		return "", false
	}
	return id, true
}

// Payload is a decoded message, before it is checked against a station.
type Payload struct {
	// Station is the station the payload names (in a SenML name), or ""
	// when it names none; a JSON object never does.
	Station string
	// Samples are the samples of the payload, one per distinct time, in
	// time order: exactly one for a JSON object.
	Samples []sensors.Sample
}

// DecodePayload decodes a JSON object or a SenML pack (see the comment at
// the top of this file). The error is a *RejectError, ReasonMalformed for
// what cannot be read, ReasonInvalidSample for a wrong unit and ReasonTime
// for a relative or unrepresentable SenML time. The values are not checked
// (NaN cannot be written in JSON; negative values, unknown names and a
// missing time are for sensors.ValidateSample to find).
func DecodePayload(payload []byte) (Payload, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return Payload{}, reject(ReasonMalformed, "%s", jsonProblem(err))
	}
	var p Payload
	switch tok {
	case json.Delim('{'):
		s, rerr := decodeObject(dec)
		if rerr != nil {
			return Payload{}, rerr
		}
		p.Samples = []sensors.Sample{s}
	case json.Delim('['):
		var rerr *RejectError
		if p, rerr = decodeSenML(dec); rerr != nil {
			return Payload{}, rerr
		}
	default:
		return Payload{}, reject(ReasonMalformed, "must be a JSON object or a SenML array, got %s", jsonKind(tok))
	}
	if _, err := dec.Token(); err != io.EOF {
		return Payload{}, reject(ReasonMalformed, "unexpected data after the JSON value")
	}
	return p, nil
}

// decodeObject reads the members of a JSON object payload; dec has read
// the opening brace.
func decodeObject(dec *json.Decoder) (sensors.Sample, *RejectError) {
	s := sensors.Sample{Values: make(map[sensors.Param]float64)}
	seen := make(map[string]bool)
	for dec.More() {
		key, raw, rerr := nextMember(dec)
		if rerr != nil {
			return s, rerr
		}
		if seen[key] {
			return s, reject(ReasonMalformed, "member %q given twice", key)
		}
		seen[key] = true
		if key == "ts" {
			var str string
			if rerr := stringOf(raw, "ts", &str); rerr != nil {
				return s, rerr
			}
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				return s, reject(ReasonMalformed, "ts: %q is not an RFC 3339 time with an offset", str)
			}
			s.Time = t.UTC().Truncate(time.Millisecond)
			continue
		}
		v, rerr := numberOf(raw, key)
		if rerr != nil {
			return s, rerr
		}
		s.Values[sensors.Param(key)] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return s, reject(ReasonMalformed, "%s", jsonProblem(err))
	}
	// A missing ts leaves the zero time, which sensors.ValidateSample
	// reports.
	return s, nil
}

// senmlRecord holds the labels of one SenML record this package reads.
type senmlRecord struct {
	bn, bu, n, u       *string
	bt, bv, bver, v, t *float64
	// hasContent reports a label of a measurement (n, u, v, t), as
	// opposed to a record of base fields only.
	hasContent bool
}

// decodeSenML reads a SenML pack; dec has read the opening bracket.
func decodeSenML(dec *json.Decoder) (Payload, *RejectError) {
	var (
		p         Payload
		bn, bu    string
		bt, bv    float64
		byTime    = make(map[int64]*sensors.Sample)
		nRecords  int
		stationAt int = -1
	)
	for dec.More() {
		i := nRecords
		nRecords++
		tok, err := dec.Token()
		if err != nil {
			return p, reject(ReasonMalformed, "%s", jsonProblem(err))
		}
		if tok != json.Delim('{') {
			return p, reject(ReasonMalformed, "record %d: must be a JSON object, got %s", i, jsonKind(tok))
		}
		r, rerr := decodeRecord(dec, i)
		if rerr != nil {
			return p, rerr
		}
		if r.bver != nil {
			if v := *r.bver; v != math.Trunc(v) || v < 1 || v > senmlVersion {
				return p, reject(ReasonMalformed, "record %d: SenML version %v not supported (this reads %d)", i, v, senmlVersion)
			}
		}
		if r.bn != nil {
			bn = *r.bn
		}
		if r.bt != nil {
			bt = *r.bt
		}
		if r.bu != nil {
			bu = *r.bu
		}
		if r.bv != nil {
			bv = *r.bv
		}
		if !r.hasContent {
			continue // a record of base fields only
		}
		name := bn
		if r.n != nil {
			name += *r.n
		}
		if name == "" {
			return p, reject(ReasonMalformed, "record %d: no name (n or bn)", i)
		}
		if r.v == nil {
			return p, reject(ReasonMalformed, "record %d (%s): no numeric value v", i, name)
		}
		field := name
		if rest, ok := strings.CutPrefix(name, StationURNPrefix); ok {
			id, f, ok := strings.Cut(rest, ":")
			if !ok || !sensors.ValidStationID(id) || f == "" {
				return p, reject(ReasonMalformed, "record %d: name %q: want %s{station_id}:{field}", i, name, StationURNPrefix)
			}
			if p.Station != "" && id != p.Station {
				return p, reject(ReasonStationMismatch, "record %d names station %q, record %d station %q", i, id, stationAt, p.Station)
			}
			p.Station, stationAt, field = id, i, f
		}
		param := sensors.Param(field)
		unit := bu
		if r.u != nil {
			unit = *r.u
		}
		if !unitOK(param, unit) {
			info, _ := sensors.LookupParam(param)
			return p, reject(ReasonInvalidSample, "record %d (%s): unit %q: %s is measured in %q", i, name, unit, param, info.Unit)
		}
		value := bv + *r.v
		secs := bt
		if r.t != nil {
			secs += *r.t
		}
		var at time.Time
		var key int64
		switch {
		case secs == 0:
			// No time at all: the sample has none, which
			// sensors.ValidateSample reports.
		case math.IsNaN(secs) || math.IsInf(secs, 0) || secs < minAbsoluteSenML:
			return p, reject(ReasonTime, "record %d (%s): time %v is relative (below 2^28) or not a number: "+
				"an absolute time, seconds since 1970, is required", i, name, secs)
		case secs > 253402300799: // 9999-12-31T23:59:59Z
			return p, reject(ReasonTime, "record %d (%s): time %v is beyond the year 9999", i, name, secs)
		default:
			key = int64(math.Round(secs * 1000))
			at = time.UnixMilli(key).UTC()
		}
		s := byTime[key]
		if s == nil {
			s = &sensors.Sample{Time: at, Values: make(map[sensors.Param]float64)}
			byTime[key] = s
		}
		if _, dup := s.Values[param]; dup {
			return p, reject(ReasonMalformed, "record %d: %s given twice for the same time", i, name)
		}
		s.Values[param] = value
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return p, reject(ReasonMalformed, "%s", jsonProblem(err))
	}
	if len(byTime) == 0 {
		return p, reject(ReasonMalformed, "SenML pack without a measured value")
	}
	keys := make([]int64, 0, len(byTime))
	for k := range byTime {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p.Samples = append(p.Samples, *byTime[k])
	}
	return p, nil
}

// decodeRecord reads the members of SenML record i; dec has read its
// opening brace.
func decodeRecord(dec *json.Decoder, i int) (senmlRecord, *RejectError) {
	r, rerr := decodeRecordMembers(dec)
	if rerr != nil && rerr.Reason == ReasonMalformed {
		rerr.Detail = fmt.Sprintf("record %d: %s", i, rerr.Detail)
	}
	return r, rerr
}

func decodeRecordMembers(dec *json.Decoder) (senmlRecord, *RejectError) {
	var r senmlRecord
	var seen []string
	for dec.More() {
		key, raw, rerr := nextMember(dec)
		if rerr != nil {
			return r, rerr
		}
		if slices.Contains(seen, key) {
			return r, reject(ReasonMalformed, "label %q given twice", key)
		}
		seen = append(seen, key)
		var sp **string
		var fp **float64
		switch key {
		case "bn":
			sp = &r.bn
		case "bu":
			sp = &r.bu
		case "n":
			sp, r.hasContent = &r.n, true
		case "u":
			sp, r.hasContent = &r.u, true
		case "bt":
			fp = &r.bt
		case "bv":
			fp = &r.bv
		case "bver":
			fp = &r.bver
		case "v":
			fp, r.hasContent = &r.v, true
		case "t":
			fp, r.hasContent = &r.t, true
		case "ut":
			if _, rerr := numberOf(raw, key); rerr != nil {
				return r, rerr
			}
		case "vs", "vb", "vd":
			return r, reject(ReasonMalformed, "%s: only numeric values (v) are accepted", key)
		case "s", "bs":
			return r, reject(ReasonMalformed, "%s: sums are not accepted", key)
		default:
			if strings.HasSuffix(key, "_") {
				return r, reject(ReasonMalformed, "%s: must-understand label not supported", key)
			}
		}
		switch {
		case sp != nil:
			var s string
			if rerr := stringOf(raw, key, &s); rerr != nil {
				return r, rerr
			}
			*sp = &s
		case fp != nil:
			f, rerr := numberOf(raw, key)
			if rerr != nil {
				return r, rerr
			}
			*fp = &f
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return r, reject(ReasonMalformed, "%s", jsonProblem(err))
	}
	return r, nil
}

// nextMember reads the name and the raw value of the next member of an
// object.
func nextMember(dec *json.Decoder) (string, json.RawMessage, *RejectError) {
	tok, err := dec.Token()
	if err != nil {
		return "", nil, reject(ReasonMalformed, "%s", jsonProblem(err))
	}
	key, _ := tok.(string) // inside an object, Token yields the names as strings
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return "", nil, reject(ReasonMalformed, "%s: %s", key, jsonProblem(err))
	}
	return key, raw, nil
}

// numberOf returns the JSON number raw holds.
func numberOf(raw json.RawMessage, label string) (float64, *RejectError) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, reject(ReasonMalformed, "%s: must be a number, got %s", label, rawKind(raw))
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, reject(ReasonMalformed, "%s: number %s is out of range", label, raw)
	}
	return v, nil
}

// stringOf decodes the JSON string raw holds into s.
func stringOf(raw json.RawMessage, label string, s *string) *RejectError {
	if len(raw) == 0 || raw[0] != '"' {
		return reject(ReasonMalformed, "%s: must be a string, got %s", label, rawKind(raw))
	}
	if err := json.Unmarshal(raw, s); err != nil {
		return reject(ReasonMalformed, "%s: %s", label, jsonProblem(err))
	}
	return nil
}

// rawKind names the kind of JSON value raw holds.
func rawKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonKind names the kind of JSON value that starts with tok.
func jsonKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return "a " + string(t)
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "something else"
}

// jsonProblem turns an encoding/json error into a message for a person.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "not valid JSON: unexpected end of input"
	}
	return "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

// unitAliases are the spellings of a unit accepted besides the one of
// sensors.ParamInfo.Unit: SenML's registered symbols (RFC 8428 §12.1) and
// ASCII for "µ".
var unitAliases = map[sensors.Param][]string{
	sensors.ParamPH:           {"pH"},
	sensors.ParamTemp:         {"Cel"},
	sensors.ParamConductivity: {"uS/cm"},
	sensors.ParamChlA:         {"ug/L"},
}

// unitOK reports whether a SenML unit u may come with param: no unit, the
// parameter's unit or one of its aliases. The unit of an unknown parameter
// is not judged (the unknown name is refused anyway).
func unitOK(param sensors.Param, u string) bool {
	info, ok := sensors.LookupParam(param)
	if !ok || u == "" || u == info.Unit {
		return true
	}
	return slices.Contains(unitAliases[param], u)
}

// Parser turns messages into readings. Its zero value knows no station;
// it is safe for concurrent use as long as Stations is not modified.
type Parser struct {
	// Stations are the registered stations by id.
	Stations map[string]sensors.Station
	// MaxFuture is how far ahead of the receiving clock a reading's time
	// may be; DefaultMaxFuture when 0.
	MaxFuture time.Duration
}

// Parse decodes the message payload received on topic at receivedAt and
// checks it: the topic names a registered station, the payload is
// readable (DecodePayload), names no other station, and each sample is
// valid (sensors.ValidateSample) with a time no earlier than MinTime and at
// most MaxFuture after receivedAt. It returns one classified Reading per
// sample (sensors.ClassifySample), or a *RejectError; a message with one
// bad sample is refused whole.
func (p *Parser) Parse(topic string, payload []byte, receivedAt time.Time) ([]Reading, error) {
	if len(payload) > MaxPayload {
		return nil, reject(ReasonTooLarge, "%d bytes, at most %d accepted", len(payload), MaxPayload)
	}
	id, ok := StationFromTopic(topic)
	if !ok {
		return nil, reject(ReasonTopic, "topic %q is not %s with a valid station id", topic, ReadingsTopic("{station_id}"))
	}
	st, ok := p.Stations[id]
	if !ok {
		return nil, reject(ReasonUnknownStation, "station %q is not registered", id)
	}
	pl, err := DecodePayload(payload)
	if err != nil {
		return nil, err
	}
	if pl.Station != "" && pl.Station != id {
		return nil, reject(ReasonStationMismatch, "the payload names station %q, the topic %q", pl.Station, id)
	}
	maxFuture := p.MaxFuture
	if maxFuture == 0 {
		maxFuture = DefaultMaxFuture
	}
	out := make([]Reading, 0, len(pl.Samples))
	for _, s := range pl.Samples {
		if err := sensors.ValidateSample(s); err != nil {
			return nil, &RejectError{Reason: ReasonInvalidSample, Detail: strings.TrimPrefix(err.Error(), "sensors.ValidateSample: ")}
		}
		if ahead := s.Time.Sub(receivedAt); ahead > maxFuture {
			return nil, reject(ReasonTime, "ts %s is %v ahead of the receiving clock (%s); at most %v is accepted",
				s.Time.UTC().Format(time.RFC3339Nano), ahead.Round(time.Second), receivedAt.UTC().Format(time.RFC3339), maxFuture)
		}
		if s.Time.Before(MinTime) {
			return nil, reject(ReasonTime, "ts %s is before %s: the station's clock is not set",
				s.Time.UTC().Format(time.RFC3339Nano), MinTime.Format(time.DateOnly))
		}
		r := sensors.ClassifySample(st, s)
		if err := r.Err(); err != nil {
			return nil, &RejectError{Reason: ReasonInvalidSample, Detail: strings.TrimPrefix(err.Error(), "sensors.ClassifySample: ")}
		}
		out = append(out, Reading{Station: id, Sample: s, Result: r, ReceivedAt: receivedAt})
	}
	return out, nil
}
