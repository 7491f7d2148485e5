package sensors_test

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
)

func TestStats(t *testing.T) {
	tests := []struct {
		name     string
		a, b     []float64
		want     sensors.Stats
		wantMean float64
	}{
		{"empty", nil, nil, sensors.Stats{}, 0},
		{"one value", []float64{2.5}, nil, sensors.Stats{Count: 1, Min: 2.5, Max: 2.5, Sum: 2.5}, 2.5},
		{"negative values", []float64{-3, -1}, nil, sensors.Stats{Count: 2, Min: -3, Max: -1, Sum: -4}, -2},
		{"merge into empty", nil, []float64{4, 1}, sensors.Stats{Count: 2, Min: 1, Max: 4, Sum: 5}, 2.5},
		{"merge empty", []float64{4, 1}, nil, sensors.Stats{Count: 2, Min: 1, Max: 4, Sum: 5}, 2.5},
		{"merge widens both ends", []float64{3, 5}, []float64{1, 8, 4}, sensors.Stats{Count: 5, Min: 1, Max: 8, Sum: 21}, 4.2},
		{"merge inside", []float64{0, 10}, []float64{4, 6}, sensors.Stats{Count: 4, Min: 0, Max: 10, Sum: 20}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a, b sensors.Stats
			for _, v := range tc.a {
				a.Add(v)
			}
			for _, v := range tc.b {
				b.Add(v)
			}
			a.Merge(b)
			if a != tc.want {
				t.Errorf("Stats = %+v, want %+v", a, tc.want)
			}
			if got := a.Mean(); math.Abs(got-tc.wantMean) > 1e-12 {
				t.Errorf("Mean() = %v, want %v", got, tc.wantMean)
			}
		})
	}
}

func TestShanghai(t *testing.T) {
	loc := sensors.Shanghai()
	for _, ts := range []time.Time{
		time.Date(1995, 7, 1, 0, 0, 0, 0, time.UTC), // summer, after the last DST in 1991
		time.Date(2020, 1, 15, 0, 0, 0, 0, time.UTC),
		time.Date(2020, 7, 4, 15, 59, 59, 0, time.UTC),
	} {
		if _, off := ts.In(loc).Zone(); off != 8*60*60 {
			t.Errorf("offset at %v = %d s, want 28800", ts, off)
		}
	}
}

func TestDayOf(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"last second before shanghai midnight", time.Date(2020, 7, 4, 15, 59, 59, 0, time.UTC), "2020-07-04"},
		{"last nanosecond before shanghai midnight", time.Date(2020, 7, 4, 15, 59, 59, 999999999, time.UTC), "2020-07-04"},
		{"shanghai midnight", time.Date(2020, 7, 4, 16, 0, 0, 0, time.UTC), "2020-07-05"},
		{"UTC midnight is 08:00 in shanghai", time.Date(2020, 7, 5, 0, 0, 0, 0, time.UTC), "2020-07-05"},
		{"given in another zone", time.Date(2020, 12, 31, 12, 0, 0, 0, time.FixedZone("EST", -5*3600)), "2021-01-01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sensors.DayOf(tc.t); got != tc.want {
				t.Errorf("DayOf(%v) = %s, want %s", tc.t, got, tc.want)
			}
		})
	}
}

// summarize adds the samples of values, an hour apart from start, to a
// summary of the reservoir station.
func summarize(start time.Time, values ...vals) sensors.DaySummary {
	var d sensors.DaySummary
	for i, v := range values {
		s := sensors.Sample{Time: start.Add(time.Duration(i) * time.Hour), Values: v}
		d.Add(s, sensors.ClassifySample(reservoirStation, s))
	}
	return d
}

// day returns 00:00 of the Shanghai day 2020-07-dd.
func day(dd int) time.Time { return time.Date(2020, 7, dd, 0, 0, 0, 0, cst) }

func TestDaySummaryAdd(t *testing.T) {
	d := summarize(day(4).Add(time.Hour),
		vals{"tp_mg_l": 0.02, "temp_c": 20},  // II, compliant
		vals{"tp_mg_l": 0.04, "temp_c": 24},  // III, exceeds
		vals{"temp_c": 22},                   // no assessment class
		vals{"tp_mg_l": -0.01, "temp_c": 99}, // invalid: ignored
	)
	// A sample of the next day is ignored.
	next := sensors.Sample{Time: day(5), Values: vals{"tp_mg_l": 0.01}}
	d.Add(next, sensors.ClassifySample(reservoirStation, next))

	if d.Day != "2020-07-04" || d.Samples != 3 || d.Assessed != 2 || d.Compliant != 1 {
		t.Errorf("Day, Samples, Assessed, Compliant = %s, %d, %d, %d; want 2020-07-04, 3, 2, 1",
			d.Day, d.Samples, d.Assessed, d.Compliant)
	}
	if got, want := *d.Params["temp_c"], (sensors.Stats{Count: 3, Min: 20, Max: 24, Sum: 66}); got != want {
		t.Errorf("temp_c stats = %+v, want %+v", got, want)
	}
	tp := *d.Params["tp_mg_l"]
	if tp.Count != 2 || tp.Min != 0.02 || tp.Max != 0.04 || math.Abs(tp.Sum-0.06) > 1e-12 {
		t.Errorf("tp_mg_l stats = %+v, want 2 values 0.02 to 0.04, sum 0.06", tp)
	}
	if len(d.Params) != 2 {
		t.Errorf("Params has %d entries, want 2 (tp_mg_l, temp_c)", len(d.Params))
	}
}

func TestDayResult(t *testing.T) {
	tests := []struct {
		name       string
		values     []vals
		wantClass  sensors.Class
		wantExceed bool
		wantTP     float64
	}{
		{"0.02 and 0.04 average 0.03: class III", []vals{{"tp_mg_l": 0.02}, {"tp_mg_l": 0.04}}, cIII, true, 0.03},
		{"0.01 and 0.03 average 0.02: class II", []vals{{"tp_mg_l": 0.01}, {"tp_mg_l": 0.03}}, cII, false, 0.02},
		{"one class IV sample among class I: mean 0.04 is III",
			[]vals{{"tp_mg_l": 0.01}, {"tp_mg_l": 0.01}, {"tp_mg_l": 0.1}}, cIII, true, 0.04},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := summarize(day(4).Add(time.Hour), tc.values...)
			r := d.DayResult(reservoirStation)
			if err := r.Err(); err != nil {
				t.Fatalf("DayResult invalid: %v", err)
			}
			if r.Assessment != tc.wantClass || r.Exceeds != tc.wantExceed {
				t.Errorf("Assessment, Exceeds = %s, %v; want %s, %v", r.Assessment, r.Exceeds, tc.wantClass, tc.wantExceed)
			}
			if want := time.Date(2020, 7, 4, 4, 0, 0, 0, time.UTC); !r.Time.Equal(want) {
				t.Errorf("Time = %v, want noon in Shanghai, %v", r.Time, want)
			}
			if len(r.Params) != 1 || math.Abs(r.Params[0].Value-tc.wantTP) > 1e-12 {
				t.Errorf("Params = %+v, want tp_mg_l %v", r.Params, tc.wantTP)
			}
		})
	}
	if r := (sensors.DaySummary{}).DayResult(reservoirStation); r.Err() == nil {
		t.Errorf("an empty summary gives a valid result: %+v", r)
	}
}

func TestQuality(t *testing.T) {
	days := []sensors.DaySummary{
		// 07-07: only temperature, no class.
		summarize(day(7).Add(9*time.Hour), vals{"temp_c": 20}),
		// 07-03: before the range.
		summarize(day(3).Add(time.Hour), vals{"tp_mg_l": 0.01}, vals{"tp_mg_l": 0.01}),
		// 07-05: 0.01 (I), 0.02 (II), 0.03 (III): 2 of 3 compliant, mean 0.02 is II.
		summarize(day(5).Add(time.Hour), vals{"tp_mg_l": 0.01}, vals{"tp_mg_l": 0.02}, vals{"tp_mg_l": 0.03}),
		// 07-04: 0.02 (II), 0.04 (III): 1 of 2 compliant, mean 0.03 is III.
		summarize(day(4).Add(time.Hour), vals{"tp_mg_l": 0.02}, vals{"tp_mg_l": 0.04}),
		// 07-06: no samples.
		{Day: "2020-07-06"},
		// 07-08: starts at the end of the range.
		summarize(day(8), vals{"tp_mg_l": 0.3}),
	}
	want := sensors.QualityReport{
		Station: "res-dam", Target: cII, From: day(4), To: day(8),
		Days: []sensors.DayQuality{
			{Day: "2020-07-04", Samples: 2, Class: cIII, Compliant: false, Worst: []sensors.Param{"tp_mg_l"},
				Means: map[sensors.Param]float64{"tp_mg_l": 0.03}},
			{Day: "2020-07-05", Samples: 3, Class: cII, Compliant: true, Worst: []sensors.Param{"tp_mg_l"},
				Means: map[sensors.Param]float64{"tp_mg_l": 0.02}},
			{Day: "2020-07-07", Samples: 1, Means: map[sensors.Param]float64{"temp_c": 20}},
		},
		Samples: 6, SamplesCompliant: 3, SampleShare: 0.6, // 3 of the 5 assessed samples
		DaysWithData: 3, DaysCompliant: 1, DayShare: 0.5, // 1 of the 2 days with a class
	}
	got := sensors.Quality(reservoirStation, days, day(4), day(8))
	checkQuality(t, got, want)

	t.Run("range starting after midnight leaves the day out", func(t *testing.T) {
		got := sensors.Quality(reservoirStation, days, day(4).Add(time.Second), day(6))
		w := sensors.QualityReport{Station: "res-dam", Target: cII, From: day(4).Add(time.Second), To: day(6),
			Days: want.Days[1:2], Samples: 3, SamplesCompliant: 2, SampleShare: 2.0 / 3,
			DaysWithData: 1, DaysCompliant: 1, DayShare: 1}
		checkQuality(t, got, w)
	})
	t.Run("two summaries of one day are merged", func(t *testing.T) {
		parts := []sensors.DaySummary{
			summarize(day(4).Add(time.Hour), vals{"tp_mg_l": 0.01}),
			summarize(day(4).Add(2*time.Hour), vals{"tp_mg_l": 0.05}), // mean 0.03: III
		}
		got := sensors.Quality(reservoirStation, parts, day(4), day(5))
		w := sensors.QualityReport{Station: "res-dam", Target: cII, From: day(4), To: day(5),
			Days: []sensors.DayQuality{{Day: "2020-07-04", Samples: 2, Class: cIII, Worst: []sensors.Param{"tp_mg_l"},
				Means: map[sensors.Param]float64{"tp_mg_l": 0.03}}},
			Samples: 2, SamplesCompliant: 1, SampleShare: 0.5, DaysWithData: 1}
		checkQuality(t, got, w)
	})
	t.Run("no data", func(t *testing.T) {
		got := sensors.Quality(reservoirStation, nil, day(4), day(8))
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		const wantJSON = `{"station":"res-dam","target_class":"II","from":"2020-07-04T00:00:00+08:00","to":"2020-07-08T00:00:00+08:00",` +
			`"days":[],"samples":0,"samples_compliant":0,"sample_share":0,"days_with_data":0,"days_compliant":0,"day_share":0}`
		if string(b) != wantJSON {
			t.Errorf("JSON\n got %s\nwant %s", b, wantJSON)
		}
	})
}

// checkQuality compares two reports, the means to within rounding.
func checkQuality(t *testing.T, got, want sensors.QualityReport) {
	t.Helper()
	if len(got.Days) != len(want.Days) {
		t.Fatalf("Days = %+v, want %+v", got.Days, want.Days)
	}
	for i := range got.Days {
		g, w := got.Days[i], want.Days[i]
		if len(g.Means) != len(w.Means) {
			t.Errorf("day %s means %v, want %v", g.Day, g.Means, w.Means)
		}
		for p, v := range w.Means {
			if m, ok := g.Means[p]; !ok || math.Abs(m-v) > 1e-12 {
				t.Errorf("day %s mean of %s = %v, want %v", g.Day, p, m, v)
			}
		}
		g.Means, w.Means = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("day %d\n got %+v\nwant %+v", i, g, w)
		}
	}
	got.Days, want.Days = nil, nil
	if math.Abs(got.SampleShare-want.SampleShare) > 1e-12 || math.Abs(got.DayShare-want.DayShare) > 1e-12 {
		t.Errorf("shares = %v, %v; want %v, %v", got.SampleShare, got.DayShare, want.SampleShare, want.DayShare)
	}
	got.SampleShare, want.SampleShare, got.DayShare, want.DayShare = 0, 0, 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report\n got %+v\nwant %+v", got, want)
	}
}

func TestStepFor(t *testing.T) {
	base := time.Date(2020, 7, 4, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		span time.Duration
		max  int
		want time.Duration
	}{
		{"1h in 60: minutes exactly fit", time.Hour, 60, time.Minute},
		{"1h in 59: 5 minutes", time.Hour, 59, 5 * time.Minute},
		{"1h and 1ns in 60: 61 minutes do not fit", time.Hour + 1, 60, 5 * time.Minute},
		{"1h in 12: 5 minutes exactly fit", time.Hour, 12, 5 * time.Minute},
		{"1h in 11: 15 minutes", time.Hour, 11, 15 * time.Minute},
		{"1d in 100: 15 minutes (96)", 24 * time.Hour, 100, 15 * time.Minute},
		{"1d in 95: 30 minutes (48)", 24 * time.Hour, 95, 30 * time.Minute},
		{"30d in 30: 1 day", 30 * 24 * time.Hour, 30, 24 * time.Hour},
		{"30d in 29: 1 week (5)", 30 * 24 * time.Hour, 29, 7 * 24 * time.Hour},
		{"1y in 10: nothing fits, the largest", 365 * 24 * time.Hour, 10, 7 * 24 * time.Hour},
		{"1y in 0: the largest", 365 * 24 * time.Hour, 0, 7 * 24 * time.Hour},
		{"empty range: the smallest", 0, 10, time.Minute},
		{"reversed range: the smallest", -time.Hour, 10, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sensors.StepFor(base, base.Add(tc.span), tc.max); got != tc.want {
				t.Errorf("StepFor(%v, %d) = %v, want %v", tc.span, tc.max, got, tc.want)
			}
		})
	}
}

func TestDownsample(t *testing.T) {
	from := time.Date(2020, 7, 4, 0, 0, 0, 0, time.UTC)
	m := func(min float64) time.Time { return from.Add(time.Duration(min * float64(time.Minute))) }
	tests := []struct {
		name   string
		points []sensors.Point
		from   time.Time
		to     time.Time
		step   time.Duration
		want   []sensors.Bucket
	}{
		{"empty bucket omitted, before from and at to excluded",
			[]sensors.Point{{m(-1), 50}, {m(0), 1}, {m(5), 3}, {m(20), 10}, {m(30), 100}},
			m(0), m(30), 10 * time.Minute,
			[]sensors.Bucket{{Start: m(0), Count: 2, Min: 1, Max: 3, Mean: 2}, {Start: m(20), Count: 1, Min: 10, Max: 10, Mean: 10}}},
		{"a point at a bucket start belongs to it",
			[]sensors.Point{{m(9.999), 2}, {m(10), 4}, {m(19), 8}},
			m(0), m(30), 10 * time.Minute,
			[]sensors.Bucket{{Start: m(0), Count: 1, Min: 2, Max: 2, Mean: 2}, {Start: m(10), Count: 2, Min: 4, Max: 8, Mean: 6}}},
		{"buckets aligned to from, not to the clock",
			[]sensors.Point{{m(3), 1}, {m(12.9), 3}, {m(13), 5}, {m(22.9), 7}},
			m(3), m(25), 10 * time.Minute,
			[]sensors.Bucket{{Start: m(3), Count: 2, Min: 1, Max: 3, Mean: 2}, {Start: m(13), Count: 2, Min: 5, Max: 7, Mean: 6}}},
		{"last partial bucket",
			[]sensors.Point{{m(24), 1}, {m(25), 9}},
			m(0), m(25), 10 * time.Minute,
			[]sensors.Bucket{{Start: m(20), Count: 1, Min: 1, Max: 1, Mean: 1}}},
		{"unsorted points, non-finite values skipped",
			[]sensors.Point{{m(15), 6}, {m(2), 1}, {m(11), math.NaN()}, {m(12), 2}, {m(3), math.Inf(1)}},
			m(0), m(30), 10 * time.Minute,
			[]sensors.Bucket{{Start: m(0), Count: 1, Min: 1, Max: 1, Mean: 1}, {Start: m(10), Count: 2, Min: 2, Max: 6, Mean: 4}}},
		{"no points", nil, m(0), m(30), 10 * time.Minute, nil},
		{"zero step", []sensors.Point{{m(1), 1}}, m(0), m(30), 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.points)
			got := sensors.Downsample(tc.points, tc.from, tc.to, tc.step)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Downsample\n got %+v\nwant %+v", got, tc.want)
			}
			for i := range in {
				if !in[i].T.Equal(tc.points[i].T) {
					t.Fatalf("Downsample reordered its input")
				}
			}
		})
	}
}
