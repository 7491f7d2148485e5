package client

import (
	"encoding/json"
	"time"
)

// Kind names what a field record documents (DESIGN.md §3).
type Kind string

// The record kinds.
const (
	KindPatrol       Kind = "patrol"
	KindExpulsion    Kind = "expulsion"
	KindGrazing      Kind = "grazing"
	KindVehicle      Kind = "vehicle"
	KindConfiscation Kind = "confiscation"
	KindCase         Kind = "case"
)

// Kinds lists the record kinds in a stable order.
var Kinds = []Kind{KindPatrol, KindExpulsion, KindGrazing, KindVehicle, KindConfiscation, KindCase}

// Activities lists what people cleared from the water may have been doing.
var Activities = []string{"fishing", "swimming", "visiting", "other"}

// CRS values a record or a track chunk may declare for its coordinates.
const (
	CRSWGS84 = "wgs84"
	CRSGCJ02 = "gcj02"
	CRSBD09  = "bd09"
)

// Point is a position in degrees; it travels as a GeoJSON Point [lon, lat].
type Point struct {
	Lon, Lat float64
}

// MarshalJSON implements json.Marshaler: {"type":"Point","coordinates":[lon,lat]}.
func (p Point) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type        string     `json:"type"`
		Coordinates [2]float64 `json:"coordinates"`
	}{"Point", [2]float64{p.Lon, p.Lat}})
}

// UnmarshalJSON implements json.Unmarshaler for a GeoJSON Point.
func (p *Point) UnmarshalJSON(b []byte) error {
	var v struct {
		Coordinates []float64 `json:"coordinates"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if len(v.Coordinates) >= 2 {
		*p = Point{Lon: v.Coordinates[0], Lat: v.Coordinates[1]}
	}
	return nil
}

// LineString is a track inside a record; it travels as a GeoJSON
// LineString of [lon, lat] positions.
type LineString []Point

// MarshalJSON implements json.Marshaler.
func (l LineString) MarshalJSON() ([]byte, error) {
	cs := make([][2]float64, len(l))
	for i, p := range l {
		cs[i] = [2]float64{p.Lon, p.Lat}
	}
	return json.Marshal(struct {
		Type        string       `json:"type"`
		Coordinates [][2]float64 `json:"coordinates"`
	}{"LineString", cs})
}

// Photo names a photo by content; AttachPhoto returns it and queues the
// bytes.
type Photo struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	MIME   string `json:"mime"`
}

// Item is one line of a confiscation: Quantity pieces worth UnitValueFen
// (1 yuan = 100 fen) each.
type Item struct {
	Name         string `json:"name"`
	Quantity     int64  `json:"quantity"`
	UnitValueFen int64  `json:"unit_value_fen"`
}

// Record builds a field record of DESIGN.md §3 for Capture; it marshals to
// the JSON the server decodes. Zero fields are left out, so a zero count
// the server requires (persons, vehicles) is reported by the server as
// missing. Location is in WGS-84 unless CRS says gcj02 or bd09; the server
// converts it and keeps the original.
type Record struct {
	ID         string    `json:"id"`
	Kind       Kind      `json:"kind"`
	ObservedAt time.Time `json:"observed_at"`
	// GNSSAt is the satellite time of the fix, when the receiver gives it.
	GNSSAt   *time.Time `json:"gnss_at,omitempty"`
	Location *Point     `json:"location,omitempty"`
	CRS      string     `json:"crs,omitempty"`
	Unit     string     `json:"unit,omitempty"`
	Officers []string   `json:"officers,omitempty"`
	PatrolID string     `json:"patrol_id,omitempty"`
	Campaign string     `json:"campaign,omitempty"`
	Note     string     `json:"note,omitempty"`
	Photos   []Photo    `json:"photos,omitempty"`

	// Patrol.
	StartedAt  *time.Time  `json:"started_at,omitempty"`
	EndedAt    *time.Time  `json:"ended_at,omitempty"`
	Track      LineString  `json:"track,omitempty"`
	TrackTimes []time.Time `json:"track_times,omitempty"`
	// Expulsion.
	Persons  int64  `json:"persons,omitempty"`
	Activity string `json:"activity,omitempty"`
	// Grazing: the number of animals, when counted.
	Animals int64 `json:"animals,omitempty"`
	// Vehicle.
	Vehicles int64    `json:"vehicles,omitempty"`
	Plates   []string `json:"plates,omitempty"`
	// Confiscation.
	Items []Item `json:"items,omitempty"`
	// Case.
	CaseNo     string     `json:"case_no,omitempty"`
	Violation  string     `json:"violation,omitempty"`
	LegalBasis string     `json:"legal_basis,omitempty"`
	Party      string     `json:"party,omitempty"`
	FineFen    int64      `json:"fine_fen,omitempty"`
	Status     string     `json:"status,omitempty"`
	FiledAt    *time.Time `json:"filed_at,omitempty"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
}
