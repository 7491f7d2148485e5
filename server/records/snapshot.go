package records

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// A snapshot is the read models written to a file at a clean shutdown, so
// that the next start need not scan every stored revision (a scan of the
// embedded store reads about 2,000 realistic records a second). The store
// keeps the token of the snapshot that matches it and clears it at the first
// record write after it was set; a snapshot is used only when its token is
// the store's, so a crash or a write by anything else forces a full scan.

const snapshotVersion = 6

type snapshotHeader struct {
	Version int
	Token   string
	Heads   int
	Names   []string
	Crews   []string
	Cells   []snapCell
	Voids   []VoidMark
	// Claim is the newest claim of the server sequence log applied.
	Claim int64
}

type snapCell struct {
	Day      enforcement.Day
	Unit     uint32
	Campaign uint32
	Counts   enforcement.Counts
}

type snapHead struct {
	ID                           string
	Rev, ObservedMs, Seq         int64
	Lon, Lat                     float64
	Unit, Campaign, By, Officers uint32
	Kind                         enforcement.Kind
	Voided, Located              bool
	Activity, Inside             uint8
	Zone, Town, Cell             uint32
	MX, MY                       uint32
	PlaceGen                     int32
	Persons, Animals             int32
	Vehicles, Items              int32
	ValueFen, FineFen            int64
	Effort                       *snapEffort
	Chunks                       *snapChunks
}

type snapChunks struct {
	DistanceM, MovingS float32
	T0, T1             int64
	Bound              [4]float32
	Cells              []uint32
	Seqs               []int32
}

type snapEffort struct {
	DistanceM, DurationS, MovingS float32
	Bound                         [4]float32
	Cells                         []uint32
}

// loadSnapshot fills the read models from the snapshot file if it matches
// the store; it reports whether it did, and the newest claim of the server
// sequence log the snapshot holds.
func (s *Service) loadSnapshot(ctx context.Context) (bool, int64, error) {
	token, err := s.store.SnapshotToken(ctx)
	if err != nil || token == "" {
		return false, 0, err
	}
	f, err := os.Open(s.snapshotPath)
	if err != nil {
		return false, 0, nil
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil || h.Version != snapshotVersion || h.Token != token {
		return false, 0, nil
	}
	s.all = make([]head, 0, h.Heads)
	s.pts = make([]mapPt, 0, h.Heads)
	s.heads = make(map[string]int32, h.Heads)
	for i := 0; i < h.Heads; i++ {
		var sh snapHead
		if err := dec.Decode(&sh); err != nil {
			s.all, s.pts, s.heads = nil, nil, map[string]int32{}
			s.log.Warn("read-model snapshot unreadable; scanning the store", "err", err)
			return false, 0, nil
		}
		s.heads[sh.ID] = int32(len(s.all))
		if c := sh.Chunks; c != nil {
			s.chunks[int32(len(s.all))] = &chunkAgg{distanceM: c.DistanceM, movingS: c.MovingS, t0: c.T0, t1: c.T1, bound: c.Bound, cells: c.Cells, seqs: c.Seqs}
		}
		if e := sh.Effort; e != nil {
			s.efforts[int32(len(s.all))] = &patrolEffort{distanceM: e.DistanceM, durationS: e.DurationS, movingS: e.MovingS, bound: e.Bound, cells: e.Cells}
		}
		s.put(int32(len(s.all)), head{id: sh.ID, rev: sh.Rev, seq: sh.Seq, observedMs: sh.ObservedMs, lon: sh.Lon, lat: sh.Lat,
			unit: sh.Unit, campaign: sh.Campaign, createdBy: sh.By, officers: sh.Officers, kindIx: kindIndex(sh.Kind), voided: sh.Voided, mx: sh.MX, my: sh.MY,
			located: sh.Located, activity: sh.Activity, inside: sh.Inside, zone: sh.Zone, town: sh.Town, cell: sh.Cell,
			placeGen: sh.PlaceGen, summary: summary{persons: sh.Persons, animals: sh.Animals, vehicles: sh.Vehicles,
				items: sh.Items, valueFen: sh.ValueFen, fineFen: sh.FineFen}})
	}
	for _, n := range h.Names {
		s.names.id(n)
	}
	for _, c := range h.Crews {
		s.crews.id(c)
	}
	s.voids = h.Voids
	for _, c := range h.Cells {
		counts := c.Counts
		s.totals[cellKey{day: c.Day, unit: c.Unit, campaign: c.Campaign}] = &counts
	}
	return true, h.Claim, nil
}

// writeSnapshot writes the read models to the snapshot file and then tells
// the store that this snapshot matches it. It runs after the writer stopped.
func (s *Service) writeSnapshot(ctx context.Context) error {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b) + "-" + time.Now().UTC().Format("20060102T150405Z")
	tmp := s.snapshotPath + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o750); err != nil {
		return err
	}
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := gob.NewEncoder(w)
	s.mu.RLock()
	h := snapshotHeader{Version: snapshotVersion, Token: token, Heads: len(s.all), Names: s.names.strs, Crews: s.crews.strs, Voids: s.voids,
		Claim: s.lastClaim.N}
	for k, c := range s.totals {
		h.Cells = append(h.Cells, snapCell{Day: k.day, Unit: k.unit, Campaign: k.campaign, Counts: *c})
	}
	err = enc.Encode(h)
	for i := 0; err == nil && i < len(s.all); i++ {
		x := &s.all[i]
		sh := snapHead{ID: x.id, Rev: x.rev, Seq: x.seq, ObservedMs: x.observedMs, Lon: x.lon, Lat: x.lat, Unit: x.unit,
			Campaign: x.campaign, By: x.createdBy, Officers: x.officers, Kind: x.kind(), Voided: x.voided, MX: x.mx, MY: x.my,
			Located: x.located, Activity: x.activity, Inside: x.inside, Zone: x.zone, Town: x.town, Cell: x.cell,
			PlaceGen: x.placeGen, Persons: x.persons, Animals: x.animals, Vehicles: x.vehicles, Items: x.items,
			ValueFen: x.valueFen, FineFen: x.fineFen}
		if c := s.chunks[int32(i)]; c != nil {
			sh.Chunks = &snapChunks{DistanceM: c.distanceM, MovingS: c.movingS, T0: c.t0, T1: c.t1, Bound: c.bound, Cells: c.cells, Seqs: c.seqs}
		}
		if e := s.efforts[int32(i)]; e != nil {
			sh.Effort = &snapEffort{DistanceM: e.distanceM, DurationS: e.durationS, MovingS: e.movingS, Bound: e.bound, Cells: e.cells}
		}
		err = enc.Encode(sh)
	}
	s.mu.RUnlock()
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.snapshotPath)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("records: write snapshot: %w", err)
	}
	return s.store.SetSnapshotToken(ctx, token)
}
