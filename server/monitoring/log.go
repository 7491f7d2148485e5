package monitoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/enforcement"
)

// Every change to the read models and the alerts is an event, applied by
// commit: the readings of an ingest batch, the silent alerts a tick opens,
// an acknowledgement, a quarantined message. Alone, a service applies its
// events as it makes them.
//
// With Options.Shared, server instances share the store and split the
// readings between them (a shared subscription). An event is then first
// inserted into the store's monitoring log under the next number (the _id;
// another instance that took it first makes the insert fail, and the events
// missed are applied before the event is made again), and every instance
// applies every event in the log's order: the same readings reach every
// station's alert watch in the same order everywhere, so the alerts, their
// revisions and the read models are the same on every instance. An event
// carries its decisions, not only its inputs (the silent alerts a tick
// opened, the version of the station a reading is classified with),
// because the instances' clocks and the moments they learned of a station
// differ. Readings are logged without their classification, which is
// larger to encode and slower to decode than to classify again.

// DefaultFollowInterval is how often a service with Options.Shared reads
// the events other instances logged, when Options.FollowInterval is 0.
const DefaultFollowInterval = 250 * time.Millisecond

// event is one entry of the monitoring log.
type event struct {
	// At is when the instance that made the event made it; readings are
	// checked against the raw window as of then (see applyEvent).
	At time.Time `json:"at"`
	// Readings are an ingest batch in time order, and Stations the version
	// of each of their stations they are classified with.
	Readings []loggedReading  `json:"readings,omitempty"`
	Stations map[string]int64 `json:"stations,omitempty"`
	// Silent are the silent alerts a tick opened.
	Silent []sensors.Alert `json:"silent,omitempty"`
	// Ack acknowledges an alert.
	Ack *ackEvent `json:"ack,omitempty"`
	// Quarantine is a refused message, stored before.
	Quarantine *QuarantineEntry `json:"quarantine,omitempty"`
}

// loggedReading is a stored reading, and whether the instance that logged
// it inserted it (Fresh) or found it stored (a redelivery, which may never
// have been logged when its first receiver died in between).
type loggedReading struct {
	Reading StoredReading `json:"reading"`
	Fresh   bool          `json:"fresh,omitempty"`
}

// ackEvent acknowledges alert Alert.
type ackEvent struct {
	Alert string    `json:"alert"`
	By    string    `json:"by"`
	At    time.Time `json:"at"`
}

// errNothing is what a build function of commit returns when there is no
// event to make.
var errNothing = errors.New("nothing to log")

// commit makes an event with build and applies it, after every event
// logged before it. build runs with logMu held (so with every event before
// it applied) and must change nothing; it returns errNothing when there is
// nothing to log, which commit answers with nil. With Options.Shared the
// event is inserted into the log first; when another instance took the
// number, commit applies the events it missed and calls build again. A
// failed insert or a failing build applies nothing and returns the error.
func (s *Service) commit(ctx context.Context, build func() (event, error)) error {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	for {
		if s.opt.Shared {
			if err := s.catchUpLocked(ctx); err != nil {
				return err
			}
		}
		ev, err := build()
		if errors.Is(err, errNothing) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.opt.Shared {
			body, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("monitoring: log event: %w", err)
			}
			err = s.store.InsertMonitoringEvent(ctx, s.next, body)
			if errors.Is(err, enforcement.ErrExists) {
				continue
			}
			if err != nil {
				return fmt.Errorf("monitoring: log event: %w", err)
			}
			s.next++
			s.events.Store(s.next - 1)
		}
		s.applyEvent(ctx, ev, true)
		if n := s.next - 1; s.opt.Shared && n%checkpointEvery == 0 {
			s.checkpointLocked(n)
		}
		return nil
	}
}

// catchUpLocked applies the events other instances logged since the last
// one applied here. s.logMu must be held.
func (s *Service) catchUpLocked(ctx context.Context) error {
	for {
		body, err := s.store.GetMonitoringEvent(ctx, s.next)
		if errors.Is(err, enforcement.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("monitoring: follow the log: %w", err)
		}
		var ev event
		if err := json.Unmarshal(body, &ev); err != nil {
			// Skipped rather than retried for ever: no instance could apply
			// it, and every one skips it alike.
			s.log.Error("monitoring: an event of the log cannot be read; skipped", "event", s.next, "error", err)
		} else {
			s.applyEvent(ctx, ev, false)
		}
		s.next++
		s.events.Store(s.next - 1)
	}
}

// CatchUp applies the events other instances logged since the last one
// applied here; the service does so by itself every FollowInterval and
// before each event of its own. Without Options.Shared it does nothing.
func (s *Service) CatchUp(ctx context.Context) error {
	if !s.opt.Shared {
		return nil
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.catchUpLocked(ctx)
}

// follower applies the events other instances log, every
// Options.FollowInterval, until Close.
func (s *Service) follower() {
	defer s.wg.Done()
	t := time.NewTicker(s.opt.FollowInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := s.CatchUp(ctx)
		cancel()
		switch {
		case err != nil && !failing:
			s.log.Warn("monitoring: following the other instances failed; retrying", "error", err)
		case err == nil && failing:
			s.log.Info("monitoring: following the other instances again")
		}
		failing = err != nil
	}
}

// applyEvent applies ev to the read models and the alerts, stores the
// alert revisions it makes (every instance tries; the first insert wins and
// the others are duplicates of the same revision) and, for an event of its
// own, publishes them. s.logMu must be held.
func (s *Service) applyEvent(ctx context.Context, ev event, own bool) {
	defs := make(map[string]sensors.Station, len(ev.Stations))
	for id, v := range ev.Stations {
		s.mu.RLock()
		cur, ok := s.stations[id]
		s.mu.RUnlock()
		if !ok || cur.version < v {
			// The station's change has not come through the records log yet.
			if err := s.FollowStation(ctx, id, v); err != nil {
				s.log.Warn("monitoring: a logged reading's station version cannot be read", "station", id, "version", v, "error", err)
			}
		}
		if def, err := s.stationAt(ctx, id, v); err == nil {
			defs[id] = def
		} else {
			s.log.Warn("monitoring: a logged reading's station version cannot be read; classified with the one in force", "station", id, "version", v, "error", err)
		}
	}
	var changes []sensors.Alert
	s.mu.Lock()
	cutoff := ev.At.Add(-s.opt.RawRetention)
	for _, lr := range ev.Readings {
		r := lr.Reading
		st, ok := s.stations[r.Station]
		if !ok {
			continue
		}
		def, ok := defs[r.Station]
		if !ok {
			def = st.def
		}
		res := sensors.ClassifySample(def, sensors.Sample{Time: r.Time, Values: r.Values})
		// A reading inside the raw window joins the read models unless it
		// is there already: its first receiver may have died between
		// storing and logging it, so a redelivery logs it again, and an
		// instance that started meanwhile read it in its scan. Older ones
		// join when their logger inserted them. The watch sees every
		// logged reading in the log's order, and ignores those it saw.
		held := !lr.Fresh
		if r.Time.After(cutoff) {
			held = st.raw.has(r.Time.UnixMilli())
		}
		if !held {
			s.stats.Readings++
			s.addLocked(st, r, res, cutoff)
		}
		c := st.watch.Observe(res)
		s.noteAlertsLocked(c)
		changes = append(changes, c...)
	}
	for _, a := range ev.Silent {
		st, ok := s.stations[a.Station]
		if !ok {
			continue
		}
		st.watch.Restore(a)
		if cur, ok := s.alerts[a.ID]; ok && cur.Rev >= a.Rev {
			continue // the start's scan read it already
		}
		s.noteAlertsLocked([]sensors.Alert{a})
		changes = append(changes, a)
	}
	if k := ev.Ack; k != nil {
		if cur, ok := s.alerts[k.Alert]; ok {
			// The watch's own copy, when the alert is still its latest of
			// its kind: after a start from a checkpoint, the scanned
			// revisions may be ahead of the watch until the log is replayed.
			a := *cur
			st, hasStation := s.stations[a.Station]
			if hasStation {
				ws := st.watch.State()
				for _, w := range []*sensors.Alert{ws.Exceed, ws.Silent} {
					if w != nil && w.ID == k.Alert {
						a = *w
					}
				}
			}
			if a.AckedBy == "" {
				a.AckedBy, a.AckedAt, a.Rev = k.By, k.At, a.Rev+1
				if hasStation {
					st.watch.Restore(a)
				}
				if cur.Rev < a.Rev {
					s.alerts[a.ID] = &a
				}
				changes = append(changes, a)
			}
		}
	}
	if q := ev.Quarantine; q != nil {
		s.keepQuarantinedLocked(*q)
	}
	s.countOpenLocked()
	s.mu.Unlock()
	s.recordAlerts(ctx, changes, own)
}

// stationAt returns version v of station id: the one in force, or else
// the stored one (an event logged before a change this instance applied
// already).
func (s *Service) stationAt(ctx context.Context, id string, v int64) (sensors.Station, error) {
	s.mu.RLock()
	cur, ok := s.stations[id]
	s.mu.RUnlock()
	if ok && cur.version == v {
		return cur.def, nil
	}
	sv, err := s.store.GetStationVersion(ctx, id, v)
	if err != nil {
		return sensors.Station{}, err
	}
	return sv.Station, nil
}

// keepQuarantinedLocked puts e among the latest quarantined messages,
// unless it is there already (a redelivery). s.mu must be held.
func (s *Service) keepQuarantinedLocked(e QuarantineEntry) {
	for _, k := range s.quar {
		if k.ID == e.ID {
			return
		}
	}
	s.stats.Quarantined++
	s.quarN++
	s.quar = append(s.quar, e)
	if len(s.quar) > QuarantineKept {
		s.quar = append(s.quar[:0:0], s.quar[len(s.quar)-QuarantineKept:]...)
	}
}

// readingsEvent makes the event of an ingest batch: its readings in time
// order, each marked fresh when StoreReadings inserted it here.
func (s *Service) readingsEvent(rs []loggedReading) event {
	ev := event{At: s.opt.Now().UTC(), Readings: rs, Stations: map[string]int64{}}
	s.pendMu.Lock()
	for i, lr := range ev.Readings {
		_, ev.Readings[i].Fresh = s.pending[readingKey{lr.Reading.Station, lr.Reading.Time.UnixMilli()}]
	}
	s.pendMu.Unlock()
	s.mu.RLock()
	for _, lr := range rs {
		if st, ok := s.stations[lr.Reading.Station]; ok {
			ev.Stations[lr.Reading.Station] = st.version
		}
	}
	s.mu.RUnlock()
	sort.SliceStable(ev.Readings, func(i, j int) bool { return ev.Readings[i].Reading.Time.Before(ev.Readings[j].Reading.Time) })
	return ev
}

// checkpointEvery is how many events apart the checkpoints are: an
// instance that starts replays at most about as many.
var checkpointEvery int64 = 500

// keepCheckpoints is how many checkpoints are kept, the newest included:
// each one holds every station's alert state, up to megabytes with
// thousands of stations.
const keepCheckpoints = 3

// checkpoint is the alert state of every station after event N, the same
// on every instance that applied the log up to N: S is
// sensors.WatchState, or its encoding while the parts are formed. A
// further part is a checkpoint too, with Parts 0.
type checkpoint[S any] struct {
	N        int64        `json:"n"`
	Stations map[string]S `json:"stations"`
	// Parts is the number of parts the stations are split over (0 for
	// one): this document holds the first, and part i of the others is
	// stored apart.
	Parts int `json:"parts,omitempty"`
}

// checkpointPartBytes bounds the encoded states in one part, well below
// the store's 16 MiB document: a station with both its alerts takes about
// 1.5 kB, so one part holds some 2,500 of them.
var checkpointPartBytes = 4 << 20

// checkpointLocked copies the alert state after event n, the last
// applied, and stores it as checkpoint n on a goroutine of its own, then
// removes the checkpoint three before it: the ingest does not wait for the
// write (half a second at 20,000 stations, BENCHMARKS §21). While one is
// being written, the next is skipped. s.logMu must be held.
func (s *Service) checkpointLocked(n int64) {
	if !s.ckBusy.CompareAndSwap(false, true) {
		s.log.Warn("monitoring: a checkpoint of the log is still being written; this one is skipped", "event", n)
		return
	}
	states := s.watchStatesLocked()
	s.ckWG.Add(1)
	go func() {
		defer s.ckWG.Done()
		defer s.ckBusy.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		err := s.storeCheckpoint(ctx, n, states)
		switch {
		case err == nil:
			// Only the newest is read at start; a few more are kept for
			// an instance that started as this one was written. The three
			// slots before the one due are tried too, for a checkpoint
			// whose successor was skipped or whose writer died first.
			for k := int64(0); k < 4; k++ {
				old := n - (keepCheckpoints+k)*checkpointEvery
				if old < 0 {
					break
				}
				if err := s.store.DeleteMonitoringCheckpoint(ctx, old); err != nil {
					s.log.Warn("monitoring: an old checkpoint of the log was not removed", "event", old, "error", err)
				}
			}
		case !errors.Is(err, enforcement.ErrExists):
			s.log.Warn("monitoring: a checkpoint of the log was not stored; starts replay more of the log", "event", n, "error", err)
		}
	}()
}

// watchStatesLocked copies every station's alert state. s.logMu must be
// held, so that no event changes them meanwhile.
func (s *Service) watchStatesLocked() map[string]sensors.WatchState {
	s.mu.RLock()
	defer s.mu.RUnlock()
	states := make(map[string]sensors.WatchState, len(s.stations))
	for id, st := range s.stations {
		states[id] = st.watch.State()
	}
	return states
}

// writeCheckpointLocked stores the alert state after event n, which must
// be the last applied, and waits for the write. s.logMu must be held.
func (s *Service) writeCheckpointLocked(ctx context.Context, n int64) error {
	return s.storeCheckpoint(ctx, n, s.watchStatesLocked())
}

// storeCheckpoint stores states as checkpoint n: its further parts first,
// the checkpoint itself, which names how many there are, last. The
// instance that logged event n writes it; a duplicate means another one
// did.
func (s *Service) storeCheckpoint(ctx context.Context, n int64, states map[string]sensors.WatchState) error {
	parts := []checkpoint[json.RawMessage]{{N: n, Stations: map[string]json.RawMessage{}}}
	size := 0
	for id, ws := range states {
		b, err := json.Marshal(ws)
		if err != nil {
			return fmt.Errorf("monitoring: checkpoint %d: %w", n, err)
		}
		if size+len(b) > checkpointPartBytes && len(parts[len(parts)-1].Stations) > 0 {
			parts, size = append(parts, checkpoint[json.RawMessage]{N: n, Stations: map[string]json.RawMessage{}}), 0
		}
		parts[len(parts)-1].Stations[id] = b
		size += len(b) + len(id) + 4
	}
	for i := 1; i < len(parts); i++ {
		body, err := json.Marshal(parts[i])
		if err != nil {
			return fmt.Errorf("monitoring: checkpoint %d part %d: %w", n, i, err)
		}
		if err := s.store.InsertMonitoringCheckpointPart(ctx, n, i, body); err != nil && !errors.Is(err, enforcement.ErrExists) {
			return err
		}
	}
	if len(parts) > 1 {
		parts[0].Parts = len(parts)
	}
	body, err := json.Marshal(parts[0])
	if err != nil {
		return fmt.Errorf("monitoring: checkpoint %d: %w", n, err)
	}
	return s.store.InsertMonitoringCheckpoint(ctx, n, body)
}

// maxCheckpointProbes bounds the search for a checkpoint at start.
const maxCheckpointProbes = 20

// loadCheckpoint puts the alert state of the newest checkpoint at or
// before event last into the watches and sets the log's next event after
// it; Open then replays the rest of the log. It reports false when it
// finds none.
func (s *Service) loadCheckpoint(ctx context.Context, last int64) (bool, error) {
	n := last - last%checkpointEvery
	for probes := 0; n >= 0 && probes < maxCheckpointProbes; probes, n = probes+1, n-checkpointEvery {
		body, err := s.store.GetMonitoringCheckpoint(ctx, n)
		if errors.Is(err, enforcement.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		var ck checkpoint[sensors.WatchState]
		if err := json.Unmarshal(body, &ck); err != nil {
			return false, fmt.Errorf("monitoring: checkpoint %d: %w", n, err)
		}
		whole, err := s.checkpointParts(ctx, &ck)
		if err != nil {
			return false, err
		}
		if !whole {
			s.log.Warn("monitoring: a checkpoint of the log lacks a part; an older one is used", "event", n)
			continue
		}
		s.applyCheckpoint(ck)
		return true, nil
	}
	return false, nil
}

// checkpointParts adds the further parts of ck to its stations; it reports
// false when one is missing (removed with its checkpoint since ck was
// read).
func (s *Service) checkpointParts(ctx context.Context, ck *checkpoint[sensors.WatchState]) (bool, error) {
	for i := 1; i < ck.Parts; i++ {
		body, err := s.store.GetMonitoringCheckpointPart(ctx, ck.N, i)
		if errors.Is(err, enforcement.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		var p checkpoint[sensors.WatchState]
		if err := json.Unmarshal(body, &p); err != nil {
			return false, fmt.Errorf("monitoring: checkpoint %d part %d: %w", ck.N, i, err)
		}
		for id, ws := range p.Stations {
			ck.Stations[id] = ws
		}
	}
	return true, nil
}

// applyCheckpoint sets every station's watch to its state in ck (a station
// registered since starts afresh) and the next event of the log to the one
// after it.
func (s *Service) applyCheckpoint(ck checkpoint[sensors.WatchState]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, st := range s.stations {
		ws := ck.Stations[id]
		st.watch.SetState(ws)
		for _, a := range []*sensors.Alert{ws.Exceed, ws.Silent} {
			if a == nil {
				continue
			}
			if cur, ok := s.alerts[a.ID]; !ok || cur.Rev < a.Rev {
				c := *a
				s.alerts[a.ID] = &c
			}
		}
	}
	s.next = ck.N + 1
	s.events.Store(ck.N)
}
