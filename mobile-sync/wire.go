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
