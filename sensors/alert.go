package sensors

import (
	"math"
	"slices"
	"time"
)

// AlertKind says what an alert is about.
type AlertKind string

// The kinds of alerts.
const (
	// AlertExceedance: the station's samples are worse than its target
	// class in routine assessment (Result.Exceeds).
	AlertExceedance AlertKind = "exceedance"
	// AlertSilent: the station has not reported for longer than its
	// expected interval allows.
	AlertSilent AlertKind = "silent"
)

// AlertState is the state of an alert.
type AlertState string

// The states of an alert.
const (
	AlertOpen    AlertState = "open"
	AlertCleared AlertState = "cleared"
)

// Alert is the whole state of one alert of one station, as it is stored,
// served and published after each change.
type Alert struct {
	// ID is "{station}:{kind}:{opened_at}", opened_at in UTC as
	// 2006-01-02T15:04:05.000Z: the same readings open the same alert.
	ID      string     `json:"id"`
	Station string     `json:"station"`
	Kind    AlertKind  `json:"kind"`
	State   AlertState `json:"state"`
	// Target is the station's target class.
	Target Class `json:"target_class"`
	// OpenedAt is the time of the sample that opened an exceedance alert,
	// or the instant a silent station became overdue.
	OpenedAt time.Time `json:"opened_at"`
	// UpdatedAt is the time of the last sample (or tick) that changed it.
	UpdatedAt time.Time `json:"updated_at"`
	// ClearedAt is set when State is AlertCleared.
	ClearedAt time.Time `json:"cleared_at,omitzero"`
	// Worst is the worst assessment class seen while the alert was open
	// (exceedance alerts).
	Worst Class `json:"worst_class,omitempty"`
	// Params are the parameters that exceeded while open, in the order of
	// Params (the GB 3838 table).
	Params []Param `json:"params,omitempty"`
	// Latest are the exceedances of the latest exceeding sample; Peaks the
	// largest exceedance of each parameter while open.
	Latest []Exceedance `json:"latest,omitempty"`
	Peaks  []Exceedance `json:"peaks,omitempty"`
	// Exceeding counts the exceeding samples while open; Compliant the
	// consecutive compliant samples since the last exceeding one.
	Exceeding int `json:"exceeding_samples"`
	Compliant int `json:"compliant_samples"`
	// LastReading is the time of the station's last reading before it fell
	// silent (silent alerts).
	LastReading time.Time `json:"last_reading,omitzero"`
	// AckedBy and AckedAt record who acknowledged the alert, and when.
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	// Rev counts the alert's changes, from 1.
	Rev int `json:"rev"`
}

// The defaults of AlertRules.
const (
	// DefaultClearAfter is the number of consecutive compliant samples that
	// clear an open exceedance alert when AlertRules.ClearAfter is not set.
	DefaultClearAfter = 3
	// DefaultSilenceFactor is the multiple of a station's Interval after
	// which it is silent when AlertRules.SilenceFactor is not set.
	DefaultSilenceFactor = 3.0
)

// alertTimeLayout is the layout of the instant in an alert's ID.
const alertTimeLayout = "2006-01-02T15:04:05.000Z"

// AlertRules configure a Watch.
type AlertRules struct {
	// ClearAfter is the number of consecutive compliant samples that clear
	// an open exceedance alert; DefaultClearAfter when 0 or less.
	ClearAfter int
	// SilenceFactor makes a station silent when no reading came for longer
	// than SilenceFactor × its Interval; DefaultSilenceFactor when 0, less
	// or NaN. +Inf means a station is never silent.
	SilenceFactor float64
}

// normalized returns r with the defaults in place of unset rules.
func (r AlertRules) normalized() AlertRules {
	if r.ClearAfter <= 0 {
		r.ClearAfter = DefaultClearAfter
	}
	if !(r.SilenceFactor > 0) {
		r.SilenceFactor = DefaultSilenceFactor
	}
	return r
}

// AlertID returns the ID of the alert of kind kind that station opened at
// openedAt: "{station}:{kind}:{openedAt}", the instant in UTC as
// 2006-01-02T15:04:05.000Z (milliseconds, truncated). The same readings thus
// open an alert with the same ID, whichever time zone openedAt is in.
func AlertID(station string, kind AlertKind, openedAt time.Time) string {
	return station + ":" + string(kind) + ":" + openedAt.UTC().Format(alertTimeLayout)
}

// Watch is the alert state of one station: at most one exceedance alert and
// one silent alert open at a time. It is pure and deterministic: it reads no
// clock (time comes in with the samples and with Tick) and starts no
// goroutine, so replaying the same results and ticks gives the same alerts.
// A Watch is not safe for concurrent use; its owner serializes the calls.
type Watch struct {
	id    string
	st    Station
	rules AlertRules
	since time.Time
	last  time.Time
	// exceed and silent are the latest alert of each kind, open or
	// cleared, or nil when there is none.
	exceed, silent *Alert
}

// NewWatch returns the watch of station st, with no alert and no sample
// yet. since is when watching started: a station that never reports is
// silent from since + SilenceFactor × Interval. With a zero since, a
// station is not checked for silence until its first sample.
func NewWatch(st Station, rules AlertRules, since time.Time) *Watch {
	return &Watch{id: st.ID, st: st, rules: rules.normalized(), since: since}
}

// SetStation replaces the station's definition, as when an admin changes
// its target class or interval, and keeps the alert state. The new target
// applies from the next sample classified against it (the Result carries
// it) and the new interval from the next Tick. The watch keeps the ID it
// was made with: alert IDs are derived from it.
func (w *Watch) SetStation(st Station) {
	st.ID = w.id
	w.st = st
}

// Last returns the time of the latest sample observed (or skipped over by
// Restore), and the zero time when there is none.
func (w *Watch) Last() time.Time { return w.last }

// Open returns copies of the open alerts: the silent alert first, then the
// exceedance alert; nil when none is open.
func (w *Watch) Open() []Alert {
	var out []Alert
	for _, a := range []*Alert{w.silent, w.exceed} {
		if a != nil && a.State == AlertOpen {
			out = append(out, a.clone())
		}
	}
	return out
}

// Observe feeds one classified sample of the station (see ClassifySample)
// and returns copies of the alerts it changed: the silent alert first, then
// the exceedance alert; nil when nothing changed.
//
// Samples must come in time order. A result of another station, or one
// whose Time is not after Last() (a late or repeated sample), changes
// nothing and returns nil. Any other sample counts as the station
// reporting: it advances Last() and clears an open silent alert (ClearedAt
// the sample's time), even when it is invalid. An invalid result (Invalid
// not empty) or one without an assessment class (Assessment is ClassNone)
// does not touch the exceedance state.
//
// A valid result with Exceeds true opens an exceedance alert if none is
// open (OpenedAt the sample's time, Rev 1), or else updates the open one:
// Worst becomes the worse class, Params the union of the exceeding
// parameters, Latest the sample's assessed exceedances, Peaks keeps each
// parameter's largest exceedance (by Multiple; for pH, the value farthest
// outside the window), Exceeding is incremented and Compliant reset to 0.
// A valid result with Exceeds false increments Compliant of the open
// exceedance alert, which is cleared (ClearedAt the sample's time) once
// Compliant reaches ClearAfter; the next exceedance opens a new alert. Each
// change sets UpdatedAt to the sample's time, Target to the result's target
// class, and increments Rev; AckedBy and AckedAt are kept.
func (w *Watch) Observe(r Result) []Alert {
	if r.Station != w.id || !r.Time.After(w.last) {
		return nil
	}
	w.last = r.Time
	var out []Alert
	if a := w.silent; a != nil && a.State == AlertOpen {
		a.State, a.ClearedAt, a.UpdatedAt = AlertCleared, r.Time, r.Time
		a.Rev++
		out = append(out, a.clone())
	}
	if len(r.Invalid) > 0 || r.Assessment == ClassNone {
		return out
	}
	a := w.exceed
	open := a != nil && a.State == AlertOpen
	switch {
	case r.Exceeds && !open:
		latest := assessedExceedances(r.Exceedances)
		a = &Alert{
			ID: AlertID(w.id, AlertExceedance, r.Time), Station: w.id, Kind: AlertExceedance,
			State: AlertOpen, Target: r.Target, OpenedAt: r.Time, UpdatedAt: r.Time,
			Worst: r.Assessment, Params: exceedanceParams(nil, latest),
			Latest: latest, Peaks: slices.Clone(latest), Exceeding: 1, Rev: 1,
		}
		w.exceed = a
	case r.Exceeds:
		latest := assessedExceedances(r.Exceedances)
		a.Target, a.UpdatedAt = r.Target, r.Time
		a.Worst = worst(a.Worst, r.Assessment)
		a.Params = exceedanceParams(a.Params, latest)
		a.Latest = latest
		a.Peaks = mergePeaks(a.Peaks, latest)
		a.Exceeding++
		a.Compliant = 0
		a.Rev++
	case open:
		a.Target, a.UpdatedAt = r.Target, r.Time
		a.Compliant++
		a.Rev++
		if a.Compliant >= w.rules.ClearAfter {
			a.State, a.ClearedAt = AlertCleared, r.Time
		}
	default:
		return out
	}
	return append(out, a.clone())
}

// Tick checks the station for silence at now and returns copies of the
// alerts it changed, or nil. When no silent alert is open and the station
// has not reported for longer than SilenceFactor × Interval (counted from
// Last(), or from since when it never reported), it opens a silent alert.
// The alert does not depend on when Tick runs: OpenedAt and UpdatedAt are
// the instant the station became overdue (Last() or since, plus
// SilenceFactor × Interval), and LastReading is Last() (zero when the
// station never reported). A station whose Interval is not positive is never
// silent. Only a sample clears a silent alert (see Observe).
func (w *Watch) Tick(now time.Time) []Alert {
	a, ok := w.Overdue(now)
	if !ok {
		return nil
	}
	w.silent = &a
	return []Alert{a.clone()}
}

// Overdue returns the silent alert Tick(now) would open, and false when it
// would open none; it changes nothing. Restoring the alert it returns (see
// Restore) has the effect of Tick(now): a server that shares its alerts
// with others decides with Overdue, and every server restores the decision.
func (w *Watch) Overdue(now time.Time) (Alert, bool) {
	if w.silent != nil && w.silent.State == AlertOpen {
		return Alert{}, false
	}
	window, ok := w.silenceWindow()
	from := w.last
	if from.IsZero() {
		from = w.since
	}
	if !ok || from.IsZero() || now.Sub(from) <= window {
		return Alert{}, false
	}
	at := from.Add(window)
	return Alert{
		ID: AlertID(w.id, AlertSilent, at), Station: w.id, Kind: AlertSilent, State: AlertOpen,
		Target: w.st.TargetClass, OpenedAt: at, UpdatedAt: at, LastReading: w.last, Rev: 1,
	}, true
}

// silenceWindow returns SilenceFactor × Interval, capped at the longest
// Duration, and false when the station has no positive Interval.
func (w *Watch) silenceWindow() (time.Duration, bool) {
	iv := time.Duration(w.st.Interval)
	if iv <= 0 {
		return 0, false
	}
	f := math.Round(w.rules.SilenceFactor * float64(iv))
	if f >= math.MaxInt64 {
		return math.MaxInt64, true
	}
	return time.Duration(f), true
}

// Restore puts back the state of one alert of the station as the store has
// it, typically its latest revision with AckedBy and AckedAt, before the
// stored readings are replayed at start. Alerts may be restored in any
// order: of two alerts of the same kind, the one opened later wins, and of
// two revisions of the same alert, the higher Rev. The winner, when open,
// is the open alert of its kind and later samples update it (keeping its
// acknowledgement); when cleared, the next exceedance opens a new alert.
//
// Restore also moves Last() forward to the latest sample the alert has
// already seen, so that replaying the stored readings skips those it
// counts: UpdatedAt (for an open silent alert, LastReading). UpdatedAt must
// therefore be the time of the last sample that changed the alert: an
// acknowledgement does not change it. An alert of another station, of an
// unknown kind or in an unknown state is ignored.
func (w *Watch) Restore(a Alert) {
	if a.Station != w.id || (a.State != AlertOpen && a.State != AlertCleared) {
		return
	}
	var slot **Alert
	switch a.Kind {
	case AlertExceedance:
		slot = &w.exceed
	case AlertSilent:
		slot = &w.silent
	default:
		return
	}
	if cur := *slot; cur == nil || a.OpenedAt.After(cur.OpenedAt) ||
		(a.OpenedAt.Equal(cur.OpenedAt) && a.Rev > cur.Rev) {
		c := a.clone()
		*slot = &c
	}
	seen := a.UpdatedAt
	if a.Kind == AlertSilent && a.State == AlertOpen {
		seen = a.LastReading
	}
	if seen.After(w.last) {
		w.last = seen
	}
}

// WatchState is the whole alert state of a Watch: the latest alert of each
// kind (open or cleared, nil when none) and the time of the latest sample.
// Servers that share their alerts keep it in checkpoints of their common
// log, so that one that starts later continues from the same state.
type WatchState struct {
	Exceed *Alert    `json:"exceed,omitempty"`
	Silent *Alert    `json:"silent,omitempty"`
	Last   time.Time `json:"last,omitzero"`
}

// State returns a copy of the watch's alert state.
func (w *Watch) State() WatchState {
	st := WatchState{Last: w.last}
	if w.exceed != nil {
		a := w.exceed.clone()
		st.Exceed = &a
	}
	if w.silent != nil {
		a := w.silent.clone()
		st.Silent = &a
	}
	return st
}

// SetState replaces the watch's alert state with a copy of st, as State
// returned it (of a watch of the same station); the station and the rules
// stay.
func (w *Watch) SetState(st WatchState) {
	w.exceed, w.silent, w.last = nil, nil, st.Last
	if st.Exceed != nil {
		a := st.Exceed.clone()
		w.exceed = &a
	}
	if st.Silent != nil {
		a := st.Silent.clone()
		w.silent = &a
	}
}

// clone returns a copy of a that shares no slice with it.
func (a Alert) clone() Alert {
	a.Params = slices.Clone(a.Params)
	a.Latest = slices.Clone(a.Latest)
	a.Peaks = slices.Clone(a.Peaks)
	return a
}

// assessedExceedances returns the exceedances of es that count in routine
// assessment, in their order, or nil.
func assessedExceedances(es []Exceedance) []Exceedance {
	var out []Exceedance
	for _, e := range es {
		if e.Assessed {
			out = append(out, e)
		}
	}
	return out
}

// exceedanceParams returns the union of ps and the parameters of es, in
// the order of Params.
func exceedanceParams(ps []Param, es []Exceedance) []Param {
	out := slices.Clone(ps)
	for _, e := range es {
		if !slices.Contains(out, e.Param) {
			out = append(out, e.Param)
		}
	}
	sortParams(out)
	return out
}

// mergePeaks returns peaks with each exceedance of es that is larger than
// the peak of its parameter (or the first of it) in its place, in the order
// of Params. Of two equal exceedances the earlier is kept.
func mergePeaks(peaks, es []Exceedance) []Exceedance {
	out := slices.Clone(peaks)
	for _, e := range es {
		i := slices.IndexFunc(out, func(p Exceedance) bool { return p.Param == e.Param })
		switch {
		case i < 0:
			out = append(out, e)
		case severity(e) > severity(out[i]):
			out[i] = e
		}
	}
	slices.SortStableFunc(out, func(a, b Exceedance) int { return paramOrder(a.Param) - paramOrder(b.Param) })
	return out
}

// severity measures how far e lies beyond its limit: its Multiple, and for
// a Range parameter (pH), which has none, the distance from the window.
func severity(e Exceedance) float64 {
	if e.Direction == Range {
		return math.Abs(e.Value - e.Limit)
	}
	return e.Multiple
}

// sortParams sorts ps in the order of Params; unknown names go last.
func sortParams(ps []Param) {
	slices.SortStableFunc(ps, func(a, b Param) int { return paramOrder(a) - paramOrder(b) })
}

// paramOrder is the position of p in Params, or len(params) when unknown.
func paramOrder(p Param) int {
	if i, ok := paramIndex[p]; ok {
		return i
	}
	return len(params)
}
