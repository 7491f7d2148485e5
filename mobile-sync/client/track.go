package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// chunkEntry is a queued track chunk.
type chunkEntry struct {
	PatrolID string                `json:"patrol_id"`
	ChunkSeq int64                 `json:"chunk_seq"`
	Chunk    mobilesync.TrackChunk `json:"chunk"`
	QueuedAt time.Time             `json:"queued_at"`
}

// AppendTrack queues points of patrol patrolID's track, in chunks of at most
// the server's max_track_chunk_points, numbered after the chunks already
// queued or sent for it; crs is "" (WGS-84), "gcj02" or "bd09". It needs no
// network: Sync sends the chunks after the patrol record itself. It returns
// the chunk seqs it queued.
func (c *Client) AppendTrack(patrolID string, points []mobilesync.TrackPoint, crs string) ([]int64, error) {
	if !idPattern.MatchString(patrolID) {
		return nil, fmt.Errorf("client: append track: %w: patrol id %q", ErrInvalid, patrolID)
	}
	switch crs {
	case "", CRSWGS84, CRSGCJ02, CRSBD09:
	default:
		return nil, fmt.Errorf("client: append track: %w: crs %q", ErrInvalid, crs)
	}
	size := c.Limits().MaxTrackChunkPoints
	var seqs []int64
	err := c.db.Update(func(tx *bolt.Tx) error {
		next := max(fromU64(tx.Bucket(bChunkSeq).Get([]byte(patrolID))), 1)
		for i := 0; i < len(points); i += size {
			ch := chunkEntry{PatrolID: patrolID, ChunkSeq: next, QueuedAt: c.now().UTC(),
				Chunk: mobilesync.TrackChunk{Points: points[i:min(i+size, len(points))], CRS: crs}}
			if err := putJSON(tx, bChunks, chunkKey(patrolID, next), ch); err != nil {
				return err
			}
			seqs = append(seqs, next)
			next++
		}
		return tx.Bucket(bChunkSeq).Put([]byte(patrolID), u64(next))
	})
	if err != nil {
		return nil, fmt.Errorf("client: append track: %w", err)
	}
	return seqs, nil
}

// sendChunks sends the queued track chunks of patrols the server holds:
// chunks of a patrol whose record is still queued or kept aside wait. 201
// and 200 both mean stored; a chunk the server refuses (409 another body
// under its seq, 404, 403, 422) is kept aside with the problem. Another
// answer leaves the chunk queued, the others go on, and the failures are
// returned together; a failure that stops the sync stops at once.
func (c *Client) sendChunks(ctx context.Context, rep *Report) error {
	var chunks []chunkEntry
	waiting := map[string]bool{}
	err := c.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bOutbox).ForEach(func(_, v []byte) error {
			var e entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			waiting[e.RecordID] = true
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bAside).ForEach(func(_, v []byte) error {
			var a Aside
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			if a.What == AsideMutation && a.Mutation.Op == mobilesync.OpCreate {
				waiting[a.RecordID] = true
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bChunks).ForEach(func(_, v []byte) error {
			var ch chunkEntry
			if err := json.Unmarshal(v, &ch); err != nil {
				return err
			}
			chunks = append(chunks, ch)
			return nil
		})
	})
	if err != nil {
		return err
	}
	var failed []error
	for _, ch := range chunks {
		if waiting[ch.PatrolID] {
			rep.ChunksWaiting++
			continue
		}
		hr, err := jsonRequest(http.MethodPut, "/api/v1/patrols/"+url.PathEscape(ch.PatrolID)+"/track/"+strconv.FormatInt(ch.ChunkSeq, 10), ch.Chunk, true)
		if err != nil {
			return err
		}
		resp, err := c.do(ctx, hr)
		if err != nil {
			return fmt.Errorf("track chunk %s/%d: %w", ch.PatrolID, ch.ChunkSeq, err)
		}
		if resp.status >= 300 && !keptAsideChunkStatus(resp.status) {
			failed = append(failed, fmt.Errorf("track chunk %s/%d: %w", ch.PatrolID, ch.ChunkSeq, resp.problem()))
			continue
		}
		var aside *Aside
		switch resp.status {
		case http.StatusCreated, http.StatusOK:
			rep.ChunksSent++
		default:
			status := mobilesync.StatusRejected
			if resp.status == http.StatusConflict {
				status = mobilesync.StatusConflict
			}
			chunk := ch.Chunk
			aside = &Aside{What: AsideTrackChunk, PatrolID: ch.PatrolID, ChunkSeq: ch.ChunkSeq, Chunk: &chunk,
				Status: status, Problem: resp.problem(), At: c.now().UTC()}
			rep.ChunksKeptAside++
		}
		err = c.db.Update(func(tx *bolt.Tx) error {
			if err := tx.Bucket(bChunks).Delete(chunkKey(ch.PatrolID, ch.ChunkSeq)); err != nil {
				return err
			}
			if aside != nil {
				return putAside(tx, *aside)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("track chunk %s/%d: %w", ch.PatrolID, ch.ChunkSeq, err)
		}
	}
	return errors.Join(failed...)
}

// keptAsideChunkStatus reports whether an answer to a chunk refuses it for
// good: another body under its seq (409), no such patrol of the caller's
// (404), not the caller's to change (403), a bad point (422, 400).
func keptAsideChunkStatus(status int) bool {
	switch status {
	case http.StatusConflict, http.StatusNotFound, http.StatusForbidden, http.StatusUnprocessableEntity, http.StatusBadRequest:
		return true
	}
	return false
}
