package store

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/baoshui/baoshui/server/enforcement"
)

// colSeqLog holds the server sequence log: one document per claim, _id the
// claim number (DESIGN.md §2).
const colSeqLog = "seqlog"

type seqClaimDoc struct {
	ID     string        `bson:"_id"`
	N      int64         `bson:"n"`
	First  int64         `bson:"first"`
	Size   int64         `bson:"size"`
	At     time.Time     `bson:"at"`
	By     string        `bson:"by"`
	Revs   []seqRevDoc   `bson:"revs,omitempty"`
	Chunks []seqChunkDoc `bson:"chunks,omitempty"`
	Docs   []seqDocDoc   `bson:"docs,omitempty"`
}

type seqDocDoc struct {
	Kind string `bson:"kind"`
	ID   string `bson:"id"`
	Rev  int64  `bson:"rev"`
}

type seqRevDoc struct {
	ID  string `bson:"id"`
	Rev int64  `bson:"rev"`
}

type seqChunkDoc struct {
	Patrol string `bson:"patrol"`
	Seq    int    `bson:"seq"`
}

func seqClaimID(n int64) string { return fmt.Sprintf("%016d", n) }

// InsertSeqClaim stores claim c under its number. A claim with that number
// already stored (another instance took it first) gives an error wrapping
// ErrDuplicate.
func (s *Store) InsertSeqClaim(ctx context.Context, c enforcement.SeqClaim) error {
	d := seqClaimDoc{ID: seqClaimID(c.N), N: c.N, First: c.First, Size: c.Size, At: c.At.UTC(), By: c.By}
	for _, r := range c.Revs {
		d.Revs = append(d.Revs, seqRevDoc{ID: r.ID, Rev: r.Rev})
	}
	for _, ch := range c.Chunks {
		d.Chunks = append(d.Chunks, seqChunkDoc{Patrol: ch.Patrol, Seq: ch.Seq})
	}
	for _, x := range c.Docs {
		d.Docs = append(d.Docs, seqDocDoc{Kind: x.Kind, ID: x.ID, Rev: x.Rev})
	}
	if err := s.insertMany(ctx, colSeqLog, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert sequence claim %d: %w", c.N, err)
	}
	return nil
}

// GetSeqClaim loads claim n; ErrNotFound when it is not (yet) stored.
func (s *Store) GetSeqClaim(ctx context.Context, n int64) (enforcement.SeqClaim, error) {
	var d seqClaimDoc
	if err := s.findByID(ctx, colSeqLog, seqClaimID(n), &d); err != nil {
		return enforcement.SeqClaim{}, fmt.Errorf("store: get sequence claim %d: %w", n, err)
	}
	c := enforcement.SeqClaim{N: d.N, First: d.First, Size: d.Size, At: d.At.UTC(), By: d.By}
	for _, r := range d.Revs {
		c.Revs = append(c.Revs, enforcement.RevRef{ID: r.ID, Rev: r.Rev})
	}
	for _, ch := range d.Chunks {
		c.Chunks = append(c.Chunks, enforcement.ChunkRef{Patrol: ch.Patrol, Seq: ch.Seq})
	}
	for _, x := range d.Docs {
		c.Docs = append(c.Docs, enforcement.DocRef{Kind: x.Kind, ID: x.ID, Rev: x.Rev})
	}
	return c, nil
}

// colSeqBodies holds, per claim, the revisions its writer stored under it.
const colSeqBodies = "seqbodies"

type seqBodyDoc struct {
	ID   string      `bson:"_id"`
	Revs []recordDoc `bson:"revs"`
	// TooLarge marks a body left out: its revisions would pass
	// MaxSeqBodyBytes, and followers read them one by one.
	TooLarge bool `bson:"too_large,omitempty"`
}

// MaxSeqBodyBytes bounds a claim body, well below the 16 MiB of a
// document: a group commit of several pushes of patrols with long tracks
// can exceed that.
const MaxSeqBodyBytes = 8 << 20

// InsertSeqBody stores, under claim n's number, the revisions its writer
// stored under it: a follower then reads one document per claim instead of
// one per revision. Revisions that would pass MaxSeqBodyBytes are left out
// and the body says so. A body already stored gives an error wrapping
// ErrDuplicate.
func (s *Store) InsertSeqBody(ctx context.Context, n int64, revs []enforcement.Record) error {
	d := seqBodyDoc{ID: seqClaimID(n), Revs: make([]recordDoc, 0, len(revs))}
	for _, r := range revs {
		rd, err := toRecordDoc(r)
		if err != nil {
			return fmt.Errorf("store: insert sequence body %d: %w", n, err)
		}
		d.Revs = append(d.Revs, rd)
	}
	raw, err := bson.Marshal(d)
	if err != nil {
		return fmt.Errorf("store: insert sequence body %d: %w", n, err)
	}
	var doc any = bson.Raw(raw)
	if len(raw) > MaxSeqBodyBytes {
		doc = seqBodyDoc{ID: d.ID, Revs: []recordDoc{}, TooLarge: true}
	}
	if err := s.insertMany(ctx, colSeqBodies, []any{doc})[0]; err != nil {
		return fmt.Errorf("store: insert sequence body %d: %w", n, err)
	}
	return nil
}

// GetSeqBody loads the revisions stored under claim n; ErrNotFound when its
// writer has not stored the body (yet, or it died first),
// enforcement.ErrSeqBodyLeftOut when it was too large to store.
func (s *Store) GetSeqBody(ctx context.Context, n int64) ([]enforcement.Record, error) {
	var d seqBodyDoc
	if err := s.findByID(ctx, colSeqBodies, seqClaimID(n), &d); err != nil {
		return nil, fmt.Errorf("store: get sequence body %d: %w", n, err)
	}
	if d.TooLarge {
		return nil, fmt.Errorf("store: get sequence body %d: %w", n, enforcement.ErrSeqBodyLeftOut)
	}
	out := make([]enforcement.Record, 0, len(d.Revs))
	for _, rd := range d.Revs {
		r, err := fromRecordDoc(rd)
		if err != nil {
			return nil, fmt.Errorf("store: get sequence body %d: %w", n, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// LastSeqClaim finds the newest claim with O(log n) lookups by _id, never a
// scan; the zero SeqClaim when the log is empty.
func (s *Store) LastSeqClaim(ctx context.Context) (enforcement.SeqClaim, error) {
	var last enforcement.SeqClaim
	_, err := lastSeq(func(n int64) (bool, error) {
		c, err := s.GetSeqClaim(ctx, n)
		if isNotFound(err) {
			return false, nil
		}
		if err == nil {
			last = c
		}
		return err == nil, err
	})
	if err != nil {
		return enforcement.SeqClaim{}, err
	}
	return last, nil
}
