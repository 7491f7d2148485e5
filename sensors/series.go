package sensors

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Stats accumulates one parameter's values: how many, the smallest, the
// largest and their sum. The zero value is empty and ready to use.
type Stats struct {
	Count    int
	Min, Max float64
	Sum      float64
}

// Add accumulates v, which should be finite (a valid sample's values are).
func (s *Stats) Add(v float64) {
	if s.Count == 0 || v < s.Min {
		s.Min = v
	}
	if s.Count == 0 || v > s.Max {
		s.Max = v
	}
	s.Count++
	s.Sum += v
}

// Merge accumulates every value o accumulated, as if each had been added
// to s. Merging an empty Stats changes nothing.
func (s *Stats) Merge(o Stats) {
	if o.Count == 0 {
		return
	}
	if s.Count == 0 {
		*s = o
		return
	}
	s.Min = math.Min(s.Min, o.Min)
	s.Max = math.Max(s.Max, o.Max)
	s.Count += o.Count
	s.Sum += o.Sum
}

// Mean returns the mean of the values, and 0 (not NaN) for an empty Stats:
// callers check Count.
func (s Stats) Mean() float64 {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / float64(s.Count)
}

// dayLayout is the layout of a day, as DayOf writes it.
const dayLayout = "2006-01-02"

// shanghai is the time zone of the station days.
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}()

// Shanghai returns the time zone of Asia/Shanghai (China Standard Time),
// in which Baoshui's days begin and end. When the system has no time zone
// database it is a fixed UTC+8, which is the same for every instant since
// 1991, when China last observed daylight saving time.
func Shanghai() *time.Location { return shanghai }

// DayOf returns the day of t in Asia/Shanghai, as "2006-01-02".
func DayOf(t time.Time) string { return t.In(shanghai).Format(dayLayout) }

// dayStart returns the instant the Asia/Shanghai day day ("2006-01-02")
// begins, and false when day is not such a day.
func dayStart(day string) (time.Time, bool) {
	t, err := time.ParseInLocation(dayLayout, day, shanghai)
	return t, err == nil
}

// DaySummary is a station's day (Asia/Shanghai) of readings. The zero
// value is an empty summary whose day is set by the first sample added.
type DaySummary struct {
	// Day is the day, "2006-01-02" in Asia/Shanghai.
	Day string
	// Samples counts the valid samples of the day.
	Samples int
	// Compliant counts the samples whose assessment class is at or better
	// than the target: Assessment is not ClassNone and Exceeds is false.
	Compliant int
	// Assessed counts the samples with an assessment class (Assessment is
	// not ClassNone).
	Assessed int
	// Params accumulates the values of each parameter the samples report,
	// classified or not.
	Params map[Param]*Stats
}

// Add counts sample s, whose classification is r (see ClassifySample), in
// the summary. The first sample added to a summary without a Day sets it to
// the sample's day. An invalid sample (r.Invalid not empty) and a sample of
// another day are ignored.
func (d *DaySummary) Add(s Sample, r Result) {
	if len(r.Invalid) > 0 || s.Time.IsZero() {
		return
	}
	day := DayOf(s.Time)
	if d.Day == "" {
		d.Day = day
	} else if d.Day != day {
		return
	}
	d.Samples++
	if r.Assessment != ClassNone {
		d.Assessed++
		if !r.Exceeds {
			d.Compliant++
		}
	}
	for p, v := range s.Values {
		d.stats(p).Add(v)
	}
}

// stats returns the accumulator of p, making it if needed.
func (d *DaySummary) stats(p Param) *Stats {
	if d.Params == nil {
		d.Params = map[Param]*Stats{}
	}
	st := d.Params[p]
	if st == nil {
		st = &Stats{}
		d.Params[p] = st
	}
	return st
}

// merge accumulates o, a summary of the same day, in d.
func (d *DaySummary) merge(o DaySummary) {
	d.Samples += o.Samples
	d.Compliant += o.Compliant
	d.Assessed += o.Assessed
	for p, st := range o.Params {
		if st != nil {
			d.stats(p).Merge(*st)
		}
	}
}

// means returns the mean of each parameter with at least one value.
func (d DaySummary) means() map[Param]float64 {
	out := make(map[Param]float64, len(d.Params))
	for p, st := range d.Params {
		if st != nil && st.Count > 0 {
			out[p] = st.Mean()
		}
	}
	return out
}

// DayResult classifies the day's mean of each parameter, as GB 3838-2002
// evaluates mean concentrations: it returns ClassifySample(st, s) for the
// sample s taken at noon of the day (Asia/Shanghai) with the means as its
// values. A summary without values, or with a Day that is not a day, gives
// an invalid result (see Result.Invalid).
func (d DaySummary) DayResult(st Station) Result {
	var at time.Time
	if t, ok := dayStart(d.Day); ok {
		at = t.Add(12 * time.Hour)
	}
	return ClassifySample(st, Sample{Time: at, Values: d.means()})
}

// DayQuality is the quality of one day of a station: the class of the
// day's mean values.
type DayQuality struct {
	// Day is the day, "2006-01-02" in Asia/Shanghai.
	Day string `json:"day"`
	// Samples counts the day's valid samples.
	Samples int `json:"samples"`
	// Class is the assessment class of the day's means (see
	// DaySummary.DayResult), ClassNone when none of them is assessed.
	Class Class `json:"class,omitempty"`
	// Compliant reports whether Class is at or better than the target.
	Compliant bool `json:"compliant"`
	// Worst are the assessed parameters whose class equals Class, in the
	// order of Params.
	Worst []Param `json:"worst,omitempty"`
	// Means is the mean of each parameter reported that day.
	Means map[Param]float64 `json:"means"`
}

// QualityReport is the compliance of one station over a range of days.
type QualityReport struct {
	Station string `json:"station"`
	Target  Class  `json:"target_class"`
	// From and To are the range asked for, [From, To).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Days are the days of the range with at least one sample, in order.
	Days []DayQuality `json:"days"`
	// Samples counts the valid samples of Days and SamplesCompliant those
	// at or better than the target; SampleShare is SamplesCompliant over
	// the samples with an assessment class, 0 when there is none.
	Samples          int     `json:"samples"`
	SamplesCompliant int     `json:"samples_compliant"`
	SampleShare      float64 `json:"sample_share"`
	// DaysWithData is the number of Days and DaysCompliant of those that
	// are compliant; DayShare is DaysCompliant over the days with an
	// assessment class, 0 when there is none.
	DaysWithData  int     `json:"days_with_data"`
	DaysCompliant int     `json:"days_compliant"`
	DayShare      float64 `json:"day_share"`
}

// Quality reports the compliance of station st over the Asia/Shanghai days
// that begin in [from, to), from the summaries days, given in any order.
// Summaries of days outside the range, without samples or with a Day that is
// not a day are left out; two summaries of the same day are merged. Each day
// is classified by its mean values (see DaySummary.DayResult) against the
// station's current target class.
func Quality(st Station, days []DaySummary, from, to time.Time) QualityReport {
	rep := QualityReport{Station: st.ID, Target: st.TargetClass, From: from, To: to, Days: []DayQuality{}}
	byDay := map[string]*DaySummary{}
	for _, d := range days {
		start, ok := dayStart(d.Day)
		if !ok || d.Samples <= 0 || start.Before(from) || !start.Before(to) {
			continue
		}
		m := byDay[d.Day]
		if m == nil {
			m = &DaySummary{Day: d.Day}
			byDay[d.Day] = m
		}
		m.merge(d)
	}
	keys := make([]string, 0, len(byDay))
	for k := range byDay {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	assessed, daysAssessed := 0, 0
	for _, k := range keys {
		d := byDay[k]
		r := d.DayResult(st)
		q := DayQuality{Day: d.Day, Samples: d.Samples, Class: r.Assessment,
			Compliant: r.Assessment != ClassNone && !r.Exceeds,
			Worst:     r.WorstAssessed, Means: d.means()}
		rep.Days = append(rep.Days, q)
		rep.Samples += d.Samples
		rep.SamplesCompliant += d.Compliant
		assessed += d.Assessed
		if q.Class != ClassNone {
			daysAssessed++
		}
		if q.Compliant {
			rep.DaysCompliant++
		}
	}
	rep.DaysWithData = len(rep.Days)
	if assessed > 0 {
		rep.SampleShare = float64(rep.SamplesCompliant) / float64(assessed)
	}
	if daysAssessed > 0 {
		rep.DayShare = float64(rep.DaysCompliant) / float64(daysAssessed)
	}
	return rep
}

// Point is one value of a series at an instant.
type Point struct {
	T time.Time
	V float64
}

// Bucket summarizes the points of one step of a downsampled series: those
// at or after Start and before Start plus the step.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int       `json:"count"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Mean  float64   `json:"mean"`
}

// Steps are the bucket widths Downsample is meant to use, from the finest.
var Steps = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour,
}

// StepFor returns the smallest step of Steps that divides [from, to) into
// at most maxBuckets buckets (the last one may be partial), or the largest
// step when none does. When to is not after from, there are no buckets and
// it returns the smallest step.
func StepFor(from, to time.Time, maxBuckets int) time.Duration {
	span := to.Sub(from)
	for _, step := range Steps {
		if buckets(span, step) <= int64(maxBuckets) {
			return step
		}
	}
	return Steps[len(Steps)-1]
}

// buckets returns how many steps of step it takes to cover span.
func buckets(span, step time.Duration) int64 {
	if span <= 0 {
		return 0
	}
	n := int64(span / step)
	if span%step != 0 {
		n++
	}
	return n
}

// Downsample summarizes points in the buckets [from + k×step, from +
// (k+1)×step) that cover [from, to): a point exactly at a bucket's start
// belongs to it, and points before from, at or after to, or with a value
// that is not finite are left out. Buckets without points are omitted; the
// others are returned in time order. points should be sorted by T; they are
// sorted here (on a copy) when they are not. A step that is not positive
// gives nil.
func Downsample(points []Point, from, to time.Time, step time.Duration) []Bucket {
	if step <= 0 {
		return nil
	}
	byTime := func(a, b Point) int { return a.T.Compare(b.T) }
	if !slices.IsSortedFunc(points, byTime) {
		points = slices.Clone(points)
		slices.SortStableFunc(points, byTime)
	}
	var out []Bucket
	var cur Stats
	var curK int64 = -1
	flush := func() {
		if cur.Count > 0 {
			out = append(out, Bucket{Start: from.Add(time.Duration(curK) * step), Count: cur.Count,
				Min: cur.Min, Max: cur.Max, Mean: cur.Mean()})
		}
		cur = Stats{}
	}
	for _, p := range points {
		if p.T.Before(from) || !p.T.Before(to) || math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			continue
		}
		k := int64(p.T.Sub(from) / step)
		if k != curK {
			flush()
			curK = k
		}
		cur.Add(p.V)
	}
	flush()
	return out
}
