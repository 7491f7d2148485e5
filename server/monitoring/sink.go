package monitoring

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/server/enforcement"
)

// The service is the ingest's sink; its writes may overlap (see Apply).
var _ ingest.OrderedSink = (*Service)(nil)

// StoreReadings implements ingest.Sink: it inserts the readings by their
// deterministic _id and counts one already stored as stored. It may run
// for several batches at once; the readings it inserted wait for Apply,
// which the ingest calls in the order the batches were received. When the
// store fails part-way it returns the error, and the ingest calls again
// with the same readings, which are duplicates by then except the ones
// that failed.
func (s *Service) StoreReadings(ctx context.Context, rs []ingest.Reading) error {
	srs := make([]StoredReading, len(rs))
	for i, r := range rs {
		srs[i] = storedReading(r)
	}
	errs := s.store.InsertReadings(ctx, srs)
	var failed error
	s.pendMu.Lock()
	for i, r := range srs {
		switch err := errs[i]; {
		case err == nil:
			s.pending[readingKey{r.Station, r.Time.UnixMilli()}] = struct{}{}
		case errors.Is(err, enforcement.ErrExists):
			s.dups.Add(1)
		default:
			if failed == nil {
				failed = err
			}
		}
	}
	s.pendMu.Unlock()
	if failed != nil {
		return fmt.Errorf("monitoring: store readings: %w", failed)
	}
	return nil
}

// readingKey identifies a reading as its _id does.
type readingKey struct {
	station string
	ms      int64
}

func storedReading(r ingest.Reading) StoredReading {
	return StoredReading{Station: r.Station, Time: r.Sample.Time.UTC().Truncate(time.Millisecond),
		Values: r.Sample.Values, Assessment: r.Result.Assessment, Full: r.Result.Full, Exceeds: r.Result.Exceeds,
		ReceivedAt: r.ReceivedAt.UTC().Truncate(time.Millisecond)}
}

// Apply implements ingest.OrderedSink: the readings of a stored batch go
// into the read models and the alerts, in time order, as one event (see
// commit), except those already applied (a redelivery). With
// Options.Shared it fails when the event cannot be logged, and applies
// nothing then.
func (s *Service) Apply(ctx context.Context, rs []ingest.Reading) error {
	lrs := make([]loggedReading, len(rs))
	for i, r := range rs {
		lrs[i] = loggedReading{Reading: storedReading(r)}
	}
	if err := s.commit(ctx, func() (event, error) { return s.readingsEvent(lrs), nil }); err != nil {
		return fmt.Errorf("monitoring: apply readings: %w", err)
	}
	s.pendMu.Lock()
	for _, lr := range lrs {
		delete(s.pending, readingKey{lr.Reading.Station, lr.Reading.Time.UnixMilli()})
	}
	s.pendMu.Unlock()
	return nil
}

// Quarantine implements ingest.Sink: the message is kept in the store under
// an id derived from its topic and payload (a redelivery is kept once) and
// among the latest in memory.
func (s *Service) Quarantine(ctx context.Context, q ingest.Quarantined) error {
	h := sha256.New()
	h.Write([]byte(q.Topic))
	h.Write([]byte{0})
	h.Write(q.Payload)
	e := QuarantineEntry{ID: hex.EncodeToString(h.Sum(nil)[:16]), Topic: q.Topic, Payload: q.Payload, Station: q.Station,
		Reason: string(q.Reason), Detail: q.Detail, ReceivedAt: q.ReceivedAt.UTC().Truncate(time.Millisecond)}
	if err := s.store.InsertQuarantine(ctx, e); err != nil {
		return fmt.Errorf("monitoring: quarantine: %w", err)
	}
	err := s.commit(ctx, func() (event, error) { return event{At: s.opt.Now().UTC(), Quarantine: &e}, nil })
	if err != nil {
		return fmt.Errorf("monitoring: quarantine: %w", err)
	}
	return nil
}

// addLocked adds a stored reading, classified as res, to the station's
// read models; it joins the raw series when it is after cutoff. s.mu must
// be held.
func (s *Service) addLocked(st *station, r StoredReading, res sensors.Result, cutoff time.Time) {
	sample := sensors.Sample{Time: r.Time, Values: r.Values}
	day := sensors.DayOf(r.Time)
	d, ok := st.days[day]
	if !ok {
		d = &sensors.DaySummary{Day: day, Params: map[sensors.Param]*sensors.Stats{}}
		st.days[day] = d
	}
	d.Add(sample, res)
	if r.Time.After(cutoff) {
		st.raw.add(r)
	}
	if !st.hasLatest || r.Time.After(st.latest.Time) {
		st.latest, st.latestRes, st.hasLatest = r, res, true
	}
}

// noteAlertsLocked puts changed alerts into the alert index and counts
// them. s.mu must be held.
func (s *Service) noteAlertsLocked(changes []sensors.Alert) {
	for _, a := range changes {
		a := a
		if prev, ok := s.alerts[a.ID]; ok && prev.AckedBy != "" && a.AckedBy == "" {
			a.AckedBy, a.AckedAt = prev.AckedBy, prev.AckedAt
		}
		if a.Rev == 1 {
			s.stats.AlertsOpened++
		}
		if a.State == sensors.AlertCleared {
			s.stats.AlertsCleared++
		}
		s.alerts[a.ID] = &a
	}
}

// recordAlerts stores the revisions of changed alerts and, with publish,
// publishes them. A revision the store does not take is logged: alerts are
// derived again from the readings at the next start.
func (s *Service) recordAlerts(ctx context.Context, changes []sensors.Alert, publish bool) {
	if len(changes) == 0 {
		return
	}
	evs := make([]AlertEvent, len(changes))
	for i, a := range changes {
		evs[i] = AlertEvent{Alert: a, Rev: a.Rev}
	}
	for i, err := range s.store.InsertAlertEvents(ctx, evs) {
		if err != nil && !errors.Is(err, enforcement.ErrExists) {
			s.log.Warn("monitoring: storing an alert revision failed", "alert", changes[i].ID, "rev", changes[i].Rev, "error", err)
		}
	}
	if !publish {
		return
	}
	seen := map[string]bool{}
	for _, a := range changes {
		s.log.Info("monitoring: alert "+string(a.State), "alert", a.ID, "station", a.Station, "kind", string(a.Kind), "rev", a.Rev)
		if !seen[a.Station] {
			seen[a.Station] = true
			s.publishStation(a.Station)
		}
	}
}

// AlertMessage is what is published, retained, on
// baoshui/v1/alerts/{station_id} after every change of one of the
// station's alerts: its open alerts, and the alert that changed last.
type AlertMessage struct {
	Station string          `json:"station"`
	At      time.Time       `json:"at"`
	Open    []sensors.Alert `json:"open"`
	Last    *sensors.Alert  `json:"last,omitempty"`
}

// AlertsTopic is the topic a station's alerts are published on.
func AlertsTopic(station string) string { return "baoshui/v1/alerts/" + station }

func (s *Service) publishStation(station string) {
	s.pubMu.Lock()
	pub := s.publish
	s.pubMu.Unlock()
	if pub == nil {
		return
	}
	msg := AlertMessage{Station: station, At: s.opt.Now().UTC(), Open: []sensors.Alert{}}
	s.mu.RLock()
	var last *sensors.Alert
	for _, a := range s.alerts {
		if a.Station != station {
			continue
		}
		if a.State == sensors.AlertOpen {
			msg.Open = append(msg.Open, *a)
		}
		if last == nil || a.UpdatedAt.After(last.UpdatedAt) || (a.UpdatedAt.Equal(last.UpdatedAt) && a.ID > last.ID) {
			last = a
		}
	}
	if last != nil {
		l := *last
		msg.Last = &l
	}
	s.mu.RUnlock()
	sort.Slice(msg.Open, func(i, j int) bool { return msg.Open[i].ID < msg.Open[j].ID })
	b, _ := json.Marshal(msg)
	if err := pub(AlertsTopic(station), b, true); err != nil {
		s.mu.Lock()
		s.stats.PublishFailures++
		s.mu.Unlock()
		s.log.Warn("monitoring: publishing alerts failed", "station", station, "error", err)
	}
}

// ticker looks for silent stations every TickInterval.
func (s *Service) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(s.opt.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Tick(context.Background())
		}
	}
}

// Tick checks every station for silence now, and opens the silent alerts
// of those overdue as one event (see commit); the service calls it every
// TickInterval, tests call it directly. It also drops the readings that
// left the raw window.
func (s *Service) Tick(ctx context.Context) {
	now := s.opt.Now()
	s.mu.Lock()
	for _, st := range s.stations {
		st.raw.trim(now.Add(-s.opt.RawRetention))
	}
	s.mu.Unlock()
	err := s.commit(ctx, func() (event, error) {
		var opened []sensors.Alert
		s.mu.RLock()
		for _, st := range s.stations {
			if a, ok := st.watch.Overdue(now); ok {
				opened = append(opened, a)
			}
		}
		s.mu.RUnlock()
		if len(opened) == 0 {
			return event{}, errNothing
		}
		sort.Slice(opened, func(i, j int) bool { return opened[i].ID < opened[j].ID })
		return event{At: now.UTC(), Silent: opened}, nil
	})
	if err != nil {
		s.log.Warn("monitoring: the silence check could not be logged; it runs again at the next tick", "error", err)
	}
}

// Ack acknowledges an alert: it records who and when, as a new revision,
// without changing its state. Acknowledging again answers the alert as it
// is. It fails with enforcement.ErrNotFound for an unknown alert.
func (s *Service) Ack(ctx context.Context, by, id string) (sensors.Alert, error) {
	at := s.opt.Now().UTC().Truncate(time.Millisecond)
	err := s.commit(ctx, func() (event, error) {
		s.mu.RLock()
		cur, ok := s.alerts[id]
		var a sensors.Alert
		if ok {
			a = *cur
		}
		s.mu.RUnlock()
		switch {
		case !ok:
			return event{}, enforcement.ErrNotFound
		case a.AckedBy != "":
			return event{}, errNothing
		}
		if !s.opt.Shared {
			// Alone, the revision is what makes the acknowledgement
			// durable; the one applyEvent stores is then a duplicate.
			a.AckedBy, a.AckedAt, a.Rev = by, at, a.Rev+1
			if err := s.store.InsertAlertEvents(ctx, []AlertEvent{{Alert: a, Rev: a.Rev}})[0]; err != nil {
				if errors.Is(err, enforcement.ErrExists) {
					return event{}, fmt.Errorf("it changed meanwhile; try again: %w", enforcement.ErrConflict)
				}
				return event{}, err
			}
		}
		return event{At: at, Ack: &ackEvent{Alert: id, By: by, At: at}}, nil
	})
	if err != nil {
		return sensors.Alert{}, fmt.Errorf("monitoring: ack alert %s: %w", id, err)
	}
	s.mu.RLock()
	a := *s.alerts[id]
	s.mu.RUnlock()
	return a, nil
}
