package enforcement

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kind names what a field record documents.
type Kind string

// The record kinds of DESIGN.md §3.
const (
	KindPatrol       Kind = "patrol"
	KindExpulsion    Kind = "expulsion"
	KindGrazing      Kind = "grazing"
	KindVehicle      Kind = "vehicle"
	KindConfiscation Kind = "confiscation"
	KindCase         Kind = "case"
)

// Kinds lists every record kind in a stable order.
var Kinds = []Kind{KindPatrol, KindExpulsion, KindGrazing, KindVehicle, KindConfiscation, KindCase}

// Activity is what the people cleared away from the water were doing.
type Activity string

// The activities an expulsion may record.
const (
	ActivityFishing  Activity = "fishing"
	ActivitySwimming Activity = "swimming"
	ActivityVisiting Activity = "visiting"
	ActivityOther    Activity = "other"
)

// Activities lists every activity in a stable order.
var Activities = []Activity{ActivityFishing, ActivitySwimming, ActivityVisiting, ActivityOther}

// Position is a GeoJSON position [lon, lat]. Decoding requires two or three
// numbers (an altitude is accepted and dropped); a short array is an error,
// never a silent 0.
type Position [2]float64

// UnmarshalJSON implements json.Unmarshaler.
func (p *Position) UnmarshalJSON(b []byte) error {
	var v []float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if len(v) != 2 && len(v) != 3 {
		return fmt.Errorf("a position is [lon, lat]: got %d numbers", len(v))
	}
	*p = Position{v[0], v[1]}
	return nil
}

// Point is a GeoJSON Point; Coordinates are [lon, lat] in WGS-84 once stored.
type Point struct {
	Type        string   `json:"type"`
	Coordinates Position `json:"coordinates"`
}

// UnmarshalJSON implements json.Unmarshaler: "coordinates" is required and
// no member but "type" and "coordinates" is allowed.
func (p *Point) UnmarshalJSON(b []byte) error {
	var v struct {
		Type        string    `json:"type"`
		Coordinates *Position `json:"coordinates"`
	}
	if err := decodeGeometry(b, &v); err != nil {
		return err
	}
	if v.Coordinates == nil {
		return errors.New("coordinates: required: [lon, lat]")
	}
	*p = Point{Type: v.Type, Coordinates: *v.Coordinates}
	return nil
}

// LineString is a GeoJSON LineString of [lon, lat] positions.
type LineString struct {
	Type        string     `json:"type"`
	Coordinates []Position `json:"coordinates"`
}

// UnmarshalJSON implements json.Unmarshaler, with the rules of Point.
func (l *LineString) UnmarshalJSON(b []byte) error {
	var v struct {
		Type        string     `json:"type"`
		Coordinates []Position `json:"coordinates"`
	}
	if err := decodeGeometry(b, &v); err != nil {
		return err
	}
	*l = LineString{Type: v.Type, Coordinates: v.Coordinates}
	return nil
}

func decodeGeometry(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s", jsonProblem(err))
	}
	return nil
}

// Photo references a photo by content hash; the bytes travel separately.
type Photo struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	MIME   string `json:"mime"`
}

// Item is one line of a confiscation: quantity pieces worth UnitValueFen each.
type Item struct {
	Name         string `json:"name"`
	Quantity     int64  `json:"quantity"`
	UnitValueFen int64  `json:"unit_value_fen"`
}

// OriginalLocation keeps the coordinates exactly as a device sent them when
// they were not in WGS-84 (CRS is gcj02 or bd09).
type OriginalLocation struct {
	CRS         string   `json:"crs"`
	Coordinates Position `json:"coordinates"`
}

// Record is a field record as officers capture it (the client part) plus the
// metadata the server adds when it stores a revision (the server part).
//
// The client part is what Decode accepts and what CanonicalHash covers; the
// server part (Rev and the fields after it) is assigned by the server and is
// ignored when a client sends it back.
type Record struct {
	ID         string    `json:"id"`
	Kind       Kind      `json:"kind"`
	ObservedAt time.Time `json:"observed_at"`
	// GNSSAt is the satellite receiver's time of the fix, when the phone
	// gave it: independent of the phone's clock. Kept, never used to order.
	GNSSAt   *time.Time `json:"gnss_at,omitempty"`
	Location *Point     `json:"location,omitempty"`
	Unit     string     `json:"unit"`
	Officers []string   `json:"officers,omitempty"`
	PatrolID string     `json:"patrol_id,omitempty"`
	Campaign string     `json:"campaign,omitempty"`
	Note     string     `json:"note,omitempty"`
	Photos   []Photo    `json:"photos,omitempty"`

	// patrol
	StartedAt  *time.Time  `json:"started_at,omitempty"`
	EndedAt    *time.Time  `json:"ended_at,omitempty"`
	Track      *LineString `json:"track,omitempty"`
	TrackTimes []time.Time `json:"track_times,omitempty"`
	// expulsion
	Persons  int64    `json:"persons,omitempty"`
	Activity Activity `json:"activity,omitempty"`
	// grazing
	Animals int64 `json:"animals,omitempty"`
	// vehicle
	Vehicles int64    `json:"vehicles,omitempty"`
	Plates   []string `json:"plates,omitempty"`
	// confiscation
	Items []Item `json:"items,omitempty"`
	// case
	CaseNo     string     `json:"case_no,omitempty"`
	Violation  string     `json:"violation,omitempty"`
	LegalBasis string     `json:"legal_basis,omitempty"`
	Party      string     `json:"party,omitempty"`
	FineFen    int64      `json:"fine_fen,omitempty"`
	Status     string     `json:"status,omitempty"`
	FiledAt    *time.Time `json:"filed_at,omitempty"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`

	// Server part.
	Rev              int64             `json:"rev,omitempty"`
	OriginalLocation *OriginalLocation `json:"original_location,omitempty"`
	UnitPath         []string          `json:"unit_path,omitempty"`
	CreatedBy        string            `json:"created_by,omitempty"`
	RecordedBy       string            `json:"recorded_by,omitempty"`
	ReceivedAt       time.Time         `json:"received_at,omitzero"`
	Voided           bool              `json:"voided,omitempty"`
	VoidReason       string            `json:"void_reason,omitempty"`
	BodySHA256       string            `json:"body_sha256,omitempty"`
	// ServerSeq orders every stored revision: it grows with each write and
	// is what sync pull cursors count (never device time).
	ServerSeq int64 `json:"server_seq,omitempty"`
	// Place and Effort are derived from the geometry and the zone layers;
	// they are recomputed when the zones change, so neither StateHash nor
	// CanonicalHash covers them.
	Place  *Place  `json:"place,omitempty"`
	Effort *Effort `json:"effort,omitempty"`
	// Sync is set for a revision that arrived by sync push.
	Sync *SyncOrigin `json:"sync,omitempty"`
	// PhotosPending lists the photos whose bytes have not all arrived yet;
	// it is filled when a record is read, never stored.
	PhotosPending []string `json:"photos_pending,omitempty"`
}

// SyncOrigin says which device mutation brought a revision, and how far the
// device's clock was from the server's at that push (server minus device);
// ClockSuspect flags an offset beyond the sync protocol's tolerance, so that
// the device's observed_at deserves a second look.
type SyncOrigin struct {
	DeviceID      string `json:"device_id"`
	Seq           int64  `json:"seq"`
	ClockOffsetMs int64  `json:"clock_offset_ms"`
	ClockSuspect  bool   `json:"clock_suspect,omitempty"`
}

// Place is where a record happened in the zone layers: the protection zone,
// the town and the warden grid cell containing its location or, when none
// does, the nearest one with the distance to it in metres (0 = inside).
// ZonesVersion is the generation of the zone layers it was computed against.
type Place struct {
	ZonesVersion  int64   `json:"zones_version"`
	Zone          string  `json:"zone,omitempty"`
	ZoneDistanceM float64 `json:"zone_distance_m,omitempty"`
	Town          string  `json:"town,omitempty"`
	TownDistanceM float64 `json:"town_distance_m,omitempty"`
	Cell          string  `json:"cell,omitempty"`
	CellDistanceM float64 `json:"cell_distance_m,omitempty"`
	// Cells are the grid cells a patrol's track passed through.
	Cells []string `json:"cells,omitempty"`
}

// PlaceUpdate is the new place of one stored revision of a record.
type PlaceUpdate struct {
	ID    string
	Rev   int64
	Place Place
}

// Effort is the work a patrol's track shows, after GPS noise is dropped:
// distance in metres, the span of the track and how much of it was spent
// moving or stopped, in seconds.
type Effort struct {
	DistanceM float64 `json:"distance_m"`
	DurationS float64 `json:"duration_s"`
	MovingS   float64 `json:"moving_s"`
	StoppedS  float64 `json:"stopped_s"`
	Fixes     int     `json:"fixes"`
	Dropped   int     `json:"dropped,omitempty"`
}

// Anchor returns the point a record is shown at: its location, or else the
// first point of its track; ok is false when it has neither.
func (r *Record) Anchor() (Position, bool) {
	if r.Location != nil {
		return r.Location.Coordinates, true
	}
	if r.Track != nil && len(r.Track.Coordinates) > 0 {
		return r.Track.Coordinates[0], true
	}
	return Position{}, false
}

// ClientPart returns a copy of r without the server-assigned fields.
func (r Record) ClientPart() Record {
	c := r
	c.Rev = 0
	c.UnitPath = nil
	c.CreatedBy = ""
	c.RecordedBy = ""
	c.ReceivedAt = time.Time{}
	c.Voided = false
	c.VoidReason = ""
	c.BodySHA256 = ""
	c.ServerSeq = 0
	c.Place = nil
	c.Effort = nil
	c.Sync = nil
	c.PhotosPending = nil
	return c
}

// CanonicalHash is the hex SHA-256 of the canonical JSON of the record's client
// part. Two submissions with the same hash carry the same facts; it is how an
// idempotent create tells a retry from a different record under the same id.
func (r Record) CanonicalHash() string {
	c := r.ClientPart()
	c.ObservedAt = c.ObservedAt.UTC()
	c.StartedAt = utcPtr(c.StartedAt)
	c.EndedAt = utcPtr(c.EndedAt)
	c.FiledAt = utcPtr(c.FiledAt)
	c.GNSSAt = utcPtr(c.GNSSAt)
	c.DecidedAt = utcPtr(c.DecidedAt)
	if len(c.TrackTimes) > 0 {
		tt := make([]time.Time, len(c.TrackTimes))
		for i, t := range c.TrackTimes {
			tt[i] = t.UTC()
		}
		c.TrackTimes = tt
	}
	return hashJSON(c)
}

// hashJSON hashes the JSON of v. Marshal fails only for times outside years
// 0–9999, which validation refuses; should one slip through, the Go syntax
// of the value is hashed instead, so that different values never share a hash.
func hashJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", v))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// StateHash is the hex SHA-256 of the canonical JSON of the whole revision,
// server part included. The audit trail records it before and after a write.
// Place and Effort are left out: they are derived and change with the zones.
func (r Record) StateHash() string {
	r.Place, r.Effort, r.PhotosPending = nil, nil, nil
	return hashJSON(r)
}

// ValueFen is the value of everything a confiscation took (Σ quantity×unit value).
func (r Record) ValueFen() int64 {
	var v int64
	for _, it := range r.Items {
		v += it.Quantity * it.UnitValueFen
	}
	return v
}

// ItemCount is the number of pieces a confiscation took (Σ quantity).
func (r Record) ItemCount() int64 {
	var n int64
	for _, it := range r.Items {
		n += it.Quantity
	}
	return n
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
