package sensors_test

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
)

// cst is China Standard Time written out, so that the tests need no time
// zone database.
var cst = time.FixedZone("CST", 8*60*60)

// t0 is 2020-07-04T02:00:00.123Z, written in Shanghai time.
var t0 = time.Date(2020, 7, 4, 10, 0, 0, 123e6, cst)

// at returns t0 plus n minutes.
func at(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Minute))) }

// vals is shorthand for a sample's values.
type vals = map[sensors.Param]float64

// obs classifies values measured at time ts at the reservoir station (res-dam,
// target Class II, interval 5 minutes) with the real table.
func obs(ts time.Time, v vals) sensors.Result {
	return sensors.ClassifySample(reservoirStation, sensors.Sample{Time: ts, Values: v})
}

// Values the tests feed, with their classes at a reservoir worked out from
// shared/domain/GB3838-2002.md.
var (
	tp005    = vals{"tp_mg_l": 0.05}                                    // III: exceeds II
	tp002    = vals{"tp_mg_l": 0.02}                                    // II: compliant
	tpNH3N   = vals{"tp_mg_l": 0.05, "nh3n_mg_l": 0.75, "tn_mg_l": 0.8} // tp III, nh3n III, tn III (not assessed)
	onlyTemp = vals{"temp_c": 21}                                       // no assessment class
	badTP    = vals{"tp_mg_l": -1}                                      // invalid
)

// exc renders exceedances as "param=value".
func exc(es []sensors.Exceedance) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s=%v", e.Param, e.Value))
	}
	return out
}

// state renders the counters of an alert.
func state(a sensors.Alert) string {
	return fmt.Sprintf("%s %s worst=%s exceeding=%d compliant=%d rev=%d",
		a.ID, a.State, a.Worst, a.Exceeding, a.Compliant, a.Rev)
}

// only returns the single alert of as, failing the test otherwise.
func only(t *testing.T, what string, as []sensors.Alert) sensors.Alert {
	t.Helper()
	if len(as) != 1 {
		t.Fatalf("%s returned %d alerts, want 1: %+v", what, len(as), as)
	}
	return as[0]
}

func TestAlertID(t *testing.T) {
	tests := []struct {
		name    string
		station string
		kind    sensors.AlertKind
		at      time.Time
		want    string
	}{
		{"shanghai time in UTC", "res-dam", sensors.AlertExceedance, t0, "res-dam:exceedance:2020-07-04T02:00:00.123Z"},
		{"whole second keeps .000", "inflow-chao", sensors.AlertSilent,
			time.Date(2020, 7, 4, 23, 59, 59, 0, time.UTC), "inflow-chao:silent:2020-07-04T23:59:59.000Z"},
		{"sub-millisecond truncated", "a", sensors.AlertSilent,
			time.Date(2020, 1, 2, 3, 4, 5, 999999999, time.UTC), "a:silent:2020-01-02T03:04:05.999Z"},
		{"shanghai midnight is the day before in UTC", "a", sensors.AlertExceedance,
			time.Date(2020, 7, 5, 0, 0, 0, 0, cst), "a:exceedance:2020-07-04T16:00:00.000Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sensors.AlertID(tc.station, tc.kind, tc.at); got != tc.want {
				t.Errorf("AlertID = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWatchOpensExceedanceAlert(t *testing.T) {
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-1))
	r := obs(t0, tpNH3N)
	if !r.Exceeds {
		t.Fatalf("tp 0.05 at a class II reservoir does not exceed: %+v", r)
	}
	a := only(t, "Observe", w.Observe(r))
	if got, want := exc(a.Latest), []string{"nh3n_mg_l=0.75", "tp_mg_l=0.05"}; !slices.Equal(got, want) {
		t.Errorf("Latest = %v, want %v (tn is not assessed)", got, want)
	}
	if got, want := exc(a.Peaks), []string{"nh3n_mg_l=0.75", "tp_mg_l=0.05"}; !slices.Equal(got, want) {
		t.Errorf("Peaks = %v, want %v", got, want)
	}
	// 0.75/0.5 − 1 and 0.05/0.025 − 1.
	if len(a.Peaks) == 2 && (math.Abs(a.Peaks[0].Multiple-0.5) > 1e-9 || math.Abs(a.Peaks[1].Multiple-1) > 1e-9) {
		t.Errorf("Peaks multiples = %v, %v; want 0.5, 1", a.Peaks[0].Multiple, a.Peaks[1].Multiple)
	}
	a.Latest, a.Peaks = nil, nil
	want := sensors.Alert{
		ID: "res-dam:exceedance:2020-07-04T02:00:00.123Z", Station: "res-dam",
		Kind: sensors.AlertExceedance, State: sensors.AlertOpen, Target: cII,
		OpenedAt: t0, UpdatedAt: t0, Worst: cIII,
		Params:    []sensors.Param{"nh3n_mg_l", "tp_mg_l"},
		Exceeding: 1, Compliant: 0, Rev: 1,
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("opened\n got %+v\nwant %+v", a, want)
	}
	if got := w.Open(); len(got) != 1 || got[0].ID != want.ID || got[0].State != sensors.AlertOpen {
		t.Errorf("Open() = %+v, want the one alert", got)
	}
	if !w.Last().Equal(t0) {
		t.Errorf("Last() = %v, want %v", w.Last(), t0)
	}
}

func TestWatchUpdatesExceedanceAlert(t *testing.T) {
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-1))
	const id = "res-dam:exceedance:2020-07-04T02:00:00.123Z"
	steps := []struct {
		name       string
		values     vals
		wantState  string
		wantParams []sensors.Param
		wantLatest []string
		wantPeaks  []string
	}{
		{"opens at class III", tpNH3N,
			id + " open worst=III exceeding=1 compliant=0 rev=1",
			[]sensors.Param{"nh3n_mg_l", "tp_mg_l"},
			[]string{"nh3n_mg_l=0.75", "tp_mg_l=0.05"},
			[]string{"nh3n_mg_l=0.75", "tp_mg_l=0.05"}},
		{"worse class IV, tp peak rises", vals{"tp_mg_l": 0.08},
			id + " open worst=IV exceeding=2 compliant=0 rev=2",
			[]sensors.Param{"nh3n_mg_l", "tp_mg_l"},
			[]string{"tp_mg_l=0.08"},
			[]string{"nh3n_mg_l=0.75", "tp_mg_l=0.08"}},
		{"better class III keeps worst IV and the tp peak", vals{"tp_mg_l": 0.04, "do_mg_l": 5.5},
			id + " open worst=IV exceeding=3 compliant=0 rev=3",
			[]sensors.Param{"do_mg_l", "nh3n_mg_l", "tp_mg_l"},
			[]string{"do_mg_l=5.5", "tp_mg_l=0.04"},
			[]string{"do_mg_l=5.5", "nh3n_mg_l=0.75", "tp_mg_l=0.08"}},
		{"ph 9.5 is worse than V and lower do is a larger peak", vals{"ph": 9.5, "do_mg_l": 3},
			id + " open worst=劣V exceeding=4 compliant=0 rev=4",
			[]sensors.Param{"ph", "do_mg_l", "nh3n_mg_l", "tp_mg_l"},
			[]string{"ph=9.5", "do_mg_l=3"},
			[]string{"ph=9.5", "do_mg_l=3", "nh3n_mg_l=0.75", "tp_mg_l=0.08"}},
		{"ph 9.2 is nearer the window: peak stays 9.5", vals{"ph": 9.2},
			id + " open worst=劣V exceeding=5 compliant=0 rev=5",
			[]sensors.Param{"ph", "do_mg_l", "nh3n_mg_l", "tp_mg_l"},
			[]string{"ph=9.2"},
			[]string{"ph=9.5", "do_mg_l=3", "nh3n_mg_l=0.75", "tp_mg_l=0.08"}},
		{"ph 5 is 1 below the window, farther than 9.5", vals{"ph": 5},
			id + " open worst=劣V exceeding=6 compliant=0 rev=6",
			[]sensors.Param{"ph", "do_mg_l", "nh3n_mg_l", "tp_mg_l"},
			[]string{"ph=5"},
			[]string{"ph=5", "do_mg_l=3", "nh3n_mg_l=0.75", "tp_mg_l=0.08"}},
	}
	for i, s := range steps {
		ts := at(float64(5 * i))
		a := only(t, s.name, w.Observe(obs(ts, s.values)))
		if got := state(a); got != s.wantState {
			t.Errorf("%s: state %q, want %q", s.name, got, s.wantState)
		}
		if !a.OpenedAt.Equal(t0) || !a.UpdatedAt.Equal(ts) {
			t.Errorf("%s: OpenedAt, UpdatedAt = %v, %v; want %v, %v", s.name, a.OpenedAt, a.UpdatedAt, t0, ts)
		}
		if !slices.Equal(a.Params, s.wantParams) {
			t.Errorf("%s: Params = %v, want %v", s.name, a.Params, s.wantParams)
		}
		if got := exc(a.Latest); !slices.Equal(got, s.wantLatest) {
			t.Errorf("%s: Latest = %v, want %v", s.name, got, s.wantLatest)
		}
		if got := exc(a.Peaks); !slices.Equal(got, s.wantPeaks) {
			t.Errorf("%s: Peaks = %v, want %v", s.name, got, s.wantPeaks)
		}
	}
}

func TestWatchClearsAfterCompliantRun(t *testing.T) {
	tests := []struct {
		name       string
		rules      sensors.AlertRules
		compliant  int
		wantClosed bool
	}{
		{"default 3: 2 compliant keep it open", sensors.AlertRules{}, 2, false},
		{"default 3: 3 compliant clear it", sensors.AlertRules{}, 3, true},
		{"negative is the default 3: 2 keep it open", sensors.AlertRules{ClearAfter: -1}, 2, false},
		{"ClearAfter 1: 1 clears it", sensors.AlertRules{ClearAfter: 1}, 1, true},
		{"ClearAfter 5: 4 keep it open", sensors.AlertRules{ClearAfter: 5}, 4, false},
		{"ClearAfter 5: 5 clear it", sensors.AlertRules{ClearAfter: 5}, 5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := sensors.NewWatch(reservoirStation, tc.rules, at(-1))
			opened := only(t, "open", w.Observe(obs(t0, tp005)))
			var last sensors.Alert
			for i := 1; i <= tc.compliant; i++ {
				last = only(t, "compliant sample", w.Observe(obs(at(float64(5*i)), tp002)))
			}
			if last.ID != opened.ID || last.Compliant != tc.compliant || last.Rev != 1+tc.compliant || last.Exceeding != 1 {
				t.Errorf("after %d compliant: %s, want id %s compliant=%d rev=%d exceeding=1",
					tc.compliant, state(last), opened.ID, tc.compliant, 1+tc.compliant)
			}
			end := at(float64(5 * tc.compliant))
			if !last.UpdatedAt.Equal(end) {
				t.Errorf("UpdatedAt = %v, want %v", last.UpdatedAt, end)
			}
			if tc.wantClosed {
				if last.State != sensors.AlertCleared || !last.ClearedAt.Equal(end) {
					t.Errorf("State, ClearedAt = %s, %v; want cleared at %v", last.State, last.ClearedAt, end)
				}
				if open := w.Open(); len(open) != 0 {
					t.Errorf("Open() = %+v, want none", open)
				}
				if got := w.Observe(obs(end.Add(time.Minute), tp002)); got != nil {
					t.Errorf("a compliant sample after clearing changed %+v", got)
				}
			} else {
				if last.State != sensors.AlertOpen || !last.ClearedAt.IsZero() {
					t.Errorf("State, ClearedAt = %s, %v; want open", last.State, last.ClearedAt)
				}
				if open := w.Open(); len(open) != 1 || open[0].Compliant != tc.compliant {
					t.Errorf("Open() = %+v, want the alert with %d compliant", open, tc.compliant)
				}
			}
		})
	}
}

func TestWatchExceedanceInterruptsCompliantRun(t *testing.T) {
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-1))
	const id = "res-dam:exceedance:2020-07-04T02:00:00.123Z"
	steps := []struct {
		name   string
		values vals
		want   string
	}{
		{"open", tp005, id + " open worst=III exceeding=1 compliant=0 rev=1"},
		{"compliant 1", tp002, id + " open worst=III exceeding=1 compliant=1 rev=2"},
		{"compliant 2", tp002, id + " open worst=III exceeding=1 compliant=2 rev=3"},
		{"exceeds again: run reset", tp005, id + " open worst=III exceeding=2 compliant=0 rev=4"},
		{"compliant 1 again", tp002, id + " open worst=III exceeding=2 compliant=1 rev=5"},
		{"no assessment class: no change", onlyTemp, ""},
		{"invalid: no change", badTP, ""},
		{"compliant 2 again", tp002, id + " open worst=III exceeding=2 compliant=2 rev=6"},
		{"compliant 3 clears", tp002, id + " cleared worst=III exceeding=2 compliant=3 rev=7"},
	}
	for i, s := range steps {
		got := w.Observe(obs(at(float64(5*i)), s.values))
		if s.want == "" {
			if got != nil {
				t.Errorf("%s: changed %+v", s.name, got)
			}
			continue
		}
		if a := only(t, s.name, got); state(a) != s.want {
			t.Errorf("%s: %q, want %q", s.name, state(a), s.want)
		}
	}
	if !w.Last().Equal(at(40)) {
		t.Errorf("Last() = %v, want %v", w.Last(), at(40))
	}
}

func TestWatchNewAlertAfterClearing(t *testing.T) {
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{ClearAfter: 1}, at(-1))
	first := only(t, "open", w.Observe(obs(t0, tp005)))
	cleared := only(t, "clear", w.Observe(obs(at(5), tp002)))
	second := only(t, "reopen", w.Observe(obs(at(10), vals{"tp_mg_l": 0.08})))
	if first.ID != "res-dam:exceedance:2020-07-04T02:00:00.123Z" || cleared.ID != first.ID || cleared.State != sensors.AlertCleared {
		t.Fatalf("first %s, cleared %s", state(first), state(cleared))
	}
	want := "res-dam:exceedance:2020-07-04T02:10:00.123Z open worst=IV exceeding=1 compliant=0 rev=1"
	if got := state(second); got != want {
		t.Errorf("second alert %q, want %q", got, want)
	}
	if !second.OpenedAt.Equal(at(10)) || !slices.Equal(exc(second.Peaks), []string{"tp_mg_l=0.08"}) {
		t.Errorf("second alert opened %v with peaks %v; want %v, [tp_mg_l=0.08]", second.OpenedAt, exc(second.Peaks), at(10))
	}
}

func TestWatchIgnoresLateSamples(t *testing.T) {
	tests := []struct {
		name   string
		ts     time.Time
		values vals
	}{
		{"repeated exceeding sample", at(5), tp005},
		{"repeated compliant sample", at(5), tp002},
		{"late compliant sample", at(2), tp002},
		{"late exceeding sample", at(-10), vals{"tp_mg_l": 0.3}},
		{"late invalid sample", at(1), badTP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := sensors.NewWatch(reservoirStation, sensors.AlertRules{ClearAfter: 1}, at(-60))
			w.Observe(obs(t0, tp005))
			w.Observe(obs(at(5), tp005))
			if got := w.Observe(obs(tc.ts, tc.values)); got != nil {
				t.Errorf("Observe = %+v, want nil", got)
			}
			open := w.Open()
			want := "res-dam:exceedance:2020-07-04T02:00:00.123Z open worst=III exceeding=2 compliant=0 rev=2"
			if len(open) != 1 || state(open[0]) != want {
				t.Errorf("Open() = %+v, want %q", open, want)
			}
			if !w.Last().Equal(at(5)) {
				t.Errorf("Last() = %v, want %v", w.Last(), at(5))
			}
		})
	}
}

func TestWatchIgnoresOtherStations(t *testing.T) {
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-1))
	r := sensors.ClassifySample(riverStation, sensors.Sample{Time: t0, Values: vals{"tp_mg_l": 0.3}})
	if !r.Exceeds {
		t.Fatalf("tp 0.3 in a class II river does not exceed")
	}
	if got := w.Observe(r); got != nil || !w.Last().IsZero() {
		t.Errorf("Observe(another station's result) = %+v, Last() = %v; want nil, zero", got, w.Last())
	}
}

func TestWatchUnassessedExceedanceOpensNothing(t *testing.T) {
	tests := []struct {
		name   string
		values vals
		params []string // the exceedances the table lists, all not assessed
	}{
		{"total nitrogen", vals{"tp_mg_l": 0.02, "tn_mg_l": 0.8}, []string{"tn_mg_l=0.8"}},
		{"fecal coliforms", vals{"tp_mg_l": 0.02, "fecal_coliform_per_l": 5000}, []string{"fecal_coliform_per_l=5000"}},
		{"both, nothing assessed but tp", vals{"tp_mg_l": 0.025, "tn_mg_l": 2.5, "fecal_coliform_per_l": 50000},
			[]string{"tn_mg_l=2.5", "fecal_coliform_per_l=50000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := obs(t0, tc.values)
			if r.Exceeds || !slices.Equal(exc(r.Exceedances), tc.params) || r.Exceedances[0].Assessed {
				t.Fatalf("result Exceeds %v, exceedances %+v; want false, %v not assessed", r.Exceeds, r.Exceedances, tc.params)
			}
			w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-1))
			if got := w.Observe(r); got != nil {
				t.Errorf("Observe = %+v, want nil", got)
			}
			if got := w.Open(); got != nil {
				t.Errorf("Open() = %+v, want nil", got)
			}
		})
	}
}

func TestWatchSilence(t *testing.T) {
	tests := []struct {
		name   string
		rules  sensors.AlertRules
		window time.Duration // factor × 5 minutes, worked out by hand
	}{
		{"default factor 3", sensors.AlertRules{}, 15 * time.Minute},
		{"negative factor is the default", sensors.AlertRules{SilenceFactor: -2}, 15 * time.Minute},
		{"NaN factor is the default", sensors.AlertRules{SilenceFactor: math.NaN()}, 15 * time.Minute},
		{"factor 2", sensors.AlertRules{SilenceFactor: 2}, 10 * time.Minute},
		{"factor 1.5", sensors.AlertRules{SilenceFactor: 1.5}, 7*time.Minute + 30*time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := sensors.NewWatch(reservoirStation, tc.rules, at(-60))
			w.Observe(obs(t0, tp002))
			deadline := t0.Add(tc.window)
			if got := w.Tick(deadline); got != nil {
				t.Errorf("Tick(at the deadline) = %+v, want nil: silent only when longer", got)
			}
			a := only(t, "Tick after the deadline", w.Tick(deadline.Add(time.Millisecond)))
			want := sensors.Alert{
				ID: "res-dam:silent:" + deadline.UTC().Format("2006-01-02T15:04:05.000Z"), Station: "res-dam",
				Kind: sensors.AlertSilent, State: sensors.AlertOpen, Target: cII,
				OpenedAt: deadline, UpdatedAt: deadline, LastReading: t0, Rev: 1,
			}
			if !reflect.DeepEqual(a, want) {
				t.Errorf("silent\n got %+v\nwant %+v", a, want)
			}
			if got := w.Tick(deadline.Add(time.Hour)); got != nil {
				t.Errorf("second Tick = %+v, want nil", got)
			}
			back := at(40)
			c := only(t, "Observe", w.Observe(obs(back, tp002)))
			if c.ID != want.ID || c.State != sensors.AlertCleared || !c.ClearedAt.Equal(back) || !c.UpdatedAt.Equal(back) || c.Rev != 2 {
				t.Errorf("after the sample: %s cleared at %v, updated %v; want %s cleared at %v, rev 2", state(c), c.ClearedAt, c.UpdatedAt, want.ID, back)
			}
			if got := w.Open(); got != nil {
				t.Errorf("Open() = %+v, want nil", got)
			}
		})
	}
}

func TestWatchSilenceExactDeadline(t *testing.T) {
	// The ID depends on the last sample and the rules, not on when Tick runs.
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
	w.Observe(obs(t0, tp002))
	a := only(t, "Tick", w.Tick(at(600)))
	if want := "res-dam:silent:2020-07-04T02:15:00.123Z"; a.ID != want {
		t.Errorf("ID = %q, want %q", a.ID, want)
	}
}

func TestWatchNeverReportingGoesSilent(t *testing.T) {
	since := time.Date(2020, 7, 4, 8, 0, 0, 0, cst) // 00:00 UTC
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, since)
	if got := w.Tick(since.Add(15 * time.Minute)); got != nil {
		t.Errorf("Tick(since+15m) = %+v, want nil", got)
	}
	a := only(t, "Tick(since+16m)", w.Tick(since.Add(16*time.Minute)))
	if a.ID != "res-dam:silent:2020-07-04T00:15:00.000Z" || !a.OpenedAt.Equal(since.Add(15*time.Minute)) ||
		!a.LastReading.IsZero() || a.State != sensors.AlertOpen || a.Rev != 1 {
		t.Errorf("silent alert %+v; want id res-dam:silent:2020-07-04T00:15:00.000Z, no last reading", a)
	}
	// An invalid sample still says the station is alive.
	c := only(t, "invalid sample", w.Observe(obs(since.Add(20*time.Minute), badTP)))
	if c.State != sensors.AlertCleared || !c.ClearedAt.Equal(since.Add(20*time.Minute)) {
		t.Errorf("after an invalid sample: %s cleared at %v", state(c), c.ClearedAt)
	}

	zero := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, time.Time{})
	if got := zero.Tick(since); got != nil {
		t.Errorf("with a zero since, Tick = %+v; want nil", got)
	}
}

func TestWatchSilentThenExceedanceOrder(t *testing.T) {
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
	w.Observe(obs(t0, tp002))
	w.Tick(at(30))
	got := w.Observe(obs(at(31), tp005))
	var kinds []string
	for _, a := range got {
		kinds = append(kinds, string(a.Kind)+" "+string(a.State))
	}
	if want := []string{"silent cleared", "exceedance open"}; !slices.Equal(kinds, want) {
		t.Errorf("changes %v, want %v", kinds, want)
	}
}

func TestWatchSetStation(t *testing.T) {
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
	w.Observe(obs(t0, tp005))
	changed := reservoirStation
	changed.TargetClass = cIII
	changed.Interval = sensors.Interval(time.Hour)
	changed.ID = "renamed"
	w.SetStation(changed)
	if open := w.Open(); len(open) != 1 || open[0].Target != cII {
		t.Fatalf("SetStation lost the open alert: %+v", open)
	}
	if got := w.Tick(at(3 * 60)); got != nil {
		t.Errorf("Tick(3h) = %+v, want nil: the window is now 3 × 1h", got)
	}
	// tp 0.05 is class III: compliant against the new target III.
	r := sensors.ClassifySample(changed, sensors.Sample{Time: at(181), Values: tp005})
	r.Station = "res-dam"
	if r.Exceeds {
		t.Fatalf("tp 0.05 exceeds target III")
	}
	a := only(t, "Observe", w.Observe(r))
	if a.Compliant != 1 || a.Target != cIII || a.ID != "res-dam:exceedance:2020-07-04T02:00:00.123Z" {
		t.Errorf("after a compliant sample against III: %s target %s", state(a), a.Target)
	}
	s := only(t, "Tick(181m+3h+1ms)", w.Tick(at(181+180).Add(time.Millisecond)))
	// 02:00:00.123Z + 181 min + 3 h.
	if s.ID != "res-dam:silent:2020-07-04T08:01:00.123Z" || s.Target != cIII {
		t.Errorf("silent alert %s target %s, want res-dam:silent:2020-07-04T08:01:00.123Z, III", s.ID, s.Target)
	}
}

func TestWatchReturnsCopies(t *testing.T) {
	w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-1))
	a := only(t, "Observe", w.Observe(obs(t0, tpNH3N)))
	a.Params[0] = "changed"
	a.Peaks[0].Value = 99
	o := w.Open()
	o[0].Latest[0].Value = 98
	o = w.Open()
	if o[0].Params[0] != "nh3n_mg_l" || o[0].Peaks[0].Value != 0.75 || o[0].Latest[0].Value != 0.75 {
		t.Errorf("the watch shares slices with its callers: %+v", o[0])
	}
}

func TestWatchRestore(t *testing.T) {
	const id = "res-dam:exceedance:2020-07-04T02:00:00.123Z"
	ackAt := at(7)
	opened := sensors.Alert{
		ID: id, Station: "res-dam", Kind: sensors.AlertExceedance, State: sensors.AlertOpen, Target: cII,
		OpenedAt: t0, UpdatedAt: at(10), Worst: cIII, Params: []sensors.Param{"tp_mg_l"},
		Exceeding: 2, Compliant: 1, AckedBy: "li.wei", AckedAt: ackAt, Rev: 4,
	}
	cleared := opened
	cleared.State, cleared.Compliant, cleared.ClearedAt, cleared.UpdatedAt, cleared.Rev = sensors.AlertCleared, 3, at(20), at(20), 6

	t.Run("open alert is updated and keeps its ack", func(t *testing.T) {
		w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
		w.Restore(opened)
		if !w.Last().Equal(at(10)) {
			t.Errorf("Last() = %v, want UpdatedAt %v", w.Last(), at(10))
		}
		if got := w.Observe(obs(at(5), tp005)); got != nil {
			t.Errorf("replaying a sample the alert counts changed %+v", got)
		}
		a := only(t, "Observe", w.Observe(obs(at(15), tp005)))
		if want := id + " open worst=III exceeding=3 compliant=0 rev=5"; state(a) != want {
			t.Errorf("%q, want %q", state(a), want)
		}
		if a.AckedBy != "li.wei" || !a.AckedAt.Equal(ackAt) {
			t.Errorf("ack lost: %q %v", a.AckedBy, a.AckedAt)
		}
	})
	for _, order := range []struct {
		name string
		as   []sensors.Alert
	}{
		{"open then cleared revision", []sensors.Alert{opened, cleared}},
		{"cleared then open revision", []sensors.Alert{cleared, opened}},
	} {
		t.Run(order.name, func(t *testing.T) {
			w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
			for _, a := range order.as {
				w.Restore(a)
			}
			if got := w.Open(); got != nil {
				t.Errorf("Open() = %+v, want nil: the latest revision is cleared", got)
			}
			if !w.Last().Equal(at(20)) {
				t.Errorf("Last() = %v, want %v", w.Last(), at(20))
			}
			a := only(t, "Observe", w.Observe(obs(at(25), tp005)))
			if want := "res-dam:exceedance:2020-07-04T02:25:00.123Z open worst=III exceeding=1 compliant=0 rev=1"; state(a) != want || a.AckedBy != "" {
				t.Errorf("%q acked by %q, want %q unacknowledged", state(a), a.AckedBy, want)
			}
		})
	}
	t.Run("open silent alert waits for a sample after its last reading", func(t *testing.T) {
		w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
		w.Restore(sensors.Alert{ID: "res-dam:silent:2020-07-04T02:15:00.123Z", Station: "res-dam",
			Kind: sensors.AlertSilent, State: sensors.AlertOpen, Target: cII,
			OpenedAt: at(15), UpdatedAt: at(15), LastReading: t0, Rev: 1})
		if !w.Last().Equal(t0) {
			t.Errorf("Last() = %v, want %v", w.Last(), t0)
		}
		if got := w.Tick(at(100)); got != nil {
			t.Errorf("Tick opened another silent alert: %+v", got)
		}
		c := only(t, "Observe", w.Observe(obs(at(50), tp002)))
		if c.State != sensors.AlertCleared || c.Rev != 2 || !c.ClearedAt.Equal(at(50)) {
			t.Errorf("silent alert after a sample: %s cleared at %v", state(c), c.ClearedAt)
		}
	})
	t.Run("another station's alert is ignored", func(t *testing.T) {
		w := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
		other := opened
		other.Station = "inflow-chao"
		w.Restore(other)
		if w.Open() != nil || !w.Last().IsZero() {
			t.Errorf("restored another station's alert: %+v, Last %v", w.Open(), w.Last())
		}
	})
}

// TestWatchOverdueRestoredIsTick: a watch that restores what Overdue
// decides goes through the same alerts as one that ticks, which is how
// servers sharing their alerts open silent alerts (see Overdue).
func TestWatchOverdueRestoredIsTick(t *testing.T) {
	ticked := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
	restored := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
	steps := []struct {
		name   string
		sample bool
		when   time.Time
	}{
		{"tick before any sample", false, at(-50)},
		{"tick when overdue from since", false, at(-30)},
		{"a sample clears it", true, at(0)},
		{"tick in time", false, at(10)},
		{"tick overdue again", false, at(20)},
		{"tick while open", false, at(30)},
		{"another sample", true, at(40)},
	}
	changes := 0
	for _, s := range steps {
		var want, got []sensors.Alert
		if s.sample {
			want, got = ticked.Observe(obs(s.when, tp002)), restored.Observe(obs(s.when, tp002))
		} else {
			want = ticked.Tick(s.when)
			if a, ok := restored.Overdue(s.when); ok {
				if again, _ := restored.Overdue(s.when); !reflect.DeepEqual(again, a) {
					t.Fatalf("%s: Overdue changed the watch", s.name)
				}
				restored.Restore(a)
				got = []sensors.Alert{a}
			}
		}
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(restored.Open(), ticked.Open()) || !restored.Last().Equal(ticked.Last()) {
			t.Fatalf("%s: restored %+v (open %+v), ticked %+v (open %+v)", s.name, got, restored.Open(), want, ticked.Open())
		}
		changes += len(want)
	}
	if changes != 4 || len(ticked.Open()) != 0 {
		t.Fatalf("%d changes, %d open at the end; the steps open and clear two silent alerts", changes, len(ticked.Open()))
	}
}

// TestWatchSetStateContinuesAlike: a watch given another's State goes on
// exactly as that one does, and shares nothing with it.
func TestWatchSetStateContinuesAlike(t *testing.T) {
	orig := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, at(-60))
	orig.Observe(obs(at(0), tp002))
	orig.Observe(obs(at(5), tp005))
	orig.Tick(at(40))
	copied := sensors.NewWatch(reservoirStation, sensors.AlertRules{}, time.Time{})
	copied.SetState(orig.State())
	st := copied.State()
	st.Exceed.Params[0] = "changed"
	if orig.State().Exceed.Params[0] == "changed" || copied.State().Exceed.Params[0] == "changed" {
		t.Fatal("a State shares its slices with the watch")
	}
	for _, s := range []struct {
		when time.Time
		v    vals
	}{{at(41), tp005}, {at(42), tp002}, {at(43), tp002}, {at(44), tp002}, {at(45), tp005}} {
		want, got := orig.Observe(obs(s.when, s.v)), copied.Observe(obs(s.when, s.v))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("at %v: copied %+v, original %+v", s.when, got, want)
		}
	}
	if !reflect.DeepEqual(copied.State(), orig.State()) || len(orig.Open()) != 1 {
		t.Fatalf("states differ at the end, or the steps leave no open alert: %+v", orig.State())
	}
}
