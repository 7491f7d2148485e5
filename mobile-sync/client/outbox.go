package client

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	bolt "go.etcd.io/bbolt"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// entry is one queued mutation as kept in the outbox.
type entry struct {
	Mutation   mobilesync.Mutation `json:"mutation"`
	RecordID   string              `json:"record_id"`
	Kind       Kind                `json:"kind,omitempty"`
	CapturedAt time.Time           `json:"captured_at"`
}

// Captured says what Capture queued: the record's id and its seq.
type Captured struct {
	ID  string
	Seq int64
}

// idPattern is the server's rule for client-generated ids (ULIDs and UUIDs
// qualify); the store builds document ids from them, so ':' is excluded.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Capture queues a new record: one transaction gives it the next seq, so it
// needs no network. An empty ID is filled with a new ULID and a zero
// ObservedAt with the clock's now. The server validates the record when it
// is pushed; a rejected record is kept aside with the reason.
func (c *Client) Capture(rec Record) (Captured, error) {
	if rec.ID == "" {
		rec.ID = c.newID()
	}
	if rec.ObservedAt.IsZero() {
		rec.ObservedAt = c.now()
	}
	raw, err := json.Marshal(rec)
	if err != nil {
		return Captured{}, fmt.Errorf("client: capture: %w", err)
	}
	return c.CaptureJSON(raw)
}

// CaptureJSON queues a new record given as a JSON object in the shape of
// DESIGN.md §3. A missing "id" is filled with a new ULID; "kind" is
// required. Like Capture it needs no network.
func (c *Client) CaptureJSON(record []byte) (Captured, error) {
	body, id, kind, err := c.prepare(record, "")
	if err != nil {
		return Captured{}, fmt.Errorf("client: capture: %w", err)
	}
	var seq int64
	err = c.db.Update(func(tx *bolt.Tx) error {
		seq, err = c.enqueue(tx, mobilesync.Mutation{Op: mobilesync.OpCreate, Record: body}, id, kind)
		return err
	})
	if err != nil {
		return Captured{}, fmt.Errorf("client: capture: %w", err)
	}
	return Captured{ID: id, Seq: seq}, nil
}

// Correct queues a correction of record id: record is the whole corrected
// record as JSON (its "id", when present, must be id). baseRev is the
// revision it supersedes; 0 means the latest this phone knows of, counting
// the changes still queued. A stale base is answered as a conflict and kept
// aside with the server's copy. It returns the mutation's seq.
func (c *Client) Correct(id string, baseRev int64, record []byte) (int64, error) {
	body, _, kind, err := c.prepare(record, id)
	if err != nil {
		return 0, fmt.Errorf("client: correct %s: %w", id, err)
	}
	var seq int64
	err = c.db.Update(func(tx *bolt.Tx) error {
		base, err := c.resolveBase(tx, id, baseRev)
		if err != nil {
			return err
		}
		seq, err = c.enqueue(tx, mobilesync.Mutation{Op: mobilesync.OpCorrect, BaseRev: base, Record: body}, id, kind)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("client: correct %s: %w", id, err)
	}
	return seq, nil
}

// Void queues the voiding of record id for reason; baseRev as for Correct.
// It returns the mutation's seq.
func (c *Client) Void(id string, baseRev int64, reason string) (int64, error) {
	if !idPattern.MatchString(id) {
		return 0, fmt.Errorf("client: void: %w: record id %q", ErrInvalid, id)
	}
	var seq int64
	err := c.db.Update(func(tx *bolt.Tx) error {
		base, err := c.resolveBase(tx, id, baseRev)
		if err != nil {
			return err
		}
		seq, err = c.enqueue(tx, mobilesync.Mutation{Op: mobilesync.OpVoid, RecordID: id, BaseRev: base, Reason: reason}, id, "")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("client: void %s: %w", id, err)
	}
	return seq, nil
}

// prepare checks that record is a JSON object with a usable id and kind,
// fills a missing id (with want, or a new ULID), and returns it compact.
func (c *Client) prepare(record []byte, want string) (body []byte, id string, kind Kind, err error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(record, &obj); err != nil || obj == nil {
		return nil, "", "", fmt.Errorf("%w: the record is not a JSON object", ErrInvalid)
	}
	if raw, ok := obj["id"]; ok {
		if err := json.Unmarshal(raw, &id); err != nil {
			return nil, "", "", fmt.Errorf("%w: id must be a string", ErrInvalid)
		}
	}
	switch {
	case id == "" && want != "":
		id = want
	case id == "":
		id = c.newID()
	case want != "" && id != want:
		return nil, "", "", fmt.Errorf("%w: the record's id is %q, not %q", ErrInvalid, id, want)
	}
	if !idPattern.MatchString(id) {
		return nil, "", "", fmt.Errorf("%w: id %q: 1 to 64 letters, digits, '.', '_' or '-'", ErrInvalid, id)
	}
	if raw, ok := obj["kind"]; !ok || json.Unmarshal(raw, &kind) != nil || kind == "" {
		return nil, "", "", fmt.Errorf("%w: kind is required", ErrInvalid)
	}
	obj["id"], _ = json.Marshal(id)
	// Marshalling a map sorts its keys: the same record always makes the
	// same bytes, which the server's duplicate check compares.
	body, err = json.Marshal(obj)
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return body, id, kind, nil
}

// enqueue stores m under the next seq, inside tx, and returns the seq.
func (c *Client) enqueue(tx *bolt.Tx, m mobilesync.Mutation, recordID string, kind Kind) (int64, error) {
	seq := getInt(tx, mNextSeq)
	m.Seq = seq
	e := entry{Mutation: m, RecordID: recordID, Kind: kind, CapturedAt: c.now().UTC()}
	if err := putJSON(tx, bOutbox, u64(seq), e); err != nil {
		return 0, err
	}
	return seq, putInt(tx, mNextSeq, seq+1)
}

// resolveBase returns baseRev, or for 0 the revision record id will have
// once the queued changes to it are applied: the latest known from the
// server, one more for each queued correct or void, 1 after a queued create.
func (c *Client) resolveBase(tx *bolt.Tx, id string, baseRev int64) (int64, error) {
	if baseRev < 0 {
		return 0, fmt.Errorf("%w: base_rev %d", ErrInvalid, baseRev)
	}
	if baseRev > 0 {
		return baseRev, nil
	}
	rev := knownRev(tx, id)
	err := tx.Bucket(bOutbox).ForEach(func(_, v []byte) error {
		var e entry
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		if e.RecordID != id {
			return nil
		}
		if e.Mutation.Op == mobilesync.OpCreate {
			rev = 1
		} else {
			rev++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		return 0, fmt.Errorf("%w: no revision of record %s is known here; give base_rev", ErrNotFound, id)
	}
	return rev, nil
}

// knownRev is the latest revision of record id this phone has heard of,
// from a push result or a pull; 0 for none.
func knownRev(tx *bolt.Tx, id string) int64 {
	rev := fromU64(tx.Bucket(bRevs).Get([]byte(id)))
	if raw := tx.Bucket(bRecords).Get([]byte(id)); raw != nil {
		var r struct {
			Rev int64 `json:"rev"`
		}
		if json.Unmarshal(raw, &r) == nil {
			rev = max(rev, r.Rev)
		}
	}
	return rev
}
