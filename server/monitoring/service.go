// Package monitoring is the server's side of the water-quality monitoring:
// the registry of stations and their device credentials, the sink the MQTT
// ingest writes readings into, the in-memory read models the queries answer
// from (recent readings, per-day summaries, the latest class of each
// station) and the alerts raised when a station falls below its target or
// falls silent.
//
// Everything it writes is an insert by deterministic _id (DESIGN §2):
// station and credential versions, readings "{station}:{ts}", quarantined
// messages, alert revisions "{alert}:{rev}", and, on a store shared with
// other instances, the events of the monitoring log and its checkpoints by
// number (log.go). The read models are built by one scan at start and kept
// current by the events; alone, alerts are derived again from the readings
// at start (the same readings open the same alerts) and acknowledgements
// are laid over them from the stored revisions; shared, they come from the
// log's newest checkpoint and the events after it.
package monitoring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/enforcement"
)

// Defaults of Options.
const (
	DefaultRawRetention = 35 * 24 * time.Hour
	DefaultTickInterval = 30 * time.Second
	// QuarantineKept is how many quarantined messages the service keeps in
	// memory for inspection (the store keeps them all).
	QuarantineKept = 1000
)

// Options configure a Service.
type Options struct {
	Logger *slog.Logger
	// Rules configure the alerts.
	Rules sensors.AlertRules
	// RawRetention is how far back the individual readings are kept in
	// memory for the readings query; older ranges are answered from the
	// per-day summaries. DefaultRawRetention when 0.
	RawRetention time.Duration
	// TickInterval is how often silent stations are looked for;
	// DefaultTickInterval when 0.
	TickInterval time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// SnapshotPath, when set, is the file the read models are written to
	// at Close and read from at Open when nothing was written since (see
	// snapshot.go).
	SnapshotPath string
	// Shared says that other server instances share the store: every
	// change to the read models and the alerts goes through the store's
	// monitoring log (see log.go), which every instance follows every
	// FollowInterval (DefaultFollowInterval when 0). Without it the
	// service assumes it is alone.
	Shared         bool
	FollowInterval time.Duration
}

// Publisher publishes an alert's state on the broker (retained).
type Publisher func(topic string, payload []byte, retain bool) error

// Service is the monitoring service. It is safe for concurrent use.
type Service struct {
	store Store
	opt   Options
	log   *slog.Logger

	mu       sync.RWMutex
	stations map[string]*station
	creds    map[string]Credential // by username (= station id)
	alerts   map[string]*sensors.Alert
	quar     []QuarantineEntry // the latest QuarantineKept, oldest first
	quarN    int64

	// pending are the readings StoreReadings inserted that Apply has not
	// applied yet; dups counts the duplicates it met.
	pendMu  sync.Mutex
	pending map[readingKey]struct{}
	dups    atomic.Int64

	pubMu     sync.Mutex
	publish   Publisher
	onChange  []func(map[string]sensors.Station)
	onCreds   []func(Credential)
	stats     Stats
	stop      chan struct{}
	wg        sync.WaitGroup // the ticker and the follower
	closeOnce sync.Once

	// logMu serializes the events (see commit); next is the number of the
	// next event of the shared log.
	logMu  sync.Mutex
	next   int64
	events atomic.Int64 // next-1, for Stats
	// ckBusy is set while a checkpoint is being written, by the goroutine
	// ckWG counts (see checkpointLocked).
	ckBusy atomic.Bool
	ckWG   sync.WaitGroup

	// LoadedFrom says where Open read the read models from: "scan" or
	// "snapshot".
	LoadedFrom string
}

// Stats are counters of the service since it started.
type Stats struct {
	Readings        int64 // readings stored (not counting duplicates)
	Duplicates      int64 // readings that were already stored
	Quarantined     int64
	AlertsOpened    int64
	AlertsCleared   int64
	AlertsOpen      int64 // open now
	PublishFailures int64
	// Events is the number of the last event of the shared log applied
	// (Options.Shared): instances that show the same have the same read
	// models.
	Events int64
}

// Open reads the stations, credentials, readings and alert revisions from
// the store and builds the read models. The readings are read by one scan:
// at start only, never on a request.
func Open(ctx context.Context, st Store, opt Options) (*Service, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.RawRetention <= 0 {
		opt.RawRetention = DefaultRawRetention
	}
	if opt.TickInterval <= 0 {
		opt.TickInterval = DefaultTickInterval
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.FollowInterval <= 0 {
		opt.FollowInterval = DefaultFollowInterval
	}
	s := &Service{store: st, opt: opt, log: opt.Logger, stations: map[string]*station{}, creds: map[string]Credential{},
		alerts: map[string]*sensors.Alert{}, pending: map[readingKey]struct{}{}, stop: make(chan struct{})}
	if opt.Shared {
		// Read before the scan: an event logged meanwhile is applied
		// again, and applyEvent skips what the scan found.
		last, err := st.LastMonitoringEvent(ctx)
		if err != nil {
			return nil, fmt.Errorf("monitoring.Open: %w", err)
		}
		s.next = last + 1
		s.events.Store(last)
	}
	if err := s.load(ctx); err != nil {
		return nil, fmt.Errorf("monitoring.Open: %w", err)
	}
	if err := s.CatchUp(ctx); err != nil {
		return nil, fmt.Errorf("monitoring.Open: %w", err)
	}
	s.wg.Add(1)
	go s.ticker()
	if opt.Shared {
		s.wg.Add(1)
		go s.follower()
	}
	return s, nil
}

// Close stops the silence checks and, with a SnapshotPath, writes the
// snapshot. Call it after the ingest has stopped.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.ckWG.Wait()
		if s.opt.SnapshotPath != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.writeSnapshot(ctx); err != nil {
				s.log.Warn("monitoring: snapshot not written; the next start scans the store", "err", err)
			}
		}
	})
}

func (s *Service) load(ctx context.Context) error {
	now, began := s.opt.Now(), time.Now()
	vs, err := s.store.StationVersions(ctx)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if cur, ok := s.stations[v.Station.ID]; ok && cur.version >= v.Version {
			continue
		}
		s.putStationLocked(v, now)
	}
	cs, err := s.store.Credentials(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if cur, ok := s.creds[c.Username]; !ok || cur.Version < c.Version {
			s.creds[c.Username] = c
		}
	}
	s.LoadedFrom = "scan"
	if s.opt.SnapshotPath != "" {
		ok, err := s.loadSnapshot(ctx, now)
		if err != nil {
			return err
		}
		if ok {
			s.LoadedFrom = "snapshot"
			s.countOpenLocked()
			s.log.Info("monitoring read models built", "from", "snapshot", "stations", len(s.stations),
				"readings", s.stats.Readings, "alerts", len(s.alerts), "elapsed_ms", time.Since(began).Milliseconds())
			return nil
		}
	}
	// The alerts first: the latest revision of each, put back into its
	// station's watch, which then ignores the readings it has seen.
	stored := map[string]sensors.Alert{}
	err = s.store.ScanAlertEvents(ctx, func(ev AlertEvent) error {
		if cur, ok := stored[ev.Alert.ID]; !ok || cur.Rev < ev.Alert.Rev {
			stored[ev.Alert.ID] = ev.Alert
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, a := range stored {
		a := a
		s.alerts[id] = &a
		if st, ok := s.stations[a.Station]; ok {
			st.watch.Restore(a)
		}
	}
	// Then the readings, streamed: each goes into its day's summary, and
	// those of the raw window into the series, appended in the order read
	// and sorted once at the end (nothing else is kept per reading).
	cutoff := now.Add(-s.opt.RawRetention)
	var n int64
	err = s.store.ScanReadings(ctx, func(r StoredReading) error {
		st, ok := s.stations[r.Station]
		if !ok {
			return nil
		}
		n++
		sample := sensors.Sample{Time: r.Time, Values: r.Values}
		res := sensors.ClassifySample(st.def, sample)
		day := sensors.DayOf(r.Time)
		d, ok := st.days[day]
		if !ok {
			d = &sensors.DaySummary{Day: day, Params: map[sensors.Param]*sensors.Stats{}}
			st.days[day] = d
		}
		d.Add(sample, res)
		if r.Time.After(cutoff) {
			st.raw.appendUnsorted(r)
		}
		if !st.hasLatest || r.Time.After(st.latest.Time) {
			st.latest, st.latestRes, st.hasLatest = r, res, true
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.stats.Readings = n
	// The readings of the raw window the alerts have not seen (a crash
	// between a reading and its alert revision) are replayed in time
	// order, and the revisions they produce stored.
	// With a shared store the alert state comes from the log's newest
	// checkpoint, and Open replays the log after it: the instances that
	// ran meanwhile fed their watches in the log's order, which the
	// readings' times do not tell.
	fromLog := false
	if s.opt.Shared {
		if fromLog, err = s.loadCheckpoint(ctx, s.next-1); err != nil {
			return err
		}
	}
	var derived []sensors.Alert
	for _, st := range s.stations {
		st.raw.sortDedupe()
		if fromLog {
			continue
		}
		for k, t := range st.raw.ts {
			if !time.UnixMilli(t).After(st.watch.Last()) {
				continue
			}
			res := sensors.ClassifySample(st.def, sensors.Sample{Time: time.UnixMilli(t).UTC(), Values: st.raw.values(k)})
			c := st.watch.Observe(res)
			s.noteAlertsLocked(c)
			derived = append(derived, c...)
		}
	}
	if len(derived) > 0 {
		evs := make([]AlertEvent, 0, len(derived))
		for _, a := range derived {
			evs = append(evs, AlertEvent{Alert: a, Rev: a.Rev})
		}
		for _, err := range s.store.InsertAlertEvents(ctx, evs) {
			if err != nil && !errors.Is(err, enforcement.ErrExists) {
				s.log.Warn("monitoring: storing a replayed alert revision failed; it is derived again at the next start", "error", err)
			}
		}
	}
	switch {
	case !s.opt.Shared || fromLog:
	case s.next == 1:
		// The log is empty: what was derived is its start, unless another
		// instance stored its own first.
		err := s.writeCheckpointLocked(ctx, 0)
		if errors.Is(err, enforcement.ErrExists) {
			_, err = s.loadCheckpoint(ctx, 0)
		}
		if err != nil {
			return err
		}
	default:
		s.log.Warn("monitoring: no checkpoint of the log found; alerts derived from the readings' times may differ from the other instances'", "last_event", s.next-1)
	}
	// The latest quarantined messages, and how many there are.
	err = s.store.ScanQuarantine(ctx, func(q QuarantineEntry) error {
		s.quar = append(s.quar, q)
		s.quarN++
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(s.quar, func(i, j int) bool { return s.quar[i].ReceivedAt.Before(s.quar[j].ReceivedAt) })
	if len(s.quar) > QuarantineKept {
		s.quar = append(s.quar[:0:0], s.quar[len(s.quar)-QuarantineKept:]...)
	}
	s.countOpenLocked()
	s.log.Info("monitoring read models built", "from", "scan", "stations", len(s.stations), "readings", n, "alerts", len(s.alerts),
		"elapsed_ms", time.Since(began).Milliseconds())
	return nil
}

// putStationLocked installs version v of a station, keeping its readings
// and alert state when it is already known.
func (s *Service) putStationLocked(v StationVersion, now time.Time) *station {
	if cur, ok := s.stations[v.Station.ID]; ok {
		cur.def, cur.version, cur.createdBy, cur.createdAt = v.Station, v.Version, v.CreatedBy, v.CreatedAt
		cur.watch.SetStation(v.Station)
		return cur
	}
	st := &station{def: v.Station, version: v.Version, createdBy: v.CreatedBy, createdAt: v.CreatedAt,
		watch: sensors.NewWatch(v.Station, s.opt.Rules, now), days: map[string]*sensors.DaySummary{}}
	s.stations[v.Station.ID] = st
	return st
}

// OnStations registers fn to be called with every station whenever the
// set changes (and once now): the ingest checks readings against it.
func (s *Service) OnStations(fn func(map[string]sensors.Station)) {
	s.pubMu.Lock()
	s.onChange = append(s.onChange, fn)
	s.pubMu.Unlock()
	fn(s.StationMap())
}

// OnCredential registers fn to be called with every credential issued from
// now on (and once now with each current one): the embedded broker
// authenticates devices with them.
func (s *Service) OnCredential(fn func(Credential)) {
	s.pubMu.Lock()
	s.onCreds = append(s.onCreds, fn)
	s.pubMu.Unlock()
	s.mu.RLock()
	cs := make([]Credential, 0, len(s.creds))
	for _, c := range s.creds {
		cs = append(cs, c)
	}
	s.mu.RUnlock()
	for _, c := range cs {
		fn(c)
	}
}

// SetPublisher sets where alerts are published (the broker).
func (s *Service) SetPublisher(p Publisher) {
	s.pubMu.Lock()
	s.publish = p
	s.pubMu.Unlock()
}

// StationMap returns the stations in force by id.
func (s *Service) StationMap() map[string]sensors.Station {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := make(map[string]sensors.Station, len(s.stations))
	for id, st := range s.stations {
		m[id] = st.def
	}
	return m
}

func (s *Service) notifyStations() {
	m := s.StationMap()
	s.pubMu.Lock()
	fns := append([]func(map[string]sensors.Station){}, s.onChange...)
	s.pubMu.Unlock()
	for _, fn := range fns {
		fn(m)
	}
}

// PutStation stores a station: a new one (create true, which fails with an
// error wrapping enforcement.ErrExists when the id is taken) or a new
// version of an existing one (create false, which fails with
// enforcement.ErrNotFound for an unknown id). The station is validated
// first (an error wrapping enforcement.ErrInvalid and the
// *sensors.ValidationError).
func (s *Service) PutStation(ctx context.Context, by string, def sensors.Station, create bool) (StationVersion, error) {
	if err := sensors.ValidateStation(def); err != nil {
		return StationVersion{}, fmt.Errorf("monitoring: put station: %w: %w", enforcement.ErrInvalid, err)
	}
	s.mu.RLock()
	cur, exists := s.stations[def.ID]
	var version int64 = 1
	if exists {
		version = cur.version + 1
	}
	s.mu.RUnlock()
	switch {
	case create && exists:
		return StationVersion{}, fmt.Errorf("monitoring: create station %s: %w", def.ID, enforcement.ErrExists)
	case !create && !exists:
		return StationVersion{}, fmt.Errorf("monitoring: update station %s: %w", def.ID, enforcement.ErrNotFound)
	}
	v := StationVersion{Station: def, Version: version, CreatedBy: by, CreatedAt: s.opt.Now().UTC().Truncate(time.Millisecond)}
	if err := s.store.InsertStationVersion(ctx, v); err != nil {
		if errors.Is(err, enforcement.ErrExists) {
			return StationVersion{}, fmt.Errorf("monitoring: put station %s: another change came first: %w", def.ID, enforcement.ErrConflict)
		}
		return StationVersion{}, fmt.Errorf("monitoring: put station %s: %w", def.ID, err)
	}
	s.mu.Lock()
	s.putStationLocked(v, s.opt.Now())
	s.mu.Unlock()
	s.notifyStations()
	return v, nil
}

// IssuedCredential is a device credential as issued: the only time the
// password is seen.
type IssuedCredential struct {
	Station  string    `json:"station"`
	Username string    `json:"username"`
	Password string    `json:"password"`
	Version  int64     `json:"version"`
	IssuedAt time.Time `json:"issued_at"`
}

// IssueCredential issues (or rotates) the MQTT credential of a station's
// device: the username is the station id, the password 24 random bytes in
// base64url (192 bits). Only a salted hash is stored; the previous password
// stops working at once. It fails with enforcement.ErrNotFound for an
// unknown station.
func (s *Service) IssueCredential(ctx context.Context, by, stationID string) (IssuedCredential, error) {
	s.mu.RLock()
	_, ok := s.stations[stationID]
	prev := s.creds[stationID]
	s.mu.RUnlock()
	if !ok {
		return IssuedCredential{}, fmt.Errorf("monitoring: issue credential for %s: %w", stationID, enforcement.ErrNotFound)
	}
	secret := make([]byte, 24)
	salt := make([]byte, 16)
	_, _ = rand.Read(secret)
	_, _ = rand.Read(salt)
	password := base64.RawURLEncoding.EncodeToString(secret)
	c := Credential{Station: stationID, Version: prev.Version + 1, Username: stationID, Salt: salt,
		Hash: hashPassword(salt, password), IssuedBy: by, IssuedAt: s.opt.Now().UTC().Truncate(time.Millisecond)}
	if err := s.store.InsertCredential(ctx, c); err != nil {
		if errors.Is(err, enforcement.ErrExists) {
			return IssuedCredential{}, fmt.Errorf("monitoring: issue credential for %s: another issue came first: %w", stationID, enforcement.ErrConflict)
		}
		return IssuedCredential{}, fmt.Errorf("monitoring: issue credential for %s: %w", stationID, err)
	}
	s.installCredential(c)
	return IssuedCredential{Station: stationID, Username: c.Username, Password: password, Version: c.Version, IssuedAt: c.IssuedAt}, nil
}

// installCredential makes c its station's credential unless a newer one is
// in force, and tells the embedded broker.
func (s *Service) installCredential(c Credential) {
	s.mu.Lock()
	if prev, ok := s.creds[c.Username]; ok && prev.Version >= c.Version {
		s.mu.Unlock()
		return
	}
	s.creds[c.Username] = c
	s.mu.Unlock()
	s.pubMu.Lock()
	fns := append([]func(Credential){}, s.onCreds...)
	s.pubMu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}

// FollowStation installs version of a station that another server
// instance stored, unless a newer one is in force; the ingest and the
// embedded broker hear of it as of a local change. It is the registry's
// records.DocFollower.
func (s *Service) FollowStation(ctx context.Context, id string, version int64) error {
	s.mu.RLock()
	cur, ok := s.stations[id]
	s.mu.RUnlock()
	if ok && cur.version >= version {
		return nil
	}
	v, err := s.store.GetStationVersion(ctx, id, version)
	if err != nil {
		return fmt.Errorf("monitoring: follow station %s: %w", id, err)
	}
	s.mu.Lock()
	if cur, ok := s.stations[id]; !ok || cur.version < version {
		s.putStationLocked(v, s.opt.Now())
	}
	s.mu.Unlock()
	s.notifyStations()
	return nil
}

// FollowCredential installs an issue of a station's device credential that
// another server instance made, unless a newer one is in force: the
// previous password stops working here too. It is a records.DocFollower.
func (s *Service) FollowCredential(ctx context.Context, station string, version int64) error {
	s.mu.RLock()
	prev, ok := s.creds[station]
	s.mu.RUnlock()
	if ok && prev.Version >= version {
		return nil
	}
	c, err := s.store.GetCredential(ctx, station, version)
	if err != nil {
		return fmt.Errorf("monitoring: follow credential of %s: %w", station, err)
	}
	s.installCredential(c)
	return nil
}

// hashPassword is SHA-256(salt || password): adequate for generated
// secrets of 192 bits (see Credential).
func hashPassword(salt []byte, password string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(password))
	return h.Sum(nil)
}

// Authenticate checks a device's MQTT username and password against the
// current credential, in constant time, and returns its station.
func (s *Service) Authenticate(username, password string) (station string, ok bool) {
	s.mu.RLock()
	c, found := s.creds[username]
	s.mu.RUnlock()
	if !found {
		// Spend the same time on an unknown user as on a wrong password.
		hashPassword(make([]byte, 16), password)
		return "", false
	}
	if subtle.ConstantTimeCompare(hashPassword(c.Salt, password), c.Hash) != 1 {
		return "", false
	}
	return c.Station, true
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.stats
	st.Duplicates = s.dups.Load()
	st.Events = s.events.Load()
	return st
}

func (s *Service) countOpenLocked() {
	var n int64
	for _, a := range s.alerts {
		if a.State == sensors.AlertOpen {
			n++
		}
	}
	s.stats.AlertsOpen = n
}
