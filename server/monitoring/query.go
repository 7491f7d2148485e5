package monitoring

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/enforcement"
)

// station is the in-memory state of one station.
type station struct {
	def       sensors.Station
	version   int64
	createdBy string
	createdAt time.Time

	watch *sensors.Watch
	// days are the per-day summaries of every reading ever stored.
	days map[string]*sensors.DaySummary
	// raw are the individual readings of the last RawRetention.
	raw       series
	latest    StoredReading
	latestRes sensors.Result
	hasLatest bool
}

// series holds readings column by column, in time order: a time and one
// float64 per parameter (NaN where a reading lacks it), so that a station
// reporting ten parameters every five minutes costs about 25 KB a day.
type series struct {
	ts   []int64 // Unix milliseconds
	cols map[sensors.Param][]float64
}

// add inserts r in time order; a reading already there (same millisecond)
// is not added twice.
func (sr *series) add(r StoredReading) {
	t := r.Time.UnixMilli()
	i := len(sr.ts)
	if i > 0 && sr.ts[i-1] >= t {
		i = sort.Search(len(sr.ts), func(k int) bool { return sr.ts[k] >= t })
		if i < len(sr.ts) && sr.ts[i] == t {
			return
		}
	}
	if sr.cols == nil {
		sr.cols = map[sensors.Param][]float64{}
	}
	for p := range r.Values {
		if _, ok := sr.cols[p]; !ok {
			c := make([]float64, len(sr.ts), cap(sr.ts))
			for k := range c {
				c[k] = math.NaN()
			}
			sr.cols[p] = c
		}
	}
	sr.ts = insertAt(sr.ts, i, t)
	for p, c := range sr.cols {
		v, ok := r.Values[p]
		if !ok {
			v = math.NaN()
		}
		sr.cols[p] = insertAt(c, i, v)
	}
}

// has reports whether the series holds a reading at t (Unix milliseconds).
func (sr *series) has(t int64) bool {
	i := sort.Search(len(sr.ts), func(k int) bool { return sr.ts[k] >= t })
	return i < len(sr.ts) && sr.ts[i] == t
}

// appendUnsorted adds r at the end, in any order; sortDedupe must follow
// before the series is read. The start-up scan uses it: a scan returns the
// readings in no set order, and inserting each in place would cost a copy
// of the columns every time.
func (sr *series) appendUnsorted(r StoredReading) {
	if sr.cols == nil {
		sr.cols = map[sensors.Param][]float64{}
	}
	n := len(sr.ts)
	for p := range r.Values {
		if _, ok := sr.cols[p]; !ok {
			c := make([]float64, n, max(n, 64))
			for k := range c {
				c[k] = math.NaN()
			}
			sr.cols[p] = c
		}
	}
	sr.ts = append(sr.ts, r.Time.UnixMilli())
	for p, c := range sr.cols {
		v, ok := r.Values[p]
		if !ok {
			v = math.NaN()
		}
		sr.cols[p] = append(c, v)
	}
}

// sortDedupe puts the series in time order and drops repeated times.
func (sr *series) sortDedupe() {
	idx := make([]int, len(sr.ts))
	sorted := true
	for i := range idx {
		idx[i] = i
		if i > 0 && sr.ts[i] <= sr.ts[i-1] {
			sorted = false
		}
	}
	if sorted {
		return
	}
	sort.SliceStable(idx, func(a, b int) bool { return sr.ts[idx[a]] < sr.ts[idx[b]] })
	ts := make([]int64, 0, len(idx))
	keep := make([]int, 0, len(idx))
	for _, i := range idx {
		if len(ts) > 0 && ts[len(ts)-1] == sr.ts[i] {
			continue
		}
		ts = append(ts, sr.ts[i])
		keep = append(keep, i)
	}
	for p, c := range sr.cols {
		nc := make([]float64, len(keep))
		for k, i := range keep {
			nc[k] = c[i]
		}
		sr.cols[p] = nc
	}
	sr.ts = ts
}

// values returns the values of the k-th reading.
func (sr *series) values(k int) map[sensors.Param]float64 {
	m := make(map[sensors.Param]float64, len(sr.cols))
	for p, c := range sr.cols {
		if !math.IsNaN(c[k]) {
			m[p] = c[k]
		}
	}
	return m
}

// trim drops the readings before t.
func (sr *series) trim(before time.Time) {
	t := before.UnixMilli()
	i := sort.Search(len(sr.ts), func(k int) bool { return sr.ts[k] >= t })
	if i == 0 {
		return
	}
	sr.ts = append(sr.ts[:0:0], sr.ts[i:]...)
	for p, c := range sr.cols {
		sr.cols[p] = append(c[:0:0], c[i:]...)
	}
}

func insertAt[T any](s []T, i int, v T) []T {
	if i == len(s) {
		return append(s, v)
	}
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// points returns the values of p in [from, to).
func (sr *series) points(p sensors.Param, from, to time.Time) []sensors.Point {
	c := sr.cols[p]
	if c == nil {
		return nil
	}
	lo := sort.Search(len(sr.ts), func(k int) bool { return sr.ts[k] >= from.UnixMilli() })
	hi := sort.Search(len(sr.ts), func(k int) bool { return sr.ts[k] >= to.UnixMilli() })
	out := make([]sensors.Point, 0, hi-lo)
	for k := lo; k < hi; k++ {
		if !math.IsNaN(c[k]) {
			out = append(out, sensors.Point{T: time.UnixMilli(sr.ts[k]).UTC(), V: c[k]})
		}
	}
	return out
}

// StationView is a station as the API shows it: its definition, its
// current state and its open alerts.
type StationView struct {
	sensors.Station
	Version   int64     `json:"version"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// Credential says whether a device credential was issued, and when;
	// never the password or its hash.
	Credential *CredentialInfo `json:"credential,omitempty"`
	// Status is "no_data", "silent", "exceeds" (the latest reading is worse
	// than the target) or "compliant".
	Status string       `json:"status"`
	Latest *LatestValue `json:"latest,omitempty"`
	// OpenAlerts are the station's open alerts.
	OpenAlerts []sensors.Alert `json:"open_alerts"`
}

// CredentialInfo describes an issued credential without its secret.
type CredentialInfo struct {
	Username string    `json:"username"`
	Version  int64     `json:"version"`
	IssuedAt time.Time `json:"issued_at"`
}

// LatestValue is a station's latest reading, classified.
type LatestValue struct {
	Time       time.Time                 `json:"ts"`
	ReceivedAt time.Time                 `json:"received_at"`
	Values     map[sensors.Param]float64 `json:"values"`
	Assessment sensors.Class             `json:"assessment_class,omitempty"`
	Full       sensors.Class             `json:"full_class,omitempty"`
	Exceeds    bool                      `json:"exceeds"`
	// Exceedances are the parameters worse than the target.
	Exceedances []sensors.Exceedance `json:"exceedances,omitempty"`
}

// Stations returns every station, by id.
func (s *Service) Stations() []StationView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]StationView, 0, len(s.stations))
	for _, st := range s.stations {
		out = append(out, s.viewLocked(st))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Station returns one station, or an error wrapping enforcement.ErrNotFound.
func (s *Service) Station(id string) (StationView, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.stations[id]
	if !ok {
		return StationView{}, fmt.Errorf("monitoring: station %s: %w", id, enforcement.ErrNotFound)
	}
	return s.viewLocked(st), nil
}

func (s *Service) viewLocked(st *station) StationView {
	v := StationView{Station: st.def, Version: st.version, UpdatedBy: st.createdBy, UpdatedAt: st.createdAt,
		Status: "no_data", OpenAlerts: append([]sensors.Alert{}, st.watch.Open()...)}
	if c, ok := s.creds[st.def.ID]; ok {
		v.Credential = &CredentialInfo{Username: c.Username, Version: c.Version, IssuedAt: c.IssuedAt}
	}
	if st.hasLatest {
		v.Latest = &LatestValue{Time: st.latest.Time, ReceivedAt: st.latest.ReceivedAt, Values: st.latest.Values,
			Assessment: st.latestRes.Assessment, Full: st.latestRes.Full, Exceeds: st.latestRes.Exceeds,
			Exceedances: st.latestRes.Exceedances}
		v.Status = "compliant"
		if st.latestRes.Exceeds {
			v.Status = "exceeds"
		}
	}
	for _, a := range v.OpenAlerts {
		if a.Kind == sensors.AlertSilent {
			v.Status = "silent"
		}
	}
	return v
}

// Series is the answer to a readings query: per parameter, either the
// individual readings (Resolution "raw") or buckets of min, max and mean.
type Series struct {
	Station string    `json:"station"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	// Resolution is "raw", or the bucket width as an ISO 8601 duration.
	Resolution string                         `json:"resolution"`
	Params     map[sensors.Param]*ParamSeries `json:"params"`
}

// ParamSeries is one parameter's part of a Series.
type ParamSeries struct {
	Unit    string           `json:"unit"`
	Points  []PointValue     `json:"points,omitempty"`
	Buckets []sensors.Bucket `json:"buckets,omitempty"`
}

// PointValue is one reading's value.
type PointValue struct {
	Time  time.Time `json:"ts"`
	Value float64   `json:"value"`
}

// Readings answers the readings of a station in [from, to) for params (all
// the station reports when empty), as individual readings when there are
// at most maxPoints of each, or else downsampled to at most about
// maxPoints buckets: from the readings kept in memory when the range lies
// within RawRetention, from the per-day summaries (whole Asia/Shanghai
// days) otherwise.
func (s *Service) Readings(id string, from, to time.Time, params []sensors.Param, maxPoints int) (Series, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.stations[id]
	if !ok {
		return Series{}, fmt.Errorf("monitoring: readings of %s: %w", id, enforcement.ErrNotFound)
	}
	if len(params) == 0 {
		params = st.def.Params
	}
	out := Series{Station: id, From: from, To: to, Resolution: "raw", Params: map[sensors.Param]*ParamSeries{}}
	inRaw := !from.Before(s.opt.Now().Add(-s.opt.RawRetention))
	step := sensors.StepFor(from, to, maxPoints)
	if inRaw {
		pts := map[sensors.Param][]sensors.Point{}
		raw := true
		for _, p := range params {
			pts[p] = st.raw.points(p, from, to)
			if len(pts[p]) > maxPoints {
				raw = false
			}
		}
		if !raw && step < 24*time.Hour {
			out.Resolution = sensors.Interval(step).String()
		}
		if raw || step < 24*time.Hour {
			for _, p := range params {
				info, _ := sensors.LookupParam(p)
				ps := &ParamSeries{Unit: info.Unit}
				if raw {
					ps.Points = make([]PointValue, len(pts[p]))
					for i, pt := range pts[p] {
						ps.Points[i] = PointValue{Time: pt.T, Value: pt.V}
					}
				} else {
					ps.Buckets = sensors.Downsample(pts[p], from, to, step)
				}
				out.Params[p] = ps
			}
			return out, nil
		}
	}
	// Whole days from the summaries.
	days := int(math.Ceil(step.Hours() / 24))
	if days < 1 {
		days = 1
	}
	out.Resolution = sensors.Interval(time.Duration(days) * 24 * time.Hour).String()
	loc := sensors.Shanghai()
	start := time.Date(from.In(loc).Year(), from.In(loc).Month(), from.In(loc).Day(), 0, 0, 0, 0, loc)
	for _, p := range params {
		info, _ := sensors.LookupParam(p)
		ps := &ParamSeries{Unit: info.Unit, Buckets: []sensors.Bucket{}}
		for b := start; b.Before(to); b = b.AddDate(0, 0, days) {
			var agg sensors.Stats
			for d := b; d.Before(b.AddDate(0, 0, days)) && d.Before(to); d = d.AddDate(0, 0, 1) {
				if sum, ok := st.days[d.Format("2006-01-02")]; ok {
					if ps, ok := sum.Params[p]; ok {
						agg.Merge(*ps)
					}
				}
			}
			if agg.Count > 0 {
				ps.Buckets = append(ps.Buckets, sensors.Bucket{Start: b.UTC(), Count: agg.Count, Min: agg.Min, Max: agg.Max, Mean: agg.Mean()})
			}
		}
		out.Params[p] = ps
	}
	return out, nil
}

// Quality answers the class of each Asia/Shanghai day in [from, to) and the
// shares of samples and days at or better than the station's target.
func (s *Service) Quality(id string, from, to time.Time) (sensors.QualityReport, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.stations[id]
	if !ok {
		return sensors.QualityReport{}, fmt.Errorf("monitoring: quality of %s: %w", id, enforcement.ErrNotFound)
	}
	days := make([]sensors.DaySummary, 0, len(st.days))
	for _, d := range st.days {
		days = append(days, *d)
	}
	return sensors.Quality(st.def, days, from, to), nil
}

// AlertFilter selects alerts; empty fields select all.
type AlertFilter struct {
	Station string
	State   sensors.AlertState
	Kind    sensors.AlertKind
}

// Alerts returns the alerts the filter selects, the latest opened first.
func (s *Service) Alerts(f AlertFilter) []sensors.Alert {
	s.mu.RLock()
	out := make([]sensors.Alert, 0, 16)
	for _, a := range s.alerts {
		if (f.Station == "" || a.Station == f.Station) && (f.State == "" || a.State == f.State) && (f.Kind == "" || a.Kind == f.Kind) {
			out = append(out, *a)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].OpenedAt.Equal(out[j].OpenedAt) {
			return out[i].OpenedAt.After(out[j].OpenedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Quarantined returns the latest QuarantineKept quarantined messages, the
// latest first, and how many the store holds.
func (s *Service) Quarantined() ([]QuarantineEntry, int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]QuarantineEntry, len(s.quar))
	for i, e := range s.quar {
		out[len(s.quar)-1-i] = e
	}
	return out, s.quarN
}
