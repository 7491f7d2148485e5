package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

const colTrackChunks = "track_chunks"

// trackChunkDoc is one chunk of a patrol's track, stored once under
// {patrol}:{chunk}. The positions are WKB (FerretDB stores no nested
// arrays), the fix times unix milliseconds beside them.
type trackChunkDoc struct {
	ID         string    `bson:"_id"`
	PatrolID   string    `bson:"patrol_id"`
	Seq        int       `bson:"chunk_seq"`
	WKB        []byte    `bson:"wkb"`
	TimesMs    []int64   `bson:"times_ms"`
	BodySHA256 string    `bson:"body_sha256"`
	ReceivedAt time.Time `bson:"received_at"`
	By         string    `bson:"by"`
}

// TrackChunkID is the deterministic _id of a track chunk.
func TrackChunkID(patrol string, seq int) string { return fmt.Sprintf("%s:%06d", patrol, seq) }

// InsertTrackChunk stores c; a chunk already stored under the same patrol
// and seq gives an error wrapping ErrDuplicate.
func (s *Store) InsertTrackChunk(ctx context.Context, c enforcement.TrackChunk) error {
	if err := s.invalidateSnapshot(ctx); err != nil {
		return fmt.Errorf("store: insert track chunk: %w", err)
	}
	ls := make(orb.LineString, len(c.Fixes))
	times := make([]int64, len(c.Fixes))
	for i, f := range c.Fixes {
		ls[i], times[i] = f.Point, f.Time.UnixMilli()
	}
	b, err := wkb.Marshal(ls)
	if err != nil {
		return fmt.Errorf("store: insert track chunk: %w", err)
	}
	d := trackChunkDoc{ID: TrackChunkID(c.PatrolID, c.Seq), PatrolID: c.PatrolID, Seq: c.Seq, WKB: b, TimesMs: times,
		BodySHA256: c.BodySHA256, ReceivedAt: c.ReceivedAt, By: c.By}
	if err := s.insertMany(ctx, colTrackChunks, []any{d})[0]; err != nil {
		return fmt.Errorf("store: insert track chunk %s: %w", d.ID, err)
	}
	return nil
}

// GetTrackChunk reads one chunk by _id.
func (s *Store) GetTrackChunk(ctx context.Context, patrol string, seq int) (enforcement.TrackChunk, error) {
	var d trackChunkDoc
	if err := s.findByID(ctx, colTrackChunks, TrackChunkID(patrol, seq), &d); err != nil {
		if isNotFound(err) {
			err = ErrNotFound
		}
		return enforcement.TrackChunk{}, fmt.Errorf("store: track chunk %s: %w", TrackChunkID(patrol, seq), err)
	}
	return fromTrackChunkDoc(d)
}

// ScanTrackChunks calls fn with every stored chunk. It is a full scan, for
// building read models at start only.
func (s *Store) ScanTrackChunks(ctx context.Context, fn func(enforcement.TrackChunk) error) error {
	err := scan(ctx, s, colTrackChunks, func(d trackChunkDoc) error {
		c, err := fromTrackChunkDoc(d)
		if err != nil {
			return err
		}
		return fn(c)
	})
	if err != nil {
		return fmt.Errorf("store: scan track chunks: %w", err)
	}
	return nil
}

func fromTrackChunkDoc(d trackChunkDoc) (enforcement.TrackChunk, error) {
	g, err := wkb.Unmarshal(d.WKB)
	if err != nil {
		return enforcement.TrackChunk{}, fmt.Errorf("decode track chunk %s: %w", d.ID, err)
	}
	ls, ok := g.(orb.LineString)
	if !ok || len(ls) != len(d.TimesMs) {
		return enforcement.TrackChunk{}, errors.New("decode track chunk " + d.ID + ": positions and times differ")
	}
	c := enforcement.TrackChunk{PatrolID: d.PatrolID, Seq: d.Seq, BodySHA256: d.BodySHA256, ReceivedAt: d.ReceivedAt.UTC(),
		By: d.By, Fixes: make([]geo.Fix, len(ls))}
	for i, p := range ls {
		c.Fixes[i] = geo.Fix{Point: p, Time: time.UnixMilli(d.TimesMs[i]).UTC()}
	}
	return c, nil
}
