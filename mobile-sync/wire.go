// Package mobilesync is Baoshui's offline sync protocol: the wire types a
// phone and the server exchange, and the server-side push engine that
// applies each device's numbered mutations exactly once, behind small
// interfaces for the ledger and for applying a mutation (PROTOCOL.md).
//
// The package imports nothing of the server: records travel as raw JSON and
// are decoded by the server's Applier.
package mobilesync

import (
	"encoding/json"
	"fmt"
	"time"
)

// SchemaVersion is the version of the wire format this package speaks.
const SchemaVersion = 1

// MaxMutations is the most mutations one push may carry.
const MaxMutations = 500

// ClockTolerance is how far a device's clock may be from the server's
// before its records are flagged.
const ClockTolerance = 10 * time.Minute

// Op is what a mutation does to a record.
type Op string

// The operations.
const (
	OpCreate  Op = "create"
	OpCorrect Op = "correct"
	OpVoid    Op = "void"
)

// Mutation is one change a device made, numbered by the device: 1, 2, 3…
type Mutation struct {
	Seq int64 `json:"seq"`
	Op  Op    `json:"op"`
	// Record is the record as captured (create) or as corrected (correct).
	Record json.RawMessage `json:"record,omitempty"`
	// RecordID names the record a void applies to.
	RecordID string `json:"record_id,omitempty"`
	// BaseRev is the revision a correct or void supersedes.
	BaseRev int64 `json:"base_rev,omitempty"`
	// Reason says why a record is voided.
	Reason string `json:"reason,omitempty"`
}

// PushRequest is the body of POST /api/v1/sync/push.
type PushRequest struct {
	DeviceID      string `json:"device_id"`
	SchemaVersion int    `json:"schema_version"`
	// DeviceTime is the device's clock when it sent the push; the server
	// measures the device's clock offset from it.
	DeviceTime time.Time  `json:"device_time"`
	Mutations  []Mutation `json:"mutations"`
}

// Status is the outcome of one mutation.
type Status string

// The outcomes.
const (
	// StatusApplied: the mutation was applied now.
	StatusApplied Status = "applied"
	// StatusDuplicate: the record was already stored with the same body
	// (sent before by another way, or before a crash lost the ledger entry).
	StatusDuplicate Status = "duplicate"
	// StatusRejected: the mutation is invalid; it consumed its seq and
	// Problem says why. Correct it and push it as a new mutation.
	StatusRejected Status = "rejected"
	// StatusConflict: a correct or void whose base_rev is stale, or a
	// create whose id holds another record; Current is the server's copy.
	StatusConflict Status = "conflict"
)

// Result is the outcome of one mutation, as stored in the device's ledger
// and returned to the device, the first time and on every replay.
type Result struct {
	Seq        int64     `json:"seq"`
	Status     Status    `json:"status"`
	RecordID   string    `json:"record_id,omitempty"`
	Rev        int64     `json:"rev,omitempty"`
	ServerTime time.Time `json:"server_time"`
	// Problem is the RFC 9457 problem of a rejected mutation.
	Problem json.RawMessage `json:"problem,omitempty"`
	// Current is the server's copy of the record of a conflict.
	Current json.RawMessage `json:"current,omitempty"`
	// Replayed is set when this result was stored by an earlier push.
	Replayed bool `json:"replayed,omitempty"`
}

// PushResponse is the answer to a push.
type PushResponse struct {
	DeviceID string   `json:"device_id"`
	Results  []Result `json:"results"`
	// NextSeq is the seq the server expects next from this device.
	NextSeq int64 `json:"next_seq"`
	// ClockOffsetMs is the server's clock minus the device's, measured at
	// this push; ClockSuspect is set beyond ClockTolerance.
	ClockOffsetMs int64 `json:"clock_offset_ms"`
	ClockSuspect  bool  `json:"clock_suspect,omitempty"`
}

// Limits is the body of GET /api/v1/sync/limits: what the server accepts,
// published so that a phone can split its work before sending it. A zero
// field means the server did not say; a client then keeps its default.
type Limits struct {
	SchemaVersion int `json:"schema_version"`
	// MaxMutations is the most mutations one push may carry.
	MaxMutations int `json:"max_mutations"`
	// MaxPushBytes is the largest push body (413 beyond it).
	MaxPushBytes int64 `json:"max_push_bytes"`
	// MaxBlobBytes is the largest blob (413 before any byte is stored).
	MaxBlobBytes int64 `json:"max_blob_bytes"`
	// BlobPartBytes is the size of the parts a blob should be sent in.
	BlobPartBytes int64 `json:"blob_part_bytes"`
	// MaxTrackChunkPoints is the most points one track chunk may carry.
	MaxTrackChunkPoints int `json:"max_track_chunk_points"`
	// TombstoneRetentionS is how long, in seconds, a void stays visible to
	// pull before it is compacted (older cursors get 410).
	TombstoneRetentionS int64 `json:"tombstone_retention_s"`
	// ClockToleranceS is how far, in seconds, a device's clock may be from
	// the server's before its records are flagged.
	ClockToleranceS int64 `json:"clock_tolerance_s"`
}

// PullResponse is the answer to GET /api/v1/sync/pull: the current
// revision of every record changed after the cursor, oldest change first (a
// voided record is its tombstone), and the reference data a phone needs.
// Records travel as raw JSON; this package does not decode them.
type PullResponse struct {
	Changes    []json.RawMessage `json:"changes"`
	NextCursor string            `json:"next_cursor"`
	// HasMore says whether to ask again at once with NextCursor.
	HasMore   bool          `json:"has_more"`
	Reference PullReference `json:"reference"`
}

// PullReference is the reference data of a pull: the unit tree (each unit
// a JSON object {id, name, tier, parent}) and the zones generation.
type PullReference struct {
	Units           []json.RawMessage `json:"units"`
	ZonesGeneration int64             `json:"zones_generation"`
}

// BlobStatus is the body of the answer to PUT /api/v1/blobs/{sha256}: how
// many bytes of the blob have arrived and whether it is complete (verified
// against its address).
type BlobStatus struct {
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Received int64  `json:"received"`
	Complete bool   `json:"complete"`
}

// TrackChunk is the body of PUT /api/v1/patrols/{patrol_id}/track/{chunk_seq}:
// a run of a patrol's track. CRS is "" or "wgs84", "gcj02" or "bd09".
type TrackChunk struct {
	Points []TrackPoint `json:"points"`
	CRS    string       `json:"crs,omitempty"`
}

// TrackPoint is one position of a track with its instant. On the wire it is
// the array [lon, lat, unix_ms].
type TrackPoint struct {
	Lon, Lat  float64
	UnixMilli int64
}

// MarshalJSON implements json.Marshaler: [lon, lat, unix_ms].
func (p TrackPoint) MarshalJSON() ([]byte, error) {
	return json.Marshal([3]any{p.Lon, p.Lat, p.UnixMilli})
}

// UnmarshalJSON implements json.Unmarshaler: exactly three numbers, the
// third an integer count of milliseconds since 1970 UTC.
func (p *TrackPoint) UnmarshalJSON(b []byte) error {
	var v []json.Number
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if len(v) != 3 {
		return fmt.Errorf("a track point is [lon, lat, unix_ms]: got %d numbers", len(v))
	}
	lon, err := v[0].Float64()
	if err != nil {
		return fmt.Errorf("a track point's longitude: %w", err)
	}
	lat, err := v[1].Float64()
	if err != nil {
		return fmt.Errorf("a track point's latitude: %w", err)
	}
	ms, err := v[2].Int64()
	if err != nil {
		return fmt.Errorf("a track point's unix_ms must be an integer: %s", v[2])
	}
	*p = TrackPoint{Lon: lon, Lat: lat, UnixMilli: ms}
	return nil
}
