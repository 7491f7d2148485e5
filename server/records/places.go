package records

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/zones"
)

// patrolEffort is the in-memory effort of a patrol: what the patrol-effort
// report sums, without reading tracks.
type patrolEffort struct {
	distanceM, durationS, movingS float32
	bound                         [4]float32 // W, S, E, N of the track
	cells                         []uint32   // interned cell ids
}

// Zones is where the service finds the zone layers in force.
type Zones interface {
	Current() *zones.Set
}

// areaMargin is how far beyond the zone layers a patrol's fix may be before
// Clean drops it as outside the area, in degrees (about 10 km).
const areaMargin = 0.1

// derive fills in r's place and effort from its geometry and the zones in
// force; it runs in the caller's goroutine, before the write is queued.
func (s *Service) derive(r *enforcement.Record) {
	var set *zones.Set
	if s.zones != nil {
		set = s.zones.Current()
	}
	Derive(r, set)
}

// Derive sets r's effort (from its track, cleaned of GPS noise) and, when set
// is not nil, its place in those zones: what the service stores with every
// revision. It is exported for tools that bulk-load records.
func Derive(r *enforcement.Record, set *zones.Set) {
	r.Place, r.Effort = nil, nil
	var ls orb.LineString
	if r.Track != nil && len(r.Track.Coordinates) > 0 {
		var eff enforcement.Effort
		ls, eff = measureTrack(r, set)
		r.Effort = &eff
	}
	if set != nil {
		placeOf(r, set, ls)
	}
}

// measureTrack cleans r's track of GPS noise and measures it. Without fix
// times (or with a count that does not match the positions) only the
// distance is measured, and the duration is ended_at − started_at.
func measureTrack(r *enforcement.Record, set *zones.Set) (orb.LineString, enforcement.Effort) {
	coords := r.Track.Coordinates
	if len(r.TrackTimes) == len(coords) {
		t := make(geo.Track, len(coords))
		for i, c := range coords {
			t[i] = geo.Fix{Point: orb.Point(c), Time: r.TrackTimes[i]}
		}
		opt := geo.CleanOptions{}
		if set != nil {
			if z, _, ok := set.Layer("towns"); ok && z.Len() > 0 {
				b := z.Bound().Pad(areaMargin)
				opt.Bounds = &b
			}
		}
		clean, rep := geo.Clean(t, opt)
		e := geo.Measure(clean, 0)
		return clean.LineString(), enforcement.Effort{DistanceM: round1(e.Distance), DurationS: e.Duration.Seconds(),
			MovingS: e.Moving.Seconds(), StoppedS: e.Stopped.Seconds(), Fixes: rep.Kept, Dropped: rep.Input - rep.Kept}
	}
	ls := make(orb.LineString, len(coords))
	for i, c := range coords {
		ls[i] = orb.Point(c)
	}
	e := enforcement.Effort{DistanceM: round1(geo.Length(ls)), Fixes: len(ls)}
	if r.StartedAt != nil && r.EndedAt != nil && r.EndedAt.After(*r.StartedAt) {
		e.DurationS = r.EndedAt.Sub(*r.StartedAt).Seconds()
	}
	return ls, e
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// setEffort keeps the effort of the patrol at index i; s.mu must be held for
// writing (or the service not yet shared).
func (s *Service) setEffort(i int32, r *enforcement.Record) {
	if r.Effort == nil {
		delete(s.efforts, i)
		return
	}
	e := &patrolEffort{distanceM: float32(r.Effort.DistanceM), durationS: float32(r.Effort.DurationS), movingS: float32(r.Effort.MovingS)}
	if r.Track != nil && len(r.Track.Coordinates) > 0 {
		c := r.Track.Coordinates
		b := [4]float64{c[0][0], c[0][1], c[0][0], c[0][1]}
		for _, p := range c[1:] {
			b = [4]float64{min(b[0], p[0]), min(b[1], p[1]), max(b[2], p[0]), max(b[3], p[1])}
		}
		// Rounded outwards, so that the float32 box still holds the track.
		e.bound = [4]float32{nextDown(b[0]), nextDown(b[1]), nextUp(b[2]), nextUp(b[3])}
	}
	if r.Place != nil {
		for _, c := range r.Place.Cells {
			e.cells = append(e.cells, s.names.id(c))
		}
	}
	s.efforts[i] = e
}

// ReclassifyStatus reports the background job that brings every record's
// stored place up to the zones in force.
type ReclassifyStatus struct {
	// Generation is the zones generation the job works towards.
	Generation int64 `json:"generation"`
	// State is "idle" (nothing to do), "running" or "failed"; a failed job
	// is retried after a minute.
	State string `json:"state"`
	// Total is the number of records whose stored place was stale when the
	// current pass began, and Done how many of them have been rewritten.
	Total     int64     `json:"total"`
	Done      int64     `json:"done"`
	StartedAt time.Time `json:"started_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	Error     string    `json:"error,omitempty"`
}

// Reclassification returns the state of the reclassification job.
func (s *Service) Reclassification() ReclassifyStatus {
	s.jobMu.Lock()
	defer s.jobMu.Unlock()
	return s.job
}

// ZonesChanged tells the service that new zone layers are in force. A
// background job reads every located record by _id, stores its new place and
// updates the read models, a chunk at a time; until it reaches a record, the
// map's zone, town and cell filters see the record's old place, while Get and
// List already answer with the new one. It returns without waiting.
func (s *Service) ZonesChanged() {
	select {
	case s.rezone <- struct{}{}:
	default: // a pass is already due; it will see the newest layers
	}
}

// reclassifier runs passes until every head's stored place is of the zones
// in force; it wakes on ZonesChanged and stops with the service.
func (s *Service) reclassifier(ctx context.Context) {
	defer close(s.rezoneDone)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.rezone:
		}
		for {
			err := s.reclassifyPass(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			s.log.Error("reclassification failed; retrying in a minute", "err", err)
			s.jobMu.Lock()
			s.job.State, s.job.Error = "failed", err.Error()
			s.jobMu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
		}
	}
}

// reclassifyPass rewrites the stale places, first in memory (from the heads'
// anchors) and then in the store (patrols are read by _id for their tracks).
// It loops until a pass finds nothing stale.
func (s *Service) reclassifyPass(ctx context.Context) error {
	for {
		set := s.zones.Current()
		gen := int32(set.Generation)
		var stale []int32
		s.mu.RLock()
		for i := range s.all {
			h := &s.all[i]
			if h.located && h.placeGen != gen {
				stale = append(stale, int32(i))
			}
		}
		s.mu.RUnlock()
		now := s.now().UTC()
		s.jobMu.Lock()
		if len(stale) == 0 {
			s.job = ReclassifyStatus{Generation: int64(gen), State: "idle", Done: s.job.Done, Total: s.job.Total,
				StartedAt: s.job.StartedAt, UpdatedAt: now}
			s.jobMu.Unlock()
			return nil
		}
		s.job = ReclassifyStatus{Generation: int64(gen), State: "running", Total: int64(len(stale)), StartedAt: now, UpdatedAt: now}
		s.jobMu.Unlock()
		s.log.Info("reclassifying records against new zones", "generation", gen, "records", len(stale))
		for start := 0; start < len(stale); start += 256 {
			if err := s.reclassifyChunk(ctx, set, stale[start:min(start+256, len(stale))]); err != nil {
				return err
			}
			s.jobMu.Lock()
			s.job.Done, s.job.UpdatedAt = int64(min(start+256, len(stale))), s.now().UTC()
			s.jobMu.Unlock()
		}
	}
}

// reclassifyChunk stores the new places of the heads at idx and applies them
// to the read models. A head written meanwhile (its revision changed) is
// left for the next pass.
func (s *Service) reclassifyChunk(ctx context.Context, set *zones.Set, idx []int32) error {
	type job struct {
		i   int32
		id  string
		rev int64
		r   enforcement.Record // the revision, with its new place
		err error
	}
	jobs := make([]job, 0, len(idx))
	s.mu.RLock()
	for _, i := range idx {
		jobs = append(jobs, job{i: i, id: s.all[i].id, rev: s.all[i].rev})
	}
	s.mu.RUnlock()
	// The exact point and the track are in the stored revision.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for k := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func(j *job) {
			defer wg.Done()
			defer func() { <-sem }()
			j.r, j.err = s.store.GetRevision(ctx, j.id, j.rev)
			if j.err == nil {
				derivePlace(&j.r, set)
			}
		}(&jobs[k])
	}
	wg.Wait()
	var ups []enforcement.PlaceUpdate
	done := jobs[:0]
	for _, j := range jobs {
		switch {
		case errors.Is(j.err, enforcement.ErrNotFound):
			continue // corrected meanwhile and not yet visible here; next pass
		case j.err != nil:
			return fmt.Errorf("records: reclassify: %w", j.err)
		case j.r.Place == nil:
			continue
		}
		ups = append(ups, enforcement.PlaceUpdate{ID: j.id, Rev: j.rev, Place: *j.r.Place})
		done = append(done, j)
	}
	if err := s.store.SetPlaces(ctx, ups); err != nil {
		return fmt.Errorf("records: reclassify: %w", err)
	}
	s.mu.Lock()
	for _, j := range done {
		h := &s.all[j.i]
		if h.id != j.id || h.rev != j.rev {
			continue // written meanwhile, with the zones then in force
		}
		h.setPlace(j.r.Place, &s.names)
		s.setEffort(j.i, &j.r)
	}
	s.mu.Unlock()
	return nil
}

// derivePlace sets r.Place from r's anchor and track against set, leaving
// r.Effort as stored.
func derivePlace(r *enforcement.Record, set *zones.Set) {
	var ls orb.LineString
	if r.Track != nil && len(r.Track.Coordinates) > 0 {
		ls, _ = measureTrack(r, set)
	}
	placeOf(r, set, ls)
}

// placeOf sets r.Place from r's anchor and its cleaned track ls.
func placeOf(r *enforcement.Record, set *zones.Set, ls orb.LineString) {
	p, ok := r.Anchor()
	if !ok {
		return
	}
	pl := set.Classify(orb.Point(p))
	if len(ls) > 0 {
		pl.Cells = set.Cells(ls)
	}
	r.Place = &pl
}

// currentPlace returns r with its place recomputed when the stored one is of
// older zones than those in force (the job has not reached it yet).
func (s *Service) currentPlace(r enforcement.Record) enforcement.Record {
	if s.zones == nil {
		return r
	}
	set := s.zones.Current()
	if r.Place != nil && r.Place.ZonesVersion == set.Generation {
		return r
	}
	derivePlace(&r, set)
	return r
}

func nextDown(v float64) float32 {
	f := float32(v)
	if float64(f) > v {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

func nextUp(v float64) float32 {
	f := float32(v)
	if float64(f) < v {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}
