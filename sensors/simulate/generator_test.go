package simulate_test

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/sensors/simulate"
)

var shanghai = time.FixedZone("CST", 8*60*60)

// hours returns n instants one hour apart from start.
func hours(start time.Time, n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = start.Add(time.Duration(i) * time.Hour)
	}
	return out
}

func TestGeneratorDeterministic(t *testing.T) {
	sts := loadStations(t)
	times := hours(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 200)
	for _, st := range sts {
		t.Run(st.ID, func(t *testing.T) {
			a := simulate.NewGenerator(st, 42)
			b := simulate.NewGenerator(st, 42)
			other := simulate.NewGenerator(st, 43)
			differs := 0
			// b is asked in the reverse order: a sample depends on its
			// instant only, not on the calls before it.
			for i := len(times) - 1; i >= 0; i-- {
				tm := times[i]
				got, want := b.Sample(tm), a.Sample(tm)
				if !got.Time.Equal(want.Time) || !maps.Equal(got.Values, want.Values) {
					t.Fatalf("seed 42 at %v: %v, then %v", tm, want.Values, got.Values)
				}
				if !maps.Equal(other.Sample(tm).Values, want.Values) {
					differs++
				}
			}
			if differs < len(times)*9/10 {
				t.Errorf("seed 43 differs from seed 42 in %d of %d samples; want nearly all", differs, len(times))
			}
		})
	}
}

func TestStationsDiffer(t *testing.T) {
	sts := loadStations(t)
	tm := time.Date(2024, 6, 1, 12, 0, 0, 0, shanghai)
	seen := map[float64]string{}
	for _, st := range sts {
		v := simulate.NewGenerator(st, 1).Sample(tm).Values[sensors.ParamCODMn]
		if prev, dup := seen[v]; dup {
			t.Logf("%s and %s report the same CODMn %v", prev, st.ID, v)
		}
		seen[v] = st.ID
	}
	if len(seen) < len(sts)/2 {
		t.Errorf("only %d distinct CODMn values among %d stations", len(seen), len(sts))
	}
}

func TestSampleReportsTheStationsParams(t *testing.T) {
	for _, st := range loadStations(t) {
		t.Run(st.ID, func(t *testing.T) {
			tm := time.Date(2024, 8, 3, 9, 30, 0, 0, shanghai)
			s := simulate.NewGenerator(st, 7).Sample(tm)
			if !s.Time.Equal(tm) {
				t.Errorf("Time = %v, want %v", s.Time, tm)
			}
			got := slices.Sorted(maps.Keys(s.Values))
			want := slices.Sorted(slices.Values(st.Params))
			if !slices.Equal(got, want) {
				t.Errorf("params %v, want the station's %v", got, want)
			}
		})
	}
}

func TestSampleOtherParams(t *testing.T) {
	// A station may list parameters the shipped stations do not report.
	st := station(t, "inflow-chao")
	st.Params = []sensors.Param{sensors.ParamCOD, sensors.ParamBOD5, sensors.ParamFecalColiforms, sensors.ParamChlA}
	g := simulate.NewGenerator(st, 3)
	for _, tm := range hours(time.Date(2024, 1, 1, 0, 0, 0, 0, shanghai), 24*30) {
		s := g.Sample(tm)
		if len(s.Values) != 4 {
			t.Fatalf("%v: %d values, want 4", tm, len(s.Values))
		}
		if err := sensors.ValidateSample(s); err != nil {
			t.Fatal(err)
		}
		if s.Values[sensors.ParamCOD] <= 0 || s.Values[sensors.ParamFecalColiforms] <= 0 {
			t.Fatalf("%v: %v: want positive COD and coliforms", tm, s.Values)
		}
	}
}

// decimalsOf is the number of decimals each parameter is reported with.
var decimalsOf = map[sensors.Param]int{
	sensors.ParamPH: 2, sensors.ParamDO: 2, sensors.ParamCODMn: 3, sensors.ParamNH3N: 3,
	sensors.ParamTP: 3, sensors.ParamTN: 3, sensors.ParamTemp: 1, sensors.ParamConductivity: 1,
	sensors.ParamTurbidity: 2, sensors.ParamChlA: 1,
}

// TestYearValid checks a simulated year of every station at one-hour steps,
// with a rain event and spikes: every sample is valid and rounded as
// reported, and goes through both payload formats and the ingest's parser
// unchanged. The parser, which takes most of the time, sees every hour's
// sample, or every 7th under -short and -race (the race detector makes the
// whole year last minutes).
func TestYearValid(t *testing.T) {
	sts := loadStations(t)
	parser := &ingest.Parser{Stations: byID(sts)}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, shanghai)
	times := hours(start, 366*24)
	step := 1
	if testing.Short() || raceEnabled {
		step = 7 // prime to 24: every hour of the day is still parsed
	}
	for _, st := range sts {
		t.Run(st.ID, func(t *testing.T) {
			t.Parallel()
			g := simulate.NewGenerator(st, 2024)
			g.AddEvent(simulate.Event{Start: time.Date(2024, 7, 20, 14, 0, 0, 0, shanghai), Duration: 6 * time.Hour, Peak: 5})
			g.SetExceedanceEvery(100, time.Hour)
			topic := ingest.ReadingsTopic(st.ID)
			for i, tm := range times {
				s := g.Sample(tm)
				if err := sensors.ValidateSample(s); err != nil {
					t.Fatalf("%v: %v", tm, err)
				}
				for p, v := range s.Values {
					if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || (p == sensors.ParamPH && v > 14) {
						t.Fatalf("%v: %s = %v", tm, p, v)
					}
					str := strconv.FormatFloat(v, 'f', -1, 64)
					if _, frac, ok := strings.Cut(str, "."); ok && len(frac) > decimalsOf[p] {
						t.Fatalf("%v: %s = %s, more than %d decimals", tm, p, str, decimalsOf[p])
					}
				}
				if i%step != 0 {
					continue
				}
				for _, format := range []string{simulate.FormatJSON, simulate.FormatSenML} {
					payload, err := simulate.Encode(format, st.ID, s)
					if err != nil {
						t.Fatalf("Encode %s at %v: %v", format, tm, err)
					}
					rs, err := parser.Parse(topic, payload, tm)
					if err != nil {
						t.Fatalf("Parse %s at %v: %v\n%s", format, tm, err, payload)
					}
					if len(rs) != 1 || !rs[0].Sample.Time.Equal(tm) || !maps.Equal(rs[0].Sample.Values, s.Values) {
						t.Fatalf("%s at %v: parsed %+v, want %+v", format, tm, rs, s)
					}
				}
			}
		})
	}
}

// mean returns the mean of f over the days of a month.
func mean(year int, month time.Month, f func(day time.Time) float64) float64 {
	var sum float64
	n := 0
	for d := time.Date(year, month, 1, 0, 0, 0, 0, shanghai); d.Month() == month; d = d.AddDate(0, 0, 1) {
		sum += f(d)
		n++
	}
	return sum / float64(n)
}

func TestDiurnalCycles(t *testing.T) {
	at := func(g *simulate.Generator, day time.Time, hour int, p sensors.Param) float64 {
		return g.Sample(day.Add(time.Duration(hour) * time.Hour)).Values[p]
	}
	for _, c := range []struct {
		name    string
		station string
		month   time.Month
	}{
		{"reservoir in January", "res-dam", time.January},
		{"reservoir in April", "res-centre", time.April},
		{"reservoir in July", "res-east", time.July},
		{"reservoir in October", "res-bai-arm", time.October},
		{"river in January", "inflow-chao", time.January},
		{"river in July", "inflow-bai", time.July},
		{"tributary in July", "trib-andamu", time.July},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := simulate.NewGenerator(station(t, c.station), 11)
			for _, p := range []sensors.Param{sensors.ParamTemp, sensors.ParamDO, sensors.ParamPH} {
				afternoon := mean(2024, c.month, func(d time.Time) float64 { return at(g, d, 15, p) })
				dawn := mean(2024, c.month, func(d time.Time) float64 { return at(g, d, 5, p) })
				if afternoon <= dawn {
					t.Errorf("%s: mean at 15:00 %.3f, not above the mean at 05:00 %.3f", p, afternoon, dawn)
				}
			}
		})
	}
}

func TestSeasons(t *testing.T) {
	for _, c := range []struct {
		name             string
		month            time.Month
		tempMin, tempMax float64
		doMin, doMax     float64
	}{
		{"January", time.January, 2, 6, 9.5, 11.5},
		{"late July", time.July, 24, 28, 6.5, 8.5},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, id := range []string{"res-dam", "res-north-bay"} {
				g := simulate.NewGenerator(station(t, id), 5)
				var temp, do float64
				var n float64
				first := time.Date(2024, c.month, 1, 0, 0, 0, 0, shanghai)
				if c.month == time.July {
					first = time.Date(2024, 7, 17, 0, 0, 0, 0, shanghai)
				}
				for _, tm := range hours(first, 14*24) {
					s := g.Sample(tm)
					temp += s.Values[sensors.ParamTemp]
					do += s.Values[sensors.ParamDO]
					n++
				}
				temp, do = temp/n, do/n
				if temp < c.tempMin || temp > c.tempMax {
					t.Errorf("%s: mean temperature %.1f °C, want %v to %v", id, temp, c.tempMin, c.tempMax)
				}
				if do < c.doMin || do > c.doMax {
					t.Errorf("%s: mean dissolved oxygen %.2f mg/L, want %v to %v", id, do, c.doMin, c.doMax)
				}
			}
		})
	}
}

// yearResults classifies a year of hourly samples of st.
func yearResults(st sensors.Station, g *simulate.Generator) []sensors.Result {
	var out []sensors.Result
	for _, tm := range hours(time.Date(2024, 1, 1, 0, 0, 0, 0, shanghai), 366*24) {
		out = append(out, sensors.ClassifySample(st, g.Sample(tm)))
	}
	return out
}

func TestRoutineSamplesMeetTheTarget(t *testing.T) {
	for _, st := range loadStations(t) {
		t.Run(st.ID, func(t *testing.T) {
			rs := yearResults(st, simulate.NewGenerator(st, 99))
			meet := 0
			for _, r := range rs {
				if err := r.Err(); err != nil {
					t.Fatal(err)
				}
				if !r.Exceeds && !r.Assessment.Worse(st.TargetClass) {
					meet++
				}
				for _, p := range r.Params {
					switch {
					case p.Param == sensors.ParamDO && p.Value < 6:
						t.Fatalf("%v: dissolved oxygen %v mg/L, below Class II without any event", r.Time, p.Value)
					case p.Param == sensors.ParamPH && (p.Value < 7.5 || p.Value > 8.7):
						t.Fatalf("%v: pH %v, outside 7.5 to 8.7", r.Time, p.Value)
					}
				}
			}
			if share := float64(meet) / float64(len(rs)); share < 0.95 {
				t.Errorf("%.1f%% of the samples meet Class %s; want at least 95%%", 100*share, st.TargetClass)
			}
		})
	}
	// The baseline of the reservoir matches the brief: TN worse than
	// Class II (not assessed), the rest within it.
	st := station(t, "res-centre")
	var tn, tp float64
	rs := yearResults(st, simulate.NewGenerator(st, 99))
	for _, r := range rs {
		for _, p := range r.Params {
			switch p.Param {
			case sensors.ParamTN:
				tn += p.Value
			case sensors.ParamTP:
				tp += p.Value
			}
		}
	}
	if m := tn / float64(len(rs)); m < 0.6 || m > 1.1 {
		t.Errorf("mean TN %.3f mg/L, want 0.6 to 1.1", m)
	}
	if m := tp / float64(len(rs)); m < 0.012 || m > 0.02 {
		t.Errorf("mean TP %.4f mg/L, want 0.012 to 0.02", m)
	}
}

func TestRainEvent(t *testing.T) {
	rainStart := time.Date(2024, 7, 20, 14, 0, 0, 0, shanghai)
	rain := simulate.Event{Start: rainStart, Duration: 6 * time.Hour, Peak: 3}
	for _, c := range []struct {
		name    string
		station string
		event   simulate.Event
		// reached: the event changes the station's samples.
		reached bool
	}{
		{"river stations by default: Chao inflow", "inflow-chao", rain, true},
		{"river stations by default: Bai inflow", "inflow-bai", rain, true},
		{"river stations by default: not the reservoir", "res-dam", rain, false},
		{"listed stations only: the reservoir", "res-chao-arm", withStations(rain, "res-chao-arm"), true},
		{"listed stations only: not a river left out", "inflow-bai", withStations(rain, "res-chao-arm"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := station(t, c.station)
			dry := simulate.NewGenerator(st, 8)
			wet := simulate.NewGenerator(st, 8)
			wet.AddEvent(c.event)
			tpLimit := classIILimit(t, st, sensors.ParamTP)
			var exceeding, changed int
			var peakTP, peakTurb float64
			for _, tm := range hours(rainStart.Add(-24*time.Hour), 6*24) {
				d, w := dry.Sample(tm), wet.Sample(tm)
				if !maps.Equal(d.Values, w.Values) {
					changed++
					if tm.Before(rainStart) {
						t.Fatalf("%v: changed before the rain", tm)
					}
				}
				if tm.Sub(rainStart) > 4*24*time.Hour && !maps.Equal(d.Values, w.Values) &&
					math.Abs(w.Values[sensors.ParamTP]-d.Values[sensors.ParamTP]) > 0.0015 {
					t.Errorf("%v: TP %v four days after the rain, %v without it: no decay",
						tm, w.Values[sensors.ParamTP], d.Values[sensors.ParamTP])
				}
				if sensors.ClassifySample(st, w).Exceeds {
					exceeding++
				}
				peakTP = max(peakTP, w.Values[sensors.ParamTP])
				peakTurb = max(peakTurb, w.Values[sensors.ParamTurbidity]/d.Values[sensors.ParamTurbidity])
			}
			if !c.reached {
				if changed != 0 || exceeding != 0 {
					t.Errorf("the event reached %s: %d samples changed, %d exceed", c.station, changed, exceeding)
				}
				return
			}
			if exceeding == 0 || peakTP <= tpLimit {
				t.Errorf("no exceedance: peak TP %v mg/L against the Class II limit %v", peakTP, tpLimit)
			}
			if peakTurb < 4 {
				t.Errorf("turbidity rose %.1f times at most; want several", peakTurb)
			}
		})
	}
}

func withStations(e simulate.Event, ids ...string) simulate.Event {
	e.Stations = ids
	return e
}

// classIILimit is the upper Class II limit of p at st.
func classIILimit(t testing.TB, st sensors.Station, p sensors.Param) float64 {
	t.Helper()
	lim, ok := sensors.LimitFor(st.WaterBody, p)
	if !ok {
		t.Fatalf("no limit for %s in a %s", p, st.WaterBody)
	}
	return lim.Classes[sensors.ClassII-1].Max
}

func TestInvalidEventsHaveNoEffect(t *testing.T) {
	start := time.Date(2024, 7, 20, 0, 0, 0, 0, shanghai)
	for _, c := range []struct {
		name string
		e    simulate.Event
	}{
		{"no start", simulate.Event{Duration: time.Hour, Peak: 3}},
		{"zero duration", simulate.Event{Start: start, Peak: 3}},
		{"negative duration", simulate.Event{Start: start, Duration: -time.Hour, Peak: 3}},
		{"peak below 1", simulate.Event{Start: start, Duration: time.Hour, Peak: 0.5}},
		{"peak NaN", simulate.Event{Start: start, Duration: time.Hour, Peak: math.NaN()}},
		{"peak infinite", simulate.Event{Start: start, Duration: time.Hour, Peak: math.Inf(1)}},
		{"peak 1", simulate.Event{Start: start, Duration: time.Hour, Peak: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := station(t, "inflow-chao")
			plain, with := simulate.NewGenerator(st, 1), simulate.NewGenerator(st, 1)
			with.AddEvent(c.e)
			for _, tm := range hours(start, 48) {
				if a, b := plain.Sample(tm), with.Sample(tm); !maps.Equal(a.Values, b.Values) {
					t.Fatalf("%v: %v, with the event %v", tm, a.Values, b.Values)
				}
			}
		})
	}
}

func TestExceedanceEvery(t *testing.T) {
	const interval = 5 * time.Minute
	for _, c := range []struct {
		name    string
		station string
		every   int
	}{
		{"reservoir, once an hour", "res-dam", 12},
		{"reservoir, once a day", "res-west", 288},
		{"river, once in 7", "inflow-bai", 7},
		{"tributary of target III, once an hour", "trib-qingshui", 12},
		{"every sample", "res-east", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := station(t, c.station)
			// Runs of every slots are aligned on the Unix epoch.
			run := int64(c.every) * int64(interval)
			start := time.Unix(0, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano()/run*run)
			plain := simulate.NewGenerator(st, 21)
			g := simulate.NewGenerator(st, 21)
			g.SetExceedanceEvery(c.every, interval)
			runs := 20
			var picks []int
			for run := range runs {
				spiked := 0
				for k := range c.every {
					tm := start.Add(time.Duration(run*c.every+k) * interval)
					s, base := g.Sample(tm), plain.Sample(tm)
					if maps.Equal(s.Values, base.Values) {
						continue
					}
					spiked++
					picks = append(picks, k)
					r := sensors.ClassifySample(st, s)
					if !r.Exceeds {
						t.Errorf("%v: spiked sample %v does not exceed Class %s", tm, s.Values, st.TargetClass)
					}
					var diff []sensors.Param
					for p, v := range s.Values {
						if v != base.Values[p] {
							diff = append(diff, p)
						}
					}
					if len(diff) != 1 || (diff[0] != sensors.ParamNH3N && diff[0] != sensors.ParamTP) {
						t.Errorf("%v: spiked %v; want NH3-N or TP alone", tm, diff)
					}
				}
				if spiked != 1 {
					t.Fatalf("run %d: %d spiked samples in %d; want exactly 1", run, spiked, c.every)
				}
			}
			if c.every >= 7 && len(slices.Compact(slices.Sorted(slices.Values(picks)))) < 3 {
				t.Errorf("the spikes always fall on the same slots of a run: %v", picks)
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		st := station(t, "res-dam")
		start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
		plain, g := simulate.NewGenerator(st, 21), simulate.NewGenerator(st, 21)
		g.SetExceedanceEvery(3, interval)
		g.SetExceedanceEvery(0, interval)
		for i := range 30 {
			tm := start.Add(time.Duration(i) * interval)
			if !maps.Equal(plain.Sample(tm).Values, g.Sample(tm).Values) {
				t.Fatalf("%v: a spike after SetExceedanceEvery(0, ...)", tm)
			}
		}
	})
}
