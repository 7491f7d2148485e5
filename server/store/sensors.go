package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/monitoring"
)

var _ monitoring.Store = (*Store)(nil)

// Collections of the water-quality monitoring (package monitoring).
const (
	colStations           = "stations"
	colStationCredentials = "station_credentials"
	colReadings           = "readings"
	colSensorQuarantine   = "sensor_quarantine"
	colAlertEvents        = "alert_events"
)

// readingTimeFormat is the layout of the time in a reading's _id; it is the
// one of sensors/ingest.ReadingID, which this package does not import.
const readingTimeFormat = "2006-01-02T15:04:05.000Z"

// ReadingID is the deterministic _id of the reading of station at ts:
// "{station}:{ts}", ts in UTC as 2006-01-02T15:04:05.000Z (truncated to the
// millisecond). It is the same id as sensors/ingest.ReadingID, so two
// readings share an id exactly when they share station and millisecond.
func ReadingID(station string, ts time.Time) string {
	return station + ":" + ts.UTC().Format(readingTimeFormat)
}

// StationVersionID is the deterministic _id of a version of a station's
// definition, and of a version of its credential.
func StationVersionID(station string, version int64) string {
	return fmt.Sprintf("%s:%08d", station, version)
}

// AlertEventID is the deterministic _id of revision rev of an alert.
func AlertEventID(alertID string, rev int) string { return fmt.Sprintf("%s:%06d", alertID, rev) }

// stationDoc is one version of a station's definition. The definition is
// kept as the JSON text of sensors.Station and read back with
// sensors.DecodeStation, the decoder that checks it.
type stationDoc struct {
	ID         string    `bson:"_id"` // station:version, version zero-padded
	Station    string    `bson:"station"`
	Version    int64     `bson:"version"`
	Definition string    `bson:"definition"`
	CreatedBy  string    `bson:"created_by"`
	CreatedAt  time.Time `bson:"created_at"`
}

// InsertStationVersion stores a new version of a station's definition. A
// station that sensors.DecodeStation would refuse is not stored (the scan
// at start could not read it back). A version already stored gives an
// error wrapping ErrDuplicate: two admins raced and the other one won.
func (s *Store) InsertStationVersion(ctx context.Context, v monitoring.StationVersion) error {
	id := StationVersionID(v.Station.ID, v.Version)
	if err := s.invalidateSensorsSnapshot(ctx); err != nil {
		return fmt.Errorf("store: insert station version %s: %w", id, err)
	}
	def, err := json.Marshal(v.Station)
	if err != nil {
		return fmt.Errorf("store: insert station version %s: %w", id, err)
	}
	if _, err := sensors.DecodeStation(def); err != nil {
		return fmt.Errorf("store: insert station version %s: %w", id, err)
	}
	d := stationDoc{ID: id, Station: v.Station.ID, Version: v.Version, Definition: string(def),
		CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt}
	if err := s.insertMany(ctx, colStations, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert station version %s: %w", id, err)
	}
	return nil
}

// GetStationVersion loads one version of a station by _id; ErrNotFound when
// it is not stored.
func (s *Store) GetStationVersion(ctx context.Context, station string, version int64) (monitoring.StationVersion, error) {
	var d stationDoc
	if err := s.findByID(ctx, colStations, StationVersionID(station, version), &d); err != nil {
		return monitoring.StationVersion{}, fmt.Errorf("store: get station version %s: %w", StationVersionID(station, version), err)
	}
	st, err := sensors.DecodeStation([]byte(d.Definition))
	if err != nil {
		return monitoring.StationVersion{}, fmt.Errorf("store: decode %s: %w", d.ID, err)
	}
	return monitoring.StationVersion{Station: st, Version: d.Version, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC()}, nil
}

// GetCredential loads one issue of a station's credential by _id;
// ErrNotFound when it is not stored.
func (s *Store) GetCredential(ctx context.Context, station string, version int64) (monitoring.Credential, error) {
	var d credentialDoc
	if err := s.findByID(ctx, colStationCredentials, StationVersionID(station, version), &d); err != nil {
		return monitoring.Credential{}, fmt.Errorf("store: get credential %s: %w", StationVersionID(station, version), err)
	}
	return monitoring.Credential{Station: d.Station, Version: d.Version, Username: d.Username,
		Salt: d.Salt, Hash: d.Hash, IssuedBy: d.IssuedBy, IssuedAt: d.IssuedAt.UTC()}, nil
}

// StationVersions reads every stored version of every station, ordered by
// station id, then version. It is a full scan, for the start only.
func (s *Store) StationVersions(ctx context.Context) ([]monitoring.StationVersion, error) {
	var out []monitoring.StationVersion
	err := scan(ctx, s, colStations, func(d stationDoc) error {
		st, err := sensors.DecodeStation([]byte(d.Definition))
		if err != nil {
			return fmt.Errorf("decode %s: %w", d.ID, err)
		}
		out = append(out, monitoring.StationVersion{Station: st, Version: d.Version, CreatedBy: d.CreatedBy,
			CreatedAt: d.CreatedAt.UTC()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: station versions: %w", err)
	}
	slices.SortFunc(out, func(a, b monitoring.StationVersion) int {
		return strings.Compare(StationVersionID(a.Station.ID, a.Version), StationVersionID(b.Station.ID, b.Version))
	})
	return out, nil
}

// credentialDoc is one issue of a station device's MQTT credential: the
// salt and the hash are binary.
type credentialDoc struct {
	ID       string    `bson:"_id"` // station:version, version zero-padded
	Station  string    `bson:"station"`
	Version  int64     `bson:"version"`
	Username string    `bson:"username"`
	Salt     []byte    `bson:"salt"`
	Hash     []byte    `bson:"hash"`
	IssuedBy string    `bson:"issued_by"`
	IssuedAt time.Time `bson:"issued_at"`
}

// InsertCredential stores a new issue of a station's credential. A version
// already stored gives an error wrapping ErrDuplicate.
func (s *Store) InsertCredential(ctx context.Context, c monitoring.Credential) error {
	if err := s.invalidateSensorsSnapshot(ctx); err != nil {
		return fmt.Errorf("store: insert credential: %w", err)
	}
	d := credentialDoc{ID: StationVersionID(c.Station, c.Version), Station: c.Station, Version: c.Version,
		Username: c.Username, Salt: c.Salt, Hash: c.Hash, IssuedBy: c.IssuedBy, IssuedAt: c.IssuedAt}
	if err := s.insertMany(ctx, colStationCredentials, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert credential %s: %w", d.ID, err)
	}
	return nil
}

// Credentials reads every stored credential of every station, ordered by
// station id, then version. It is a full scan, for the start only.
func (s *Store) Credentials(ctx context.Context) ([]monitoring.Credential, error) {
	var out []monitoring.Credential
	err := scan(ctx, s, colStationCredentials, func(d credentialDoc) error {
		out = append(out, monitoring.Credential{Station: d.Station, Version: d.Version, Username: d.Username,
			Salt: d.Salt, Hash: d.Hash, IssuedBy: d.IssuedBy, IssuedAt: d.IssuedAt.UTC()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: credentials: %w", err)
	}
	slices.SortFunc(out, func(a, b monitoring.Credential) int {
		return strings.Compare(StationVersionID(a.Station, a.Version), StationVersionID(b.Station, b.Version))
	})
	return out, nil
}

// readingDoc is one sample of a station, stored once under ReadingID. Day
// is the Asia/Shanghai date of the sample, derived on write for grouping;
// the classes are their notations ("I" to "V", "劣V", "" for none).
type readingDoc struct {
	ID         string             `bson:"_id"`
	Station    string             `bson:"station"`
	Time       time.Time          `bson:"ts"`
	Day        string             `bson:"day"`
	Values     map[string]float64 `bson:"values"`
	Assessment string             `bson:"assessment"`
	Full       string             `bson:"full"`
	Exceeds    bool               `bson:"exceeds"`
	ReceivedAt time.Time          `bson:"received_at"`
}

// InsertReadings inserts rs, unordered, in as few InsertMany calls as
// MaxInsertBatch allows, and answers per reading: nil, an error wrapping
// ErrDuplicate when a reading with the same ReadingID is already stored
// (or comes earlier in rs), or another error. A reading whose class is not
// a class, or whose values hold a non-finite number or a name unfit for a
// field ("", a '.' or a leading '$'), is refused and not sent.
func (s *Store) InsertReadings(ctx context.Context, rs []monitoring.StoredReading) []error {
	errs := make([]error, len(rs))
	if err := s.invalidateSensorsSnapshot(ctx); err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("store: insert readings: %w", err)
		}
		return errs
	}
	docs := make([]any, 0, len(rs))
	at := make([]int, 0, len(rs)) // at[i] is the index in rs of docs[i]
	for i, r := range rs {
		d, err := toReadingDoc(r)
		if err != nil {
			errs[i] = fmt.Errorf("store: insert readings: %s: %w", ReadingID(r.Station, r.Time), err)
			continue
		}
		docs = append(docs, d)
		at = append(at, i)
	}
	if len(docs) == 0 {
		return errs
	}
	for j, err := range s.insertMany(ctx, colReadings, docs) {
		if err != nil {
			errs[at[j]] = fmt.Errorf("store: insert readings: %s: %w", docs[j].(readingDoc).ID, err)
		}
	}
	return errs
}

func toReadingDoc(r monitoring.StoredReading) (readingDoc, error) {
	assessment, err := r.Assessment.MarshalText()
	if err != nil {
		return readingDoc{}, fmt.Errorf("assessment: %w", err)
	}
	full, err := r.Full.MarshalText()
	if err != nil {
		return readingDoc{}, fmt.Errorf("full: %w", err)
	}
	values := make(map[string]float64, len(r.Values))
	for p, v := range r.Values {
		if p == "" || strings.Contains(string(p), ".") || strings.HasPrefix(string(p), "$") {
			return readingDoc{}, fmt.Errorf("value name %q cannot be stored", string(p))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return readingDoc{}, fmt.Errorf("value %s is %v, not a finite number", p, v)
		}
		values[string(p)] = v
	}
	return readingDoc{ID: ReadingID(r.Station, r.Time), Station: r.Station, Time: r.Time,
		Day: r.Time.In(enforcement.Shanghai).Format(time.DateOnly), Values: values,
		Assessment: string(assessment), Full: string(full), Exceeds: r.Exceeds, ReceivedAt: r.ReceivedAt}, nil
}

// ScanReadings calls fn with every stored reading, in no set order, its
// times in UTC to the millisecond. It is a full scan, for the start only.
func (s *Store) ScanReadings(ctx context.Context, fn func(monitoring.StoredReading) error) error {
	err := scan(ctx, s, colReadings, func(d readingDoc) error {
		r, err := fromReadingDoc(d)
		if err != nil {
			return err
		}
		return fn(r)
	})
	if err != nil {
		return fmt.Errorf("store: scan readings: %w", err)
	}
	return nil
}

func fromReadingDoc(d readingDoc) (monitoring.StoredReading, error) {
	assessment, err := parseClass(d.Assessment)
	if err != nil {
		return monitoring.StoredReading{}, fmt.Errorf("decode reading %s: assessment: %w", d.ID, err)
	}
	full, err := parseClass(d.Full)
	if err != nil {
		return monitoring.StoredReading{}, fmt.Errorf("decode reading %s: full: %w", d.ID, err)
	}
	values := make(map[sensors.Param]float64, len(d.Values))
	for p, v := range d.Values {
		values[sensors.Param(p)] = v
	}
	return monitoring.StoredReading{Station: d.Station, Time: d.Time.UTC(), Values: values, Assessment: assessment,
		Full: full, Exceeds: d.Exceeds, ReceivedAt: d.ReceivedAt.UTC()}, nil
}

// parseClass reads a class as Class.MarshalText writes it: "" is ClassNone.
func parseClass(s string) (sensors.Class, error) {
	var c sensors.Class
	if s == "" {
		return c, nil
	}
	err := c.UnmarshalText([]byte(s))
	return c, err
}

// quarantineDoc is a refused message, stored once under its entry id; the
// payload is binary, as received.
type quarantineDoc struct {
	ID         string    `bson:"_id"`
	Topic      string    `bson:"topic"`
	Payload    []byte    `bson:"payload"`
	Station    string    `bson:"station"`
	Reason     string    `bson:"reason"`
	Detail     string    `bson:"detail"`
	ReceivedAt time.Time `bson:"received_at"`
}

// InsertQuarantine stores a refused message under q.ID. An entry already
// stored under that id is not an error: the id is derived from the topic
// and payload, so it is the same message delivered again, and it is kept
// once (the first one stored stays).
func (s *Store) InsertQuarantine(ctx context.Context, q monitoring.QuarantineEntry) error {
	if err := s.invalidateSensorsSnapshot(ctx); err != nil {
		return fmt.Errorf("store: insert quarantine %s: %w", q.ID, err)
	}
	d := quarantineDoc{ID: q.ID, Topic: q.Topic, Payload: q.Payload, Station: q.Station, Reason: q.Reason,
		Detail: q.Detail, ReceivedAt: q.ReceivedAt}
	if err := s.insertMany(ctx, colSensorQuarantine, []any{d})[0]; err != nil && !errors.Is(err, ErrDuplicate) {
		return fmt.Errorf("store: insert quarantine %s: %w", q.ID, err)
	}
	return nil
}

// ScanQuarantine calls fn with every quarantined message, in no set order.
// It is a full scan, for the start only.
func (s *Store) ScanQuarantine(ctx context.Context, fn func(monitoring.QuarantineEntry) error) error {
	err := scan(ctx, s, colSensorQuarantine, func(d quarantineDoc) error {
		return fn(monitoring.QuarantineEntry{ID: d.ID, Topic: d.Topic, Payload: d.Payload, Station: d.Station,
			Reason: d.Reason, Detail: d.Detail, ReceivedAt: d.ReceivedAt.UTC()})
	})
	if err != nil {
		return fmt.Errorf("store: scan quarantine: %w", err)
	}
	return nil
}

// alertEventDoc is one revision of an alert, stored once under
// AlertEventID. The alert is kept as its JSON text, as it is served and
// published; alert_id, station, rev and state are beside it for queries.
type alertEventDoc struct {
	ID      string `bson:"_id"`
	AlertID string `bson:"alert_id"`
	Station string `bson:"station"`
	Rev     int    `bson:"rev"`
	State   string `bson:"state"`
	Alert   string `bson:"alert"`
}

// InsertAlertEvents inserts evs, unordered, and answers per event: nil, an
// error wrapping ErrDuplicate when the revision (AlertEventID of the
// alert's id and ev.Rev) is already stored or comes earlier in evs, or
// another error. An alert whose JSON would not decode back (a class that is
// not one, for instance) is refused and not sent.
func (s *Store) InsertAlertEvents(ctx context.Context, evs []monitoring.AlertEvent) []error {
	errs := make([]error, len(evs))
	if err := s.invalidateSensorsSnapshot(ctx); err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("store: insert alert events: %w", err)
		}
		return errs
	}
	docs := make([]any, 0, len(evs))
	at := make([]int, 0, len(evs))
	for i, ev := range evs {
		id := AlertEventID(ev.Alert.ID, ev.Rev)
		b, err := json.Marshal(ev.Alert)
		if err == nil {
			err = json.Unmarshal(b, new(sensors.Alert))
		}
		if err != nil {
			errs[i] = fmt.Errorf("store: insert alert events: %s: %w", id, err)
			continue
		}
		docs = append(docs, alertEventDoc{ID: id, AlertID: ev.Alert.ID, Station: ev.Alert.Station, Rev: ev.Rev,
			State: string(ev.Alert.State), Alert: string(b)})
		at = append(at, i)
	}
	if len(docs) == 0 {
		return errs
	}
	for j, err := range s.insertMany(ctx, colAlertEvents, docs) {
		if err != nil {
			errs[at[j]] = fmt.Errorf("store: insert alert events: %s: %w", docs[j].(alertEventDoc).ID, err)
		}
	}
	return errs
}

// ScanAlertEvents calls fn with every stored revision of every alert, in no
// set order. It is a full scan, for the start only.
func (s *Store) ScanAlertEvents(ctx context.Context, fn func(monitoring.AlertEvent) error) error {
	err := scan(ctx, s, colAlertEvents, func(d alertEventDoc) error {
		var a sensors.Alert
		if err := json.Unmarshal([]byte(d.Alert), &a); err != nil {
			return fmt.Errorf("decode alert event %s: %w", d.ID, err)
		}
		return fn(monitoring.AlertEvent{Alert: a, Rev: d.Rev})
	})
	if err != nil {
		return fmt.Errorf("store: scan alert events: %w", err)
	}
	return nil
}
