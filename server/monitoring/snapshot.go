package monitoring

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/baoshui/baoshui/sensors"
)

// A snapshot is the service's read models written to a file at a clean
// shutdown, so that the next start reads one file instead of scanning
// every stored reading. The store keeps the token of the snapshot that
// matches it and clears it at the first water-quality write after it was
// set (a reading, a station, a credential, an alert revision, a
// quarantined message), so a snapshot is used only when nothing was
// written since; after a crash the start scans the store, as without one.
const snapshotVersion = 1

// snapshot is what the file holds. Stations and credentials are not in it:
// they are few, and read from the store at every start.
type snapshot struct {
	Version    int
	Token      string
	Written    time.Time
	Stations   map[string]snapStation
	Alerts     []sensors.Alert
	Quarantine []QuarantineEntry
	QuarN      int64
	Readings   int64
}

type snapStation struct {
	Days      []sensors.DaySummary
	TS        []int64
	Cols      map[sensors.Param][]float64
	Latest    StoredReading
	HasLatest bool
}

// writeSnapshot writes the read models to opt.SnapshotPath and then tells
// the store that this snapshot matches it. It runs after the ingest has
// stopped.
func (s *Service) writeSnapshot(ctx context.Context) error {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	snap := snapshot{Version: snapshotVersion, Token: hex.EncodeToString(b), Written: time.Now().UTC(),
		Stations: map[string]snapStation{}}
	s.mu.RLock()
	for id, st := range s.stations {
		ss := snapStation{TS: st.raw.ts, Cols: st.raw.cols, Latest: st.latest, HasLatest: st.hasLatest}
		for _, d := range st.days {
			ss.Days = append(ss.Days, *d)
		}
		snap.Stations[id] = ss
	}
	for _, a := range s.alerts {
		snap.Alerts = append(snap.Alerts, *a)
	}
	snap.Quarantine, snap.QuarN, snap.Readings = s.quar, s.quarN, s.stats.Readings
	tmp := s.opt.SnapshotPath + ".tmp"
	err := func() error {
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		err = gob.NewEncoder(w).Encode(&snap)
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}()
	s.mu.RUnlock()
	if err == nil {
		err = os.Rename(tmp, s.opt.SnapshotPath)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("monitoring: write snapshot: %w", err)
	}
	return s.store.SetSensorsSnapshotToken(ctx, snap.Token)
}

// loadSnapshot fills the read models from the snapshot file when the store
// says it matches; it reports whether it did. The stations must be loaded
// already. s.mu is not needed: Open runs it before the service is shared.
func (s *Service) loadSnapshot(ctx context.Context, now time.Time) (bool, error) {
	token, err := s.store.SensorsSnapshotToken(ctx)
	if err != nil || token == "" {
		return false, err
	}
	f, err := os.Open(s.opt.SnapshotPath)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	var snap snapshot
	if err := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20)).Decode(&snap); err != nil {
		s.log.Warn("monitoring snapshot unreadable; scanning the store", "err", err)
		return false, nil
	}
	if snap.Version != snapshotVersion || snap.Token != token {
		return false, nil
	}
	for id, ss := range snap.Stations {
		st, ok := s.stations[id]
		if !ok {
			continue
		}
		for i := range ss.Days {
			d := ss.Days[i]
			st.days[d.Day] = &d
		}
		st.raw = series{ts: ss.TS, cols: ss.Cols}
		st.raw.trim(now.Add(-s.opt.RawRetention))
		st.latest, st.hasLatest = ss.Latest, ss.HasLatest
	}
	for i := range snap.Alerts {
		a := snap.Alerts[i]
		s.alerts[a.ID] = &a
		if st, ok := s.stations[a.Station]; ok && a.State == sensors.AlertOpen {
			st.watch.Restore(a)
		}
	}
	// The watch of a station learns its latest reading; with an open
	// alert restored it already knows it, and ignores it.
	for _, st := range s.stations {
		if st.hasLatest {
			st.latestRes = sensors.ClassifySample(st.def, sensors.Sample{Time: st.latest.Time, Values: st.latest.Values})
			if !st.latestRes.Exceeds {
				st.watch.Observe(st.latestRes)
			}
		}
	}
	s.quar, s.quarN, s.stats.Readings = snap.Quarantine, snap.QuarN, snap.Readings
	return true, nil
}
