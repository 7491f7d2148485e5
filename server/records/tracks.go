package records

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/zones"
	"github.com/paulmach/orb"
)

// chunkAgg is what the track chunks of one patrol add to its effort: the
// sums of their measured distance and moving time, the span of their fixes,
// their box and the grid cells they cross, and which chunks are stored.
type chunkAgg struct {
	distanceM, movingS float32
	t0, t1             int64 // unix ms of the first and last fix
	bound              [4]float32
	cells              []uint32
	seqs               []int32 // sorted
}

// TrackInfo is what the service knows of a patrol's chunked track.
type TrackInfo struct {
	Chunks []int // chunk seqs stored, ascending
}

// AppendTrackChunk stores fixes (WGS-84, checked by
// enforcement.DecodeTrackChunk) as chunk seq of the patrol's track. It is
// idempotent: the same chunk again gives created false; another body under
// the same seq an error wrapping ErrConflict. The patrol must exist (else
// ErrNotFound), be a patrol (ErrInvalid) and not be void (ErrConflict); the
// caller has checked that actor may correct it. The chunk's distance,
// moving time and cells count in the patrol's effort from now on.
func (s *Service) AppendTrackChunk(ctx context.Context, actor Actor, patrolID string, seq int, fixes []geo.Fix) (created bool, err error) {
	h, ok := s.Head(patrolID)
	switch {
	case !ok:
		return false, fmt.Errorf("records: append track: patrol %s: %w", patrolID, enforcement.ErrNotFound)
	case h.Kind != enforcement.KindPatrol:
		return false, fmt.Errorf("records: append track: %w: %s is a %s record, not a patrol", enforcement.ErrInvalid, patrolID, h.Kind)
	case h.Voided:
		return false, fmt.Errorf("records: append track: %w: patrol %s is void", enforcement.ErrConflict, patrolID)
	case seq < 1 || seq > enforcement.MaxChunkSeq:
		return false, fmt.Errorf("records: append track: %w: chunk_seq must be 1 to %d", enforcement.ErrInvalid, enforcement.MaxChunkSeq)
	}
	c := enforcement.TrackChunk{PatrolID: patrolID, Seq: seq, Fixes: fixes, BodySHA256: enforcement.FixesSHA256(fixes),
		ReceivedAt: s.now().UTC(), By: actor.Username}
	err = s.store.InsertTrackChunk(ctx, c)
	if errors.Is(err, enforcement.ErrExists) {
		old, gerr := s.store.GetTrackChunk(ctx, patrolID, seq)
		if gerr != nil {
			return false, fmt.Errorf("records: append track: %w", gerr)
		}
		if old.BodySHA256 != c.BodySHA256 {
			return false, fmt.Errorf("records: append track: %w: chunk %d of patrol %s holds other fixes", enforcement.ErrConflict, seq, patrolID)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("records: append track: %w", err)
	}
	s.mu.Lock()
	s.addChunk(&c)
	s.mu.Unlock()
	// The audit op also claims the chunk in the server sequence log, so
	// that other instances add it to their read models.
	if _, err := s.submit(ctx, &op{kind: opAudit, chunk: &enforcement.ChunkRef{Patrol: patrolID, Seq: seq},
		entry: audit.Entry{Actor: actor.Username, Action: "track.append", Object: "record:" + patrolID,
			Rev: int64(seq), After: c.BodySHA256}}); err != nil {
		s.log.Warn("track chunk stored, its audit entry not", "patrol", patrolID, "chunk", seq, "err", err)
	}
	return true, nil
}

// addChunk adds c to its patrol's chunk aggregate; s.mu must be held for
// writing (or the service not yet shared). A chunk of an unknown patrol or
// one already counted is ignored.
func (s *Service) addChunk(c *enforcement.TrackChunk) {
	i, ok := s.heads[c.PatrolID]
	if !ok || len(c.Fixes) == 0 {
		return
	}
	a := s.chunks[i]
	if a == nil {
		a = &chunkAgg{t0: c.Fixes[0].Time.UnixMilli(), t1: c.Fixes[0].Time.UnixMilli()}
		a.bound = [4]float32{nextDown(c.Fixes[0].Point[0]), nextDown(c.Fixes[0].Point[1]), nextUp(c.Fixes[0].Point[0]), nextUp(c.Fixes[0].Point[1])}
		s.chunks[i] = a
	}
	at, found := slices.BinarySearch(a.seqs, int32(c.Seq))
	if found {
		return
	}
	a.seqs = slices.Insert(a.seqs, at, int32(c.Seq))
	var set *zones.Set
	if s.zones != nil {
		set = s.zones.Current()
	}
	clean, e := measureFixes(c.Fixes, set)
	a.distanceM += float32(e.Distance)
	a.movingS += float32(e.Moving.Seconds())
	for _, f := range c.Fixes {
		ms := f.Time.UnixMilli()
		a.t0, a.t1 = min(a.t0, ms), max(a.t1, ms)
		p := f.Point
		a.bound = [4]float32{min(a.bound[0], nextDown(p[0])), min(a.bound[1], nextDown(p[1])), max(a.bound[2], nextUp(p[0])), max(a.bound[3], nextUp(p[1]))}
	}
	if set != nil {
		for _, cell := range set.Cells(clean.LineString()) {
			id := s.names.id(cell)
			if !slices.Contains(a.cells, id) {
				a.cells = append(a.cells, id)
			}
		}
	}
}

// measureFixes cleans fixes of GPS noise as a record's track is cleaned and
// measures them.
func measureFixes(fixes []geo.Fix, set *zones.Set) (geo.Track, geo.Effort) {
	opt := geo.CleanOptions{}
	if set != nil {
		if z, _, ok := set.Layer("towns"); ok && z.Len() > 0 {
			b := z.Bound().Pad(areaMargin)
			opt.Bounds = &b
		}
	}
	clean, _ := geo.Clean(geo.Track(fixes), opt)
	return clean, geo.Measure(clean, 0)
}

// Track returns the patrol's whole track: the record's own track followed
// by its chunks in chunk seq order, with the fix times (zero where the
// record's track has none) and the chunk seqs. Chunks are read by _id.
func (s *Service) Track(ctx context.Context, patrolID string) (orb.LineString, []int64, TrackInfo, error) {
	r, err := s.Get(ctx, patrolID)
	if err != nil {
		return nil, nil, TrackInfo{}, err
	}
	if r.Kind != enforcement.KindPatrol {
		return nil, nil, TrackInfo{}, fmt.Errorf("records: track: %w: %s is not a patrol", enforcement.ErrNotFound, patrolID)
	}
	var ls orb.LineString
	var times []int64
	if r.Track != nil {
		for i, p := range r.Track.Coordinates {
			ls = append(ls, orb.Point(p))
			var ms int64
			if len(r.TrackTimes) == len(r.Track.Coordinates) {
				ms = r.TrackTimes[i].UnixMilli()
			}
			times = append(times, ms)
		}
	}
	s.mu.RLock()
	var seqs []int32
	if i, ok := s.heads[patrolID]; ok && s.chunks[i] != nil {
		seqs = slices.Clone(s.chunks[i].seqs)
	}
	s.mu.RUnlock()
	info := TrackInfo{Chunks: make([]int, 0, len(seqs))}
	for _, seq := range seqs {
		c, err := s.store.GetTrackChunk(ctx, patrolID, int(seq))
		if err != nil {
			return nil, nil, TrackInfo{}, fmt.Errorf("records: track: %w", err)
		}
		for _, f := range c.Fixes {
			ls = append(ls, f.Point)
			times = append(times, f.Time.UnixMilli())
		}
		info.Chunks = append(info.Chunks, int(seq))
	}
	return ls, times, info, nil
}

// loadChunks adds every stored chunk to the read models, after the heads
// are loaded by a scan.
func (s *Service) loadChunks(ctx context.Context) error {
	return s.store.ScanTrackChunks(ctx, func(c enforcement.TrackChunk) error {
		s.addChunk(&c)
		return nil
	})
}

// effortOf is the effort of the patrol at index i, its record's track and
// its chunks together (nil when it has neither); s.mu must be held. The
// chunks' span is added to the track's, as the two are consecutive parts
// of one patrol.
func (s *Service) effortOf(i int32) *patrolEffort {
	e, c := s.efforts[i], s.chunks[i]
	if c == nil {
		return e
	}
	out := &patrolEffort{distanceM: c.distanceM, movingS: c.movingS, durationS: float32(c.t1-c.t0) / 1000, bound: c.bound,
		cells: slices.Clone(c.cells)}
	if e != nil {
		out.distanceM += e.distanceM
		out.movingS += e.movingS
		out.durationS += e.durationS
		if e.bound != ([4]float32{}) {
			out.bound = [4]float32{min(out.bound[0], e.bound[0]), min(out.bound[1], e.bound[1]), max(out.bound[2], e.bound[2]), max(out.bound[3], e.bound[3])}
		}
		for _, cell := range e.cells {
			if !slices.Contains(out.cells, cell) {
				out.cells = append(out.cells, cell)
			}
		}
	}
	return out
}
