package client

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// Pending is a mutation waiting in the outbox.
type Pending struct {
	Seq        int64
	Op         mobilesync.Op
	RecordID   string
	Kind       Kind // "" for a void
	CapturedAt time.Time
}

// PendingBlob is a photo waiting to be uploaded.
type PendingBlob struct {
	Photo
	// Path is the local copy the bytes are sent from.
	Path     string
	QueuedAt time.Time
}

// PendingChunk is a run of a patrol's track waiting to be sent.
type PendingChunk struct {
	PatrolID string
	ChunkSeq int64
	Points   int
	QueuedAt time.Time
}

// What says what a kept-aside item is.
type What string

// The things that may be kept aside.
const (
	AsideMutation   What = "mutation"
	AsideTrackChunk What = "track_chunk"
	AsideBlob       What = "blob"
)

// Aside is something the server answered but did not take: a mutation it
// rejected (Problem says why) or found in conflict (Current is its copy), a
// track chunk or a blob it refused. It stays on the phone until the officer
// resubmits or dismisses it.
type Aside struct {
	ID   int64 `json:"id"`
	What What  `json:"what"`
	// Mutation is the mutation as it was pushed (Seq is the seq it had).
	Mutation *mobilesync.Mutation `json:"mutation,omitempty"`
	RecordID string               `json:"record_id,omitempty"`
	Kind     Kind                 `json:"kind,omitempty"`
	// PatrolID, ChunkSeq and Chunk describe a kept-aside track chunk.
	PatrolID string                 `json:"patrol_id,omitempty"`
	ChunkSeq int64                  `json:"chunk_seq,omitempty"`
	Chunk    *mobilesync.TrackChunk `json:"chunk,omitempty"`
	// Blob describes a kept-aside blob.
	Blob *PendingBlob `json:"blob,omitempty"`
	// Status is rejected or conflict.
	Status mobilesync.Status `json:"status"`
	// Rev is the server's current revision, for a conflict.
	Rev     int64           `json:"rev,omitempty"`
	Problem *Problem        `json:"problem,omitempty"`
	Current json.RawMessage `json:"current,omitempty"`
	At      time.Time       `json:"at"`
}

// Reason says in one line why the item was kept aside.
func (a Aside) Reason() string {
	switch {
	case a.Problem != nil:
		return a.Problem.Reason()
	case a.Status == mobilesync.StatusConflict && a.Rev > 0:
		return fmt.Sprintf("conflict: the server holds revision %d", a.Rev)
	}
	return string(a.Status)
}

// Queue is everything waiting on this phone.
type Queue struct {
	Mutations []Pending
	Blobs     []PendingBlob
	Chunks    []PendingChunk
	Aside     []Aside
}

// Queue returns what waits to be sent, in the order it will be sent, and
// what is kept aside, oldest first.
func (c *Client) Queue() (Queue, error) {
	var q Queue
	err := c.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bOutbox).ForEach(func(_, v []byte) error {
			var e entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			q.Mutations = append(q.Mutations, Pending{Seq: e.Mutation.Seq, Op: e.Mutation.Op, RecordID: e.RecordID, Kind: e.Kind, CapturedAt: e.CapturedAt})
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bBlobs).ForEach(func(_, v []byte) error {
			var b PendingBlob
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
			q.Blobs = append(q.Blobs, b)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bChunks).ForEach(func(_, v []byte) error {
			var ch chunkEntry
			if err := json.Unmarshal(v, &ch); err != nil {
				return err
			}
			q.Chunks = append(q.Chunks, PendingChunk{PatrolID: ch.PatrolID, ChunkSeq: ch.ChunkSeq, Points: len(ch.Chunk.Points), QueuedAt: ch.QueuedAt})
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bAside).ForEach(func(_, v []byte) error {
			var a Aside
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			q.Aside = append(q.Aside, a)
			return nil
		})
	})
	if err != nil {
		return Queue{}, fmt.Errorf("client: queue: %w", err)
	}
	return q, nil
}

// KeptAside returns the item kept aside under id.
func (c *Client) KeptAside(id int64) (Aside, error) {
	var a Aside
	err := c.db.View(func(tx *bolt.Tx) (err error) {
		a, err = getAside(tx, id)
		return err
	})
	if err != nil {
		return Aside{}, fmt.Errorf("client: kept aside: %w", err)
	}
	return a, nil
}

// Resubmit queues a kept-aside item again and forgets it, in one
// transaction. For a mutation, record replaces the record it carried (nil
// keeps it, as for a void) and it gets a new seq; a correction's record
// must keep its id, a create's may take another (when its id was taken).
// After a conflict the base revision of a correct or void becomes the
// server's current one, so the change applies over it.
// A track chunk or blob is queued again as it was (after its patrol was
// fixed, say); record must then be nil. It returns the new seq of a
// mutation, 0 otherwise.
func (c *Client) Resubmit(id int64, record []byte) (int64, error) {
	var seq int64
	err := c.db.Update(func(tx *bolt.Tx) error {
		a, err := getAside(tx, id)
		if err != nil {
			return err
		}
		switch a.What {
		case AsideMutation:
			m := *a.Mutation
			id, kind := a.RecordID, a.Kind
			if record != nil {
				// A create may take another id (its own was taken: a
				// conflict); a correction is of its record.
				want := a.RecordID
				if m.Op == mobilesync.OpCreate {
					want = ""
				}
				body, newID, k, err := c.prepare(record, want)
				if err != nil {
					return err
				}
				m.Record, id, kind = body, newID, k
			}
			if a.Status == mobilesync.StatusConflict && a.Rev > 0 && m.Op != mobilesync.OpCreate {
				m.BaseRev = a.Rev
			}
			if seq, err = c.enqueue(tx, m, id, kind); err != nil {
				return err
			}
		case AsideTrackChunk:
			if record != nil {
				return fmt.Errorf("%w: a track chunk is resubmitted as it was", ErrInvalid)
			}
			ch := chunkEntry{PatrolID: a.PatrolID, ChunkSeq: a.ChunkSeq, Chunk: *a.Chunk, QueuedAt: c.now().UTC()}
			if err := putJSON(tx, bChunks, chunkKey(a.PatrolID, a.ChunkSeq), ch); err != nil {
				return err
			}
		case AsideBlob:
			if record != nil {
				return fmt.Errorf("%w: a blob is resubmitted as it was", ErrInvalid)
			}
			if err := putJSON(tx, bBlobs, []byte(a.Blob.SHA256), a.Blob); err != nil {
				return err
			}
		}
		return tx.Bucket(bAside).Delete(u64(id))
	})
	if err != nil {
		return 0, fmt.Errorf("client: resubmit %d: %w", id, err)
	}
	return seq, nil
}

// Dismiss forgets a kept-aside item (and the local copy of a blob).
func (c *Client) Dismiss(id int64) error {
	var path string
	err := c.db.Update(func(tx *bolt.Tx) error {
		a, err := getAside(tx, id)
		if err != nil {
			return err
		}
		if a.Blob != nil && tx.Bucket(bBlobs).Get([]byte(a.Blob.SHA256)) == nil {
			path = a.Blob.Path
		}
		return tx.Bucket(bAside).Delete(u64(id))
	})
	if err != nil {
		return fmt.Errorf("client: dismiss %d: %w", id, err)
	}
	if path != "" {
		_ = os.Remove(path)
	}
	return nil
}

// putAside stores a inside tx under the next aside id.
func putAside(tx *bolt.Tx, a Aside) error {
	id, err := nextAsideID(tx)
	if err != nil {
		return err
	}
	a.ID = id
	return putJSON(tx, bAside, u64(id), a)
}

// getAside reads the item kept aside under id; ErrNotFound when there is none.
func getAside(tx *bolt.Tx, id int64) (Aside, error) {
	var a Aside
	ok, err := getJSON(tx, bAside, u64(id), &a)
	if err == nil && !ok {
		err = fmt.Errorf("%w: nothing kept aside as %d", ErrNotFound, id)
	}
	return a, err
}
