package monitoring

import (
	"context"
	"time"

	"github.com/baoshui/baoshui/sensors"
)

// StationVersion is one version of a station's definition, as an admin
// stored it. Versions are inserted, never updated: the highest version of
// a station is in force, and a second insert of the same version means two
// admins raced and the other one won.
type StationVersion struct {
	Station   sensors.Station
	Version   int64
	CreatedBy string
	CreatedAt time.Time
}

// Credential is one issue of a station device's MQTT credential. Only a
// salted hash of the password is kept: Hash is SHA-256(Salt || password),
// which suits generated secrets of at least 128 random bits (see
// broker.Users). Versions are inserted, never updated; the highest version
// of a station is the one that authenticates, the older ones are revoked.
type Credential struct {
	Station  string
	Version  int64
	Username string
	Salt     []byte
	Hash     []byte
	IssuedBy string
	IssuedAt time.Time
}

// StoredReading is a reading as the store keeps it: one document per
// sample, _id "{station}:{ts}" (ingest.ReadingID), inserted once.
type StoredReading struct {
	Station string
	// Time is the sample's instant (UTC, millisecond precision).
	Time time.Time
	// Values holds every value the sample reported, classified or not.
	Values map[sensors.Param]float64
	// Assessment and Full are the sample's classes (sensors.Result);
	// Exceeds reports an assessment class worse than the target.
	Assessment, Full sensors.Class
	Exceeds          bool
	// ReceivedAt is when the server received it.
	ReceivedAt time.Time
}

// QuarantineEntry is a refused message kept for inspection. Its ID is
// derived from the topic and payload, so a redelivered message is kept
// once.
type QuarantineEntry struct {
	ID         string
	Topic      string
	Payload    []byte
	Station    string
	Reason     string
	Detail     string
	ReceivedAt time.Time
}

// AlertEvent is one revision of an alert: the alert's whole state after a
// change (opened, updated, cleared, acknowledged). _id "{alert id}:{rev}",
// inserted once; the highest revision of an alert is its state.
type AlertEvent struct {
	Alert sensors.Alert
	// Rev is the revision, from 1.
	Rev int
}

// Store is what the monitoring service needs of the store adapter: inserts
// by deterministic _id, where a duplicate means "already stored", and scans
// that run only at start.
type Store interface {
	InsertStationVersion(ctx context.Context, v StationVersion) error
	StationVersions(ctx context.Context) ([]StationVersion, error)
	InsertCredential(ctx context.Context, c Credential) error
	Credentials(ctx context.Context) ([]Credential, error)
	// GetStationVersion and GetCredential load one version by _id; an
	// error wrapping enforcement.ErrNotFound when it is not stored.
	GetStationVersion(ctx context.Context, station string, version int64) (StationVersion, error)
	GetCredential(ctx context.Context, station string, version int64) (Credential, error)
	// InsertReadings inserts rs and answers per reading: nil, an error
	// wrapping store.ErrDuplicate (already stored), or another error.
	InsertReadings(ctx context.Context, rs []StoredReading) []error
	// ScanReadings calls fn for every stored reading, in no set order.
	ScanReadings(ctx context.Context, fn func(StoredReading) error) error
	InsertQuarantine(ctx context.Context, q QuarantineEntry) error
	ScanQuarantine(ctx context.Context, fn func(QuarantineEntry) error) error
	InsertAlertEvents(ctx context.Context, evs []AlertEvent) []error
	ScanAlertEvents(ctx context.Context, fn func(AlertEvent) error) error
	// SensorsSnapshotToken and SetSensorsSnapshotToken keep the token of
	// the snapshot that matches the store; every insert above clears it.
	SensorsSnapshotToken(ctx context.Context) (string, error)
	SetSensorsSnapshotToken(ctx context.Context, token string) error
	// InsertMonitoringEvent, GetMonitoringEvent and LastMonitoringEvent
	// keep the monitoring log of instances that share the store
	// (Options.Shared): an event by its number, which a second insert
	// refuses with an error wrapping enforcement.ErrExists; a missing one
	// is enforcement.ErrNotFound; the last number is found by lookups, 0
	// for an empty log.
	InsertMonitoringEvent(ctx context.Context, n int64, body []byte) error
	GetMonitoringEvent(ctx context.Context, n int64) ([]byte, error)
	LastMonitoringEvent(ctx context.Context) (int64, error)
	// InsertMonitoringCheckpoint and GetMonitoringCheckpoint keep the
	// log's checkpoints (see log.go) by the number of the event they
	// follow, the same way; DeleteMonitoringCheckpoint removes one (none
	// stored is no error).
	InsertMonitoringCheckpoint(ctx context.Context, n int64, body []byte) error
	GetMonitoringCheckpoint(ctx context.Context, n int64) ([]byte, error)
	DeleteMonitoringCheckpoint(ctx context.Context, n int64) error
	// InsertMonitoringCheckpointPart and GetMonitoringCheckpointPart keep
	// the further parts (1 and up) of a checkpoint too large for one
	// document; DeleteMonitoringCheckpoint removes them with it.
	InsertMonitoringCheckpointPart(ctx context.Context, n int64, part int, body []byte) error
	GetMonitoringCheckpointPart(ctx context.Context, n int64, part int) ([]byte, error)
}
