package geo

// This file holds patrol-track analytics: great-circle distance and length,
// cleaning of raw GPS fixes, effort (moving and stopped time) and
// simplification of a track with an error bound in metres.

import (
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// trackEarthRadius is the mean radius of the Earth in metres (IUGG R1) used
// by Distance, Length, Clean, Measure and Simplify. It differs from
// orb.EarthRadius (6378137 m, the equatorial radius of Web Mercator), which
// is why this package does not use orb/geo.DistanceHaversine.
const trackEarthRadius = 6371008.8

// Default thresholds of Clean and Measure.
const (
	// DefaultMaxSpeed is the speed, in metres per second, above which Clean
	// treats a fix as an impossible jump (40 m/s = 144 km/h).
	DefaultMaxSpeed = 40.0
	// DefaultStopSpeed is the speed, in metres per second, below which
	// Measure counts an interval as stopped (0.5 m/s = 1.8 km/h).
	DefaultStopSpeed = 0.5
)

// Fix is one GPS position report: a WGS-84 point [longitude, latitude] in
// decimal degrees and the time the receiver took it.
type Fix struct {
	Point orb.Point
	Time  time.Time
}

// Track is a sequence of fixes from one patrol, normally in time order.
type Track []Fix

// LineString returns the points of t, in order, as a new line string.
func (t Track) LineString() orb.LineString {
	ls := make(orb.LineString, len(t))
	for i, f := range t {
		ls[i] = f.Point
	}
	return ls
}

// Distance returns the great-circle distance in metres between a and b,
// both [longitude, latitude] in degrees, by the haversine formula on a sphere
// of the mean Earth radius 6371008.8 m. The spherical model is within about
// 0.5% of the WGS-84 ellipsoid. Distance is symmetric, zero for equal
// points, and NaN when a coordinate is NaN; it does not check ranges.
func Distance(a, b orb.Point) float64 {
	lat1 := a[1] * math.Pi / 180
	lat2 := b[1] * math.Pi / 180
	sdLat := math.Sin((lat2 - lat1) / 2)
	sdLon := math.Sin((b[0] - a[0]) * math.Pi / 180 / 2)
	h := sdLat*sdLat + math.Cos(lat1)*math.Cos(lat2)*sdLon*sdLon
	// h may exceed 1 by rounding for antipodal points.
	return 2 * trackEarthRadius * math.Asin(math.Sqrt(math.Min(h, 1)))
}

// Length returns the length in metres of ls: the sum of the Distance between
// consecutive points. It is 0 for a line string of fewer than two points.
func Length(ls orb.LineString) float64 {
	var sum float64
	for i := 1; i < len(ls); i++ {
		sum += Distance(ls[i-1], ls[i])
	}
	return sum
}

// CleanOptions tunes Clean. The zero value is usable: it applies
// DefaultMaxSpeed and no bounds check.
type CleanOptions struct {
	// MaxSpeed is the highest plausible speed in metres per second; a fix
	// that would need a higher speed to reach from the last kept fix is an
	// impossible jump. Zero, a negative value or NaN means DefaultMaxSpeed.
	MaxSpeed float64
	// Bounds, when not nil, is the area of interest: fixes outside it
	// (edges count as inside) are dropped. Nil means no check.
	Bounds *orb.Bound
}

// CleanReport says what Clean did. Input = Kept + Invalid + Duplicate +
// OutOfBounds + Jump.
type CleanReport struct {
	Input int // fixes given
	Kept  int // fixes returned
	// Invalid counts fixes whose point fails ValidLonLat (NaN, infinite or
	// out of range).
	Invalid int
	// Duplicate counts fixes with the same time as an earlier fix that is
	// valid and inside the bounds.
	Duplicate int
	// OutOfBounds counts valid fixes outside CleanOptions.Bounds.
	OutOfBounds int
	// Jump counts fixes dropped as impossible jumps (speed above MaxSpeed).
	Jump int
	// Reordered reports whether the input was not in time order.
	Reordered bool
}

// Clean returns a copy of t fit for measurement, and a report of what it
// dropped. It never modifies t. The steps are, in order:
//
//  1. Sort the fixes by time; the sort is stable, so fixes with equal times
//     keep their input order.
//  2. Drop fixes whose point is invalid (see ValidLonLat).
//  3. Drop fixes outside opt.Bounds, if it is set.
//  4. Of fixes with equal times that survived steps 2 and 3, keep the first.
//  5. Drop impossible jumps: walking in time order, a fix is dropped when the
//     speed needed to reach it from the last kept fix exceeds the maximum
//     speed. Speeds are measured from the last kept fix, so a single outlier
//     spike is dropped and the following good fix is kept; a time gap
//     raises the allowance in proportion, so a track resumed after a pause
//     is kept. Only the first kept fix can itself be the outlier: when it
//     and the next fix disagree, Clean looks at the fix after that and drops
//     whichever of the first two disagrees with it. With no third fix to
//     decide, the earlier fix is kept.
//
// The result is nil when nothing is kept.
func Clean(t Track, opt CleanOptions) (Track, CleanReport) {
	maxSpeed := opt.MaxSpeed
	if !(maxSpeed > 0) {
		maxSpeed = DefaultMaxSpeed
	}
	rep := CleanReport{Input: len(t)}

	sorted := slices.Clone(t)
	if !slices.IsSortedFunc(sorted, trackByTime) {
		rep.Reordered = true
		slices.SortStableFunc(sorted, trackByTime)
	}

	// Steps 2 to 4, in place.
	cand := sorted[:0]
	for _, f := range sorted {
		switch {
		case ValidLonLat(f.Point) != nil:
			rep.Invalid++
		case opt.Bounds != nil && !opt.Bounds.Contains(f.Point):
			rep.OutOfBounds++
		case len(cand) > 0 && cand[len(cand)-1].Time.Equal(f.Time):
			rep.Duplicate++
		default:
			cand = append(cand, f)
		}
	}

	// Step 5, in place too: out never overtakes the fix being read. Times
	// in cand strictly increase, so every interval is > 0.
	out := cand[:0]
	for i, f := range cand {
		if len(out) == 0 {
			out = append(out, f)
			continue
		}
		last := out[len(out)-1]
		if trackSpeed(last, f) <= maxSpeed {
			out = append(out, f)
			continue
		}
		rep.Jump++
		// The first kept fix is the spike when f agrees with the next
		// candidate and the first kept fix does not.
		if len(out) == 1 && i+1 < len(cand) {
			next := cand[i+1]
			if trackSpeed(f, next) <= maxSpeed && trackSpeed(last, next) > maxSpeed {
				out[0] = f
			}
		}
	}
	rep.Kept = len(out)
	if len(out) == 0 {
		return nil, rep
	}
	return out, rep
}

// trackByTime orders fixes by time.
func trackByTime(a, b Fix) int { return a.Time.Compare(b.Time) }

// trackSpeed returns the speed in metres per second needed to go from a to
// b: +Inf when b is not after a.
func trackSpeed(a, b Fix) float64 {
	dt := b.Time.Sub(a.Time).Seconds()
	if dt <= 0 {
		return math.Inf(1)
	}
	return Distance(a.Point, b.Point) / dt
}

// Effort is the work done on a patrol track, as computed by Measure.
type Effort struct {
	Distance float64       // metres along the track (Length of its points)
	Duration time.Duration // time of the last fix minus time of the first
	Moving   time.Duration // total of intervals at or above the stop speed
	Stopped  time.Duration // total of the other intervals
	Fixes    int           // number of fixes
}

// Measure returns the effort of t, which should be in time order and
// cleaned (see Clean). Each interval between consecutive fixes counts as
// moving when its average speed is at least stopSpeed metres per second and
// as stopped otherwise; zero, a negative value or NaN for stopSpeed means
// DefaultStopSpeed. For a time-ordered track Moving + Stopped = Duration; an
// interval whose time does not advance adds its distance but no time.
// Distance includes the intervals counted as stopped, so GPS jitter at a
// standstill adds a little distance. A track of fewer than two fixes has
// zero distance and time.
func Measure(t Track, stopSpeed float64) Effort {
	if !(stopSpeed > 0) {
		stopSpeed = DefaultStopSpeed
	}
	e := Effort{Fixes: len(t)}
	if len(t) < 2 {
		return e
	}
	e.Duration = t[len(t)-1].Time.Sub(t[0].Time)
	for i := 1; i < len(t); i++ {
		d := Distance(t[i-1].Point, t[i].Point)
		e.Distance += d
		dt := t[i].Time.Sub(t[i-1].Time)
		if dt <= 0 {
			continue
		}
		if d/dt.Seconds() >= stopSpeed {
			e.Moving += dt
		} else {
			e.Stopped += dt
		}
	}
	return e
}

// Simplify returns a simplified copy of ls by the Douglas–Peucker algorithm
// with the error bound toleranceMetres: every point of ls lies within that
// distance of the segment of the result that replaces it. It projects the
// points onto a local equirectangular plane centred on the bounding box of
// ls (x = Δlon·cos(lat0)·R, y = Δlat·R, with R the mean Earth radius) and
// measures distances there, which is accurate to a small fraction of the
// tolerance for tracks spanning tens of kilometres away from the poles.
//
// The first and last points are always kept, so a closed patrol loop stays
// closed. A tolerance of 0 (or a negative or NaN one) keeps every point
// that is off the segment between its kept neighbours in the plane; points
// on it may be dropped, or kept because of rounding. Lines of fewer than three points are
// returned as copies. ls is not modified, and its points should be valid
// (see ValidLonLat).
func Simplify(ls orb.LineString, toleranceMetres float64) orb.LineString {
	if len(ls) < 3 {
		return slices.Clone(ls)
	}
	tol := toleranceMetres
	if !(tol > 0) {
		tol = 0
	}

	c := ls.Bound().Center()
	kx := math.Cos(c[1]*math.Pi/180) * trackEarthRadius * math.Pi / 180
	ky := trackEarthRadius * math.Pi / 180
	xy := make([]orb.Point, len(ls))
	for i, p := range ls {
		dLon := p[0] - c[0]
		// Keep a track across the antimeridian continuous.
		if dLon > 180 {
			dLon -= 360
		} else if dLon < -180 {
			dLon += 360
		}
		xy[i] = orb.Point{dLon * kx, (p[1] - c[1]) * ky}
	}

	keep := make([]bool, len(ls))
	keep[0], keep[len(ls)-1] = true, true
	kept := 2
	tol2 := tol * tol
	stack := []int{0, len(ls) - 1}
	for len(stack) > 0 {
		start, end := stack[len(stack)-2], stack[len(stack)-1]
		stack = stack[:len(stack)-2]
		maxD, maxI := -1.0, -1
		for i := start + 1; i < end; i++ {
			if d := planar.DistanceFromSegmentSquared(xy[start], xy[end], xy[i]); d > maxD {
				maxD, maxI = d, i
			}
		}
		if maxI >= 0 && maxD > tol2 {
			keep[maxI] = true
			kept++
			stack = append(stack, start, maxI, maxI, end)
		}
	}

	out := make(orb.LineString, 0, kept)
	for i, k := range keep {
		if k {
			out = append(out, ls[i])
		}
	}
	return out
}

// DefaultCoverStep is the sampling step, in metres, Covered uses when given
// none.
const DefaultCoverStep = 10.0

// Covered returns the indexes (in the layer's feature order, ascending and
// without repeats) of the zones of z that the line ls passes through. It
// samples every segment at most step metres apart, both ends included, and
// locates each sample with z.Locate, so a zone the line only clips for less
// than step (across a corner) may be missed; zero, a negative value or NaN
// for step means DefaultCoverStep. A line of one point covers the zone of
// that point. Segments are sampled at most 100,000 times each, so an
// impossible jump costs a bounded amount of work.
func Covered(ls orb.LineString, z *ZoneSet, step float64) []int {
	if !(step > 0) {
		step = DefaultCoverStep
	}
	seen := map[int]bool{}
	visit := func(p orb.Point) {
		if i := z.locate(p); i >= 0 {
			seen[i] = true
		}
	}
	if len(ls) > 0 {
		visit(ls[0])
	}
	for i := 1; i < len(ls); i++ {
		a, b := ls[i-1], ls[i]
		n := int(math.Ceil(Distance(a, b) / step))
		n = min(max(n, 1), 100000)
		for k := 1; k <= n; k++ {
			f := float64(k) / float64(n)
			visit(orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])})
		}
	}
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}
